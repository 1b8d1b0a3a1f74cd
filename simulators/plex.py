"""Plex Media Server simulator.

Sources: python-plexapi 4.18 (server.py, library.py: what it requests and reads), the
sample `GET /` answer on plexopedia.com ("Get Server Capabilities"), and 401 bodies
quoted in user reports (JellyPlex-Watched#308, PlexAniSync#196): PMS answers text/html
with a script redirecting to the web app. PMS omits `allowMediaDeletion` when the
setting is off (plexapi's test_server_allowMediaDeletion expects None then).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
import uuid

from aiohttp import web

from .base import Simulator, plex_token, random_string
from .document import Element, Value
from .world import World

UNAUTHORIZED_HTML = (
    "<html><head><script>window.location = window.location.href.match("
    "/(^.+\\/)[^\\/]*$/)[1] + 'web/index.html';</script><title>Unauthorized</title>"
    "</head><body><h1>401 Unauthorized</h1></body></html>"
)
EPOCH = 1_700_000_000
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
SECTION_DEFAULTS = {
    "movie": ("tv.plex.agents.movie", "Plex Movie", "movie"),
    "show": ("tv.plex.agents.series", "Plex TV Series", "show"),
    "artist": ("tv.plex.agents.music", "Plex Music", "artist"),
    "photo": ("com.plexapp.agents.none", "Plex Photo Scanner", "photo"),
}


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


class PlexSimulator(Simulator):
    """A Plex Media Server with token auth, XML and JSON answers."""

    name = "plex"

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
        self.sections: dict[int, LibrarySection] = {
            1: LibrarySection(1, "movie", "Movies", self._uuid(), ["/data/movies"]),
            2: LibrarySection(2, "show", "TV Shows", self._uuid(), ["/data/tv"]),
        }

    def _uuid(self) -> str:
        """Return a UUID drawn from the seeded generator."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the PMS endpoints."""
        router.add_get("/identity", self._identity)
        router.add_get("/", self._root)
        router.add_get("/library", self._library)
        router.add_get("/library/sections", self._sections)
        router.add_route("*", "/{tail:.*}", self._not_found)

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
            return web.json_response(container.to_json())
        return web.Response(
            text=container.to_xml(), content_type="text/xml", charset="utf-8"
        )

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
        if not self.authorized(request):
            return self.unauthorized(request)
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
            "transcoderActiveVideoSessions": 0,
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
        if not self.authorized(request):
            return self.unauthorized(request)
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
                    "identifier": "com.plexapp.plugins.library",
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
        if not self.authorized(request):
            return self.unauthorized(request)
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
        """Answer an unknown path: 401 without a token, else 404."""
        if not self.authorized(request):
            return self.unauthorized(request)
        return self.error(request, 404)
