"""One step of a deletion fails (one method on one path), then the plan finishes once.

A 500 leaves the call undone; a lost answer comes after the service did it (the
connection drops before the answer, as when the network fails mid-purge). Either way
the item is never reported deleted while its files remain, the audit log names the
failed step, and once the fault clears the item is deleted exactly once.
"""

from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.smartplex import deletions
from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack
from tests.common import service_of, setup_entry

from .cell import call
from .deletion import Item, pick

SERVICES = (ServiceKind.RADARR, ServiceKind.SONARR, ServiceKind.OVERSEERR)
NOW = {"grace_hours": 0, "acknowledge_above_gb": 100_000}
LATER = NOW | {"grace_hours": 24}
# (simulator, method, path prefix, item, step, whether the call deletes something)
STEPS = [
    pytest.param(
        "plex", "PUT", "/library/collections", "movie", "collect", False, id="collect"
    ),
    pytest.param(
        "radarr", "PUT", "/api/v3/movie/", "movie", "unmonitor", False, id="unmonitor"
    ),
    pytest.param(
        "radarr", "DELETE", "/api/v3/movie/", "movie", "delete", True, id="radarr"
    ),
    pytest.param(
        "sonarr",
        "DELETE",
        "/api/v3/episodefile/",
        "episode",
        "delete",
        True,
        id="episodefile",
    ),
    pytest.param(
        "sonarr",
        "PUT",
        "/api/v3/episode/monitor",
        "episode",
        "unmonitor",
        False,
        id="episode-monitor",
    ),
    pytest.param(
        "plex", "DELETE", "/library/metadata/", "unmanaged", "delete", True, id="plex"
    ),
    pytest.param(
        "overseerr",
        "DELETE",
        "/api/v1/media/",
        "movie",
        "reset_request",
        True,
        id="overseerr",
    ),
    pytest.param(
        "plex",
        "DELETE",
        "/library/collections/",
        "movie",
        "uncollect",
        False,
        id="uncollect",
    ),
]


@pytest.fixture(autouse=True)
def runs_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries are due at once and run when the test says (no timer runs them)."""
    monkeypatch.setattr(deletions, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(deletions.SmartPlexCleanup, "async_schedule", lambda _: None)


def chosen(stack: SimulatorStack, name: str) -> Item:
    """The item of the plan: a Radarr movie, one no *arr manages, or an episode."""
    movie, unmanaged, episode = pick(stack.world, min(stack.world.movies))
    return {"movie": movie, "unmanaged": unmanaged, "episode": episode}[name]


def sent(stack: SimulatorStack, sim: str, method: str, prefix: str) -> int:
    """How many requests of this method below this prefix a simulator received."""
    return sum(
        r.method == method and r.path.startswith(prefix)
        for r in service_of(stack, ServiceKind(sim)).requests
    )


async def plan_of(hass: HomeAssistant, entry_id: str, plan_id: str) -> dict[str, Any]:
    """Return the plan as get_plans describes it."""
    plans = await call(
        hass, "get_plans", **{ATTR_CONFIG_ENTRY_ID: entry_id}, plan_id=plan_id
    )
    found: dict[str, Any] = plans["plans"][0]
    return found


async def audit_of(
    hass: HomeAssistant, entry_id: str, plan_id: str
) -> list[dict[str, Any]]:
    """Return the plan's audit log, oldest first."""
    log = await call(
        hass, "get_audit_log", **{ATTR_CONFIG_ENTRY_ID: entry_id}, plan_id=plan_id
    )
    return list(reversed(log["entries"]))


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.LOST])
@pytest.mark.parametrize(
    ("sim", "method", "prefix", "name", "step", "destructive"), STEPS
)
async def test_one_step_fails(
    hass: HomeAssistant,
    stack: SimulatorStack,
    fault: Fault,
    sim: str,
    method: str,
    prefix: str,
    name: str,
    step: str,
    destructive: bool,
) -> None:
    """The step fails: the item waits, unreported; cleared, it is deleted once."""
    entry = await setup_entry(hass, stack, SERVICES, NOW)
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
    item = chosen(stack, name)
    failed = async_capture_events(hass, f"{DOMAIN}_deletion_failed")
    deleted = async_capture_events(hass, f"{DOMAIN}_item_deleted")
    plan = await call(hass, "request_deletion", **ids, rating_keys=[item.key])
    assert [i["manager"] for i in plan["items"]] == [item.manager]
    service_of(stack, ServiceKind(sim)).set_fault(fault, prefix=prefix, method=method)
    await call(hass, "confirm_deletion", **ids, plan_id=plan["plan_id"])
    await hass.async_block_till_done(wait_background_tasks=True)

    state = await plan_of(hass, entry.entry_id, plan["plan_id"])
    (shown,) = state["items"]
    assert state["state"] == "confirmed"
    assert shown["state"] in ("planned", "quarantined")
    assert shown["error"]
    assert deleted == []
    assert [e.data["final"] for e in failed] == [False]
    # Before the deletion the files stay; it went through unless it was refused.
    refused = step == "delete" and fault is Fault.SERVER_ERROR
    assert item.exists() == (step in ("collect", "unmonitor") or refused)
    audit = await audit_of(hass, entry.entry_id, plan["plan_id"])
    assert [e["step"] for e in audit if e["event"] == "step_failed"] == [step]

    tried = sent(stack, sim, method, prefix)
    # A 500 is an answer; a dropped reused connection makes aiohttp send the
    # (idempotent) PUT or DELETE once more by itself.
    assert tried == 1 if fault is Fault.SERVER_ERROR else tried >= 1
    service_of(stack, ServiceKind(sim)).clear_fault()
    await entry.runtime_data.cleanup.async_run()
    await hass.async_block_till_done(wait_background_tasks=True)
    state = await plan_of(hass, entry.entry_id, plan["plan_id"])
    assert state["state"] == "done"
    assert state["items"][0]["state"] == "deleted"
    assert not item.exists()
    assert [e.data["rating_key"] for e in deleted] == [item.key]
    audit = await audit_of(hass, entry.entry_id, plan["plan_id"])
    assert [e["key"] for e in audit if e["event"] == "item_deleted"] == [item.key]
    # A refused call is sent again; a deletion the service did is not.
    again = 0 if destructive and fault is Fault.LOST else 1
    assert sent(stack, sim, method, prefix) - tried == again


@pytest.mark.parametrize(
    ("sim", "prefix", "name"),
    [
        ("radarr", "/api/v3/movie/", "movie"),
        ("sonarr", "/api/v3/episode/monitor", "episode"),
    ],
)
async def test_restore_after_a_lost_unmonitor_answer(
    hass: HomeAssistant, stack: SimulatorStack, sim: str, prefix: str, name: str
) -> None:
    """Unmonitoring happened but its answer was lost: restore monitors it again."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
    item = chosen(stack, name)
    world = stack.world
    target = world.movies.get(item.key) or world.episodes[item.key]
    plan = await call(hass, "request_deletion", **ids, rating_keys=[item.key])
    service_of(stack, ServiceKind(sim)).set_fault(
        Fault.LOST, prefix=prefix, method="PUT"
    )
    await call(hass, "confirm_deletion", **ids, plan_id=plan["plan_id"])
    await hass.async_block_till_done(wait_background_tasks=True)
    assert not target.monitored  # done, though SmartPlex saw no answer
    service_of(stack, ServiceKind(sim)).clear_fault()
    await entry.runtime_data.cleanup.async_run()
    state = await plan_of(hass, entry.entry_id, plan["plan_id"])
    assert state["items"][0]["state"] == "quarantined"
    restored = await call(hass, "restore", **ids, plan_id=plan["plan_id"])
    assert restored["items"][0]["state"] == "restored"
    assert target.monitored
