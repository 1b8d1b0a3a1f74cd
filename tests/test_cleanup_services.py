"""find_candidates and explain: rules applied to the simulated household, changing nothing."""

from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack

from .common import open_settings, setup_entry

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


async def add_rule(hass: HomeAssistant, entry: Any, rule: dict[str, Any]) -> Any:
    """Add a named rule through the options flow."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_rule"}
    )
    return await hass.config_entries.options.async_configure(result["flow_id"], rule)


async def test_named_rule_sensors(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A rule added in the options gets candidate and reclaimable sensors."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    result = await add_rule(
        hass, entry, {"name": "Never watched", "level": "movie", "never_played": True}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    expected = never_played_movies(stack)
    state = hass.states.get("sensor.smartplex_test_server_never_watched_candidates")
    assert state.state == str(len(expected))
    assert state.attributes["refused"] is None
    size = hass.states.get("sensor.smartplex_test_server_never_watched_reclaimable")
    assert float(size.state) == pytest.approx(
        sum(stack.world.movies[key].file.size for key in expected) / 1e9
    )
    # The settings form keeps the rules.
    result = await open_settings(hass, entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"full_sync_time": "03:30:00", "health_interval": 5, "not_watched_days": 90},
    )
    await hass.async_block_till_done()
    assert [rule["name"] for rule in entry.options["rules"]] == ["Never watched"]


async def test_named_rule_refused_without_tautulli(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A play rule on Plex's own counts shows unknown, with the reason."""
    entry = await setup_entry(hass, stack)
    await add_rule(
        hass, entry, {"name": "Never watched", "level": "movie", "never_played": True}
    )
    await hass.async_block_till_done()
    state = hass.states.get("sensor.smartplex_test_server_never_watched_candidates")
    assert state.state == "unknown"
    assert state.attributes["refused"]


async def test_rule_form_keep_last_and_empty_shows(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The form offers keep-last, the never-played threshold and remove_empty_show."""
    entry = await setup_entry(hass, stack)
    result = await add_rule(
        hass, entry, {"name": "Old seasons", "level": "movie", "keep_last_seasons": 2}
    )
    assert result["errors"] == {"keep_last_seasons": "rule_wrong_level"}
    rule = {
        "name": "Old seasons",
        "level": "season",
        "keep_last_seasons": 2.0,
        "never_played_added_days": 30.0,
        "remove_empty_show": True,
    }
    result = await add_rule(hass, entry, rule)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["rules"] == [
        rule
        | {"keep_last_seasons": 2, "never_played_added_days": 30, "labels": ["keep"]}
    ]
    stored = entry.options["rules"][0]
    assert (
        type(stored["keep_last_seasons"])
        is type(stored["never_played_added_days"])
        is int
    )


async def test_rule_form_errors_and_removal(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A rule without conditions or with a taken name is refused; rules can be removed."""
    entry = await setup_entry(hass, stack)
    result = await add_rule(hass, entry, {"name": "Nothing", "level": "movie"})
    assert result["errors"] == {"base": "rule_no_conditions"}
    await add_rule(hass, entry, {"name": "Big", "level": "movie", "min_size_gb": 5})
    await hass.async_block_till_done()
    result = await add_rule(
        hass, entry, {"name": "Big", "level": "show", "min_size_gb": 9}
    )
    assert result["errors"] == {"name": "rule_duplicate"}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert "remove_rule" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "remove_rule"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"rules": ["Big"]}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["rules"] == []
    assert hass.states.get("sensor.smartplex_test_server_big_candidates") is None
