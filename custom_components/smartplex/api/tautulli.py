"""Async client for Tautulli (API v2, one endpoint with a `cmd` parameter)."""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date
from http import HTTPStatus
from typing import Any

import aiohttp

from .errors import SmartPlexAuthError, SmartPlexResponseError, SmartPlexServiceError
from .http import ServiceHttp, identifying, parse_int, require_mapping
from .models import ServiceInfo, ServiceKind

API_PATH = "/api/v2"
# Tautulli answers errors with its envelope: 400 since v2.10.5 (401 before) for a bad
# key, 400 for a bad command, 404 when its API is disabled.
ENVELOPE_STATUSES = frozenset(
    {HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND}
)
KEY_ERRORS = frozenset({"Invalid apikey", "Parameter apikey is required"})
HISTORY_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayRecord:
    """One play from Tautulli's history: what, who, when and how far."""

    rating_key: int
    parent_rating_key: int | None
    grandparent_rating_key: int | None
    media_type: str
    user_id: int | None
    started: int
    stopped: int | None
    play_duration: int
    watched_status: float


def _float(value: Any) -> float:
    """Read a Tautulli fraction such as watched_status; anything unreadable is 0."""
    if value is None or value == "" or isinstance(value, bool):
        return 0.0
    try:
        return float(value)
    except TypeError, ValueError:
        return 0.0


def parse_play(row: Mapping[str, Any]) -> PlayRecord | None:
    """Turn one get_history row into a play; None when it names no item or no time."""
    rating_key = parse_int(row.get("rating_key"))
    started = parse_int(row.get("started"))
    if started is None:
        started = parse_int(row.get("date"))
    if not rating_key or started is None:
        return None
    return PlayRecord(
        rating_key=rating_key,
        parent_rating_key=parse_int(row.get("parent_rating_key")) or None,
        grandparent_rating_key=parse_int(row.get("grandparent_rating_key")) or None,
        media_type=str(row.get("media_type") or ""),
        user_id=parse_int(row.get("user_id")),
        started=started,
        stopped=parse_int(row.get("stopped")),
        play_duration=parse_int(row.get("play_duration")) or 0,
        watched_status=_float(row.get("watched_status")),
    )


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
        document = require_mapping(
            "Tautulli", where, self._http.parse_json(where, body)
        )
        response = document.get("response")
        if not isinstance(response, Mapping):
            raise SmartPlexResponseError("Tautulli", f"{where}: no response envelope")
        if response.get("result") == "success":
            return response.get("data")
        message = str(response.get("message") or "error")
        if message in KEY_ERRORS or status == HTTPStatus.UNAUTHORIZED:
            raise SmartPlexAuthError("Tautulli", f"{where}: {message}")
        raise SmartPlexServiceError("Tautulli", f"{where}: {message}", status)

    async def async_get_service_info(self) -> ServiceInfo:
        """Check the key and read Tautulli's version."""
        with identifying("Tautulli", API_PATH):
            data = await self.async_command("get_tautulli_info")
        info = require_mapping("Tautulli", f"{API_PATH} cmd=get_tautulli_info", data)
        version = info.get("tautulli_version")
        if not version:
            raise SmartPlexResponseError("Tautulli", "get_tautulli_info: no version")
        return ServiceInfo(
            kind=ServiceKind.TAUTULLI, version=str(version), name="Tautulli"
        )

    async def async_get_plex_connected(self) -> bool:
        """Tell whether Tautulli is connected to its Plex server."""
        data = await self.async_command("server_status")
        status = require_mapping("Tautulli", f"{API_PATH} cmd=server_status", data)
        return bool(status.get("connected"))

    async def async_iter_history(
        self, *, after: date | None = None, page_size: int = HISTORY_PAGE_SIZE
    ) -> AsyncIterator[list[PlayRecord]]:
        """Yield the play history page by page, oldest first, from the day `after` on."""
        where = f"{API_PATH} cmd=get_history"
        # Oldest first: plays recorded while we page land after our offset, so none
        # is seen twice or skipped. Grouped: a resumed session is one play, as
        # Tautulli itself counts them.
        params = {
            "order_column": "date",
            "order_dir": "asc",
            "grouping": "1",
            "length": str(page_size),
        }
        if after is not None:
            # A day in Tautulli's local time, inclusive.
            params["after"] = after.isoformat()
        start = 0
        while True:
            data = await self.async_command("get_history", **params, start=str(start))
            page = require_mapping("Tautulli", where, data)
            rows = page.get("data")
            total = parse_int(page.get("recordsFiltered"))
            if not isinstance(rows, list) or total is None:
                raise SmartPlexResponseError("Tautulli", f"{where}: not a history page")
            if not all(isinstance(row, Mapping) for row in rows):
                raise SmartPlexResponseError("Tautulli", f"{where}: bad history row")
            if plays := [play for row in rows if (play := parse_play(row))]:
                yield plays
            start += len(rows)
            if not rows or start >= total:
                return
