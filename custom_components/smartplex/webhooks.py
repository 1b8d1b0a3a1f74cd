"""Webhooks from Plex, Tautulli and Overseerr: one unguessable URL per entry.

Each sender gets its own query parameter (`?source=plex|tautulli|overseerr`), so a body is
never guessed at. Bad input gets a 4xx and a debug line, never a traceback.
"""

from collections.abc import Mapping
import hmac
from http import HTTPStatus
from typing import Any

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
import orjson

from .const import DOMAIN, LOGGER
from .coordinator import SmartPlexConfigEntry
from .requests import WebhookKind

MAX_BODY = 1024 * 1024
EVENT_LIBRARY_NEW = f"{DOMAIN}_library_new"
PLEX_REFRESH_EVENTS = frozenset({"media.scrobble"})
TAUTULLI_EVENTS = {
    "watched": "analytics",
    "recently_added": "library",
}


def webhook_url(hass: HomeAssistant, webhook_id: str, source: str) -> str:
    """Return the URL a service posts to."""
    return f"{webhook.async_generate_url(hass, webhook_id)}?source={source}"


def _reject(status: HTTPStatus, why: str, *args: object) -> web.Response:
    """Answer a bad request, logging why at debug level."""
    LOGGER.debug("Webhook refused (%s): " + why, int(status), *args)
    return web.Response(status=status, text=status.phrase)


async def _read_json(request: web.Request) -> Any:
    """Read a JSON body of at most MAX_BODY bytes; raise ValueError with the reason."""
    body = bytearray()
    # A body may arrive in several pieces (chunked, or split by the network).
    while len(body) <= MAX_BODY and (
        chunk := await request.content.read(MAX_BODY + 1 - len(body))
    ):
        body += chunk
    if len(body) > MAX_BODY:
        raise ValueError("too large")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ValueError("not JSON") from err


async def _read_plex_payload(request: web.Request) -> Any:
    """Read the `payload` part of Plex's multipart body."""
    reader = MultipartReader.from_response(request)  # type: ignore[arg-type]
    read = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = bytearray()
        while chunk := await part.read_chunk():
            read += len(chunk)
            if read > MAX_BODY:
                raise ValueError("too large")
            if part.name == "payload":
                data += chunk
        if part.name == "payload":
            try:
                return orjson.loads(data)
            except orjson.JSONDecodeError as err:
                raise ValueError("payload is not JSON") from err
    raise ValueError("no payload part")


@callback
def async_register_webhook(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> None:
    """Listen on the entry's webhook until it unloads."""
    webhook_id: str = entry.data["webhook_id"]

    async def handle(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Route a webhook by its source."""
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _reject(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "%s bytes", request.content_length
            )
        source = request.query.get("source")
        try:
            match source:
                case "plex":
                    if request.content_type != "multipart/form-data":
                        return _reject(
                            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                            "plex sent %s",
                            request.content_type,
                        )
                    return _handle_plex(hass, entry, await _read_plex_payload(request))
                case "tautulli" | "overseerr":
                    if request.content_type != "application/json":
                        return _reject(
                            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                            "%s sent %s",
                            source,
                            request.content_type,
                        )
                    if source == "overseerr":
                        return await _handle_overseerr(entry, request)
                    return _handle_tautulli(hass, entry, await _read_json(request))
        except (ValueError, HttpProcessingError) as err:
            # HttpProcessingError: a multipart part whose headers do not parse.
            status = (
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                if str(err) == "too large"
                else HTTPStatus.BAD_REQUEST
            )
            return _reject(status, "%s: %s", source, err)
        return _reject(HTTPStatus.BAD_REQUEST, "unknown source %s", source)

    webhook.async_register(
        hass,
        DOMAIN,
        f"SmartPlex {entry.title}",
        webhook_id,
        handle,
        allowed_methods=["POST"],
    )
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))


def _handle_plex(
    hass: HomeAssistant, entry: SmartPlexConfigEntry, payload: Any
) -> web.Response:
    """React to a Plex event from our server: new media, a finished play."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("event"), str):
        return _reject(HTTPStatus.BAD_REQUEST, "plex payload without an event")
    server = payload.get("Server")
    if not isinstance(server, Mapping) or server.get("uuid") != entry.unique_id:
        LOGGER.debug("Ignoring a Plex webhook from another server")
        return web.Response(status=HTTPStatus.OK, text="ignored")
    event = payload["event"]
    metadata = payload.get("Metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    data = entry.runtime_data
    if event == "library.new":
        hass.bus.async_fire(
            EVENT_LIBRARY_NEW,
            {
                "config_entry_id": entry.entry_id,
                "rating_key": metadata.get("ratingKey"),
                "title": metadata.get("title"),
                "type": metadata.get("type"),
                "library_section_id": metadata.get("librarySectionID"),
            },
        )
        entry.async_create_task(hass, data.library.async_request_refresh())
    elif event in PLEX_REFRESH_EVENTS:
        entry.async_create_task(hass, data.analytics.async_request_refresh())
    return web.Response(status=HTTPStatus.OK, text="ok")


def _handle_tautulli(
    hass: HomeAssistant, entry: SmartPlexConfigEntry, payload: Any
) -> web.Response:
    """React to Tautulli's notification agent (the payload documented in the README)."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("event"), str):
        return _reject(HTTPStatus.BAD_REQUEST, "tautulli payload without an event")
    concern = TAUTULLI_EVENTS.get(payload["event"])
    if concern is None:
        LOGGER.debug("Ignoring Tautulli event %s", payload["event"])
        return web.Response(status=HTTPStatus.OK, text="ignored")
    data = entry.runtime_data
    coordinator = data.analytics if concern == "analytics" else data.library
    entry.async_create_task(hass, coordinator.async_request_refresh())
    return web.Response(status=HTTPStatus.OK, text="ok")


async def _handle_overseerr(
    entry: SmartPlexConfigEntry, request: web.Request
) -> web.Response:
    """Check Overseerr's Authorization header, then record the notification."""
    expected = entry.runtime_data.webhook_secret
    # Header bytes that are not UTF-8 arrive as surrogates: compare them as sent.
    sent = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(sent, expected.encode()):
        return _reject(
            HTTPStatus.UNAUTHORIZED, "overseerr without the right Authorization"
        )
    requests = entry.runtime_data.requests
    if requests is None:
        return _reject(HTTPStatus.NOT_FOUND, "overseerr is not configured")
    result = requests.async_handle_webhook(await _read_json(request))
    if result.kind is WebhookKind.INVALID:
        return _reject(HTTPStatus.UNPROCESSABLE_ENTITY, "overseerr: %s", result.reason)
    return web.Response(status=HTTPStatus.OK, text=str(result.kind))
