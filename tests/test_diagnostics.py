"""Diagnostics: redacted configuration and the state of every service."""

from homeassistant.core import HomeAssistant

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.diagnostics import async_get_config_entry_diagnostics
from simulators import Fault, SimulatorStack

from .common import setup_entry


async def test_diagnostics(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Diagnostics say which services are configured and how they are, without secrets."""
    await stack.sonarr.async_set_fault(Fault.DOWN)
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.OVERSEERR))
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    assert diagnostics["tautulli_integration_exists"] is False
    assert diagnostics["services_configured"] == {
        "sonarr": True,
        "radarr": False,
        "tautulli": False,
        "overseerr": True,
    }
    statuses = {
        h["service"]: (h["status"], h["reason"], h["version"])
        for h in diagnostics["health"].values()
    }
    assert statuses == {
        "plex": ("ok", None, stack.plex.version),
        "sonarr": ("error", "cannot_connect", None),
        "overseerr": ("ok", None, stack.overseerr.version),
    }
    assert {
        s["service"]: s["credentials_readable"] for s in diagnostics["services"]
    } == {
        "sonarr": True,
        "overseerr": True,
    }
    sonarr = next(h for h in diagnostics["health"].values() if h["service"] == "sonarr")
    assert [entry[1:] for entry in sonarr["history"]] == [("error", "cannot_connect")]
    assert diagnostics["plex"]["machine_identifier"] == stack.plex.machine_identifier
    assert diagnostics["entry"]["data"]["token_encrypted"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["webhook_id"] == "**REDACTED**"
    assert entry.data["webhook_id"] not in str(diagnostics)
    text = str(diagnostics)
    for secret in (stack.plex.token, stack.sonarr.api_key, stack.overseerr.api_key):
        assert secret not in text
    for subentry in entry.subentries.values():
        assert subentry.data["api_key_encrypted"] not in text
