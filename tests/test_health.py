"""Service health: repairs after 3 failures, disable after 10, re-enable, reauth."""

from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack

from .common import make_entry, open_settings, service_of, setup_entry

ALL_SERVICES = (
    ServiceKind.PLEX,
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
OUTAGES = {
    Fault.DOWN: "cannot_connect",
    Fault.SERVER_ERROR: "bad_response",
    Fault.RATE_LIMITED: "rate_limited",
    Fault.TRUNCATED: "cannot_connect",
    Fault.MALFORMED: "wrong_service",
    Fault.NOT_FOUND: "wrong_service",
}


def key_of(entry: MockConfigEntry, kind: ServiceKind) -> str:
    """Return the health key of a service: "plex" or its subentry id."""
    if kind is ServiceKind.PLEX:
        return "plex"
    return next(
        key for key, conn in entry.runtime_data.services.items() if conn.kind == kind
    )


def state_of(hass: HomeAssistant, entity: str) -> str:
    """Return an entity's state."""
    found = hass.states.get(entity)
    assert found is not None, entity
    return found.state


async def check(entry: MockConfigEntry, times: int = 1) -> None:
    """Run the health checks now, a number of times."""
    for _ in range(times):
        await entry.runtime_data.health.async_refresh()


def issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry, key: str) -> Any:
    """Return a SmartPlex repair issue, or None."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}_{key}")


def optional(kind: ServiceKind) -> tuple[ServiceKind, ...]:
    """Return the optional services to configure so that `kind` is checked."""
    return () if kind is ServiceKind.PLEX else (kind,)


@pytest.mark.parametrize("kind", ALL_SERVICES)
async def test_timeout_is_an_outage(
    hass: HomeAssistant, stack: SimulatorStack, kind: ServiceKind
) -> None:
    """A service slower than the check's patience fails with reason timeout."""
    entry = await setup_entry(hass, stack, optional(kind))
    sim = service_of(stack, kind)
    sim.delay = 1
    sim.set_fault(Fault.SLOW)
    with patch("custom_components.smartplex.coordinator.CHECK_TIMEOUT", 0.05):
        await check(entry)
    health = entry.runtime_data.health.health[key_of(entry, kind)]
    assert (str(health.status), health.reason) == ("error", "timeout")
    sim.clear_fault()


@pytest.mark.parametrize("kind", ALL_SERVICES)
@pytest.mark.parametrize("fault", [Fault.UNAUTHORIZED, Fault.FORBIDDEN])
async def test_each_rejection_starts_reauth(
    hass: HomeAssistant, stack: SimulatorStack, kind: ServiceKind, fault: Fault
) -> None:
    """401/403 from any service is auth_failed and starts reauth, never an outage."""
    entry = await setup_entry(hass, stack, optional(kind))
    sim = service_of(stack, kind)
    if kind is ServiceKind.PLEX:
        # Plex answers /identity without a token; only the token's calls are refused.
        sim.token = "revoked-token-000000"
    else:
        sim.set_fault(fault)
    await check(entry, 3)
    await hass.async_block_till_done()
    health = entry.runtime_data.health.health[key_of(entry, kind)]
    assert (str(health.status), health.consecutive_failures) == ("auth_failed", 0)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


@pytest.mark.parametrize("kind", ALL_SERVICES)
@pytest.mark.parametrize(("fault", "reason"), list(OUTAGES.items()))
async def test_each_outage_is_counted(
    hass: HomeAssistant,
    stack: SimulatorStack,
    kind: ServiceKind,
    fault: Fault,
    reason: str,
) -> None:
    """Every kind of failure of every service counts, with its reason, and recovers."""
    entry = await setup_entry(hass, stack, optional(kind))
    key = key_of(entry, kind)
    sim = service_of(stack, kind)
    await sim.async_set_fault(fault)
    await check(entry, 2)
    if (kind, fault) == (ServiceKind.TAUTULLI, Fault.NOT_FOUND):
        # Tautulli's own 404 (API disabled) comes in its envelope: it is Tautulli.
        reason = "bad_response"
    if (kind, fault) == (ServiceKind.PLEX, Fault.MALFORMED):
        reason = "wrong_service"
    health = entry.runtime_data.health.health[key]
    assert (str(health.status), health.reason, health.consecutive_failures) == (
        "error",
        reason,
        2,
    )
    await sim.async_clear_fault()
    await check(entry)
    assert (str(health.status), health.consecutive_failures) == ("ok", 0)


async def test_repair_at_three_and_recovery(
    hass: HomeAssistant, stack: SimulatorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """The third failure in a row raises an issue and an event; recovery clears it."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,))
    key = key_of(entry, ServiceKind.RADARR)
    unhealthy = async_capture_events(hass, "smartplex_service_unhealthy")
    recovered = async_capture_events(hass, "smartplex_service_recovered")
    await stack.radarr.async_set_fault(Fault.DOWN)
    await check(entry, 2)
    assert issue(hass, "service_unhealthy", entry, key) is None
    assert state_of(hass, "binary_sensor.radarr_connectivity") == "off"
    assert state_of(hass, "sensor.radarr_status") == "error"
    await check(entry)
    found = issue(hass, "service_unhealthy", entry, key)
    assert found is not None
    assert found.translation_placeholders == {
        "name": "Radarr",
        "reason": "cannot_connect",
        "failures": "3",
    }
    assert [event.data for event in unhealthy] == [
        {
            "config_entry_id": entry.entry_id,
            "service": "radarr",
            "name": "Radarr",
            "reason": "cannot_connect",
            "consecutive_failures": 3,
        }
    ]
    await check(entry, 2)
    assert len(unhealthy) == 1
    assert state_of(hass, "sensor.radarr_failures_in_a_row") == "5"
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert sum("Radarr is error" in r.getMessage() for r in ours) == 1
    await stack.radarr.async_clear_fault()
    await check(entry)
    assert issue(hass, "service_unhealthy", entry, key) is None
    assert len(recovered) == 1
    assert state_of(hass, "binary_sensor.radarr_connectivity") == "on"
    assert stack.radarr.api_key not in caplog.text


async def test_disable_at_ten_and_re_enable(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Ten failures disable a service: no calls, entities unavailable, a fix flow."""
    await async_setup_component(hass, "repairs", {})
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR,))
    key = key_of(entry, ServiceKind.SONARR)
    disabled = async_capture_events(hass, "smartplex_service_disabled")
    await stack.sonarr.async_set_fault(Fault.SERVER_ERROR)
    await check(entry, 9)
    assert not disabled
    await check(entry)
    assert len(disabled) == 1
    assert issue(hass, "service_unhealthy", entry, key) is None
    fixable = issue(hass, "service_disabled", entry, key)
    assert fixable is not None
    assert fixable.is_fixable
    assert state_of(hass, "sensor.sonarr_status") == "disabled"
    assert state_of(hass, "binary_sensor.sonarr_connectivity") == "unavailable"
    assert state_of(hass, "sensor.smartplex_test_server_free_space") == "unavailable"

    calls = len(stack.sonarr.requests)
    await check(entry, 3)
    await entry.runtime_data.storage.async_refresh()
    assert len(stack.sonarr.requests) == calls

    flow_id = await start_fix_flow(hass, fixable.issue_id)
    result = await configure_fix_flow(hass, flow_id)
    assert result["errors"] == {"base": "still_failing"}
    await stack.sonarr.async_clear_fault()
    result = await configure_fix_flow(hass, flow_id)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert issue(hass, "service_disabled", entry, key) is None
    assert state_of(hass, "sensor.sonarr_status") == "ok"
    assert state_of(hass, "binary_sensor.sonarr_connectivity") == "on"


async def start_fix_flow(hass: HomeAssistant, issue_id: str) -> str:
    """Open the repair flow of an issue, as the UI does."""
    flow = await hass.data["repairs"]["flow_manager"].async_init(
        DOMAIN, data={"issue_id": issue_id}
    )
    assert flow["step_id"] == "confirm"
    return str(flow["flow_id"])


async def configure_fix_flow(hass: HomeAssistant, flow_id: str) -> Any:
    """Submit the repair flow's confirmation."""
    return await hass.data["repairs"]["flow_manager"].async_configure(flow_id, {})


async def test_disabled_survives_restart(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A disabled service stays disabled (and uncalled) after a reload."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    key = key_of(entry, ServiceKind.TAUTULLI)
    await stack.tautulli.async_set_fault(Fault.DOWN)
    await check(entry, 10)
    await stack.tautulli.async_clear_fault()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    stack.tautulli.requests.clear()
    await check(entry)
    health = entry.runtime_data.health.health[key]
    assert health.disabled
    assert health.consecutive_failures == 10
    assert not stack.tautulli.requests
    state = hass.states.get("sensor.smartplex_test_server_never_watched_titles")
    assert state.attributes["fallback_reason"] == "disabled"


async def test_rejected_key_starts_reauth_not_an_outage(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A 401/403 is auth_failed: reauth for that key, and no failure is counted."""
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    key = key_of(entry, ServiceKind.OVERSEERR)
    stack.overseerr.set_fault(Fault.UNAUTHORIZED)
    await check(entry, 4)
    await hass.async_block_till_done()
    health = entry.runtime_data.health.health[key]
    assert (str(health.status), health.consecutive_failures) == ("auth_failed", 0)
    assert issue(hass, "service_unhealthy", entry, key) is None
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["reauth_service"]


async def test_plex_failing_is_tracked_too(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Plex has the same health entities, on the server's device."""
    entry = await setup_entry(hass, stack)
    await stack.plex.async_set_fault(Fault.SERVER_ERROR)
    await check(entry, 3)
    assert issue(hass, "service_unhealthy", entry, "plex") is not None
    assert state_of(hass, "binary_sensor.smartplex_test_server_connectivity") == "off"
    await stack.plex.async_clear_fault()
    await check(entry)
    assert state_of(hass, "sensor.smartplex_test_server_status") == "ok"
    latency = hass.states.get("sensor.smartplex_test_server_latency")
    assert latency.attributes["unit_of_measurement"] == "ms"


async def test_degraded_from_the_services_own_reports(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Sonarr's health warnings and Tautulli losing Plex make a service degraded."""
    stack.sonarr.health.append(
        {
            "source": "IndexerStatusCheck",
            "type": "warning",
            "message": "Indexers unavailable",
            "wikiUrl": "https://wiki.servarr.com/sonarr/system#indexers",
        }
    )
    stack.tautulli.plex_connected = False
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.TAUTULLI))
    assert state_of(hass, "sensor.sonarr_status") == "degraded"
    assert hass.states.get("sensor.sonarr_status").attributes["reason"] == (
        "warning: Indexers unavailable"
    )
    assert state_of(hass, "binary_sensor.sonarr_connectivity") == "on"
    assert state_of(hass, "sensor.tautulli_status") == "degraded"
    assert entry.runtime_data.health.health[
        key_of(entry, ServiceKind.TAUTULLI)
    ].warnings == ("Tautulli is not connected to Plex",)


async def test_unreadable_key_is_auth_failed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A key that cannot be decrypted is never sent; the service shows auth_failed."""
    entry = await make_entry(hass, stack, (ServiceKind.RADARR,))
    (subentry,) = entry.subentries.values()
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "api_key_encrypted": "v1:0:AAAA"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.radarr_status") == "auth_failed"
    assert not stack.radarr.requests


async def test_check_interval_option(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Checks run every 5 minutes by default, or as often as the options say."""
    entry = await setup_entry(hass, stack)
    assert entry.runtime_data.health.update_interval == timedelta(minutes=5)
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"full_sync_time": "03:30:00", "health_interval": 2, "not_watched_days": 90},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.health.update_interval == timedelta(minutes=2)


async def test_plex_is_enabled_again_when_setup_reaches_it(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A Plex disabled before a restart is enabled by a setup that just reached it."""
    entry = await setup_entry(hass, stack)
    await stack.plex.async_set_fault(Fault.SERVER_ERROR)
    await check(entry, 10)
    assert entry.runtime_data.health.is_disabled("plex")
    await stack.plex.async_clear_fault()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert not entry.runtime_data.health.is_disabled("plex")
    assert issue(hass, "service_disabled", entry, "plex") is None
    assert state_of(hass, "sensor.smartplex_test_server_media_size") != "unavailable"


async def test_rejected_key_asks_again_after_a_restart(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A reauth closed unanswered is asked again after a reload, if the key still fails."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,))
    stack.radarr.set_fault(Fault.UNAUTHORIZED)
    await check(entry)
    await hass.async_block_till_done()
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["step_id"] for flow in flows] == ["reauth_service"]


async def test_storage_comes_back_with_its_service(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Free space recovers at the next health check, not a day later."""
    await stack.sonarr.async_set_fault(Fault.DOWN)
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR,))
    assert state_of(hass, "sensor.smartplex_test_server_free_space") == "unavailable"
    await stack.sonarr.async_clear_fault()
    await check(entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, "sensor.smartplex_test_server_free_space") != "unavailable"


async def test_removing_things_leaves_nothing_behind(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """A removed service's issues go at the next setup; a removed entry takes all."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.RADARR))
    sonarr = key_of(entry, ServiceKind.SONARR)
    radarr = key_of(entry, ServiceKind.RADARR)
    await stack.sonarr.async_set_fault(Fault.SERVER_ERROR)
    await stack.radarr.async_set_fault(Fault.SERVER_ERROR)
    await check(entry, 3)
    assert issue(hass, "service_unhealthy", entry, sonarr) is not None
    hass.config_entries.async_remove_subentry(entry, sonarr)
    await hass.async_block_till_done()
    assert issue(hass, "service_unhealthy", entry, sonarr) is None
    assert issue(hass, "service_unhealthy", entry, radarr) is not None
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert not [i for (d, i) in ir.async_get(hass).issues if d == DOMAIN]
    assert not [key for key in hass_storage if entry.entry_id in key]
