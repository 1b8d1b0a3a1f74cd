"""Contract tests of the Overseerr simulator."""

import aiohttp
import pytest

from simulators import SimulatorStack

FORBIDDEN = {
    "status": 403,
    "error": "You do not have permission to access this endpoint",
}


async def test_status_needs_no_key(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{stack.overseerr.url}/api/v1/status") as response:
        assert response.status == 200
        assert await response.json() == {
            "version": stack.overseerr.version,
            "commitTag": stack.overseerr.commit_tag,
            "updateAvailable": False,
            "commitsBehind": 0,
            "restartRequired": False,
        }


async def test_me_is_the_admin(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Api-Key": stack.overseerr.api_key}
    async with session.get(
        f"{stack.overseerr.url}/api/v1/auth/me", headers=headers
    ) as response:
        user = await response.json()
    assert user["id"] == 1
    assert user["permissions"] == 2
    assert user["displayName"] == user["plexUsername"]
    assert user["createdAt"].endswith(".000Z")


async def test_settings_main(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.overseerr.application_url = "https://requests.example.com"
    headers = {"X-Api-Key": stack.overseerr.api_key}
    async with session.get(
        f"{stack.overseerr.url}/api/v1/settings/main", headers=headers
    ) as response:
        settings = await response.json()
    assert settings["applicationTitle"] == "Overseerr"
    assert settings["applicationUrl"] == "https://requests.example.com"


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/settings/main"])
@pytest.mark.parametrize("key", [None, "wrong"])
async def test_bad_key_is_403(
    stack: SimulatorStack, session: aiohttp.ClientSession, path: str, key: str | None
) -> None:
    headers = {"X-Api-Key": key} if key else {}
    async with session.get(f"{stack.overseerr.url}{path}", headers=headers) as response:
        assert response.status == 403
        assert await response.json() == FORBIDDEN


async def test_unknown_path(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{stack.overseerr.url}/api/v1/nope") as response:
        assert response.status == 404
        assert (await response.json())["message"] == "not found"
