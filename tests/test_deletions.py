"""Deletion plans end to end over the simulators: request, confirm, quarantine, purge."""

from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.smartplex import deletions, logbook
from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.cleanup.executor import MAX_ATTEMPTS
from custom_components.smartplex.cleanup.plan import StepRecord
from custom_components.smartplex.cleanup.rules import Rule
from custom_components.smartplex.const import DOMAIN
from custom_components.smartplex.coordinator import async_rule_context
from custom_components.smartplex.diagnostics import async_get_config_entry_diagnostics
from simulators import Fault, SimulatorStack
from simulators.world import Episode, Movie, Season, Show

from .common import setup_entry

NEVER_WATCHED = {"name": "Never watched movies", "level": "movie", "never_played": True}
SERVICES = (
    ServiceKind.RADARR,
    ServiceKind.SONARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
NOW = {"grace_hours": 0, "plan_expiry_hours": 24, "acknowledge_above_gb": 100_000}
LATER = NOW | {"grace_hours": 24}


async def call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    """Call a SmartPlex action and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def writes(stack: SimulatorStack) -> list[tuple[str, str, str]]:
    """Every request that could change something, on every simulator."""
    return [
        (sim.name, r.method, r.path)
        for sim in stack.simulators
        for r in sim.requests
        if r.method != "GET"
    ]


def radarr_movies(stack: SimulatorStack) -> list[Movie]:
    """Movies Radarr manages, with a file, no keep label."""
    return [
        m
        for m in stack.world.movies.values()
        if m.radarr_id is not None and m.file and "keep" not in m.labels
    ]


def shows(stack: SimulatorStack) -> list[Show]:
    """Shows Sonarr manages, no keep label."""
    return [
        s
        for s in stack.world.shows.values()
        if s.sonarr_id is not None and "keep" not in s.labels
    ]


def episodes_of(stack: SimulatorStack, show: Show) -> list[Episode]:
    """Every episode of a show."""
    return [
        stack.world.episodes[key]
        for season in show.season_keys
        for key in stack.world.seasons[season].episode_keys
    ]


def leaving_soon(stack: SimulatorStack) -> set[int]:
    """Rating keys in any "Leaving soon" collection of the simulated Plex."""
    return {
        key
        for collection in stack.plex.collections.values()
        if collection.title == "Leaving soon"
        for key in collection.items
    }


async def request(hass: HomeAssistant, entry_id: str, **data: Any) -> dict[str, Any]:
    """Request a deletion plan."""
    result: dict[str, Any] = await call(
        hass, "request_deletion", **{ATTR_CONFIG_ENTRY_ID: entry_id} | data
    )
    return result


async def run(hass: HomeAssistant, entry: Any) -> None:
    """Let the entry's plans do what is due, now."""
    await entry.runtime_data.cleanup.async_run()
    await hass.async_block_till_done()


async def test_dry_run_changes_nothing(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """A dry run says what would happen and writes nothing, anywhere."""
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    before = writes(stack)
    events = async_capture_events(hass, f"{DOMAIN}_deletion_requested")
    plan = await request(hass, entry.entry_id, rule=NEVER_WATCHED, dry_run=True)
    assert plan["dry_run"] is True
    assert plan["plan_id"] is None
    assert plan["item_count"] > 0
    managed = {m.rating_key for m in stack.world.movies.values() if m.radarr_id}
    for item in plan["items"]:
        expected = "radarr" if item["rating_key"] in managed else "plex"
        assert item["manager"] == expected
        assert any(expected in action for action in item["actions"])
    assert writes(stack) == before
    assert events == []
    assert (await call(hass, "get_plans", config_entry_id=entry.entry_id)) == {
        "plans": []
    }
    assert f"{DOMAIN}.cleanup.{entry.entry_id}" not in hass_storage


async def test_request_confirm_cancel(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Plans are announced, requesting twice gives the same plan, confirming is idempotent."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    events = async_capture_events(hass, f"{DOMAIN}_deletion_requested")
    plan = await request(hass, entry.entry_id, rule=NEVER_WATCHED)
    assert len(plan["plan_id"]) == 32
    assert len(plan["code"]) == 3
    assert len(events) == 1
    event = events[0].data
    assert event["plan_id"] == plan["plan_id"]
    assert event["items"] == plan["item_count"]
    assert event["total_size"] == sum(item["size"] for item in plan["items"])
    assert event["config_entry_id"] == entry.entry_id
    again = await request(hass, entry.entry_id, rule=NEVER_WATCHED)
    assert again["plan_id"] == plan["plan_id"]
    assert len(events) == 1

    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]}
    first = await call(hass, "confirm_deletion", **ids)
    second = await call(hass, "confirm_deletion", **ids)
    assert first["state"] == second["state"] == "confirmed"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "cancel_deletion", **ids)
    assert err.value.translation_key == "plan_not_pending"

    other = await request(
        hass, entry.entry_id, rating_keys=[shows(stack)[0].rating_key]
    )
    cancelled = await call(
        hass,
        "cancel_deletion",
        config_entry_id=entry.entry_id,
        plan_id=other["plan_id"],
    )
    assert cancelled["state"] == "cancelled"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "confirm_deletion",
            config_entry_id=entry.entry_id,
            plan_id=other["plan_id"],
        )
    assert err.value.translation_key == "plan_not_pending"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "confirm_deletion", config_entry_id=entry.entry_id, plan_id="0" * 32
        )
    assert err.value.translation_key == "unknown_plan"


async def test_plans_expire(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """An unconfirmed plan expires and can no longer be confirmed."""
    entry = await setup_entry(hass, stack, SERVICES, NOW | {"plan_expiry_hours": 0})
    plan = await request(hass, entry.entry_id, rule=NEVER_WATCHED)
    await run(hass, entry)
    plans = await call(hass, "get_plans", config_entry_id=entry.entry_id)
    assert plans["plans"][0]["state"] == "expired"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "confirm_deletion",
            config_entry_id=entry.entry_id,
            plan_id=plan["plan_id"],
        )
    assert err.value.translation_placeholders["state"] == "expired"


async def test_large_plan_needs_its_total(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A plan above the threshold is confirmed only with its total typed back."""
    entry = await setup_entry(
        hass, stack, SERVICES, LATER | {"acknowledge_above_gb": 1}
    )
    plan = await request(hass, entry.entry_id, rule=NEVER_WATCHED)
    assert plan["needs_acknowledge"] is True
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    notice = notifications[f"{DOMAIN}_plan_{plan['plan_id']}"]
    assert f"acknowledge_total_gb: {plan['total_gb']:g}" in notice["message"]
    assert notice["title"] == "SmartPlex: large deletion plan"
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]}
    for wrong in ({}, {"acknowledge_total_gb": plan["total_gb"] + 1}):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "confirm_deletion", **ids | wrong)
        assert err.value.translation_key == "acknowledge_required"
    confirmed = await call(
        hass, "confirm_deletion", **ids | {"acknowledge_total_gb": plan["total_gb"]}
    )
    assert confirmed["state"] == "confirmed"


async def test_quarantine_then_restore(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Confirmed items wait in "Leaving soon", unmonitored; restore undoes both."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movies = radarr_movies(stack)[:3]
    show = shows(stack)[0]
    keys = [m.rating_key for m in movies] + [show.rating_key]
    plan = await request(hass, entry.entry_id, rating_keys=keys)
    assert {i["rating_key"] for i in plan["items"]} == set(keys)
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]}
    await call(hass, "confirm_deletion", **ids)
    await run(hass, entry)

    assert leaving_soon(stack) == set(keys)
    assert all(c.promoted for c in stack.plex.collections.values())
    assert not any(m.monitored for m in movies)
    assert not show.monitored
    state = (await call(hass, "get_plans", **ids))["plans"][0]
    assert {i["state"] for i in state["items"]} == {"quarantined"}

    await call(hass, "restore", **ids)
    assert leaving_soon(stack) == set()
    assert all(m.monitored for m in movies)
    assert show.monitored
    assert all(m.file and m.file.exists for m in movies)
    state = (await call(hass, "get_plans", **ids))["plans"][0]
    assert state["state"] == "done"
    assert {i["state"] for i in state["items"]} == {"restored"}


async def test_purge_across_services(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """After the grace period files are gone through Radarr, Sonarr and Plex."""
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    completed = async_capture_events(hass, f"{DOMAIN}_deletion_completed")
    deleted_events = async_capture_events(hass, f"{DOMAIN}_item_deleted")
    movies = radarr_movies(stack)[:2]
    unmanaged = next(
        m for m in stack.world.movies.values() if m.radarr_id is None and m.file
    )
    whole, partial, single = shows(stack)[:3]
    season: Season = stack.world.seasons[partial.season_keys[0]]
    episode = episodes_of(stack, single)[0]
    keys = [m.rating_key for m in (*movies, unmanaged)] + [
        whole.rating_key,
        season.rating_key,
        episode.rating_key,
    ]
    chosen = (
        [m.file for m in (*movies, unmanaged)]
        + [e.file for e in episodes_of(stack, whole)]
        + [stack.world.episodes[k].file for k in season.episode_keys]
        + [episode.file]
    )
    others = [
        f
        for f in [m.file for m in stack.world.movies.values()]
        + [e.file for e in stack.world.episodes.values()]
        if f is not None and f.exists and f not in chosen
    ]
    free_before = sum(d.free for d in stack.world.disks)
    plan = await request(hass, entry.entry_id, rating_keys=keys)
    assert {i["rating_key"]: i["manager"] for i in plan["items"]} == {
        movies[0].rating_key: "radarr",
        movies[1].rating_key: "radarr",
        unmanaged.rating_key: "plex",
        whole.rating_key: "sonarr",
        season.rating_key: "sonarr",
        episode.rating_key: "sonarr",
    }
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    await run(hass, entry)

    assert all(f is None or not f.exists for f in chosen)
    assert all(f.exists for f in others)
    freed = sum(f.size for f in chosen if f is not None)
    assert sum(d.free for d in stack.world.disks) == free_before + freed
    assert len(deleted_events) == len(keys)
    assert completed[0].data["reclaimed_size"] == plan["total_size"]
    assert "availability-sync" in stack.overseerr.job_runs
    requested = {m.tmdb_id for m in (*movies, unmanaged)}
    assert not any(
        r.tmdb_id in requested and r.media_type == "movie" for r in stack.world.requests
    )
    model = entry.runtime_data.library.model.items
    assert not any(key in model for key in keys)
    audit = await call(
        hass, "get_audit_log", config_entry_id=entry.entry_id, plan_id=plan["plan_id"]
    )
    deleted = [e for e in audit["entries"] if e["event"] == "item_deleted"]
    assert sorted(e["key"] for e in deleted) == sorted(keys)
    assert all(e["trace"] for e in deleted)


async def test_failures_retry_then_succeed(
    hass: HomeAssistant, stack: SimulatorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing Radarr delays its items; nothing is reported deleted until it answers."""
    monkeypatch.setattr(deletions, "RETRY_BACKOFF", 0.0)
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    failed = async_capture_events(hass, f"{DOMAIN}_deletion_failed")
    other = radarr_movies(stack)[:2]
    plan = await request(
        hass, entry.entry_id, rating_keys=[m.rating_key for m in other]
    )
    stack.radarr.set_fault(Fault.SERVER_ERROR)
    refused = await request(hass, entry.entry_id, rule=NEVER_WATCHED, dry_run=True)
    # A failed lookup is not an answer: no movie is handed to Plex instead.
    assert not [
        i
        for i in refused["items"]
        if i["manager"] == "plex"
        and i["rating_key"]
        in {m.rating_key for m in stack.world.movies.values() if m.radarr_id}
    ]
    assert any("radarr lookup failed" in s["reason"] for s in refused["skipped"])
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    await run(hass, entry)
    assert failed
    assert all(m.file and m.file.exists for m in other)
    state = (
        await call(
            hass, "get_plans", config_entry_id=entry.entry_id, plan_id=plan["plan_id"]
        )
    )["plans"][0]
    assert {i["state"] for i in state["items"]} == {"planned"}
    assert all(i["error"] for i in state["items"])
    stack.radarr.clear_fault()
    await run(hass, entry)
    await run(hass, entry)
    assert all(not (m.file and m.file.exists) for m in other)
    state = (
        await call(
            hass, "get_plans", config_entry_id=entry.entry_id, plan_id=plan["plan_id"]
        )
    )["plans"][0]
    assert state["state"] == "done"


async def test_plan_survives_reload(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Plans and the audit log are stored: a reload resumes where it was."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movies = radarr_movies(stack)[:2]
    plan = await request(
        hass, entry.entry_id, rating_keys=[m.rating_key for m in movies]
    )
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]}
    await call(hass, "confirm_deletion", **ids)
    await run(hass, entry)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    state = (await call(hass, "get_plans", **ids))["plans"][0]
    assert {i["state"] for i in state["items"]} == {"quarantined"}
    audit = await call(hass, "get_audit_log", **ids)
    assert [e["event"] for e in reversed(audit["entries"])][:2] == [
        "plan_created",
        "plan_confirmed",
    ]


async def confirmed(hass: HomeAssistant, entry: Any, keys: list[int]) -> dict[str, Any]:
    """Request and confirm a plan of these items, then run what is due."""
    plan = await request(hass, entry.entry_id, rating_keys=keys)
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    await run(hass, entry)
    return plan


async def plan_state(hass: HomeAssistant, entry: Any, plan_id: str) -> dict[str, Any]:
    """Return a plan as get_plans describes it."""
    plans = await call(
        hass, "get_plans", config_entry_id=entry.entry_id, plan_id=plan_id
    )
    result: dict[str, Any] = plans["plans"][0]
    return result


async def test_seasons_and_episodes(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A season (Specials too) or an episode is unmonitored exactly, never the series."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    first, second = shows(stack)[:2]
    specials = next(
        (
            stack.world.seasons[k]
            for k in first.season_keys
            if stack.world.seasons[k].index == 0
        ),
        stack.world.seasons[first.season_keys[0]],
    )
    episode = episodes_of(stack, second)[-1]
    plan = await confirmed(hass, entry, [specials.rating_key, episode.rating_key])
    season_episodes = [stack.world.episodes[k] for k in specials.episode_keys]
    assert not specials.monitored
    assert not any(e.monitored for e in season_episodes)
    assert not episode.monitored
    assert first.monitored
    assert second.monitored
    others = [e for e in episodes_of(stack, second) if e is not episode]
    assert all(e.monitored for e in others)
    assert leaving_soon(stack) == {specials.rating_key, episode.rating_key}
    await call(hass, "restore", config_entry_id=entry.entry_id, plan_id=plan["plan_id"])
    assert specials.monitored
    assert episode.monitored
    assert all(e.monitored for e in season_episodes)
    assert leaving_soon(stack) == set()


async def test_postpone(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Postponing moves an item's purge date; closed plans cannot be postponed."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movies = radarr_movies(stack)[:2]
    plan = await confirmed(hass, entry, [m.rating_key for m in movies])
    before = await plan_state(hass, entry, plan["plan_id"])
    await call(
        hass,
        "postpone",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
        days=7,
        rating_keys=[movies[0].rating_key],
    )
    after = await plan_state(hass, entry, plan["plan_id"])
    moved = {i["rating_key"]: i["purge_at"] for i in after["items"]}
    was = {i["rating_key"]: i["purge_at"] for i in before["items"]}
    assert moved[movies[0].rating_key] > was[movies[0].rating_key]
    assert moved[movies[1].rating_key] == was[movies[1].rating_key]
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "postpone",
            config_entry_id=entry.entry_id,
            plan_id=plan["plan_id"],
            days=1,
            rating_keys=[99_999_999],
        )
    assert err.value.translation_key == "item_not_open"
    other = await request(
        hass, entry.entry_id, rating_keys=[shows(stack)[0].rating_key]
    )
    await call(
        hass,
        "cancel_deletion",
        config_entry_id=entry.entry_id,
        plan_id=other["plan_id"],
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "postpone",
            config_entry_id=entry.entry_id,
            plan_id=other["plan_id"],
            days=1,
        )
    assert err.value.translation_key == "plan_not_open"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "restore", config_entry_id=entry.entry_id, plan_id=other["plan_id"]
        )
    assert err.value.translation_key == "plan_not_confirmed"


@pytest.mark.parametrize(("field", "change"), [("tmdb_id", 1), ("year", 5)])
async def test_changed_ids_abort(
    hass: HomeAssistant, stack: SimulatorStack, field: str, change: int
) -> None:
    """If Radarr's movie now carries another tmdb id or year, it is not touched."""
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    failed = async_capture_events(hass, f"{DOMAIN}_deletion_failed")
    movie = radarr_movies(stack)[0]
    plan = await request(hass, entry.entry_id, rating_keys=[movie.rating_key])
    # Re-matched in Radarr after the plan was made.
    setattr(movie, field, getattr(movie, field) + change)
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    await run(hass, entry)
    assert movie.file is not None
    assert movie.file.exists
    state = await plan_state(hass, entry, plan["plan_id"])
    assert state["items"][0]["state"] == "aborted"
    assert failed[-1].data["final"] is True
    assert not [r for r in stack.radarr.requests if r.method == "DELETE"]


async def test_files_kept_outside_radarr_are_not_deleted(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A movie removed from Radarr with its files kept is not deleted another way."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movie = radarr_movies(stack)[0]
    plan = await confirmed(hass, entry, [movie.rating_key])
    movie.radarr_id = None  # someone removed it from Radarr, keeping the file
    journal = entry.runtime_data.cleanup.journal
    journal.plans[plan["plan_id"]].items[0].purge_at = 0
    await run(hass, entry)
    assert movie.file is not None
    assert movie.file.exists
    assert not [r for r in stack.plex.requests if r.method == "DELETE"]
    state = await plan_state(hass, entry, plan["plan_id"])
    assert state["items"][0]["state"] == "aborted"
    assert "files remain" in state["items"][0]["error"]


async def test_resume_after_crash_mid_delete(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A deletion that happened but was not journalled is found done, not repeated."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movie = radarr_movies(stack)[0]
    plan = await confirmed(hass, entry, [movie.rating_key])
    cleanup = entry.runtime_data.cleanup
    item = cleanup.journal.plans[plan["plan_id"]].items[0]
    # The crash: the journal says the delete started, Radarr did it, then HA died.
    item.steps["delete"] = StepRecord(state="started", at=0.0, attempts=1)
    item.purge_at = 0
    cleanup.journal.changed()
    await cleanup.journal.flush()
    radarr = next(
        c.client
        for c in entry.runtime_data.services.values()
        if c.kind == ServiceKind.RADARR
    )
    await radarr.async_delete_movie(movie.radarr_id)
    await hass.config_entries.async_reload(entry.entry_id)
    # The purge resumes by itself as the entry comes back.
    await hass.async_block_till_done(wait_background_tasks=True)
    state = await plan_state(hass, entry, plan["plan_id"])
    assert state["state"] == "done"
    assert state["items"][0]["state"] == "deleted"
    deletes = [r for r in stack.radarr.requests if r.method == "DELETE"]
    assert len(deletes) == 1
    assert movie.file is not None
    assert not movie.file.exists


async def test_plex_deletion_not_allowed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """What no Radarr manages is refused when Plex does not allow media deletion."""
    stack.plex.allow_media_deletion = False
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    unmanaged = next(
        m for m in stack.world.movies.values() if m.radarr_id is None and m.file
    )
    plan = await request(
        hass, entry.entry_id, rating_keys=[unmanaged.rating_key], dry_run=True
    )
    assert plan["items"] == []
    assert "does not allow media deletion" in plan["skipped"][0]["reason"]


async def test_logbook_describes_deletions(hass: HomeAssistant) -> None:
    """Deletions, failures, confirmations and completed plans read well in the logbook."""
    described: dict[str, Any] = {}
    logbook.async_describe_events(
        hass, lambda domain, kind, fn: described.__setitem__(kind, fn)
    )
    base = {"plan_id": "p", "code": "123", "title": "Film", "size": 2_000_000_000}
    cases = {
        f"{DOMAIN}_item_deleted": base | {"manager": "radarr"},
        f"{DOMAIN}_deletion_failed": base | {"error": "HTTP 500"},
        f"{DOMAIN}_deletion_completed": base | {"deleted": 2, "reclaimed_size": 4e9},
        f"{DOMAIN}_deletion_confirmed": base | {"items": 2, "total_size": 4e9},
    }
    messages = {
        kind: described[kind](Event(kind, data))["message"]
        for kind, data in cases.items()
    }
    assert messages[f"{DOMAIN}_item_deleted"] == "deleted Film (2.0 GB) through radarr"
    assert "HTTP 500" in messages[f"{DOMAIN}_deletion_failed"]
    assert "4.0 GB freed" in messages[f"{DOMAIN}_deletion_completed"]
    assert "2 items" in messages[f"{DOMAIN}_deletion_confirmed"]


async def test_keep(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Kept items leave the plan, restored, labelled keep (an episode: its show)."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    movie = radarr_movies(stack)[0]
    show = shows(stack)[0]
    episode = episodes_of(stack, show)[0]
    plan = await confirmed(hass, entry, [movie.rating_key, episode.rating_key])
    await call(hass, "keep", config_entry_id=entry.entry_id, plan_id=plan["plan_id"])
    assert "keep" in movie.labels
    assert "keep" in show.labels
    assert movie.monitored
    assert episode.monitored
    assert leaving_soon(stack) == set()
    state = await plan_state(hass, entry, plan["plan_id"])
    assert {i["state"] for i in state["items"]} == {"kept"}
    assert state["state"] == "done"
    again = await request(hass, entry.entry_id, rule=NEVER_WATCHED, dry_run=True)
    assert movie.rating_key not in {i["rating_key"] for i in again["items"]}


async def test_gives_up_with_a_repair_issue(
    hass: HomeAssistant,
    stack: SimulatorStack,
    monkeypatch: pytest.MonkeyPatch,
    issue_registry: ir.IssueRegistry,
) -> None:
    """After the last attempt the item is failed, never deleted, and a repair says so."""
    monkeypatch.setattr(deletions, "RETRY_BACKOFF", 0.0)
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    movie = radarr_movies(stack)[0]
    plan = await request(hass, entry.entry_id, rating_keys=[movie.rating_key])
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    stack.radarr.set_fault(Fault.SERVER_ERROR)
    for _ in range(MAX_ATTEMPTS):
        await run(hass, entry)
    state = await plan_state(hass, entry, plan["plan_id"])
    assert state["items"][0]["state"] == "failed"
    assert state["state"] == "done"
    assert movie.file is not None
    assert movie.file.exists
    issue = issue_registry.async_get_issue(DOMAIN, f"deletion_failed_{plan['plan_id']}")
    assert issue is not None
    assert issue.translation_placeholders["title"] == movie.title
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["plans"][0]["plan_id"] == plan["plan_id"]
    assert [e["event"] for e in diagnostics["audit_log"][-2:]] == [
        "item_failed",
        "plan_done",
    ]


async def test_blast_radius_holds_large_purges(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A purge of most of a library waits for a confirmation naming its file count."""
    entry = await setup_entry(hass, stack, SERVICES, NOW | {"blast_radius_percent": 5})
    held = async_capture_events(hass, f"{DOMAIN}_deletion_held")
    movies = radarr_movies(stack)[:10]
    plan = await confirmed(hass, entry, [m.rating_key for m in movies])
    state = await plan_state(hass, entry, plan["plan_id"])
    assert state["state"] == "held"
    assert state["held_count"] == 10
    assert "% of the files of library" in state["hold_reason"]
    assert held[0].data["plan_id"] == plan["plan_id"]
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert f"{DOMAIN}_plan_{plan['plan_id']}" in notifications
    # Quarantined, not deleted.
    assert leaving_soon(stack) == {m.rating_key for m in movies}
    assert all(m.file is not None and m.file.exists for m in movies)
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]}
    for wrong in ({}, {"acknowledge_count": 9}):
        with pytest.raises(ServiceValidationError) as err:
            await call(hass, "confirm_deletion", **ids | wrong)
        assert err.value.translation_key == "plan_held"
    await call(hass, "confirm_deletion", **ids | {"acknowledge_count": 10})
    await run(hass, entry)
    assert not any(m.file is not None and m.file.exists for m in movies)
    assert (await plan_state(hass, entry, plan["plan_id"]))["state"] == "done"


async def test_heads_up_names_the_requester(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Days before a purge, each item is announced with who requested it."""
    entry = await setup_entry(hass, stack, SERVICES, LATER | {"heads_up_days": 3})
    upcoming = async_capture_events(hass, f"{DOMAIN}_deletion_upcoming")
    requested = {
        r.rating_key: r for r in stack.world.requests if r.media_type == "movie"
    }
    movie = next(m for m in radarr_movies(stack) if m.rating_key in requested)
    plain = next(m for m in radarr_movies(stack) if m.rating_key not in requested)
    await confirmed(hass, entry, [movie.rating_key, plain.rating_key])
    by_key = {e.data["rating_key"]: e.data for e in upcoming}
    user = next(
        u for u in stack.world.users if u.id == requested[movie.rating_key].requested_by
    )
    assert by_key[movie.rating_key]["requested_by"] in ([user.username], [user.email])
    assert by_key[plain.rating_key]["requested_by"] == []
    assert by_key[movie.rating_key]["purge_at"]
    await run(hass, entry)
    assert len(upcoming) == 2  # announced once


def entity_of(hass: HomeAssistant, entry: Any, platform: str, key: str) -> str:
    """Return the entity id of one of the entry's entities by its key."""
    registry = er.async_get(hass)
    entity_id = registry.async_get_entity_id(
        platform, DOMAIN, f"{entry.unique_id}_{key}"
    )
    assert entity_id is not None
    return entity_id


async def test_schedule_entities(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Sensors and the calendar show waiting plans, quarantine and the next deletion."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    pending = entity_of(hass, entry, "sensor", "pending_plans")
    leaving = entity_of(hass, entry, "sensor", "quarantined_items")
    next_purge = entity_of(hass, entry, "sensor", "next_purge")
    calendar = entity_of(hass, entry, "calendar", "scheduled_deletions")
    assert hass.states.get(pending).state == "0"
    assert hass.states.get(next_purge).state == "unknown"
    movies = radarr_movies(stack)[:2]
    plan = await request(
        hass, entry.entry_id, rating_keys=[m.rating_key for m in movies]
    )
    await hass.async_block_till_done()
    assert hass.states.get(pending).state == "1"
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    await run(hass, entry)
    assert hass.states.get(pending).state == "0"
    assert hass.states.get(leaving).state == "2"
    state = hass.states.get(next_purge)
    purge_at = dt_util.parse_datetime(state.state)
    assert purge_at is not None
    assert 23 * 3600 < (purge_at - dt_util.utcnow()).total_seconds() <= 24 * 3600
    assert state.attributes["items"] == 2
    assert state.attributes["code"] == plan["code"]
    assert hass.states.get(calendar).state == "off"
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": calendar, "duration": {"hours": 48}},
        blocking=True,
        return_response=True,
    )
    [event] = events[calendar]["events"]
    assert "2 items" in event["summary"]
    assert movies[0].title in event["description"]
    await call(hass, "restore", config_entry_id=entry.entry_id, plan_id=plan["plan_id"])
    await hass.async_block_till_done()
    assert hass.states.get(leaving).state == "0"
    assert hass.states.get(next_purge).state == "unknown"


async def test_disk_pressure(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Plan only when space is short, and then just enough to reach the target."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    free = sum(d.free for d in stack.world.disks)
    gb = 1_000_000_000
    gated = await request(
        hass,
        entry.entry_id,
        rule=NEVER_WATCHED,
        dry_run=True,
        free_below_gb=free / gb - 1,
    )
    assert gated["items"] == []
    assert "not below" in gated["gated"]
    everything = await request(hass, entry.entry_id, rule=NEVER_WATCHED, dry_run=True)
    sizes = [i["size"] for i in everything["items"]]
    target = free + sizes[0] + sizes[1] // 2  # needs the first two candidates
    plan = await request(
        hass,
        entry.entry_id,
        rule=NEVER_WATCHED,
        dry_run=True,
        free_below_gb=free / gb + 1,
        target_free_gb=target / gb,
    )
    assert [i["rating_key"] for i in plan["items"]] == [
        i["rating_key"] for i in everything["items"][:2]
    ]
    assert plan["free_before"] == free
    assert plan["projected_free"] == free + sizes[0] + sizes[1]
    assert plan["projected_free"] >= target


async def test_free_space_must_be_known(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Sonarr, Radarr or a capacity, pressure-gated plans are refused."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,), LATER)
    with pytest.raises(ServiceValidationError) as err:
        await request(hass, entry.entry_id, rule=NEVER_WATCHED, target_free_gb=100)
    assert err.value.translation_key == "free_space_unknown"


@pytest.mark.parametrize("whole_season", [True, False])
async def test_remove_empty_show(
    hass: HomeAssistant, stack: SimulatorStack, whole_season: bool
) -> None:
    """A season rule with remove_empty_show drops the series once its last files go."""
    entry = await setup_entry(
        hass, stack, SERVICES, NOW | {"blast_radius_percent": 100}
    )
    show = shows(stack)[0]
    seasons = [stack.world.seasons[k] for k in show.season_keys]
    chosen = seasons if whole_season else seasons[:1]
    rule = {
        "name": "Seasons",
        "level": "season",
        "added_more_than_days": 0,
        "remove_empty_show": True,
        "labels": ["nothing"],
    }
    context = await async_rule_context(entry.runtime_data)
    result = context.evaluate(Rule.from_dict(rule))
    keys = {s.rating_key for s in chosen}
    candidates = [c for c in result.candidates if c.rating_key in keys]
    assert len(candidates) == len(chosen)
    engine = entry.runtime_data.cleanup.engine
    plan = await engine.async_request(candidates, [], rule="Seasons", dry_run=False)
    await engine.async_confirm(plan.id, plan.total_gb, None)
    await run(hass, entry)
    assert all(
        not (e.file and e.file.exists)
        for s in chosen
        for e in (stack.world.episodes[k] for k in s.episode_keys)
    )
    assert (show.sonarr_id is None) is whole_season
    notes = {i.steps["remove_empty_show"].note for i in plan.items}
    if whole_season:
        assert "show removed" in notes
    else:
        assert all("the show stays" in note for note in notes)


async def test_rule_carries_its_free_space_gate(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A rule's own free_below_gb gates plans made from it."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    free = sum(d.free for d in stack.world.disks) / 1_000_000_000
    gated = NEVER_WATCHED | {"free_below_gb": free - 1}
    plan = await request(hass, entry.entry_id, rule=gated, dry_run=True)
    assert plan["items"] == []
    assert plan["gated"]
    open_gate = NEVER_WATCHED | {
        "free_below_gb": free + 1,
        "target_free_gb": free + 0.001,
    }
    plan = await request(hass, entry.entry_id, rule=open_gate, dry_run=True)
    assert len(plan["items"]) == 1


async def test_targets_count_confirmed_plans(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Space that confirmed plans will free counts toward a target; new picks are new."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    gb = 1_000_000_000
    free = sum(d.free for d in stack.world.disks)
    everything = await request(hass, entry.entry_id, rule=NEVER_WATCHED, dry_run=True)
    first, second, third = (i["size"] for i in everything["items"][:3])
    target = (free + first) / gb
    plan = await request(
        hass, entry.entry_id, rule=NEVER_WATCHED, target_free_gb=target
    )
    assert plan["item_count"] == 1
    await call(
        hass,
        "confirm_deletion",
        config_entry_id=entry.entry_id,
        plan_id=plan["plan_id"],
    )
    again = await request(
        hass, entry.entry_id, rule=NEVER_WATCHED, target_free_gb=target, dry_run=True
    )
    assert again["items"] == []
    more = await request(
        hass,
        entry.entry_id,
        rule=NEVER_WATCHED,
        target_free_gb=(free + first + second + third // 2) / gb,
        dry_run=True,
    )
    assert [i["rating_key"] for i in more["items"]] == [
        i["rating_key"] for i in everything["items"][1:3]
    ]
