"""A real `hass` killed (SIGKILL) again and again in the middle of a purge finishes it.

Seeded: the kill times come from SMARTPLEX_CRASH_SEED (default 1). CI runs
SMARTPLEX_CRASH_ROUNDS rounds (default 4); run more locally, e.g. 20.
"""

import asyncio
from collections import Counter
import os
import random
import time
from typing import Any

import pytest

from script.realhass import RealHass, real_hass
from simulators import Fault, SimulatorStack
from simulators.world import MediaFile, World

ROUNDS = int(os.environ.get("SMARTPLEX_CRASH_ROUNDS", "4"))
SEED = int(os.environ.get("SMARTPLEX_CRASH_SEED", "1"))
MOVIES = 320
EPISODES_OF = 4  # shows whose episodes are deleted one by one
DONE_WITHIN = 180.0
CALL_DELAY = (
    0.01 * ROUNDS
)  # seconds Radarr and Sonarr take: the purge outlasts the rounds


async def action(hass: RealHass, name: str, **data: Any) -> dict[str, Any]:
    """Call a SmartPlex action over the REST API and return its response."""
    answer = await hass._call(
        "POST",
        f"/api/services/smartplex/{name}?return_response",
        {"config_entry_id": hass.entry_id} | data,
    )
    response: dict[str, Any] = answer["service_response"]
    return response


async def plan_of(hass: RealHass, plan_id: str) -> dict[str, Any]:
    """Return the plan as get_plans describes it."""
    plans = await action(hass, "get_plans", plan_id=plan_id)
    found: dict[str, Any] = plans["plans"][0]
    return found


def files_of(world: World, keys: set[int]) -> list[MediaFile]:
    """The files of these movies and episodes."""
    return [
        item.file
        for item in (*world.movies.values(), *world.episodes.values())
        if item.rating_key in keys and item.file is not None
    ]


@pytest.mark.timeout(90 + 15 * ROUNDS)
async def test_kill_mid_purge_deletes_each_item_once(socket_enabled: None) -> None:
    """Every confirmed item is deleted exactly once; nothing else is touched; the audit is whole."""
    rng = random.Random(SEED)  # noqa: S311 - kill times, not secrets
    world = World.generate(seed=SEED, movies=MOVIES, shows=12, now=int(time.time()))
    async with (
        SimulatorStack(seed=SEED, world=world) as stack,
        real_hass(
            stack, services=("radarr", "sonarr", "tautulli", "overseerr")
        ) as hass,
    ):
        await hass.set_options(
            {
                "grace_hours": 0,
                "blast_radius_percent": 100,
                "blast_radius_files": 100_000,
                "acknowledge_above_gb": 100_000_000,
            }
        )
        await hass.wait_until_loaded()
        movies = [
            m
            for m in world.movies.values()
            if m.radarr_id and m.file and "keep" not in m.labels
        ]
        shows = [
            s for s in world.shows.values() if s.sonarr_id and "keep" not in s.labels
        ][:EPISODES_OF]
        episodes = [
            world.episodes[key]
            for show in shows
            for season in show.season_keys
            for key in world.seasons[season].episode_keys
            if world.episodes[key].file is not None
        ]
        chosen = {m.rating_key for m in movies} | {e.rating_key for e in episodes}
        radarr_paths = {f"/api/v3/movie/{m.radarr_id}" for m in movies}
        file_paths = {f"/api/v3/episodefile/{e.sonarr_file_id}" for e in episodes}
        plan = await action(hass, "request_deletion", rating_keys=sorted(chosen))
        assert plan["skipped"] == []
        assert {item["rating_key"] for item in plan["items"]} == chosen
        mine = {id(f) for f in files_of(world, chosen)}
        everything = set(world.movies) | set(world.episodes)
        others = [f for f in files_of(world, everything) if id(f) not in mine]
        # Slow Radarr and Sonarr a little so the purge lasts through every round.
        for arr in (stack.radarr, stack.sonarr):
            arr.delay = CALL_DELAY
            arr.set_fault(Fault.SLOW)
        await action(hass, "confirm_deletion", plan_id=plan["plan_id"])

        kills = 0
        for _ in range(ROUNDS):
            await asyncio.sleep(rng.uniform(0.2, 2.5))
            if (await plan_of(hass, plan["plan_id"]))["state"] == "done":
                break
            await hass.kill()
            kills += 1
            await hass.start()
            await hass.wait_until_loaded()

        deadline = time.monotonic() + DONE_WITHIN
        while (state := await plan_of(hass, plan["plan_id"]))["state"] != "done":
            assert time.monotonic() < deadline, state["item_states"]
            await asyncio.sleep(0.5)

        assert kills == ROUNDS, f"the purge ended after {kills} of {ROUNDS} kills"
        for arr in (stack.radarr, stack.sonarr):
            arr.clear_fault()
        assert state["item_states"] == {"deleted": len(chosen)}
        assert not any(f.exists for f in files_of(world, chosen))
        assert all(f.exists for f in others)
        # Each deletion was sent once; a call in flight when hass died may have been
        # answered after the restart, so at most the calls in flight at a kill
        # (4 per service) were sent twice, and only ever answered "gone" the second time.
        for service, paths in (
            (stack.radarr, radarr_paths),
            (stack.sonarr, file_paths),
        ):
            sent = Counter(r.path for r in service.requests if r.method == "DELETE")
            assert set(sent) == paths
            assert max(sent.values()) <= 2
            assert sum(count - 1 for count in sent.values()) <= 4 * kills
        audit = await action(
            hass, "get_audit_log", plan_id=plan["plan_id"], limit=10_000
        )
        deleted = Counter(
            e["key"] for e in audit["entries"] if e["event"] == "item_deleted"
        )
        assert set(deleted) == chosen
        assert set(deleted.values()) == {1}
