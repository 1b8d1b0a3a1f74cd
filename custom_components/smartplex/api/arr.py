"""Async client for Sonarr and Radarr (API v3, which both share)."""

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from .errors import (
    SmartPlexNotFoundError,
    SmartPlexResponseError,
    SmartPlexWrongServiceError,
)
from .http import ServiceHttp, identifying, parse_int, require_mapping
from .models import (
    ArrEpisode,
    ArrEpisodeFile,
    ArrMovie,
    ArrSeries,
    DiskSpace,
    ServiceInfo,
    ServiceKind,
)

APP_NAMES = {ServiceKind.SONARR: "Sonarr", ServiceKind.RADARR: "Radarr"}


class ArrClient:
    """Talk to one Sonarr or Radarr instance with its API key."""

    def __init__(
        self,
        kind: ServiceKind,
        session: aiohttp.ClientSession,
        url: str,
        api_key: str,
    ) -> None:
        """Build the client; the key only ever travels in the X-Api-Key header."""
        self.kind = kind
        self.app_name = APP_NAMES[kind]
        self._http = ServiceHttp(
            self.app_name, session, url, headers={"X-Api-Key": api_key}
        )

    async def async_get_service_info(self) -> ServiceInfo:
        """Check the key and that the instance is the app we expect."""
        path = "/api/v3/system/status"
        with identifying(self.app_name, path):
            status = require_mapping(
                self.app_name, path, await self._http.get_json(path)
            )
        app_name = status.get("appName")
        if app_name != self.app_name:
            raise SmartPlexWrongServiceError(
                self.app_name, f"{path}: answered by {app_name or 'something else'}"
            )
        if not status.get("version"):
            raise SmartPlexResponseError(self.app_name, f"{path}: no version")
        return ServiceInfo(
            kind=self.kind,
            version=str(status["version"]),
            name=str(status.get("instanceName") or self.app_name),
        )

    async def async_get_diskspace(self) -> list[DiskSpace]:
        """Return the disks the app sees, with free and total bytes."""
        path = "/api/v3/diskspace"
        disks = await self._http.get_json(path)
        if not isinstance(disks, list):
            raise SmartPlexResponseError(self.app_name, f"{path}: expected a list")
        try:
            return [
                DiskSpace(
                    path=str(disk["path"]),
                    label=str(disk.get("label") or ""),
                    free=int(disk["freeSpace"]),
                    total=int(disk["totalSpace"]),
                )
                for disk in disks
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise SmartPlexResponseError(self.app_name, f"{path}: bad disk") from err

    async def async_get_health_warnings(self) -> list[str]:
        """Return the app's own health warnings and errors ("type: message")."""
        path = "/api/v3/health"
        checks = await self._http.get_json(path)
        if not isinstance(checks, list):
            raise SmartPlexResponseError(self.app_name, f"{path}: expected a list")
        return [
            f"{check.get('type')}: {check.get('message')}"
            for check in checks
            if isinstance(check, dict) and check.get("type") in {"warning", "error"}
        ]

    def _require(self, kind: ServiceKind) -> None:
        """Refuse a Radarr call on a Sonarr client and the other way round."""
        if self.kind is not kind:
            raise ValueError(f"{self.app_name} has no {APP_NAMES[kind]} calls")

    async def _get_list(self, path: str, params: Mapping[str, str]) -> list[Any]:
        """GET a JSON list."""
        found = await self._http.get_json(path, params=params)
        if not isinstance(found, list):
            raise SmartPlexResponseError(self.app_name, f"{path}: expected a list")
        return found

    async def _get_one(self, path: str) -> Any:
        """GET one resource; None when the app has no such id (404)."""
        try:
            return await self._http.get_json(path)
        except SmartPlexNotFoundError:
            return None

    async def _put(self, path: str, resource: Mapping[str, Any]) -> Any:
        """PUT a whole resource and return the app's answer (the stored resource)."""
        _, body = await self._http.request(
            "PUT", path, json=dict(resource), headers={"Accept": "application/json"}
        )
        return self._http.parse_json(path, body)

    async def _delete(self, path: str, params: Mapping[str, str] | None = None) -> None:
        """DELETE a resource; an unknown id raises SmartPlexNotFoundError."""
        await self._http.request("DELETE", path, params=params)

    # Radarr.

    async def async_get_movie_by_tmdb(self, tmdb_id: int) -> ArrMovie | None:
        """Return the Radarr movie with this TMDb id, if Radarr has it."""
        self._require(ServiceKind.RADARR)
        path = "/api/v3/movie"
        movies = await self._get_list(path, {"tmdbId": str(tmdb_id)})
        return next(
            (
                movie
                for movie in (parse_movie(path, raw) for raw in movies)
                if movie.tmdb_id == tmdb_id
            ),
            None,
        )

    async def async_get_movie(self, movie_id: int) -> ArrMovie | None:
        """Return a Radarr movie by id; None if Radarr has no such movie."""
        self._require(ServiceKind.RADARR)
        path = f"/api/v3/movie/{movie_id}"
        raw = await self._get_one(path)
        return None if raw is None else parse_movie(path, raw)

    async def async_set_movie_monitored(
        self, movie: ArrMovie, monitored: bool
    ) -> ArrMovie:
        """Set a movie's monitored flag (the whole movie is sent back); return Radarr's answer."""
        self._require(ServiceKind.RADARR)
        path = f"/api/v3/movie/{movie.id}"
        answer = await self._put(path, {**movie.raw, "monitored": monitored})
        return parse_movie(path, answer)

    async def async_delete_movie(
        self, movie_id: int, *, delete_files: bool = True, add_exclusion: bool = False
    ) -> None:
        """Remove a movie from Radarr, by default with its files on disk."""
        self._require(ServiceKind.RADARR)
        await self._delete(
            f"/api/v3/movie/{movie_id}",
            {
                "deleteFiles": _flag(delete_files),
                "addImportExclusion": _flag(add_exclusion),
            },
        )

    # Sonarr.

    async def async_get_series_by_tvdb(self, tvdb_id: int) -> ArrSeries | None:
        """Return the Sonarr series with this TVDB id, if Sonarr has it."""
        self._require(ServiceKind.SONARR)
        path = "/api/v3/series"
        series = await self._get_list(path, {"tvdbId": str(tvdb_id)})
        return next(
            (
                one
                for one in (parse_series(path, raw) for raw in series)
                if one.tvdb_id == tvdb_id
            ),
            None,
        )

    async def async_get_series(self, series_id: int) -> ArrSeries | None:
        """Return a Sonarr series by id; None if Sonarr has no such series."""
        self._require(ServiceKind.SONARR)
        path = f"/api/v3/series/{series_id}"
        raw = await self._get_one(path)
        return None if raw is None else parse_series(path, raw)

    async def async_set_series_monitored(
        self, series: ArrSeries, monitored: bool, *, season: int | None = None
    ) -> ArrSeries:
        """Set the series' own monitored flag, or with `season` only that season's.

        Sonarr carries a season's new flag over to its episodes. A season number the
        series does not have is a ValueError.
        """
        self._require(ServiceKind.SONARR)
        path = f"/api/v3/series/{series.id}"
        if season is None:
            resource = {**series.raw, "monitored": monitored}
        elif season in series.seasons:
            resource = {
                **series.raw,
                "seasons": [
                    {**raw, "monitored": monitored}
                    if parse_int(raw["seasonNumber"]) == season
                    else raw
                    for raw in series.raw["seasons"]
                ],
            }
        else:
            raise ValueError(f"series {series.id} has no season {season}")
        return parse_series(path, await self._put(path, resource))

    async def async_get_episodes(self, series_id: int) -> list[ArrEpisode]:
        """Return every episode Sonarr knows of a series."""
        self._require(ServiceKind.SONARR)
        path = "/api/v3/episode"
        episodes = await self._get_list(path, {"seriesId": str(series_id)})
        return [parse_episode(path, raw) for raw in episodes]

    async def async_set_episodes_monitored(
        self, episode_ids: Sequence[int], monitored: bool
    ) -> None:
        """Set the monitored flag of episodes by id."""
        self._require(ServiceKind.SONARR)
        await self._http.request(
            "PUT",
            "/api/v3/episode/monitor",
            json={"episodeIds": list(episode_ids), "monitored": monitored},
        )

    async def async_get_episode_files(self, series_id: int) -> list[ArrEpisodeFile]:
        """Return a series' episode files on disk (an unknown series is not found)."""
        self._require(ServiceKind.SONARR)
        path = "/api/v3/episodefile"
        files = await self._get_list(path, {"seriesId": str(series_id)})
        return [parse_episode_file(path, raw) for raw in files]

    async def async_delete_episode_file(self, file_id: int) -> None:
        """Delete one episode file from disk; the episode stays in Sonarr."""
        self._require(ServiceKind.SONARR)
        await self._delete(f"/api/v3/episodefile/{file_id}")

    async def async_delete_series(
        self, series_id: int, *, delete_files: bool = True, add_exclusion: bool = False
    ) -> None:
        """Remove a series from Sonarr, by default with its files on disk."""
        self._require(ServiceKind.SONARR)
        await self._delete(
            f"/api/v3/series/{series_id}",
            {
                "deleteFiles": _flag(delete_files),
                "addImportListExclusion": _flag(add_exclusion),
            },
        )


def _flag(value: bool) -> str:
    """Write a boolean query parameter as the *arrs read it."""
    return "true" if value else "false"


class _Fields:
    """Read the fields of one *arr resource, calling anything unusable a response error."""

    def __init__(self, service: str, path: str, raw: Any) -> None:
        """Check that the resource is a JSON object."""
        self.service = service
        self.path = path
        self.raw = require_mapping(service, path, raw)

    def error(self, name: str) -> SmartPlexResponseError:
        """Return the error for a missing or unusable field."""
        return SmartPlexResponseError(self.service, f"{self.path}: bad {name}")

    def integer(self, name: str) -> int:
        """Return a required number (numbers sent as strings are read too)."""
        value = parse_int(self.raw.get(name))
        if value is None:
            raise self.error(name)
        return value

    def flag(self, name: str) -> bool:
        """Return a required true/false field."""
        value = self.raw.get(name)
        if not isinstance(value, bool):
            raise self.error(name)
        return value

    def optional_id(self, name: str) -> int | None:
        """Return an optional id; 0, empty and null all mean none."""
        return parse_int(self.raw.get(name)) or None

    def text(self, name: str) -> str | None:
        """Return an optional non-empty string."""
        value = self.raw.get(name)
        return value if isinstance(value, str) and value else None

    def size(self, name: str) -> int:
        """Return a size in bytes, 0 when missing."""
        return parse_int(self.raw.get(name)) or 0


def _statistics_size(fields: _Fields) -> int:
    """Return sizeOnDisk from the resource or, failing that, its statistics."""
    statistics = fields.raw.get("statistics")
    if fields.raw.get("sizeOnDisk") is None and isinstance(statistics, Mapping):
        return parse_int(statistics.get("sizeOnDisk")) or 0
    return fields.size("sizeOnDisk")


def parse_movie(path: str, raw: Any) -> ArrMovie:
    """Turn a Radarr MovieResource into an ArrMovie."""
    fields = _Fields("Radarr", path, raw)
    return ArrMovie(
        id=fields.integer("id"),
        title=fields.text("title") or "",
        year=fields.optional_id("year"),
        tmdb_id=fields.optional_id("tmdbId"),
        imdb_id=fields.text("imdbId"),
        monitored=fields.flag("monitored"),
        has_file=fields.raw.get("hasFile") is True,
        size_on_disk=_statistics_size(fields),
        raw=fields.raw,
    )


def _seasons(fields: _Fields) -> dict[int, bool]:
    """Return {season number: monitored} of a SeriesResource."""
    seasons = fields.raw.get("seasons")
    if not isinstance(seasons, list):
        raise fields.error("seasons")
    found: dict[int, bool] = {}
    for raw in seasons:
        season = _Fields(fields.service, fields.path, raw)
        try:
            found[season.integer("seasonNumber")] = season.flag("monitored")
        except SmartPlexResponseError as err:
            raise fields.error("seasons") from err
    return found


def parse_series(path: str, raw: Any) -> ArrSeries:
    """Turn a Sonarr SeriesResource into an ArrSeries."""
    fields = _Fields("Sonarr", path, raw)
    return ArrSeries(
        id=fields.integer("id"),
        title=fields.text("title") or "",
        year=fields.optional_id("year"),
        tvdb_id=fields.optional_id("tvdbId"),
        tmdb_id=fields.optional_id("tmdbId"),
        imdb_id=fields.text("imdbId"),
        monitored=fields.flag("monitored"),
        seasons=_seasons(fields),
        size_on_disk=_statistics_size(fields),
        raw=fields.raw,
    )


def parse_episode(path: str, raw: Any) -> ArrEpisode:
    """Turn a Sonarr EpisodeResource into an ArrEpisode."""
    fields = _Fields("Sonarr", path, raw)
    return ArrEpisode(
        id=fields.integer("id"),
        series_id=fields.integer("seriesId"),
        season_number=fields.integer("seasonNumber"),
        episode_number=fields.integer("episodeNumber"),
        monitored=fields.flag("monitored"),
        has_file=fields.raw.get("hasFile") is True,
        episode_file_id=fields.optional_id("episodeFileId"),
    )


def parse_episode_file(path: str, raw: Any) -> ArrEpisodeFile:
    """Turn a Sonarr EpisodeFileResource into an ArrEpisodeFile."""
    fields = _Fields("Sonarr", path, raw)
    return ArrEpisodeFile(
        id=fields.integer("id"),
        series_id=fields.integer("seriesId"),
        season_number=fields.integer("seasonNumber"),
        size=fields.size("size"),
    )
