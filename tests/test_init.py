"""Setup, unload, reauth and encrypted credentials of a SmartPlex entry."""

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.json import json_bytes
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import CONF_API_KEY_ENCRYPTED, DOMAIN
from custom_components.smartplex.credentials import (
    DATA_VAULT,
    STORAGE_KEY,
    CredentialError,
    CredentialVault,
    async_get_vault,
)
from simulators import Fault, SimulatorStack

from .common import make_entry, service_of, service_states, setup_entry

ALL_SERVICES = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)


def secrets_of(stack: SimulatorStack) -> list[str]:
    """Every credential the simulated household uses."""
    return [stack.plex.token] + [
        service_of(stack, kind).api_key for kind in ALL_SERVICES
    ]


async def test_setup_and_unload(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """An entry connects to Plex and every service, registers the server, and unloads."""
    entry = await setup_entry(hass, stack, ALL_SERVICES)
    assert entry.state is ConfigEntryState.LOADED
    data = entry.runtime_data
    assert data.server.friendly_name == stack.plex.friendly_name
    assert service_states(entry) == {str(kind): ("ok", None) for kind in ALL_SERVICES}
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, stack.plex.machine_identifier), entry.entry_id
    )
    assert device is not None
    assert device.sw_version == stack.plex.version
    assert device.configuration_url == f"{stack.plex.url}/web"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.parametrize(
    "fault", [Fault.DOWN, Fault.SERVER_ERROR, Fault.MALFORMED, Fault.RATE_LIMITED]
)
async def test_setup_retries_when_plex_is_unavailable(
    hass: HomeAssistant, stack: SimulatorStack, fault: Fault
) -> None:
    """Plex being unreachable or broken makes setup retry later."""
    await stack.plex.async_set_fault(fault)
    entry = await setup_entry(hass, stack)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_fails_on_a_different_server(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Another Plex server at the stored address is an error, not silently adopted."""
    entry = await make_entry(hass, stack)
    stack.plex.machine_identifier = "someone-elses-server"
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR


async def test_optional_service_down_keeps_entry(
    hass: HomeAssistant, stack: SimulatorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """A service that is down is recorded, and the entry still loads."""
    await stack.radarr.async_set_fault(Fault.DOWN)
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,))
    assert entry.state is ConfigEntryState.LOADED
    assert service_states(entry) == {"radarr": ("error", "cannot_connect")}
    assert stack.radarr.api_key not in caplog.text


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    """Return the reauth flows in progress for SmartPlex."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_plex_token_rejected_starts_reauth(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A revoked token starts reauth; a new token brings the entry back."""
    entry = await make_entry(hass, stack)
    stack.plex.token = "rotated-token-0123456789"
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    (flow,) = reauth_flows(hass)
    assert flow["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_TOKEN: "still-wrong"}
    )
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_TOKEN: stack.plex.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_refuses_another_server(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Reauth cannot swap the entry to a different server."""
    entry = await setup_entry(hass, stack)
    result = await entry.start_reauth_flow(hass)
    stack.plex.machine_identifier = "another-server"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: stack.plex.token}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_server"


async def test_service_key_rejected_starts_reauth(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A rejected service key asks for that key only, then the service works again."""
    entry = await make_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.RADARR))
    stack.sonarr.api_key = "f" * 32
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    (flow,) = reauth_flows(hass)
    assert flow["step_id"] == "reauth_service"
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: "0" * 32}
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: stack.sonarr.api_key}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert service_states(entry) == {"sonarr": ("ok", None), "radarr": ("ok", None)}


async def test_lost_key_raises_repair_and_reauth(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """Losing the key file gives a repair issue and one reauth for every secret."""
    entry = await make_entry(hass, stack, (ServiceKind.RADARR, ServiceKind.TAUTULLI))
    # The key file is gone (e.g. a partial restore): a new key will be made.
    hass.data.pop(DATA_VAULT)
    hass_storage.pop(STORAGE_KEY, None)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    issue_id = f"credentials_unreadable_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    (flow,) = reauth_flows(hass)
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_TOKEN: stack.plex.token}
    )
    assert result["step_id"] == "reauth_service"
    asked = {result["description_placeholders"]["service"]}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: stack.radarr.api_key}
    )
    assert result["step_id"] == "reauth_service"
    asked.add(result["description_placeholders"]["service"])
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: stack.tautulli.api_key}
    )
    assert asked == {"Radarr", "Tautulli"}
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert set(service_states(entry).values()) == {("ok", None)}
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_lost_key_for_a_service_only(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A service key that no longer decrypts keeps Plex running and asks for that key."""
    entry = await make_entry(hass, stack, (ServiceKind.OVERSEERR,))
    (subentry,) = entry.subentries.values()
    other = CredentialVault(b"\x01" * 32)
    hass.config_entries.async_update_subentry(
        entry,
        subentry,
        data={
            **subentry.data,
            CONF_API_KEY_ENCRYPTED: other.encrypt("x", "overseerr_api_key"),
        },
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert service_states(entry) == {
        "overseerr": ("auth_failed", "credentials_unreadable")
    }
    (flow,) = reauth_flows(hass)
    assert flow["step_id"] == "reauth_service"


async def test_remove_entry_clears_issue(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """Deleting an entry takes its repair issue with it."""
    entry = await make_entry(hass, stack)
    hass.data.pop(DATA_VAULT)
    hass_storage.pop(STORAGE_KEY, None)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(entry.entry_id)
    assert not ir.async_get(hass).issues


async def test_vault_round_trip_and_tamper(hass: HomeAssistant) -> None:
    """Ciphertexts decrypt only with their key and their purpose, untampered."""
    vault = await async_get_vault(hass)
    assert await async_get_vault(hass) is vault
    stored = vault.encrypt("s3cret", "plex_token")
    assert "s3cret" not in stored
    assert vault.encrypt("s3cret", "plex_token") != stored
    assert vault.decrypt(stored, "plex_token") == "s3cret"
    for bad, purpose in [
        (stored, "sonarr_api_key"),
        (stored[:-4] + "AAAA", "plex_token"),
        ("v2" + stored[2:], "plex_token"),
        ("plaintext", "plex_token"),
        (CredentialVault(b"\x02" * 32).encrypt("s3cret", "plex_token"), "plex_token"),
    ]:
        with pytest.raises(CredentialError):
            vault.decrypt(bad, purpose)


@pytest.mark.parametrize("stored", [{"key": "***"}, {"key": "AAAA"}, {}])
async def test_unusable_key_file_is_replaced(
    hass: HomeAssistant, hass_storage: dict[str, Any], stored: dict[str, Any]
) -> None:
    """A damaged key file gives a fresh key instead of a crash."""
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": stored,
    }
    vault = await async_get_vault(hass)
    assert len(vault.key) == 32


async def test_no_secret_at_rest(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """After setup through the UI flows, no secret is in any file Home Assistant writes."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: stack.plex.url, CONF_TOKEN: stack.plex.token, CONF_VERIFY_SSL: True},
    )
    entry = result["result"]
    for kind in ALL_SERVICES:
        sim = service_of(stack, kind)
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, str(kind)), context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {CONF_URL: sim.url, CONF_API_KEY: sim.api_key, CONF_VERIFY_SSL: True},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(entry.runtime_data.services) == len(ALL_SERVICES)
    await hass.async_stop(force=True)
    written = {key: json_bytes(value) for key, value in hass_storage.items()}
    assert "core.config_entries" in written
    assert STORAGE_KEY in written
    for secret in secrets_of(stack):
        for key, raw in written.items():
            assert secret.encode() not in raw, key
