"""Async client for a Plex Media Server (bulk reads as JSON over the shared session)."""

from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp

from .errors import (
    SmartPlexAuthError,
    SmartPlexResponseError,
    SmartPlexWrongServiceError,
)
from .http import ServiceHttp, identifying, parse_int, require_mapping
from .models import PlexItem, PlexSection, PlexServerInfo

PLEX_PRODUCT = "SmartPlex"
PLEX_PRODUCT_VERSION = "0.1.0"
PAGE_SIZE = 1000  # users report about 1000 as the most a PMS page returns
PLEX_TYPES = {"movie": 1, "show": 2, "season": 3, "episode": 4}


def plex_headers(client_identifier: str) -> dict[str, str]:
    """Return the identification headers every Plex client sends."""
    return {
        "X-Plex-Client-Identifier": client_identifier,
        "X-Plex-Product": PLEX_PRODUCT,
        "X-Plex-Version": PLEX_PRODUCT_VERSION,
    }


def _external_ids(raw: Mapping[str, Any]) -> dict[str, str]:
    """Return {"tmdb": "603", "imdb": "tt0133093", ...} from an item's Guid list."""
    ids: dict[str, str] = {}
    for guid in raw.get("Guid") or ():
        scheme, _, value = str(guid.get("id", "")).partition("://")
        if value:
            ids[scheme] = value
    return ids


def parse_item(raw: Mapping[str, Any], section_id: int) -> PlexItem:
    """Turn one Metadata entry (movie, show or episode) into SmartPlex's model."""
    media = raw.get("Media") or ()
    first = media[0] if media else {}
    size = sum(
        parse_int(part.get("size")) or 0
        for one in media
        for part in one.get("Part") or ()
    )
    ids = _external_ids(raw)
    return PlexItem(
        rating_key=int(raw["ratingKey"]),
        section_id=section_id,
        type=str(raw.get("type", "")),
        title=str(raw.get("title", "")),
        year=parse_int(raw.get("year")),
        added_at=parse_int(raw.get("addedAt")) or 0,
        updated_at=parse_int(raw.get("updatedAt")) or 0,
        size=size,
        resolution=first.get("videoResolution"),
        video_codec=first.get("videoCodec"),
        container=first.get("container"),
        bitrate=parse_int(first.get("bitrate")),
        tmdb_id=parse_int(ids.get("tmdb")),
        tvdb_id=parse_int(ids.get("tvdb")),
        imdb_id=ids.get("imdb"),
        show_key=parse_int(raw.get("grandparentRatingKey")),
        season_key=parse_int(raw.get("parentRatingKey")),
        season_index=parse_int(raw.get("parentIndex")),
        episode_index=parse_int(raw.get("index")),
        view_count=parse_int(raw.get("viewCount")) or 0,
        last_viewed_at=parse_int(raw.get("lastViewedAt")),
        labels=tuple(str(label.get("tag")) for label in raw.get("Label") or ()),
        file_missing="deletedAt" in raw,
    )


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

    async def _container(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """GET a path and return its MediaContainer."""
        document = require_mapping(
            "Plex",
            path,
            await self._http.get_json(path, params=params, headers=headers),
        )
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

    async def async_get_sections(self) -> list[PlexSection]:
        """List the library sections."""
        container = await self._container("/library/sections")
        try:
            return [
                PlexSection(
                    id=int(raw["key"]),
                    type=str(raw["type"]),
                    title=str(raw.get("title", "")),
                    uuid=str(raw.get("uuid", "")),
                    updated_at=parse_int(raw.get("updatedAt")) or 0,
                    scanned_at=parse_int(raw.get("scannedAt")) or 0,
                )
                for raw in container.get("Directory") or ()
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise SmartPlexResponseError(
                "Plex", "/library/sections: bad section"
            ) from err

    async def async_count_items(self, section_id: int, plex_type: str) -> int:
        """Return how many items of a type a section holds (an empty page's totalSize)."""
        path = f"/library/sections/{section_id}/all"
        container = await self._container(
            path,
            params={"type": str(PLEX_TYPES[plex_type])},
            headers={"X-Plex-Container-Start": "0", "X-Plex-Container-Size": "0"},
        )
        total = parse_int(container.get("totalSize"))
        if total is None:
            raise SmartPlexResponseError("Plex", f"{path}: no totalSize")
        return total

    async def async_iter_items(
        self,
        section_id: int,
        plex_type: str,
        *,
        updated_after: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[list[PlexItem]]:
        """Yield a section's items of one type page by page, with sizes and ids.

        With `updated_after`, only items changed strictly after that time
        (`updatedAt>>=`, Plex's "greater than" filter).
        """
        path = f"/library/sections/{section_id}/all"
        params = {"type": str(PLEX_TYPES[plex_type]), "includeGuids": "1"}
        if updated_after is not None:
            params["updatedAt>>"] = str(updated_after)
        start = 0
        while True:
            container = await self._container(
                path,
                params=params,
                headers={
                    "X-Plex-Container-Start": str(start),
                    "X-Plex-Container-Size": str(page_size),
                },
            )
            raw_items = container.get("Metadata") or ()
            try:
                page = [parse_item(raw, section_id) for raw in raw_items]
            except (AttributeError, KeyError, TypeError, ValueError) as err:
                raise SmartPlexResponseError("Plex", f"{path}: bad item") from err
            if page:
                yield page
            start += len(raw_items)
            total = parse_int(container.get("totalSize"))
            if not raw_items or total is None or start >= total:
                return

    async def async_get_playing_keys(self) -> frozenset[int]:
        """Return the rating keys being played now, with their seasons and shows.

        An answer that does not count its sessions, or a session that names no item,
        leaves what is playing unknown: an error, never "nothing".
        """
        path = "/status/sessions"
        container = await self._container(path)
        sessions = container.get("Metadata") or []
        if (
            not isinstance(sessions, list)
            or parse_int(container.get("size")) != len(sessions)
            or not all(
                isinstance(session, Mapping) and parse_int(session.get("ratingKey"))
                for session in sessions
            )
        ):
            raise SmartPlexResponseError("Plex", f"{path}: sessions unreadable")
        keys: set[int] = set()
        for session in sessions:
            for field in ("ratingKey", "parentRatingKey", "grandparentRatingKey"):
                if (key := parse_int(session.get(field))) is not None:
                    keys.add(key)
        return frozenset(keys)
