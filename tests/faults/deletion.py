"""The deletion path of one cell: plan, confirm, quarantine, restore, purge, recover.

Failing closed, with one service failing:
- planning: a failed lookup skips its item with the reason and never hands it to
  another service (an empty answer is no failure: no schema fault can hide a movie in
  it); a Plex that cannot say what is playing plans nothing;
- quarantine and purge: a failed step leaves its item planned or quarantined with an
  error and a retry time and fires smartplex_deletion_failed; nothing is reported
  deleted while its file exists; a Radarr or Sonarr answering 404 for its own item
  aborts it (its files are never deleted another way); a Radarr sending numbers as
  strings refuses its own movie sent back so (unmonitoring waits for it);
- restore: works, or fails translated and changes nothing;
- a rejected key starts reauthentication;
- once the fault clears, retries finish the plan: each item deleted exactly once.

One plan of three items (a Radarr movie, a movie no Radarr manages, a Sonarr episode)
is held by the blast-radius guard (two files at most) once quarantined, so the episode
can be restored before the purge is released.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import (
    CONF_ACKNOWLEDGE_ABOVE_GB,
    CONF_BLAST_FILES,
    CONF_GRACE_HOURS,
    DOMAIN,
)
from simulators import Fault, Simulator, SimulatorStack
from simulators.world import MediaFile, World

from .cell import Cell, Kind, call, reauth_flows

DELETION_OPTIONS = {
    CONF_GRACE_HOURS: 0,
    CONF_BLAST_FILES: 2,  # the plan of three is held once quarantined
    CONF_ACKNOWLEDGE_ABOVE_GB: 100_000,
}
RETRY_AFTER = 1  # seconds a rate-limited service asks for while deleting
RECOVERY_RUNS = 4
PLEX = ServiceKind.PLEX
RADARR = ServiceKind.RADARR
SONARR = ServiceKind.SONARR
OVERSEERR = ServiceKind.OVERSEERR
# Which services an item's lookup, quarantine, purge and restore call, by manager.
LOOKUP = {"radarr": RADARR, "plex": RADARR, "sonarr": SONARR}
QUARANTINE = {"radarr": {PLEX, RADARR}, "plex": {PLEX}, "sonarr": {PLEX, SONARR}}
PURGE = {
    "radarr": {RADARR, OVERSEERR, PLEX},
    "plex": {PLEX, OVERSEERR},
    "sonarr": {SONARR, PLEX},
}
RESTORE = {"radarr": {PLEX, RADARR}, "plex": {PLEX}, "sonarr": {PLEX, SONARR}}
ARRS = {"radarr": RADARR, "sonarr": SONARR}
SCHEMA = {Fault.MISSING_FIELDS, Fault.NULL_FIELDS}


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the plan, with its files and the only deletions it may cause."""

    key: int
    manager: str
    files: tuple[MediaFile, ...]
    deletions: frozenset[tuple[str, str]]  # (simulator, path) of DELETE calls

    def exists(self) -> bool:
        """Whether any of its files is still on disk."""
        return any(f.exists for f in self.files)


def pick(world: World, plex_key: int) -> tuple[Item, Item, Item]:
    """Pick a Radarr movie (requested, if one is), an unmanaged movie and an episode."""
    media = {
        r.rating_key: r.media_id for r in world.requests[1:] if r.media_type == "movie"
    }
    movies = [
        m
        for m in world.movies.values()
        if m.file
        and m.file.exists
        and "keep" not in m.labels
        and m.rating_key != plex_key
    ]
    movie = min(
        (m for m in movies if m.radarr_id is not None),
        key=lambda m: (m.rating_key not in media, m.rating_key),
    )
    unmanaged = next(m for m in movies if m.radarr_id is None)
    show = next(
        s
        for s in world.shows.values()
        if s.sonarr_id is not None and "keep" not in s.labels
    )
    episode = next(
        e
        for e in world.episodes.values()
        if e.show_key == show.rating_key and e.file and e.sonarr_file_id
    )

    def reset(key: int) -> set[tuple[str, str]]:
        return {("overseerr", f"/api/v1/media/{media[key]}")} if key in media else set()

    return (
        Item(
            movie.rating_key,
            "radarr",
            (movie.file,),
            frozenset(
                {("radarr", f"/api/v3/movie/{movie.radarr_id}")}
                | reset(movie.rating_key)
            ),
        ),
        Item(
            unmanaged.rating_key,
            "plex",
            (unmanaged.file,),
            frozenset(
                {("plex", f"/library/metadata/{unmanaged.rating_key}")}
                | reset(unmanaged.rating_key)
            ),
        ),
        Item(
            episode.rating_key,
            "sonarr",
            (episode.file,),
            frozenset({("sonarr", f"/api/v3/episodefile/{episode.sonarr_file_id}")}),
        ),
    )


def leaving_soon(stack: SimulatorStack) -> set[int]:
    """Rating keys in any "Leaving soon" collection of the simulated Plex."""
    return {
        key
        for collection in stack.plex.collections.values()
        if collection.title == "Leaving soon"
        for key in collection.items
    }


def writes(stack: SimulatorStack) -> list[tuple[str, str, str]]:
    """Every request that could change something, on every simulator."""
    return [
        (sim.name, r.method, r.path)
        for sim in stack.simulators
        for r in sim.requests
        if r.method != "GET"
    ]


def files(world: World) -> list[MediaFile]:
    """Every movie and episode file of the household."""
    return [
        item.file
        for item in (*world.movies.values(), *world.episodes.values())
        if item.file is not None
    ]


class DeletionCheck:
    """The deletion path of one cell, phase by phase."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: MockConfigEntry,
        cell: Cell,
        stack: SimulatorStack,
        sim: Simulator,
    ) -> None:
        """Pick the items and start listening for what the plan announces."""
        self.hass = hass
        self.entry = entry
        self.cell = cell
        self.stack = stack
        self.sim = sim
        self.items = pick(stack.world, min(stack.world.movies))
        self.movie, self.unmanaged, self.episode = self.items
        self.ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
        self.plan_id = ""
        self.failed = async_capture_events(hass, f"{DOMAIN}_deletion_failed")
        self.deleted = async_capture_events(hass, f"{DOMAIN}_item_deleted")
        self.restored = False

    @property
    def fails(self) -> bool:
        """Whether the fault is one SmartPlex must not read as an answer."""
        return self.cell.kind is not Kind.HARMLESS

    def failing(self, item: Item, phase: dict[str, set[ServiceKind]]) -> bool:
        """Whether a phase of an item calls the failing service (and does not abort)."""
        if self.aborts(item) and phase is QUARANTINE:
            return False  # a 404 for its own item is "gone": quarantine goes on
        if not self.fails:
            # Radarr refuses the movie it sent with numbers as strings when it is
            # sent back (unmonitoring PUTs the whole movie).
            return (
                phase is QUARANTINE
                and self.cell.service is RADARR
                and item.manager == "radarr"
            )
        return self.cell.service in phase[item.manager]

    def lookup_fails(self, item: Item) -> bool:
        """Whether planning cannot tell who manages the item."""
        if not self.fails or LOOKUP[item.manager] is not self.cell.service:
            return False
        return item.manager != "plex" or self.cell.fault not in SCHEMA

    def aborts(self, item: Item) -> bool:
        """Whether the item's own Radarr or Sonarr says (404) it has no such item."""
        return self.cell.fault is Fault.NOT_FOUND and self.cell.service is ARRS.get(
            item.manager
        )

    async def plan(self) -> dict[str, Any]:
        """Return the plan as get_plans describes it."""
        plans = await call(self.hass, "get_plans", **self.ids, plan_id=self.plan_id)
        found: dict[str, Any] = plans["plans"][0]
        return found

    async def states(self) -> dict[int, str]:
        """Return the state of each item of the plan."""
        return {i["rating_key"]: i["state"] for i in (await self.plan())["items"]}

    async def audit(self) -> list[dict[str, Any]]:
        """Return the plan's audit log, oldest first."""
        log = await call(
            self.hass, "get_audit_log", **self.ids, plan_id=self.plan_id, limit=10_000
        )
        return list(reversed(log["entries"]))

    async def settle(self) -> None:
        """Wait for the runs an action started in the background."""
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def run(self) -> None:
        """Run the entry's plans now, and whatever that started."""
        await self.entry.runtime_data.cleanup.async_run()
        await self.settle()

    async def check(self) -> None:
        """Walk the whole path, then leave the fault as it was."""
        for flow in reauth_flows(self.hass, self.entry):
            self.hass.config_entries.flow.async_abort(flow["flow_id"])
        self.sim.retry_after = RETRY_AFTER
        existing = [f for f in files(self.stack.world) if f.exists]
        calls = {sim.name: len(sim.requests) for sim in self.stack.simulators}
        await self.check_planning()
        await self.sim.async_clear_fault()
        if not await self.check_plan_made():
            await self.sim.async_set_fault(self.cell.fault)
            return
        await self.sim.async_set_fault(self.cell.fault)
        await self.check_quarantine()
        await self.check_restore()
        await self.check_purge()
        await self.sim.async_clear_fault()
        await self.check_recovery()
        mine = {id(f) for item in self.items for f in item.files}
        others = [f for f in existing if id(f) not in mine]
        self.cell.check(
            "deleting touches no other file", all(f.exists for f in others), others
        )
        deletions = {
            (sim.name, r.path)
            for sim in self.stack.simulators
            for r in sim.requests[calls[sim.name] :]
            if r.method == "DELETE" and not r.path.startswith("/library/collections/")
        }
        allowed = frozenset().union(*(item.deletions for item in self.items))
        self.cell.check(
            "each item deleted only through its own manager",
            deletions <= allowed,
            deletions - allowed,
        )
        await self.sim.async_set_fault(self.cell.fault)

    async def check_planning(self) -> None:
        """Under the fault: a failed lookup skips its item; nothing is written."""
        cell = self.cell
        before = writes(self.stack)
        plex_fails = self.fails and cell.service is PLEX
        skipped = {i.key for i in self.items if self.lookup_fails(i)}
        expected = {i.key: i.manager for i in self.items if i.key not in skipped}
        for dry_run in (True, False):
            what = f"request_deletion (dry run {dry_run})"
            try:
                plan = await call(
                    self.hass,
                    "request_deletion",
                    **self.ids,
                    rating_keys=[i.key for i in self.items],
                    dry_run=dry_run,
                )
            except HomeAssistantError as err:
                if plex_fails:
                    cell.translated(what, err, "now_playing_unknown")
                else:
                    cell.check(f"{what} answers", False, err)
                continue
            if plex_fails:
                cell.check(f"{what} refused while Plex fails", False, plan)
                continue
            managers = {i["rating_key"]: i["manager"] for i in plan["items"]}
            cell.check(
                f"{what}: items and their managers", managers == expected, managers
            )
            reasons = {s["key"]: s["reason"] for s in plan["skipped"]}
            cell.check(
                f"{what}: a failed lookup skips its item, saying so",
                set(reasons) == skipped
                and all(f"{cell.service} lookup failed" in r for r in reasons.values()),
                reasons,
            )
            if dry_run or plan["plan_id"] is None:
                cell.check(f"{what} keeps no plan", plan["plan_id"] is None, plan)
                continue
            cancelled = await call(
                self.hass, "cancel_deletion", **self.ids, plan_id=plan["plan_id"]
            )
            cell.check(
                "a plan made under the fault cancels",
                cancelled["state"] == "cancelled",
                cancelled["state"],
            )
        cell.check(
            "planning writes nothing anywhere",
            writes(self.stack) == before,
            writes(self.stack)[len(before) :],
        )

    async def check_plan_made(self) -> bool:
        """Without the fault: the plan takes all three items, each by its manager."""
        plan = await call(
            self.hass,
            "request_deletion",
            **self.ids,
            rating_keys=[i.key for i in self.items],
        )
        managers = {i["rating_key"]: i["manager"] for i in plan["items"]}
        expected = {i.key: i.manager for i in self.items}
        self.cell.check("the plan takes every item", managers == expected, plan)
        self.plan_id = plan["plan_id"] or ""
        return managers == expected

    async def check_open(
        self, what: str, expected: dict[int, str], failing: set[int]
    ) -> None:
        """Compare item states; failing items carry an error and a retry time."""
        cell = self.cell
        plan = await self.plan()
        states = {i["rating_key"]: i["state"] for i in plan["items"]}
        cell.check(f"{what}: item states", states == expected, states)
        errors = {i["rating_key"] for i in plan["items"] if i["error"]}
        cell.check(f"{what}: failed items carry their error", errors == failing, errors)
        retrying = {key for key in failing if expected[key] != "aborted"}
        retries = {
            e["key"]: e for e in await self.audit() if e["event"] == "item_retry"
        }
        cell.check(
            f"{what}: failed items have a retry time",
            retrying <= set(retries)
            and all(retries[key].get("next_attempt") for key in retrying),
            retries,
        )
        if self.cell.fault is Fault.RATE_LIMITED:
            waits = {
                key: retries[key]["next_attempt"]
                - datetime.fromisoformat(retries[key]["at"]).timestamp()
                for key in retrying
                if key in retries
            }
            cell.check(
                f"{what}: retries wait for Retry-After",
                all(wait >= RETRY_AFTER - 0.01 for wait in waits.values()),
                waits,
            )
        announced = {e.data["rating_key"] for e in self.failed}
        cell.check(
            f"{what}: smartplex_deletion_failed for each failed item",
            failing <= announced,
            announced,
        )
        self.check_never_deleted_with_files(what, states)

    def check_never_deleted_with_files(self, what: str, states: dict[int, str]) -> None:
        """No item is reported deleted while any of its files exists."""
        reported = {e.data["rating_key"] for e in self.deleted} | {
            key for key, state in states.items() if state == "deleted"
        }
        lying = [i.key for i in self.items if i.key in reported and i.exists()]
        self.cell.check(
            f"{what}: nothing reported deleted keeps a file", not lying, lying
        )

    async def check_quarantine(self) -> None:
        """Confirmed under the fault: items whose quarantine fails wait to retry."""
        confirmed = await call(
            self.hass, "confirm_deletion", **self.ids, plan_id=self.plan_id
        )
        self.cell.check(
            "confirmed under the fault",
            confirmed["state"] in ("confirmed", "held"),
            confirmed["state"],
        )
        await self.settle()
        plan = await self.plan()
        self.cell.check("held by the blast-radius guard", plan["state"] == "held", plan)
        failing = {i.key for i in self.items if self.failing(i, QUARANTINE)}
        expected = {
            i.key: "planned" if i.key in failing else "quarantined" for i in self.items
        }
        await self.check_open("quarantine", expected, failing)
        shown = leaving_soon(self.stack)
        quarantined = {k for k, s in expected.items() if s == "quarantined"}
        self.cell.check(
            "quarantined items are in Leaving soon",
            quarantined <= shown,
            shown,
        )
        self.cell.check(
            "nothing deleted before the purge",
            all(i.exists() for i in self.items),
            [i.key for i in self.items if not i.exists()],
        )

    async def check_restore(self) -> None:
        """Restore the episode under the fault: it works, or fails and changes nothing."""
        cell = self.cell
        episode = self.episode
        before = (
            (await self.states())[episode.key],
            episode.key in leaving_soon(self.stack),
        )
        error: HomeAssistantError | None = None
        try:
            await call(
                self.hass,
                "restore",
                **self.ids,
                plan_id=self.plan_id,
                rating_keys=[episode.key],
            )
        except HomeAssistantError as err:
            error = err
        after = (
            (await self.states())[episode.key],
            episode.key in leaving_soon(self.stack),
        )
        if self.failing(episode, RESTORE) and not self.aborts(episode):
            cell.translated("restore while the service fails", error, "restore_failed")
            cell.check("a failed restore changes nothing", after == before, after)
            return
        cell.check("restore answers", error is None, error)
        world_episode = self.stack.world.episodes[episode.key]
        cell.check(
            "restored: files kept, out of Leaving soon, monitored again",
            after == ("restored", False)
            and episode.exists()
            and (world_episode.monitored or self.aborts(episode)),
            (after, episode.exists(), world_episode.monitored),
        )
        self.restored = True

    async def check_purge(self) -> None:
        """Released under the fault: what needs the service waits, the rest goes."""
        cell = self.cell
        count = (await self.plan())["held_count"]
        released = await call(
            self.hass,
            "confirm_deletion",
            **self.ids,
            plan_id=self.plan_id,
            acknowledge_count=count,
        )
        cell.check("released", released["state"] == "confirmed", released["state"])
        await self.settle()  # the release runs the plan at once
        expected: dict[int, str] = {}
        failing: set[int] = set()
        for item in self.items:
            if item is self.episode and self.restored:
                expected[item.key] = "restored"
            elif self.aborts(item):
                expected[item.key] = "aborted"
                failing.add(item.key)
            elif self.failing(item, QUARANTINE):
                expected[item.key] = "planned"
                failing.add(item.key)
            elif self.failing(item, PURGE):
                expected[item.key] = "quarantined"
                failing.add(item.key)
            else:
                expected[item.key] = "deleted"
        await self.check_open("purge", expected, failing)
        finals = {e.data["rating_key"] for e in self.failed if e.data["final"]}
        cell.check(
            "only an item its manager denies having is given up",
            finals == self.aborted_keys(),
            finals,
        )
        rejects = cell.kind is Kind.AUTH and cell.service is not ServiceKind.TAUTULLI
        flows = [flow["context"] for flow in reauth_flows(self.hass, self.entry)]
        cell.check(
            "a rejected key while deleting starts reauth", bool(flows) == rejects, flows
        )

    def aborted_keys(self) -> set[int]:
        """The items (not restored) whose manager denies having them."""
        return {
            i.key
            for i in self.items
            if self.aborts(i) and not (i is self.episode and self.restored)
        }

    async def check_recovery(self) -> None:
        """The fault cleared: retries finish the plan, each item deleted once."""
        cell = self.cell
        for _ in range(RECOVERY_RUNS):
            await self.run()
            if (await self.plan())["state"] == "done":
                break
            await asyncio.sleep(RETRY_AFTER)  # a Retry-After still running
        plan = await self.plan()
        cell.check(
            "the plan finishes once the fault clears", plan["state"] == "done", plan
        )
        states = {i["rating_key"]: i["state"] for i in plan["items"]}
        expected = {
            i.key: "restored"
            if i is self.episode and self.restored
            else "aborted"
            if i.key in self.aborted_keys()
            else "deleted"
            for i in self.items
        }
        cell.check("every item settled", states == expected, states)
        gone = {i.key for i in self.items if not i.exists()}
        cell.check(
            "exactly the deleted items lost their files",
            gone == {k for k, s in expected.items() if s == "deleted"},
            gone,
        )
        self.check_never_deleted_with_files("recovery", states)
        audited = [e["key"] for e in await self.audit() if e["event"] == "item_deleted"]
        announced = [e.data["rating_key"] for e in self.deleted]
        deleted = sorted(k for k, s in expected.items() if s == "deleted")
        cell.check(
            "each deletion audited and announced exactly once",
            sorted(audited) == sorted(announced) == deleted,
            (audited, announced),
        )
