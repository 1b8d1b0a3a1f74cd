"""Contract tests of the Plex Media Server simulator."""

import asyncio

import aiohttp
from plexapi.exceptions import Unauthorized
from plexapi.server import PlexServer
import pytest

from simulators import PlexSimulator, SimulatorStack

from .helpers import parse_xml


async def test_identity_needs_no_token(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{stack.plex.url}/identity") as response:
        assert response.status == 200
        assert response.content_type == "text/xml"
        root = parse_xml(await response.text())
    assert root.tag == "MediaContainer"
    assert root.attrib == {
        "size": "0",
        "claimed": "1",
        "machineIdentifier": stack.plex.machine_identifier,
        "version": stack.plex.version,
    }


async def test_identity_as_json(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"Accept": "application/json"}
    async with session.get(f"{stack.plex.url}/identity", headers=headers) as response:
        assert response.content_type == "application/json"
        body = await response.json()
    assert body == {
        "MediaContainer": {
            "size": 0,
            "claimed": True,
            "machineIdentifier": stack.plex.machine_identifier,
            "version": stack.plex.version,
        }
    }


@pytest.mark.parametrize("path", ["/", "/library/sections", "/library", "/nope"])
@pytest.mark.parametrize("token", [None, "wrong"])
async def test_token_required(
    stack: SimulatorStack, session: aiohttp.ClientSession, path: str, token: str | None
) -> None:
    headers = {"X-Plex-Token": token} if token else {}
    async with session.get(f"{stack.plex.url}{path}", headers=headers) as response:
        assert response.status == 401
        assert response.content_type == "text/html"
        assert "<h1>401 Unauthorized</h1>" in await response.text()


async def test_root_in_xml_with_token_in_query(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    params = {"X-Plex-Token": stack.plex.token}
    async with session.get(f"{stack.plex.url}/", params=params) as response:
        assert response.status == 200
        root = parse_xml(await response.text())
    assert root.attrib["friendlyName"] == stack.plex.friendly_name
    assert root.attrib["machineIdentifier"] == stack.plex.machine_identifier
    assert root.attrib["version"] == stack.plex.version
    assert root.attrib["allowMediaDeletion"] == "1"
    assert root.attrib["myPlexSigninState"] == "ok"
    assert root.attrib["size"] == str(len(root.findall("Directory")))


async def test_root_omits_media_deletion_when_off(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.plex.allow_media_deletion = False
    headers = {"X-Plex-Token": stack.plex.token, "Accept": "application/json"}
    async with session.get(f"{stack.plex.url}/", headers=headers) as response:
        container = (await response.json())["MediaContainer"]
    assert "allowMediaDeletion" not in container
    assert container["friendlyName"] == stack.plex.friendly_name
    assert container["myPlex"] is True


async def test_sections_in_xml_and_json(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    url = f"{stack.plex.url}/library/sections"
    headers = {"X-Plex-Token": stack.plex.token}
    async with session.get(url, headers=headers) as response:
        root = parse_xml(await response.text())
    async with session.get(
        url, headers=headers | {"Accept": "application/json"}
    ) as response:
        container = (await response.json())["MediaContainer"]
    directories = root.findall("Directory")
    assert [(d.get("key"), d.get("type")) for d in directories] == [
        ("1", "movie"),
        ("2", "show"),
    ]
    assert directories[0].find("Location").get("path") == "/data/movies"  # type: ignore[union-attr]
    assert container["size"] == 2
    assert [d["title"] for d in container["Directory"]] == ["Movies", "TV Shows"]
    assert container["Directory"][1]["Location"] == [{"id": 200, "path": "/data/tv"}]
    assert container["Directory"][0]["uuid"] == directories[0].get("uuid")


async def test_unknown_path_is_404_with_token(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Plex-Token": stack.plex.token}
    async with session.get(f"{stack.plex.url}/nope", headers=headers) as response:
        assert response.status == 404
        assert "<h1>404 Not Found</h1>" in await response.text()


async def test_identifiers_follow_the_seed() -> None:
    assert PlexSimulator(seed=3).token == PlexSimulator(seed=3).token
    first, other = PlexSimulator(seed=3), PlexSimulator(seed=4)
    assert first.machine_identifier != other.machine_identifier
    assert len(first.token) == 20
    assert len(first.machine_identifier) == 40


async def test_plexapi_connects(stack: SimulatorStack) -> None:
    def read() -> tuple[str, str, str, bool, list[tuple[int, str, str, list[str]]]]:
        server = PlexServer(stack.plex.url, stack.plex.token)
        sections = [
            (section.key, section.type, section.title, section.locations)
            for section in server.library.sections()
        ]
        return (
            server.friendlyName,
            server.machineIdentifier,
            server.version,
            server.allowMediaDeletion,
            sections,
        )

    assert await asyncio.to_thread(read) == (
        stack.plex.friendly_name,
        stack.plex.machine_identifier,
        stack.plex.version,
        True,
        [
            (1, "movie", "Movies", ["/data/movies"]),
            (2, "show", "TV Shows", ["/data/tv"]),
        ],
    )


async def test_plexapi_rejects_a_wrong_token(stack: SimulatorStack) -> None:
    with pytest.raises(Unauthorized):
        await asyncio.to_thread(PlexServer, stack.plex.url, "wrong")
