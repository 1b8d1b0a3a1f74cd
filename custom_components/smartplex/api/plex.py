"""Async client for a Plex Media Server (bulk reads as JSON over the shared session)."""

from collections.abc import Mapping
from typing import Any

import aiohttp

from .errors import (
    SmartPlexAuthError,
    SmartPlexResponseError,
    SmartPlexWrongServiceError,
)
from .http import ServiceHttp, identifying, require_mapping
from .models import PlexServerInfo

PLEX_PRODUCT = "SmartPlex"
PLEX_PRODUCT_VERSION = "0.1.0"


def plex_headers(client_identifier: str) -> dict[str, str]:
    """Return the identification headers every Plex client sends."""
    return {
        "X-Plex-Client-Identifier": client_identifier,
        "X-Plex-Product": PLEX_PRODUCT,
        "X-Plex-Version": PLEX_PRODUCT_VERSION,
    }


def plex_bool(value: Any) -> bool:
    """Read a Plex flag, which arrives as true/false, 1/0 or "1"/"0"."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true"}
    return bool(value)


class PlexClient:
    """Talk to one Plex Media Server with its owner's token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        token: str,
        client_identifier: str,
    ) -> None:
        """Build the client; the token only ever travels in a header."""
        self._http = ServiceHttp(
            "Plex",
            session,
            url,
            headers=plex_headers(client_identifier) | {"X-Plex-Token": token},
        )

    async def _container(self, path: str) -> Mapping[str, Any]:
        """GET a path and return its MediaContainer."""
        document = require_mapping("Plex", path, await self._http.get_json(path))
        container = document.get("MediaContainer")
        if not isinstance(container, Mapping):
            raise SmartPlexWrongServiceError("Plex", f"{path}: no MediaContainer")
        return container

    async def async_get_server_info(self) -> PlexServerInfo:
        """Read the server's identity and settings (needs a valid token)."""
        container = await self._container("/")
        try:
            return PlexServerInfo(
                machine_identifier=str(container["machineIdentifier"]),
                version=str(container["version"]),
                friendly_name=str(container.get("friendlyName") or "Plex"),
                platform=container.get("platform"),
                allow_media_deletion=plex_bool(container.get("allowMediaDeletion")),
            )
        except KeyError as err:
            raise SmartPlexResponseError("Plex", f"/: missing {err}") from err

    async def async_get_identity(self) -> str:
        """Return the machine identifier that any Plex server tells without a token."""
        with identifying("Plex", "/identity"):
            try:
                container = await self._container("/identity")
            except SmartPlexAuthError as err:
                # Plex never asks for a token here: whatever does is not Plex.
                raise SmartPlexWrongServiceError("Plex", "/identity: not Plex") from err
        identifier = container.get("machineIdentifier")
        if not identifier:
            raise SmartPlexWrongServiceError("Plex", "/identity: no machineIdentifier")
        return str(identifier)

    async def async_connect(self) -> PlexServerInfo:
        """Check that a Plex server answers, that the token is good, and who it is."""
        identifier = await self.async_get_identity()
        info = await self.async_get_server_info()
        if info.machine_identifier != identifier:
            raise SmartPlexWrongServiceError(
                "Plex", "/: identity changed between calls"
            )
        return info
