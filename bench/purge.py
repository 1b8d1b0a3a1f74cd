"""Benchmark a confirmed purge of many items across Radarr, Sonarr, Plex and Overseerr.

Run with `python -m bench.purge [--items 500]`. The same household is purged twice:
once by SmartPlex's engine (quarantine, write-ahead journal on disk with fsync, re-reads
before and after every destructive call) and once by a baseline that only sends the
deletions, as a careless script would. The ratio is the price of the safety.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
import os
from pathlib import Path
import tempfile
import time
from typing import Any

import aiohttp
import orjson

from custom_components.smartplex.api import (
    ArrClient,
    OverseerrClient,
    PlexClient,
    ServiceKind,
)
from custom_components.smartplex.cleanup.executor import CleanupEngine, Settings
from custom_components.smartplex.cleanup.journal import Journal
from custom_components.smartplex.cleanup.plan import ItemState
from custom_components.smartplex.cleanup.rules import RuleContext
from custom_components.smartplex.cleanup.steps import Services
from custom_components.smartplex.library import LibraryModel, async_sync_library
from simulators import SimulatorStack
from simulators.world import World

CLIENT_ID = "bench"
CONCURRENCY = 4


class DiskWriter:
    """Write the journal as HA's Store does with atomic writes: temp file, fsync, rename."""

    def __init__(self, path: Path) -> None:
        """Write to path."""
        self.path = path
        self.writes = 0
        self.bytes = 0

    async def __call__(self, data: dict[str, Any]) -> None:
        """Write data in the executor, as HA does."""
        body = orjson.dumps(data)
        await asyncio.get_running_loop().run_in_executor(None, self._write, body)
        self.writes += 1
        self.bytes += len(body)

    def _write(self, body: bytes) -> None:
        """Write and fsync a temporary file, then move it over the journal."""
        temp = self.path.with_suffix(".tmp")
        with temp.open("wb") as file:
            file.write(body)
            file.flush()
            os.fsync(file.fileno())
        temp.replace(self.path)


def choose(world: World, count: int) -> list[int]:
    """Pick about `count` items: mostly movies, then whole shows, seasons and episodes."""
    movies = [
        m.rating_key for m in world.movies.values() if m.file and "keep" not in m.labels
    ]
    shows = [s for s in world.shows.values() if "keep" not in s.labels]
    keys = movies[: int(count * 0.7)]
    whole = shows[: max(1, len(shows) // 4)]
    keys += [s.rating_key for s in whole]
    rest = shows[len(whole) :]
    for show in rest:
        if len(keys) >= count:
            break
        first, *others = show.season_keys
        keys.append(first)
        for season in others:
            keys += world.seasons[season].episode_keys[:2]
    return keys[:count]


def clients(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> tuple[PlexClient, ArrClient, ArrClient, OverseerrClient]:
    """Build SmartPlex's clients on the simulators."""
    return (
        PlexClient(session, stack.plex.url, stack.plex.token, CLIENT_ID),
        ArrClient(ServiceKind.RADARR, session, stack.radarr.url, stack.radarr.api_key),
        ArrClient(ServiceKind.SONARR, session, stack.sonarr.url, stack.sonarr.api_key),
        OverseerrClient(session, stack.overseerr.url, stack.overseerr.api_key),
    )


async def smartplex_purge(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    """Plan, confirm and purge through the engine; return figures."""
    world = World.generate(seed=args.seed, movies=args.movies, shows=args.shows)
    async with (
        SimulatorStack(seed=args.seed, world=world) as stack,
        aiohttp.ClientSession() as session,
    ):
        plex, radarr, sonarr, overseerr = clients(stack, session)
        await plex.async_connect()
        model = LibraryModel()
        await async_sync_library(plex, model, full=True)
        keys = choose(world, args.items)
        context = RuleContext(
            model,
            None,
            analytics_age=None,
            requests=None,
            now_playing=frozenset(),
            now=time.time(),
        )
        candidates, refused = context.pick(keys)
        writer = DiskWriter(folder / "journal.json")
        services = Services(
            plex=plex,
            radarr={"radarr": radarr},
            sonarr={"sonarr": sonarr},
            overseerr=overseerr,
            plex_deletion_allowed=True,
        )
        engine = CleanupEngine(
            Journal(writer),
            lambda: services,
            lambda: Settings(grace=0, blast_share=1.0, blast_files=1_000_000),
            lambda _kind, _data: None,
            library_totals=model.section_totals,
        )
        files_before = sum(d.free for d in world.disks)
        start = time.perf_counter()
        plan = await engine.async_request(candidates, [], rule=None, dry_run=False)
        planned = time.perf_counter()
        await engine.async_confirm(plan.id, plan.total_gb)
        await engine.async_run_due()
        done = time.perf_counter()
        deleted = sum(item.state == ItemState.DELETED for item in plan.items)
        if deleted != len(plan.items):
            failed = [
                (i.title, i.error) for i in plan.items if i.state != ItemState.DELETED
            ]
            raise SystemExit(f"purge incomplete: {failed[:5]}")
        return {
            "items": len(plan.items),
            "refused": len(refused) + len(plan.skipped),
            "plan_s": planned - start,
            "purge_s": done - planned,
            "writes": writer.writes,
            "mib_written": writer.bytes / 2**20,
            "freed_gb": (sum(d.free for d in world.disks) - files_before) / 1e9,
            "requests": sum(len(s.requests) for s in stack.simulators),
        }


async def baseline_purge(args: argparse.Namespace) -> dict[str, float]:
    """Send only the deletions, with no plan, journal or re-read: the floor."""
    world = World.generate(seed=args.seed, movies=args.movies, shows=args.shows)
    keys = set(choose(world, args.items))
    async with (
        SimulatorStack(seed=args.seed, world=world) as stack,
        aiohttp.ClientSession() as session,
    ):
        _plex, radarr, sonarr, _overseerr = clients(stack, session)
        calls: list[Callable[[], Awaitable[None]]] = [
            partial(radarr.async_delete_movie, movie.radarr_id)
            for movie in world.movies.values()
            if movie.rating_key in keys and movie.radarr_id is not None
        ]
        calls.extend(
            partial(sonarr.async_delete_series, show.sonarr_id)
            for show in world.shows.values()
            if show.rating_key in keys and show.sonarr_id is not None
        )
        calls.extend(
            partial(sonarr.async_delete_episode_file, episode.sonarr_file_id)
            for episode in world.episodes.values()
            if (episode.rating_key in keys or episode.season_key in keys)
            and episode.sonarr_file_id is not None
            and episode.show_key not in keys
        )
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(call: Callable[[], Awaitable[None]]) -> None:
            async with gate:
                await call()

        start = time.perf_counter()
        await asyncio.gather(*(one(call) for call in calls))
        return {"calls": len(calls), "purge_s": time.perf_counter() - start}


async def main(args: argparse.Namespace) -> None:
    """Run both purges and print the figures."""
    with tempfile.TemporaryDirectory() as folder:
        ours = await smartplex_purge(args, Path(folder))
    floor = await baseline_purge(args)
    print(
        f"items purged:            {ours['items']:.0f} (refused {ours['refused']:.0f})"
    )
    print(f"plan (lookups):          {ours['plan_s']:.2f} s")
    print(f"purge (quarantine+del):  {ours['purge_s']:.2f} s")
    print(
        f"journal writes:          {ours['writes']:.0f} ({ours['mib_written']:.1f} MiB, fsync each)"
    )
    print(f"requests to simulators:  {ours['requests']:.0f}")
    print(f"freed:                   {ours['freed_gb']:.1f} GB")
    print(
        f"baseline (deletes only): {floor['purge_s']:.2f} s for {floor['calls']:.0f} calls"
    )
    print(f"ratio purge/baseline:    {ours['purge_s'] / floor['purge_s']:.1f}x")


def parse() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--movies", type=int, default=600)
    parser.add_argument("--shows", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
