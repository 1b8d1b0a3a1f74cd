"""A real `hass` process: SmartPlex added over its API shows the household and its plans, and loads again after a restart or a crash."""

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
import re
import signal
import time
from typing import Any

import pytest

from script.realhass import (
    DEMO_GRACE_HOURS,
    DEMO_PLAN_ITEMS,
    EXAMPLE_DASHBOARD,
    PROJECT_DIR,
    RealHass,
    add_demo_plans,
    add_demo_settings,
    dashboard_entities,
    real_hass,
)

DEMO_REQUIREMENTS = PROJECT_DIR / "requirements_demo.txt"
VALUE_TIMEOUT = 30.0


def _missing_demo_requirements() -> list[str]:
    """Return the pinned demo requirements that are not installed at their version."""
    missing = []
    for line in DEMO_REQUIREMENTS.read_text().splitlines():
        if not (requirement := line.split("#", 1)[0].strip()):
            continue
        name, _, pinned = requirement.partition("==")
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != pinned:
            missing.append(f"{requirement} (installed: {installed})")
    return missing


def _smartplex_errors(hass: RealHass) -> list[str]:
    """Return SmartPlex's ERROR lines in Home Assistant's log."""
    log = (hass.config_dir / "home-assistant.log").read_text(errors="replace")
    return re.findall(r"^.* ERROR .*smartplex.*$", log, flags=re.MULTILINE)


async def _assert_household_shown(hass: RealHass, confirmed: dict[str, Any]) -> None:
    """Every entity of the example dashboard has a value, and they match the simulators."""
    states = await hass.wait_for_values(
        dashboard_entities(EXAMPLE_DASHBOARD), VALUE_TIMEOUT
    )
    world = hass.stack.world

    def value(entity_id: str) -> float:
        return float(states[f"sensor.{entity_id}"]["state"])

    assert value("smartplex_test_server_movies_titles") == len(world.movies)
    assert value("smartplex_test_server_tv_shows_titles") == len(world.shows)
    assert value("overseerr_pending_requests") == sum(
        request.status == 1 for request in world.requests
    )
    assert value("smartplex_test_server_free_space") == pytest.approx(
        sum(disk.free for disk in world.disks) / 1e9
    )
    assert value("smartplex_test_server_stale_movies_candidates") > 0
    for service in (
        "smartplex_test_server",
        "sonarr",
        "radarr",
        "tautulli",
        "overseerr",
    ):
        assert states[f"sensor.{service}_status"]["state"] == "ok"
        assert states[f"binary_sensor.{service}_connectivity"]["state"] == "on"

    # The demo's confirmed plan: its movies are leaving soon, the other plan waits.
    movies = [world.movies[item["rating_key"]] for item in confirmed["items"]]
    assert len(movies) == DEMO_PLAN_ITEMS
    leaving = states["sensor.smartplex_test_server_leaving_soon"]
    assert leaving["state"] == str(DEMO_PLAN_ITEMS)
    assert leaving["attributes"]["titles"] == [movie.title for movie in movies]
    size = sum(movie.file.size for movie in movies if movie.file is not None)
    gigabytes = pytest.approx(size / 1e9)
    assert value("smartplex_test_server_leaving_soon_size") == gigabytes
    assert value("smartplex_test_server_next_deletion_size") == gigabytes
    assert value("smartplex_test_server_deletion_plans_waiting") == 1
    next_deletion = states["sensor.smartplex_test_server_next_deletion"]
    assert next_deletion["attributes"]["plan_id"] == confirmed["plan_id"]
    purge_at = datetime.fromisoformat(next_deletion["state"]).timestamp()
    assert purge_at == pytest.approx(time.time() + DEMO_GRACE_HOURS * 3600, abs=600)
    calendar = states["calendar.smartplex_test_server_scheduled_deletions"]
    assert calendar["attributes"]["description"].splitlines() == [
        movie.title for movie in movies
    ]
    (collection,) = (
        c for c in hass.stack.plex.collections.values() if c.title == "Leaving soon"
    )
    assert sorted(collection.items) == sorted(movie.rating_key for movie in movies)
    assert not any(movie.monitored for movie in movies)


async def test_real_hass_shows_the_household_and_survives_a_restart(
    socket_enabled: None,
) -> None:
    """Onboard a real hass, add SmartPlex like a user, restart and kill it: it comes back."""
    if missing := _missing_demo_requirements():
        pytest.fail(
            "The demo requirements are not installed (run script/setup --demo): "
            + ", ".join(missing)
        )
    async with real_hass(movies=300, shows=20) as hass:
        await add_demo_settings(hass)
        confirmed, waiting = await add_demo_plans(hass)
        assert confirmed["state"] == "confirmed"
        assert waiting["state"] == "pending"
        assert waiting["item_count"] == DEMO_PLAN_ITEMS
        entry = await hass.entry()
        assert entry["num_subentries"] == 4
        await _assert_household_shown(hass, confirmed)

        assert await hass.stop() == 0
        assert not hass.running
        await hass.start()
        await hass.wait_until_loaded()
        await _assert_household_shown(hass, confirmed)
        assert _smartplex_errors(hass) == []
        issues = await hass.websocket_command({"type": "repairs/list_issues"})
        assert [i for i in issues["issues"] if not i["ignored"]] == []

        assert await hass.kill() == -signal.SIGKILL
        await hass.start()
        await hass.wait_until_loaded()
        assert (await hass.entry())["num_subentries"] == 4
    assert not hass.running
