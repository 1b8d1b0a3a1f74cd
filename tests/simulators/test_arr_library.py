"""Contract tests of the Sonarr and Radarr library endpoints over the shared World."""

from typing import Any

import aiohttp
import pytest

from simulators import ArrSimulator, SimulatorStack
from simulators.world import World

MOVIE_FIELDS = {
    "id",
    "title",
    "year",
    "tmdbId",
    "imdbId",
    "path",
    "monitored",
    "hasFile",
    "sizeOnDisk",
    "tags",
    "added",
    "statistics",
}
FILE_FIELDS = {
    "id",
    "relativePath",
    "path",
    "size",
    "dateAdded",
    "quality",
    "mediaInfo",
}


async def call(
    session: aiohttp.ClientSession,
    sim: ArrSimulator,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    """Send an authorised request and return the status and JSON body (None if empty)."""
    headers = {"X-Api-Key": sim.api_key}
    async with session.request(
        method, f"{sim.url}/api/v3{path}", headers=headers, **kwargs
    ) as response:
        body = await response.read()
        return response.status, (
            await response.json(content_type=None)
        ) if body else None


def free(disks: list[dict[str, Any]], path: str) -> int:
    """Return the free space of one disk of a diskspace answer."""
    return next(disk["freeSpace"] for disk in disks if disk["path"] == path)


async def test_movies_are_the_managed_ones(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    status, movies = await call(session, stack.radarr, "GET", "/movie")
    assert status == 200
    managed = [m for m in stack.world.movies.values() if m.radarr_id is not None]
    assert len(managed) < len(stack.world.movies)
    assert [m["id"] for m in movies] == [m.radarr_id for m in managed]
    movie = movies[0]
    assert movie.keys() >= MOVIE_FIELDS
    assert movie["hasFile"] is True
    assert FILE_FIELDS | {"movieId"} <= movie["movieFile"].keys()
    assert movie["movieFile"]["movieId"] == movie["id"]
    assert movie["sizeOnDisk"] == movie["movieFile"]["size"] > 0
    assert (
        movie["movieFile"]["path"]
        == f"{movie['path']}/{movie['movieFile']['relativePath']}"
    )
    assert movie["movieFile"]["quality"]["quality"]["name"].startswith(
        ("WEBDL", "SDTV")
    )


async def test_movie_filter_and_404(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    movie = next(m for m in stack.world.movies.values() if m.radarr_id is not None)
    _, found = await call(
        session, stack.radarr, "GET", f"/movie?tmdbId={movie.tmdb_id}"
    )
    assert [m["id"] for m in found] == [movie.radarr_id]
    assert await call(session, stack.radarr, "GET", "/movie?tmdbId=1") == (200, [])
    status, one = await call(session, stack.radarr, "GET", f"/movie/{movie.radarr_id}")
    assert (status, one["tmdbId"]) == (200, movie.tmdb_id)
    status, problem = await call(session, stack.radarr, "GET", "/movie/99999")
    assert status == 404
    assert (problem["title"], problem["status"]) == ("Not Found", 404)
    status, error = await call(session, stack.radarr, "DELETE", "/movie/99999")
    assert (status, error["message"]) == (404, "Movie with ID 99999 does not exist")


async def test_v3_not_found_body(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with ArrSimulator("Radarr", version="3.2.2.5080") as sim:
        assert await call(session, sim, "GET", "/movie/99999") == (
            404,
            {"message": "NotFound"},
        )
        _, movies = await call(session, sim, "GET", "/movie")
        assert "statistics" not in movies[0]


async def test_unmonitor_movie_persists(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, movie = await call(session, stack.radarr, "GET", "/movie/1")
    movie |= {"monitored": False, "tags": [2]}
    status, stored = await call(session, stack.radarr, "PUT", "/movie/1", json=movie)
    assert (status, stored["monitored"], stored["tags"]) == (202, False, [2])
    _, again = await call(session, stack.radarr, "GET", "/movie/1")
    assert again["monitored"] is False
    status, failures = await call(
        session, stack.radarr, "PUT", "/movie/1", json=movie | {"path": ""}
    )
    assert status == 400
    assert failures[0]["propertyName"] == "Path"
    assert "errorMessage" in failures[0]


@pytest.mark.parametrize("delete_files", [True, False])
async def test_delete_movie(
    stack: SimulatorStack, session: aiohttp.ClientSession, delete_files: bool
) -> None:
    movie = next(m for m in stack.world.movies.values() if m.radarr_id is not None)
    assert movie.file is not None
    movie_id = movie.radarr_id
    _, before = await call(session, stack.sonarr, "GET", "/diskspace")
    params = {"deleteFiles": str(delete_files).lower()}
    status, _ = await call(
        session, stack.radarr, "DELETE", f"/movie/{movie_id}", params=params
    )
    assert status == 200
    assert movie.file.exists is not delete_files
    for sim in (stack.sonarr, stack.radarr):
        _, after = await call(session, sim, "GET", "/diskspace")
        freed = free(after, "/data/movies") - free(before, "/data/movies")
        assert freed == (movie.file.size if delete_files else 0)
    assert (await call(session, stack.radarr, "GET", f"/movie/{movie_id}"))[0] == 404
    assert stack.plex.world.movies[movie.rating_key].file is movie.file


async def test_movie_file_delete_keeps_movie(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    assert (await call(session, stack.radarr, "GET", "/moviefile"))[0] == 400
    _, files = await call(session, stack.radarr, "GET", "/moviefile?movieId=1")
    assert len(files) == 1
    assert files[0].keys() >= FILE_FIELDS
    assert await call(
        session, stack.radarr, "DELETE", f"/moviefile/{files[0]['id']}"
    ) == (
        200,
        None,
    )
    _, movie = await call(session, stack.radarr, "GET", "/movie/1")
    assert (movie["hasFile"], movie["sizeOnDisk"], "movieFile" in movie) == (
        False,
        0,
        False,
    )
    assert await call(session, stack.radarr, "GET", "/moviefile?movieId=1") == (200, [])
    status, _ = await call(
        session, stack.radarr, "DELETE", f"/moviefile/{files[0]['id']}"
    )
    assert status == 404


async def test_import_exclusion(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, movie = await call(session, stack.radarr, "GET", "/movie/1")
    params = {"addImportExclusion": "true"}
    await call(session, stack.radarr, "DELETE", "/movie/1", params=params)
    _, exclusions = await call(session, stack.radarr, "GET", "/exclusions")
    assert exclusions == [
        {
            "tmdbId": movie["tmdbId"],
            "movieTitle": movie["title"],
            "movieYear": movie["year"],
            "id": 1,
        }
    ]
    again = [
        {"tmdbId": movie["tmdbId"], "movieTitle": movie["title"], "movieYear": 2000}
    ]
    status, failures = await call(
        session, stack.radarr, "POST", "/exclusions/bulk", json=again
    )
    assert status == 400
    assert failures[0]["errorMessage"] == "This exclusion has already been added."


async def test_duplicate_exclusion_before_validation(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with ArrSimulator("Radarr", version="5.8.3.8933") as sim:
        item = {"tmdbId": 5, "movieTitle": "Five", "movieYear": 2005}
        first = await call(session, sim, "POST", "/exclusions", json=item)
        assert await call(session, sim, "POST", "/exclusions", json=item) == first
        assert first[0] == 201


async def test_series_shapes_and_filter(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, series = await call(session, stack.sonarr, "GET", "/series")
    shows = [s for s in stack.world.shows.values() if s.sonarr_id is not None]
    assert [s["id"] for s in series] == [s.sonarr_id for s in shows]
    one = series[0]
    assert {
        "tvdbId",
        "tmdbId",
        "imdbId",
        "path",
        "monitored",
        "tags",
        "added",
    } <= one.keys()
    season = one["seasons"][0]["statistics"]
    assert {
        "episodeFileCount",
        "episodeCount",
        "totalEpisodeCount",
        "sizeOnDisk",
    } <= season.keys()
    assert season["percentOfEpisodes"] == 100
    assert one["statistics"]["sizeOnDisk"] == sum(
        s["statistics"]["sizeOnDisk"] for s in one["seasons"]
    )
    _, found = await call(
        session, stack.sonarr, "GET", f"/series?tvdbId={one['tvdbId']}"
    )
    assert [s["id"] for s in found] == [one["id"]]
    assert await call(session, stack.sonarr, "GET", "/series?tvdbId=1") == (200, [])
    assert (await call(session, stack.sonarr, "GET", "/series/99999"))[0] == 404
    assert (await call(session, stack.sonarr, "GET", "/episodefile?seriesId=99999"))[
        0
    ] == 404


def show_with_specials(world: World) -> int:
    """Return the Sonarr id of a managed show with specials and another season."""
    for show in world.shows.values():
        indexes = [world.seasons[key].index for key in show.season_keys]
        if show.sonarr_id is not None and indexes[0] == 0 and len(indexes) > 1:
            return show.sonarr_id
    raise AssertionError("no show with specials")


@pytest.mark.parametrize("season_number", [0, 1])
async def test_delete_one_season(
    socket_enabled: None, session: aiohttp.ClientSession, season_number: int
) -> None:
    async with SimulatorStack(seed=3, movies=5, shows=12) as stack:
        sonarr = stack.sonarr
        series_id = show_with_specials(stack.world)
        _, episodes = await call(
            session, sonarr, "GET", f"/episode?seriesId={series_id}"
        )
        assert {
            "seriesId",
            "episodeNumber",
            "title",
            "hasFile",
            "episodeFileId",
        } <= episodes[0].keys()
        chosen = [e for e in episodes if e["seasonNumber"] == season_number]
        body = {"episodeIds": [e["id"] for e in chosen], "monitored": False}
        status, changed = await call(
            session, sonarr, "PUT", "/episode/monitor", json=body
        )
        assert status == 202
        assert {e["monitored"] for e in changed} == {False}
        _, before = await call(session, stack.radarr, "GET", "/diskspace")
        for episode in chosen:
            status, _ = await call(
                session, sonarr, "DELETE", f"/episodefile/{episode['episodeFileId']}"
            )
            assert status == 200
        _, after = await call(session, stack.radarr, "GET", "/diskspace")
        assert free(after, "/data/tv") > free(before, "/data/tv")
        _, series = await call(session, sonarr, "GET", f"/series/{series_id}")
        stats = {s["seasonNumber"]: s["statistics"] for s in series["seasons"]}
        assert stats[season_number]["episodeFileCount"] == 0
        assert all(
            s["episodeFileCount"] == s["totalEpisodeCount"]
            for n, s in stats.items()
            if n != season_number
        )
        _, files = await call(
            session, sonarr, "GET", f"/episodefile?seriesId={series_id}"
        )
        assert files
        assert season_number not in {f["seasonNumber"] for f in files}
        _, episodes = await call(
            session, sonarr, "GET", f"/episode?seriesId={series_id}"
        )
        others = [e for e in episodes if e["seasonNumber"] != season_number]
        assert all(e["monitored"] and e["hasFile"] for e in others)


async def test_series_put_and_delete(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, series = await call(session, stack.sonarr, "GET", "/series/1")
    series["seasons"][-1]["monitored"] = False
    status, stored = await call(session, stack.sonarr, "PUT", "/series/1", json=series)
    assert (status, stored["seasons"][-1]["monitored"]) == (202, False)
    last = stored["seasons"][-1]["seasonNumber"]
    _, episodes = await call(
        session, stack.sonarr, "GET", f"/episode?seriesId=1&seasonNumber={last}"
    )
    assert {e["monitored"] for e in episodes} == {False}
    params = {"deleteFiles": "true", "addImportListExclusion": "true"}
    assert await call(session, stack.sonarr, "DELETE", "/series/1", params=params) == (
        200,
        None,
    )
    assert (await call(session, stack.sonarr, "GET", "/series/1"))[0] == 404
    _, exclusions = await call(session, stack.sonarr, "GET", "/importlistexclusion")
    assert exclusions == [
        {"tvdbId": series["tvdbId"], "title": series["title"], "id": 1}
    ]
    show = next(s for s in stack.world.shows.values() if s.tvdb_id == series["tvdbId"])
    episodes_left = [
        stack.world.episodes[k]
        for sk in show.season_keys
        for k in stack.world.seasons[sk].episode_keys
    ]
    assert not any(e.file is not None and e.file.exists for e in episodes_left)


async def test_shared_endpoints(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, roots = await call(session, stack.sonarr, "GET", "/rootfolder")
    assert [(r["path"], r["id"]) for r in roots] == [("/data/tv", 1)]
    assert await call(session, stack.radarr, "GET", "/tag") == (200, [])
    status, tag = await call(
        session, stack.radarr, "POST", "/tag", json={"label": "Keep"}
    )
    assert (status, tag) == (201, {"label": "keep", "id": 1})
    assert await call(
        session, stack.radarr, "POST", "/tag", json={"label": "keep"}
    ) == (201, tag)
    _, queue = await call(session, stack.sonarr, "GET", "/queue?page=2&pageSize=50")
    assert queue == {
        "page": 2,
        "pageSize": 50,
        "sortKey": "timeleft",
        "sortDirection": "ascending",
        "totalRecords": 0,
        "records": [],
    }


@pytest.mark.parametrize(
    "path", ["/movie", "/movie/1", "/moviefile?movieId=1", "/exclusions"]
)
async def test_auth_and_url_base(
    socket_enabled: None, session: aiohttp.ClientSession, path: str
) -> None:
    async with ArrSimulator("Radarr", url_base="/radarr", api_key="k" * 32) as sim:
        async with session.get(f"{sim.url}/api/v3{path}") as response:
            assert (response.status, await response.read()) == (401, b"")
        async with session.get(
            f"{sim.url}/api/v3{path}", params={"apikey": sim.api_key}
        ) as response:
            assert response.status == 200
        root = sim.url.removesuffix("/radarr")
        async with session.get(
            f"{root}/api/v3{path}", headers={"X-Api-Key": sim.api_key}
        ) as response:
            assert response.status == 404


async def test_movie_list_at_scale(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    """A 20k-movie world lists every managed movie (speed is measured in bench/)."""
    world = World.generate(movies=20_000, shows=0)
    async with (
        ArrSimulator("Radarr", world=world) as sim,
        session.get(
            f"{sim.url}/api/v3/movie", headers={"X-Api-Key": sim.api_key}
        ) as response,
    ):
        body = await response.read()
    assert response.status == 200
    assert body.count(b'"tmdbId"') == sum(
        m.radarr_id is not None for m in world.movies.values()
    )
