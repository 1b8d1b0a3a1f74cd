"""Benchmark ten cleanup rules over a library model of about 100k items.

Run with `python -m bench.rules [--movies 20000 --shows 1600 --seed 7]`. The model is
built in memory as the tests build theirs (no simulators), with Tautulli-style play data
and Overseerr requests. Each repeat applies ten varied rules through a fresh RuleContext,
as the rules coordinator does after every sync (cold), then again through the same
context (warm). The baseline, measured in the same run, is one pass over the model's
items reading each one: the least any rule must do. Target: ten rules under 1 s.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
import random
import time
from typing import Any

from custom_components.smartplex.analytics import AnalyticsModel, AnalyticsSource
from custom_components.smartplex.api import PlexItem, PlexSection
from custom_components.smartplex.cleanup.rules import (
    DAY,
    GB,
    Rule,
    RuleContext,
    RuleResult,
)
from custom_components.smartplex.library import LibraryModel
from custom_components.smartplex.requests import (
    RequestRecord,
    RequestState,
    RequestStore,
)

NOW = 1_800_000_000
REPEATS = 3
TARGET_S = 1.0
MOVIES = PlexSection(
    id=1, type="movie", title="Movies", uuid="m", updated_at=0, scanned_at=0
)
SHOWS = PlexSection(id=2, type="show", title="TV", uuid="s", updated_at=0, scanned_at=0)
DAILY = PlexSection(
    id=3, type="show", title="News", uuid="n", updated_at=0, scanned_at=0
)
RESOLUTIONS = ("4k", "1080", "1080", "1080", "720", "sd", None)
CODECS = ("hevc", "hevc", "h264", "h264", "h264", "mpeg4", "av1")

RULES: list[dict[str, Any]] = [
    {
        "name": "old big movies",
        "level": "movie",
        "not_played_days": 365,
        "min_size_gb": 5,
    },
    {
        "name": "movies, watched or not",
        "level": "movie",
        "not_played_days": 365,
        "never_played_added_days": 120,
    },
    {"name": "stale shows", "level": "show", "not_played_days": 180},
    {"name": "unwatched seasons", "level": "season", "never_played": True},
    {
        "name": "watched episodes",
        "level": "episode",
        "sections": [2],
        "not_played_days": 60,
        "max_plays": 1,
        "keep_last_episodes": 5,
    },
    {"name": "4k hevc", "resolutions": ["4K"], "codecs": ["hevc"]},
    {
        "name": "titles nobody asked for",
        "max_plays": 0,
        "recently_requested_days": 30,
        "recently_added_days": 30,
    },
    {
        "name": "requested, big",
        "level": "movie",
        "min_size_gb": 3,
        "requested_by_unwatched": True,
    },
    {
        "name": "daily shows",
        "level": "episode",
        "sections": [3],
        "never_played_added_days": 30,
        "keep_last_episodes": 20,
    },
    {
        "name": "big seasons",
        "level": "season",
        "min_size_gb": 20,
        "added_more_than_days": 30,
        "keep_last_seasons": 1,
        "labels": ["keep", "fav"],
        "remove_empty_show": True,
    },
]


def item(key: int, section: int, kind: str, **values: Any) -> PlexItem:
    """Return an item with the fields the tests leave at their defaults."""
    base: dict[str, Any] = {
        "rating_key": key,
        "section_id": section,
        "type": kind,
        "title": f"{kind} {key}",
        "year": 2000 + key % 25,
        "updated_at": key,
        "size": 0,
        "resolution": None,
        "video_codec": None,
        "container": None,
        "bitrate": None,
        "tmdb_id": None,
        "tvdb_id": None,
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
    return PlexItem(**(base | values))


class Household:
    """A generated library with play data and requests."""

    def __init__(self, movies: int, shows: int, seed: int) -> None:
        """Generate `movies` movies and `shows` shows (plus a few daily ones)."""
        self.rng = random.Random(seed)
        self.stats: dict[int, tuple[int, int | None, int]] = {}
        self.requests: dict[int, RequestRecord] = {}
        self.next_key = 1
        self.movies = [self.movie() for _ in range(movies)]
        self.shows: list[PlexItem] = []
        for index in range(shows):
            self.show(
                SHOWS.id, seasons=1 + index % 8, episodes=10, specials=index % 4 == 0
            )
        for _ in range(max(1, shows // 80)):
            self.show(DAILY.id, seasons=1, episodes=250, specials=False)

    def key(self) -> int:
        """Return the next rating key."""
        self.next_key += 1
        return self.next_key

    def media(self) -> dict[str, Any]:
        """Return a file's size, quality, added time and labels."""
        rng = self.rng
        return {
            "added_at": NOW - rng.randrange(1, 2_000) * DAY,
            "size": rng.randrange(200, 8_000) * GB // 1_000,
            "resolution": rng.choice(RESOLUTIONS),
            "video_codec": rng.choice(CODECS),
            "container": "mkv",
            "labels": ("keep",) if rng.random() < 0.02 else (),
            "file_missing": rng.random() < 0.002,
        }

    def played(self, key: int) -> tuple[int, int | None, int] | None:
        """Give about half the files plays, a few of them without a time."""
        rng = self.rng
        if rng.random() < 0.5:
            return None
        last = None if rng.random() < 0.01 else NOW - rng.randrange(0, 1_500) * DAY
        self.stats[key] = (rng.randrange(1, 20), last, rng.randrange(1, 4))
        return self.stats[key]

    def request(self, media_type: str, tmdb_id: int, tvdb_id: int | None) -> None:
        """Record an Overseerr request for about one title in ten."""
        rng = self.rng
        if rng.random() >= 0.1:
            return
        request_id = len(self.requests) + 1
        self.requests[request_id] = RequestRecord(
            request_id=request_id,
            media_type=media_type,
            tmdb_id=tmdb_id,
            tvdb_id=tvdb_id,
            title=None,
            requested_by=rng.choice(("ann", "bob", "cy")),
            status=RequestState.AVAILABLE,
            transitions={},
            created_at=NOW - rng.randrange(0, 900) * DAY,
            updated_at=NOW,
        )

    def movie(self) -> PlexItem:
        """Return a movie."""
        key = self.key()
        self.played(key)
        self.request("movie", key, None)
        return item(key, MOVIES.id, "movie", tmdb_id=key, **self.media())

    def show(
        self, section: int, *, seasons: int, episodes: int, specials: bool
    ) -> None:
        """Add a show with its seasons' episodes and its summed plays."""
        show_key = self.key()
        numbers = ([0] if specials else []) + list(range(1, seasons + 1))
        files: list[PlexItem] = []
        for number in numbers:
            season_key = self.key()
            for index in range(1, (3 if number == 0 else episodes) + 1):
                key = self.key()
                self.played(key)
                files.append(
                    item(
                        key,
                        section,
                        "episode",
                        show_key=show_key,
                        season_key=season_key,
                        season_index=number,
                        episode_index=index,
                        **self.media(),
                    )
                )
        found = [s for f in files if (s := self.stats.get(f.rating_key))]
        if found:
            dated = [s[1] for s in found if s[1] is not None]
            self.stats[show_key] = (
                sum(s[0] for s in found),
                max(dated) if dated else None,
                max(s[2] for s in found),
            )
        self.request("tv", show_key, show_key)
        show = item(
            show_key,
            section,
            "show",
            added_at=max(f.added_at for f in files),
            tmdb_id=show_key,
            tvdb_id=show_key,
            labels=("fav",) if self.rng.random() < 0.02 else (),
        )
        self.shows.extend((show, *files))

    def model(self) -> LibraryModel:
        """Return the library model."""
        model = LibraryModel()
        model.replace_section(MOVIES, self.movies)
        for section in (SHOWS, DAILY):
            model.replace_section(
                section, [i for i in self.shows if i.section_id == section.id]
            )
        return model

    def analytics(self) -> AnalyticsModel:
        """Return Tautulli's play data, known for the last three years."""
        return AnalyticsModel(
            source=AnalyticsSource.TAUTULLI,
            stats=self.stats,
            starts=None,
            since=NOW - 3 * 365 * DAY,
        )


def timed[T](work: Callable[[], T]) -> tuple[float, float, T]:
    """Run work; return its wall and CPU seconds and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def one_pass(model: LibraryModel) -> int:
    """Read every item once: the baseline."""
    return sum(found.size for found in model.items.values())


def apply(context: RuleContext, rules: list[Rule]) -> list[RuleResult]:
    """Apply every rule through one context."""
    return [context.evaluate(rule) for rule in rules]


def main(args: argparse.Namespace) -> None:
    """Build the household, time the rules and print the figures."""
    household = Household(args.movies, args.shows, args.seed)
    model = household.model()
    analytics = household.analytics()
    requests = RequestStore(records=household.requests)
    rules = [Rule.from_dict(data) for data in RULES]
    playing = frozenset(f.rating_key for f in household.movies[:5])
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    floor: list[tuple[float, float]] = []
    results: list[RuleResult] = []
    for _ in range(REPEATS):
        wall, cpu, _total = timed(partial(one_pass, model))
        floor.append((wall, cpu))
        context = RuleContext(
            model,
            analytics,
            analytics_age=60.0,
            requests=requests,
            now_playing=playing,
            now=float(NOW),
        )
        wall, cpu, results = timed(partial(apply, context, rules))
        cold.append((wall, cpu))
        wall, cpu, _again = timed(partial(apply, context, rules))
        warm.append((wall, cpu))
    if refused := [result.rule for result in results if result.refused]:
        raise SystemExit(f"rules refused: {refused}")
    matched = sum(result.matched for result in results)
    unknown = sum(len(result.unknown) for result in results)
    (best, best_cpu), (base, base_cpu) = min(cold), min(floor)
    print(f"items in the model:        {len(model.items):,}")
    print(
        f"rules:                     {len(rules)} ({matched:,} matches, {unknown:,} unknown)"
    )
    print(f"                           wall s  CPU s  (best of {REPEATS})")
    print(f"10 rules, fresh context:   {best:6.3f} {best_cpu:6.3f}")
    print(f"10 rules, same context:    {min(warm)[0]:6.3f} {min(warm)[1]:6.3f}")
    print(f"baseline (one item pass):  {base:6.3f} {base_cpu:6.3f}")
    print(f"ratio rules/baseline:      {best / base:6.1f} {best_cpu / base_cpu:6.1f}")
    verdict = "met" if best < TARGET_S else "MISSED"
    print(f"target:                    fresh context < {TARGET_S:g} s wall: {verdict}")


def parse() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--movies", type=int, default=20_000)
    parser.add_argument("--shows", type=int, default=1_600)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


if __name__ == "__main__":
    main(parse())
