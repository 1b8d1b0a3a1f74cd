"""Contract tests of the Tautulli simulator."""

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from simulators import SimulatorStack, TautulliSimulator
from simulators.tautulli import NowPlaying, human_duration


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


async def command(
    stack: SimulatorStack, session: aiohttp.ClientSession, cmd: str, **params: str
) -> Any:
    """Run a command with the right key and return its data."""
    status, response = await call(
        session, stack.tautulli.url, apikey=stack.tautulli.api_key, cmd=cmd, **params
    )
    assert (status, response["result"]) == (200, "success")
    return response["data"]


async def test_get_history_envelope_and_quirks(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    data = await command(stack, session, "get_history", length="1000")
    assert set(data) == {
        "draw",
        "recordsTotal",
        "recordsFiltered",
        "total_duration",
        "filter_duration",
        "data",
    }
    assert data["recordsTotal"] == data["recordsFiltered"] == len(stack.world.plays)
    assert isinstance(data["total_duration"], str)
    movie = next(row for row in data["data"] if row["media_type"] == "movie")
    episode = next(row for row in data["data"] if row["media_type"] == "episode")
    assert movie["parent_rating_key"] == movie["grandparent_rating_key"] == ""
    assert movie["media_index"] == ""
    assert isinstance(movie["rating_key"], int)
    assert isinstance(episode["grandparent_rating_key"], int)
    assert episode["full_title"].endswith(f" - {episode['title']}")
    assert {row["watched_status"] for row in data["data"]} <= {0, 0.5, 1}
    dates = [row["date"] for row in data["data"]]
    assert dates == sorted(dates, reverse=True)


async def test_get_history_paging(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    everything = await command(
        stack,
        session,
        "get_history",
        length="1000",
        order_column="started",
        order_dir="asc",
    )
    page = await command(
        stack,
        session,
        "get_history",
        start="10",
        length="5",
        order_column="started",
        order_dir="asc",
    )
    assert page["data"] == everything["data"][10:15]
    assert page["recordsFiltered"] == everything["recordsFiltered"]
    default = await command(stack, session, "get_history")
    assert len(default["data"]) == 25


async def test_get_history_aggregates_a_show(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    plays = [p for p in stack.world.plays if p.grandparent_rating_key is not None]
    show_key = plays[0].grandparent_rating_key
    expected = [p for p in plays if p.grandparent_rating_key == show_key]
    data = await command(
        stack,
        session,
        "get_history",
        grandparent_rating_key=str(show_key),
        length="1000",
    )
    assert data["recordsFiltered"] == len(expected)
    assert {row["grandparent_rating_key"] for row in data["data"]} == {show_key}
    assert sum(row["play_duration"] for row in data["data"]) == sum(
        p.play_duration for p in expected
    )


@pytest.mark.parametrize(
    "field", ["rating_key", "parent_rating_key", "user_id", "media_type"]
)
async def test_get_history_filters(
    stack: SimulatorStack, session: aiohttp.ClientSession, field: str
) -> None:
    play = next(p for p in stack.world.plays if p.parent_rating_key is not None)
    wanted = getattr(play, field)
    data = await command(
        stack, session, "get_history", length="1000", **{field: str(wanted)}
    )
    assert data["recordsFiltered"] == sum(
        getattr(p, field) == wanted for p in stack.world.plays
    )
    assert {row[field] for row in data["data"]} == {wanted}


async def test_get_history_dates_are_inclusive(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    play = stack.world.plays[0]
    day = datetime.fromtimestamp(play.started, UTC).strftime("%Y-%m-%d")
    data = await command(
        stack, session, "get_history", after=day, before=day, length="1000"
    )
    assert play.id in {row["id"] for row in data["data"]}
    assert all(
        datetime.fromtimestamp(row["started"], UTC).strftime("%Y-%m-%d") == day
        for row in data["data"]
    )


async def test_get_activity(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    assert (await command(stack, session, "get_activity"))["stream_count"] == "0"
    episode = next(iter(stack.world.episodes.values()))
    stack.tautulli.now_playing.append(
        NowPlaying(
            episode.rating_key, 2, progress_percent=40, transcode_decision="transcode"
        )
    )
    data = await command(stack, session, "get_activity")
    assert data["stream_count"] == "1"
    assert data["stream_count_transcode"] == 1
    session_row = data["sessions"][0]
    assert session_row["rating_key"] == str(episode.rating_key)
    assert session_row["grandparent_rating_key"] == str(episode.show_key)
    assert session_row["progress_percent"] == "40"
    assert session_row["user"] == "bob"


async def test_get_libraries_counts_are_strings(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movies, shows = await command(stack, session, "get_libraries")
    assert movies["section_id"] == "1"
    assert movies["count"] == str(len(stack.world.movies))
    assert "child_count" not in movies
    assert shows["count"] == str(len(stack.world.shows))
    assert shows["child_count"] == str(len(stack.world.episodes))
    assert shows["parent_count"] == str(len(stack.world.seasons))


async def test_get_library_media_info_movies(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    data = await command(
        stack,
        session,
        "get_library_media_info",
        section_id="1",
        length="5",
        order_column="file_size",
        order_dir="desc",
    )
    movies = stack.world.movies.values()
    assert data["recordsTotal"] == data["recordsFiltered"] == len(movies)
    assert data["total_file_size"] == sum(m.file.size for m in movies if m.file)
    assert data["filtered_file_size"] == sum(int(r["file_size"]) for r in data["data"])
    sizes = [int(row["file_size"]) for row in data["data"]]
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == max(m.file.size for m in movies if m.file)
    row = data["data"][0]
    assert isinstance(row["rating_key"], str)
    assert isinstance(row["added_at"], str)
    movie = stack.world.movies[int(row["rating_key"])]
    assert movie.file is not None
    assert row["video_resolution"] == movie.file.resolution
    plays = [p for p in stack.world.plays if p.rating_key == movie.rating_key]
    assert row["play_count"] == (len(plays) or None)
    assert row["last_played"] == (max(p.started for p in plays) if plays else None)


async def test_get_library_media_info_shows_group_plays(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    data = await command(
        stack, session, "get_library_media_info", section_id="2", length="100"
    )
    row = next(row for row in data["data"] if row["play_count"])
    key = int(row["rating_key"])
    assert row["play_count"] == sum(
        p.grandparent_rating_key == key for p in stack.world.plays
    )
    assert row["file_size"] == sum(
        e.file.size for e in stack.world.episodes_of(key) if e.file
    )
    titles = [r["sort_title"].lower() for r in data["data"]]
    assert titles == sorted(titles, reverse=True)
    seasons = await command(
        stack,
        session,
        "get_library_media_info",
        rating_key=str(key),
        order_column="title",
        order_dir="asc",
    )
    assert [r["media_type"] for r in seasons["data"]] == ["season"] * len(
        stack.world.shows[key].season_keys
    )
    indexes = [int(r["media_index"]) for r in seasons["data"]]
    assert indexes == sorted(indexes)
    assert {r["play_count"] for r in seasons["data"]} == {None}


async def test_get_library_media_info_needs_a_section_or_item(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    data = await command(stack, session, "get_library_media_info")
    assert data["data"] == []
    assert data["recordsTotal"] == 0


async def test_get_item_watch_time_stats(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    show_key = next(
        p.grandparent_rating_key for p in stack.world.plays if p.grandparent_rating_key
    )
    data = await command(
        stack, session, "get_item_watch_time_stats", rating_key=str(show_key)
    )
    assert [row["query_days"] for row in data] == [1, 7, 30, 0]
    plays = [p for p in stack.world.plays if p.grandparent_rating_key == show_key]
    assert data[-1] == {
        "query_days": 0,
        "total_time": sum(p.play_duration for p in plays),
        "total_plays": len(plays),
    }
    assert data[0]["total_plays"] <= data[1]["total_plays"] <= data[2]["total_plays"]


async def test_get_item_watch_time_stats_without_key_is_an_error(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    status, response = await call(
        session,
        stack.tautulli.url,
        apikey=stack.tautulli.api_key,
        cmd="get_item_watch_time_stats",
    )
    assert (status, response) == (
        400,
        {"result": "error", "message": None, "data": None},
    )


async def test_bad_number_is_a_server_error(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    status, response = await call(
        session,
        stack.tautulli.url,
        apikey=stack.tautulli.api_key,
        cmd="get_history",
        length="many",
    )
    assert status == 500
    assert response["message"] == "Check the logs for errors"


async def test_get_users(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    users = await command(stack, session, "get_users")
    assert [u["username"] for u in users] == [u.username for u in stack.world.users]
    assert users[0]["is_admin"] == 1


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0"), (90, "1 min 30 secs"), (3 * 86400 + 3700, "3 days 1 hr 2 mins")],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text
