"""Contract tests of the Plex simulator's library: listings, deletion, collections, labels."""

import asyncio
from typing import Any

import aiohttp
from plexapi.exceptions import BadRequest
from plexapi.server import PlexServer
import pytest

from simulators import SimulatorStack
from simulators.plex import MAX_PAGE_SIZE, PlexSimulator
from simulators.world import MOVIE_SECTION, SHOW_SECTION, World

from .helpers import parse_xml


def _headers(plex: PlexSimulator, **extra: str) -> dict[str, str]:
    """Return the token header plus JSON accept and extra headers."""
    return {"X-Plex-Token": plex.token, "Accept": "application/json", **extra}


async def _json(
    session: aiohttp.ClientSession,
    plex: PlexSimulator,
    path: str,
    params: dict[str, str] | None = None,
    **headers: str,
) -> dict[str, Any]:
    """GET a path as JSON and return the MediaContainer."""
    async with session.get(
        f"{plex.url}{path}", params=params, headers=_headers(plex, **headers)
    ) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
    return body["MediaContainer"]


async def _status(
    session: aiohttp.ClientSession, plex: PlexSimulator, method: str, path: str
) -> int:
    """Send a request with the token and return the status."""
    async with session.request(
        method, f"{plex.url}{path}", headers={"X-Plex-Token": plex.token}
    ) as response:
        return response.status


async def test_movie_listing_json_shape(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    container = await _json(
        session,
        stack.plex,
        "/library/sections/1/all",
        {"type": "1", "includeGuids": "1"},
    )
    assert container["size"] == container["totalSize"] == len(stack.world.movies)
    assert container["offset"] == 0
    assert container["librarySectionID"] == MOVIE_SECTION
    first = container["Metadata"][0]
    assert first["ratingKey"] == str(movie.rating_key)
    assert first["key"] == f"/library/metadata/{movie.rating_key}"
    assert first["type"] == "movie"
    assert first["addedAt"] == movie.added_at
    assert first["Guid"] == [
        {"id": f"imdb://{movie.imdb_id}"},
        {"id": f"tmdb://{movie.tmdb_id}"},
    ]
    [media] = first["Media"]
    assert media["id"] == movie.file.media_id
    assert media["videoResolution"] == movie.file.resolution
    assert media["Part"] == [
        {
            "id": movie.file.part_id,
            "key": media["Part"][0]["key"],
            "duration": movie.file.duration,
            "file": movie.file.path,
            "size": movie.file.size,
            "container": movie.file.container,
        }
    ]


async def test_listing_in_xml_has_video_and_directory_tags(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Plex-Token": stack.plex.token, "X-Plex-Container-Size": "3"}
    url = f"{stack.plex.url}/library/sections/2/all"
    async with session.get(url, params={"type": "2"}, headers=headers) as response:
        shows = parse_xml(await response.text())
    async with session.get(url, params={"type": "4"}, headers=headers) as response:
        episodes = parse_xml(await response.text())
    assert [child.tag for child in shows] == ["Directory"] * 3
    assert shows[0].get("type") == "show"
    assert "Guid" not in {child.tag for child in shows[0]}
    assert int(shows[0].get("leafCount", "0")) > 0
    assert episodes[0].tag == "Video"
    assert episodes[0].find("Media/Part") is not None
    assert episodes.get("totalSize") == str(len(stack.world.episodes))


async def test_type_4_lists_every_episode_with_media(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    container = await _json(
        session, stack.plex, "/library/sections/2/all", {"type": "4"}
    )
    items = container["Metadata"]
    assert len(items) == container["totalSize"] == len(stack.world.episodes)
    assert all(item["Media"][0]["Part"][0]["size"] > 0 for item in items)
    episode = stack.world.episodes[int(items[0]["ratingKey"])]
    assert items[0]["grandparentRatingKey"] == str(episode.show_key)
    assert items[0]["parentRatingKey"] == str(episode.season_key)
    assert (items[0]["index"], items[0]["parentIndex"]) == (
        episode.index,
        episode.season_index,
    )


@pytest.mark.parametrize("in_query", [True, False])
async def test_paging_by_header_or_query(
    stack: SimulatorStack, session: aiohttp.ClientSession, in_query: bool
) -> None:
    paging = {"X-Plex-Container-Start": "10", "X-Plex-Container-Size": "7"}
    params = {"type": "1"} | (paging if in_query else {})
    headers = {} if in_query else paging
    container = await _json(
        session, stack.plex, "/library/sections/1/all", params, **headers
    )
    keys = [str(key) for key in stack.world.movies][10:17]
    assert [item["ratingKey"] for item in container["Metadata"]] == keys
    assert (container["size"], container["offset"]) == (7, 10)
    assert container["totalSize"] == len(stack.world.movies)


@pytest.mark.parametrize(
    ("start", "size", "expected"),
    [("0", "0", 0), ("45", "10", 5), ("50", "10", 0), ("500", "10", 0)],
)
async def test_paging_edges(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    start: str,
    size: str,
    expected: int,
) -> None:
    params = {"X-Plex-Container-Start": start, "X-Plex-Container-Size": size}
    container = await _json(session, stack.plex, "/library/sections/1/all", params)
    assert container["size"] == expected
    assert container["totalSize"] == 50
    assert container["offset"] == int(start)
    assert ("Metadata" in container) == bool(expected)


async def test_size_0_xml_is_an_empty_container(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    params = {
        "X-Plex-Token": stack.plex.token,
        "X-Plex-Container-Start": "0",
        "X-Plex-Container-Size": "0",
    }
    url = f"{stack.plex.url}/library/sections/2/all"
    async with session.get(url, params=params) as response:
        root = parse_xml(await response.text())
    assert (root.get("size"), root.get("totalSize")) == (
        "0",
        str(len(stack.world.shows)),
    )
    assert list(root) == []


async def test_page_size_is_capped(socket_enabled: None) -> None:
    async with (
        PlexSimulator(world=World.generate(movies=MAX_PAGE_SIZE + 5, shows=0)) as plex,
        aiohttp.ClientSession() as session,
    ):
        params = {"X-Plex-Container-Size": str(MAX_PAGE_SIZE * 2)}
        container = await _json(session, plex, "/library/sections/1/all", params)
    assert container["size"] == MAX_PAGE_SIZE
    assert container["totalSize"] == MAX_PAGE_SIZE + 5


@pytest.mark.parametrize("value", ["-1", "ten"])
async def test_bad_paging_is_400(
    stack: SimulatorStack, session: aiohttp.ClientSession, value: str
) -> None:
    status = await _status(
        session,
        stack.plex,
        "GET",
        f"/library/sections/1/all?X-Plex-Container-Size={value}",
    )
    assert status == 400


async def test_updated_at_filter_is_strictly_after(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    times = sorted(movie.updated_at for movie in stack.world.movies.values())
    pivot = times[len(times) // 2]
    container = await _json(
        session, stack.plex, "/library/sections/1/all", {"updatedAt>>": str(pivot)}
    )
    assert container["totalSize"] == sum(1 for t in times if t > pivot)
    assert all(item["updatedAt"] > pivot for item in container["Metadata"])
    before = await _json(
        session, stack.plex, "/library/sections/1/all", {"addedAt<<": str(pivot)}
    )
    assert all(item["addedAt"] < pivot for item in before["Metadata"])


async def test_misspelt_operator_is_ignored(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    url = f"{stack.plex.url}/library/sections/1/all?updatedAt%3E=9999999999"
    async with session.get(url, headers=_headers(stack.plex)) as response:
        assert response.status == 200
        container = (await response.json())["MediaContainer"]
    assert container["totalSize"] == len(stack.world.movies)


async def test_sort_by_added_at_descending(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    container = await _json(
        session, stack.plex, "/library/sections/1/all", {"sort": "addedAt:desc"}
    )
    added = [item["addedAt"] for item in container["Metadata"]]
    assert added == sorted(added, reverse=True)


async def test_several_items_and_children(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    show = next(iter(stack.world.shows.values()))
    movie_key = next(iter(stack.world.movies))
    both = await _json(
        session, stack.plex, f"/library/metadata/{show.rating_key},{movie_key}"
    )
    assert [item["type"] for item in both["Metadata"]] == ["show", "movie"]
    seasons = await _json(
        session, stack.plex, f"/library/metadata/{show.rating_key}/children"
    )
    assert [int(s["ratingKey"]) for s in seasons["Metadata"]] == show.season_keys
    season = stack.world.seasons[show.season_keys[0]]
    episodes = await _json(
        session, stack.plex, f"/library/metadata/{season.rating_key}/children"
    )
    assert [int(e["ratingKey"]) for e in episodes["Metadata"]] == season.episode_keys
    assert await _status(session, stack.plex, "GET", "/library/metadata/1") == 404


async def test_delete_movie_frees_disk(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    disk = stack.world.disks[0]
    free = disk.free
    path = f"/library/metadata/{movie.rating_key}"
    assert await _status(session, stack.plex, "DELETE", path) == 200
    assert disk.free == free + movie.file.size
    assert not movie.in_plex
    assert not movie.file.exists
    assert await _status(session, stack.plex, "GET", path) == 404
    assert await _status(session, stack.plex, "DELETE", path) == 404
    container = await _json(session, stack.plex, "/library/sections/1/all")
    assert container["totalSize"] == len(stack.world.movies) - 1


async def test_delete_show_removes_every_episode(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    show = next(iter(stack.world.shows.values()))
    path = f"/library/metadata/{show.rating_key}"
    assert await _status(session, stack.plex, "DELETE", path) == 200
    assert not show.in_plex
    container = await _json(
        session, stack.plex, "/library/sections/2/all", {"type": "4"}
    )
    shows = {item["grandparentRatingKey"] for item in container["Metadata"]}
    assert str(show.rating_key) not in shows


async def test_delete_refused_when_deletion_is_off(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.plex.allow_media_deletion = False
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    path = f"/library/metadata/{movie.rating_key}"
    assert await _status(session, stack.plex, "DELETE", path) == 403
    media = f"{path}/media/{movie.file.media_id}"
    assert await _status(session, stack.plex, "DELETE", media) == 403
    assert movie.in_plex
    assert movie.file.exists


async def test_delete_one_media(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    episode = next(iter(stack.world.episodes.values()))
    assert episode.file is not None
    path = f"/library/metadata/{episode.rating_key}/media"
    assert await _status(session, stack.plex, "DELETE", f"{path}/1") == 404
    assert (
        await _status(session, stack.plex, "DELETE", f"{path}/{episode.file.media_id}")
        == 200
    )
    assert not episode.file.exists
    assert not episode.in_plex


async def test_file_deleted_elsewhere_shows_deleted_at_until_refresh(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movie = next(iter(stack.world.movies.values()))
    assert movie.file is not None
    stack.world.delete_file(movie.file)
    path = f"/library/metadata/{movie.rating_key}"
    [item] = (await _json(session, stack.plex, path))["Metadata"]
    assert item["deletedAt"] == stack.world.now
    before = stack.plex.sections[MOVIE_SECTION].updated_at
    assert (
        await _status(session, stack.plex, "GET", "/library/sections/1/refresh") == 200
    )
    await stack.plex.scans_finished()
    assert await _status(session, stack.plex, "GET", path) == 404
    assert stack.plex.sections[MOVIE_SECTION].updated_at >= before
    assert stack.plex.sections[MOVIE_SECTION].scanned_at == stack.world.now


async def test_collection_lifecycle(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    plex = stack.plex
    first, second, third = list(stack.world.movies)[:3]
    uri = f"server://{plex.machine_identifier}/com.plexapp.plugins.library/library/metadata"
    params = {
        "type": "1",
        "title": "Leaving soon",
        "smart": "0",
        "sectionId": "1",
        "uri": f"{uri}/{first},{second}",
    }
    async with session.post(
        f"{plex.url}/library/collections", params=params, headers=_headers(plex)
    ) as response:
        [created] = (await response.json())["MediaContainer"]["Metadata"]
    key = int(created["ratingKey"])
    assert created["type"] == "collection"
    assert created["subtype"] == "movie"
    assert created["childCount"] == 2
    assert created["key"] == f"/library/collections/{key}/children"
    async with session.put(
        f"{plex.url}/library/collections/{key}/items",
        params={"uri": f"{uri}/{third}"},
        headers=_headers(plex),
    ) as response:
        assert response.status == 200
    path = f"/library/collections/{key}/items/{first}"
    assert await _status(session, plex, "DELETE", path) == 200
    children = await _json(session, plex, f"/library/collections/{key}/children")
    assert [int(i["ratingKey"]) for i in children["Metadata"]] == [second, third]
    listed = await _json(session, plex, "/library/sections/1/collections")
    assert [c["title"] for c in listed["Metadata"]] == ["Leaving soon"]
    assert await _status(session, plex, "DELETE", f"/library/metadata/{key}") == 200
    assert plex.collections == {}
    assert (await _json(session, plex, "/library/sections/1/collections"))["size"] == 0


async def test_collection_visibility(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    plex = stack.plex
    movie = next(iter(stack.world.movies))
    uri = f"server://{plex.machine_identifier}/com.plexapp.plugins.library/library/metadata/{movie}"
    async with session.post(
        f"{plex.url}/library/collections",
        params={
            "type": "1",
            "title": "Soon",
            "smart": "0",
            "sectionId": "1",
            "uri": uri,
        },
        headers=_headers(plex),
    ) as response:
        key = int((await response.json())["MediaContainer"]["Metadata"][0]["ratingKey"])
    hubs = await _json(
        session, plex, "/hubs/sections/1/manage", {"metadataItemId": str(key)}
    )
    assert hubs["size"] == 0
    promote = {
        "metadataItemId": str(key),
        "promotedToRecommended": "1",
        "promotedToOwnHome": "1",
        "promotedToSharedHome": "0",
    }
    async with session.post(
        f"{plex.url}/hubs/sections/1/manage", params=promote, headers=_headers(plex)
    ) as response:
        assert response.status == 200
    [hub] = (await _json(session, plex, "/hubs/sections/1/manage"))["Hub"]
    assert hub["identifier"] == f"custom.collection.1.{key}"
    assert (hub["promotedToOwnHome"], hub["promotedToSharedHome"]) == (True, False)
    assert hub["homeVisibility"] == "admin"


async def test_labels_set_and_removed(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movie = next(m for m in stack.world.movies.values() if not m.labels)
    url = f"{stack.plex.url}/library/sections/1/all"
    params = {
        "type": "1",
        "id": str(movie.rating_key),
        "label[0].tag.tag": "keep",
        "label.locked": "1",
    }
    headers = {"X-Plex-Token": stack.plex.token}
    async with session.put(url, params=params, headers=headers) as response:
        assert response.status == 200
    assert movie.labels == ["keep"]
    [item] = (
        await _json(session, stack.plex, f"/library/metadata/{movie.rating_key}")
    )["Metadata"]
    assert [label["tag"] for label in item["Label"]] == ["keep"]
    remove = {"type": "1", "id": str(movie.rating_key), "label[].tag.tag-": "keep"}
    async with session.put(url, params=remove, headers=headers) as response:
        assert response.status == 200
    assert movie.labels == []


async def test_sessions_empty_then_playing(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    assert (await _json(session, stack.plex, "/status/sessions")) == {"size": 0}
    episode = next(iter(stack.world.episodes))
    stack.plex.now_playing.append((episode, 2))
    container = await _json(session, stack.plex, "/status/sessions")
    [playing] = container["Metadata"]
    assert playing["ratingKey"] == str(episode)
    assert playing["User"] == [{"id": "2", "title": stack.world.users[1].username}]
    assert playing["Player"][0]["state"] == "playing"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/library/sections/1/all"),
        ("DELETE", "/library/metadata/1001"),
        ("POST", "/library/collections"),
        ("GET", "/status/sessions"),
    ],
)
async def test_library_needs_the_token(
    stack: SimulatorStack, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with session.request(method, f"{stack.plex.url}{path}") as response:
        assert response.status == 401
        assert "<h1>401 Unauthorized</h1>" in await response.text()


async def test_plexapi_pages_and_reads_parts(socket_enabled: None) -> None:
    async with SimulatorStack(seed=2, movies=120, shows=3) as stack:

        def read() -> tuple[int, int, int, list[tuple[int, str]]]:
            server = PlexServer(stack.plex.url, stack.plex.token)
            movies = server.library.sectionByID(MOVIE_SECTION)
            every = movies.all(container_size=25)
            window = movies.search(
                container_start=100, container_size=10, maxresults=10
            )
            episodes = server.library.sectionByID(SHOW_SECTION).search(
                libtype="episode"
            )
            parts = [
                (m.media[0].parts[0].size, m.media[0].parts[0].file) for m in every
            ]
            return len(every), len(window), len(episodes), parts

        count, window, episodes, parts = await asyncio.to_thread(read)
    assert count == 120
    assert window == 10
    assert episodes == len(stack.world.episodes)
    files = [m.file for m in stack.world.movies.values() if m.file]
    assert parts == [(f.size, f.path) for f in files]


async def test_plexapi_collections_labels_and_delete(stack: SimulatorStack) -> None:
    def act() -> tuple[list[int], list[int]]:
        server = PlexServer(stack.plex.url, stack.plex.token)
        section = server.library.sectionByID(MOVIE_SECTION)
        first, second, third = section.search(container_size=3, maxresults=3)
        collection = section.createCollection("Leaving soon", items=[first, second])
        collection.addItems([third])
        collection.removeItems([first])
        members = [item.ratingKey for item in collection.items()]
        hub = collection.visibility()
        hub.updateVisibility(recommended=True, home=True, shared=True)
        second.addLabel("keep")
        first.delete()
        remaining = [item.ratingKey for item in section.all()]
        collection.delete()
        return members, remaining

    members, remaining = await asyncio.to_thread(act)
    keys = list(stack.world.movies)
    assert members == keys[1:3]
    assert remaining == keys[1:]
    assert stack.world.movies[keys[1]].labels[-1] == "keep"
    assert stack.plex.collections == {}


async def test_plexapi_visibility_is_recorded(stack: SimulatorStack) -> None:
    def act() -> int:
        server = PlexServer(stack.plex.url, stack.plex.token)
        section = server.library.sectionByID(MOVIE_SECTION)
        items = section.search(container_size=2, maxresults=2)
        collection = section.createCollection("Soon", items=items)
        collection.visibility().updateVisibility(
            recommended=True, home=True, shared=False
        )
        collection.visibility().updateVisibility(shared=True)
        return int(collection.ratingKey)

    key = await asyncio.to_thread(act)
    collection = stack.plex.collections[key]
    assert collection.promoted_to_recommended
    assert collection.promoted_to_own_home
    assert collection.promoted_to_shared_home


async def test_plexapi_delete_refused(stack: SimulatorStack) -> None:
    stack.plex.allow_media_deletion = False

    def act() -> None:
        server = PlexServer(stack.plex.url, stack.plex.token)
        section = server.library.sectionByID(MOVIE_SECTION)
        section.search(container_size=1, maxresults=1)[0].delete()

    with pytest.raises(BadRequest, match="403"):
        await asyncio.to_thread(act)
    assert all(movie.in_plex for movie in stack.world.movies.values())
