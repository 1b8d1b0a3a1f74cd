"""Helpers shared by SmartPlex tests."""

from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.connections import PURPOSE_PLEX_TOKEN, api_key_purpose
from custom_components.smartplex.const import (
    CONF_API_KEY_ENCRYPTED,
    CONF_TOKEN_ENCRYPTED,
    DOMAIN,
)
from custom_components.smartplex.credentials import async_get_vault
from simulators import SimulatorStack


def service_of(stack: SimulatorStack, kind: ServiceKind) -> Any:
    """Return the simulator that plays an optional service."""
    return getattr(stack, str(kind))


async def make_entry(
    hass: HomeAssistant,
    stack: SimulatorStack,
    services: tuple[ServiceKind, ...] = (),
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add an entry for the simulated Plex (and services), secrets encrypted as setup does."""
    vault = await async_get_vault(hass)
    subentries = [
        ConfigSubentryData(
            subentry_type=str(kind),
            title=kind.capitalize(),
            unique_id=service_of(stack, kind).url,
            data={
                CONF_URL: service_of(stack, kind).url,
                CONF_VERIFY_SSL: True,
                CONF_API_KEY_ENCRYPTED: vault.encrypt(
                    service_of(stack, kind).api_key, api_key_purpose(kind)
                ),
            },
        )
        for kind in services
    ]
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=stack.plex.friendly_name,
        unique_id=stack.plex.machine_identifier,
        data={
            CONF_URL: stack.plex.url,
            CONF_VERIFY_SSL: True,
            CONF_TOKEN_ENCRYPTED: vault.encrypt(stack.plex.token, PURPOSE_PLEX_TOKEN),
        },
        subentries_data=subentries,
        options=options or {},
    )
    entry.add_to_hass(hass)
    return entry


async def setup_entry(
    hass: HomeAssistant,
    stack: SimulatorStack,
    services: tuple[ServiceKind, ...] = (),
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Add and set up an entry for the simulated Plex."""
    entry = await make_entry(hass, stack, services, options)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def service_states(entry: MockConfigEntry) -> dict[str, tuple[str, str | None]]:
    """Return {service kind: (health status, reason)} of an entry's optional services."""
    health = entry.runtime_data.health.health
    return {
        str(conn.kind): (str(health[key].status), health[key].reason)
        for key, conn in entry.runtime_data.services.items()
    }


async def open_settings(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    """Open the options and choose the settings form."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
