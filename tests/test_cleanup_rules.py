"""Cleanup rules: what they select, what they refuse to judge, and the traces."""

from typing import Any

import pytest

from custom_components.smartplex.analytics import AnalyticsModel, AnalyticsSource
from custom_components.smartplex.api import PlexItem, PlexSection
from custom_components.smartplex.cleanup.rules import (
    DAY,
    GB,
    HOUR,
    Rule,
    RuleContext,
    RuleError,
    RuleResult,
    evaluate,
    explain,
)
from custom_components.smartplex.library import LibraryModel
from custom_components.smartplex.requests import (
    RequestRecord,
    RequestState,
    RequestStore,
)

NOW = 1_800_000_000
MOVIES = PlexSection(
    id=1, type="movie", title="Movies", uuid="m", updated_at=0, scanned_at=0
)
SHOWS = PlexSection(id=2, type="show", title="TV", uuid="s", updated_at=0, scanned_at=0)


def item(key: int, kind: str = "movie", **changes: Any) -> PlexItem:
    """Return an item added 400 days ago, 2 GB, 1080p hevc, with ids."""
    values: dict[str, Any] = {
        "rating_key": key,
        "section_id": 1 if kind == "movie" else 2,
        "type": kind,
        "title": f"Item {key}",
        "year": 2000,
        "added_at": NOW - 400 * DAY,
        "updated_at": key,
        "size": 0 if kind == "show" else 2 * GB,
        "resolution": "1080",
        "video_codec": "hevc",
        "container": "mkv",
        "bitrate": None,
        "tmdb_id": key,
        "tvdb_id": key if kind == "show" else None,
        "imdb_id": None,
        "show_key": None,
        "season_key": None,
        "season_index": None,
        "episode_index": None,
        "view_count": 0,
        "last_viewed_at": None,
        "labels": (),
        "file_missing": False,
    }
    return PlexItem(**(values | changes))


def episode(key: int, show: int, number: int, season: int, **changes: Any) -> PlexItem:
    """Return an episode of a show's season (season keys are show * 100 + season)."""
    values: dict[str, Any] = {
        "show_key": show,
        "season_key": show * 100 + season,
        "season_index": season,
        "episode_index": number,
        "tmdb_id": None,
        "tvdb_id": None,
    }
    return item(key, "episode", **(values | changes))


def library(*items: PlexItem) -> LibraryModel:
    """Return a model with the movies and the show items given."""
    model = LibraryModel()
    model.replace_section(MOVIES, [i for i in items if i.type == "movie"])
    model.replace_section(SHOWS, [i for i in items if i.type != "movie"])
    return model


def tautulli(
    stats: dict[int, tuple[int, int | None]], since: int | None = None
) -> AnalyticsModel:
    """Return Tautulli-sourced play data: plays and last play per rating key."""
    return AnalyticsModel(
        source=AnalyticsSource.TAUTULLI,
        stats={key: (plays, last, 1) for key, (plays, last) in stats.items()},
        starts=None,
        since=since,
    )


def run(
    data: dict[str, Any],
    model: LibraryModel,
    analytics: AnalyticsModel | None = None,
    **kwargs: Any,
) -> RuleResult:
    """Evaluate a rule with fresh play data, no requests and nothing playing."""
    options: dict[str, Any] = {
        "analytics_age": 60.0,
        "requests": RequestStore(),
        "now_playing": frozenset(),
        "now": float(NOW),
    }
    return evaluate(
        Rule.from_dict({"name": "test"} | data),
        model,
        tautulli({}) if analytics is None else analytics,
        **(options | kwargs),
    )


def keys(result: RuleResult) -> list[int]:
    """Return the candidates' rating keys."""
    return [candidate.rating_key for candidate in result.candidates]


@pytest.mark.parametrize(
    ("data", "field", "key"),
    [
        ({"never_played": True}, "name", "required"),
        ({"name": "", "never_played": True}, "name", "empty"),
        (
            {"name": "x", "colour": "red", "never_played": True},
            "colour",
            "unknown_field",
        ),
        ({"name": "x", "not_played_days": "30"}, "not_played_days", "wrong_type"),
        ({"name": "x", "not_played_days": True}, "not_played_days", "wrong_type"),
        ({"name": "x", "not_played_days": -1}, "not_played_days", "negative"),
        ({"name": "x", "not_played_days": 10**6}, "not_played_days", "too_large"),
        ({"name": "x", "min_size_gb": float("nan")}, "min_size_gb", "wrong_type"),
        ({"name": "x", "max_plays": 1.5}, "max_plays", "wrong_type"),
        (
            {"name": "x", "level": "album", "never_played": True},
            "level",
            "invalid_choice",
        ),
        ({"name": "x", "resolutions": []}, "resolutions", "empty"),
        ({"name": "x", "codecs": "hevc"}, "codecs", "wrong_type"),
        ({"name": "x", "sections": [-1], "never_played": True}, "sections", "negative"),
        (
            {"name": "x", "never_played": True, "max_data_age_hours": 0},
            "max_data_age_hours",
            "not_positive",
        ),
        ({"name": "x", "labels": ["keep"]}, "conditions", "no_conditions"),
        ({"name": "x", "never_played": False}, "conditions", "no_conditions"),
        ({"name": "x", "remove_empty_show": True}, "conditions", "no_conditions"),
        (
            {"name": "x", "never_played_added_days": -1},
            "never_played_added_days",
            "negative",
        ),
        (
            {"name": "x", "level": "episode", "keep_last_episodes": 0},
            "keep_last_episodes",
            "not_positive",
        ),
        (
            {"name": "x", "level": "season", "keep_last_seasons": "2"},
            "keep_last_seasons",
            "wrong_type",
        ),
        (
            {"name": "x", "level": "episode", "keep_last_episodes": 10**6},
            "keep_last_episodes",
            "too_large",
        ),
        ({"name": "x", "keep_last_episodes": 3}, "keep_last_episodes", "wrong_level"),
        (
            {"name": "x", "level": "season", "keep_last_episodes": 3},
            "keep_last_episodes",
            "wrong_level",
        ),
        (
            {"name": "x", "level": "episode", "keep_last_seasons": 1},
            "keep_last_seasons",
            "wrong_level",
        ),
        (
            {
                "name": "x",
                "level": "show",
                "never_played": True,
                "remove_empty_show": True,
            },
            "remove_empty_show",
            "wrong_level",
        ),
        (
            {"name": "x", "never_played": True, "remove_empty_show": True},
            "remove_empty_show",
            "wrong_level",
        ),
        (
            {
                "name": "x",
                "level": "season",
                "never_played": True,
                "remove_empty_show": 1,
            },
            "remove_empty_show",
            "wrong_type",
        ),
    ],
)
def test_invalid_rules_name_the_field(data: Any, field: str, key: str) -> None:
    """Bad input raises a RuleError naming the field and a translation key."""
    with pytest.raises(RuleError) as err:
        Rule.from_dict(data)
    assert (err.value.field, err.value.key) == (field, key)


def test_rule_defaults() -> None:
    """Labels default to keep, play data may be 2 h old, max_plays 0 is a condition."""
    rule = Rule.from_dict({"name": "x", "max_plays": 0, "labels": ["Keep", "Fav "]})
    assert rule.labels == {"keep", "fav"}
    assert rule.max_data_age_hours == 2
    assert Rule.from_dict({"name": "x", "never_played": True}).labels == {"keep"}


@pytest.mark.parametrize(
    ("data", "matched"),
    [
        ({"not_played_days": 300}, [2, 3]),
        ({"not_played_days": 100}, [1, 2, 3]),
        ({"never_played": True}, [3]),
        ({"max_plays": 1}, [1, 3]),
        ({"added_more_than_days": 100}, [1, 2, 3]),
        ({"added_more_than_days": 500}, []),
        ({"min_size_gb": 3}, [2]),
        ({"resolutions": ["4K"]}, [2]),
        ({"codecs": ["h264", "mpeg4"]}, [3]),
    ],
)
def test_each_condition(data: dict[str, Any], matched: list[int]) -> None:
    """Each condition passes and fails on what it sees."""
    model = library(
        item(1),
        item(2, size=5 * GB, resolution="4k"),
        item(3, video_codec="h264"),
    )
    plays = tautulli({1: (1, NOW - 200 * DAY), 2: (4, NOW - 350 * DAY)})
    assert sorted(keys(run(data, model, plays))) == matched


def test_not_played_needs_the_item_to_be_older_than_the_window() -> None:
    """A never-played item added within the window has not been unplayed that long."""
    model = library(item(1, added_at=NOW - 10 * DAY), item(2))
    result = run({"not_played_days": 30}, model)
    assert keys(result) == [2]
    assert result.candidates[0].why == "never played, added 400 days ago"


def test_a_play_without_a_time_is_unknown() -> None:
    """A play whose time is unknown could be recent: not a candidate."""
    result = run({"not_played_days": 30}, library(item(1)), tautulli({1: (1, None)}))
    assert not result.candidates
    assert [u.rating_key for u in result.unknown] == [1]
    assert result.unknown[0].reason == "a play has no recorded time"


def test_plex_counts_refuse_server_wide_conditions() -> None:
    """Plex's own counts never make an item 'never watched'."""
    plex = AnalyticsModel(source=AnalyticsSource.PLEX, stats={}, starts=None)
    for data in (
        {"never_played": True},
        {"not_played_days": 30},
        {"never_played_added_days": 30},
        {"max_plays": 0},
    ):
        result = run(data, library(item(1)), plex)
        assert result.refused == (
            "play data comes from Plex's own counts, which do not cover every user"
        )
        assert not result.candidates
    trace = explain(
        Rule.from_dict(
            {
                "name": "x",
                "never_played": True,
                "not_played_days": 30,
                "never_played_added_days": 30,
            }
        ),
        1,
        library(item(1)),
        plex,
        analytics_age=0.0,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    assert trace is not None
    assert trace.verdict == "unknown"
    assert [check.outcome for check in trace.trace[:3]] == ["unknown"] * 3
    assert trace.trace[1].note == (
        "play data comes from Plex's own counts, which do not cover every user"
    )


def test_plex_counts_do_not_stop_rules_without_play_conditions() -> None:
    """A size rule runs whatever the play source."""
    plex = AnalyticsModel(source=AnalyticsSource.PLEX, stats={}, starts=None)
    assert keys(run({"min_size_gb": 1}, library(item(1)), plex)) == [1]


@pytest.mark.parametrize(
    ("analytics", "age", "reason"),
    [
        (tautulli({}), 5.2 * HOUR, "play data is stale (age 5.2 h > 2 h)"),
        (tautulli({}), None, "play data has never been synced"),
        (None, None, "play data is unavailable"),
    ],
)
def test_stale_or_missing_play_data_refuses(
    analytics: AnalyticsModel | None, age: float | None, reason: str
) -> None:
    """Rules that need play data do not run on stale or absent data."""
    result = evaluate(
        Rule.from_dict({"name": "x", "never_played": True}),
        library(item(1)),
        analytics,
        analytics_age=age,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    assert (result.refused, result.matched, result.evaluated) == (reason, 0, 0)


def test_max_data_age_is_configurable() -> None:
    """A rule may accept older play data."""
    data = {"never_played": True, "max_data_age_hours": 6}
    assert keys(run(data, library(item(1)), analytics_age=5.2 * HOUR)) == [1]


def test_history_window_must_cover_the_question() -> None:
    """Plays known only from `since` cannot answer for earlier times."""
    since = NOW - 100 * DAY
    model = library(item(1), item(2, added_at=NOW - 50 * DAY), item(3))
    plays = tautulli({3: (1, NOW - 10 * DAY)}, since=since)
    never = run({"never_played": True}, model, plays)
    # Item 2 arrived after the history starts: its whole life is known.
    assert keys(never) == [2]
    assert [u.rating_key for u in never.unknown] == [1]
    assert never.unknown[0].reason.startswith("play data starts ")
    window = run({"not_played_days": 30}, model, plays)
    assert keys(window) == [1, 2]
    too_far = run({"not_played_days": 200}, model, plays)
    assert (keys(too_far), [u.rating_key for u in too_far.unknown]) == ([], [1])


def test_exclusions() -> None:
    """Keep labels, playing items and recent additions never become candidates."""
    model = library(
        item(1, labels=("Keep",)),
        item(2),
        item(3, added_at=NOW - 5 * DAY),
        item(4),
    )
    result = run(
        {"min_size_gb": 1, "recently_added_days": 30},
        model,
        now_playing=frozenset({2}),
    )
    assert keys(result) == [4]
    traces = {
        key: explain(
            Rule.from_dict({"name": "x", "min_size_gb": 1, "recently_added_days": 30}),
            key,
            model,
            tautulli({}),
            analytics_age=0.0,
            requests=None,
            now_playing=frozenset({2}),
            now=NOW,
        )
        for key in (1, 2, 3)
    }
    assert {key: t.reason for key, t in traces.items() if t} == {
        1: "labelled keep",
        2: "playing now",
        3: "added 5 days ago",
    }
    assert keys(run({"min_size_gb": 1, "labels": []}, model)) == [1, 2, 3, 4]


def test_requests_exclusions() -> None:
    """Recently requested items, and items whose requester has not watched, stay."""
    store = RequestStore(
        records={
            n: RequestRecord(
                request_id=n,
                media_type="movie",
                tmdb_id=n,
                tvdb_id=None,
                title=None,
                requested_by="ann",
                status=RequestState.AVAILABLE,
                transitions={},
                created_at=NOW - created * DAY,
                updated_at=NOW,
            )
            for n, created in ((1, 5), (2, 90), (3, 90))
        }
    )
    model = library(item(1), item(2), item(3), item(4), item(5, tmdb_id=None))
    plays = tautulli({3: (2, NOW - 60 * DAY)})
    recent = run(
        {"min_size_gb": 1, "recently_requested_days": 30}, model, requests=store
    )
    assert keys(recent) == [2, 3, 4]
    assert [u.rating_key for u in recent.unknown] == [5]
    unwatched = run(
        {"min_size_gb": 1, "requested_by_unwatched": True},
        model,
        plays,
        requests=store,
    )
    # 1, 2: requested and nobody played them; 3: played, but by whom is not known.
    assert keys(unwatched) == [4]
    assert {u.rating_key: u.reason for u in unwatched.unknown} == {
        3: "requested by ann; play data does not say who watched",
        5: "no tmdb or tvdb id to match requests by",
    }
    refused = run(
        {"min_size_gb": 1, "recently_requested_days": 3}, model, requests=None
    )
    assert refused.refused == "request data from Overseerr is unavailable"


def show_library() -> LibraryModel:
    """Return two shows: one with a watched episode, one with specials and a null play."""
    return library(
        item(10, "show", title="Watched"),
        episode(11, 10, 1, 1, size=1 * GB),
        episode(12, 10, 2, 1, size=1 * GB),
        episode(13, 10, 1, 2, size=1 * GB),
        item(20, "show", title="Specials"),
        episode(21, 20, 1, 0, size=3 * GB),
        episode(22, 20, 1, 1, size=4 * GB),
    )


def test_show_level_aggregates_episodes() -> None:
    """One watched episode makes the show watched; size is the episodes' sum."""
    plays = tautulli({12: (1, NOW - 10 * DAY)})
    never = run({"never_played": True}, show_library(), plays)
    assert keys(never) == [20]
    assert never.candidates[0].size == 7 * GB
    assert never.reclaimable == 7 * GB
    old = run({"not_played_days": 5}, show_library(), plays)
    assert keys(old) == [20, 10]
    assert old.candidates[1].last_played == NOW - 10 * DAY
    assert keys(run({"not_played_days": 30}, show_library(), plays)) == [20]


def test_show_level_uses_the_shows_own_plays() -> None:
    """Plays counted on the show (episodes since deleted) still count."""
    plays = tautulli({10: (3, NOW - 2 * DAY)})
    assert keys(run({"never_played": True}, show_library(), plays)) == [20]


def test_a_null_last_play_among_episodes_is_unknown() -> None:
    """If any episode's play time is unknown, the show's last play is too."""
    plays = tautulli({21: (1, NOW - 300 * DAY), 22: (1, None)})
    result = run({"not_played_days": 30}, show_library(), plays)
    assert keys(result) == [10]
    assert [u.rating_key for u in result.unknown] == [20]


def test_season_level_includes_specials() -> None:
    """Season 0 is a season; each season is judged on its own episodes."""
    plays = tautulli({12: (1, NOW - 10 * DAY)})
    result = run({"level": "season", "never_played": True}, show_library(), plays)
    assert {c.title: c.size for c in result.candidates} == {
        "Watched · Season 2": 1 * GB,
        "Specials · Specials": 3 * GB,
        "Specials · Season 1": 4 * GB,
    }
    assert {c.rating_key for c in result.candidates} == {1002, 2000, 2001}


def test_episode_level_and_show_labels() -> None:
    """Episodes are judged alone, and a keep label on their show protects them."""
    model = show_library()
    model.upsert([item(20, "show", title="Specials", labels=("keep",))])
    plays = tautulli({12: (1, NOW - 10 * DAY)})
    result = run({"level": "episode", "never_played": True}, model, plays)
    assert keys(result) == [11, 13]
    assert result.candidates[0].title == "Watched · Item 11"


def test_default_level_acts_on_movies_and_whole_shows() -> None:
    """Without a level, a rule takes movies and shows, never seasons or episodes."""
    model = show_library()
    model.replace_section(MOVIES, [item(1)])
    assert sorted(keys(run({"never_played": True}, model))) == [1, 10, 20]
    only_tv = run({"never_played": True, "sections": [2]}, model)
    assert keys(only_tv) == [10, 20]
    missing = run({"never_played": True, "sections": [9]}, model)
    assert missing.refused == "library 9 is not in the synced model"


def test_missing_files_are_unknown() -> None:
    """A missing file may be an unmounted disk: never a candidate."""
    model = library(item(1, file_missing=True), item(2))
    result = run({"min_size_gb": 1}, model)
    assert keys(result) == [2]
    assert result.unknown[0].reason == "1 file missing: the disk may be offline"
    shows = show_library()
    shows.upsert([episode(22, 20, 1, 1, size=4 * GB, file_missing=True)])
    assert keys(run({"min_size_gb": 1}, shows)) == [10]


def test_a_definite_failure_beats_an_unknown() -> None:
    """An item that surely fails a condition is no match, whatever else is unknown."""
    result = run({"min_size_gb": 5}, library(item(1, file_missing=True)))
    assert (result.matched, len(result.unknown)) == (0, 0)


def test_explain_traces_matched_and_unmatched_items() -> None:
    """Every condition appears with what it saw, the threshold and the outcome."""
    model = library(item(1, size=5 * GB), item(2))
    context = RuleContext(
        model,
        tautulli({2: (3, NOW - 3 * DAY)}),
        analytics_age=0.0,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    rule = Rule.from_dict({"name": "x", "not_played_days": 30, "min_size_gb": 4})
    matched = context.explain(rule, 1)
    unmatched = context.explain(rule, 2)
    assert matched is not None
    assert unmatched is not None
    assert matched.verdict == "match"
    assert [(c.condition, c.seen, c.threshold, c.outcome) for c in matched.trace] == [
        ("not_played_days", None, 30, "pass"),
        ("min_size_gb", 5.0, 4.0, "pass"),
        ("files_present", 0, 0, "pass"),
        ("now_playing", False, False, "pass"),
        ("labels", [], ["keep"], "pass"),
    ]
    assert unmatched.verdict == "no_match"
    assert [c.note for c in unmatched.trace[:2]] == [
        "last played 3 days ago",
        "2 GB < 4 GB",
    ]
    assert unmatched.reason == "last played 3 days ago; 2 GB < 4 GB"
    result = context.evaluate(rule)
    assert result.candidates[0].why == "never played, added 400 days ago; 5 GB ≥ 4 GB"
    assert result.candidates[0].trace == matched.trace
    assert context.explain(rule, 99) is None


def test_candidates_oldest_play_first_with_sizes() -> None:
    """Never-played items come first, then the oldest last play; sizes add up."""
    model = library(item(1, size=1 * GB), item(2, size=2 * GB), item(3, size=3 * GB))
    plays = tautulli({1: (1, NOW - 100 * DAY), 2: (1, NOW - 200 * DAY)})
    result = run({"not_played_days": 50}, model, plays)
    assert keys(result) == [3, 2, 1]
    assert (result.evaluated, result.matched, result.reclaimable) == (3, 3, 6 * GB)


def test_level_fields_where_they_belong() -> None:
    """Keep-last alone is a rule; remove_empty_show off is fine at any level."""
    rule = Rule.from_dict({"name": "x", "level": "episode", "keep_last_episodes": 3})
    assert (rule.keep_last_episodes, rule.remove_empty_show) == (3, False)
    movies = Rule.from_dict(
        {"name": "x", "never_played": True, "remove_empty_show": False}
    )
    assert movies.remove_empty_show is False
    seasons = Rule.from_dict(
        {
            "name": "x",
            "level": "season",
            "keep_last_seasons": 2,
            "remove_empty_show": True,
        }
    )
    assert (seasons.keep_last_seasons, seasons.remove_empty_show) == (2, True)


def daily_library() -> LibraryModel:
    """Return a daily show (specials, seasons 1 and 2) and a weekly one."""
    return library(
        item(30, "show", title="Daily"),
        episode(31, 30, 1, 0),
        episode(32, 30, 1, 1),
        episode(33, 30, 2, 1),
        episode(34, 30, 1, 2),
        episode(35, 30, 2, 2),
        episode(36, 30, 3, 2),
        item(40, "show", title="Weekly"),
        episode(41, 40, 1, 1),
        episode(42, 40, 2, 1),
    )


def test_keep_last_episodes() -> None:
    """The N newest episodes of each show stay, by season then episode; Specials go."""
    result = run({"level": "episode", "keep_last_episodes": 3}, daily_library())
    # Daily keeps S2E3, S2E2, S2E1; Weekly has only two episodes, both kept.
    assert sorted(keys(result)) == [31, 32, 33]
    why = {c.rating_key: c.why for c in result.candidates}
    assert why == {
        31: "Specials never count among the newest",
        32: "the 5th newest episode, not among the last 3 kept",
        33: "the 4th newest episode, not among the last 3 kept",
    }
    context = RuleContext(
        daily_library(),
        tautulli({}),
        analytics_age=0.0,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    rule = Rule.from_dict({"name": "x", "level": "episode", "keep_last_episodes": 3})
    second, newest = context.explain(rule, 35), context.explain(rule, 36)
    assert second is not None
    assert newest is not None
    check = second.trace[0]
    assert (check.condition, check.seen, check.threshold, check.outcome) == (
        "keep_last_episodes",
        2,
        3,
        "fail",
    )
    assert second.reason == "the 2nd newest episode, among the last 3 kept"
    assert newest.reason == "the newest episode, among the last 3 kept"


def test_keep_last_episodes_with_other_conditions() -> None:
    """Keep-last spares the newest even when they match everything else."""
    plays = tautulli({33: (1, NOW - 5 * DAY)})
    data = {"level": "episode", "never_played": True, "keep_last_episodes": 1}
    assert sorted(keys(run(data, daily_library(), plays))) == [31, 32, 34, 35, 41]


def test_keep_last_unknown_numbers_fail_closed() -> None:
    """An episode without a number could be the newest: ranks it could change are unknown."""
    model = daily_library()
    model.upsert([episode(37, 30, 9, 2, episode_index=None)])
    result = run({"level": "episode", "keep_last_episodes": 2}, model)
    # 36 is newest of the numbered: kept even if 37 is newer. 35 is 2nd, and 37
    # may push it out of the last two: unknown. 34 is past them whatever 37 is.
    assert sorted(keys(result)) == [31, 32, 33, 34]
    reasons = {u.rating_key: u.reason for u in result.unknown}
    assert reasons == {
        35: "the 2nd newest episode of those numbered, but 1 episode has no number",
        37: "its episode number is unknown",
    }
    orphan = library(episode(51, 50, 1, 1, show_key=None))
    lone = run({"level": "episode", "keep_last_episodes": 1}, orphan)
    assert [u.reason for u in lone.unknown] == ["not linked to a show"]


def test_keep_last_ties_share_a_rank() -> None:
    """Two episodes with the same numbers are both spared, and count for the next."""
    model = daily_library()
    model.upsert([episode(38, 30, 3, 2)])
    result = run({"level": "episode", "keep_last_episodes": 1}, model)
    assert sorted(keys(result)) == [31, 32, 33, 34, 35, 41]
    ranks = {c.rating_key: c.trace[0].seen for c in result.candidates}
    assert (ranks[35], ranks[34]) == (3, 4)


def test_keep_last_seasons() -> None:
    """The N newest seasons of each show stay; Specials neither count nor are spared."""
    model = library(
        item(60, "show", title="Long"),
        *(episode(61 + season, 60, 1, season) for season in range(4)),
        item(70, "show", title="Short"),
        episode(71, 70, 1, 1),
    )
    result = run({"level": "season", "keep_last_seasons": 2}, model)
    assert {c.title: c.why for c in result.candidates} == {
        "Long · Specials": "Specials never count among the newest",
        "Long · Season 1": "the 3rd newest season, not among the last 2 kept",
    }
    assert [c.trace[0].seen for c in result.candidates] == [None, 3]


def test_remove_empty_show_rides_on_the_candidates() -> None:
    """Season and episode rules carry the flag to their candidates; others do not."""
    data = {"level": "season", "never_played": True}
    flagged = run(data | {"remove_empty_show": True}, show_library())
    assert flagged.candidates
    assert all(c.remove_empty_show for c in flagged.candidates)
    assert not any(c.remove_empty_show for c in run(data, show_library()).candidates)
    context = RuleContext(
        show_library(),
        None,
        analytics_age=None,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    picked, _refused = context.pick([1001])
    assert [(c.rating_key, c.remove_empty_show) for c in picked] == [(1001, False)]


def watch_library() -> LibraryModel:
    """Return movies played long ago, lately, and never (added at various times)."""
    return library(
        item(1),  # played 400 days ago
        item(2),  # played 100 days ago
        item(3, added_at=NOW - 200 * DAY),  # never played
        item(4, added_at=NOW - 60 * DAY),  # never played
    )


WATCH_PLAYS = {1: (2, NOW - 400 * DAY), 2: (1, NOW - 100 * DAY)}


@pytest.mark.parametrize(
    ("data", "matched"),
    [
        ({"not_played_days": 365}, [1]),
        ({"not_played_days": 365, "never_played_added_days": 90}, [1, 3]),
        ({"not_played_days": 90, "never_played_added_days": 300}, [1, 2]),
        ({"not_played_days": 90}, [1, 2, 3]),
        ({"never_played_added_days": 30}, [3, 4]),
        ({"never_played_added_days": 100}, [3]),
        ({"never_played_added_days": 100, "never_played": True}, [3]),
    ],
)
def test_never_played_have_their_own_threshold(
    data: dict[str, Any], matched: list[int]
) -> None:
    """not_played_days judges played items; never_played_added_days never-played ones."""
    result = run(data, watch_library(), tautulli(WATCH_PLAYS))
    assert sorted(keys(result)) == matched


def test_never_played_threshold_trace_shows_both() -> None:
    """Each threshold shows what it saw; the one that does not apply says why."""
    context = RuleContext(
        watch_library(),
        tautulli(WATCH_PLAYS),
        analytics_age=0.0,
        requests=None,
        now_playing=frozenset(),
        now=NOW,
    )
    rule = Rule.from_dict(
        {"name": "x", "not_played_days": 365, "never_played_added_days": 90}
    )
    played, never, young = (context.explain(rule, key) for key in (1, 3, 4))
    assert played is not None
    assert never is not None
    assert young is not None
    table = [
        [(c.condition, c.seen, c.threshold, c.outcome, c.note) for c in e.trace[:2]]
        for e in (played, never, young)
    ]
    assert table == [
        [
            ("not_played_days", 400, 365, "pass", "last played 400 days ago"),
            ("never_played_added_days", 400, 90, "pass", "played 2 times"),
        ],
        [
            ("not_played_days", None, 365, "pass", "never played"),
            (
                "never_played_added_days",
                200,
                90,
                "pass",
                "never played, added 200 days ago",
            ),
        ],
        [
            ("not_played_days", None, 365, "pass", "never played"),
            (
                "never_played_added_days",
                60,
                90,
                "fail",
                "never played, added 60 days ago",
            ),
        ],
    ]
    assert young.reason == "never played, added 60 days ago"
    alone = Rule.from_dict({"name": "x", "never_played_added_days": 30})
    watched = context.explain(alone, 2)
    assert watched is not None
    assert (watched.verdict, watched.reason) == ("no_match", "played 1 times")


def test_never_played_threshold_with_a_short_history() -> None:
    """Plays before the history starts may be missed: unknown unless both ways agree."""
    since = NOW - 100 * DAY
    model = library(
        item(1),  # added 400 days ago, no play known since the history began
        item(80, "show", title="Show"),
        episode(81, 80, 1, 1),  # added 400 days ago
        episode(82, 80, 2, 1, added_at=NOW - 10 * DAY),
    )
    plays = tautulli({}, since=since)

    def outcome(data: dict[str, Any], key: int) -> str:
        rule = Rule.from_dict({"name": "x"} | data)
        evaluation = explain(
            rule,
            key,
            model,
            plays,
            analytics_age=0.0,
            requests=None,
            now_playing=frozenset(),
            now=NOW,
        )
        assert evaluation is not None
        return evaluation.verdict

    # Passes as played (no play in the last 30 days) and as never played (added
    # more than 90 days ago): a match whichever is true.
    assert outcome({"not_played_days": 30, "never_played_added_days": 90}, 1) == (
        "match"
    )
    # Passes as played, fails as never played: cannot tell.
    assert outcome({"not_played_days": 30, "never_played_added_days": 500}, 1) == (
        "unknown"
    )
    # The window reaches before the history: unknown as played.
    assert outcome({"not_played_days": 200, "never_played_added_days": 90}, 1) == (
        "unknown"
    )
    # Alone, the threshold selects never-played items: this one may have been played.
    assert outcome({"never_played_added_days": 90}, 1) == "unknown"
    assert outcome({"never_played_added_days": 500}, 1) == "no_match"
    # The show got an episode 10 days ago: it fails as played and as never played.
    assert outcome({"not_played_days": 30, "never_played_added_days": 90}, 80) == (
        "no_match"
    )
    result = run({"not_played_days": 30, "never_played_added_days": 500}, model, plays)
    assert [u.rating_key for u in result.unknown] == [1]
    assert result.unknown[0].reason.startswith("play data starts ")


def test_unknown_items_are_traced_when_read() -> None:
    """The unknown items count at once and read as evaluations, by index or slice."""
    result = run(
        {"not_played_days": 30},
        library(item(1), item(2)),
        tautulli({1: (1, None), 2: (1, None)}),
    )
    assert len(result.unknown) == 2
    assert [e.rating_key for e in result.unknown[:1]] == [result.unknown[0].rating_key]
    assert [e.verdict for e in result.unknown] == ["unknown", "unknown"]
