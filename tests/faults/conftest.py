"""Fixtures of the fault matrix."""

from collections.abc import AsyncIterator

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator


@pytest.fixture
async def base_url(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> str:
    """Serve Home Assistant's HTTP API on 127.0.0.1 and make it HA's own URL."""
    assert await async_setup_component(hass, "webhook", {})
    # The test client freezes the router: the calendar platform's views come first.
    assert await async_setup_component(hass, "calendar", {})
    client = await hass_client_no_auth()
    url = str(client.make_url("/")).rstrip("/")
    await async_process_ha_core_config(hass, {"internal_url": url})
    return url


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for the webhooks the services send."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Leave asyncio's debug mode off here: it records a stack for every callback.

    That costs the matrix half of its time; the rest of the suite keeps it on.
    """
