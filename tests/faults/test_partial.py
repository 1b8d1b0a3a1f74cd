"""Faults below one path: a service that answers its health check but fails one call."""

import logging
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack
from tests.common import make_entry, service_states, setup_entry

from .cell import reauth_flows
from .test_matrix import RULE


async def call(hass: HomeAssistant, action: str, **data: Any) -> Any:
    """Call a SmartPlex action for its response."""
    return await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=True
    )


@pytest.mark.parametrize(
    ("fault", "state", "key"),
    [
        (Fault.SERVER_ERROR, ConfigEntryState.SETUP_RETRY, "library_sync_failed"),
        (Fault.NULL_FIELDS, ConfigEntryState.SETUP_RETRY, "library_sync_failed"),
        (Fault.RESET, ConfigEntryState.SETUP_RETRY, "library_sync_failed"),
        (Fault.UNAUTHORIZED, ConfigEntryState.SETUP_ERROR, "plex_auth_failed"),
    ],
)
async def test_library_fails_at_setup(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    state: ConfigEntryState,
    key: str,
) -> None:
    """Plex connects but its library cannot be read: setup waits, translated."""
    entry = await make_entry(hass, stack)
    await stack.plex.async_set_fault(fault, prefix="/library")
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.state, entry.error_reason_translation_key) == (state, key)
    assert bool(reauth_flows(hass, entry)) == (fault is Fault.UNAUTHORIZED)
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG and r.exc_info]
    stack.plex.clear_fault()


@pytest.mark.parametrize(
    ("fault", "playing"),
    [(Fault.NULL_FIELDS, True), (Fault.MISSING_FIELDS, False)],
)
async def test_unreadable_sessions_fail_closed(
    hass: HomeAssistant, stack: SimulatorStack, fault: Fault, playing: bool
) -> None:
    """A sessions answer that names no item, or does not count, is not "nothing"."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    if playing:
        stack.plex.now_playing.append((min(stack.world.movies), 1))
    stack.plex.set_fault(fault, prefix="/status/sessions")
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "find_candidates",
            **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": RULE},
        )
    assert err.value.translation_key == "now_playing_unknown"
    assert service_states(entry) == {"tautulli": ("ok", None)}
    stack.plex.clear_fault()


async def test_disk_space_reset_leaves_health_alone(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Sonarr answers its checks but drops the disk call: free space is unavailable."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR,))
    await stack.sonarr.async_set_fault(Fault.RESET, prefix="/api/v3/diskspace")
    storage = entry.runtime_data.storage
    await storage.async_refresh()
    await entry.runtime_data.health.async_refresh()
    assert isinstance(storage.last_exception, HomeAssistantError)
    assert storage.last_exception.translation_key == "storage_failed"
    state = hass.states.get("sensor.smartplex_test_server_free_space")
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    assert service_states(entry) == {"sonarr": ("ok", None)}
    await stack.sonarr.async_clear_fault()


async def test_request_list_fails_but_history_answers(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Overseerr's list fails: its sensors go unavailable, get_requests still answers."""
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    known = await call(hass, "get_requests", **{ATTR_CONFIG_ENTRY_ID: entry.entry_id})
    stack.overseerr.set_fault(Fault.SERVER_ERROR, prefix="/api/v1/request")
    requests = entry.runtime_data.requests
    await requests.async_refresh()
    assert isinstance(requests.last_exception, HomeAssistantError)
    assert requests.last_exception.translation_key == "requests_failed"
    state = hass.states.get("sensor.overseerr_pending_requests")
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    again = await call(hass, "get_requests", **{ATTR_CONFIG_ENTRY_ID: entry.entry_id})
    assert again == known
    assert known["requests"]
    stack.overseerr.clear_fault()


async def test_webhook_settings_fail_at_setup(
    hass: HomeAssistant, stack: SimulatorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Overseerr's webhook settings cannot be read: setup loads and says so once."""
    await hass.config.async_update(internal_url="http://127.0.0.1:8123")
    stack.overseerr.set_fault(
        Fault.SERVER_ERROR, prefix="/api/v1/settings/notifications"
    )
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    assert entry.state is ConfigEntryState.LOADED
    expected = (
        "Could not configure Overseerr's webhook: Overseerr: "
        "GET /api/v1/settings/notifications/webhook: HTTP 500"
    )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings if "webhook" in r.getMessage()] == [
        expected
    ]
    assert not [r for r in caplog.records if r.exc_info]
    stack.overseerr.clear_fault()
