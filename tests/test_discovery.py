"""Zeroconf discovery: a Plex server that announces itself is offered, a moved one followed."""

from ipaddress import ip_address
import json
from pathlib import Path

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_ZEROCONF,
    ConfigEntryState,
)
from homeassistant.const import CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartplex.api import PlexConnection, PlexServerResource
from custom_components.smartplex.config_flow import (
    _announced_url,
    _connection_order,
    _follows_announcement,
)
from custom_components.smartplex.const import DOMAIN
from simulators import SimulatorStack
from simulators.plex import PlexSimulator

from .common import make_entry, setup_entry
from .test_config_flow import (
    assert_token_stored,
    listen_for_progress,
    plex_input,
    start_manual,
    wait_for_progress,
)

SERVICE_TYPE = "_plexmediasvr._tcp.local."
CLOSED_PORT = 9
STRINGS = json.loads(
    (
        Path(__file__).parent.parent / "custom_components" / DOMAIN / "strings.json"
    ).read_text(encoding="utf-8")
)


def announcement(
    plex: PlexSimulator,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    txt: dict[str, str] | None = None,
) -> ZeroconfServiceInfo:
    """Return what Home Assistant's zeroconf hands over when a Plex server announces."""
    return ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(host)],
        port=plex.port if port is None else port,
        hostname="plexbox.local.",
        type=SERVICE_TYPE,
        name=f"{plex.friendly_name}.{SERVICE_TYPE}",
        properties={
            "machineIdentifier": plex.machine_identifier,
            "version": plex.version,
        }
        if txt is None
        else txt,
    )


async def discover(hass: HomeAssistant, info: ZeroconfServiceInfo) -> FlowResult:
    """Start the flow Home Assistant starts for an announcement."""
    return await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=info
    )


def identity_requests(plex: PlexSimulator) -> int:
    """Count the /identity requests a simulated Plex received."""
    return sum(request.path == "/identity" for request in plex.requests)


async def test_discovered_server_with_token(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The found server is named, its address filled in; a token creates the entry."""
    result = await discover(hass, announcement(stack.plex))
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "zeroconf_confirm"
    assert result["menu_options"] == ["plex_tv", "manual"]
    assert result["description_placeholders"] == {
        "name": stack.plex.friendly_name,
        "url": stack.plex.url,
    }
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["title_placeholders"]["name"] == stack.plex.friendly_name
    assert flow["context"]["unique_id"] == stack.plex.machine_identifier

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    assert result["step_id"] == "manual"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested[CONF_URL] == stack.plex.url
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == stack.plex.machine_identifier
    assert entry.data[CONF_URL] == stack.plex.url
    await assert_token_stored(hass, entry, stack.plex.token)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_discovered_server_with_plex_tv(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Signing in on plex.tv connects to the server found, not one to pick from a list."""
    cabin = PlexSimulator(seed=7, friendly_name="Cabin")
    await cabin.start()
    stack.plextv.servers.append((cabin, True))
    progressed = listen_for_progress(hass)
    result = await discover(hass, announcement(stack.plex))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "plex_tv"}
    )
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == stack.plex.machine_identifier
    assert entry.data[CONF_URL] == stack.plex.url
    await assert_token_stored(hass, entry, stack.plex.token)
    assert cabin.requests == []
    await cabin.stop()


async def test_discovered_server_not_owned_by_the_account(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A plex.tv account that does not own the server found cannot set it up."""
    cabin = PlexSimulator(seed=7, friendly_name="Cabin")
    stack.plextv.servers = [(cabin, True), (stack.plex, False)]
    progressed = listen_for_progress(hass)
    result = await discover(hass, announcement(stack.plex))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "plex_tv"}
    )
    stack.plextv.authorize_pin(next(iter(stack.plextv.pins)))
    await wait_for_progress(hass, progressed)
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "discovered_not_owned"
    assert result["description_placeholders"] == {"name": stack.plex.friendly_name}
    assert "{name}" in STRINGS["config"]["abort"]["discovered_not_owned"]


@pytest.mark.parametrize(
    "txt",
    [{}, {"version": "1.42.2.10156-f737b826c"}, {"machineIdentifier": ""}],
    ids=["no_txt", "no_identifier", "empty_identifier"],
)
async def test_announcement_without_identifier_asks_the_server(
    hass: HomeAssistant, stack: SimulatorStack, txt: dict[str, str]
) -> None:
    """Without a machine identifier in the TXT record, /identity names the server."""
    result = await discover(hass, announcement(stack.plex, txt=txt))
    assert result["step_id"] == "zeroconf_confirm"
    assert identity_requests(stack.plex) == 1
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["unique_id"] == stack.plex.machine_identifier


async def test_announced_identifier_is_checked_with_the_server(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """What the server itself says wins over a TXT record naming another server."""
    txt = {"MACHINEIDENTIFIER": "someone-else"}
    result = await discover(hass, announcement(stack.plex, txt=txt))
    assert result["step_id"] == "zeroconf_confirm"
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["unique_id"] == stack.plex.machine_identifier


@pytest.mark.parametrize(
    ("port", "reason"),
    [(CLOSED_PORT, "cannot_connect"), (None, "not_plex_server")],
    ids=["unreachable", "not_plex"],
)
async def test_unusable_announcement_aborts(
    hass: HomeAssistant, stack: SimulatorStack, port: int | None, reason: str
) -> None:
    """A server that does not answer, or is not Plex, is not offered; the reason reads."""
    info = announcement(stack.plex, port=port or stack.sonarr.port, txt={})
    result = await discover(hass, info)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == reason
    assert STRINGS["config"]["abort"][reason]
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


@pytest.mark.parametrize("txt", [None, {}], ids=["txt", "no_txt"])
async def test_known_server_at_its_address(
    hass: HomeAssistant, stack: SimulatorStack, txt: dict[str, str] | None
) -> None:
    """A configured server announcing its stored address ends the flow, entry unchanged."""
    entry = await setup_entry(hass, stack)
    data = dict(entry.data)
    before = identity_requests(stack.plex)
    result = await discover(hass, announcement(stack.plex, txt=txt))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert dict(entry.data) == data
    assert identity_requests(stack.plex) - before == (0 if txt is None else 1)


async def test_known_server_moved_is_followed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A loaded server announcing a new LAN address of the same kind moves there."""
    entry = await setup_entry(hass, stack)
    moved = PlexSimulator(seed=0, world=stack.world)  # the same server, elsewhere
    await moved.start()
    assert moved.machine_identifier == stack.plex.machine_identifier
    result = await discover(hass, announcement(moved))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == moved.url
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.server.machine_identifier == moved.machine_identifier
    assert any(request.path == "/" for request in moved.requests)
    await moved.stop()


async def test_server_waiting_for_setup_is_followed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """An entry retrying setup at an old address loads once the server is announced."""
    entry = await make_entry(hass, stack)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_URL: f"http://127.0.0.1:{CLOSED_PORT}"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    result = await discover(hass, announcement(stack.plex, txt={}))
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == stack.plex.url
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    "stored",
    [
        "https://127.0.0.1:{port}",
        "https://127-0-0-1.0123456789abcdef.plex.direct:{port}",
        "http://plex.example.com:32400",
        "http://plexbox.local:32400",
        "http://93.184.216.34:32400",
        "http://192.168.1.20:32400",
        "http://[::1]:{port}",
    ],
    ids=[
        "https_lan",
        "plex_direct",
        "dns_name",
        "mdns_name",
        "public_address",
        "private_to_loopback",
        "ipv6_to_ipv4",
    ],
)
@pytest.mark.parametrize("txt", [None, {}], ids=["txt", "no_txt"])
async def test_known_server_url_kept(
    hass: HomeAssistant,
    stack: SimulatorStack,
    stored: str,
    txt: dict[str, str] | None,
) -> None:
    """Only http on a LAN address follows to one of its kind; no https downgrade."""
    entry = await make_entry(hass, stack)
    stored_url = stored.format(port=stack.plex.port)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_URL: stored_url}
    )
    result = await discover(hass, announcement(stack.plex, txt=txt))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == stored_url
    # With the identifier announced, nothing is asked of the server.
    assert identity_requests(stack.plex) == (0 if txt is None else 1)


async def test_moved_address_that_is_another_server(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """An announcement naming a known server is not believed without /identity."""
    entry = await make_entry(hass, stack)
    old_url = f"http://127.0.0.1:{CLOSED_PORT}"
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_URL: old_url}
    )
    cabin = PlexSimulator(seed=7, friendly_name="Cabin")
    await cabin.start()
    info = announcement(cabin, txt={"machineIdentifier": stack.plex.machine_identifier})
    result = await discover(hass, info)
    assert entry.data[CONF_URL] == old_url
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"]["url"] == cabin.url
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["unique_id"] == cabin.machine_identifier
    await cabin.stop()


@pytest.mark.parametrize("txt", [None, {}], ids=["txt", "no_txt"])
async def test_ignored_server(
    hass: HomeAssistant, stack: SimulatorStack, txt: dict[str, str] | None
) -> None:
    """A server the user ignored is not offered again."""
    MockConfigEntry(
        domain=DOMAIN,
        source=SOURCE_IGNORE,
        unique_id=stack.plex.machine_identifier,
        data={},
    ).add_to_hass(hass)
    result = await discover(hass, announcement(stack.plex, txt=txt))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_second_announcement_of_a_server_in_setup(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The same server announced twice (IPv4 and IPv6, or again) is offered once."""
    first = await discover(hass, announcement(stack.plex))
    assert first["type"] is FlowResultType.MENU
    for txt in (None, {}):
        again = await discover(hass, announcement(stack.plex, txt=txt))
        assert again["type"] is FlowResultType.ABORT
        assert again["reason"] == "already_in_progress"
        assert again["translation_domain"] == "homeassistant"  # HA words this one
    assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 1


async def test_manual_setup_while_offered(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Adding the offered server by hand points to the offer; the offer then finishes."""
    offer = await discover(hass, announcement(stack.plex))
    result = await start_manual(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_in_progress"
    result = await hass.config_entries.flow.async_configure(
        offer["flow_id"], {"next_step_id": "manual"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], plex_input(stack)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("stored", "announced", "follows"),
    [
        ("http://192.168.1.5:32400", "http://192.168.1.6:32400", True),
        ("http://10.0.0.5:32400", "http://192.168.1.6:32400", True),
        ("http://192.168.1.5:32400", "http://192.168.1.5:32401", True),
        ("http://[fd00::5]:32400", "http://[fd00::6]:32400", True),
        ("http://169.254.1.5:32400", "http://169.254.1.6:32400", True),
        ("http://192.168.1.5:32400", "http://192.168.1.5:32400", False),
        ("https://192.168.1.5:32400", "http://192.168.1.6:32400", False),
        ("http://192.168.1.5:32400", "http://[fd00::6]:32400", False),
        ("http://127.0.0.1:32400", "http://192.168.1.6:32400", False),
        ("http://169.254.1.5:32400", "http://192.168.1.6:32400", False),
        ("http://93.184.216.34:32400", "http://192.168.1.6:32400", False),
        (
            "https://192-168-1-5.abc.plex.direct:32400",
            "http://192.168.1.6:32400",
            False,
        ),
        ("http://plexbox.local:32400", "http://192.168.1.6:32400", False),
    ],
    ids=[
        "private_moved",
        "private_other_subnet",
        "port_changed",
        "ipv6_moved",
        "link_local_moved",
        "unchanged",
        "https_kept",
        "ipv4_to_ipv6",
        "loopback_to_lan",
        "link_local_to_private",
        "public_kept",
        "plex_direct_kept",
        "name_kept",
    ],
)
def test_which_stored_urls_follow(stored: str, announced: str, follows: bool) -> None:
    """The rule: plain http on a LAN address moves to an address of the same kind."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_URL: stored})
    assert _follows_announcement(entry, announced) is follows
    assert _follows_announcement(None, announced) is False


def _resource(*connections: tuple[str, bool, bool]) -> PlexServerResource:
    """Return a plex.tv resource with connections given as (uri, local, relay)."""
    return PlexServerResource(
        name="Plex",
        machine_identifier="abc",
        access_token="token",
        owned=True,
        connections=tuple(
            PlexConnection(uri=uri, local=local, relay=relay)
            for uri, local, relay in connections
        ),
    )


def test_announced_address_tried_after_local_connections() -> None:
    """plex.tv's local (https) addresses first, then the announced one, remote, relays."""
    resource = _resource(
        ("https://relay.plex.direct:8443", False, True),
        ("https://203-0-113-10.x.plex.direct:32400", False, False),
        ("https://192-168-1-5.x.plex.direct:32400", True, False),
        ("http://192.168.1.5:32400", True, False),
    )
    assert _connection_order(resource, "http://192.168.1.6:32400") == [
        "https://192-168-1-5.x.plex.direct:32400",
        "http://192.168.1.5:32400",
        "http://192.168.1.6:32400",
        "https://203-0-113-10.x.plex.direct:32400",
        "https://relay.plex.direct:8443",
    ]
    assert _connection_order(resource, "http://192.168.1.5:32400") == [
        "https://192-168-1-5.x.plex.direct:32400",
        "http://192.168.1.5:32400",
        "https://203-0-113-10.x.plex.direct:32400",
        "https://relay.plex.direct:8443",
    ]


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("192.168.1.5", 32400, "http://192.168.1.5:32400"),
        ("fd00::5", 32401, "http://[fd00::5]:32401"),
        ("192.168.1.5", None, "http://192.168.1.5:32400"),
    ],
    ids=["ipv4", "ipv6", "no_port"],
)
def test_announced_url(host: str, port: int | None, url: str) -> None:
    """The announced address as a URL: plain http, IPv6 in brackets, 32400 by default."""
    info = ZeroconfServiceInfo(
        ip_address=ip_address(host),
        ip_addresses=[ip_address(host)],
        port=port,
        hostname="plexbox.local.",
        type=SERVICE_TYPE,
        name=f"Plex.{SERVICE_TYPE}",
        properties={},
    )
    assert _announced_url(info) == url


async def test_nothing_stored_by_an_abandoned_discovery(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Closing the offer leaves no entry and sent no token anywhere."""
    result = await discover(hass, announcement(stack.plex))
    hass.config_entries.flow.async_abort(result["flow_id"])
    assert hass.config_entries.async_entries(DOMAIN) == []
    tokens = {request.headers.get("X-Plex-Token") for request in stack.plex.requests}
    assert tokens == {""}
