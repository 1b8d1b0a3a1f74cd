"""The confirm-deletion blueprint driving SmartPlex's real actions over the simulators."""

import asyncio
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant

from custom_components.smartplex.const import DOMAIN
from simulators import SimulatorStack

from .common import setup_entry
from .test_blueprint import add_phone, button, hass_config_dir, tap, use_blueprint
from .test_deletions import LATER, SERVICES, leaving_soon, radarr_movies, run

__all__ = ["hass_config_dir"]  # the fixture that puts the blueprint in place


async def settled(hass: HomeAssistant) -> None:
    """Let automation runs and HTTP calls to the simulators finish."""
    for _ in range(20):
        await asyncio.sleep(0.05)


async def test_phone_confirms_a_real_plan(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A plan's notification reaches the phone; tapping Confirm quarantines its items."""
    entry = await setup_entry(hass, stack, SERVICES, LATER)
    phone = add_phone(hass, "Pixel 9")
    await use_blueprint(hass, {"notify_device": phone.device_id})
    movies = radarr_movies(stack)[:2]
    plan: dict[str, Any] = await hass.services.async_call(
        DOMAIN,
        "request_deletion",
        {
            ATTR_CONFIG_ENTRY_ID: entry.entry_id,
            "rating_keys": [m.rating_key for m in movies],
        },
        blocking=True,
        return_response=True,
    )
    await settled(hass)
    push = dict(phone.pushes[-1].data)
    assert plan["code"] in push["message"]
    await tap(hass, button(push, "Confirm")["action"])
    await settled(hass)
    await run(hass, entry)
    assert leaving_soon(stack) == {m.rating_key for m in movies}
    assert not any(m.monitored for m in movies)
    plans = await hass.services.async_call(
        DOMAIN,
        "get_plans",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]},
        blocking=True,
        return_response=True,
    )
    assert plans["plans"][0]["state"] == "confirmed"
