"""Play analytics: Tautulli's history paged and parsed, and what nobody watches."""

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartplex.analytics import (
    AnalyticsSource,
    WatchStats,
    from_plex,
    from_tautulli,
    titles_size,
)
from custom_components.smartplex.api import (
    PlexItem,
    PlexSection,
    SmartPlexApiError,
    SmartPlexAuthError,
    SmartPlexResponseError,
    TautulliClient,
)
from custom_components.smartplex.api.tautulli import PlayRecord, parse_play
from custom_components.smartplex.library import LibraryModel
from simulators import Fault, SimulatorStack
from simulators.world import DAY, MOVIE_SECTION, SHOW_SECTION, World

MOVIES = PlexSection(
    id=MOVIE_SECTION, type="movie", title="Movies", uuid="m", updated_at=0, scanned_at=0
)
SHOWS = PlexSection(
    id=SHOW_SECTION, type="show", title="TV", uuid="s", updated_at=0, scanned_at=0
)
KEY = "0123456789abcdef0123456789abcdef"

type Answer = Callable[[int, Any], Awaitable[TautulliClient]]


def item(key: int, section: int = 1, kind: str = "movie", **changes: Any) -> PlexItem:
    """Return a plain Plex item: only what analytics reads differs between tests."""
    values: dict[str, Any] = dict.fromkeys(
        (
            "year",
            "resolution",
            "video_codec",
            "container",
            "bitrate",
            "tmdb_id",
            "tvdb_id",
            "imdb_id",
            "show_key",
            "season_key",
            "season_index",
            "episode_index",
            "last_viewed_at",
        )
    )
    values |= {
        "rating_key": key,
        "section_id": section,
        "type": kind,
        "title": f"Item {key}",
        "added_at": 1,
        "updated_at": 1,
        "size": 10,
        "view_count": 0,
        "labels": (),
        "file_missing": False,
    }
    return PlexItem(**(values | changes))


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def answer(
    session: aiohttp.ClientSession,
) -> AsyncIterator[Answer]:
    """Serve one fixed Tautulli answer: for pages no real Tautulli sends."""
    runners: list[web.AppRunner] = []

    async def serve(status: int, data: Any) -> TautulliClient:
        async def respond(request: web.Request) -> web.Response:
            envelope = {
                "response": {"result": "success", "message": None, "data": data}
            }
            return web.json_response(envelope, status=status)

        app = web.Application()
        app.router.add_get("/api/v2", respond)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        return TautulliClient(
            session, f"http://127.0.0.1:{runner.addresses[0][1]}", KEY
        )

    yield serve
    for runner in runners:
        await runner.cleanup()


def tautulli(session: aiohttp.ClientSession, stack: SimulatorStack) -> TautulliClient:
    """Return a client of the simulated Tautulli."""
    return TautulliClient(session, stack.tautulli.url, stack.tautulli.api_key)


async def history(client: TautulliClient, **kwargs: Any) -> list[PlayRecord]:
    """Collect every page of the history."""
    return [play async for page in client.async_iter_history(**kwargs) for play in page]


def world_library(world: World) -> LibraryModel:
    """Return the library Plex would list for the world (owner's view counts)."""
    movies = [
        item(
            movie.rating_key,
            MOVIE_SECTION,
            added_at=movie.added_at,
            size=movie.file.size if movie.file else 0,
            view_count=movie.view_count,
            last_viewed_at=movie.last_viewed_at,
        )
        for movie in world.movies.values()
    ]
    shows = [
        item(show.rating_key, SHOW_SECTION, "show", added_at=show.added_at, size=0)
        for show in world.shows.values()
    ]
    episodes = [
        item(
            episode.rating_key,
            SHOW_SECTION,
            "episode",
            added_at=episode.added_at,
            size=episode.file.size if episode.file else 0,
            show_key=episode.show_key,
            view_count=episode.view_count,
            last_viewed_at=episode.last_viewed_at,
        )
        for episode in world.episodes.values()
    ]
    library = LibraryModel()
    library.replace_section(MOVIES, movies)
    library.replace_section(SHOWS, [*shows, *episodes])
    return library


def world_titles(world: World) -> dict[int, tuple[int | None, int]]:
    """Return {title key: (latest play start or None, newest addition)} from the world."""
    last: dict[int, int] = {}
    for play in world.plays:
        title = play.grandparent_rating_key or play.rating_key
        last[title] = max(last.get(title, 0), play.started)
    titles = {key: (last.get(key), m.added_at) for key, m in world.movies.items()}
    for key, show in world.shows.items():
        added = max([show.added_at, *(e.added_at for e in world.episodes_of(key))])
        titles[key] = (last.get(key), added)
    return titles


async def test_history_pages_through_every_play(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Small pages, oldest first, add up to exactly the plays Tautulli recorded."""
    plays = await history(tautulli(session, stack), page_size=7)
    world = stack.world
    assert len(plays) == len(world.plays)
    assert sorted((p.rating_key, p.user_id, p.started) for p in plays) == sorted(
        (p.rating_key, p.user_id, p.started) for p in world.plays
    )
    assert [p.started for p in plays] == sorted(p.started for p in plays)
    calls = [dict(r.query) for r in stack.tautulli.requests]
    assert len(calls) == -(-len(world.plays) // 7)
    assert {(c["order_column"], c["order_dir"], c["length"]) for c in calls} == {
        ("date", "asc", "7")
    }
    episode = next(p for p in plays if p.media_type == "episode")
    source = world.episodes[episode.rating_key]
    assert (episode.parent_rating_key, episode.grandparent_rating_key) == (
        source.season_key,
        source.show_key,
    )


async def test_history_after_bounds_the_window(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """`after` keeps the plays of that day and later (the simulator's days are UTC)."""
    day = date(2025, 6, 1)
    cutoff = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp())
    plays = await history(tautulli(session, stack), after=day, page_size=50)
    expected = [p for p in stack.world.plays if p.started >= cutoff]
    assert 0 < len(plays) == len(expected) < len(stack.world.plays)
    assert min(p.started for p in plays) >= cutoff
    assert {dict(r.query)["after"] for r in stack.tautulli.requests} == {"2025-06-01"}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            {
                "rating_key": "42",
                "parent_rating_key": "",
                "grandparent_rating_key": None,
                "media_type": "movie",
                "user_id": "3",
                "started": "1700000000",
                "stopped": "",
                "play_duration": "",
                "watched_status": "0.5",
            },
            PlayRecord(
                rating_key=42,
                parent_rating_key=None,
                grandparent_rating_key=None,
                media_type="movie",
                user_id=3,
                started=1_700_000_000,
                stopped=None,
                play_duration=0,
                watched_status=0.5,
            ),
        ),
        (
            {"rating_key": 7, "grandparent_rating_key": 5, "date": 9, "user_id": ""},
            PlayRecord(
                rating_key=7,
                parent_rating_key=None,
                grandparent_rating_key=5,
                media_type="",
                user_id=None,
                started=9,
                stopped=None,
                play_duration=0,
                watched_status=0.0,
            ),
        ),
        ({"rating_key": "", "started": 1}, None),
        ({"rating_key": None, "started": 1}, None),
        ({"rating_key": "abc", "started": 1}, None),
        ({"rating_key": 1, "started": "", "date": None}, None),
    ],
)
def test_parse_play_reads_quirky_rows(
    row: dict[str, Any], expected: PlayRecord | None
) -> None:
    """Strings, "" and null all parse; a row naming no item or time is dropped."""
    assert parse_play(row) == expected


async def test_history_skips_rows_it_cannot_read(answer: Answer) -> None:
    """A page with unreadable rows still yields the rest, and ends at recordsFiltered."""
    rows = [
        {"rating_key": "", "started": 1},
        {"rating_key": "8", "started": "5", "watched_status": 1},
    ]
    client = await answer(200, {"recordsFiltered": "2", "data": rows})
    assert [p.rating_key for p in await history(client)] == [8]


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"data": []},
        {"recordsFiltered": 3, "data": None},
        {"recordsFiltered": 3, "data": {"rating_key": 1}},
        {"recordsFiltered": 3, "data": [1, 2, 3]},
    ],
)
async def test_history_refuses_pages_of_the_wrong_shape(
    answer: Answer, data: Any
) -> None:
    """A page that is not a history page is an error, not an empty history."""
    client = await answer(200, data)
    with pytest.raises(SmartPlexResponseError) as err:
        await history(client)
    assert KEY not in str(err.value)


@pytest.mark.parametrize("version", ["v2.17.2", "v2.10.4"])
async def test_history_wrong_key_is_auth_error(
    session: aiohttp.ClientSession, stack: SimulatorStack, version: str
) -> None:
    """A wrong key is an auth error, whatever status the Tautulli version uses."""
    stack.tautulli.version = version
    client = TautulliClient(session, stack.tautulli.url, KEY)
    with pytest.raises(SmartPlexAuthError) as err:
        await history(client)
    assert KEY not in str(err.value)


@pytest.mark.parametrize(
    "fault", [Fault.SERVER_ERROR, Fault.MALFORMED, Fault.TRUNCATED, Fault.DOWN]
)
async def test_history_failures_raise_without_the_key(
    session: aiohttp.ClientSession, stack: SimulatorStack, fault: Fault
) -> None:
    """Failing mid-way raises (never a short history), and the key stays secret."""
    client = tautulli(session, stack)
    pages = client.async_iter_history(page_size=10)
    assert len(await anext(pages)) == 10
    await stack.tautulli.async_set_fault(fault)
    with pytest.raises(SmartPlexApiError) as err:
        async for _ in pages:
            pass
    assert stack.tautulli.api_key not in str(err.value)
    assert stack.tautulli.api_key not in repr(err.value)


def play(key: int, started: int, user: int = 1, show: int | None = None) -> PlayRecord:
    """Return a play for model tests."""
    return PlayRecord(
        rating_key=key,
        parent_rating_key=None if show is None else show + 1,
        grandparent_rating_key=show,
        media_type="movie" if show is None else "episode",
        user_id=user,
        started=started,
        stopped=started + 60,
        play_duration=60,
        watched_status=1.0,
    )


def test_tautulli_plays_add_up_per_item_and_per_show() -> None:
    """Episodes count alone and towards their show; users are counted once each."""
    model = from_tautulli(
        [
            play(1, 100),
            play(1, 300, user=2),
            play(11, 200, show=10),
            play(12, 500, show=10),
            play(12, 400, user=2, show=10),
            play(12, 50, show=10),
        ]
    )
    assert model.source is AnalyticsSource.TAUTULLI
    assert model.get(1) == WatchStats(plays=2, last_played=300, users=2)
    assert model.get(12) == WatchStats(plays=3, last_played=500, users=2)
    assert model.get(10) == WatchStats(plays=4, last_played=500, users=2)
    assert model.get(11) == WatchStats(plays=1, last_played=200, users=1)
    assert model.get(99) is None
    assert [model.plays_since(ts) for ts in (0, 200, 201, 501)] == [6, 4, 3, 0]


async def test_never_and_not_watched_match_the_world(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Titles nobody played, or not since a date, are those the world says."""
    world = stack.world
    model = from_tautulli(await history(tautulli(session, stack)))
    library = world_library(world)
    titles = world_titles(world)
    never = {key for key, (last, _) in titles.items() if last is None}
    never_watched = model.never_watched(library)
    assert {i.rating_key for i in never_watched} == never
    assert 0 < len(never) < len(titles)
    for ts in (world.now - 30 * DAY, world.now - 365 * DAY):
        stale = {
            key
            for key, (last, added) in titles.items()
            if (last is not None and last < ts) or (last is None and added < ts)
        }
        assert {i.rating_key for i in model.not_watched_since(library, ts)} == stale
    assert model.plays_since(world.now - 30 * DAY) == sum(
        1 for p in world.plays if p.started >= world.now - 30 * DAY
    )
    expected_size = sum(
        m.file.size for m in world.movies.values() if m.rating_key in never and m.file
    ) + sum(
        e.file.size for e in world.episodes.values() if e.show_key in never and e.file
    )
    assert titles_size(library, never_watched) == expected_size


def test_a_windowed_history_refuses_questions_before_it() -> None:
    """Plays known only from `since` cannot say what was never watched."""
    library = LibraryModel()
    library.replace_section(MOVIES, [item(1, added_at=10), item(2, added_at=10)])
    model = from_tautulli([play(1, 150)], since=100)
    assert [i.rating_key for i in model.not_watched_since(library, 200)] == [1, 2]
    assert model.plays_since(100) == 1
    assert model.plays_since(99) is None
    with pytest.raises(ValueError, match="cannot answer"):
        model.never_watched(library)
    with pytest.raises(ValueError, match="cannot answer"):
        model.not_watched_since(library, 99)


def test_plex_fallback_uses_the_owners_view_counts() -> None:
    """Plex knows the owner's views and no play times: shows sum their episodes."""
    library = LibraryModel()
    library.replace_section(
        MOVIES,
        [
            item(1, added_at=10, size=100, view_count=2, last_viewed_at=500),
            item(2, added_at=10, size=200),
            item(3, added_at=900, size=300),
            item(4, added_at=10, size=400, view_count=1),
        ],
    )
    library.replace_section(
        SHOWS,
        [
            item(10, 2, "show", added_at=10, size=0),
            item(
                11, 2, "episode", show_key=10, size=5, view_count=1, last_viewed_at=50
            ),
            item(
                12, 2, "episode", show_key=10, size=6, view_count=3, last_viewed_at=70
            ),
            item(20, 2, "show", added_at=10, size=0),
            item(21, 2, "episode", show_key=20, added_at=950, size=7),
        ],
    )
    model = from_plex(library)
    assert model.source is AnalyticsSource.PLEX
    assert model.plays_since(0) is None
    assert model.get(10) == WatchStats(plays=4, last_played=70, users=1)
    assert model.get(4) == WatchStats(plays=1, last_played=None, users=1)
    never = model.never_watched(library)
    assert [i.rating_key for i in never] == [2, 3, 20]
    assert titles_size(library, never) == 200 + 300 + 7
    # Movie 4 was played at an unknown time: never called stale.
    stale = model.not_watched_since(library, 600)
    assert [i.rating_key for i in stale] == [1, 2, 10]
    assert [i.rating_key for i in model.not_watched_since(library, 1000)] == [
        1,
        2,
        3,
        10,
        20,
    ]
