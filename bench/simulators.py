"""Benchmark the Plex simulator on a large household, server in a child process.

Run with `python -m bench.simulators [--movies 20000 --shows 2000]`.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
import multiprocessing
from multiprocessing.connection import Connection
import os
import time

import aiohttp

from simulators.plex import PlexSimulator
from simulators.world import MOVIE_SECTION, SHOW_SECTION, World

PAGE_SIZE = 1000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Pass:
    """One full page-through of a listing."""

    label: str
    items: int
    wall: float
    client_cpu: float
    server_cpu: float


def serve(movies: int, shows: int, pipe: Connection) -> None:
    """Generate the world, start Plex and serve until the pipe closes."""

    async def run() -> None:
        started = time.perf_counter()
        world = World.generate(
            seed=1, movies=movies, shows=shows, episodes_per_season=13
        )
        async with PlexSimulator(world=world) as plex:
            pipe.send((plex.url, plex.token, time.perf_counter() - started))
            await asyncio.get_running_loop().run_in_executor(None, pipe.recv_bytes)

    try:
        asyncio.run(run())
    except EOFError:
        return


def process_cpu(pid: int) -> float:
    """Return the user+system CPU seconds of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def page_through(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    section: int,
    kind: int,
    pid: int,
) -> Pass:
    """Fetch a whole listing as JSON, one page at a time, timing both sides."""
    headers = {"X-Plex-Token": token, "Accept": "application/json"}
    wall, cpu, server = time.perf_counter(), time.process_time(), process_cpu(pid)
    start, items, total = 0, 0, 1
    while start < total:
        params = {
            "type": str(kind),
            "includeGuids": "1",
            "X-Plex-Container-Start": str(start),
            "X-Plex-Container-Size": str(PAGE_SIZE),
        }
        async with session.get(
            f"{url}/library/sections/{section}/all", params=params, headers=headers
        ) as response:
            container = (await response.json())["MediaContainer"]
        items += len(container.get("Metadata", []))
        total = container["totalSize"]
        start += container["size"]
    return Pass(
        f"section {section} type={kind}",
        items,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        process_cpu(pid) - server,
    )


async def measure(url: str, token: str, pid: int) -> list[Pass]:
    """Page through the movies and every episode."""
    async with aiohttp.ClientSession() as session:
        return [
            await page_through(session, url, token, MOVIE_SECTION, 1, pid),
            await page_through(session, url, token, SHOW_SECTION, 4, pid),
        ]


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--movies", type=int, default=20_000)
    parser.add_argument("--shows", type=int, default=2_000)
    args = parser.parse_args()
    ours, theirs = multiprocessing.Pipe()
    started = time.perf_counter()
    child = multiprocessing.get_context("fork").Process(
        target=serve, args=(args.movies, args.shows, theirs)
    )
    child.start()
    url, token, generation = ours.recv()
    ready = time.perf_counter() - started
    try:
        passes = asyncio.run(measure(url, token, child.pid or 0))
    finally:
        ours.send_bytes(b"stop")
        child.join(10)
    print(f"world generation + server start: {generation:.2f} s in the child,")
    print(f"{ready:.2f} s until ready as seen by the parent (target < 10 s)")
    print()
    print(
        f"{'listing':<20} {'items':>7} {'wall s':>7} {'client':>7} {'server':>7} {'ratio':>6}"
    )
    for run in passes:
        ratio = run.server_cpu / run.client_cpu if run.client_cpu else float("nan")
        print(
            f"{run.label:<20} {run.items:>7} {run.wall:>7.2f} {run.client_cpu:>7.2f}"
            f" {run.server_cpu:>7.2f} {ratio:>6.2f}"
        )
    print()
    print(
        "client and server columns are CPU seconds; ratio = server / client (target < 1)"
    )


if __name__ == "__main__":
    main()
