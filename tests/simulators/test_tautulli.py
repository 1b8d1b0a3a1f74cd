"""Contract tests of the Tautulli simulator."""

from typing import Any

import aiohttp
import pytest

from simulators import SimulatorStack, TautulliSimulator


async def call(
    session: aiohttp.ClientSession, url: str, **params: str
) -> tuple[int, dict[str, Any]]:
    """Call the API and return the status and the envelope's content."""
    async with session.get(f"{url}/api/v2", params=params) as response:
        return response.status, (await response.json())["response"]


async def test_status(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    key = stack.tautulli.api_key
    assert await call(session, stack.tautulli.url, apikey=key, cmd="status") == (
        200,
        {"result": "success", "message": "Ok", "data": {}},
    )


async def test_server_status(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.tautulli.plex_connected = False
    key = stack.tautulli.api_key
    assert await call(session, stack.tautulli.url, apikey=key, cmd="server_status") == (
        200,
        {"result": "success", "message": None, "data": {"connected": False}},
    )


async def test_arnold(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    status, response = await call(
        session, stack.tautulli.url, apikey=stack.tautulli.api_key, cmd="arnold"
    )
    assert status == 200
    assert response["result"] == "success"
    assert isinstance(response["data"], str)


async def test_get_tautulli_info(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, response = await call(
        session,
        stack.tautulli.url,
        apikey=stack.tautulli.api_key,
        cmd="get_tautulli_info",
    )
    assert response["data"]["tautulli_version"] == stack.tautulli.version
    assert len(response["data"]["tautulli_commit"]) == 40


async def test_get_server_info_points_at_plex(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, response = await call(
        session,
        stack.tautulli.url,
        apikey=stack.tautulli.api_key,
        cmd="get_server_info",
    )
    assert response["data"] == {
        "pms_name": stack.plex.friendly_name,
        "pms_version": stack.plex.version,
        "pms_platform": "Linux",
        "pms_ip": "127.0.0.1",
        "pms_port": stack.plex.port,
        "pms_ssl": 0,
        "pms_url": stack.plex.url,
        "pms_url_manual": 0,
        "pms_identifier": stack.plex.machine_identifier,
        "pms_plexpass": 1,
    }


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"cmd": "status"}, 400, "Parameter apikey is required"),
        ({"apikey": "wrong", "cmd": "status"}, 400, "Invalid apikey"),
        ({"apikey": "wrong"}, 400, "Parameter cmd is required. Possible commands"),
        ({"apikey": "wrong", "cmd": "nope"}, 400, "Unknown command: nope."),
    ],
)
async def test_errors(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    status: int,
    message: str,
) -> None:
    answer = await call(session, stack.tautulli.url, **params)
    assert answer[0] == status
    assert answer[1]["result"] == "error"
    assert answer[1]["message"].startswith(message)
    assert answer[1]["data"] == {}


async def test_versions_before_2_10_5_answer_401(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with TautulliSimulator(version="v2.10.4") as sim:
        status, response = await call(session, sim.url, apikey="wrong", cmd="status")
    assert status == 401
    assert response == {"result": "error", "message": "Invalid apikey", "data": {}}


async def test_post(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    data = {"apikey": stack.tautulli.api_key, "cmd": "status"}
    async with session.post(f"{stack.tautulli.url}/api/v2", data=data) as response:
        assert response.status == 200
        assert (await response.json())["response"]["message"] == "Ok"
