"""Implausible answers (an unmounted disk, a shrunken play history) stop cleanup."""

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import CONF_RULES, DOMAIN
from custom_components.smartplex.library import LibraryModel
from custom_components.smartplex.plausibility import (
    PLAYS_KEPT_SHARE,
    PLAYS_MIN,
    SECTION_LOST_SHARE,
    SECTION_MIN_ITEMS,
    ImplausibleDataError,
    check_library,
    check_plays,
    check_section,
)
from custom_components.smartplex.repairs import async_create_fix_flow
from simulators import Fault, SimulatorStack
from simulators.world import MOVIE_ROOT, MOVIE_SECTION, SHOW_SECTION, TV_ROOT

from .common import setup_entry
from .test_library import MOVIES, SHOWS, item

DEVICE = "sensor.smartplex_test_server"
BIG = {"name": "Big", "level": "movie", "min_size_gb": 1}
NEVER_WATCHED = {"name": "Never watched", "level": "movie", "never_played": True}


# The rules themselves.


@pytest.mark.parametrize(
    ("before", "after", "believed"),
    [
        (50, 0, False),
        (50, 24, False),  # 26 of 50 gone: more than half
        (50, 25, True),  # exactly half gone: not more than half
        (50, 40, True),
        (50, 500, True),  # growth is never a collapse
        (SECTION_MIN_ITEMS, 0, False),
        (SECTION_MIN_ITEMS - 1, 0, True),  # tiny sections change legitimately
        (0, 0, True),  # nothing known before: nothing to compare
    ],
)
def test_section_thresholds(before: int, after: int, believed: bool) -> None:
    """More than half of a section of 20 or more items gone at once is not believed."""
    found = check_section("Movies", before, after)
    assert (found is None) is believed
    if found is not None:
        assert (found.subject, found.before, found.after) == ("Movies", before, after)
        assert found.reason == (
            f"library 'Movies': {before - after} of {before} items gone or"
            " unavailable in one sync"
        )


def test_library_names_the_first_collapsed_section() -> None:
    """The library check reports the first section not believed, or nothing."""
    assert check_library([]) is None
    assert check_library([("Movies", 50, 49), ("TV", 300, 200)]) is None
    found = check_library([("Movies", 50, 49), ("TV", 300, 100), ("4K", 40, 0)])
    assert found is not None
    assert found.subject == "TV"
    assert SECTION_LOST_SHARE == 0.5


@pytest.mark.parametrize(
    ("last_good", "total", "believed"),
    [
        (None, 0, True),  # no good sync yet
        (1000, 0, False),
        (1000, 499, False),
        (1000, 500, True),  # exactly half kept
        (1000, 5000, True),
        (PLAYS_MIN, 0, False),
        (PLAYS_MIN - 1, 0, True),  # a new install's few plays
    ],
)
def test_play_thresholds(last_good: int | None, total: int, believed: bool) -> None:
    """A play history keeping less than half of the last good total is not believed."""
    found = check_plays("Tautulli", last_good, total)
    assert (found is None) is believed
    if found is not None:
        assert (found.subject, found.before, found.after) == (
            "Tautulli",
            last_good,
            total,
        )
        assert found.reason == (
            f"play history (Tautulli): {total} plays, down from {last_good}"
            " at the last good sync"
        )
    assert PLAYS_KEPT_SHARE == 0.5


def test_error_carries_its_reason() -> None:
    """The error rules raise says why, for services and sensors to show."""
    err = ImplausibleDataError("library 'Movies': 50 of 50 items gone")
    assert err.reason == str(err) == "library 'Movies': 50 of 50 items gone"


# Rolling the model back.


def model_of(*items: Any) -> LibraryModel:
    """Return a model holding both sections and these items."""
    model = LibraryModel(sections={1: MOVIES, 2: SHOWS})
    model.upsert(items)
    return model


def state(model: LibraryModel) -> tuple[Any, ...]:
    """Return everything a rollback must bring back."""
    return (
        *contents(model),
        model.breakdown(),
        model.breakdown(2),
        model.count(1, "movie"),
        model.count(2, "episode"),
        dict(model._available),
    )


def test_rollback_restores_items_totals_and_dates() -> None:
    """Changes, additions and removals since the checkpoint all go back."""
    model = model_of(
        item(1), item(2), item(3, file_missing=True), item(4, section=2, kind="episode")
    )
    before = state(model)
    checkpoint = model.checkpoint()
    model.upsert(
        [item(1, size=99, updated_at=500), item(5), item(2, file_missing=True)]
    )
    model.remove([3, 4])
    model.sections.pop(2)
    model.last_full_sync = 123.0
    assert list(model.availability(checkpoint)) == [("Movies", 2, 2)]
    model.rollback(checkpoint)
    assert state(model) == before
    assert 5 not in model.items


def test_rollback_of_a_first_sync_empties_the_model() -> None:
    """A first sync that fails leaves the empty model it started from."""
    model = LibraryModel()
    checkpoint = model.checkpoint()
    model.sections[1] = MOVIES
    model.upsert([item(1), item(2, section=2, kind="episode")])
    model.rollback(checkpoint)
    assert model == LibraryModel()
    assert model.breakdown().count == 0


def test_commit_keeps_the_changes() -> None:
    """After a commit, changes are no longer remembered for a rollback."""
    model = model_of(item(1))
    model.checkpoint()
    model.upsert([item(2)])
    model.commit()
    model.upsert([item(3)])
    assert sorted(model.items) == [1, 2, 3]


# Over the simulators.


async def call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    """Call a SmartPlex action for the entry and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def settle(hass: HomeAssistant) -> None:
    """Let the rules follow a change (their refresh is debounced)."""
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
    await hass.async_block_till_done()


async def sync(hass: HomeAssistant, entry_id: str, *, full: bool) -> Any:
    """Sync the library through the action; wait for the rules to follow."""
    result = await call(hass, "sync", **{ATTR_CONFIG_ENTRY_ID: entry_id, "full": full})
    await settle(hass)
    return result


async def find_candidates(hass: HomeAssistant, entry_id: str, rule: Any) -> Any:
    """Apply a rule through the action."""
    return await call(
        hass,
        "find_candidates",
        **{ATTR_CONFIG_ENTRY_ID: entry_id, "rule": rule, "limit": 1000},
    )


def contents(model: LibraryModel) -> tuple[Any, ...]:
    """Return what a model holds, whatever the order of its items."""
    return (
        dict(model.items),
        dict(model.sections),
        model.watermark,
        model.last_full_sync,
    )


def issue(hass: HomeAssistant, kind: str, entry_id: str) -> ir.IssueEntry | None:
    """Return one of SmartPlex's repair issues."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry_id}")


def rule_state(hass: HomeAssistant, name: str) -> Any:
    """Return the candidates sensor of a named rule."""
    return hass.states.get(f"{DEVICE}_{name}_candidates")


@pytest.mark.parametrize(
    ("root", "section", "title"),
    [(MOVIE_ROOT, MOVIE_SECTION, "Movies"), (TV_ROOT, SHOW_SECTION, "TV Shows")],
)
@pytest.mark.parametrize("scanned", [False, True], ids=["deleted_at", "scanned"])
async def test_unmounted_disk_is_not_believed(
    hass: HomeAssistant,
    stack: SimulatorStack,
    root: str,
    section: int,
    title: str,
    scanned: bool,
) -> None:
    """A disk gone: the model stays, cleanup stops with a repair; back: all clears."""
    entry = await setup_entry(hass, stack, options={CONF_RULES: [BIG]})
    library = entry.runtime_data.library
    stored = contents(library.model)
    candidates = rule_state(hass, "big").state
    size = hass.states.get(f"{DEVICE}_media_size").state
    assert candidates.isdigit()
    assert issue(hass, "library_implausible", entry.entry_id) is None

    files = stack.world.unmount(root)
    if scanned:
        # Plex scanned while the disk was away: the items left its listing, which an
        # incremental sync notices by their count.
        assert stack.world.scan(section)
    result = await sync(hass, entry.entry_id, full=not scanned)

    before = len(files)
    assert result["implausible"] == {
        "subject": title,
        "before": before,
        "after": 0,
        "reason": f"library {title!r}: {before} of {before} items gone or"
        " unavailable in one sync",
    }
    assert (result["changed"], result["removed"]) == (0, 0)
    assert contents(library.model) == stored
    assert library.implausible == result["implausible"]["reason"]
    found = issue(hass, "library_implausible", entry.entry_id)
    assert found is not None
    assert found.translation_key == "library_implausible"
    assert found.severity is ir.IssueSeverity.ERROR
    assert found.is_fixable
    assert found.translation_placeholders == {
        "section": title,
        "before": str(before),
        "after": "0",
    }
    with pytest.raises(HomeAssistantError) as err:
        await find_candidates(hass, entry.entry_id, BIG)
    assert err.value.translation_key == "data_implausible"
    assert err.value.translation_placeholders == {"reason": library.implausible}
    assert rule_state(hass, "big").state == "unknown"
    assert rule_state(hass, "big").attributes["refused"] == library.implausible
    assert hass.states.get(f"{DEVICE}_media_size").state == size

    # Still away: the periodic sync (full while not believed) keeps refusing.
    await library.async_refresh()
    assert library.last_result is not None
    assert library.last_result.full is True
    assert library.last_result.implausible is not None
    assert contents(library.model) == stored

    stack.world.mount(files)
    result = await sync(hass, entry.entry_id, full=False)
    assert result["full"] is True
    assert result["implausible"] is None
    assert library.implausible is None
    assert issue(hass, "library_implausible", entry.entry_id) is None
    assert rule_state(hass, "big").state == candidates
    response = await find_candidates(hass, entry.entry_id, BIG)
    assert response["matched"] == int(candidates)
    # Believed again: syncs are incremental once more.
    assert (await sync(hass, entry.entry_id, full=False))["full"] is False


async def test_a_cleanup_of_less_than_half_is_believed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Half the movies deleted and scanned away is a clean-up, not an outage."""
    entry = await setup_entry(hass, stack)
    movies = [m for m in stack.world.movies.values() if m.file is not None]
    for movie in movies[: len(movies) // 2]:
        assert movie.file is not None
        stack.world.delete_file(movie.file)
    stack.world.scan(MOVIE_SECTION)
    result = await sync(hass, entry.entry_id, full=False)
    assert result["implausible"] is None
    assert result["removed"] == len(movies) // 2
    assert entry.runtime_data.library.implausible is None


async def test_rules_wait_for_a_sync_in_flight(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Rules never see a half-applied sync: they wait for it, then refuse its result."""
    entry = await setup_entry(hass, stack)
    library = entry.runtime_data.library
    stack.world.unmount(MOVIE_ROOT)
    stack.plex.delay = 0.02
    await stack.plex.async_set_fault(Fault.SLOW)
    syncing = hass.async_create_task(library.async_sync(full=True))
    await asyncio.sleep(0)
    assert library._sync_lock.locked()
    with pytest.raises(HomeAssistantError) as err:
        await find_candidates(hass, entry.entry_id, BIG)
    assert err.value.translation_key == "data_implausible"
    assert syncing.done()
    assert (await syncing).implausible is not None
    await stack.plex.async_clear_fault()


async def test_shrunken_play_history_is_not_believed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Tautulli suddenly knowing few plays: the last good figures stay, cleanup stops."""
    entry = await setup_entry(
        hass, stack, (ServiceKind.TAUTULLI,), {CONF_RULES: [NEVER_WATCHED]}
    )
    analytics = entry.runtime_data.analytics
    summary = analytics.data
    never = hass.states.get(f"{DEVICE}_never_watched_titles").state
    candidates = rule_state(hass, "never_watched").state
    assert candidates.isdigit()
    plays = list(stack.world.plays)
    assert len(plays) >= PLAYS_MIN

    del stack.world.plays[5:]
    await analytics.async_refresh()
    await settle(hass)
    reason = (
        f"play history (Tautulli): 5 plays, down from {len(plays)}"
        " at the last good sync"
    )
    assert analytics.implausible == reason
    assert analytics.data is summary
    assert hass.states.get(f"{DEVICE}_never_watched_titles").state == never
    found = issue(hass, "analytics_implausible", entry.entry_id)
    assert found is not None
    assert found.translation_key == "analytics_implausible"
    assert found.translation_placeholders == {
        "source": "Tautulli",
        "before": str(len(plays)),
        "after": "5",
    }
    with pytest.raises(HomeAssistantError) as err:
        await find_candidates(hass, entry.entry_id, NEVER_WATCHED)
    assert err.value.translation_key == "data_implausible"
    assert rule_state(hass, "never_watched").state == "unknown"
    assert rule_state(hass, "never_watched").attributes["refused"] == reason

    stack.world.plays[:] = plays
    await analytics.async_refresh()
    await settle(hass)
    assert analytics.implausible is None
    assert issue(hass, "analytics_implausible", entry.entry_id) is None
    assert rule_state(hass, "never_watched").state == candidates
    response = await find_candidates(hass, entry.entry_id, NEVER_WATCHED)
    assert response["matched"] == int(candidates)


async def test_falling_back_to_plex_is_not_a_collapse(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Plex's own counts (the owner's only) are judged against Plex's, not Tautulli's."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    analytics = entry.runtime_data.analytics
    await stack.tautulli.async_set_fault(Fault.SERVER_ERROR)
    await analytics.async_refresh()
    assert analytics.data.model.source == "plex"
    assert analytics.data.model.total_plays < len(stack.world.plays) // 2
    assert analytics.implausible is None
    assert issue(hass, "analytics_implausible", entry.entry_id) is None


async def test_reload_accepts_a_history_deleted_on_purpose(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The repair says so: after a reload the shorter history is the new baseline."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    del stack.world.plays[5:]
    await entry.runtime_data.analytics.async_refresh()
    assert entry.runtime_data.analytics.implausible is not None
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.runtime_data.analytics.implausible is None
    assert entry.runtime_data.analytics.data.model.total_plays == 5
    assert issue(hass, "analytics_implausible", entry.entry_id) is None


async def test_accept_a_library_emptied_on_purpose(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The repair's fix flow takes Plex's answer as it is, after a person confirms."""
    entry = await setup_entry(hass, stack)
    library = entry.runtime_data.library
    files = stack.world.unmount(MOVIE_ROOT)
    assert stack.world.scan(MOVIE_SECTION)
    await sync(hass, entry.entry_id, full=False)
    assert library.implausible is not None
    found = issue(hass, "library_implausible", entry.entry_id)
    assert found is not None
    flow = await async_create_fix_flow(hass, found.issue_id, found.data)
    flow.hass = hass
    form = await flow.async_step_init()
    assert form["type"] == "form"
    assert form["description_placeholders"] == {"reason": library.implausible}
    done = await flow.async_step_confirm({})
    assert done["type"] == "create_entry"
    assert library.implausible is None
    assert library.model.count(MOVIE_SECTION, "movie") == 0
    assert len(files) > 0
    assert issue(hass, "library_implausible", entry.entry_id) is None


async def test_purges_wait_while_not_believed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A confirmed plan does not purge while the library is not believed."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,), {"grace_hours": 0})
    movie = next(m for m in stack.world.movies.values() if m.radarr_id and m.file)
    plan = await call(
        hass,
        "request_deletion",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rating_keys": [movie.rating_key]},
    )
    files = stack.world.unmount(TV_ROOT)
    await sync(hass, entry.entry_id, full=True)
    assert entry.runtime_data.library.implausible is not None
    await call(
        hass,
        "confirm_deletion",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan["plan_id"]},
    )
    await entry.runtime_data.cleanup.async_run()
    assert movie.file is not None
    assert movie.file.exists
    stack.world.mount(files)
    await sync(hass, entry.entry_id, full=True)
    entry.runtime_data.cleanup.journal.plans[plan["plan_id"]].items[0].next_attempt = 0
    await entry.runtime_data.cleanup.async_run()
    assert not movie.file.exists
