"""Sonarr and Radarr simulator (API v3), serving the shared World.

Sources (Sonarr tag v4.0.14.2939 and branch v3, Radarr tag v5.26.2.10099):
- SystemController.cs: `GET /system/status` fields; Radarr v4+ reports isContainerized,
  databaseType and databaseVersion where Sonarr and older Radarr report sqliteVersion.
- HealthResource.cs and RestResource.cs: a zero `id` is not written; STJson.cs writes camelCase
  and omits nulls (so `movieFile` is absent when a movie has no file).
- A wrong key is 401, `{"error":"Unauthorized"}` from the Nancy-based v3 servers and an empty
  body from the ASP.NET Core ones (v4 and later), as contracts.md records.
- Errors, RestController.cs and *ErrorPipeline.cs: an unknown id on `GET /{id}` is `NotFound()`,
  which Nancy (v3) renders as `{"message":"NotFound"}` (ErrorHandler.cs) and ASP.NET Core 6 (v4+)
  as ProblemDetails; an unknown id on PUT/DELETE raises ModelNotFoundException, rendered as
  `{"message","description"}`; validation failures are a 400 list of FluentValidation failures.
- PUT answers 202 with the stored resource (`Accepted(id)`); DELETE answers 200, `{}` from Nancy
  and an empty body from ASP.NET Core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from http import HTTPStatus
import json
from typing import Any, Literal

from aiohttp import web

from .base import Simulator, random_string
from .world import MOVIE_ROOT, TV_ROOT, Episode, MediaFile, Movie, Show, World

type ArrApp = Literal["Sonarr", "Radarr"]
type JSON = dict[str, Any]
type RouteHandler = Callable[[web.Request], Awaitable[web.Response]]

DEFAULT_VERSIONS: dict[ArrApp, str] = {
    "Sonarr": "4.0.14.2939",
    "Radarr": "5.26.2.10099",
}
BRANCHES: dict[ArrApp, str] = {"Sonarr": "main", "Radarr": "master"}
ROOTS: dict[ArrApp, str] = {"Sonarr": TV_ROOT, "Radarr": MOVIE_ROOT}
ENGLISH = {"id": 1, "name": "English"}
# Quality ids, names and sources from Quality.cs / QualitySource.cs of each app.
QUALITIES = {
    "4k": (18, "WEBDL-2160p", 2160),
    "1080": (3, "WEBDL-1080p", 1080),
    "720": (5, "WEBDL-720p", 720),
    "480": (8, "WEBDL-480p", 480),
    "sd": (1, "SDTV", 480),
}
# MediaInfoFormatter.cs names the codecs as the UI shows them.
VIDEO_CODECS = {"h264": "h264", "hevc": "h265", "av1": "AV1", "mpeg4": "XviD"}
AUDIO_CODECS = {
    "aac": "AAC",
    "ac3": "AC3",
    "eac3": "EAC3",
    "dca": "DTS",
    "truehd": "TrueHD",
}
# ASP.NET Core 6 maps a bare 404 to this ProblemDetails type (Sonarr 4 and Radarr 4-5 run net6).
NOT_FOUND_TYPE = "https://tools.ietf.org/html/rfc7231#section-6.5.4"
# Radarr validates exclusion uniqueness on POST /exclusions since 5.9.0 (commit 3be2c6b0b) and
# on POST /exclusions/bulk since 5.26.2 (Maintainerr PR #3096).
EXCLUSION_UNIQUE = (5, 9)
BULK_EXCLUSION_UNIQUE = (5, 26, 2)
DUPLICATE_EXCLUSION = "This exclusion has already been added."


@cache
def _parse_version(version: str) -> tuple[int, ...]:
    """Return a dotted version as a comparable tuple."""
    return tuple(int(part) for part in version.split("."))


def _iso(timestamp: int) -> str:
    """Return an epoch time as the *arrs write dates."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _runtime(milliseconds: int) -> str:
    """Format a duration as MediaInfoResource.FormatRuntime does (h:mm:ss or m:ss)."""
    minutes, seconds = divmod(milliseconds // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
    )


def _failure(prop: str, message: str, value: Any, code: str) -> JSON:
    """Return one FluentValidation failure as the *arrs serialise it."""
    return {
        "propertyName": prop,
        "errorMessage": message,
        "attemptedValue": value,
        "severity": "error",
        "errorCode": code,
        "formattedMessagePlaceholderValues": {
            "propertyName": prop,
            "propertyValue": value,
        },
    }


def _resource_failures(body: JSON) -> list[JSON]:
    """Validate a PUT movie/series body as the shared and PUT validators do."""
    failures: list[JSON] = []
    path = body.get("path")
    if not path:
        failures.append(
            _failure("Path", "'Path' must not be empty.", path, "NotEmptyValidator")
        )
    elif not str(path).startswith("/"):
        failures.append(
            _failure("Path", f"Invalid Path: '{path}'", path, "PathValidator")
        )
    profile = body.get("qualityProfileId", 0)
    if not isinstance(profile, int) or profile <= 0:
        failures.append(
            _failure(
                "QualityProfileId",
                "'Quality Profile Id' must be greater than '0'.",
                profile,
                "GreaterThanValidator",
            )
        )
    return failures


def _live(file: MediaFile | None) -> MediaFile | None:
    """Return the file if it is still on disk."""
    return file if file is not None and file.exists else None


class ArrSimulator(Simulator):
    """A Sonarr or Radarr server with API-key auth and an optional URL base."""

    def __init__(
        self,
        app: ArrApp,
        *,
        seed: int = 0,
        world: World | None = None,
        api_key: str | None = None,
        version: str | None = None,
        url_base: str = "",
    ) -> None:
        """Create the server; `url_base` such as "/sonarr" prefixes every path."""
        self.name = app.lower()
        super().__init__(seed=seed, world=world)
        self.app = app
        self.api_key = api_key or random_string(self.rng, 32)
        self.version = version or DEFAULT_VERSIONS[app]
        self.url_base = url_base.rstrip("/")
        self.instance_name = app
        self.health: list[JSON] = []
        self.tags: list[JSON] = []
        self.exclusions: list[JSON] = []
        self._movie_texts: dict[int, tuple[tuple[Any, ...], str]] = {}

    @property
    def url(self) -> str:
        """Return the base URL including the URL base."""
        return super().url + self.url_base

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """Return the version as a comparable tuple."""
        return _parse_version(self.version)

    @property
    def major_version(self) -> int:
        """Return the major version number."""
        return self.version_tuple[0]

    async def start(self) -> None:
        """Start listening with the movie resources already rendered."""
        for movie in self._managed_movies():
            self._movie_text(movie)
        await super().start()

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the API under the URL base."""
        api = f"{self.url_base}/api/v3"
        router.add_get(f"{self.url_base}/ping", self._ping)
        routes: list[tuple[str, str, RouteHandler]] = [
            ("GET", "/system/status", self._status),
            ("GET", "/health", self._health),
            ("GET", "/diskspace", self._diskspace),
            ("GET", "/rootfolder", self._rootfolder),
            ("GET", "/tag", self._tag_list),
            ("POST", "/tag", self._tag_create),
            ("GET", "/queue", self._queue),
        ]
        if self.app == "Radarr":
            routes += [
                ("GET", "/movie", self._movie_list),
                ("GET", r"/movie/{id:\d+}", self._movie_get),
                ("PUT", r"/movie/{id:\d+}", self._movie_put),
                ("DELETE", r"/movie/{id:\d+}", self._movie_delete),
                ("GET", "/moviefile", self._moviefile_list),
                ("GET", r"/moviefile/{id:\d+}", self._moviefile_get),
                ("DELETE", r"/moviefile/{id:\d+}", self._moviefile_delete),
                ("GET", "/exclusions", self._exclusion_list),
                ("POST", "/exclusions", self._exclusion_create),
                ("POST", "/exclusions/bulk", self._exclusion_bulk),
            ]
        else:
            routes += [
                ("GET", "/series", self._series_list),
                ("GET", r"/series/{id:\d+}", self._series_get),
                ("PUT", r"/series/{id:\d+}", self._series_put),
                ("DELETE", r"/series/{id:\d+}", self._series_delete),
                ("GET", "/episode", self._episode_list),
                ("PUT", "/episode/monitor", self._episode_monitor),
                ("GET", "/episodefile", self._episodefile_list),
                ("GET", r"/episodefile/{id:\d+}", self._episodefile_get),
                ("DELETE", r"/episodefile/{id:\d+}", self._episodefile_delete),
                ("GET", "/importlistexclusion", self._exclusion_list),
            ]
        for method, path, handler in routes:
            router.add_route(method, api + path, self._guarded(handler))
        router.add_route("*", "/{tail:.*}", self._guarded(self._not_found))

    def _guarded(self, handler: RouteHandler) -> RouteHandler:
        """Wrap a handler so it answers 401 without the API key."""

        async def guarded(request: web.Request) -> web.Response:
            if not self._authorized(request):
                return self.unauthorized(request)
            return await handler(request)

        return guarded

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer an error as the servarr apps do: mostly an empty body."""
        return web.Response(status=status)

    def unauthorized(self, request: web.Request) -> web.Response:
        """Answer a bad key: a JSON error before v4, an empty body since."""
        if self.major_version < 4:
            return web.json_response({"error": "Unauthorized"}, status=401)
        return web.Response(status=401)

    def _authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the API key (header or query)."""
        sent = request.headers.get("X-Api-Key") or request.query.get("apikey")
        return sent == self.api_key

    # Answers shared by the endpoints.

    def _json(self, data: Any, status: int = 200) -> web.Response:
        """Answer JSON compactly (bodies of 20k movies stay fast)."""
        return web.Response(
            status=status,
            text=json.dumps(data, separators=(",", ":")),
            content_type="application/json",
        )

    def _missing_id(self) -> web.Response:
        """Answer `GET /{id}` of an unknown id: NotFound() rendered per framework."""
        if self.major_version < 4:
            return self._json(
                {"message": HTTPStatus.NOT_FOUND.phrase.replace(" ", "")}, 404
            )
        problem = {
            "type": NOT_FOUND_TYPE,
            "title": HTTPStatus.NOT_FOUND.phrase,
            "status": 404,
            "traceId": f"00-{random_string(self.rng, 32)}-{random_string(self.rng, 16)}-00",
        }
        return web.Response(
            status=404,
            text=json.dumps(problem),
            content_type="application/problem+json",
        )

    def _model_not_found(self, model: str, item_id: int) -> web.Response:
        """Answer a ModelNotFoundException (PUT or DELETE of an unknown id)."""
        message = f"{model} with ID {item_id} does not exist"
        exception = "NzbDrone.Core.Datastore.ModelNotFoundException"
        return self._json(
            {"message": message, "description": f"{exception}: {message}"}, 404
        )

    def _bad_request(self, message: str) -> web.Response:
        """Answer a BadRequestException: an ApiException with only a message."""
        return self._json({"message": message}, 400)

    def _deleted(self) -> web.Response:
        """Answer a successful DELETE: `{}` from Nancy, an empty body since v4."""
        if self.major_version < 4:
            return self._json({})
        return web.Response(status=200)

    async def _body(self, request: web.Request) -> Any:
        """Return the JSON body, or None when it is not JSON."""
        try:
            return await request.json()
        except ValueError:
            return None

    def _quality(self, file: MediaFile) -> JSON:
        """Return a file's QualityModel."""
        quality_id, name, resolution = QUALITIES[file.resolution]
        quality: JSON = {"id": quality_id, "name": name, "resolution": resolution}
        if self.app == "Radarr":
            quality |= {
                "source": "tv" if quality_id == 1 else "webdl",
                "modifier": "none",
            }
        else:
            quality["source"] = "television" if quality_id == 1 else "web"
        return {
            "quality": quality,
            "revision": {"version": 1, "real": 0, "isRepack": False},
        }

    def _media_info(self, file: MediaFile) -> JSON:
        """Return a file's MediaInfoResource."""
        return {
            "audioBitrate": 640_000 if file.audio_codec in {"ac3", "eac3"} else 256_000,
            "audioChannels": 2 if file.audio_codec == "aac" else 5.1,
            "audioCodec": AUDIO_CODECS[file.audio_codec],
            "audioLanguages": "eng",
            "audioStreamCount": 1,
            "videoBitDepth": 8 if file.video_codec in {"h264", "mpeg4"} else 10,
            "videoBitrate": file.bitrate * 1000,
            "videoCodec": VIDEO_CODECS[file.video_codec],
            "videoFps": 23.976,
            "videoDynamicRange": "HDR" if file.resolution == "4k" else "",
            "videoDynamicRangeType": "HDR10" if file.resolution == "4k" else "",
            "resolution": f"{file.width}x{file.height}",
            "runTime": _runtime(file.duration),
            "scanType": "Progressive",
            "subtitles": "eng",
        }

    def _file_fields(self, file: MediaFile, relative: str, added: int) -> JSON:
        """Return the fields movie and episode file resources share."""
        return {
            "relativePath": relative,
            "path": file.path,
            "size": file.size,
            "dateAdded": _iso(added),
            "releaseGroup": "SIM",
            "languages": [ENGLISH],
            "quality": self._quality(file),
            "customFormats": [],
            "customFormatScore": 0,
            "indexerFlags": 0,
            "mediaInfo": self._media_info(file),
            "qualityCutoffNotMet": False,
        }

    # Shared endpoints.

    async def _ping(self, request: web.Request) -> web.Response:
        """Answer the unauthenticated liveness probe."""
        return web.json_response({"status": "OK"})

    async def _status(self, request: web.Request) -> web.Response:
        """Answer /system/status."""
        status: JSON = {
            "appName": self.app,
            "instanceName": self.instance_name,
            "version": self.version,
            "buildTime": "2025-06-01T12:00:00Z",
            "isDebug": False,
            "isProduction": True,
            "isAdmin": False,
            "isUserInteractive": False,
            "startupPath": f"/app/{self.name}/bin",
            "appData": "/config",
            "osName": "ubuntu",
            "osVersion": "24.04",
            "isNetCore": True,
            "isLinux": True,
            "isOsx": False,
            "isWindows": False,
            "isDocker": True,
            "mode": "console",
            "branch": BRANCHES[self.app],
            "authentication": "forms",
            "sqliteVersion": "3.46.1",
            "migrationVersion": 218 if self.app == "Sonarr" else 242,
            "urlBase": self.url_base,
            "runtimeVersion": "8.0.12",
            "runtimeName": "netCore" if self.app == "Sonarr" else "netcore",
            "startTime": "2025-11-30T08:00:00.0000000Z",
            "packageVersion": self.version,
            "packageAuthor": "[hotio](https://hotio.dev)",
            "packageUpdateMechanism": "docker",
        }
        if self.app == "Radarr" and self.major_version >= 4:
            del status["sqliteVersion"]
            status |= {
                "isContainerized": True,
                "databaseType": "sqLite",
                "databaseVersion": "3.46.1",
            }
        return web.json_response(status)

    async def _health(self, request: web.Request) -> web.Response:
        """Answer /health: the current health check results."""
        return web.json_response(self.health)

    async def _diskspace(self, request: web.Request) -> web.Response:
        """Answer /diskspace from the household's disks, so deletions free space."""
        return self._json(
            [
                {
                    "path": disk.path,
                    "label": disk.label,
                    "freeSpace": disk.free,
                    "totalSpace": disk.total,
                }
                for disk in self.world.disks
            ]
        )

    async def _rootfolder(self, request: web.Request) -> web.Response:
        """Answer /rootfolder: the app's one media root (RootFolderResource.cs)."""
        root = ROOTS[self.app]
        disk = next(disk for disk in self.world.disks if root.startswith(disk.path))
        return self._json(
            [
                {
                    "path": root,
                    "accessible": True,
                    "freeSpace": disk.free,
                    "unmappedFolders": [],
                    "id": 1,
                }
            ]
        )

    async def _tag_list(self, request: web.Request) -> web.Response:
        """Answer GET /tag."""
        return self._json(self.tags)

    async def _tag_create(self, request: web.Request) -> web.Response:
        """Answer POST /tag: TagService.Add returns an existing label, else lowercases it."""
        body = await self._body(request)
        label = str(body.get("label") or "") if isinstance(body, dict) else ""
        if not label:
            failure = _failure(
                "Label", "'Label' must not be empty.", label, "NotEmptyValidator"
            )
            return self._json([failure], 400)
        tag = next((t for t in self.tags if t["label"] == label.lower()), None)
        if tag is None:
            tag = {"label": label.lower(), "id": len(self.tags) + 1}
            self.tags.append(tag)
        return self._json(tag, 201)

    async def _queue(self, request: web.Request) -> web.Response:
        """Answer /queue: an empty page (PagingResource.cs; default sort `timeleft`)."""
        query = request.query
        descending = query.get("sortDirection", "").lower() == "descending"
        return self._json(
            {
                "page": int(query.get("page", 1)),
                "pageSize": int(query.get("pageSize", 10)),
                "sortKey": query.get("sortKey", "timeleft"),
                "sortDirection": "descending" if descending else "ascending",
                "totalRecords": 0,
                "records": [],
            }
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        """Answer an unknown path with 404."""
        return self.error(request, 404)

    async def _exclusion_list(self, request: web.Request) -> web.Response:
        """Answer the import (list) exclusions."""
        return self._json(self.exclusions)

    # Radarr.

    def _managed_movies(self) -> Iterator[Movie]:
        """Yield the movies Radarr manages."""
        return (m for m in self.world.movies.values() if m.radarr_id is not None)

    def _movie_by_id(self, radarr_id: int) -> Movie | None:
        """Return the managed movie with a Radarr id."""
        return next(
            (m for m in self._managed_movies() if m.radarr_id == radarr_id), None
        )

    def _movie_file(self, movie: Movie, file: MediaFile) -> JSON:
        """Return a MovieFileResource; its id is the file's media id."""
        relative = file.path.rsplit("/", 1)[1]
        record: JSON = {"movieId": movie.radarr_id} | self._file_fields(
            file, relative, movie.added_at
        )
        record["edition"] = ""
        record["id"] = file.media_id
        return record

    def _movie(self, movie: Movie) -> JSON:
        """Return a MovieResource (MovieResource.cs; statistics since 5.3)."""
        file = _live(movie.file)
        size = file.size if file is not None else 0
        folder = f"{MOVIE_ROOT}/{movie.title} ({movie.year})"
        record: JSON = {
            "title": movie.title,
            "originalTitle": movie.title,
            "originalLanguage": ENGLISH,
            "alternateTitles": [],
            "secondaryYearSourceId": 0,
            "sortTitle": movie.title.lower(),
            "sizeOnDisk": size,
            "status": "released",
            "overview": "",
            "images": [],
            "website": "",
            "year": movie.year,
            "youTubeTrailerId": "",
            "studio": "",
            "path": folder,
            "qualityProfileId": 1,
            "hasFile": file is not None,
            "movieFileId": file.media_id if file is not None else 0,
            "monitored": movie.monitored,
            "minimumAvailability": "released",
            "isAvailable": True,
            "folderName": folder,
            "runtime": movie.file.duration // 60_000 if movie.file is not None else 0,
            "cleanTitle": movie.title.lower().replace(" ", ""),
            "imdbId": movie.imdb_id,
            "tmdbId": movie.tmdb_id,
            "titleSlug": str(movie.tmdb_id),
            "rootFolderPath": MOVIE_ROOT,
            "genres": [],
            "tags": movie.tags,
            "added": _iso(movie.added_at),
            "ratings": {},
            "popularity": 0.0,
        }
        if file is not None:
            record["movieFile"] = self._movie_file(movie, file)
        if self.version_tuple >= (5, 3):
            record["statistics"] = {
                "movieFileCount": int(file is not None),
                "sizeOnDisk": size,
                "releaseGroups": ["SIM"] if file is not None else [],
            }
        record["id"] = movie.radarr_id
        return record

    def _movie_text(self, movie: Movie) -> str:
        """Return a movie's resource as JSON text, reused while the movie is unchanged."""
        state = (
            self.version,
            movie.radarr_id,
            movie.monitored,
            tuple(movie.tags),
            _live(movie.file),
        )
        cached = self._movie_texts.get(movie.rating_key)
        if cached is None or cached[0] != state:
            cached = (state, json.dumps(self._movie(movie), separators=(",", ":")))
            self._movie_texts[movie.rating_key] = cached
        return cached[1]

    async def _movie_list(self, request: web.Request) -> web.Response:
        """Answer GET /movie, all of them or the one with `tmdbId` (MovieController.AllMovie)."""
        movies = self._managed_movies()
        if "tmdbId" in request.query:
            tmdb_id = int(request.query["tmdbId"])
            movies = (m for m in movies if m.tmdb_id == tmdb_id)
        text = ",".join(self._movie_text(m) for m in movies)
        return web.Response(text=f"[{text}]", content_type="application/json")

    async def _movie_get(self, request: web.Request) -> web.Response:
        """Answer GET /movie/{id}."""
        movie = self._movie_by_id(int(request.match_info["id"]))
        return self._missing_id() if movie is None else self._json(self._movie(movie))

    async def _movie_put(self, request: web.Request) -> web.Response:
        """Answer PUT /movie/{id}: store monitored and tags of the whole object sent."""
        body = await self._body(request)
        if not isinstance(body, dict):
            return self._bad_request("Request body can't be empty")
        if failures := _resource_failures(body):
            return self._json(failures, 400)
        movie_id = body.get("id") or int(request.match_info["id"])
        if (movie := self._movie_by_id(movie_id)) is None:
            return self._model_not_found("Movie", movie_id)
        movie.monitored = bool(body.get("monitored", movie.monitored))
        movie.tags = sorted(set(body.get("tags", movie.tags)))
        return self._json(self._movie(movie), 202)

    async def _movie_delete(self, request: web.Request) -> web.Response:
        """Answer DELETE /movie/{id}, with `deleteFiles` and `addImportExclusion`."""
        movie_id = int(request.match_info["id"])
        if (movie := self._movie_by_id(movie_id)) is None:
            return self._model_not_found("Movie", movie_id)
        if _flag(request, "deleteFiles") and (file := _live(movie.file)) is not None:
            self.world.delete_file(file)
        if _flag(request, "addImportExclusion"):
            self._exclude(
                {
                    "tmdbId": movie.tmdb_id,
                    "movieTitle": movie.title,
                    "movieYear": movie.year,
                }
            )
        movie.radarr_id = None
        return self._deleted()

    def _movie_files(self) -> Iterator[tuple[Movie, MediaFile]]:
        """Yield every managed movie with its file on disk."""
        for movie in self._managed_movies():
            if (file := _live(movie.file)) is not None:
                yield movie, file

    async def _moviefile_list(self, request: web.Request) -> web.Response:
        """Answer GET /moviefile?movieId= (or movieFileIds=), as MovieFileController does."""
        movie_ids = {int(v) for v in request.query.getall("movieId", [])}
        file_ids = {int(v) for v in request.query.getall("movieFileIds", [])}
        if not movie_ids and not file_ids:
            return self._bad_request("movieId or movieFileIds must be provided")
        return self._json(
            [
                self._movie_file(movie, file)
                for movie, file in self._movie_files()
                if (
                    movie.radarr_id in movie_ids
                    if movie_ids
                    else file.media_id in file_ids
                )
            ]
        )

    def _movie_file_by_id(self, file_id: int) -> tuple[Movie, MediaFile] | None:
        """Return the movie and file with a movie file id."""
        return next(
            ((m, f) for m, f in self._movie_files() if f.media_id == file_id), None
        )

    async def _moviefile_get(self, request: web.Request) -> web.Response:
        """Answer GET /moviefile/{id}."""
        found = self._movie_file_by_id(int(request.match_info["id"]))
        return (
            self._missing_id()
            if found is None
            else self._json(self._movie_file(*found))
        )

    async def _moviefile_delete(self, request: web.Request) -> web.Response:
        """Answer DELETE /moviefile/{id}: the file leaves the disk, the movie stays."""
        file_id = int(request.match_info["id"])
        if (found := self._movie_file_by_id(file_id)) is None:
            return self._model_not_found("MovieFile", file_id)
        self.world.delete_file(found[1])
        return self._deleted()

    def _exclude(self, exclusion: JSON) -> JSON:
        """Record an exclusion unless its id is excluded already; return the stored one."""
        key = "tmdbId" if self.app == "Radarr" else "tvdbId"
        stored = next((e for e in self.exclusions if e[key] == exclusion[key]), None)
        if stored is None:
            stored = exclusion | {"id": len(self.exclusions) + 1}
            self.exclusions.append(stored)
        return stored

    def _exclusion_failures(self, body: Any, unique: bool) -> list[JSON]:
        """Validate an exclusion as ImportListExclusionController's validators do."""
        if not isinstance(body, dict):
            return [
                _failure(
                    "TmdbId", "'Tmdb Id' must not be empty.", None, "NotEmptyValidator"
                )
            ]
        tmdb_id = body.get("tmdbId") or 0
        failures = []
        if not tmdb_id:
            failures.append(
                _failure(
                    "TmdbId",
                    "'Tmdb Id' must not be empty.",
                    tmdb_id,
                    "NotEmptyValidator",
                )
            )
        elif unique and any(e["tmdbId"] == tmdb_id for e in self.exclusions):
            failures.append(
                _failure(
                    "TmdbId",
                    DUPLICATE_EXCLUSION,
                    tmdb_id,
                    "ImportListExclusionExistsValidator",
                )
            )
        if not body.get("movieTitle"):
            failures.append(
                _failure(
                    "MovieTitle",
                    "'Movie Title' must not be empty.",
                    body.get("movieTitle"),
                    "NotEmptyValidator",
                )
            )
        return failures

    async def _exclusion_create(self, request: web.Request) -> web.Response:
        """Answer POST /exclusions: 400 for a duplicate since 5.9, the stored one before."""
        body = await self._body(request)
        unique = self.version_tuple >= EXCLUSION_UNIQUE
        if failures := self._exclusion_failures(body, unique):
            return self._json(failures, 400)
        return self._json(self._exclude(_exclusion_fields(body)), 201)

    async def _exclusion_bulk(self, request: web.Request) -> web.Response:
        """Answer POST /exclusions/bulk: de-duplicated, validated per item since 5.26.2."""
        body = await self._body(request)
        if not isinstance(body, list):
            return self._bad_request("Request body can't be empty")
        unique = self.version_tuple >= BULK_EXCLUSION_UNIQUE
        for item in body:
            if failures := self._exclusion_failures(item, unique):
                return self._json(failures, 400)
        return self._json([self._exclude(_exclusion_fields(item)) for item in body])

    # Sonarr.

    def _managed_shows(self) -> Iterator[Show]:
        """Yield the shows Sonarr manages."""
        return (s for s in self.world.shows.values() if s.sonarr_id is not None)

    def _show_by_id(self, sonarr_id: int) -> Show | None:
        """Return the managed show with a Sonarr id."""
        return next(
            (s for s in self._managed_shows() if s.sonarr_id == sonarr_id), None
        )

    def _episodes(self, show: Show) -> Iterator[Episode]:
        """Yield every episode Sonarr knows of a show, Plex's view aside."""
        for season_key in show.season_keys:
            for episode_key in self.world.seasons[season_key].episode_keys:
                yield self.world.episodes[episode_key]

    def _statistics(self, episodes: list[Episode]) -> JSON:
        """Return season or series statistics (SeriesStatisticsRepository.cs counts)."""
        files = [f for e in episodes if (f := _live(e.file)) is not None]
        episode_count = sum(
            1 for e in episodes if e.monitored or _live(e.file) is not None
        )
        return {
            "episodeFileCount": len(files),
            "episodeCount": episode_count,
            "totalEpisodeCount": len(episodes),
            "sizeOnDisk": sum(f.size for f in files),
            "releaseGroups": ["SIM"] if files else [],
            "percentOfEpisodes": len(files) / episode_count * 100
            if episode_count
            else 0,
        }

    def _series(self, show: Show) -> JSON:
        """Return a SeriesResource (SeriesResource.cs; tmdbId since v4)."""
        seasons: list[JSON] = []
        every: list[Episode] = []
        for season_key in show.season_keys:
            season = self.world.seasons[season_key]
            episodes = [self.world.episodes[key] for key in season.episode_keys]
            every += episodes
            seasons.append(
                {
                    "seasonNumber": season.index,
                    "monitored": season.monitored,
                    "statistics": self._statistics(episodes),
                }
            )
        statistics = self._statistics(every)
        statistics["seasonCount"] = sum(1 for s in seasons if s["seasonNumber"] > 0)
        record: JSON = {
            "title": show.title,
            "alternateTitles": [],
            "sortTitle": show.title.lower(),
            "status": "continuing",
            "ended": False,
            "overview": "",
            "network": "",
            "images": [],
            "originalLanguage": ENGLISH,
            "seasons": seasons,
            "year": show.year,
            "path": f"{TV_ROOT}/{show.title}",
            "qualityProfileId": 1,
            "seasonFolder": True,
            "monitored": show.monitored,
            "useSceneNumbering": False,
            "runtime": 45,
            "tvdbId": show.tvdb_id,
            "tvRageId": 0,
            "tvMazeId": 0,
            "firstAired": _iso(show.added_at),
            "seriesType": "standard",
            "cleanTitle": show.title.lower().replace(" ", ""),
            "imdbId": show.imdb_id,
            "titleSlug": show.title.lower().replace(" ", "-"),
            "rootFolderPath": TV_ROOT,
            "genres": [],
            "tags": show.tags,
            "added": _iso(show.added_at),
            "ratings": {"votes": 0, "value": 0.0},
            "statistics": statistics,
            "id": show.sonarr_id,
        }
        if self.major_version >= 4:
            record |= {"tmdbId": show.tmdb_id, "monitorNewItems": "all"}
        else:
            record["languageProfileId"] = 1
        return record

    async def _series_list(self, request: web.Request) -> web.Response:
        """Answer GET /series, all of them or the one with `tvdbId`."""
        shows = self._managed_shows()
        if "tvdbId" in request.query:
            tvdb_id = int(request.query["tvdbId"])
            shows = (s for s in shows if s.tvdb_id == tvdb_id)
        return self._json([self._series(s) for s in shows])

    async def _series_get(self, request: web.Request) -> web.Response:
        """Answer GET /series/{id}."""
        show = self._show_by_id(int(request.match_info["id"]))
        return self._missing_id() if show is None else self._json(self._series(show))

    async def _series_put(self, request: web.Request) -> web.Response:
        """Answer PUT /series/{id}; a season's changed flag reaches its episodes (SeriesService)."""
        body = await self._body(request)
        if not isinstance(body, dict):
            return self._bad_request("Request body can't be empty")
        if failures := _resource_failures(body):
            return self._json(failures, 400)
        series_id = body.get("id") or int(request.match_info["id"])
        if (show := self._show_by_id(series_id)) is None:
            return self._model_not_found("Series", series_id)
        show.monitored = bool(body.get("monitored", show.monitored))
        show.tags = sorted(set(body.get("tags", show.tags)))
        sent = {s.get("seasonNumber"): s for s in body.get("seasons", [])}
        for season_key in show.season_keys:
            season = self.world.seasons[season_key]
            wanted = sent.get(season.index, {}).get("monitored", season.monitored)
            if wanted != season.monitored:
                season.monitored = bool(wanted)
                for key in season.episode_keys:
                    self.world.episodes[key].monitored = season.monitored
        return self._json(self._series(show), 202)

    async def _series_delete(self, request: web.Request) -> web.Response:
        """Answer DELETE /series/{id}, with `deleteFiles` and `addImportListExclusion`."""
        series_id = int(request.match_info["id"])
        if (show := self._show_by_id(series_id)) is None:
            return self._model_not_found("Series", series_id)
        if _flag(request, "deleteFiles"):
            for episode in self._episodes(show):
                if (file := _live(episode.file)) is not None:
                    self.world.delete_file(file)
        if _flag(request, "addImportListExclusion"):
            self._exclude({"tvdbId": show.tvdb_id, "title": show.title})
        show.sonarr_id = None
        return self._deleted()

    def _episode(self, show: Show, episode: Episode) -> JSON:
        """Return an EpisodeResource."""
        file = _live(episode.file)
        record: JSON = {
            "seriesId": show.sonarr_id,
            "tvdbId": 0,
            "episodeFileId": episode.sonarr_file_id if file is not None else 0,
            "seasonNumber": episode.season_index,
            "episodeNumber": episode.index,
            "title": episode.title,
            "airDate": _iso(episode.added_at)[:10],
            "airDateUtc": _iso(episode.added_at),
            "overview": "",
            "hasFile": file is not None,
            "monitored": episode.monitored,
            "unverifiedSceneNumbering": False,
            "id": episode.sonarr_id,
        }
        if self.major_version >= 4 and episode.file is not None:
            record["runtime"] = episode.file.duration // 60_000
        return record

    async def _episode_list(self, request: web.Request) -> web.Response:
        """Answer GET /episode?seriesId= (optionally seasonNumber=) or episodeIds=."""
        query = request.query
        episode_ids = {int(v) for v in query.getall("episodeIds", [])}
        if "seriesId" not in query and not episode_ids:
            return self._bad_request("seriesId or episodeIds must be provided")
        series_id = int(query["seriesId"]) if "seriesId" in query else None
        season = int(query["seasonNumber"]) if "seasonNumber" in query else None
        records = [
            self._episode(show, episode)
            for show in self._managed_shows()
            if series_id is None or show.sonarr_id == series_id
            for episode in self._episodes(show)
            if (season is None or episode.season_index == season)
            and (series_id is not None or episode.sonarr_id in episode_ids)
        ]
        return self._json(records)

    async def _episode_monitor(self, request: web.Request) -> web.Response:
        """Answer PUT /episode/monitor ({episodeIds, monitored}): 202 with the episodes."""
        body = await self._body(request)
        if not isinstance(body, dict):
            return self._bad_request("Request body can't be empty")
        wanted = set(body.get("episodeIds") or [])
        monitored = bool(body.get("monitored"))
        changed = []
        for show in self._managed_shows():
            for episode in self._episodes(show):
                if episode.sonarr_id in wanted:
                    episode.monitored = monitored
                    changed.append(self._episode(show, episode))
        return self._json(changed, 202)

    def _episode_files(self, show: Show) -> Iterator[tuple[Episode, MediaFile]]:
        """Yield a show's episodes with a file on disk."""
        for episode in self._episodes(show):
            if (file := _live(episode.file)) is not None and episode.sonarr_file_id:
                yield episode, file

    def _episode_file(self, show: Show, episode: Episode, file: MediaFile) -> JSON:
        """Return an EpisodeFileResource (language in v3, languages since v4)."""
        relative = file.path.removeprefix(f"{TV_ROOT}/{show.title}/")
        record: JSON = {
            "seriesId": show.sonarr_id,
            "seasonNumber": episode.season_index,
        }
        record |= self._file_fields(file, relative, episode.added_at)
        if self.major_version < 4:
            record["language"] = record.pop("languages")[0]
        else:
            record["releaseType"] = "singleEpisode"
        record["id"] = episode.sonarr_file_id
        return record

    async def _episodefile_list(self, request: web.Request) -> web.Response:
        """Answer GET /episodefile?seriesId= (404 for an unknown series) or episodeFileIds=."""
        query = request.query
        file_ids = {int(v) for v in query.getall("episodeFileIds", [])}
        if "seriesId" in query:
            series_id = int(query["seriesId"])
            if (show := self._show_by_id(series_id)) is None:
                return self._model_not_found("Series", series_id)
            return self._json(
                [self._episode_file(show, *pair) for pair in self._episode_files(show)]
            )
        if not file_ids:
            return self._bad_request("seriesId or episodeFileIds must be provided")
        return self._json(
            [
                self._episode_file(show, episode, file)
                for show in self._managed_shows()
                for episode, file in self._episode_files(show)
                if episode.sonarr_file_id in file_ids
            ]
        )

    def _episode_file_by_id(
        self, file_id: int
    ) -> tuple[Show, Episode, MediaFile] | None:
        """Return the show, episode and file with an episode file id."""
        for show in self._managed_shows():
            for episode, file in self._episode_files(show):
                if episode.sonarr_file_id == file_id:
                    return show, episode, file
        return None

    async def _episodefile_get(self, request: web.Request) -> web.Response:
        """Answer GET /episodefile/{id}."""
        found = self._episode_file_by_id(int(request.match_info["id"]))
        return (
            self._missing_id()
            if found is None
            else self._json(self._episode_file(*found))
        )

    async def _episodefile_delete(self, request: web.Request) -> web.Response:
        """Answer DELETE /episodefile/{id}: the file leaves the disk, the episode stays."""
        file_id = int(request.match_info["id"])
        if (found := self._episode_file_by_id(file_id)) is None:
            return self._model_not_found("EpisodeFile", file_id)
        self.world.delete_file(found[2])
        return self._deleted()


def _flag(request: web.Request, name: str) -> bool:
    """Return a boolean query parameter (absent means false)."""
    return request.query.get(name, "false").lower() == "true"


def _exclusion_fields(body: JSON) -> JSON:
    """Return the stored fields of a Radarr exclusion."""
    return {
        "tmdbId": body["tmdbId"],
        "movieTitle": body["movieTitle"],
        "movieYear": body.get("movieYear", 0),
    }
