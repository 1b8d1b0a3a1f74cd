"""Overseerr simulator (API v1).

Sources: sct/overseerr server/routes/index.ts (`/status` fields, `/settings` needs an
admin), server/routes/auth.ts (`/auth/me` returns the user entity), user objects in
published request payloads (field order and nulls), and contracts.md for the 403 body
that a missing or wrong `X-Api-Key` gets. Unknown API paths answer the OpenAPI
validator's 404 (not verified).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .base import Simulator, random_string
from .world import World

FORBIDDEN = {
    "status": 403,
    "error": "You do not have permission to access this endpoint",
}
ADMIN_PERMISSIONS = 2
PLEX_USER = 1


class OverseerrSimulator(Simulator):
    """An Overseerr server whose API key authenticates as the admin user."""

    name = "overseerr"

    def __init__(
        self,
        *,
        seed: int = 0,
        world: World | None = None,
        api_key: str | None = None,
        version: str = "1.34.0",
    ) -> None:
        """Create the server with its admin user."""
        super().__init__(seed=seed, world=world)
        self.api_key = api_key or random_string(self.rng, 32)
        self.version = version
        self.commit_tag = random_string(self.rng, 40)
        self.application_title = "Overseerr"
        self.application_url = ""
        self.admin: dict[str, Any] = {
            "permissions": ADMIN_PERMISSIONS,
            "warnings": [],
            "id": 1,
            "email": "smartplex-owner@example.com",
            "plexUsername": "smartplex-owner",
            "username": None,
            "recoveryLinkExpirationDate": None,
            "userType": PLEX_USER,
            "plexId": self.rng.randrange(10_000_000, 99_999_999),
            "avatar": f"https://plex.tv/users/{random_string(self.rng, 16)}/avatar?c=1700000000",
            "movieQuotaLimit": None,
            "movieQuotaDays": None,
            "tvQuotaLimit": None,
            "tvQuotaDays": None,
            "createdAt": "2024-01-15T10:00:00.000Z",
            "updatedAt": "2025-06-01T12:00:00.000Z",
            "requestCount": 0,
            "displayName": "smartplex-owner",
        }

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the API endpoints."""
        router.add_get("/api/v1/status", self._status)
        router.add_get("/api/v1/auth/me", self._me)
        router.add_get("/api/v1/settings/main", self._settings_main)
        router.add_route("*", "/api/v1/{tail:.*}", self._not_found)

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer an error as Overseerr's error handler does."""
        if status == 403:
            return web.json_response(FORBIDDEN, status=403)
        if status == 404:
            return web.json_response(
                {
                    "message": "not found",
                    "errors": [{"path": request.path, "message": "not found"}],
                },
                status=404,
            )
        if status == 429:
            return web.Response(
                status=429, text="Too many requests, please try again later."
            )
        return web.json_response({"message": "Something went wrong."}, status=status)

    def unauthorized(self, request: web.Request) -> web.Response:
        """Answer a wrong key: Overseerr says 403, not 401."""
        return self.error(request, 403)

    def _authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the API key."""
        return request.headers.get("X-Api-Key") == self.api_key

    async def _status(self, request: web.Request) -> web.Response:
        """Answer /status, which needs no key."""
        return web.json_response(
            {
                "version": self.version,
                "commitTag": self.commit_tag,
                "updateAvailable": False,
                "commitsBehind": 0,
                "restartRequired": False,
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        """Answer the user the key authenticates as: the admin."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(self.admin)

    async def _settings_main(self, request: web.Request) -> web.Response:
        """Answer the main settings, which admins see with the API key."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(
            {
                "apiKey": self.api_key,
                "applicationTitle": self.application_title,
                "applicationUrl": self.application_url,
                "csrfProtection": False,
                "cacheImages": False,
                "defaultPermissions": 32,
                "defaultQuotas": {"movie": {}, "tv": {}},
                "hideAvailable": False,
                "localLogin": True,
                "newPlexLogin": True,
                "region": "",
                "originalLanguage": "",
                "trustProxy": False,
                "partialRequestsEnabled": True,
                "locale": "en",
            }
        )

    async def _not_found(self, request: web.Request) -> web.Response:
        """Answer an unknown API path."""
        return self.error(request, 404)
