"""No secret in logs, diagnostics, events, stored files or URLs we build."""

import base64
import logging
from typing import Any
from urllib.parse import quote

from homeassistant.const import ATTR_CONFIG_ENTRY_ID, CONF_API_KEY, CONF_TOKEN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.json import json_bytes
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from custom_components.smartplex.diagnostics import async_get_config_entry_diagnostics
from simulators import Fault, SimulatorStack

from .common import service_of, setup_entry

ALL = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)


def forms(secret: str) -> list[str]:
    """A secret as it could leak: plain, URL-encoded, base64."""
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()]


async def test_no_secret_leaks(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    """Setup, syncs, failures, reauth and diagnostics, with debug logging on."""
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []

    @callback
    def _record(event: Event) -> None:
        if event.event_type.startswith(DOMAIN):
            events.append(event)

    hass.bus.async_listen("*", _record)
    entry = await setup_entry(hass, stack, ALL)
    data = entry.runtime_data
    secrets = {
        "plex": stack.plex.token,
        **{str(kind): service_of(stack, kind).api_key for kind in ALL},
        "webhook": data.webhook_secret,
    }

    await hass.services.async_call(
        DOMAIN,
        "sync",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "full": True},
        blocking=True,
    )
    for kind in ALL:
        await service_of(stack, kind).async_set_fault(Fault.SERVER_ERROR)
    for _ in range(3):
        await data.health.async_refresh()
    await data.analytics.async_refresh()
    for kind in ALL:
        await service_of(stack, kind).async_clear_fault()
    await data.health.async_refresh()
    stack.radarr.set_fault(Fault.UNAUTHORIZED)
    await data.health.async_refresh()
    await hass.async_block_till_done()
    stack.radarr.clear_fault()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    (flow,) = flows
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: stack.radarr.api_key}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert CONF_TOKEN not in str(result)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    await hass.async_stop(force=True)

    places = {
        "log": caplog.text,
        "diagnostics": str(diagnostics),
        "events": str([event.data for event in events]),
        "storage": str([json_bytes(v) for v in hass_storage.values()]),
    }
    for name, secret in secrets.items():
        for form in forms(secret):
            for place, text in places.items():
                assert form not in text, f"{name} secret in {place}"
    # The one place a key travels in a URL is Tautulli's own query string.
    for sim in stack.simulators:
        for request in sim.requests:
            url = f"{request.path}?{request.query}"
            for name, secret in secrets.items():
                if sim is stack.tautulli and name == "tautulli":
                    continue
                assert secret not in url, f"{name} secret in a URL sent to {sim.name}"
    assert events, "the run fired no SmartPlex event to check"
