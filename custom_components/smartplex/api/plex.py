"""Async client for a Plex Media Server (bulk reads as JSON over the shared session)."""

from collections.abc import AsyncIterator, Mapping, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import aiohttp

from .errors import (
    SmartPlexAuthError,
    SmartPlexDeletionNotAllowedError,
    SmartPlexNotFoundError,
    SmartPlexResponseError,
    SmartPlexWrongServiceError,
)
from .http import ServiceHttp, identifying, parse_int, require_mapping
from .models import PlexItem, PlexSection, PlexServerInfo

PLEX_PRODUCT = "SmartPlex"
PLEX_PRODUCT_VERSION = "0.1.0"
PAGE_SIZE = 500  # parsed in the event loop: 500 items take about 8 ms (Plex sends 1000)
PLEX_TYPES = {"movie": 1, "show": 2, "season": 3, "episode": 4}
LIBRARY_URI = "server://{machine}/com.plexapp.plugins.library/library/metadata/{keys}"
# Home screen promotion of a collection: library recommendations, own and friends' homes.
PROMOTED = {
    "promotedToRecommended": "1",
    "promotedToOwnHome": "1",
    "promotedToSharedHome": "1",
}
ITEM_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


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
    """Turn one Metadata entry (movie, show, season or episode) into SmartPlex's model.

    A season's parent is its show; an episode's parent is its season, its grandparent
    its show.
    """
    season = raw.get("type") == "season"
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
        show_key=parse_int(
            raw.get("parentRatingKey" if season else "grandparentRatingKey")
        ),
        season_key=None if season else parse_int(raw.get("parentRatingKey")),
        season_index=parse_int(raw.get("index" if season else "parentIndex")),
        episode_index=None if season else parse_int(raw.get("index")),
        view_count=parse_int(raw.get("viewCount")) or 0,
        last_viewed_at=parse_int(raw.get("lastViewedAt")),
        labels=tuple(str(label.get("tag")) for label in raw.get("Label") or ()),
        file_missing="deletedAt" in raw,
    )


def _media_container(path: str, document: Any) -> Mapping[str, Any]:
    """Return the MediaContainer of a Plex JSON answer."""
    container = require_mapping("Plex", path, document).get("MediaContainer")
    if not isinstance(container, Mapping):
        raise SmartPlexWrongServiceError("Plex", f"{path}: no MediaContainer")
    return container


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
        *,
        timeout: float | None = None,
    ) -> None:
        """Build the client; the token only ever travels in a header."""
        self._http = ServiceHttp(
            "Plex",
            session,
            url,
            headers=plex_headers(client_identifier) | {"X-Plex-Token": token},
            timeout=timeout,
        )
        # Known after async_connect, else read from /identity when a collection needs it.
        self.machine_identifier: str | None = None

    async def _container(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """GET a path and return its MediaContainer."""
        return _media_container(
            path, await self._http.get_json(path, params=params, headers=headers)
        )

    async def _send(
        self, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        """Send a changing request and return the MediaContainer it answers."""
        _, body = await self._http.request(
            method, path, params=params, headers={"Accept": "application/json"}
        )
        return _media_container(path, self._http.parse_json(path, body))

    async def _iter_metadata(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[list[Mapping[str, Any]]]:
        """Yield the `Metadata` entries of a paged listing, page by page."""
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
            raw_items = container.get("Metadata") or []
            if not isinstance(raw_items, list) or not all(
                isinstance(raw, Mapping) for raw in raw_items
            ):
                raise SmartPlexResponseError("Plex", f"{path}: bad item")
            if raw_items:
                yield raw_items
            start += len(raw_items)
            total = parse_int(container.get("totalSize"))
            if not raw_items or total is None or start >= total:
                return

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
        self.machine_identifier = identifier
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
        async for raw_items in self._iter_metadata(path, params, page_size=page_size):
            try:
                page = [parse_item(raw, section_id) for raw in raw_items]
            except ITEM_ERRORS as err:
                raise SmartPlexResponseError("Plex", f"{path}: bad item") from err
            yield page

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

    async def async_get_item(self, rating_key: int) -> PlexItem | None:
        """Return one item (movie, show, season or episode) with its ids; None if gone."""
        path = f"/library/metadata/{rating_key}"
        try:
            container = await self._container(path, params={"includeGuids": "1"})
        except SmartPlexNotFoundError:
            return None
        raw_items = container.get("Metadata")
        if not isinstance(raw_items, list) or not raw_items:
            raise SmartPlexResponseError("Plex", f"{path}: no item")
        raw = raw_items[0]
        try:
            section_id = parse_int(raw.get("librarySectionID")) or parse_int(
                container.get("librarySectionID")
            )
            if section_id is None:
                raise SmartPlexResponseError("Plex", f"{path}: no section")
            return parse_item(raw, section_id)
        except ITEM_ERRORS as err:
            raise SmartPlexResponseError("Plex", f"{path}: bad item") from err

    async def async_delete_item(self, rating_key: int) -> None:
        """Delete an item and its files from disk (needs "Allow media deletion")."""
        path = f"/library/metadata/{rating_key}"
        status, _ = await self._http.request(
            "DELETE", path, allowed=frozenset({HTTPStatus.FORBIDDEN})
        )
        if status == HTTPStatus.FORBIDDEN:
            raise SmartPlexDeletionNotAllowedError(
                "Plex", f"{path}: media deletion is not allowed", status
            )

    async def async_find_collection(self, section_id: int, title: str) -> int | None:
        """Return the rating key of the section's regular collection with this title.

        When none is found, a collection whose title (or, titled so, whose key) cannot
        be read could be the one: an error, never "not found" (which creates another).
        """
        path = f"/library/sections/{section_id}/collections"
        unreadable = False
        async for raw_items in self._iter_metadata(path):
            for raw in raw_items:
                name = raw.get("title")
                key = parse_int(raw.get("ratingKey"))
                if not isinstance(name, str) or (name == title and key is None):
                    unreadable = True
                elif (
                    name == title
                    and key is not None
                    and not plex_bool(raw.get("smart"))
                ):
                    return key
        if unreadable:
            raise SmartPlexResponseError("Plex", f"{path}: unreadable collection")
        return None

    async def _metadata_uri(self, rating_keys: Sequence[int]) -> str:
        """Return the `server://` uri naming items of this server's library."""
        if not rating_keys:
            raise ValueError("a collection change needs at least one rating key")
        if self.machine_identifier is None:
            self.machine_identifier = await self.async_get_identity()
        keys = ",".join(str(key) for key in rating_keys)
        return LIBRARY_URI.format(machine=self.machine_identifier, keys=keys)

    async def async_create_collection(
        self, section_id: int, title: str, item_type: str, rating_keys: Sequence[int]
    ) -> int:
        """Create a regular collection of items of one type; return its rating key.

        `item_type` is movie, show, season or episode: a collection holds one type.
        """
        path = "/library/collections"
        container = await self._send(
            "POST",
            path,
            {
                "type": str(PLEX_TYPES[item_type]),
                "title": title,
                "smart": "0",
                "sectionId": str(section_id),
                "uri": await self._metadata_uri(rating_keys),
            },
        )
        raw_items = container.get("Metadata")
        key = (
            parse_int(raw_items[0].get("ratingKey"))
            if isinstance(raw_items, list)
            and raw_items
            and isinstance(raw_items[0], Mapping)
            else None
        )
        if key is None:
            raise SmartPlexResponseError("Plex", f"{path}: no collection created")
        return key

    async def async_add_to_collection(
        self, collection_key: int, rating_keys: Sequence[int]
    ) -> None:
        """Add items to a regular collection (items already in it stay once)."""
        await self._http.request(
            "PUT",
            f"/library/collections/{collection_key}/items",
            params={"uri": await self._metadata_uri(rating_keys)},
        )

    async def async_remove_from_collection(
        self, collection_key: int, rating_key: int
    ) -> None:
        """Take an item out of a collection; one that is not in it is no error (404)."""
        await self._http.request(
            "DELETE",
            f"/library/collections/{collection_key}/items/{rating_key}",
            allowed=frozenset({HTTPStatus.NOT_FOUND}),
        )

    async def async_get_collection_keys(self, collection_key: int) -> frozenset[int]:
        """Return the rating keys of a collection's items."""
        path = f"/library/collections/{collection_key}/children"
        keys: set[int] = set()
        async for raw_items in self._iter_metadata(path):
            keys.update(
                key
                for raw in raw_items
                if (key := parse_int(raw.get("ratingKey"))) is not None
            )
        return frozenset(keys)

    async def async_promote_collection(
        self, section_id: int, collection_key: int
    ) -> None:
        """Show a collection on the library's recommendations and on every home screen.

        A collection already managed as a hub is updated in place; otherwise it is added.
        """
        path = f"/hubs/sections/{section_id}/manage"
        container = await self._container(
            path, params={"metadataItemId": str(collection_key)}
        )
        hubs = container.get("Hub")
        identifier = next(
            (
                hub["identifier"]
                for hub in (hubs if isinstance(hubs, list) else ())
                if isinstance(hub, Mapping) and isinstance(hub.get("identifier"), str)
            ),
            None,
        )
        if identifier is None:
            await self._http.request(
                "POST",
                path,
                params=PROMOTED | {"metadataItemId": str(collection_key)},
            )
        else:
            await self._http.request(
                "PUT", f"{path}/{quote(identifier, safe='')}", params=PROMOTED
            )

    async def async_add_label(self, item: PlexItem, label: str) -> None:
        """Label a movie or show, keeping its other labels (Plex replaces the list)."""
        labels = list(dict.fromkeys([*item.labels, label]))
        params = {
            "type": str(PLEX_TYPES[item.type]),
            "id": str(item.rating_key),
            "label.locked": "1",
        } | {f"label[{index}].tag.tag": name for index, name in enumerate(labels)}
        await self._http.request(
            "PUT", f"/library/sections/{item.section_id}/all", params=params
        )

    async def async_refresh_section(self, section_id: int) -> None:
        """Ask Plex to scan a section (it answers before the scan runs)."""
        await self._http.request("GET", f"/library/sections/{section_id}/refresh")
