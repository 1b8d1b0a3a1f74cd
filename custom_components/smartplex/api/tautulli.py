"""Async client for Tautulli (API v2, one endpoint with a `cmd` parameter)."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import aiohttp

from .errors import (
    SmartPlexAuthError,
    SmartPlexResponseError,
    SmartPlexWrongServiceError,
)
from .http import ServiceHttp, identifying, require_mapping
from .models import ServiceInfo, ServiceKind

API_PATH = "/api/v2"
# Tautulli answers errors with its envelope: 400 since v2.10.5 (401 before) for a bad
# key, 400 for a bad command, 404 when its API is disabled.
ENVELOPE_STATUSES = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND}
)
KEY_ERRORS = frozenset({"Invalid apikey", "Parameter apikey is required"})


class TautulliClient:
    """Talk to Tautulli; its key must travel in the query, so paths are all we log."""

    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str) -> None:
        """Build the client."""
        self._api_key = api_key
        self._http = ServiceHttp("Tautulli", session, url)

    async def async_command(self, cmd: str, **params: str) -> Any:
        """Run one API command and return the `data` of a successful envelope."""
        status, body = await self._http.request(
            "GET",
            API_PATH,
            params={**params, "cmd": cmd, "apikey": self._api_key},
            headers={"Accept": "application/json"},
            allowed=ENVELOPE_STATUSES,
        )
        where = f"{API_PATH} cmd={cmd}"
        with identifying("Tautulli", where):
            document = require_mapping(
                "Tautulli", where, self._http.parse_json(where, body)
            )
        response = document.get("response")
        if not isinstance(response, Mapping):
            raise SmartPlexWrongServiceError(
                "Tautulli", f"{where}: no response envelope"
            )
        if response.get("result") == "success":
            return response.get("data")
        message = str(response.get("message") or "error")
        if message in KEY_ERRORS or status == HTTPStatus.UNAUTHORIZED:
            raise SmartPlexAuthError("Tautulli", f"{where}: {message}")
        raise SmartPlexResponseError("Tautulli", f"{where}: {message}", status)

    async def async_get_service_info(self) -> ServiceInfo:
        """Check the key and read Tautulli's version."""
        data = await self.async_command("get_tautulli_info")
        info = require_mapping("Tautulli", f"{API_PATH} cmd=get_tautulli_info", data)
        version = info.get("tautulli_version")
        if not version:
            raise SmartPlexResponseError("Tautulli", "get_tautulli_info: no version")
        return ServiceInfo(
            kind=ServiceKind.TAUTULLI, version=str(version), name="Tautulli"
        )
