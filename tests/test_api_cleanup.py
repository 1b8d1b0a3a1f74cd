"""The client calls cleanup needs (quarantine, restore, cascade deletion) against the simulators."""

from collections.abc import AsyncIterator, Awaitable, Callable
import operator
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartplex.api import (
    ArrClient,
    ArrEpisode,
    OverseerrClient,
    PlexClient,
    ServiceKind,
    SmartPlexAuthError,
    SmartPlexDeletionNotAllowedError,
    SmartPlexNotFoundError,
    SmartPlexResponseError,
    SmartPlexServiceError,
    SmartPlexWrongServiceError,
)
from simulators import Fault, SimulatorStack
from simulators.world import MOVIE_SECTION, SHOW_SECTION, Movie, Show, World

type Routes = dict[tuple[str, str], tuple[int, Any]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


class Responder:
    """Serve fixed JSON answers per method and path: for answers no real service gives."""

    def __init__(self) -> None:
        """Start with no server and no calls."""
        self.calls: list[tuple[str, str]] = []
        self.runners: list[web.AppRunner] = []

    async def serve(self, routes: Routes) -> str:
        """Start a server answering `routes`; return its base URL."""

        async def answer(request: web.Request) -> web.Response:
            self.calls.append((request.method, request.path))
            status, body = routes[request.method, request.path]
            return web.json_response(body, status=status)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def responder(socket_enabled: None) -> AsyncIterator[Responder]:
    """Serve fixed answers on 127.0.0.1, stopped after the test."""
    serving = Responder()
    yield serving
    for runner in serving.runners:
        await runner.cleanup()


def plex_client(session: aiohttp.ClientSession, stack: SimulatorStack) -> PlexClient:
    """Return a client for the simulated Plex with the owner's token."""
    return PlexClient(session, stack.plex.url, stack.plex.token, "smartplex-test")


def radarr_client(session: aiohttp.ClientSession, stack: SimulatorStack) -> ArrClient:
    """Return a client for the simulated Radarr."""
    return ArrClient(
        ServiceKind.RADARR, session, stack.radarr.url, stack.radarr.api_key
    )


def sonarr_client(session: aiohttp.ClientSession, stack: SimulatorStack) -> ArrClient:
    """Return a client for the simulated Sonarr."""
    return ArrClient(
        ServiceKind.SONARR, session, stack.sonarr.url, stack.sonarr.api_key
    )


def managed_movie(world: World) -> Movie:
    """Return a movie that Radarr manages and that has its file on disk."""
    return next(
        movie
        for movie in world.movies.values()
        if movie.radarr_id is not None
        and movie.file is not None
        and movie.file.exists
        and movie.in_plex
    )


def managed_show(world: World, *, specials: bool = False) -> Show:
    """Return a show Sonarr manages (with a season 0 if asked)."""
    return next(
        show
        for show in world.shows.values()
        if show.sonarr_id is not None
        and (not specials or world.seasons[show.season_keys[0]].index == 0)
    )


async def free_space(client: ArrClient) -> int:
    """Return the free bytes the app reports over all its disks."""
    return sum(disk.free for disk in await client.async_get_diskspace())


async def list_items(plex: PlexClient) -> list[object]:
    """List a movie section's first pages."""
    return [page async for page in plex.async_iter_items(1, "movie")]


GET_ITEM = operator.methodcaller("async_get_item", 7)
CREATE = operator.methodcaller("async_create_collection", 1, "x", "movie", [1])
KEYS = operator.methodcaller("async_get_collection_keys", 3)
LIST_ITEMS = list_items
BY_TMDB = operator.methodcaller("async_get_movie_by_tmdb", 1)
GET_MOVIE = operator.methodcaller("async_get_movie", 1)
GET_SERIES = operator.methodcaller("async_get_series", 1)
EPISODES = operator.methodcaller("async_get_episodes", 1)
FILES = operator.methodcaller("async_get_episode_files", 1)


# Errors.


async def test_not_found_is_a_response_error_that_still_identifies(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A 404 is SmartPlexNotFoundError; on a connection test it still means wrong service."""
    assert issubclass(SmartPlexNotFoundError, SmartPlexResponseError)
    assert not issubclass(SmartPlexNotFoundError, SmartPlexServiceError)
    assert issubclass(SmartPlexDeletionNotAllowedError, SmartPlexServiceError)
    radarr = radarr_client(session, stack)
    stack.radarr.set_fault(Fault.NOT_FOUND)
    with pytest.raises(SmartPlexWrongServiceError):
        await radarr.async_get_service_info()
    with pytest.raises(SmartPlexNotFoundError) as err:
        await radarr.async_delete_movie(1)
    assert err.value.status == 404


# Plex items.


async def test_plex_get_item(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """One item by rating key, with ids and section; seasons name their show."""
    plex = plex_client(session, stack)
    world = stack.world
    movie = managed_movie(world)
    item = await plex.async_get_item(movie.rating_key)
    assert item is not None
    assert (item.rating_key, item.section_id, item.type) == (
        movie.rating_key,
        MOVIE_SECTION,
        "movie",
    )
    assert (item.tmdb_id, item.imdb_id) == (movie.tmdb_id, movie.imdb_id)
    assert movie.file is not None
    assert item.size == movie.file.size

    show = managed_show(world)
    season = world.seasons[show.season_keys[-1]]
    item = await plex.async_get_item(season.rating_key)
    assert item is not None
    assert (item.type, item.section_id) == ("season", SHOW_SECTION)
    assert (item.show_key, item.season_key) == (show.rating_key, None)
    assert (item.season_index, item.episode_index) == (season.index, None)

    episode = world.episodes[season.episode_keys[0]]
    item = await plex.async_get_item(episode.rating_key)
    assert item is not None
    assert (item.show_key, item.season_key) == (show.rating_key, season.rating_key)
    assert (item.season_index, item.episode_index) == (season.index, episode.index)

    item = await plex.async_get_item(show.rating_key)
    assert item is not None
    assert (item.type, item.tvdb_id) == ("show", show.tvdb_id)

    assert await plex.async_get_item(999_999_999) is None


async def test_plex_items_page_by_page(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A listing longer than a page arrives in pages, every item once."""
    plex = plex_client(session, stack)
    pages = [
        page
        async for page in plex.async_iter_items(MOVIE_SECTION, "movie", page_size=7)
    ]
    movies = {m.rating_key for m in stack.world.movies.values() if m.in_plex}
    assert [len(page) for page in pages] == [7] * (len(movies) // 7) + (
        [len(movies) % 7] if len(movies) % 7 else []
    )
    assert {item.rating_key for page in pages for item in page} == movies


async def test_plex_delete_item(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Deleting an item removes its files: the disk gains their size; twice is not found."""
    plex = plex_client(session, stack)
    radarr = radarr_client(session, stack)
    movie = managed_movie(stack.world)
    assert movie.file is not None
    before = await free_space(radarr)
    await plex.async_delete_item(movie.rating_key)
    assert not movie.file.exists
    assert await free_space(radarr) == before + movie.file.size
    assert await plex.async_get_item(movie.rating_key) is None
    with pytest.raises(SmartPlexNotFoundError):
        await plex.async_delete_item(movie.rating_key)


async def test_plex_delete_season(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Deleting a season removes its episodes' files and nothing else of the show."""
    plex = plex_client(session, stack)
    show = managed_show(stack.world)
    first, *rest = (stack.world.seasons[key] for key in show.season_keys)
    await plex.async_delete_item(first.rating_key)
    episodes = stack.world.episodes
    assert all(
        not file.exists
        for key in first.episode_keys
        if (file := episodes[key].file) is not None
    )
    assert all(
        file.exists
        for season in rest
        for key in season.episode_keys
        if (file := episodes[key].file) is not None
    )
    assert await plex.async_get_item(first.rating_key) is None
    assert await plex.async_get_item(show.rating_key) is not None


async def test_plex_delete_refused_when_deletion_is_off(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """With "Allow media deletion" off, Plex answers 403 and nothing is deleted."""
    stack.plex.allow_media_deletion = False
    plex = plex_client(session, stack)
    movie = managed_movie(stack.world)
    assert (await plex.async_connect()).allow_media_deletion is False
    with pytest.raises(SmartPlexDeletionNotAllowedError) as err:
        await plex.async_delete_item(movie.rating_key)
    assert err.value.status == 403
    assert movie.file is not None
    assert movie.file.exists
    assert await plex.async_get_item(movie.rating_key) is not None


async def test_plex_wrong_token(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A rejected token is an auth error on every cleanup call, deleting nothing."""
    plex = PlexClient(session, stack.plex.url, "wrong-token", "smartplex-test")
    movie = managed_movie(stack.world)
    with pytest.raises(SmartPlexAuthError):
        await plex.async_get_item(movie.rating_key)
    with pytest.raises(SmartPlexAuthError):
        await plex.async_delete_item(movie.rating_key)
    with pytest.raises(SmartPlexAuthError):
        await plex.async_find_collection(MOVIE_SECTION, "Leaving soon")
    assert movie.file is not None
    assert movie.file.exists


async def test_plex_refresh_section_drops_deleted_files(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """After Radarr deleted a file, a section refresh makes Plex forget the movie."""
    plex = plex_client(session, stack)
    movie = managed_movie(stack.world)
    assert movie.radarr_id is not None
    await radarr_client(session, stack).async_delete_movie(movie.radarr_id)
    assert await plex.async_get_item(movie.rating_key) is not None
    await plex.async_refresh_section(MOVIE_SECTION)
    await stack.plex.scans_finished()
    assert await plex.async_get_item(movie.rating_key) is None
    with pytest.raises(SmartPlexNotFoundError):
        await plex.async_refresh_section(99)


# Plex collections.


async def test_plex_leaving_soon_collection(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Create, find, fill, empty and promote a regular collection."""
    plex = plex_client(session, stack)
    info = await plex.async_connect()
    assert plex.machine_identifier == info.machine_identifier
    first, second, third = (
        movie.rating_key for movie in list(stack.world.movies.values())[:3]
    )
    assert await plex.async_find_collection(MOVIE_SECTION, "Leaving soon") is None

    key = await plex.async_create_collection(
        MOVIE_SECTION, "Leaving soon", "movie", [first, second]
    )
    created = stack.plex.collections[key]
    assert (created.title, created.subtype, created.section_id) == (
        "Leaving soon",
        "movie",
        MOVIE_SECTION,
    )
    post = next(r for r in stack.plex.requests if r.path == "/library/collections")
    assert dict(post.query) == {
        "type": "1",
        "title": "Leaving soon",
        "smart": "0",
        "sectionId": str(MOVIE_SECTION),
        "uri": f"server://{info.machine_identifier}/com.plexapp.plugins.library"
        f"/library/metadata/{first},{second}",
    }
    assert await plex.async_find_collection(MOVIE_SECTION, "Leaving soon") == key
    assert await plex.async_find_collection(MOVIE_SECTION, "Leaving") is None
    assert await plex.async_find_collection(SHOW_SECTION, "Leaving soon") is None
    assert await plex.async_get_collection_keys(key) == {first, second}

    await plex.async_add_to_collection(key, [second, third])
    assert await plex.async_get_collection_keys(key) == {first, second, third}
    assert created.items == [first, second, third]

    await plex.async_remove_from_collection(key, second)
    await plex.async_remove_from_collection(key, second)  # already out: no error
    assert await plex.async_get_collection_keys(key) == {first, third}

    await plex.async_promote_collection(MOVIE_SECTION, key)
    assert created.promoted_to_recommended
    assert created.promoted_to_own_home
    assert created.promoted_to_shared_home
    created.promoted_to_shared_home = False
    await plex.async_promote_collection(MOVIE_SECTION, key)
    assert created.promoted_to_shared_home
    hub_calls = [
        (r.method, r.path) for r in stack.plex.requests if r.path.startswith("/hubs")
    ]
    manage = f"/hubs/sections/{MOVIE_SECTION}/manage"
    assert hub_calls == [
        ("GET", manage),
        ("POST", manage),
        ("GET", manage),
        ("PUT", f"{manage}/custom.collection.{MOVIE_SECTION}.{key}"),
    ]


async def test_plex_collections_of_seasons_and_episodes(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Collections hold one type: seasons and episodes work as movies do.

    Without async_connect the client reads the machine identifier from /identity once.
    """
    plex = plex_client(session, stack)
    show = managed_show(stack.world)
    seasons = show.season_keys[:2]
    episodes = stack.world.seasons[seasons[0]].episode_keys[:2]
    season_key = await plex.async_create_collection(
        SHOW_SECTION, "Seasons leaving", "season", seasons
    )
    episode_key = await plex.async_create_collection(
        SHOW_SECTION, "Episodes leaving", "episode", episodes
    )
    assert stack.plex.collections[season_key].subtype == "season"
    assert stack.plex.collections[episode_key].subtype == "episode"
    assert await plex.async_get_collection_keys(season_key) == set(seasons)
    assert await plex.async_get_collection_keys(episode_key) == set(episodes)
    assert [r.path for r in stack.plex.requests].count("/identity") == 1
    with pytest.raises(ValueError, match="at least one"):
        await plex.async_create_collection(SHOW_SECTION, "Empty", "episode", [])


async def test_plex_missing_collection(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A collection that is gone is not found; removing from it is no error."""
    plex = plex_client(session, stack)
    movie = managed_movie(stack.world)
    with pytest.raises(SmartPlexNotFoundError):
        await plex.async_get_collection_keys(999_999)
    with pytest.raises(SmartPlexNotFoundError):
        await plex.async_add_to_collection(999_999, [movie.rating_key])
    with pytest.raises(SmartPlexNotFoundError):
        await plex.async_promote_collection(MOVIE_SECTION, 999_999)
    await plex.async_remove_from_collection(999_999, movie.rating_key)


async def test_plex_find_collection_skips_smart_ones(
    session: aiohttp.ClientSession, responder: Responder
) -> None:
    """Only a regular collection with exactly that title counts; unreadable keys do not."""
    path = "/library/sections/1/collections"
    base = await responder.serve(
        {
            ("GET", path): (
                200,
                {
                    "MediaContainer": {
                        "size": 4,
                        "totalSize": 4,
                        "Metadata": [
                            {"ratingKey": "5", "title": "Leaving soon", "smart": "1"},
                            {"ratingKey": "6", "title": "leaving soon", "smart": "0"},
                            {"title": "Leaving soon"},
                            {"ratingKey": "8", "title": "Leaving soon", "smart": "0"},
                        ],
                    }
                },
            )
        }
    )
    plex = PlexClient(session, base, "token", "client")
    assert await plex.async_find_collection(1, "Leaving soon") == 8


@pytest.mark.parametrize(
    "rows",
    [
        [{"ratingKey": "5", "smart": "0"}],
        [{"title": "Leaving soon", "smart": "0"}],
        [{"ratingKey": None, "title": None}],
    ],
)
async def test_plex_find_collection_fails_on_unreadable_rows(
    session: aiohttp.ClientSession, responder: Responder, rows: list[object]
) -> None:
    """A collection that could be the one but cannot be read is no "not found"."""
    path = "/library/sections/1/collections"
    base = await responder.serve(
        {
            ("GET", path): (
                200,
                {"MediaContainer": {"size": 1, "totalSize": 1, "Metadata": rows}},
            )
        }
    )
    plex = PlexClient(session, base, "token", "client")
    with pytest.raises(SmartPlexResponseError, match="unreadable collection"):
        await plex.async_find_collection(1, "Leaving soon")


@pytest.mark.parametrize(
    ("routes", "call"),
    [
        ({("GET", "/library/metadata/7"): (200, {"MediaContainer": {}})}, GET_ITEM),
        (
            {
                ("GET", "/library/metadata/7"): (
                    200,
                    {"MediaContainer": {"Metadata": [{"ratingKey": "7"}]}},
                )
            },
            GET_ITEM,
        ),
        (
            {
                ("GET", "/library/metadata/7"): (
                    200,
                    {
                        "MediaContainer": {
                            "librarySectionID": 1,
                            "Metadata": [{"ratingKey": "7", "Guid": ["imdb://x"]}],
                        }
                    },
                )
            },
            GET_ITEM,
        ),
        (
            {
                ("GET", "/library/metadata/7"): (
                    200,
                    {"MediaContainer": {"Metadata": [7]}},
                )
            },
            GET_ITEM,
        ),
        (
            {
                ("GET", "/identity"): (
                    200,
                    {"MediaContainer": {"machineIdentifier": "m"}},
                ),
                ("POST", "/library/collections"): (
                    200,
                    {"MediaContainer": {"size": 0}},
                ),
            },
            CREATE,
        ),
        (
            {
                ("GET", "/identity"): (
                    200,
                    {"MediaContainer": {"machineIdentifier": "m"}},
                ),
                ("POST", "/library/collections"): (
                    200,
                    {"MediaContainer": {"Metadata": [{"title": "x"}]}},
                ),
            },
            CREATE,
        ),
        (
            {
                ("GET", "/library/collections/3/children"): (
                    200,
                    {"MediaContainer": {"Metadata": {"ratingKey": "1"}}},
                )
            },
            KEYS,
        ),
        (
            {
                ("GET", "/library/sections/1/all"): (
                    200,
                    {
                        "MediaContainer": {
                            "totalSize": 1,
                            "Metadata": [{"type": "movie"}],
                        }
                    },
                )
            },
            LIST_ITEMS,
        ),
    ],
    ids=[
        "get_no_metadata",
        "get_no_section",
        "get_bad_guid",
        "get_not_an_object",
        "create_no_metadata",
        "create_no_key",
        "keys_not_a_list",
        "iter_no_rating_key",
    ],
)
async def test_plex_odd_cleanup_answers(
    session: aiohttp.ClientSession,
    responder: Responder,
    routes: Routes,
    call: Callable[[PlexClient], Awaitable[object]],
) -> None:
    """Answers a Plex server would not give are response errors, never crashes."""
    plex = PlexClient(session, await responder.serve(routes), "token", "client")
    with pytest.raises(SmartPlexResponseError):
        await call(plex)


async def test_plex_promote_odd_hub_list(
    session: aiohttp.ClientSession, responder: Responder
) -> None:
    """A hub list without a usable identifier means the collection is not managed yet."""
    manage = "/hubs/sections/1/manage"
    base = await responder.serve(
        {
            ("GET", manage): (200, {"MediaContainer": {"Hub": [{"title": "x"}, 3]}}),
            ("POST", manage): (200, {}),
        }
    )
    await PlexClient(session, base, "token", "client").async_promote_collection(1, 9)
    assert responder.calls == [("GET", manage), ("POST", manage)]


async def test_plex_malformed_item(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A body cut in half is a response error."""
    stack.plex.set_fault(Fault.MALFORMED)
    with pytest.raises(SmartPlexResponseError):
        await plex_client(session, stack).async_get_item(
            managed_movie(stack.world).rating_key
        )


# Radarr.


async def test_radarr_find_and_monitor_movie(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A movie is found by TMDb id or Radarr id; unmonitoring is stored and answered."""
    radarr = radarr_client(session, stack)
    movie = managed_movie(stack.world)
    found = await radarr.async_get_movie_by_tmdb(movie.tmdb_id)
    assert found is not None
    assert movie.file is not None
    assert (found.id, found.title, found.year) == (
        movie.radarr_id,
        movie.title,
        movie.year,
    )
    assert (found.tmdb_id, found.imdb_id) == (movie.tmdb_id, movie.imdb_id)
    assert (found.monitored, found.has_file, found.size_on_disk) == (
        True,
        True,
        movie.file.size,
    )
    assert await radarr.async_get_movie(found.id) == found
    assert await radarr.async_get_movie_by_tmdb(1) is None
    assert await radarr.async_get_movie(999_999) is None

    answer = await radarr.async_set_movie_monitored(found, False)
    assert answer.monitored is False
    assert movie.monitored is False
    assert answer.raw["path"] == found.raw["path"]
    assert (await radarr.async_set_movie_monitored(answer, True)).monitored is True
    assert movie.monitored is True


async def test_radarr_delete_movie(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Deleting a movie frees its file's bytes and can exclude it from import lists."""
    radarr = radarr_client(session, stack)
    movie = managed_movie(stack.world)
    assert movie.file is not None
    assert movie.radarr_id is not None
    radarr_id = movie.radarr_id
    before = await free_space(radarr)
    await radarr.async_delete_movie(radarr_id, add_exclusion=True)
    assert not movie.file.exists
    assert await free_space(radarr) == before + movie.file.size
    assert [e["tmdbId"] for e in stack.radarr.exclusions] == [movie.tmdb_id]
    assert await radarr.async_get_movie(radarr_id) is None
    with pytest.raises(SmartPlexNotFoundError):
        await radarr.async_delete_movie(radarr_id)


async def test_radarr_delete_movie_keeping_files(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Without delete_files the file stays on disk and no exclusion is added."""
    radarr = radarr_client(session, stack)
    movie = managed_movie(stack.world)
    assert movie.radarr_id is not None
    await radarr.async_delete_movie(movie.radarr_id, delete_files=False)
    assert movie.file is not None
    assert movie.file.exists
    assert stack.radarr.exclusions == []
    delete = stack.radarr.requests[-1]
    assert dict(delete.query) == {"deleteFiles": "false", "addImportExclusion": "false"}


async def test_radarr_duplicate_exclusion_is_no_error(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """An exclusion that already exists is kept once, and the deletion succeeds."""
    radarr = radarr_client(session, stack)
    movie = managed_movie(stack.world)
    assert movie.radarr_id is not None
    stack.radarr.exclusions.append(
        {"tmdbId": movie.tmdb_id, "movieTitle": movie.title, "movieYear": 0, "id": 1}
    )
    await radarr.async_delete_movie(movie.radarr_id, add_exclusion=True)
    assert [e["tmdbId"] for e in stack.radarr.exclusions] == [movie.tmdb_id]
    assert movie.radarr_id is None


async def test_arr_wrong_key_and_wrong_app(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A wrong key is an auth error; a Sonarr call on Radarr is a programming error."""
    radarr = ArrClient(ServiceKind.RADARR, session, stack.radarr.url, "0" * 32)
    sonarr = ArrClient(ServiceKind.SONARR, session, stack.sonarr.url, "0" * 32)
    with pytest.raises(SmartPlexAuthError):
        await radarr.async_get_movie_by_tmdb(1)
    with pytest.raises(SmartPlexAuthError):
        await radarr.async_delete_movie(1)
    with pytest.raises(SmartPlexAuthError):
        await sonarr.async_delete_series(1)
    with pytest.raises(ValueError, match="Radarr has no Sonarr calls"):
        await radarr.async_get_series(1)
    with pytest.raises(ValueError, match="Sonarr has no Radarr calls"):
        await sonarr.async_get_movie(1)


# Sonarr.


async def test_sonarr_find_and_monitor_series(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A series is found by TVDB id or Sonarr id; its own flag changes alone."""
    sonarr = sonarr_client(session, stack)
    show = managed_show(stack.world)
    found = await sonarr.async_get_series_by_tvdb(show.tvdb_id)
    assert found is not None
    assert (found.id, found.title, found.year) == (
        show.sonarr_id,
        show.title,
        show.year,
    )
    assert (found.tvdb_id, found.tmdb_id, found.imdb_id) == (
        show.tvdb_id,
        show.tmdb_id,
        show.imdb_id,
    )
    seasons = [stack.world.seasons[key] for key in show.season_keys]
    assert found.seasons == {season.index: True for season in seasons}
    assert found.size_on_disk == sum(
        file.size
        for season in seasons
        for key in season.episode_keys
        if (file := stack.world.episodes[key].file) is not None
    )
    assert await sonarr.async_get_series(found.id) == found
    assert await sonarr.async_get_series_by_tvdb(1) is None
    assert await sonarr.async_get_series(999_999) is None

    answer = await sonarr.async_set_series_monitored(found, False)
    assert answer.monitored is False
    assert show.monitored is False
    assert all(season.monitored for season in seasons)
    assert answer.seasons == found.seasons


async def test_sonarr_monitor_one_season_including_specials(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Season 0 is a season like any other: only its flag and its episodes change."""
    sonarr = sonarr_client(session, stack)
    show = managed_show(stack.world, specials=True)
    assert show.sonarr_id is not None
    series = await sonarr.async_get_series(show.sonarr_id)
    assert series is not None
    specials, *others = (stack.world.seasons[key] for key in show.season_keys)
    assert specials.index == 0

    answer = await sonarr.async_set_series_monitored(series, False, season=0)
    assert answer.seasons[0] is False
    assert answer.monitored is True
    assert all(answer.seasons[season.index] for season in others)
    assert specials.monitored is False
    episodes = await sonarr.async_get_episodes(series.id)
    assert {e.monitored for e in episodes if e.season_number == 0} == {False}
    assert {e.monitored for e in episodes if e.season_number != 0} == {True}

    restored = await sonarr.async_set_series_monitored(answer, True, season=0)
    assert restored.seasons[0] is True
    with pytest.raises(ValueError, match="has no season 42"):
        await sonarr.async_set_series_monitored(restored, False, season=42)


async def test_sonarr_episodes_and_files(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Unmonitor episodes, then delete their files: the disk gains their size."""
    sonarr = sonarr_client(session, stack)
    show = managed_show(stack.world)
    assert show.sonarr_id is not None
    episodes = await sonarr.async_get_episodes(show.sonarr_id)
    world_episodes = [
        stack.world.episodes[key]
        for season_key in show.season_keys
        for key in stack.world.seasons[season_key].episode_keys
    ]
    assert len(episodes) == len(world_episodes)
    first = episodes[0]
    assert first == ArrEpisode(
        id=world_episodes[0].sonarr_id,
        series_id=show.sonarr_id,
        season_number=world_episodes[0].season_index,
        episode_number=world_episodes[0].index,
        monitored=True,
        has_file=True,
        episode_file_id=world_episodes[0].sonarr_file_id,
    )
    chosen = [e for e in episodes if e.season_number == first.season_number]
    await sonarr.async_set_episodes_monitored([e.id for e in chosen], False)
    assert {
        e.monitored for e in world_episodes if e.season_index == first.season_number
    } == {False}
    assert [e for e in await sonarr.async_get_episodes(show.sonarr_id) if e.monitored]

    files = await sonarr.async_get_episode_files(show.sonarr_id)
    assert {f.id for f in files} == {e.episode_file_id for e in episodes}
    doomed = [f for f in files if f.season_number == first.season_number]
    assert all(f.series_id == show.sonarr_id and f.size > 0 for f in doomed)
    before = await free_space(sonarr)
    for file in doomed:
        await sonarr.async_delete_episode_file(file.id)
    assert await free_space(sonarr) == before + sum(f.size for f in doomed)
    left = await sonarr.async_get_episodes(show.sonarr_id)
    assert not any(e.has_file for e in left if e.season_number == first.season_number)
    assert all(
        e.episode_file_id is None
        for e in left
        if e.season_number == first.season_number
    )
    with pytest.raises(SmartPlexNotFoundError):
        await sonarr.async_delete_episode_file(doomed[0].id)
    with pytest.raises(SmartPlexNotFoundError):
        await sonarr.async_get_episode_files(999_999)


async def test_sonarr_delete_series(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Deleting a series removes every file and can exclude it from import lists."""
    sonarr = sonarr_client(session, stack)
    show = managed_show(stack.world)
    assert show.sonarr_id is not None
    series_id = show.sonarr_id
    files = await sonarr.async_get_episode_files(series_id)
    before = await free_space(sonarr)
    await sonarr.async_delete_series(series_id, add_exclusion=True)
    assert await free_space(sonarr) == before + sum(f.size for f in files)
    assert [e["tvdbId"] for e in stack.sonarr.exclusions] == [show.tvdb_id]
    delete = next(r for r in stack.sonarr.requests if r.method == "DELETE")
    assert dict(delete.query) == {
        "deleteFiles": "true",
        "addImportListExclusion": "true",
    }
    assert await sonarr.async_get_series(series_id) is None
    with pytest.raises(SmartPlexNotFoundError):
        await sonarr.async_delete_series(series_id)


async def test_sonarr_v3_answers(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Sonarr v3 renders a missing id and a deletion its own way: same results."""
    stack.sonarr.version = "3.0.10.1567"
    sonarr = sonarr_client(session, stack)
    show = managed_show(stack.world)
    assert show.sonarr_id is not None
    series = await sonarr.async_get_series(show.sonarr_id)
    assert series is not None
    assert series.tmdb_id is None  # Sonarr v3 does not know TMDb ids
    files = await sonarr.async_get_episode_files(show.sonarr_id)
    await sonarr.async_delete_episode_file(files[0].id)
    await sonarr.async_delete_series(show.sonarr_id, delete_files=False)
    assert await sonarr.async_get_series(show.sonarr_id) is None


@pytest.mark.parametrize(
    ("kind", "routes", "call"),
    [
        (ServiceKind.RADARR, {("GET", "/api/v3/movie"): (200, {"id": 1})}, BY_TMDB),
        (ServiceKind.RADARR, {("GET", "/api/v3/movie"): (200, [[1]])}, BY_TMDB),
        (
            ServiceKind.RADARR,
            {("GET", "/api/v3/movie/1"): (200, {"title": "x", "monitored": True})},
            GET_MOVIE,
        ),
        (
            ServiceKind.RADARR,
            {("GET", "/api/v3/movie/1"): (200, {"id": 1, "monitored": "true"})},
            GET_MOVIE,
        ),
        (
            ServiceKind.RADARR,
            {("GET", "/api/v3/movie/1"): (200, {"id": None, "monitored": True})},
            GET_MOVIE,
        ),
        (
            ServiceKind.SONARR,
            {("GET", "/api/v3/series/1"): (200, {"id": 1, "monitored": True})},
            GET_SERIES,
        ),
        (
            ServiceKind.SONARR,
            {
                ("GET", "/api/v3/series/1"): (
                    200,
                    {"id": 1, "monitored": True, "seasons": [{"seasonNumber": 1}]},
                )
            },
            GET_SERIES,
        ),
        (
            ServiceKind.SONARR,
            {
                ("GET", "/api/v3/series/1"): (
                    200,
                    {"id": 1, "monitored": True, "seasons": [None]},
                )
            },
            GET_SERIES,
        ),
        (
            ServiceKind.SONARR,
            {("GET", "/api/v3/episode"): (200, [{"id": 1, "seriesId": 1}])},
            EPISODES,
        ),
        (
            ServiceKind.SONARR,
            {("GET", "/api/v3/episodefile"): (200, [{"id": 1, "seasonNumber": 1}])},
            FILES,
        ),
    ],
    ids=[
        "movies_not_a_list",
        "movie_not_an_object",
        "movie_no_id",
        "monitored_not_a_flag",
        "null_id",
        "series_no_seasons",
        "season_no_flag",
        "season_not_an_object",
        "episode_missing_fields",
        "file_no_series",
    ],
)
async def test_arr_odd_answers(
    session: aiohttp.ClientSession,
    responder: Responder,
    kind: ServiceKind,
    routes: Routes,
    call: Callable[[ArrClient], Awaitable[object]],
) -> None:
    """Unusable *arr resources are response errors, never a KeyError or TypeError."""
    client = ArrClient(kind, session, await responder.serve(routes), "key")
    with pytest.raises(SmartPlexResponseError):
        await call(client)


async def test_arr_lenient_fields(
    session: aiohttp.ClientSession, responder: Responder
) -> None:
    """Numbers as strings, nulls and sizes only in statistics are read as meant."""
    base = await responder.serve(
        {
            ("GET", "/api/v3/movie/1"): (
                200,
                {
                    "id": "1",
                    "title": None,
                    "year": 0,
                    "tmdbId": "603",
                    "imdbId": "",
                    "monitored": False,
                    "statistics": {"sizeOnDisk": "1234"},
                },
            ),
            ("GET", "/api/v3/series/2"): (
                200,
                {
                    "id": 2,
                    "monitored": True,
                    "seasons": [{"seasonNumber": "0", "monitored": False}],
                    "sizeOnDisk": None,
                },
            ),
            ("GET", "/api/v3/episodefile"): (
                200,
                [{"id": 3, "seriesId": 2, "seasonNumber": 0, "size": None}],
            ),
        }
    )
    radarr = ArrClient(ServiceKind.RADARR, session, base, "key")
    movie = await radarr.async_get_movie(1)
    assert movie is not None
    assert (movie.id, movie.title, movie.year, movie.tmdb_id, movie.imdb_id) == (
        1,
        "",
        None,
        603,
        None,
    )
    assert (movie.has_file, movie.size_on_disk) == (False, 1234)
    sonarr = ArrClient(ServiceKind.SONARR, session, base, "key")
    series = await sonarr.async_get_series(2)
    assert series is not None
    assert (series.seasons, series.size_on_disk, series.tvdb_id) == (
        {0: False},
        0,
        None,
    )
    (file,) = await sonarr.async_get_episode_files(2)
    assert file.size == 0


async def test_arr_malformed_body(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A body cut in half is a response error, on reads and on the PUT's answer."""
    radarr = radarr_client(session, stack)
    movie = await radarr.async_get_movie_by_tmdb(managed_movie(stack.world).tmdb_id)
    assert movie is not None
    stack.radarr.set_fault(Fault.MALFORMED)
    with pytest.raises(SmartPlexResponseError):
        await radarr.async_get_movie(movie.id)
    with pytest.raises(SmartPlexResponseError):
        await radarr.async_set_movie_monitored(movie, False)


# Overseerr.


async def test_overseerr_delete_media(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Deleting a media drops its requests; a second time it is not found."""
    overseerr = OverseerrClient(session, stack.overseerr.url, stack.overseerr.api_key)
    requests = [req async for page in overseerr.async_iter_requests() for req in page]
    assert {req.media_id for req in requests} == {
        req.media_id for req in stack.world.requests
    }
    media_id = requests[0].media_id
    assert media_id is not None
    await overseerr.async_delete_media(media_id)
    assert media_id not in {req.media_id for req in stack.world.requests}
    left = [req async for page in overseerr.async_iter_requests() for req in page]
    assert len(left) == len(requests) - 1
    with pytest.raises(SmartPlexNotFoundError):
        await overseerr.async_delete_media(media_id)


async def test_overseerr_run_job(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """The availability sync runs on demand; an unknown job is not found."""
    overseerr = OverseerrClient(session, stack.overseerr.url, stack.overseerr.api_key)
    await overseerr.async_run_job("availability-sync")
    assert stack.overseerr.job_runs == ["availability-sync"]
    with pytest.raises(SmartPlexNotFoundError):
        await overseerr.async_run_job("no such job")
    assert stack.overseerr.requests[-1].path == "/api/v1/settings/jobs/no such job/run"


async def test_overseerr_wrong_key(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Overseerr's 403 for a wrong key is an auth error; nothing is deleted or run."""
    overseerr = OverseerrClient(session, stack.overseerr.url, "wrong")
    count = len(stack.world.requests)
    with pytest.raises(SmartPlexAuthError):
        await overseerr.async_delete_media(stack.world.requests[0].media_id)
    with pytest.raises(SmartPlexAuthError):
        await overseerr.async_run_job("availability-sync")
    assert len(stack.world.requests) == count
    assert stack.overseerr.job_runs == []
