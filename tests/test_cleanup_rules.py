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
    return item(
        key,
        "episode",
        show_key=show,
        season_key=show * 100 + season,
        season_index=season,
        episode_index=number,
        tmdb_id=None,
        tvdb_id=None,
        **changes,
    )


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
    for data in ({"never_played": True}, {"not_played_days": 30}, {"max_plays": 0}):
        result = run(data, library(item(1)), plex)
        assert result.refused == (
            "play data comes from Plex's own counts, which do not cover every user"
        )
        assert not result.candidates
    trace = explain(
        Rule.from_dict({"name": "x", "never_played": True}),
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
    assert trace.trace[0].outcome == "unknown"


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
    assert (result.matched, result.unknown) == (0, ())


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
