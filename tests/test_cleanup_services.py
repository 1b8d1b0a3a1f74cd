"""find_candidates and explain: rules applied to the simulated household, changing nothing."""

from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack

from .common import setup_entry

NEVER_WATCHED = {"name": "Never watched movies", "level": "movie", "never_played": True}


async def call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    """Call a SmartPlex action and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


def never_played_movies(stack: SimulatorStack) -> set[int]:
    """Movies nobody played, not labelled keep, added over a day ago (the world's truth)."""
    played = {play.rating_key for play in stack.world.plays}
    return {
        movie.rating_key
        for movie in stack.world.movies.values()
        if movie.rating_key not in played and "keep" not in movie.labels
    }


async def test_candidates_from_tautulli_data(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """With Tautulli's history, never-watched movies are found, keep-labelled ones not."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    writes_before = [r for r in stack.plex.requests if r.method != "GET"]
    response = await call(
        hass,
        "find_candidates",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": NEVER_WATCHED, "limit": 1000},
    )
    assert response["refused"] is None
    assert {c["rating_key"] for c in response["candidates"]} == never_played_movies(
        stack
    )
    assert response["matched"] == len(response["candidates"])
    assert response["reclaimable"] == sum(c["size"] for c in response["candidates"])
    assert all(c["why"] for c in response["candidates"])
    # Finding candidates changes nothing anywhere.
    assert [r for r in stack.plex.requests if r.method != "GET"] == writes_before


async def test_plex_fallback_refuses_play_rules(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Tautulli, rules on server-wide plays are refused, not guessed."""
    entry = await setup_entry(hass, stack)
    response = await call(
        hass,
        "find_candidates",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": NEVER_WATCHED},
    )
    assert response["refused"]
    assert response["candidates"] == []
    size_only = {"name": "Big", "level": "movie", "min_size_gb": 1}
    response = await call(
        hass,
        "find_candidates",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": size_only, "limit": 1000},
    )
    assert response["refused"] is None
    assert response["matched"] == sum(
        1
        for movie in stack.world.movies.values()
        if movie.file and movie.file.size >= 1e9 and "keep" not in movie.labels
    )


async def test_now_playing_is_never_a_candidate(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """What someone is watching right now is excluded."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    playing = min(never_played_movies(stack))
    stack.plex.now_playing.append((playing, 2))
    response = await call(
        hass,
        "find_candidates",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": NEVER_WATCHED, "limit": 1000},
    )
    assert playing not in {c["rating_key"] for c in response["candidates"]}
    explained = await call(
        hass,
        "explain",
        **{
            ATTR_CONFIG_ENTRY_ID: entry.entry_id,
            "rule": NEVER_WATCHED,
            "rating_key": playing,
        },
    )
    assert explained["verdict"] == "no_match"
    assert "now_playing" in {check["condition"] for check in explained["trace"]}


async def test_sessions_unknown_fails_closed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """If Plex cannot say what is playing, no rule runs."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    stack.plex.set_fault(Fault.SERVER_ERROR)
    with pytest.raises(HomeAssistantError) as err:
        await call(
            hass,
            "find_candidates",
            **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": NEVER_WATCHED},
        )
    assert err.value.translation_key == "now_playing_unknown"
    stack.plex.clear_fault()


async def test_explain_a_watched_movie(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Explain shows each condition with the value it saw."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    watched = next(
        play.rating_key
        for play in stack.world.plays
        if play.rating_key in stack.world.movies
    )
    rule = {"name": "Stale", "level": "movie", "not_played_days": 10_000}
    explained = await call(
        hass,
        "explain",
        **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": rule, "rating_key": watched},
    )
    assert explained["title"] == stack.world.movies[watched].title
    checks = {check["condition"]: check for check in explained["trace"]}
    assert explained["verdict"] == "no_match"
    assert checks["not_played_days"]["outcome"] == "fail"
    assert checks["not_played_days"]["seen"] is not None


@pytest.mark.parametrize(
    "rule",
    [
        {"level": "movie", "never_played": True},
        {"name": "x", "level": "galaxy", "never_played": True},
        {"name": "x", "never_played": True, "colour": "red"},
        {"name": "x", "not_played_days": -3},
        {"name": "x"},
    ],
    ids=["no_name", "bad_level", "unknown_field", "negative", "no_condition"],
)
async def test_bad_rules_are_refused_clearly(
    hass: HomeAssistant, stack: SimulatorStack, rule: dict[str, Any]
) -> None:
    """A rule with a wrong field is a translated validation error naming the field."""
    entry = await setup_entry(hass, stack)
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "find_candidates",
            **{ATTR_CONFIG_ENTRY_ID: entry.entry_id, "rule": rule},
        )
    assert err.value.translation_key == "invalid_rule"
    assert err.value.translation_placeholders["field"]


async def test_explain_an_unknown_item(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Explaining an item that is not in the library says so."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "explain",
            **{
                ATTR_CONFIG_ENTRY_ID: entry.entry_id,
                "rule": NEVER_WATCHED,
                "rating_key": 999_999_999,
            },
        )
    assert err.value.translation_key == "item_not_found"
