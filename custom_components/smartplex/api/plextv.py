"""Async client for plex.tv: PIN sign-in and the servers an account can reach."""

from collections.abc import Mapping
from typing import Any

import aiohttp
from yarl import URL

from .errors import SmartPlexResponseError
from .http import ServiceHttp, require_mapping
from .models import PlexConnection, PlexPin, PlexServerResource
from .plex import PLEX_PRODUCT, plex_bool, plex_headers

PLEX_TV_URL = "https://plex.tv"
PLEX_AUTH_APP_URL = "https://app.plex.tv/auth"


def plex_auth_url(client_identifier: str, code: str) -> str:
    """Return the page where the user signs in and approves the PIN."""
    fragment = URL.build(
        query={
            "clientID": client_identifier,
            "code": code,
            "context[device][product]": PLEX_PRODUCT,
        }
    )
    return f"{PLEX_AUTH_APP_URL}#?{fragment.query_string}"


def _connection(raw: Mapping[str, Any]) -> PlexConnection:
    """Parse one resource connection."""
    return PlexConnection(
        uri=str(raw["uri"]),
        local=plex_bool(raw.get("local")),
        relay=plex_bool(raw.get("relay")),
    )


class PlexTvClient:
    """Sign in to plex.tv with a PIN and list the account's servers."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_identifier: str,
        base_url: str = PLEX_TV_URL,
    ) -> None:
        """Build the client; plex.tv knows us by the client identifier."""
        self.client_identifier = client_identifier
        self._http = ServiceHttp(
            "plex.tv", session, base_url, headers=plex_headers(client_identifier)
        )

    async def async_create_pin(self) -> PlexPin:
        """Ask plex.tv for a new strong PIN."""
        _, body = await self._http.request(
            "POST",
            "/api/v2/pins",
            params={"strong": "true"},
            headers={"Accept": "application/json"},
        )
        pin = require_mapping(
            "plex.tv", "/api/v2/pins", self._http.parse_json("/api/v2/pins", body)
        )
        try:
            return PlexPin(id=int(pin["id"]), code=str(pin["code"]))
        except (KeyError, TypeError, ValueError) as err:
            raise SmartPlexResponseError("plex.tv", "/api/v2/pins: bad PIN") from err

    async def async_check_pin(self, pin_id: int) -> str | None:
        """Return the account token once the user approved the PIN, else None."""
        path = f"/api/v2/pins/{pin_id}"
        pin = require_mapping("plex.tv", path, await self._http.get_json(path))
        token = pin.get("authToken")
        return str(token) if token else None

    async def async_get_servers(self, token: str) -> list[PlexServerResource]:
        """List the Plex servers the account can reach, with their connections."""
        path = "/api/v2/resources"
        resources = await self._http.get_json(
            path,
            params={"includeHttps": "1", "includeRelay": "1"},
            headers={"X-Plex-Token": token},
        )
        if not isinstance(resources, list):
            raise SmartPlexResponseError("plex.tv", f"{path}: expected a list")
        servers: list[PlexServerResource] = []
        try:
            for resource in resources:
                if "server" not in str(resource.get("provides", "")).split(","):
                    continue
                servers.append(
                    PlexServerResource(
                        name=str(resource["name"]),
                        machine_identifier=str(resource["clientIdentifier"]),
                        access_token=str(resource.get("accessToken") or token),
                        owned=plex_bool(resource.get("owned")),
                        connections=tuple(
                            _connection(raw)
                            for raw in resource.get("connections") or ()
                        ),
                    )
                )
        except (AttributeError, KeyError, TypeError) as err:
            raise SmartPlexResponseError("plex.tv", f"{path}: bad resource") from err
        return servers
