"""Plex Media Server simulator serving the shared World.

Sources: python-plexapi 4.18 (server.py, library.py, collection.py, base.py, mixins/edit.py:
what it requests and reads), the sample `GET /` answer on plexopedia.com ("Get Server
Capabilities", "Get All Movies", "Get a Movie"), and 401 bodies quoted in user reports
(JellyPlex-Watched#308, PlexAniSync#196): PMS answers text/html with a script redirecting to
the web app. PMS omits `allowMediaDeletion` when the setting is off (plexapi's
test_server_allowMediaDeletion expects None then); a refused deletion is an HTML 403
(Cleanarr#150 logs `(403) forbidden ... <h1>403 Forbidden</h1>` for DELETE
/library/metadata/{k}/media/{id}). In JSON every item is in a `Metadata` list whatever its
XML tag (Video or Directory), with `Media`, `Part`, `Guid` (`{"id": "imdb://..."}`) and
`Label` lists under it (JSON fixtures of the Plex OpenAPI spec and clients' captures).
Paging, filter operators and the page cap follow /work/shared/contracts.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
import json
from json.encoder import encode_basestring_ascii
from operator import attrgetter
from typing import Any, cast
from urllib.parse import unquote
import uuid

from aiohttp import web
import orjson

from .base import Simulator, plex_token, random_string
from .document import Element, Value
from .world import (
    MOVIE_ROOT,
    MOVIE_SECTION,
    SHOW_SECTION,
    TV_ROOT,
    Episode,
    MediaFile,
    Movie,
    Season,
    Show,
    World,
)

type PlexHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type Item = Movie | Show | Season | Episode
type Content = dict[str, Any]  # an element as PMS JSON renders it (see plex_json)
type Fingerprint = tuple[object, ...]

UNAUTHORIZED_HTML = (
    "<html><head><script>window.location = window.location.href.match("
    "/(^.+\\/)[^\\/]*$/)[1] + 'web/index.html';</script><title>Unauthorized</title>"
    "</head><body><h1>401 Unauthorized</h1></body></html>"
)
EPOCH = 1_700_000_000
IN_PLEX = attrgetter("in_plex")
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_PAGE_SIZE = (
    1000  # contracts.md: users report about 1000 items as the most a page returns
)
LIBRARY_ID = "com.plexapp.plugins.library"
MOVIE, SHOW, SEASON, EPISODE = 1, 2, 3, 4
TYPE_NAMES = {MOVIE: "movie", SHOW: "show", SEASON: "season", EPISODE: "episode"}
SECTION_TYPES = {MOVIE_SECTION: (MOVIE,), SHOW_SECTION: (SHOW, SEASON, EPISODE)}
FILTER_FIELDS = ("addedAt", "updatedAt", "lastViewedAt", "viewCount", "year")
SORT_FIELDS = {
    "addedAt": "addedAt",
    "updatedAt": "updatedAt",
    "lastViewedAt": "lastViewedAt",
    "viewCount": "viewCount",
    "year": "year",
    "title": "title",
    "titleSort": "title",
    "ratingKey": "ratingKey",
}
ROOT_DIRECTORIES = (
    "activities",
    "butler",
    "channels",
    "clients",
    "devices",
    "diagnostics",
    "hubs",
    "library",
    "livetv",
    "media",
    "metadata",
    "music",
    "neighborhood",
    "playQueues",
    "player",
    "playlists",
    "resources",
    "search",
    "server",
    "servers",
    "statistics",
    "system",
    "transcode",
    "updater",
    "user",
)
# The types of a fingerprint's values (see `_fingerprint`) for which `_item_json` writes
# a movie's or an episode's JSON directly: one with a file, whose values have the usual
# types. Any other (no file, a None the rendering would drop, a bool where an integer
# belongs, a subclass) takes the generic rendering.
FAST_LENGTH = 28  # the length of every fingerprint below
_FILE_TYPES = (int, int, str, int, int, str, str, str, str, int, int, int, bool)
_LAST_TYPES = (int, type(None))
EPISODE_SIGNATURES = frozenset(
    (
        int,
        int,
        int,
        int,
        int,
        str,
        int,
        int,
        int,
        last,
        int,
        str,
        str,
        str,
        *_FILE_TYPES,
        deleted,
    )
    for last in _LAST_TYPES
    for deleted in _LAST_TYPES
)
MOVIE_SIGNATURES = frozenset(
    (
        int,
        bool,
        int,
        str,
        int,
        str,
        str,
        int,
        int,
        int,
        int,
        last,
        str,
        tuple,
        *_FILE_TYPES,
        deleted,
    )
    for last in _LAST_TYPES
    for deleted in _LAST_TYPES
)
# JSON templates of `_movie_json` and `_episode_json`: integers as %d writes them (as
# json.dumps does), strings already quoted by `quote` (json.dumps's own quoting), the
# aspect ratio as its repr (json.dumps's float).
quote = cast("Callable[[object], str]", encode_basestring_ascii)
_MEDIA_JSON = (
    '%s,"Media":[{"id":%d,"duration":%d,"bitrate":%d,%s"Part":[{"id":%d,'
    f'"key":"/library/parts/%d/{EPOCH}/file.%s,'
    '"duration":%d,"file":%s,"size":%d,"container":%s}]}]'
)
# What a file's dimensions, codecs and container write (`_media_parts`).
_FORMAT_JSON = (
    '"width":%d,"height":%d,"aspectRatio":%r,"audioCodec":%s,"videoCodec":%s,'
    '"videoResolution":%s,"container":%s,'
)
MOVIE_JSON = (
    '{"ratingKey":"%d","key":"/library/metadata/%d","guid":%s,"type":"movie",'
    f'"title":%s,"librarySectionTitle":%s,"librarySectionID":{MOVIE_SECTION},'
    f'"librarySectionKey":"/library/sections/{MOVIE_SECTION}","year":%d,'
    '"duration":%d,"addedAt":%d,"updatedAt":%d' + _MEDIA_JSON + "%s%s}"
)
# An episode: its own values around the four parts its season writes (`_season_parts`).
EPISODE_JSON = (
    '{"ratingKey":"%d","key":"/library/metadata/%d",%s"guid":"plex://episode/%024x",'
    '%s"title":%s,%s,"index":%d%s,"duration":%d,"addedAt":%d,"updatedAt":%d'
    + _MEDIA_JSON
    + "}"
)
_SEASON_JSON = (
    '"parentRatingKey":"%d","grandparentRatingKey":"%d",',
    '"parentGuid":"plex://season/%024x","grandparentGuid":%s,"type":"episode",',
    (
        '"grandparentKey":"/library/metadata/%d","parentKey":"/library/metadata/%d",'
        f'"librarySectionTitle":%s,"librarySectionID":{SHOW_SECTION},'
        f'"librarySectionKey":"/library/sections/{SHOW_SECTION}",'
        '"grandparentTitle":%s,"parentTitle":"%s"'
    ),
    ',"parentIndex":%d',
)
MAX_MEMO = 100_000  # entries of a memo of `_media_parts` or `_season_parts`
GUIDS_JSON = ',"Guid":[{"id":%s},{"id":"tmdb://%d"}]'
TAG_JSON = '{"id":%d,"tag":%s}'
SECTION_DEFAULTS = {
    "movie": ("tv.plex.agents.movie", "Plex Movie", "movie"),
    "show": ("tv.plex.agents.series", "Plex TV Series", "show"),
    "artist": ("tv.plex.agents.music", "Plex Music", "artist"),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner", "photo"),
}


def _all_strings(values: Any) -> bool:
    """Return whether every value is exactly a str."""
    return all(type(value) is str for value in values)


def _played_json(views: Any, last_viewed_at: Any, deleted_at: Any) -> str:
    """Write the optional `viewCount`, `lastViewedAt` and `deletedAt` of an item."""
    text = ',"viewCount":%d' % views if views else ""  # noqa: UP031
    if last_viewed_at is not None:
        text += ',"lastViewedAt":%d' % last_viewed_at  # noqa: UP031
    if deleted_at is not None:
        text += ',"deletedAt":%d' % deleted_at  # noqa: UP031
    return text


class BadRequestError(Exception):
    """A request PMS would answer with 400."""


class NotFoundError(Exception):
    """A request naming something PMS does not have (404)."""


@dataclass(slots=True)
class Metadata(Element):
    """A library item: `Video` or `Directory` in XML, an entry of `Metadata` in JSON."""


def compact_json(value: object) -> str:
    """Serialize without spaces, as PMS does."""
    return json.dumps(value, separators=(",", ":"))


def json_bytes(content: Content) -> bytes:
    """Serialize an item's content exactly as `compact_json` would, with orjson if it can.

    orjson writes UTF-8 where json.dumps escapes everything beyond printable ASCII, and
    writes some floats otherwise (0.00001 for 1e-05, null for NaN). An item's only float
    is its Media's `aspectRatio`; whenever the answers could differ (a byte beyond ASCII,
    any escape, DEL, an unusual aspect ratio, a value orjson refuses such as an integer
    beyond 64 bits) json.dumps decides.
    """
    try:
        raw = orjson.dumps(content)
    except orjson.JSONEncodeError:
        return compact_json(content).encode()
    if not raw.isascii() or b"\\" in raw or b"\x7f" in raw:
        return compact_json(content).encode()
    for media in content.get("Media", ()):
        ratio = media.get("aspectRatio")
        if isinstance(ratio, float) and not (ratio == 0 or 1e-4 <= abs(ratio) < 1e16):
            return compact_json(content).encode()
    return raw


def element_of[E: Element](tag: str, content: Content, kind: type[E]) -> E:
    """Turn content back into an element: lists become children named by their key."""
    attrs: dict[str, Value] = {}
    children: list[Element] = []
    for key, value in content.items():
        if isinstance(value, list):
            children += [element_of(key, child, Element) for child in value]
        else:
            attrs[key] = value
    return kind(tag, attrs, children)


def _item_tag(item: Item) -> str:
    """Return an item's XML tag."""
    return "Video" if isinstance(item, (Movie, Episode)) else "Directory"


def _present(attrs: dict[str, Value]) -> Content:
    """Drop the attributes without a value, as both renderings do."""
    if None in attrs.values():
        return {key: value for key, value in attrs.items() if value is not None}
    return attrs


def plex_json(element: Element) -> dict[str, Any]:
    """Render an element's content as PMS JSON, items gathered under `Metadata`."""
    content: dict[str, Any] = {
        key: value for key, value in element.attrs.items() if value is not None
    }
    for child in element.children:
        key = "Metadata" if isinstance(child, Metadata) else child.tag
        content.setdefault(key, []).append(plex_json(child))
    return content


@dataclass(slots=True)
class LibrarySection:
    """One library section (a `Directory` of /library/sections)."""

    key: int
    type: str
    title: str
    uuid: str
    locations: list[str] = field(default_factory=list)
    language: str = "en-US"
    created_at: int = EPOCH
    updated_at: int = EPOCH
    scanned_at: int = EPOCH

    def touch(self, when: int) -> None:
        """Record a change of the section's content."""
        self.updated_at = max(self.updated_at, when)

    def to_element(self) -> Element:
        """Render as Plex renders it in /library/sections."""
        agent, scanner, art = SECTION_DEFAULTS[self.type]
        return Element(
            "Directory",
            {
                "allowSync": True,
                "art": f"/:/resources/{art}-fanart.jpg",
                "composite": f"/library/sections/{self.key}/composite/{self.updated_at}",
                "filters": True,
                "refreshing": False,
                "thumb": f"/:/resources/{art}.png",
                "key": str(self.key),
                "type": self.type,
                "title": self.title,
                "agent": agent,
                "scanner": scanner,
                "language": self.language,
                "uuid": self.uuid,
                "updatedAt": self.updated_at,
                "createdAt": self.created_at,
                "scannedAt": self.scanned_at,
                "content": True,
                "directory": True,
                "contentChangedAt": self.updated_at,
                "hidden": 0,
            },
            [
                Element("Location", {"id": index, "path": path})
                for index, path in enumerate(self.locations, start=self.key * 100)
            ],
        )


@dataclass(slots=True)
class PlexCollection:
    """A regular (non-smart) collection and its home-screen promotion."""

    rating_key: int
    section_id: int
    title: str
    subtype: str
    guid: str
    added_at: int
    updated_at: int
    items: list[int] = field(default_factory=list)
    promoted_to_recommended: bool = False
    promoted_to_own_home: bool = False
    promoted_to_shared_home: bool = False

    @property
    def identifier(self) -> str:
        """Return the managed hub identifier plexapi derives for a collection."""
        return f"custom.collection.{self.section_id}.{self.rating_key}"

    @property
    def promoted(self) -> bool:
        """Return whether the collection shows anywhere as a hub."""
        return (
            self.promoted_to_recommended
            or self.promoted_to_own_home
            or self.promoted_to_shared_home
        )

    def hub_element(self) -> Element:
        """Render as a managed hub of /hubs/sections/{id}/manage (plexapi ManagedHub)."""
        own, shared = self.promoted_to_own_home, self.promoted_to_shared_home
        home = {
            (True, True): "all",
            (True, False): "admin",
            (False, True): "shared",
            (False, False): "none",
        }[own, shared]
        return Element(
            "Hub",
            {
                "identifier": self.identifier,
                "title": self.title,
                "deletable": True,
                "homeVisibility": home,
                "recommendationsVisibility": "all"
                if self.promoted_to_recommended
                else "none",
                "promotedToRecommended": self.promoted_to_recommended,
                "promotedToOwnHome": own,
                "promotedToSharedHome": shared,
            },
        )


def delete_item(world: World, item: Item) -> list[int]:
    """Delete an item's files and drop it from Plex; return the rating keys removed."""
    removed: list[int] = []
    episodes: Iterable[Episode]
    match item:
        case Movie():
            _drop_file(world, item.file)
            item.in_plex = False
            world.version += 1
            return [item.rating_key]
        case Show():
            episodes = list(world.episodes_of(item.rating_key))
        case Season():
            episodes = [
                world.episodes[key]
                for key in item.episode_keys
                if world.episodes[key].in_plex
            ]
        case Episode():
            episodes = [item]
    show = world.shows[item.rating_key if isinstance(item, Show) else item.show_key]
    world.version += 1
    for episode in episodes:
        _drop_file(world, episode.file)
        episode.in_plex = False
        removed.append(episode.rating_key)
    if not any(world.episodes_of(show.rating_key)):
        show.in_plex = False
        removed.append(show.rating_key)
    return removed


def _drop_file(world: World, file: MediaFile | None) -> None:
    """Delete a file from disk if there is one."""
    if file is not None:
        world.delete_file(file)


def _int(value: str) -> int:
    """Parse an integer parameter or fail with 400."""
    try:
        return int(value)
    except ValueError:
        raise BadRequestError(value) from None


def _key_list(text: str) -> list[int]:
    """Parse a comma separated list of rating keys."""
    return [_int(key) for key in text.split(",") if key]


def _uri_keys(uri: str) -> list[int]:
    """Return the rating keys of a `server://.../library/metadata/{k1,k2}` uri."""
    _, found, keys = uri.partition("/library/metadata/")
    if not found:
        raise BadRequestError(uri)
    return _key_list(keys)


def _paging(request: web.Request) -> tuple[int, int]:
    """Return the asked start and size, from headers or query, size capped."""

    def read(name: str) -> str | None:
        return request.headers.get(name) or request.query.get(name)

    start = _int(read("X-Plex-Container-Start") or "0")
    size_text = read("X-Plex-Container-Size")
    size = MAX_PAGE_SIZE if size_text is None else _int(size_text)
    if start < 0 or size < 0:
        raise BadRequestError(f"{start}:{size}")
    return start, min(size, MAX_PAGE_SIZE)


def _filters(request: web.Request) -> list[tuple[str, str, int]]:
    """Return the field filters: `field>>=v` after, `field<<=v` before, `field=v`, `field!=v`.

    The operator is part of the query key (`updatedAt>>` = `TS`); keys naming no known field,
    such as a misspelt `updatedAt>`, are ignored as PMS ignores them (contracts.md).
    """
    found: list[tuple[str, str, int]] = []
    for key, value in request.query.items():
        for operator in (">>", "<<", "!", ""):
            name = key.removesuffix(operator) if operator else key
            if name in FILTER_FIELDS and name + operator == key:
                found.append((name, operator, _int(value)))
                break
    return found


def _matches(value: int | None, operator: str, wanted: int) -> bool:
    """Apply one filter operator to a field value (absent values never compare)."""
    if value is None:
        return operator == "!"
    match operator:
        case ">>":
            return value > wanted
        case "<<":
            return value < wanted
        case "!":
            return value != wanted
        case _:
            return value == wanted


@dataclass(slots=True)
class Listing:
    """The items of one type Plex lists, cached with what proves them current.

    Valid while the world's version and the size of its dict of that type are unchanged,
    every listed item is still in Plex and no unlisted one came back: the last two checks
    catch `in_plex` flags set directly, without a World or Plex method.
    """

    version: int
    size: int
    items: list[Any]
    unlisted: list[Any]

    def current(self, version: int, source: dict[int, Any]) -> bool:
        """Return whether the listing still matches the world."""
        return (
            self.version == version
            and self.size == len(source)
            and all(map(IN_PLEX, self.items))
            and not any(map(IN_PLEX, self.unlisted))
        )


class PlexSimulator(Simulator):
    """A Plex Media Server on the shared World: library, deletion, collections, labels."""

    name = "plex"
    public_paths = ("/identity",)

    def __init__(
        self,
        *,
        seed: int = 0,
        world: World | None = None,
        token: str | None = None,
        friendly_name: str = "SmartPlex Test Server",
        version: str = "1.42.2.10156-f737b826c",
        allow_media_deletion: bool = True,
    ) -> None:
        """Create a server whose identifiers derive from the seed."""
        super().__init__(seed=seed, world=world)
        self.token = token or plex_token(self.rng)
        self.machine_identifier = random_string(self.rng, 40)
        self.friendly_name = friendly_name
        self.version = version
        self.allow_media_deletion = allow_media_deletion
        self.username = "smartplex-owner"
        self.platform = "Linux"
        self.platform_version = "6.8.0-60-generic"
        self.sections = self._sections_from_world()
        self.collections: dict[int, PlexCollection] = {}
        self.now_playing: list[tuple[int, int]] = []  # (rating key, user id)
        self._tag_ids: dict[str, int] = {}
        self._scans: set[asyncio.Task[None]] = set()
        # Rendered items by `_cache_key`, each with the fingerprint it was rendered at:
        # flat tuples, few objects for the garbage collector to follow.
        self._json_fingerprints: dict[int, Fingerprint] = {}
        self._json_cache: dict[int, bytes] = {}
        # The fingerprints of items rendered by `_movie_json` or `_episode_json` (all of
        # FAST_LENGTH values) are kept flat in one list, at an offset per `_cache_key`:
        # no tuple per item for the garbage collector to count and scan.
        self._json_offsets: dict[int, int] = {}
        self._json_values: list[object] = []
        self._media_memo: dict[Fingerprint, tuple[str, str, str]] = {}
        self._season_memo: dict[Fingerprint, tuple[str, str, str, str]] = {}
        self._xml_fingerprints: dict[int, Fingerprint] = {}
        self._xml_cache: dict[int, str] = {}
        self._listings: dict[int, Listing] = {}

    def _uuid(self) -> str:
        """Return a UUID drawn from the seeded generator."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _sections_from_world(self) -> dict[int, LibrarySection]:
        """Build the movie and TV sections, dated by the newest item in each."""
        world = self.world
        movie_times = [m.updated_at for m in world.movies.values() if m.in_plex]
        show_times = [e.updated_at for e in world.episodes.values() if e.in_plex]
        sections = {
            MOVIE_SECTION: LibrarySection(
                MOVIE_SECTION, "movie", "Movies", self._uuid(), [MOVIE_ROOT]
            ),
            SHOW_SECTION: LibrarySection(
                SHOW_SECTION, "show", "TV Shows", self._uuid(), [TV_ROOT]
            ),
        }
        for section, times in (
            (MOVIE_SECTION, movie_times),
            (SHOW_SECTION, show_times),
        ):
            newest = max(times, default=EPOCH)
            sections[section].updated_at = sections[section].scanned_at = newest
        return sections

    async def scans_finished(self) -> None:
        """Wait for the section scans started by /refresh to finish."""
        await asyncio.gather(*self._scans)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the PMS endpoints."""
        router.add_get("/identity", self._identity)
        routes: tuple[tuple[str, str, PlexHandler], ...] = (
            ("GET", "/", self._root),
            ("GET", "/library", self._library),
            ("GET", "/library/sections", self._sections),
            ("GET", "/library/sections/{section}/all", self._section_all),
            ("PUT", "/library/sections/{section}/all", self._edit_items),
            ("GET", "/library/sections/{section}/refresh", self._refresh),
            (
                "GET",
                "/library/sections/{section}/collections",
                self._section_collections,
            ),
            ("GET", "/library/metadata/{keys}", self._metadata),
            ("DELETE", "/library/metadata/{key}", self._delete_metadata),
            ("GET", "/library/metadata/{key}/children", self._children),
            ("DELETE", "/library/metadata/{key}/media/{media}", self._delete_media),
            ("POST", "/library/collections", self._create_collection),
            ("GET", "/library/collections/{key}", self._collection),
            ("DELETE", "/library/collections/{key}", self._delete_collection),
            ("GET", "/library/collections/{key}/children", self._collection_children),
            ("PUT", "/library/collections/{key}/items", self._add_to_collection),
            (
                "DELETE",
                "/library/collections/{key}/items/{item}",
                self._remove_from_collection,
            ),
            ("GET", "/hubs/sections/{section}/manage", self._managed_hubs),
            ("POST", "/hubs/sections/{section}/manage", self._promote),
            ("PUT", "/hubs/sections/{section}/manage", self._managed_hubs),
            ("PUT", "/hubs/sections/{section}/manage/{hub}", self._promote),
            ("DELETE", "/hubs/sections/{section}/manage/{hub}", self._demote),
            ("GET", "/status/sessions", self._sessions),
            ("*", "/{tail:.*}", self._not_found),
        )
        for method, path, handler in routes:
            router.add_route(method, path, self._guarded(handler))

    def _guarded(self, handler: PlexHandler) -> PlexHandler:
        """Wrap a handler with token checking and the 400 answer to bad parameters."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self.authorized(request):
                return self.unauthorized(request)
            try:
                return await handler(request)
            except BadRequestError:
                return self.error(request, 400)
            except NotFoundError:
                return self.error(request, 404)

        return guarded

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer an error the way PMS does: a tiny HTML page."""
        if status == 401:
            return web.Response(
                status=401, text=UNAUTHORIZED_HTML, content_type="text/html"
            )
        phrase = HTTPStatus(status).phrase
        return web.Response(
            status=status,
            text=f"<html><head><title>{phrase}</title></head><body>"
            f"<h1>{status} {phrase}</h1></body></html>",
            content_type="text/html",
        )

    def authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the server's token."""
        sent = request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")
        return sent == self.token

    def render(self, request: web.Request, container: Element) -> web.Response:
        """Answer JSON when the client accepts it, XML otherwise."""
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(
                {container.tag: plex_json(container)}, dumps=compact_json
            )
        return web.Response(
            text=container.to_xml(), content_type="text/xml", charset="utf-8"
        )

    # Server.

    async def _identity(self, request: web.Request) -> web.Response:
        """Answer /identity, which needs no token."""
        return self.render(
            request,
            Element(
                "MediaContainer",
                {
                    "size": 0,
                    "claimed": True,
                    "machineIdentifier": self.machine_identifier,
                    "version": self.version,
                },
            ),
        )

    async def _root(self, request: web.Request) -> web.Response:
        """Answer the server root: capabilities and settings."""
        directories = [
            Element("Directory", {"count": 1, "key": key, "title": key})
            for key in ROOT_DIRECTORIES
        ]
        attrs: dict[str, Value] = {
            "size": len(directories),
            "allowCameraUpload": True,
            "allowChannelAccess": True,
            "allowMediaDeletion": True if self.allow_media_deletion else None,
            "allowSharing": True,
            "allowSync": True,
            "allowTuners": True,
            "backgroundProcessing": True,
            "certificate": True,
            "companionProxy": True,
            "countryCode": "usa",
            "diagnostics": "logs,databases,streaminglogs",
            "eventStream": True,
            "friendlyName": self.friendly_name,
            "hubSearch": True,
            "itemClusters": True,
            "livetv": 7,
            "machineIdentifier": self.machine_identifier,
            "mediaProviders": True,
            "multiuser": True,
            "musicAnalysis": 2,
            "myPlex": True,
            "myPlexMappingState": "mapped",
            "myPlexSigninState": "ok",
            "myPlexSubscription": True,
            "myPlexUsername": self.username,
            "offlineTranscode": 1,
            "ownerFeatures": "federated-auth,hardware-transcoding,home,pass,webhooks",
            "photoAutoTag": True,
            "platform": self.platform,
            "platformVersion": self.platform_version,
            "pluginHost": True,
            "pushNotifications": False,
            "readOnlyLibraries": False,
            "streamingBrainABRVersion": 3,
            "streamingBrainVersion": 2,
            "sync": True,
            "transcoderActiveVideoSessions": len(self.now_playing),
            "transcoderAudio": True,
            "transcoderLyrics": True,
            "transcoderPhoto": True,
            "transcoderSubtitles": True,
            "transcoderVideo": True,
            "transcoderVideoBitrates": "64,96,208,320,720,1500,2000,3000,4000,8000,10000,12000,20000",
            "transcoderVideoQualities": "0,1,2,3,4,5,6,7,8,9,10,11,12",
            "transcoderVideoResolutions": "128,128,160,240,320,480,768,720,720,1080,1080,1080,1080",
            "updatedAt": EPOCH,
            "updater": True,
            "version": self.version,
            "voiceSearch": True,
        }
        return self.render(request, Element("MediaContainer", attrs, directories))

    async def _library(self, request: web.Request) -> web.Response:
        """Answer /library, the entry point plexapi reads before the sections."""
        keys = {
            "sections": "Library Sections",
            "recentlyAdded": "Recently Added Content",
            "onDeck": "On Deck Content",
        }
        return self.render(
            request,
            Element(
                "MediaContainer",
                {
                    "size": len(keys),
                    "allowSync": False,
                    "art": "/:/resources/library-art.png",
                    "content": "",
                    "identifier": LIBRARY_ID,
                    "mediaTagPrefix": "/system/bundle/media/flags/",
                    "mediaTagVersion": EPOCH,
                    "title1": "Plex Library",
                    "title2": "",
                },
                [Element("Directory", {"key": k, "title": t}) for k, t in keys.items()],
            ),
        )

    async def _sections(self, request: web.Request) -> web.Response:
        """Answer /library/sections."""
        return self.render(
            request,
            Element(
                "MediaContainer",
                {
                    "size": len(self.sections),
                    "allowSync": False,
                    "title1": "Plex Library",
                },
                [section.to_element() for section in self.sections.values()],
            ),
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        """Answer an unknown path with 404."""
        return self.error(request, 404)

    # Library listings.

    def _section(self, request: web.Request) -> LibrarySection:
        """Return the section named in the path, or raise 404."""
        try:
            return self.sections[int(request.match_info["section"])]
        except KeyError, ValueError:
            raise NotFoundError from None

    def _container(
        self, section: LibrarySection | None, attrs: dict[str, Value] | None = None
    ) -> Element:
        """Return an empty MediaContainer with the library's attributes."""
        base: dict[str, Value] = {
            "size": 0,
            "allowSync": True,
            "identifier": LIBRARY_ID,
        }
        if section is not None:
            base |= {
                "librarySectionID": section.key,
                "librarySectionTitle": section.title,
                "librarySectionUUID": section.uuid,
            }
        base |= {
            "mediaTagPrefix": "/system/bundle/media/flags/",
            "mediaTagVersion": EPOCH,
        }
        return Element("MediaContainer", base | (attrs or {}))

    def _paged(
        self,
        request: web.Request,
        container: Element,
        items: list[Any],
        render: Callable[[Any], Element],
    ) -> web.Response:
        """Answer one page of a list: only the page's items are rendered."""
        start, size = _paging(request)
        page = items[start : start + size]
        container.attrs |= {"size": len(page), "totalSize": len(items), "offset": start}
        container.children = [render(item) for item in page]
        return self.render(request, container)

    def _paged_items(
        self,
        request: web.Request,
        container: Element,
        items: list[Item],
        *,
        guids: bool,
    ) -> web.Response:
        """Answer one page of library items, as `_paged` would, from cached renderings.

        The page is composed as text: the container's opening, the items' cached JSON
        (or XML) joined, then the closing; the same bytes `render` produces.
        """
        start, size = _paging(request)
        page = items[start : start + size]
        container.attrs |= {"size": len(page), "totalSize": len(items), "offset": start}
        if "application/json" in request.headers.get("Accept", ""):
            body = compact_json({container.tag: plex_json(container)}).encode()
            if page:
                # One join: the opening, then each item followed by a comma, the last
                # comma replaced by the closing.
                item_json = self._item_json
                parts = [body[:-2] + b',"Metadata":[']
                for item in page:
                    parts += (item_json(item, guids), b",")
                parts[-1] = b"]}}"
                body = b"".join(parts)
            return web.Response(
                body=body, content_type="application/json", charset="utf-8"
            )
        text = container.xml_fragment()
        if page:
            item_xml = self._item_xml
            inner = "\n".join([item_xml(item, guids) for item in page])
            text = f"{text.removesuffix(' />')}>\n{inner}\n</{container.tag}>"
        return web.Response(
            text=XML_DECLARATION + text + "\n", content_type="text/xml", charset="utf-8"
        )

    async def _section_all(self, request: web.Request) -> web.Response:
        """Answer /library/sections/{id}/all: filtered, sorted, paged items."""
        section = self._section(request)
        kinds = SECTION_TYPES[section.key]
        kind = _int(request.query.get("type", str(kinds[0])))
        items = self._listed(section.key, kind)
        for name, operator, wanted in _filters(request):
            items = [
                item
                for item in items
                if _matches(self._number(item, name), operator, wanted)
            ]
        if sort := request.query.get("sort"):
            items = self._sorted(items, sort)
        guids = request.query.get("includeGuids") == "1"
        container = self._container(
            section,
            {
                "title1": section.title,
                "title2": "All " + section.title,
                "viewGroup": TYPE_NAMES.get(kind, section.type),
            },
        )
        return self._paged_items(request, container, items, guids=guids)

    def _listed(self, section_id: int, kind: int) -> list[Item]:
        """Return a section's items of one type that Plex lists (do not mutate it).

        Movies, shows and episodes come from a cached list (see `Listing`); seasons,
        whose listing depends on every episode, are gathered each time.
        """
        world = self.world
        sources: dict[int, dict[int, Any]] = {
            MOVIE: world.movies,
            SHOW: world.shows,
            EPISODE: world.episodes,
        }
        source = sources.get(kind)
        if source is None or kind not in SECTION_TYPES[section_id]:
            return list(self._listing(section_id, kind))
        listing = self._listings.get(kind)
        if listing is None or not listing.current(world.version, source):
            listed: list[Any] = []
            unlisted: list[Any] = []
            for item in source.values():
                (listed if item.in_plex else unlisted).append(item)
            listing = Listing(world.version, len(source), listed, unlisted)
            self._listings[kind] = listing
        return listing.items

    def _listing(self, section_id: int, kind: int) -> Iterator[Item]:
        """Yield a section's items of one type that Plex lists, in rating key order."""
        world = self.world
        if kind not in SECTION_TYPES[section_id]:
            return
        if kind == MOVIE:
            yield from (movie for movie in world.movies.values() if movie.in_plex)
        elif kind == SHOW:
            yield from (show for show in world.shows.values() if show.in_plex)
        elif kind == SEASON:
            for show in world.shows.values():
                if show.in_plex:
                    yield from self._seasons_of(show)
        elif kind == EPISODE:
            yield from (ep for ep in world.episodes.values() if ep.in_plex)

    def _seasons_of(self, show: Show) -> Iterator[Season]:
        """Yield a show's seasons that still hold an episode in Plex."""
        for key in show.season_keys:
            season = self.world.seasons[key]
            if any(self.world.episodes[k].in_plex for k in season.episode_keys):
                yield season

    def _leaves(self, item: Show | Season) -> list[Episode]:
        """Return the episodes in Plex under a show or season."""
        if isinstance(item, Show):
            return list(self.world.episodes_of(item.rating_key))
        episodes = (self.world.episodes[key] for key in item.episode_keys)
        return [episode for episode in episodes if episode.in_plex]

    def _number(self, item: Item, name: str) -> int | None:
        """Return a numeric field of an item, as a filter or a sort sees it."""
        match name:
            case "addedAt":
                return item.added_at
            case "updatedAt":
                return item.updated_at
            case "ratingKey":
                return item.rating_key
            case "year":
                return item.year if isinstance(item, (Movie, Show)) else None
        if isinstance(item, (Movie, Episode)):
            return item.view_count if name == "viewCount" else item.last_viewed_at
        leaves = self._leaves(item)
        if name == "viewCount":
            return sum(episode.view_count for episode in leaves)
        return max((e.last_viewed_at or 0 for e in leaves), default=0) or None

    def _title(self, item: Item) -> str:
        """Return an item's title (seasons are named after their number)."""
        if isinstance(item, Season):
            return f"Season {item.index}" if item.index else "Specials"
        return item.title

    def _sorted(self, items: list[Item], sort: str) -> list[Item]:
        """Sort by `field[:desc]` terms, the last term applied first."""
        for term in reversed(sort.split(",")):
            name, _, direction = term.partition(":")
            if (field_name := SORT_FIELDS.get(name)) is None:
                raise BadRequestError(term)
            reverse = direction == "desc"
            if field_name == "title":
                items = sorted(
                    items, key=lambda i: self._title(i).lower(), reverse=reverse
                )
            else:
                items = sorted(
                    items,
                    key=lambda i: self._number(i, field_name) or 0,
                    reverse=reverse,
                )
        return items

    # Rendering items.

    def _section_attrs(self, section_id: int) -> dict[str, Value]:
        """Return the section attributes every item carries."""
        return {
            "librarySectionTitle": self.sections[section_id].title,
            "librarySectionID": section_id,
            "librarySectionKey": f"/library/sections/{section_id}",
        }

    def _element(self, item: Item, *, guids: bool) -> Metadata:
        """Render any library item as an element (a fresh one the caller may extend)."""
        return element_of(_item_tag(item), self._content(item, guids=guids), Metadata)

    def _content(self, item: Item, *, guids: bool) -> Content:
        """Render any library item as its PMS JSON content."""
        if type(item) is Episode:  # the most numerous first
            return self._episode(item)
        match item:
            case Movie():
                return self._movie(item, guids=guids)
            case Show():
                return self._show(item, guids=guids)
            case Season():
                return self._season(item)
            case Episode():
                return self._episode(item)

    # Rendered items are cached per rating key (and includeGuids for movies and shows),
    # valid while the fingerprint, every value the rendering reads that can change, is
    # equal; any change, even an attribute a test assigns, renders the item again.

    def _item_json(self, item: Item, guids: bool) -> bytes:
        """Return an item's JSON (an entry of `Metadata`), from the cache when current."""
        guids = guids and isinstance(item, (Movie, Show))
        key = item.rating_key * 2 + guids
        fingerprint = self._fingerprint(item, guids)
        offset = self._json_offsets.get(key)
        if offset is not None:
            values = self._json_values
            if values[offset : offset + FAST_LENGTH] == [*fingerprint]:
                return self._json_cache[key]
        else:
            cached = self._json_fingerprints.get(key)
            if cached is not None and cached == fingerprint:
                return self._json_cache[key]
        kind = type(item)
        signature = tuple(map(type, fingerprint))
        if kind is Episode and signature in EPISODE_SIGNATURES:
            rendered = self._episode_json(fingerprint)
        elif (
            kind is Movie
            and signature in MOVIE_SIGNATURES
            and _all_strings(fingerprint[13])
        ):
            rendered = self._movie_json(fingerprint)
        else:
            rendered = json_bytes(self._content(item, guids=guids))
            self._json_offsets.pop(key, None)
            self._json_fingerprints[key] = fingerprint
            self._json_cache[key] = rendered
            return rendered
        values = self._json_values
        if offset is None:
            self._json_fingerprints.pop(key, None)
            self._json_offsets[key] = len(values)
            values += fingerprint
        else:
            values[offset : offset + FAST_LENGTH] = fingerprint
        self._json_cache[key] = rendered
        return rendered

    def _item_xml(self, item: Item, guids: bool) -> str:
        """Return an item's XML fragment, from the cache when current."""
        guids = guids and isinstance(item, (Movie, Show))
        key = item.rating_key * 2 + guids
        fingerprint = self._fingerprint(item, guids)
        if self._xml_fingerprints.get(key) == fingerprint:
            return self._xml_cache[key]
        content = self._content(item, guids=guids)
        rendered = element_of(_item_tag(item), content, Element).xml_fragment()
        self._xml_fingerprints[key] = fingerprint
        self._xml_cache[key] = rendered
        return rendered

    def _fingerprint(self, item: Item, guids: bool) -> Fingerprint:
        """Return every changeable value an item's rendering reads."""
        world = self.world
        match item:
            case Episode():
                show = world.shows[item.show_key]
                return (
                    EPISODE,
                    item.rating_key,
                    item.season_key,
                    item.season_index,
                    item.index,
                    item.title,
                    item.added_at,
                    item.updated_at,
                    item.view_count,
                    item.last_viewed_at,
                    show.rating_key,
                    show.title,
                    show.guid,
                    self.sections[SHOW_SECTION].title,
                    *self._file_fingerprint(item.file),
                )
            case Movie():
                return (
                    MOVIE,
                    guids,
                    item.rating_key,
                    item.title,
                    item.year,
                    item.guid,
                    item.imdb_id,
                    item.tmdb_id,
                    item.added_at,
                    item.updated_at,
                    item.view_count,
                    item.last_viewed_at,
                    self.sections[MOVIE_SECTION].title,
                    tuple(item.labels),
                    *self._file_fingerprint(item.file),
                )
            case Show():
                return (
                    SHOW,
                    guids,
                    item.rating_key,
                    item.title,
                    item.year,
                    item.guid,
                    item.imdb_id,
                    item.tmdb_id,
                    item.tvdb_id,
                    item.added_at,
                    item.updated_at,
                    tuple(item.labels),
                    self.sections[SHOW_SECTION].title,
                    tuple(
                        (e.season_key, e.view_count, e.last_viewed_at)
                        for e in world.episodes_of(item.rating_key)
                    ),
                )
            case Season():
                show = world.shows[item.show_key]
                return (
                    SEASON,
                    item.rating_key,
                    item.index,
                    item.added_at,
                    item.updated_at,
                    show.rating_key,
                    show.title,
                    show.guid,
                    self.sections[SHOW_SECTION].title,
                    tuple((e.view_count, e.last_viewed_at) for e in self._leaves(item)),
                )

    def _file_fingerprint(self, file: MediaFile | None) -> Fingerprint:
        """Return every value of a file that the rendering reads (none without a file)."""
        if file is None:
            return ()
        return (
            file.media_id,
            file.part_id,
            file.path,
            file.size,
            file.duration,
            file.container,
            file.video_codec,
            file.audio_codec,
            file.resolution,
            file.width,
            file.height,
            file.bitrate,
            file.exists,
            None if file.exists else self.world.now,
        )

    # Movies and episodes whose fingerprint has the usual types (see `MOVIE_SIGNATURES`)
    # are written as JSON straight from it by the templates above: the same bytes
    # `json_bytes` makes of their content.

    def _movie_json(self, fingerprint: Fingerprint) -> bytes:
        """Write a movie's JSON from its fingerprint."""
        (
            _,
            guids,
            key,
            title,
            year,
            guid,
            imdb_id,
            tmdb_id,
            added_at,
            updated_at,
            views,
            last_viewed_at,
            section,
            labels,
            media_id,
            part_id,
            path,
            size,
            duration,
            container,
            video_codec,
            audio_codec,
            resolution,
            width,
            height,
            bitrate,
            _,
            deleted_at,
        ) = fingerprint
        media_key = (width, height, audio_codec, video_codec, resolution, container)
        media = self._media_memo.get(media_key) or self._media_parts(media_key)
        ids = GUIDS_JSON % (quote(f"imdb://{imdb_id}"), tmdb_id) if guids else ""
        tags = ""
        if labels:
            tag_ids = self._tag_ids
            tags = ',"Label":[{}]'.format(
                ",".join(
                    [
                        TAG_JSON
                        % (tag_ids.setdefault(name, len(tag_ids) + 1), quote(name))
                        for name in labels  # type: ignore[attr-defined]
                    ]
                )
            )
        return (
            MOVIE_JSON
            % (
                key,
                key,
                quote(guid),
                quote(title),
                quote(section),
                year,
                duration,
                added_at,
                updated_at,
                _played_json(views, last_viewed_at, deleted_at),
                media_id,
                duration,
                bitrate,
                media[0],
                part_id,
                part_id,
                media[1],
                duration,
                quote(path),
                size,
                media[2],
                ids,
                tags,
            )
        ).encode()

    def _episode_json(self, fingerprint: Fingerprint) -> bytes:
        """Write an episode's JSON from its fingerprint."""
        (
            _,
            key,
            season_key,
            season_index,
            index,
            title,
            added_at,
            updated_at,
            views,
            last_viewed_at,
            show_key,
            show_title,
            show_guid,
            section,
            media_id,
            part_id,
            path,
            size,
            duration,
            container,
            video_codec,
            audio_codec,
            resolution,
            width,
            height,
            bitrate,
            _,
            deleted_at,
        ) = fingerprint
        media_key = (width, height, audio_codec, video_codec, resolution, container)
        media = self._media_memo.get(media_key) or self._media_parts(media_key)
        season_key_ = (
            season_key,
            season_index,
            show_key,
            show_title,
            show_guid,
            section,
        )
        season = self._season_memo.get(season_key_) or self._season_parts(season_key_)
        return (
            EPISODE_JSON
            % (
                key,
                key,
                season[0],
                key,
                season[1],
                quote(title),
                season[2],
                index,
                season[3],
                duration,
                added_at,
                updated_at,
                _played_json(views, last_viewed_at, deleted_at),
                media_id,
                duration,
                bitrate,
                media[0],
                part_id,
                part_id,
                media[1],
                duration,
                quote(path),
                size,
                media[2],
            )
        ).encode()

    def _media_parts(self, media_key: Fingerprint) -> tuple[str, str, str]:
        """Write and remember the text of a file's format, and its container twice.

        The format is its dimensions, codecs and container in the Media; the container
        also ends the Part's key and the Part. The memo is keyed by values of checked
        types (see `MOVIE_SIGNATURES`), so an equal key always writes the same text.
        """
        (width, height, audio_codec, video_codec, resolution, container) = media_key
        quoted = quote(container)
        parts = (
            _FORMAT_JSON
            % (
                width,
                height,
                round(width / height, 2),  # type: ignore[operator]
                quote(audio_codec),
                quote(video_codec),
                quote(resolution),
                quoted,
            ),
            quoted[1:],
            quoted,
        )
        if len(self._media_memo) >= MAX_MEMO:
            self._media_memo.clear()
        self._media_memo[media_key] = parts
        return parts

    def _season_parts(self, season_key: Fingerprint) -> tuple[str, str, str, str]:
        """Write and remember the four parts of an episode its season and show write."""
        (key, index, show_key, show_title, show_guid, section) = season_key
        first, second, third, fourth = _SEASON_JSON
        parts = (
            first % (key, show_key),
            second % (key, quote(show_guid)),
            third
            % (
                show_key,
                key,
                quote(section),
                quote(show_title),
                f"Season {index}" if index else "Specials",
            ),
            fourth % index,
        )
        if len(self._season_memo) >= MAX_MEMO:
            self._season_memo.clear()
        self._season_memo[season_key] = parts
        return parts

    def _media(self, file: MediaFile) -> Content:
        """Render a file as one Media with one Part (no value of a file is ever None)."""
        return {
            "id": file.media_id,
            "duration": file.duration,
            "bitrate": file.bitrate,
            "width": file.width,
            "height": file.height,
            "aspectRatio": round(file.width / file.height, 2),
            "audioCodec": file.audio_codec,
            "videoCodec": file.video_codec,
            "videoResolution": file.resolution,
            "container": file.container,
            "Part": [
                {
                    "id": file.part_id,
                    "key": f"/library/parts/{file.part_id}/{EPOCH}/file.{file.container}",
                    "duration": file.duration,
                    "file": file.path,
                    "size": file.size,
                    "container": file.container,
                }
            ],
        }

    def _tags(self, names: list[str]) -> list[Content]:
        """Render tags such as labels, with ids stable for the simulator's life."""
        return [
            _present(
                {
                    "id": self._tag_ids.setdefault(name, len(self._tag_ids) + 1),
                    "tag": name,
                }
            )
            for name in names
        ]

    def _played(self, view_count: int, last_viewed_at: int | None) -> dict[str, Value]:
        """Return the owner's play attributes (absent when never watched)."""
        return {
            "viewCount": view_count or None,
            "lastViewedAt": last_viewed_at,
        }

    def _add_played(
        self,
        content: Content,
        item: Movie | Episode,
        file: MediaFile | None,
    ) -> Content:
        """Append the dates, the owner's play attributes and `deletedAt`, when present.

        The fast builders below write their attributes as one dict, leaving out these
        trailing optional ones; `_present` keeps any other missing value out as well.
        """
        content["addedAt"] = item.added_at
        content["updatedAt"] = item.updated_at
        if item.view_count:
            content["viewCount"] = item.view_count
        if item.last_viewed_at is not None:
            content["lastViewedAt"] = item.last_viewed_at
        if file is not None and not file.exists:
            content["deletedAt"] = self.world.now
        return _present(content)

    def _movie(self, movie: Movie, *, guids: bool) -> Content:
        """Render a movie (a `Video`)."""
        file = movie.file
        content: Content = {
            "ratingKey": str(movie.rating_key),
            "key": f"/library/metadata/{movie.rating_key}",
            "guid": movie.guid,
            "type": "movie",
            "title": movie.title,
            "librarySectionTitle": self.sections[MOVIE_SECTION].title,
            "librarySectionID": MOVIE_SECTION,
            "librarySectionKey": f"/library/sections/{MOVIE_SECTION}",
            "year": movie.year,
        }
        if file is not None:
            content["duration"] = file.duration
        content = self._add_played(content, movie, file)
        if file is not None:
            content["Media"] = [self._media(file)]
        if guids:
            content["Guid"] = [
                {"id": f"imdb://{movie.imdb_id}"},
                {"id": f"tmdb://{movie.tmdb_id}"},
            ]
        if movie.labels:
            content["Label"] = self._tags(movie.labels)
        return content

    def _show(self, show: Show, *, guids: bool) -> Content:
        """Render a show (a `Directory`) with its episode counts."""
        leaves = self._leaves(show)
        content = _present(
            {
                "ratingKey": str(show.rating_key),
                "key": f"/library/metadata/{show.rating_key}/children",
                "guid": show.guid,
                "type": "show",
                "title": show.title,
                **self._section_attrs(SHOW_SECTION),
                "year": show.year,
                "leafCount": len(leaves),
                "viewedLeafCount": sum(1 for e in leaves if e.view_count),
                "childCount": len({e.season_key for e in leaves}),
                "addedAt": show.added_at,
                "updatedAt": show.updated_at,
                **self._played(
                    sum(e.view_count for e in leaves),
                    max((e.last_viewed_at or 0 for e in leaves), default=0) or None,
                ),
            }
        )
        if guids:
            content["Guid"] = [
                {"id": f"imdb://{show.imdb_id}"},
                {"id": f"tmdb://{show.tmdb_id}"},
                {"id": f"tvdb://{show.tvdb_id}"},
            ]
        if show.labels:
            content["Label"] = self._tags(show.labels)
        return content

    def _season(self, season: Season) -> Content:
        """Render a season (a `Directory`)."""
        show = self.world.shows[season.show_key]
        leaves = self._leaves(season)
        return _present(
            {
                "ratingKey": str(season.rating_key),
                "key": f"/library/metadata/{season.rating_key}/children",
                "parentRatingKey": str(show.rating_key),
                "guid": f"plex://season/{season.rating_key:024x}",
                "parentGuid": show.guid,
                "type": "season",
                "title": self._title(season),
                "parentKey": f"/library/metadata/{show.rating_key}",
                "parentTitle": show.title,
                **self._section_attrs(SHOW_SECTION),
                "index": season.index,
                "parentIndex": 1,
                "leafCount": len(leaves),
                "viewedLeafCount": sum(1 for e in leaves if e.view_count),
                "addedAt": season.added_at,
                "updatedAt": season.updated_at,
                **self._played(
                    sum(e.view_count for e in leaves),
                    max((e.last_viewed_at or 0 for e in leaves), default=0) or None,
                ),
            }
        )

    def _episode(self, episode: Episode) -> Content:
        """Render an episode (a `Video`) with its file."""
        show = self.world.shows[episode.show_key]
        file = episode.file
        season_key = episode.season_key
        content: Content = {
            "ratingKey": str(episode.rating_key),
            "key": f"/library/metadata/{episode.rating_key}",
            "parentRatingKey": str(season_key),
            "grandparentRatingKey": str(show.rating_key),
            "guid": f"plex://episode/{episode.rating_key:024x}",
            "parentGuid": f"plex://season/{season_key:024x}",
            "grandparentGuid": show.guid,
            "type": "episode",
            "title": episode.title,
            "grandparentKey": f"/library/metadata/{show.rating_key}",
            "parentKey": f"/library/metadata/{season_key}",
            "librarySectionTitle": self.sections[SHOW_SECTION].title,
            "librarySectionID": SHOW_SECTION,
            "librarySectionKey": f"/library/sections/{SHOW_SECTION}",
            "grandparentTitle": show.title,
            "parentTitle": f"Season {episode.season_index}"
            if episode.season_index
            else "Specials",
            "index": episode.index,
            "parentIndex": episode.season_index,
        }
        if file is not None:
            content["duration"] = file.duration
        content = self._add_played(content, episode, file)
        if file is not None:
            content["Media"] = [self._media(file)]
        return content

    def _collection_element(self, collection: PlexCollection) -> Metadata:
        """Render a collection as a `Directory` of type collection."""
        members = self._members(collection)
        attrs: dict[str, Value] = {
            "ratingKey": str(collection.rating_key),
            "key": f"/library/collections/{collection.rating_key}/children",
            "guid": collection.guid,
            "type": "collection",
            "title": collection.title,
            **self._section_attrs(collection.section_id),
            "subtype": collection.subtype,
            "summary": "",
            "index": collection.rating_key,
            "smart": False,
            "childCount": len(members),
            "addedAt": collection.added_at,
            "updatedAt": collection.updated_at,
        }
        return Metadata("Directory", attrs)

    # Items by rating key.

    def _item(self, key: int) -> Item | None:
        """Return the item Plex lists under a rating key."""
        world = self.world
        item = (
            world.movies.get(key)
            or world.shows.get(key)
            or world.seasons.get(key)
            or world.episodes.get(key)
        )
        if isinstance(item, Season):
            listed = world.shows[item.show_key].in_plex and self._leaves(item)
            return item if listed else None
        return item if item is not None and item.in_plex else None

    def _section_of(self, item: Item) -> int:
        """Return the section an item lives in."""
        return MOVIE_SECTION if isinstance(item, Movie) else SHOW_SECTION

    async def _metadata(self, request: web.Request) -> web.Response:
        """Answer /library/metadata/{k1,k2,...}: items and collections, in the asked order."""
        guids = request.query.get("includeGuids") == "1"
        elements: list[Element] = []
        for key in _key_list(request.match_info["keys"]):
            if (collection := self.collections.get(key)) is not None:
                elements.append(self._collection_element(collection))
            elif (item := self._item(key)) is not None:
                elements.append(self._element(item, guids=guids))
        if not elements:
            return self.error(request, 404)
        section_ids = {int(str(e.attrs["librarySectionID"])) for e in elements}
        section = self.sections[section_ids.pop()] if len(section_ids) == 1 else None
        container = self._container(section, {"size": len(elements)})
        container.children = elements
        return self.render(request, container)

    async def _children(self, request: web.Request) -> web.Response:
        """Answer /library/metadata/{k}/children: a show's seasons, a season's episodes."""
        item = self._item(_int(request.match_info["key"]))
        if item is None:
            return self.error(request, 404)
        children: list[Item] = []
        if isinstance(item, Show):
            children = list(self._seasons_of(item))
        elif isinstance(item, Season):
            children = [*self._leaves(item)]
        container = self._container(
            self.sections[self._section_of(item)],
            {"key": str(item.rating_key), "title2": self._title(item)},
        )
        return self._paged_items(request, container, children, guids=False)

    # Deletion.

    async def _delete_metadata(self, request: web.Request) -> web.Response:
        """Delete an item and its files, or a collection; refused (403) unless allowed."""
        key = _int(request.match_info["key"])
        if key in self.collections:
            return await self._delete_collection(request)
        item = self._item(key)
        if item is None:
            return self.error(request, 404)
        if not self.allow_media_deletion:
            return self.error(request, 403)
        self._remove(item)
        return web.Response()

    async def _delete_media(self, request: web.Request) -> web.Response:
        """Delete one version (Media) of an item: its only file, so the item goes too."""
        item = self._item(_int(request.match_info["key"]))
        media_id = _int(request.match_info["media"])
        file = item.file if isinstance(item, (Movie, Episode)) else None
        if item is None or file is None or file.media_id != media_id:
            return self.error(request, 404)
        if not self.allow_media_deletion:
            return self.error(request, 403)
        self._remove(item)
        return web.Response()

    def _remove(self, item: Item) -> None:
        """Delete an item from the world and date its section's change."""
        delete_item(self.world, item)
        self.sections[self._section_of(item)].touch(self.world.now)

    async def _refresh(self, request: web.Request) -> web.Response:
        """Start a scan of the section, answering before it runs, as PMS does."""
        section = self._section(request)
        task = asyncio.get_running_loop().create_task(self._scan(section))
        self._scans.add(task)
        task.add_done_callback(self._scans.discard)
        return web.Response()

    async def _scan(self, section: LibrarySection) -> None:
        """Drop what lost its files, then date the scan."""
        await asyncio.sleep(0)
        if self.world.scan(section.key):
            section.touch(self.world.now)
        section.scanned_at = max(section.scanned_at, self.world.now)

    # Labels.

    async def _edit_items(self, request: web.Request) -> web.Response:
        """Apply plexapi's tag edits: `label[i].tag.tag=x` sets, `label[].tag.tag-=x,y` removes.

        plexapi's addLabel sends the item's labels plus the new ones (mixins/edit.py
        editTags/_tagHelper), so the indexed form replaces the whole list.
        """
        section = self._section(request)
        query = request.query
        wanted = [
            value
            for key, value in query.items()
            if key.startswith("label[")
            and key.endswith("].tag.tag")
            and key != "label[].tag.tag"
        ]
        removed = {
            unquote(name)
            for name in query.get("label[].tag.tag-", "").split(",")
            if name
        }
        for key in _key_list(query.get("id", "")):
            item = self._item(key)
            if (
                not isinstance(item, (Movie, Show))
                or self._section_of(item) != section.key
            ):
                return self.error(request, 404)
            if wanted:
                item.labels = list(dict.fromkeys(wanted))
            item.labels = [label for label in item.labels if label not in removed]
            item.updated_at = max(item.updated_at, self.world.now)
            self.world.version += 1
        section.touch(self.world.now)
        return web.Response()

    # Collections.

    def _collection_of(self, request: web.Request) -> PlexCollection:
        """Return the collection named in the path, or raise 404."""
        collection = self.collections.get(_int(request.match_info["key"]))
        if collection is None:
            raise NotFoundError
        return collection

    def _members(self, collection: PlexCollection) -> list[Item]:
        """Return a collection's items that Plex still lists."""
        return [
            item for key in collection.items if (item := self._item(key)) is not None
        ]

    def _checked_items(self, section_id: int, keys: list[int]) -> list[int]:
        """Return the keys if all name listed items of the section, else raise 400."""
        for key in keys:
            item = self._item(key)
            if item is None or self._section_of(item) != section_id:
                raise BadRequestError(str(key))
        return keys

    def _answer_collection(
        self, request: web.Request, collection: PlexCollection
    ) -> web.Response:
        """Answer a container holding one collection."""
        container = self._container(self.sections[collection.section_id], {"size": 1})
        container.children = [self._collection_element(collection)]
        return self.render(request, container)

    async def _create_collection(self, request: web.Request) -> web.Response:
        """Create a regular collection from `uri=server://.../library/metadata/{k1,k2}`."""
        query = request.query
        if query.get("smart", "0") != "0":
            raise BadRequestError("smart collections are not simulated")
        try:
            section = self.sections[_int(query.get("sectionId", ""))]
            subtype = TYPE_NAMES[_int(query.get("type", ""))]
        except KeyError:
            raise BadRequestError("section or type") from None
        keys = self._checked_items(section.key, _uri_keys(query.get("uri", "")))
        collection = PlexCollection(
            rating_key=self.world.new_id(),
            section_id=section.key,
            title=query.get("title", ""),
            subtype=subtype,
            guid=f"collection://{self._uuid()}",
            added_at=self.world.now,
            updated_at=self.world.now,
            items=list(dict.fromkeys(keys)),
        )
        self.collections[collection.rating_key] = collection
        return self._answer_collection(request, collection)

    async def _collection(self, request: web.Request) -> web.Response:
        """Answer one collection (plexapi reloads it here)."""
        return self._answer_collection(request, self._collection_of(request))

    async def _delete_collection(self, request: web.Request) -> web.Response:
        """Delete a collection; its items stay."""
        del self.collections[self._collection_of(request).rating_key]
        return web.Response()

    async def _section_collections(self, request: web.Request) -> web.Response:
        """Answer /library/sections/{id}/collections."""
        section = self._section(request)
        collections = [
            c for c in self.collections.values() if c.section_id == section.key
        ]
        container = self._container(
            section,
            {
                "title1": section.title,
                "title2": "Collections",
                "viewGroup": "collection",
            },
        )
        return self._paged(request, container, collections, self._collection_element)

    async def _collection_children(self, request: web.Request) -> web.Response:
        """Answer a collection's items."""
        collection = self._collection_of(request)
        guids = request.query.get("includeGuids") == "1"
        container = self._container(
            self.sections[collection.section_id],
            {"key": str(collection.rating_key), "title2": collection.title},
        )
        return self._paged_items(
            request, container, self._members(collection), guids=guids
        )

    async def _add_to_collection(self, request: web.Request) -> web.Response:
        """Add the items of `uri=` to a collection."""
        collection = self._collection_of(request)
        keys = self._checked_items(
            collection.section_id, _uri_keys(request.query.get("uri", ""))
        )
        collection.items = list(dict.fromkeys(collection.items + keys))
        collection.updated_at = max(collection.updated_at, self.world.now)
        return self._answer_collection(request, collection)

    async def _remove_from_collection(self, request: web.Request) -> web.Response:
        """Remove one item from a collection."""
        collection = self._collection_of(request)
        key = _int(request.match_info["item"])
        if key not in collection.items:
            return self.error(request, 404)
        collection.items.remove(key)
        collection.updated_at = max(collection.updated_at, self.world.now)
        return self._answer_collection(request, collection)

    # Home screen hubs.

    async def _managed_hubs(self, request: web.Request) -> web.Response:
        """List the section's promoted collections (one with `metadataItemId`)."""
        section = self._section(request)
        wanted = request.query.get("metadataItemId")
        hubs = [
            c.hub_element()
            for c in self.collections.values()
            if c.section_id == section.key
            and c.promoted
            and wanted in (None, str(c.rating_key))
        ]
        return self.render(
            request, Element("MediaContainer", {"size": len(hubs)}, hubs)
        )

    def _hub_collection(self, request: web.Request) -> PlexCollection:
        """Return the collection a hub request names by id or by hub identifier."""
        section = self._section(request)
        identifier = request.match_info.get("hub") or request.query.get(
            "metadataItemId", ""
        )
        key = identifier.rsplit(".", 1)[-1]
        collection = self.collections.get(_int(key))
        if collection is None or collection.section_id != section.key:
            raise NotFoundError
        return collection

    async def _promote(self, request: web.Request) -> web.Response:
        """Record the `promotedTo*` flags sent by plexapi's updateVisibility."""
        collection = self._hub_collection(request)
        flags = {
            "promotedToRecommended": "promoted_to_recommended",
            "promotedToOwnHome": "promoted_to_own_home",
            "promotedToSharedHome": "promoted_to_shared_home",
        }
        for param, attribute in flags.items():
            if (value := request.query.get(param)) is not None:
                setattr(collection, attribute, value == "1")
        return web.Response()

    async def _demote(self, request: web.Request) -> web.Response:
        """Take a collection off every home screen."""
        collection = self._hub_collection(request)
        collection.promoted_to_recommended = False
        collection.promoted_to_own_home = False
        collection.promoted_to_shared_home = False
        return web.Response()

    # Now playing.

    async def _sessions(self, request: web.Request) -> web.Response:
        """Answer /status/sessions from `now_playing`."""
        users = {user.id: user for user in self.world.users}
        elements: list[Element] = []
        for session, (key, user_id) in enumerate(self.now_playing, start=1):
            item = self._item(key)
            user = users.get(user_id)
            if item is None or user is None:
                continue
            element = self._element(item, guids=False)
            element.attrs |= {"sessionKey": str(session), "viewOffset": 0}
            element.children += [
                Element("User", {"id": str(user.id), "title": user.username}),
                Element(
                    "Player",
                    {
                        "address": "192.168.1.50",
                        "machineIdentifier": f"player-{user.id}",
                        "platform": "Chrome",
                        "product": "Plex Web",
                        "state": "playing",
                        "title": "Chrome",
                        "local": True,
                    },
                ),
                Element(
                    "Session",
                    {"id": f"session-{session}", "bandwidth": 10000, "location": "lan"},
                ),
            ]
            elements.append(element)
        return self.render(
            request, Element("MediaContainer", {"size": len(elements)}, elements)
        )
