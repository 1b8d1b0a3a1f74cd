"""Contract tests of the Sonarr and Radarr simulator."""

import aiohttp
import pytest

from simulators import ArrSimulator, SimulatorStack

STATUS_FIELDS = {
    "appName",
    "instanceName",
    "version",
    "buildTime",
    "isDebug",
    "isProduction",
    "isAdmin",
    "isUserInteractive",
    "startupPath",
    "appData",
    "osName",
    "osVersion",
    "isNetCore",
    "isLinux",
    "isOsx",
    "isWindows",
    "isDocker",
    "mode",
    "branch",
    "authentication",
    "migrationVersion",
    "urlBase",
    "runtimeVersion",
    "runtimeName",
    "startTime",
    "packageVersion",
    "packageAuthor",
    "packageUpdateMechanism",
}


@pytest.mark.parametrize(
    ("app", "version", "database_field"),
    [
        ("Sonarr", "4.0.14.2939", "sqliteVersion"),
        ("Radarr", "5.26.2.10099", "databaseVersion"),
    ],
)
async def test_system_status(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    app: str,
    version: str,
    database_field: str,
) -> None:
    sim = stack.sonarr if app == "Sonarr" else stack.radarr
    headers = {"X-Api-Key": sim.api_key}
    async with session.get(
        f"{sim.url}/api/v3/system/status", headers=headers
    ) as response:
        assert response.status == 200
        status = await response.json()
    assert STATUS_FIELDS | {database_field} <= status.keys()
    assert status["appName"] == status["instanceName"] == app
    assert status["version"] == sim.version == version
    assert status["urlBase"] == ""


async def test_key_in_query(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    params = {"apikey": stack.radarr.api_key}
    async with session.get(
        f"{stack.radarr.url}/api/v3/health", params=params
    ) as response:
        assert response.status == 200
        assert await response.json() == []


async def test_health_and_diskspace(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.sonarr.health.append(
        {
            "source": "IndexerRssCheck",
            "type": "warning",
            "message": "No indexers available with RSS sync enabled",
            "wikiUrl": "https://wiki.servarr.com/sonarr/system#indexers",
        }
    )
    headers = {"X-Api-Key": stack.sonarr.api_key}
    async with session.get(
        f"{stack.sonarr.url}/api/v3/health", headers=headers
    ) as response:
        assert (await response.json())[0]["type"] == "warning"
    async with session.get(
        f"{stack.sonarr.url}/api/v3/diskspace", headers=headers
    ) as response:
        disks = await response.json()
    assert [disk["path"] for disk in disks] == ["/data/movies", "/data/tv"]
    assert all(disk["freeSpace"] < disk["totalSpace"] for disk in disks)
    assert all(
        disk.keys() == {"path", "label", "freeSpace", "totalSpace"} for disk in disks
    )


@pytest.mark.parametrize(
    "path", ["/api/v3/system/status", "/api/v3/health", "/api/v3/nope"]
)
@pytest.mark.parametrize("key", [None, "wrong"])
async def test_bad_key_v4_is_empty_401(
    stack: SimulatorStack, session: aiohttp.ClientSession, path: str, key: str | None
) -> None:
    headers = {"X-Api-Key": key} if key else {}
    async with session.get(f"{stack.sonarr.url}{path}", headers=headers) as response:
        assert response.status == 401
        assert await response.read() == b""


async def test_bad_key_v3_has_json_body(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with ArrSimulator("Sonarr", version="3.0.10.1567") as sim:
        async with session.get(f"{sim.url}/api/v3/system/status") as response:
            assert response.status == 401
            assert await response.json() == {"error": "Unauthorized"}
        headers = {"X-Api-Key": sim.api_key}
        async with session.get(
            f"{sim.url}/api/v3/system/status", headers=headers
        ) as response:
            assert "sqliteVersion" in await response.json()


async def test_unknown_path_is_404(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Api-Key": stack.radarr.api_key}
    async with session.get(
        f"{stack.radarr.url}/api/v3/nope", headers=headers
    ) as response:
        assert response.status == 404


async def test_url_base(socket_enabled: None, session: aiohttp.ClientSession) -> None:
    async with ArrSimulator("Sonarr", url_base="/sonarr/", api_key="k" * 32) as sim:
        assert sim.url.endswith("/sonarr")
        headers = {"X-Api-Key": sim.api_key}
        async with session.get(
            f"{sim.url}/api/v3/system/status", headers=headers
        ) as response:
            assert (await response.json())["urlBase"] == "/sonarr"
        root = sim.url.removesuffix("/sonarr")
        async with session.get(
            f"{root}/api/v3/system/status", headers=headers
        ) as response:
            assert response.status == 404
        async with session.get(f"{sim.url}/ping") as response:
            assert await response.json() == {"status": "OK"}


async def test_keys_follow_the_seed() -> None:
    assert (
        ArrSimulator("Sonarr", seed=2).api_key == ArrSimulator("Sonarr", seed=2).api_key
    )
    assert (
        ArrSimulator("Sonarr", seed=2).api_key != ArrSimulator("Radarr", seed=2).api_key
    )
    assert len(ArrSimulator("Radarr").api_key) == 32
