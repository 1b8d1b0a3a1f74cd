"""Config flow: Plex by URL and token or plex.tv, services as subentries, over real HTTP."""

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResult, FlowResultType
import pytest

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.connections import PURPOSE_PLEX_TOKEN, api_key_purpose
from custom_components.smartplex.const import (
    CONF_API_KEY_ENCRYPTED,
    CONF_TOKEN_ENCRYPTED,
    DOMAIN,
)
from custom_components.smartplex.credentials import (
    DATA_VAULT,
    STORAGE_KEY,
    async_get_vault,
)
from simulators import Fault, SimulatorStack
from simulators.arr import ArrSimulator
from simulators.plex import PlexSimulator

from .common import make_entry, service_of, service_states, setup_entry

CLOSED_PORT_URL = "http://127.0.0.1:9"


async def start_manual(hass: HomeAssistant) -> FlowResult:
    """Open the flow and choose to enter an address and token."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["plex_tv", "manual"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "manual"
    return result


def plex_input(stack: SimulatorStack, **changes: Any) -> dict[str, Any]:
    """Return a correct manual form for the simulated Plex, with changes."""
    return {
        CONF_URL: stack.plex.url,
        CONF_TOKEN: stack.plex.token,
        CONF_VERIFY_SSL: True,
    } | changes


async def assert_token_stored(
    hass: HomeAssistant, entry: ConfigEntry, token: str
) -> None:
    """The entry holds the token only as a ciphertext that decrypts to it."""
    assert CONF_TOKEN not in entry.data
    assert token not in str(entry.data)
    vault = await async_get_vault(hass)
    assert vault.decrypt(entry.data[CONF_TOKEN_ENCRYPTED], PURPOSE_PLEX_TOKEN) == token


async def test_manual_creates_entry(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A good address and token create an entry named after the server."""
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack, **{CONF_URL: stack.plex.url + "/"})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.title == stack.plex.friendly_name
    assert entry.unique_id == stack.plex.machine_identifier
    assert entry.data[CONF_URL] == stack.plex.url
    assert entry.data[CONF_VERIFY_SSL] is True
    await assert_token_stored(hass, entry, stack.plex.token)
    await hass.async_block_till_done()
    assert entry.runtime_data.server.machine_identifier == stack.plex.machine_identifier


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("ftp://127.0.0.1:32400", CONF_URL),
        ("not a url", CONF_URL),
        ("http://admin:secret@127.0.0.1:32400", CONF_URL),
        ("http://127.0.0.1:32400/?X-Plex-Token=abc", CONF_URL),
        ("http://" + "a" * 3000 + ".example", CONF_URL),
    ],
    ids=["ftp", "not_a_url", "credentials", "query", "too_long"],
)
async def test_manual_rejects_bad_urls(
    hass: HomeAssistant, stack: SimulatorStack, url: str, field: str
) -> None:
    """Unusable addresses are refused before anything is contacted; the flow recovers."""
    result = await start_manual(hass)
    before = len(stack.plex.requests)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack, **{CONF_URL: url})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: "invalid_url"}
    assert len(stack.plex.requests) == before
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("fault", "errors"),
    [
        (Fault.SERVER_ERROR, {"base": "cannot_connect"}),
        (Fault.RATE_LIMITED, {"base": "cannot_connect"}),
        (Fault.TRUNCATED, {"base": "cannot_connect"}),
        (Fault.NOT_FOUND, {"base": "not_plex_server"}),
        (Fault.MALFORMED, {"base": "not_plex_server"}),
        (Fault.DOWN, {"base": "cannot_connect"}),
    ],
)
async def test_manual_plex_faults(
    hass: HomeAssistant, stack: SimulatorStack, fault: Fault, errors: dict[str, str]
) -> None:
    """Each way Plex can fail gives its own error, and the flow then succeeds."""
    result = await start_manual(hass)
    await stack.plex.async_set_fault(fault)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    await stack.plex.async_clear_fault()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_manual_wrong_token(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A token Plex does not know is an invalid_auth error on the token field."""
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack, **{CONF_TOKEN: "wrong-token"})
    )
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}
    # The secret is never offered back to the browser.
    assert "wrong-token" not in str(result)


@pytest.mark.parametrize(
    ("service", "error"),
    [
        (ServiceKind.SONARR, "not_plex_server"),
        (ServiceKind.OVERSEERR, "not_plex_server"),
    ],
)
async def test_manual_not_plex(
    hass: HomeAssistant, stack: SimulatorStack, service: ServiceKind, error: str
) -> None:
    """Another service at the address is named as not being Plex."""
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        plex_input(stack, **{CONF_URL: service_of(stack, service).url}),
    )
    assert result["errors"] == {"base": error}


async def test_manual_unreachable(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Nothing listening is cannot_connect."""
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack, **{CONF_URL: CLOSED_PORT_URL})
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_manual_unexpected_error(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A bug in our code is reported as unknown, not as a crash of the dialog."""
    result = await start_manual(hass)
    with patch(
        "custom_components.smartplex.api.plex.PlexClient.async_connect",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], plex_input(stack)
        )
    assert result["errors"] == {"base": "unknown"}


async def test_manual_already_configured(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The same server cannot be added twice."""
    await setup_entry(hass, stack)
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def start_plex_tv(hass: HomeAssistant) -> FlowResult:
    """Open the flow and choose plex.tv sign-in."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "plex_tv"}
    )


def listen_for_progress(hass: HomeAssistant) -> asyncio.Event:
    """Return an event set when a flow moves on by itself (the plex.tv poller)."""
    progressed = asyncio.Event()

    @callback
    def _progressed(_event: Event) -> None:
        progressed.set()

    hass.bus.async_listen("data_entry_flow_progressed", _progressed)
    return progressed


async def wait_for_progress(hass: HomeAssistant, progressed: asyncio.Event) -> None:
    """Wait until the plex.tv poller moved the flow on."""
    async with asyncio.timeout(5):
        await progressed.wait()
    await hass.async_block_till_done()


async def test_plex_tv_sign_in(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Signing in on plex.tv finds the owned server and connects to it."""
    progressed = listen_for_progress(hass)
    result = await start_plex_tv(hass)
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    assert result["step_id"] == "plex_tv_wait"
    (pin_id, pin), *_ = stack.plextv.pins.items()
    assert result["url"].startswith("https://app.plex.tv/auth#?")
    assert f"code={pin.code}" in result["url"]
    stack.plextv.authorize_pin(pin_id)
    await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == stack.plex.machine_identifier
    assert entry.data[CONF_URL] == stack.plex.url
    await assert_token_stored(hass, entry, stack.plex.token)


async def test_plex_tv_timeout(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Nobody approving the PIN ends the flow with a clear reason."""
    progressed = listen_for_progress(hass)
    with patch("custom_components.smartplex.config_flow.PLEX_TV_PIN_TIMEOUT", 0.05):
        result = await start_plex_tv(hass)
        await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "plex_tv_timeout"


async def test_plex_tv_unavailable(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """plex.tv being down aborts with a hint to enter the address instead."""
    await stack.plextv.async_set_fault(Fault.DOWN)
    result = await start_plex_tv(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "plex_tv_unavailable"


async def test_plex_tv_server_unreachable(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A server plex.tv lists but Home Assistant cannot reach aborts with its name."""
    progressed = listen_for_progress(hass)
    result = await start_plex_tv(hass)
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    await stack.plex.async_set_fault(Fault.DOWN)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "server_unreachable"
    assert result["description_placeholders"] == {"name": stack.plex.friendly_name}


async def test_plex_tv_flow_closed_stops_polling(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Closing the dialog stops the plex.tv poller."""
    result = await start_plex_tv(hass)
    await asyncio.sleep(0.05)
    hass.config_entries.flow.async_abort(result["flow_id"])
    await hass.async_block_till_done()
    await asyncio.sleep(0.05)
    polls = len(stack.plextv.requests)
    assert polls > 1
    await asyncio.sleep(0.1)
    assert len(stack.plextv.requests) == polls


async def start_service(
    hass: HomeAssistant, entry: ConfigEntry, kind: ServiceKind
) -> FlowResult:
    """Open the add-service dialog for one kind."""
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, str(kind)), context={"source": SOURCE_USER}
    )


def service_input(
    stack: SimulatorStack, kind: ServiceKind, **changes: Any
) -> dict[str, Any]:
    """Return a correct service form, with changes."""
    sim = service_of(stack, kind)
    return {
        CONF_URL: sim.url,
        CONF_API_KEY: sim.api_key,
        CONF_VERIFY_SSL: True,
    } | changes


@pytest.mark.parametrize("kind", list(ServiceKind)[1:])
async def test_add_service(
    hass: HomeAssistant, stack: SimulatorStack, kind: ServiceKind
) -> None:
    """Each optional service is added after a real connection test, its key encrypted."""
    entry = await setup_entry(hass, stack)
    result = await start_service(hass, entry, kind)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], service_input(stack, kind)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    (subentry,) = entry.subentries.values()
    sim = service_of(stack, kind)
    assert subentry.subentry_type == kind
    assert subentry.unique_id == sim.url
    assert sim.api_key not in str(subentry.data)
    vault = await async_get_vault(hass)
    assert (
        vault.decrypt(subentry.data[CONF_API_KEY_ENCRYPTED], api_key_purpose(kind))
        == sim.api_key
    )
    # The entry reloaded and now uses the service.
    (key,) = entry.runtime_data.services
    health = entry.runtime_data.health.health[key]
    assert (str(health.status), health.version) == ("ok", sim.version)


@pytest.mark.parametrize("kind", list(ServiceKind)[1:])
@pytest.mark.parametrize(
    ("fault", "errors"),
    [
        (Fault.UNAUTHORIZED, {CONF_API_KEY: "invalid_auth"}),
        (Fault.SERVER_ERROR, {"base": "cannot_connect"}),
        (Fault.MALFORMED, {"base": "wrong_service"}),
        (Fault.TRUNCATED, {"base": "cannot_connect"}),
        (Fault.DOWN, {"base": "cannot_connect"}),
    ],
)
async def test_add_service_faults(
    hass: HomeAssistant,
    stack: SimulatorStack,
    kind: ServiceKind,
    fault: Fault,
    errors: dict[str, str],
) -> None:
    """A failing service gives a field or base error; the dialog then succeeds."""
    entry = await setup_entry(hass, stack)
    result = await start_service(hass, entry, kind)
    sim = service_of(stack, kind)
    await sim.async_set_fault(fault)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], service_input(stack, kind)
    )
    assert result["errors"] == errors
    await sim.async_clear_fault()
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], service_input(stack, kind)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("kind", "other"),
    [
        (ServiceKind.SONARR, ServiceKind.RADARR),
        (ServiceKind.RADARR, ServiceKind.SONARR),
        (ServiceKind.TAUTULLI, ServiceKind.OVERSEERR),
        (ServiceKind.OVERSEERR, ServiceKind.TAUTULLI),
    ],
)
async def test_add_service_wrong_service(
    hass: HomeAssistant, stack: SimulatorStack, kind: ServiceKind, other: ServiceKind
) -> None:
    """Pointing a service at another one is named, not called a bad key."""
    entry = await setup_entry(hass, stack)
    result = await start_service(hass, entry, kind)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        service_input(
            stack,
            kind,
            **{
                CONF_URL: service_of(stack, other).url,
                CONF_API_KEY: service_of(stack, other).api_key,
            },
        ),
    )
    assert result["errors"] == {"base": "wrong_service"}


async def test_add_service_wrong_key_and_bad_url(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A wrong key and a bad URL are told apart."""
    entry = await setup_entry(hass, stack)
    result = await start_service(hass, entry, ServiceKind.RADARR)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        service_input(stack, ServiceKind.RADARR, **{CONF_API_KEY: "nope"}),
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        service_input(stack, ServiceKind.RADARR, **{CONF_URL: "radarr.local"}),
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}


async def test_add_service_twice(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """The same Radarr cannot be added twice; a single-instance service refuses a second."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR, ServiceKind.TAUTULLI))
    result = await start_service(hass, entry, ServiceKind.RADARR)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], service_input(stack, ServiceKind.RADARR)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    result = await start_service(hass, entry, ServiceKind.TAUTULLI)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "single_instance"


async def test_reconfigure_service(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A service's URL changes with its key kept; a wrong new key is refused."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR,))
    (subentry,) = entry.subentries.values()
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["step_id"] == "reconfigure"
    moved = ArrSimulator("Sonarr", api_key=stack.sonarr.api_key)
    await moved.start()
    new_url = moved.url
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_URL: new_url, CONF_API_KEY: "bad", CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {CONF_API_KEY: "invalid_auth"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: new_url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries[subentry.subentry_id]
    assert subentry.data[CONF_URL] == new_url
    assert entry.runtime_data.services[subentry.subentry_id].url == new_url
    assert service_states(entry) == {"sonarr": ("ok", None)}
    assert moved.requests
    await moved.stop()


async def test_reconfigure_plex(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Plex's URL changes on the same entry; the token is kept when left empty."""
    entry = await setup_entry(hass, stack)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    moved = PlexSimulator(token=stack.plex.token)
    moved.machine_identifier = stack.plex.machine_identifier
    await moved.start()
    new_url = moved.url
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: new_url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_URL] == new_url
    await assert_token_stored(hass, entry, stack.plex.token)
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert moved.requests
    await moved.stop()


async def test_reconfigure_plex_errors(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Reconfigure refuses a bad URL, a bad token and another server."""
    entry = await setup_entry(hass, stack)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "gopher://x", CONF_VERIFY_SSL: True}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: stack.plex.url, CONF_TOKEN: "bad", CONF_VERIFY_SSL: True},
    )
    assert result["errors"] == {CONF_TOKEN: "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: stack.sonarr.url, CONF_VERIFY_SSL: True}
    )
    assert result["errors"] == {"base": "not_plex_server"}
    stack.plex.machine_identifier = "another-server"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: stack.plex.url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_server"


async def test_plex_tv_choose_among_servers(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """With several owned servers the user picks one; shared servers are not offered."""
    second = PlexSimulator(seed=7, friendly_name="Cabin")
    shared = PlexSimulator(seed=8, friendly_name="Friend's server")
    await second.start()
    await shared.start()
    stack.plextv.servers += [(second, True), (shared, False)]
    progressed = listen_for_progress(hass)
    result = await start_plex_tv(hass)
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "plex_tv_server"
    options = result["data_schema"].schema["server"].config["options"]
    assert {option["label"] for option in options} == {
        stack.plex.friendly_name,
        "Cabin",
    }
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"server": second.machine_identifier}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cabin"
    assert result["result"].data[CONF_URL] == second.url
    await second.stop()
    await shared.stop()


async def test_plex_tv_only_shared_servers(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """An account that owns no server cannot set SmartPlex up (deletions need the owner)."""
    stack.plextv.servers = [(stack.plex, False)]
    progressed = listen_for_progress(hass)
    result = await start_plex_tv(hass)
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_servers"


async def test_plex_tv_hiccups(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """A plex.tv error while waiting is waited out; one while listing servers aborts."""
    progressed = listen_for_progress(hass)
    result = await start_plex_tv(hass)
    stack.plextv.set_fault(Fault.SERVER_ERROR)
    await asyncio.sleep(0.05)
    polls_during_fault = len(stack.plextv.requests)
    stack.plextv.clear_fault()
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    assert polls_during_fault > 2
    stack.plextv.set_fault(Fault.SERVER_ERROR)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "plex_tv_unavailable"


async def test_reconfigure_plex_needs_token_when_unreadable(
    hass: HomeAssistant, stack: SimulatorStack, hass_storage: dict[str, Any]
) -> None:
    """With the stored token unreadable, reconfigure asks for one, then reloads."""
    entry = await make_entry(hass, stack)
    hass.data.pop(DATA_VAULT)
    hass_storage.pop(STORAGE_KEY, None)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: stack.plex.url, CONF_VERIFY_SSL: True}
    )
    assert result["errors"] == {CONF_TOKEN: "token_needed"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: stack.plex.url, CONF_TOKEN: stack.plex.token, CONF_VERIFY_SSL: True},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_service_errors(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Service reconfigure refuses a bad URL, another service's URL, an unreadable key."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.RADARR))
    sonarr = next(s for s in entry.subentries.values() if s.subentry_type == "sonarr")
    result = await entry.start_subentry_reconfigure_flow(hass, sonarr.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: "sonarr", CONF_VERIFY_SSL: True}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: stack.radarr.url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    hass.config_entries.async_update_subentry(
        entry,
        sonarr,
        data={**sonarr.data, CONF_API_KEY_ENCRYPTED: "v1:000000000000:AAAA"},
    )
    await hass.async_block_till_done()
    result = await entry.start_subentry_reconfigure_flow(hass, sonarr.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_URL: stack.sonarr.url, CONF_VERIFY_SSL: True}
    )
    assert result["errors"] == {CONF_API_KEY: "api_key_needed"}
    with patch(
        "custom_components.smartplex.api.arr.ArrClient.async_get_service_info",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                CONF_URL: stack.sonarr.url,
                CONF_API_KEY: stack.sonarr.api_key,
                CONF_VERIFY_SSL: True,
            },
        )
    assert result["errors"] == {"base": "unknown"}
