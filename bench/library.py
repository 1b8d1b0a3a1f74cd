"""Benchmark SmartPlex's library sync against the JSON floor and a naive plexapi walk.

Run with `python -m bench.library [--movies 20000 --shows 2000 --episodes-per-season 13]`.
The Plex simulator serves the World from a forked child, so its CPU is not the client's;
a pipe lets the parent ask the child to change items between syncs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
import gc
import multiprocessing
from multiprocessing.connection import Connection
import os
import time
import tracemalloc
from types import SimpleNamespace
from typing import Any, Self

import aiohttp
import orjson
from plexapi.exceptions import NotFound
from plexapi.library import LibrarySection
from plexapi.server import PlexServer
from plexapi.video import Video

from bench.simulators import process_cpu
from custom_components.smartplex.api import PlexClient
from custom_components.smartplex.api.plex import PAGE_SIZE, PLEX_TYPES, plex_headers
from custom_components.smartplex.library import (
    SYNCED_TYPES,
    LibraryModel,
    SyncResult,
    async_sync_library,
)
from simulators.plex import PlexSimulator
from simulators.world import MOVIE_SECTION, SHOW_SECTION, Episode, Movie, World

CLIENT_ID = "bench"
CHANGED_ITEMS = 100
REPEATS = 3  # floor and full sync: best of this many
STALL_RUNS = 3  # full syncs beside the ticker: worst of this many
TICK = 0.005
NAIVE_BUDGET = 120.0  # seconds a full naive walk may take before we extrapolate
NAIVE_PREFIX_MOVIES = 2_000
NAIVE_PREFIX_SHOWS = 200
MIB = 1024**2

# Targets from the issue.
MAX_SYNC_OVER_FLOOR = 3.0
MIN_NAIVE_OVER_SYNC = 5.0
MAX_BYTES_PER_ITEM = 1024
MAX_GAP_MS = 50.0


def spread[T](items: Sequence[T], count: int) -> list[T]:
    """Return `count` items spread evenly over a list."""
    return list(items[:: max(1, len(items) // count)][:count]) if count else []


def touch(world: World, count: int) -> int:
    """Bump updatedAt past everything and grow the file of `count` movies and episodes.

    Return how many were changed.
    """
    media: list[Movie | Episode] = [*world.movies.values(), *world.episodes.values()]
    newest = max([world.now, *(item.updated_at for item in media)])
    movies = [m for m in world.movies.values() if m.in_plex and m.file]
    episodes = [e for e in world.episodes.values() if e.in_plex and e.file]
    chosen: list[Movie | Episode] = [*spread(movies, count // 2)]
    chosen += spread(episodes, count - len(chosen))
    for item in chosen:
        item.updated_at = newest + 60
        if item.file is not None:
            item.file.size += MIB
    world.version += 1
    return len(chosen)


def serve(movies: int, shows: int, per_season: int, pipe: Connection) -> None:
    """Generate the world, start Plex, and obey touch commands until told to stop."""

    async def run() -> None:
        started = time.perf_counter()
        world = World.generate(
            seed=1, movies=movies, shows=shows, episodes_per_season=per_season
        )
        async with PlexSimulator(world=world) as plex:
            pipe.send((plex.url, plex.token, time.perf_counter() - started))
            loop = asyncio.get_running_loop()
            while (count := await loop.run_in_executor(None, pipe.recv)) is not None:
                pipe.send(touch(world, count))

    try:
        asyncio.run(run())
    except EOFError:
        return


class RequestCounter:
    """Count the HTTP requests a session makes."""

    def __init__(self) -> None:
        """Build the trace config that counts."""
        self.count = 0
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._started)

    async def _started(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        """Count one request."""
        self.count += 1


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall time, CPU on both sides and requests of one measured run."""

    wall: float
    client_cpu: float
    server_cpu: float
    requests: int
    items: int


class Meter:
    """Time runs of async work: wall, client and server CPU, HTTP requests."""

    def __init__(self, counter: RequestCounter, pid: int) -> None:
        """Measure with this request counter against the server process `pid`."""
        self._counter = counter
        self._pid = pid

    async def run[T](
        self, work: Callable[[], Awaitable[T]], items: Callable[[T], int]
    ) -> tuple[T, Timing]:
        """Run the work once and time it."""
        requests = self._counter.count
        wall, cpu, server = (
            time.perf_counter(),
            time.process_time(),
            process_cpu(self._pid),
        )
        result = await work()
        timing = Timing(
            time.perf_counter() - wall,
            time.process_time() - cpu,
            process_cpu(self._pid) - server,
            self._counter.count - requests,
            items(result),
        )
        return result, timing

    async def best[T](
        self, work: Callable[[], Awaitable[T]], items: Callable[[T], int]
    ) -> tuple[T, Timing]:
        """Run the work REPEATS times; return the fastest."""
        runs = [await self.run(work, items) for _ in range(REPEATS)]
        return min(runs, key=lambda run: run[1].wall)


async def fetch_floor(session: aiohttp.ClientSession, url: str, token: str) -> int:
    """Fetch the pages the sync fetches and parse them to dicts; return the items."""
    headers = plex_headers(CLIENT_ID) | {
        "X-Plex-Token": token,
        "Accept": "application/json",
    }

    async def get(path: str, params: dict[str, str], paging: dict[str, str]) -> Any:
        async with session.get(
            url + path, params=params, headers=headers | paging
        ) as response:
            return orjson.loads(await response.read())["MediaContainer"]

    sections = await get("/library/sections", {}, {})
    items = 0
    for section in sections.get("Directory") or ():
        for plex_type in SYNCED_TYPES.get(section["type"], ()):
            params = {"type": str(PLEX_TYPES[plex_type]), "includeGuids": "1"}
            start = 0
            while True:
                container = await get(
                    f"/library/sections/{section['key']}/all",
                    params,
                    {
                        "X-Plex-Container-Start": str(start),
                        "X-Plex-Container-Size": str(PAGE_SIZE),
                    },
                )
                raw = container.get("Metadata") or ()
                items += len(raw)
                start += len(raw)
                if not raw or start >= int(container.get("totalSize", 0)):
                    break
    return items


async def longest_gap[T](work: Awaitable[T], watch: GcWatch) -> tuple[T, float, float]:
    """Await the work with a 5 ms ticker beside it.

    Return its result, the longest gap, and the longest gap once the garbage
    collector's pauses inside it are taken out (what the code itself held the loop).
    """
    done = asyncio.Event()
    longest = 0.0
    longest_net = 0.0

    async def tick() -> None:
        nonlocal longest, longest_net
        last = time.perf_counter()
        collected = watch.total
        while not done.is_set():
            await asyncio.sleep(TICK)
            now = time.perf_counter()
            longest = max(longest, now - last)
            longest_net = max(longest_net, now - last - (watch.total - collected))
            last, collected = now, watch.total

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done.set()
        await ticker
    return result, longest, longest_net


class GcWatch:
    """Record the longest garbage collection pause while in the context."""

    def __init__(self) -> None:
        """Start with no pause seen."""
        self.longest = 0.0
        self.total = 0.0
        self.generation = -1
        self._started = 0.0

    def __enter__(self) -> Self:
        """Start watching."""
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop watching."""
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        """Time one collection."""
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.total += pause
        if pause > self.longest:
            self.longest, self.generation = pause, info["generation"]


@dataclass(frozen=True, slots=True)
class Stalls:
    """The longest event-loop gap of each full sync, and the longest GC pause."""

    gaps: list[float]
    net_gaps: list[float]
    gc_pause: float
    gc_generation: int
    gc_baseline: float


@dataclass(frozen=True, slots=True)
class Memory:
    """Traced memory of one full sync."""

    peak: int
    model: int
    items: int


async def traced_sync(plex: PlexClient) -> Memory:
    """Full-sync a fresh model under tracemalloc: peak, and what the model holds."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        model = LibraryModel()
        result = await async_sync_library(plex, model, full=True)
        peak = tracemalloc.get_traced_memory()[1] - base
        gc.collect()
        with_model = tracemalloc.get_traced_memory()[0]
        del model
        gc.collect()
        without_model = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return Memory(peak, with_model - without_model, result.items)


@dataclass(frozen=True, slots=True)
class Totals:
    """What the library holds, as the sync found it."""

    movies: int
    shows: int
    episodes: int


@dataclass(frozen=True, slots=True)
class NaiveWalk:
    """A plexapi walk: seconds and items of the movie and TV parts."""

    per_show: bool  # show.episodes() per show, else section.searchEpisodes()
    movie_seconds: float
    movies: int
    show_seconds: float
    shows: int
    episodes: int
    bytes: int

    def scales(self, totals: Totals) -> tuple[float, float]:
        """Return how much bigger the whole library is than each walked part."""
        tv_walked, tv_total = (
            (self.shows, totals.shows)
            if self.per_show
            else (self.episodes, totals.episodes)
        )
        return totals.movies / max(1, self.movies), tv_total / max(1, tv_walked)

    def complete(self, totals: Totals) -> bool:
        """Return whether the walk covered the whole library."""
        return self.scales(totals) == (1.0, 1.0)

    def seconds(self, totals: Totals) -> float:
        """Return the walk's time, scaled linearly to the whole library."""
        movie_scale, tv_scale = self.scales(totals)
        return self.movie_seconds * movie_scale + self.show_seconds * tv_scale


def file_bytes(video: Video) -> int:
    """Return the bytes of every part of every media of a movie or episode."""
    return sum(part.size or 0 for media in video.media for part in media.parts)


def serves_all_leaves(section: LibrarySection) -> bool:
    """Return whether the server answers show.episodes() (/allLeaves)."""
    shows = section.all(maxresults=1)  # type: ignore[no-untyped-call]
    if not shows:
        return False
    try:
        shows[0].episodes()
    except NotFound:
        return False
    return True


def naive_walk(
    url: str,
    token: str,
    movie_limit: int | None,
    show_limit: int | None,
    totals: Totals,
) -> NaiveWalk:
    """Walk the libraries the way a naive plexapi integration would (blocking)."""
    server = PlexServer(url, token, timeout=300)  # type: ignore[no-untyped-call]
    movie_section = server.library.sectionByID(MOVIE_SECTION)
    show_section = server.library.sectionByID(SHOW_SECTION)
    per_show = serves_all_leaves(show_section)
    started = time.perf_counter()
    movies = movie_section.all(maxresults=movie_limit)
    size = sum(file_bytes(movie) for movie in movies)
    movie_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if per_show:
        shows = show_section.all(maxresults=show_limit)
        episodes = 0
        for show in shows:
            for episode in show.episodes():
                size += file_bytes(episode)
                episodes += 1
        walked_shows = len(shows)
    else:
        limit = (
            None
            if show_limit is None
            else max(1, round(totals.episodes * show_limit / max(1, totals.shows)))
        )
        listed = show_section.searchEpisodes(maxresults=limit)
        size += sum(file_bytes(episode) for episode in listed)
        episodes, walked_shows = len(listed), 0
    return NaiveWalk(
        per_show,
        movie_seconds,
        len(movies),
        time.perf_counter() - started,
        walked_shows,
        episodes,
        size,
    )


@dataclass(frozen=True, slots=True)
class Report:
    """Everything one benchmark run measured."""

    totals: Totals
    floor: Timing
    full: Timing
    memory: Memory
    stalls: Stalls
    incremental: Timing
    incremental_result: SyncResult
    touched: int
    naive: NaiveWalk
    naive_timing: Timing
    naive_seconds: float
    naive_note: str


async def measure(url: str, token: str, pid: int, control: Connection) -> Report:
    """Run every measurement against the served library."""
    counter = RequestCounter()
    meter = Meter(counter, pid)
    async with aiohttp.ClientSession(trace_configs=[counter.trace]) as session:
        plex = PlexClient(session, url, token, CLIENT_ID)
        _, floor = await meter.best(
            lambda: fetch_floor(session, url, token), lambda items: items
        )

        async def full_sync() -> tuple[LibraryModel, SyncResult]:
            model = LibraryModel()
            return model, await async_sync_library(plex, model, full=True)

        (model, _), full = await meter.best(full_sync, lambda run: run[1].items)
        gc.collect()
        started = time.perf_counter()
        gc.collect()
        gc_baseline = time.perf_counter() - started
        del model
        gc.collect()
        with GcWatch() as collections:
            runs = [
                await longest_gap(full_sync(), collections) for _ in range(STALL_RUNS)
            ]
        (model, _), _, _ = runs[-1]
        stalls = Stalls(
            [gap for _, gap, _ in runs],
            [net for _, _, net in runs],
            collections.longest,
            collections.generation,
            gc_baseline,
        )
        memory = await traced_sync(plex)
        control.send(CHANGED_ITEMS)
        touched: int = control.recv()
        incremental_result, incremental = await meter.run(
            lambda: async_sync_library(plex, model, full=False),
            lambda result: result.changed,
        )
    totals = Totals(
        model.count(MOVIE_SECTION, "movie"),
        model.count(SHOW_SECTION, "show"),
        model.count(SHOW_SECTION, "episode"),
    )

    def walk(movies: int | None, shows: int | None) -> Awaitable[NaiveWalk]:
        return asyncio.to_thread(naive_walk, url, token, movies, shows, totals)

    naive, naive_timing = await meter.run(
        lambda: walk(NAIVE_PREFIX_MOVIES, NAIVE_PREFIX_SHOWS),
        lambda result: result.movies + result.episodes,
    )
    estimate = naive.seconds(totals)
    if naive.complete(totals):
        note = "measured, whole library"
    elif estimate <= NAIVE_BUDGET:
        naive, naive_timing = await meter.run(
            lambda: walk(None, None), lambda result: result.movies + result.episodes
        )
        estimate = naive.seconds(totals)
        note = "measured, whole library"
    else:
        tv = f"{naive.shows} shows" if naive.per_show else f"{naive.episodes} episodes"
        note = (
            f"EXTRAPOLATED linearly from first {naive.movies} movies"
            f" ({naive.movie_seconds:.1f} s) + {tv} ({naive.show_seconds:.1f} s)"
        )
    return Report(
        totals,
        floor,
        full,
        memory,
        stalls,
        incremental,
        incremental_result,
        touched,
        naive,
        naive_timing,
        estimate,
        note,
    )


def verdict(ok: bool) -> str:
    """Return PASS or MISS."""
    return "PASS" if ok else "MISS"


def detail(timing: Timing, *, requests: bool = True) -> str:
    """Return the CPU, request and item counts of a timing."""
    counted = f" {timing.requests} requests," if requests else ""
    return (
        f"client CPU {timing.client_cpu:.2f} s, server CPU {timing.server_cpu:.2f} s,"
        f"{counted} {timing.items} items"
    )


def print_report(report: Report) -> None:
    """Print the measurements as one table."""
    totals = report.totals
    naive = report.naive
    over_floor = report.full.wall / report.floor.wall
    naive_over = report.naive_seconds / report.full.wall
    per_item = report.memory.model / max(1, report.memory.items)
    stalls = report.stalls
    gap_ms = max(stalls.gaps) * 1000
    each = ", ".join(f"{gap * 1000:.0f}" for gap in stalls.gaps)
    changed = report.incremental_result.changed
    tv_walk = (
        "show.episodes() per show" if naive.per_show else "section.searchEpisodes()"
    )
    rows = [
        (
            "full sync (async_sync_library), wall",
            f"{report.full.wall:.2f} s",
            "",
            "",
            f"best of {REPEATS}; {detail(report.full)}",
        ),
        (
            "floor (same pages, orjson only), wall",
            f"{report.floor.wall:.2f} s",
            "",
            "",
            f"best of {REPEATS}; {detail(report.floor)}",
        ),
        (
            "naive plexapi walk, wall",
            f"{report.naive_seconds:.2f} s",
            "",
            "",
            f"{report.naive_note}; section.all() + {tv_walk}",
        ),
        (
            "naive plexapi walk, measured part",
            f"{report.naive_timing.wall:.2f} s",
            "",
            "",
            f"connect included; {detail(report.naive_timing, requests=False)}",
        ),
        (
            "full sync / floor",
            f"{over_floor:.2f}x",
            f"<= {MAX_SYNC_OVER_FLOOR:g}x",
            verdict(over_floor <= MAX_SYNC_OVER_FLOOR),
            "",
        ),
        (
            "naive / full sync",
            f"{naive_over:.1f}x",
            f">= {MIN_NAIVE_OVER_SYNC:g}x",
            verdict(naive_over >= MIN_NAIVE_OVER_SYNC),
            "",
        ),
        (
            "peak traced memory during full sync",
            f"{report.memory.peak / MIB:.1f} MiB",
            "",
            "",
            "tracemalloc peak above the start of the sync",
        ),
        (
            "model memory per item",
            f"{per_item:.0f} B",
            f"< {MAX_BYTES_PER_ITEM} B",
            verdict(per_item < MAX_BYTES_PER_ITEM),
            f"{report.memory.model / MIB:.1f} MiB for {report.memory.items} items",
        ),
        (
            f"incremental sync after {report.touched} changes, wall",
            f"{report.incremental.wall * 1000:.1f} ms",
            "",
            "",
            detail(report.incremental).rsplit(",", 1)[0],
        ),
        (
            "incremental sync HTTP requests",
            str(report.incremental.requests),
            "",
            "",
            f"full sync made {report.full.requests}",
        ),
        (
            "incremental sync changed",
            str(changed),
            f"== {CHANGED_ITEMS}",
            verdict(changed == CHANGED_ITEMS),
            f"{report.incremental_result.removed} removed",
        ),
        (
            "longest event-loop gap, full sync",
            f"{gap_ms:.1f} ms",
            f"<= {MAX_GAP_MS:g} ms",
            verdict(gap_ms <= MAX_GAP_MS),
            (
                f"worst of {STALL_RUNS} syncs ({each} ms) between"
                f" {TICK * 1000:g} ms ticks, sleep included; longest GC pause"
                f" meanwhile {stalls.gc_pause * 1000:.0f} ms"
                f" (generation {stalls.gc_generation})"
            ),
        ),
        (
            "longest gap without GC pauses",
            f"{max(stalls.net_gaps) * 1000:.1f} ms",
            f"<= {MAX_GAP_MS:g} ms",
            verdict(max(stalls.net_gaps) * 1000 <= MAX_GAP_MS),
            (
                "what SmartPlex's code held the loop; for scale, one full"
                f" gc.collect() in this process (Home Assistant imported, one synced"
                f" model alive) takes {stalls.gc_baseline * 1000:.0f} ms"
            ),
        ),
    ]
    print(
        f"library: {totals.movies} movies, {totals.shows} shows,"
        f" {totals.episodes} episodes ({report.memory.items} items synced)"
    )
    print()
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("measurement", "value", "target", "result")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    line = (
        f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}"
        f"  {header[2]:<{widths[2]}}  {header[3]:<{widths[3]}}  notes"
    )
    print(line)
    print("-" * len(line))
    for name, value, target, result, notes in rows:
        print(
            f"{name:<{widths[0]}}  {value:>{widths[1]}}  {target:<{widths[2]}}"
            f"  {result:<{widths[3]}}  {notes}"
        )


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--movies", type=int, default=20_000)
    parser.add_argument("--shows", type=int, default=2_000)
    parser.add_argument("--episodes-per-season", type=int, default=13)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=serve,
        args=(args.movies, args.shows, args.episodes_per_season, theirs),
    )
    child.start()
    url, token, generation = ours.recv()
    print(f"world generation + server start: {generation:.2f} s in the child")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (wall times share them)")
    try:
        report = asyncio.run(measure(url, token, child.pid or 0, ours))
    finally:
        ours.send(None)
        child.join(10)
    print_report(report)


if __name__ == "__main__":
    main()
