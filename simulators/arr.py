"""Sonarr and Radarr simulator (API v3).

Sources: Sonarr and Radarr SystemController.cs (`GET /api/v3/system/status` fields; Radarr
v4+ reports isContainerized, databaseType and databaseVersion where Sonarr and older
Radarr report sqliteVersion),
HealthResource.cs and RestResource.cs (a zero `id` is not written). A wrong key is 401,
with `{"error":"Unauthorized"}` from the Nancy-based v3 servers and an empty body from the
ASP.NET Core ones (v4 and later), as contracts.md records.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web

from .base import Simulator, random_string
from .world import World

type ArrApp = Literal["Sonarr", "Radarr"]

DEFAULT_VERSIONS: dict[ArrApp, str] = {
    "Sonarr": "4.0.14.2939",
    "Radarr": "5.26.2.10099",
}
BRANCHES: dict[ArrApp, str] = {"Sonarr": "main", "Radarr": "master"}
MEDIA_ROOTS: dict[ArrApp, str] = {"Sonarr": "/tv", "Radarr": "/movies"}
GIB = 1024**3


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
        self.health: list[dict[str, Any]] = []
        self.disks: list[dict[str, Any]] = [
            {"path": "/", "label": "", "freeSpace": 40 * GIB, "totalSpace": 100 * GIB},
            {
                "path": MEDIA_ROOTS[app],
                "label": "media",
                "freeSpace": 1200 * GIB,
                "totalSpace": 8000 * GIB,
            },
        ]

    @property
    def url(self) -> str:
        """Return the base URL including the URL base."""
        return super().url + self.url_base

    @property
    def major_version(self) -> int:
        """Return the major version number."""
        return int(self.version.split(".", 1)[0])

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the API under the URL base."""
        api = f"{self.url_base}/api/v3"
        router.add_get(f"{self.url_base}/ping", self._ping)
        router.add_get(f"{api}/system/status", self._status)
        router.add_get(f"{api}/health", self._health)
        router.add_get(f"{api}/diskspace", self._diskspace)
        router.add_route("*", "/{tail:.*}", self._not_found)

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

    async def _ping(self, request: web.Request) -> web.Response:
        """Answer the unauthenticated liveness probe."""
        return web.json_response({"status": "OK"})

    async def _status(self, request: web.Request) -> web.Response:
        """Answer /system/status."""
        if not self._authorized(request):
            return self.unauthorized(request)
        status: dict[str, Any] = {
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
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(self.health)

    async def _diskspace(self, request: web.Request) -> web.Response:
        """Answer /diskspace."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(self.disks)

    async def _not_found(self, request: web.Request) -> web.Response:
        """Answer an unknown path: 401 without a key, else 404."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return self.error(request, 404)
