"""The stack as a whole and its command line entry point."""

import asyncio
import os
import sys

import pytest

from simulators import SimulatorStack


async def test_stack_is_deterministic_per_seed(socket_enabled: None) -> None:
    async with SimulatorStack(seed=5) as first:
        urls = {sim.url for sim in first.simulators}
        keys = (first.plex.token, first.sonarr.api_key, first.overseerr.api_key)
    assert len(urls) == 6
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
    again = SimulatorStack(seed=5)
    assert (again.plex.token, again.sonarr.api_key, again.overseerr.api_key) == keys
    assert SimulatorStack(seed=6).plex.token != keys[0]
    assert len(again.tautulli.api_key) == 32
    assert again.sonarr.version == "4.0.14.2939"
    assert again.radarr.version == "5.26.2.10099"


@pytest.mark.timeout(30)
async def test_module_runs_the_stack(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "--seed",
        "2",
        stdout=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    assert process.stdout is not None
    lines = [(await process.stdout.readline()).decode() for _ in range(8)]
    process.terminate()
    await process.wait()
    expected = SimulatorStack(seed=2)
    assert lines[0].startswith("plex ")
    assert f"token={expected.plex.token}" in lines[0]
    assert f"api_key={expected.overseerr.api_key}" in lines[5]
    assert lines[6].startswith("world ")
    assert lines[7].startswith("Ctrl-C")


@pytest.mark.timeout(60)
async def test_module_takes_the_world_size(socket_enabled: None) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulators",
        "--movies",
        "120",
        "--shows",
        "12",
        "--seed",
        "4",
        stdout=asyncio.subprocess.PIPE,
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    assert process.stdout is not None
    lines = [(await process.stdout.readline()).decode() for _ in range(7)]
    process.terminate()
    await process.wait()
    expected = SimulatorStack(seed=4, movies=120, shows=12)
    assert f"api_key={expected.tautulli.api_key}" in lines[4]
    assert "movies=120 shows=12" in lines[6]
    assert f"requests={len(expected.world.requests)}" in lines[6]
