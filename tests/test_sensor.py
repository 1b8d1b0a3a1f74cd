"""Library sensors over the simulated Plex: first sync, incremental, removals, restarts."""

from dataclasses import replace
from typing import Any
from unittest.mock import patch

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import (
    CONF_CAPACITY_GB,
    CONF_FULL_SYNC_TIME,
    DOMAIN,
)
from simulators import Fault, SimulatorStack
from simulators.world import MOVIE_SECTION, World

from .common import make_entry, open_settings, setup_entry

DEVICE = "sensor.smartplex_test_server"


def media_bytes(world: World, section: int | None = None) -> int:
    """Bytes of every file Plex lists, as the world knows them."""
    movies = [m.file for m in world.movies.values() if m.in_plex and m.file]
    episodes = [e.file for e in world.episodes.values() if e.in_plex and e.file]
    files = {None: movies + episodes, 1: movies, 2: episodes}[section]
    return sum(f.size for f in files)


def gigabytes(hass: HomeAssistant, entity_id: str) -> float:
    """Return a size sensor's state in GB."""
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    assert state.attributes["unit_of_measurement"] == "GB"
    return float(state.state)


async def sync(hass: HomeAssistant, entry_id: str, *, full: bool = False) -> Any:
    """Call smartplex.sync and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        "sync",
        {ATTR_CONFIG_ENTRY_ID: entry_id, "full": full},
        blocking=True,
        return_response=True,
    )


async def test_first_sync_fills_the_sensors(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """After setup the sizes and counts equal what the simulated server holds."""
    await setup_entry(hass, stack)
    world = stack.world
    assert gigabytes(hass, f"{DEVICE}_media_size") == pytest.approx(
        media_bytes(world) / 1e9
    )
    assert gigabytes(hass, f"{DEVICE}_movies_size") == pytest.approx(
        media_bytes(world, 1) / 1e9
    )
    assert gigabytes(hass, f"{DEVICE}_tv_shows_size") == pytest.approx(
        media_bytes(world, 2) / 1e9
    )
    assert hass.states.get(f"{DEVICE}_movies_titles").state == str(len(world.movies))
    assert hass.states.get(f"{DEVICE}_tv_shows_titles").state == str(len(world.shows))
    attributes = hass.states.get(f"{DEVICE}_media_size").attributes
    by_resolution = attributes["by_resolution"]
    assert sum(v["count"] for v in by_resolution.values()) == len(world.movies) + len(
        world.episodes
    )


async def test_incremental_sync_reads_only_changes(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A changed item is picked up by an incremental sync that asks only for changes."""
    entry = await setup_entry(hass, stack)
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    movie.file.size += 5_000_000_000
    movie.updated_at = stack.world.now + 60
    stack.plex.requests.clear()
    result = await sync(hass, entry.entry_id)
    assert result == {
        "full": False,
        "sections": 2,
        "changed": 1,
        "removed": 0,
        "items": len(entry.runtime_data.library.model.items),
        "implausible": None,
    }
    listings = [r for r in stack.plex.requests if r.path.endswith("/all")]
    assert all(
        any(k == "updatedAt>>" for k, _ in r.query)
        or dict(r.headers).get("X-Plex-Container-Size") == "0"
        for r in listings
    )
    assert gigabytes(hass, f"{DEVICE}_media_size") == pytest.approx(
        media_bytes(stack.world) / 1e9
    )


async def test_removed_items_are_noticed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """An item Plex no longer lists leaves the model on the next incremental sync."""
    entry = await setup_entry(hass, stack)
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    stack.world.delete_file(movie.file)
    stack.world.scan(MOVIE_SECTION)
    result = await sync(hass, entry.entry_id)
    assert result["removed"] == 1
    assert movie.rating_key not in entry.runtime_data.library.model.items
    assert hass.states.get(f"{DEVICE}_movies_titles").state == str(
        len(stack.world.movies) - 1
    )


async def test_nightly_full_sync(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """The nightly tracker (03:30 by default) makes the next sync a full one."""
    with patch(
        "custom_components.smartplex.coordinator.async_track_time_change"
    ) as track:
        entry = await setup_entry(hass, stack)
    nightly = track.call_args.args[1]
    assert track.call_args.kwargs == {"hour": 3, "minute": 30, "second": 0}
    coordinator = entry.runtime_data.library
    await sync(hass, entry.entry_id)
    assert coordinator.last_result is not None
    assert coordinator.last_result.full is False
    nightly(dt_util.now())
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.last_result.full is True


async def test_restart_starts_from_the_snapshot(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """After a reload the model comes from the Store and the first sync is incremental."""
    entry = await setup_entry(hass, stack)
    assert entry.runtime_data.library.last_result.full is True
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    library = entry.runtime_data.library
    assert library.last_result is not None
    assert library.last_result.full is False
    assert len(library.model.items) == len(stack.world.movies) + len(
        stack.world.shows
    ) + len(stack.world.episodes)


async def test_sync_errors(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Bad entry ids and an unreachable Plex give translated errors."""
    entry = await setup_entry(hass, stack)
    with pytest.raises(ServiceValidationError) as err:
        await sync(hass, "nope")
    assert err.value.translation_key == "entry_not_found"
    await stack.plex.async_set_fault(Fault.SERVER_ERROR)
    with pytest.raises(HomeAssistantError) as err:
        await sync(hass, entry.entry_id)
    assert err.value.translation_key == "library_sync_failed"
    await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await sync(hass, entry.entry_id)
    assert err.value.translation_key == "entry_not_loaded"


async def test_failed_refresh_makes_sensors_unavailable(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """When Plex stops answering, the library sensors go unavailable, then recover."""
    entry = await setup_entry(hass, stack)
    coordinator = entry.runtime_data.library
    await stack.plex.async_set_fault(Fault.DOWN)
    await coordinator.async_refresh()
    assert hass.states.get(f"{DEVICE}_media_size").state == "unavailable"
    await stack.plex.async_clear_fault()
    await coordinator.async_refresh()
    assert gigabytes(hass, f"{DEVICE}_media_size") == pytest.approx(
        media_bytes(stack.world) / 1e9
    )


async def test_sections_come_and_go(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A section removed in Plex loses its sensors; one added gets them."""
    entry = await setup_entry(hass, stack)
    registry = er.async_get(hass)
    assert registry.async_get(f"{DEVICE}_tv_shows_size") is not None
    tv = stack.plex.sections.pop(2)
    await sync(hass, entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(f"{DEVICE}_tv_shows_size") is None
    assert hass.states.get(f"{DEVICE}_tv_shows_size") is None
    assert gigabytes(hass, f"{DEVICE}_media_size") == pytest.approx(
        media_bytes(stack.world, 1) / 1e9
    )
    stack.plex.sections[2] = tv
    await sync(hass, entry.entry_id)
    await hass.async_block_till_done()
    assert gigabytes(hass, f"{DEVICE}_tv_shows_size") == pytest.approx(
        media_bytes(stack.world, 2) / 1e9
    )


async def test_free_space_from_sonarr_and_radarr(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Free space counts each disk once, and rises when the *arrs free a file."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.RADARR))
    free = sum(disk.free for disk in stack.world.disks)
    assert gigabytes(hass, f"{DEVICE}_free_space") == pytest.approx(free / 1e9)
    state = hass.states.get(f"{DEVICE}_free_space")
    assert [d["path"] for d in state.attributes["disks"]] == [
        "/data/movies",
        "/data/tv",
    ]
    movie = next(m for m in stack.world.movies.values() if m.file)
    assert movie.file is not None
    stack.world.delete_file(movie.file)
    storage = entry.runtime_data.storage
    assert storage is not None
    await storage.async_refresh()
    assert gigabytes(hass, f"{DEVICE}_free_space") == pytest.approx(
        (free + movie.file.size) / 1e9
    )
    await stack.radarr.async_set_fault(Fault.SERVER_ERROR)
    await storage.async_refresh()
    assert hass.states.get(f"{DEVICE}_free_space").state == "unavailable"


async def test_no_arr_no_free_space(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Without Sonarr or Radarr there is no free-space sensor, and setup is fine."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    assert entry.runtime_data.storage is None
    assert hass.states.get(f"{DEVICE}_free_space") is None


async def test_capacity_option(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A capacity below what media uses is refused; a good one adds a usage sensor."""
    entry = await setup_entry(hass, stack)
    used = media_bytes(stack.world)
    result = await open_settings(hass, entry)
    placeholders = result["description_placeholders"]
    assert placeholders["used"] == f"{used / 1e9:,.0f}"
    webhook_id = entry.data["webhook_id"]
    assert placeholders["plex_webhook"].endswith(
        f"/api/webhook/{webhook_id}?source=plex"
    )
    assert placeholders["tautulli_webhook"].endswith("?source=tautulli")
    too_small = used // 2 // 10**9
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CAPACITY_GB: too_small, CONF_FULL_SYNC_TIME: "03:30:00"},
    )
    assert result["errors"] == {CONF_CAPACITY_GB: "capacity_below_usage"}
    capacity = used * 2 // 10**9
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_CAPACITY_GB: capacity, CONF_FULL_SYNC_TIME: "04:15:00"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    state = hass.states.get(f"{DEVICE}_storage_used")
    assert float(state.state) == pytest.approx(100 * used / (capacity * 1e9))
    assert state.attributes["unit_of_measurement"] == "%"


async def test_full_sync_time_option(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The nightly full sync is scheduled at the time chosen in the options."""
    entry = await make_entry(hass, stack)
    hass.config_entries.async_update_entry(
        entry, options={CONF_FULL_SYNC_TIME: "05:10:20"}
    )
    with patch(
        "custom_components.smartplex.coordinator.async_track_time_change"
    ) as track:
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert track.call_args.kwargs == {"hour": 5, "minute": 10, "second": 20}


def never_watched_titles(world: World) -> int:
    """Movies and shows nobody ever played, as the world's history says."""
    played = {play.rating_key for play in world.plays} | {
        play.grandparent_rating_key for play in world.plays
    }
    return sum(1 for key in (*world.movies, *world.shows) if key not in played)


async def test_analytics_from_tautulli(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """With Tautulli, play counts cover every user and say where they come from."""
    await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    state = hass.states.get(f"{DEVICE}_never_watched_titles")
    assert state.state == str(never_watched_titles(stack.world))
    assert state.attributes["source"] == "tautulli"
    assert state.attributes["fallback_reason"] is None
    assert hass.states.get(f"{DEVICE}_plays_in_the_last_7_days").state.isdigit()
    assert hass.states.get(f"{DEVICE}_titles_not_watched_in_90_days") is not None


async def test_analytics_fall_back_to_plex(
    hass: HomeAssistant, stack: SimulatorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Tautulli down: Plex's own counts are used, labelled, and time windows unknown."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    await stack.tautulli.async_set_fault(Fault.SERVER_ERROR)
    analytics = entry.runtime_data.analytics
    await analytics.async_refresh()
    await analytics.async_refresh()
    state = hass.states.get(f"{DEVICE}_never_watched_titles")
    assert state.attributes["source"] == "plex"
    assert state.attributes["fallback_reason"] == "bad_response"
    assert hass.states.get(f"{DEVICE}_plays_in_the_last_24_hours").state == "unknown"
    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("custom_components")
    )
    assert ours.count("Tautulli is not usable") == 1
    assert stack.tautulli.api_key not in ours
    await stack.tautulli.async_clear_fault()
    await analytics.async_refresh()
    state = hass.states.get(f"{DEVICE}_never_watched_titles")
    assert state.attributes["source"] == "tautulli"
    assert "Tautulli answers again" in caplog.text


async def test_analytics_without_tautulli(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Tautulli the sensors use Plex's counts and say why."""
    await setup_entry(hass, stack)
    state = hass.states.get(f"{DEVICE}_never_watched_titles")
    assert state.attributes == state.attributes | {
        "source": "plex",
        "fallback_reason": "tautulli_not_configured",
    }
    owner_played = {
        key
        for item in (*stack.world.movies.values(), *stack.world.episodes.values())
        if item.view_count
        for key in (item.rating_key, getattr(item, "show_key", None))
    }
    expected = sum(
        1
        for key in (*stack.world.movies, *stack.world.shows)
        if key not in owner_played
    )
    assert state.state == str(expected)


async def test_added_item_is_picked_up(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A movie added to Plex appears after an incremental sync, with its size."""
    entry = await setup_entry(hass, stack)
    world = stack.world
    template = next(iter(world.movies.values()))
    assert template.file is not None
    key = world.new_id()
    world.movies[key] = replace(
        template,
        rating_key=key,
        title="Brand New",
        tmdb_id=999_999,
        added_at=world.now + 120,
        updated_at=world.now + 120,
        file=replace(template.file, media_id=world.new_id(), part_id=world.new_id()),
        labels=[],
    )
    result = await sync(hass, entry.entry_id)
    assert (result["changed"], result["removed"]) == (1, 0)
    item = entry.runtime_data.library.model.items[key]
    assert (item.title, item.tmdb_id, item.size) == (
        "Brand New",
        999_999,
        template.file.size,
    )
    assert hass.states.get(f"{DEVICE}_movies_titles").state == str(len(world.movies))


async def test_incremental_sync_across_sections(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A newer change in one library does not hide an older one in the next."""
    entry = await setup_entry(hass, stack)
    world = stack.world
    episode = next(iter(world.episodes.values()))
    movie = next(iter(world.movies.values()))
    assert episode.file is not None
    assert movie.file is not None
    episode.file.size += 1_000_000
    episode.updated_at = world.now + 50
    movie.updated_at = world.now + 100
    result = await sync(hass, entry.entry_id)
    assert result["changed"] == 2
    model = entry.runtime_data.library.model
    assert model.items[episode.rating_key].size == episode.file.size


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("sync", {"full": "sometimes"}),
        ("sync", {}),
        ("get_requests", {"limit": 0}),
        ("get_requests", {"limit": "many"}),
        ("find_candidates", {"rule": "not a mapping"}),
        (
            "find_candidates",
            {"rule": {"name": "x", "never_played": True}, "limit": 10**6},
        ),
        ("explain", {"rule": {"name": "x", "never_played": True}, "rating_key": -1}),
        ("explain", {"rule": {"name": "x", "never_played": True}}),
    ],
)
async def test_bad_action_data_is_a_translated_error(
    hass: HomeAssistant, stack: SimulatorStack, action: str, data: dict[str, Any]
) -> None:
    """Every action answers wrong data with a translated validation error."""
    entry = await setup_entry(hass, stack)
    if action != "sync" or data:
        data = {ATTR_CONFIG_ENTRY_ID: entry.entry_id} | data
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, action, data, blocking=True, return_response=action != "sync"
        )
    assert err.value.translation_key == "invalid_action_data"
    assert err.value.translation_placeholders["action"] == action
