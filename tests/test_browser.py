"""Headless Chromium logs in to a real hass: the demo dashboard shows the simulators' numbers."""

import os
from pathlib import Path
import re
import struct

import pytest

from script.browser import (
    DASHBOARD_WIDTH,
    FLOW_SIZE,
    Card,
    capture,
    chromium,
    log_in,
    open_dashboard,
)
from script.realhass import (
    DEMO_MOVIES,
    DEMO_PLAN_ITEMS,
    DEMO_SHOWS,
    EXAMPLE_DASHBOARD,
    PROJECT_DIR,
    add_demo_plans,
    add_demo_settings,
    dashboard_entities,
    real_hass,
)

SERVER = "sensor.smartplex_test_server"
CALENDAR_EVENT = "SmartPlex deletes"
NOT_A_VALUE = re.compile(r"\b(unavailable|unknown)\b", re.IGNORECASE)


def _png_size(path: Path) -> tuple[int, int]:
    """Return a PNG's width and height (and fail if it is no PNG)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is no PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def _tile(cards: list[Card], entity_id: str) -> str:
    """Return the text of the tile card showing `entity_id`."""
    (text,) = (c.text for c in cards if c.card == "tile" and c.entity == entity_id)
    return text


async def test_dashboard_and_config_flow_in_chromium(
    socket_enabled: None, tmp_path: Path
) -> None:
    """The dashboard's SmartPlex cards render the simulators' values; screenshots are taken."""
    # SMARTPLEX_SCREENSHOT_DIR=docs/screenshots keeps them (python -m script.browser too).
    out_dir = Path(os.environ.get("SMARTPLEX_SCREENSHOT_DIR") or tmp_path)
    async with real_hass(
        movies=DEMO_MOVIES, shows=DEMO_SHOWS, dashboard=EXAMPLE_DASHBOARD
    ) as hass:
        await add_demo_settings(hass)
        confirmed, _ = await add_demo_plans(hass)
        states = await hass.wait_for_values(dashboard_entities(EXAMPLE_DASHBOARD))
        async with chromium() as page:
            await log_in(page, hass)
            cards = await open_dashboard(page, hass, ready=CALENDAR_EVENT)
            shots = await capture(hass, page, out_dir)
            # The manual step's fields are described (strings.json's data_description).
            await page.find_text("The server owner's X-Plex-Token")
    world = hass.stack.world

    # Every card rendered with a value: none says "unavailable" or "unknown".
    assert len(cards) > 40
    assert [c.text for c in cards if NOT_A_VALUE.search(c.text)] == []

    # The simulators' numbers, as the frontend formats them (English locale).
    assert (
        _tile(cards, f"{SERVER}_movies_titles")
        == f"Movies {len(world.movies):,} titles"
    )
    assert (
        _tile(cards, f"{SERVER}_tv_shows_titles")
        == f"TV shows {len(world.shows):,} titles"
    )
    free_gb = sum(disk.free for disk in world.disks) / 1e9
    assert _tile(cards, f"{SERVER}_free_space") == f"Free space {free_gb:,.1f} GB"
    pending = sum(request.status == 1 for request in world.requests)
    assert (
        _tile(cards, "sensor.overseerr_pending_requests")
        == f"Waiting for approval {pending} requests"
    )
    candidates = int(states[f"{SERVER}_stale_movies_candidates"]["state"])
    assert candidates > 0
    (stale,) = (c.text for c in cards if c.text.startswith("Stale movies"))
    assert f"Not played for a year {candidates:,} titles" in stale
    (health,) = (c for c in cards if f"{SERVER}_status" in c.entities)
    assert health.text.count(" OK") == 5

    # The demo's plans: what is leaving soon, when, and the calendar event.
    titles = [world.movies[item["rating_key"]].title for item in confirmed["items"]]
    size_gb = sum(item["size"] for item in confirmed["items"]) / 1e9
    assert _tile(cards, f"{SERVER}_leaving_soon") == f"Titles {DEMO_PLAN_ITEMS}"
    assert _tile(cards, f"{SERVER}_leaving_soon_size") == f"Size {size_gb:,.1f} GB"
    assert _tile(cards, f"{SERVER}_next_deletion") == "Next deletion In 3 days"
    assert _tile(cards, f"{SERVER}_deletion_plans_waiting") == (
        "Plans waiting for you 1"
    )
    (leaving,) = (c.text for c in cards if c.text.startswith('In "Leaving soon"'))
    for title in titles:
        assert f"{title} (next deletion)" in leaving
    (calendar,) = (c.text for c in cards if c.card == "calendar")
    assert f"{CALENDAR_EVENT} {DEMO_PLAN_ITEMS} items ({size_gb:.1f} GB)" in calendar

    width, height = _png_size(shots["dashboard"])
    assert width == DASHBOARD_WIDTH
    assert height > 1500
    assert _png_size(shots["config_flow"]) == FLOW_SIZE
    assert _png_size(shots["config_flow_manual"]) == FLOW_SIZE


@pytest.mark.parametrize("name", ["dashboard", "config_flow", "config_flow_manual"])
def test_readme_shows_the_screenshots(name: str) -> None:
    """The README shows each screenshot, and each is committed as a PNG."""
    path = f"docs/screenshots/{name}.png"
    assert f"]({path})" in (PROJECT_DIR / "README.md").read_text()
    assert _png_size(PROJECT_DIR / path)[0] > 0
