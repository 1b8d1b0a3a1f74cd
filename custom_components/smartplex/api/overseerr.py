"""Async client for Overseerr (API v1; Jellyseerr answers the same calls)."""

import aiohttp

from .errors import SmartPlexWrongServiceError
from .http import ServiceHttp, identifying, require_mapping
from .models import ServiceInfo, ServiceKind


class OverseerrClient:
    """Talk to Overseerr with its API key."""

    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str) -> None:
        """Build the client; the key only ever travels in the X-Api-Key header."""
        self._http = ServiceHttp(
            "Overseerr", session, url, headers={"X-Api-Key": api_key}
        )

    async def async_get_service_info(self) -> ServiceInfo:
        """Read the version (no key needed), then check the key on an admin call."""
        status_path = "/api/v1/status"
        with identifying("Overseerr", status_path):
            status = require_mapping(
                "Overseerr", status_path, await self._http.get_json(status_path)
            )
        if not status.get("version"):
            raise SmartPlexWrongServiceError("Overseerr", f"{status_path}: no version")
        me_path = "/api/v1/auth/me"
        require_mapping("Overseerr", me_path, await self._http.get_json(me_path))
        return ServiceInfo(
            kind=ServiceKind.OVERSEERR, version=str(status["version"]), name="Overseerr"
        )
