"""Contract tests of the plex.tv simulator."""

import asyncio

import aiohttp
from plexapi.myplex import MyPlexPinLogin
import pytest

from simulators import SimulatorStack

from .helpers import parse_xml

CLIENT = {"X-Plex-Client-Identifier": "smartplex-test", "X-Plex-Product": "SmartPlex"}
JSON = {"Accept": "application/json"}


async def test_pin_lifecycle(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{stack.plextv.url}/api/v2/pins",
        params={"strong": "true"},
        headers=CLIENT | JSON,
    ) as response:
        assert response.status == 201
        pin = await response.json()
    assert pin["product"] == "SmartPlex"
    assert pin["clientIdentifier"] == "smartplex-test"
    assert pin["trusted"] is False
    assert pin["authToken"] is None
    assert pin["newRegistration"] is None
    assert pin["expiresIn"] == 1800
    assert len(pin["code"]) == 25
    assert pin["createdAt"].endswith("Z")
    assert pin["expiresAt"].endswith("Z")
    assert pin["location"]["code"] == "US"
    assert stack.plextv.pins[pin["id"]].code == pin["code"]

    poll = f"{stack.plextv.url}/api/v2/pins/{pin['id']}"
    async with session.get(poll, headers=CLIENT | JSON) as response:
        assert (await response.json())["authToken"] is None

    assert stack.plextv.authorize_pin(pin["id"]) == stack.plex.token
    async with session.get(poll, headers=CLIENT | JSON) as response:
        assert response.status == 200
        assert (await response.json())["authToken"] == stack.plex.token


async def test_pin_authorized_with_another_token(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{stack.plextv.url}/api/v2/pins", headers=CLIENT | JSON
    ) as response:
        pin = await response.json()
    assert len(pin["code"]) == 4
    assert stack.plextv.authorize_pin(pin["id"], "other-token") == "other-token"
    headers = {"X-Plex-Token": "other-token"} | JSON
    async with session.get(
        f"{stack.plextv.url}/api/v2/user", headers=headers
    ) as response:
        assert response.status == 200
        assert (await response.json())["authToken"] == "other-token"


async def test_pin_needs_a_client_identifier(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        f"{stack.plextv.url}/api/v2/pins",
        headers={"X-Plex-Product": "SmartPlex"} | JSON,
    ) as response:
        assert response.status == 400
        body = await response.json()
    assert body["errors"][0]["message"] == "X-Plex-Client-Identifier is missing"
    assert not stack.plextv.pins


@pytest.mark.parametrize("client", ["someone-else", None])
async def test_pin_seen_only_by_its_client(
    stack: SimulatorStack, session: aiohttp.ClientSession, client: str | None
) -> None:
    async with session.post(
        f"{stack.plextv.url}/api/v2/pins", headers=CLIENT | JSON
    ) as response:
        pin_id = (await response.json())["id"]
    headers = JSON | ({"X-Plex-Client-Identifier": client} if client else {})
    async with session.get(
        f"{stack.plextv.url}/api/v2/pins/{pin_id}", headers=headers
    ) as response:
        assert response.status == (404 if client else 400)


async def test_unknown_pin_is_404(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(
        f"{stack.plextv.url}/api/v2/pins/12345", headers=CLIENT | JSON
    ) as response:
        assert response.status == 404
        assert (await response.json())["errors"][0]["status"] == 404


async def test_plexapi_pin_login(stack: SimulatorStack) -> None:
    def create() -> MyPlexPinLogin:
        login = MyPlexPinLogin(headers=CLIENT, oauth=True)
        login.PINS = f"{stack.plextv.url}/api/v2/pins"
        assert login.oauthUrl()
        return login

    login = await asyncio.to_thread(create)
    stack.plextv.authorize_pin(int(login._id))
    assert await asyncio.to_thread(login.checkLogin)
    assert login.token == stack.plex.token


async def test_user(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    url = f"{stack.plextv.url}/api/v2/user"
    headers = {"X-Plex-Token": stack.plex.token}
    async with session.get(url, headers=headers | JSON) as response:
        user = await response.json()
    async with session.get(url, headers=headers) as response:
        root = parse_xml(await response.text())
    assert user["username"] == root.get("username") == stack.plex.username
    assert user["authToken"] == root.get("authToken") == stack.plex.token
    assert user["subscription"]["active"] is True
    assert root.tag == "user"


@pytest.mark.parametrize("path", ["/api/v2/user", "/api/v2/resources"])
async def test_bad_token(
    stack: SimulatorStack, session: aiohttp.ClientSession, path: str
) -> None:
    headers = {"X-Plex-Token": "wrong"}
    async with session.get(
        f"{stack.plextv.url}{path}", headers=headers | JSON
    ) as response:
        assert response.status == 401
        assert await response.json() == {
            "errors": [
                {
                    "code": 1001,
                    "message": "User could not be authenticated",
                    "status": 401,
                }
            ]
        }
    async with session.get(f"{stack.plextv.url}{path}", headers=headers) as response:
        assert response.status == 401
        error = parse_xml(await response.text()).find("error")
        assert error is not None
        assert error.get("code") == "1001"


async def test_resources_point_at_the_plex_simulator(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    url = f"{stack.plextv.url}/api/v2/resources"
    params = {"includeHttps": "1", "includeRelay": "1"}
    headers = {"X-Plex-Token": stack.plex.token}
    async with session.get(url, params=params, headers=headers | JSON) as response:
        resources = await response.json()
    async with session.get(url, params=params, headers=headers) as response:
        root = parse_xml(await response.text())

    assert isinstance(resources, list)
    (server,) = resources
    assert server["provides"] == "server"
    assert server["clientIdentifier"] == stack.plex.machine_identifier
    assert server["accessToken"] == stack.plex.token
    assert server["name"] == stack.plex.friendly_name
    assert server["owned"] is True
    assert server["connections"] == [
        {
            "protocol": "http",
            "address": "127.0.0.1",
            "port": stack.plex.port,
            "uri": stack.plex.url,
            "local": True,
            "relay": False,
            "IPv6": False,
        }
    ]
    assert root.tag == "resources"
    resource = root.find("resource")
    assert resource is not None
    assert resource.get("clientIdentifier") == stack.plex.machine_identifier
    connection = resource.find("connections/connection")
    assert connection is not None
    assert connection.get("uri") == stack.plex.url
    assert connection.get("local") == "1"
