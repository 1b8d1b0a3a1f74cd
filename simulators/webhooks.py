"""Webhooks the household's services send: Overseerr's JSON and Plex's multipart.

Overseerr: sct/overseerr server/lib/notifications/agents/webhook.ts (`KeyMap`,
`parseKeys`: each `{{key}}` is replaced once per string, so every leaf is a string;
`{{media}}`/`{{request}}`/`{{issue}}`/`{{comment}}` sections become `null` when the
notification has none; `{{extra}}` becomes the extra list; media statuses are enum
names; `Authorization` carries the configured header verbatim), the default template in
server/lib/settings.ts, the enum in server/lib/notifications/index.ts and the event texts
in server/entity/MediaRequest.ts (`sendNotification`) and
server/subscriber/MediaSubscriber.ts ("... Request Now Available").

Plex: support.plex.tv "Webhooks" (multipart/form-data with a `payload` part, and a
`thumb` JPEG part for some events) and contracts.md for the Metadata types. The payload
part's `application/json` content type is assumed.
"""

from __future__ import annotations

import asyncio
import base64
from copy import deepcopy
from enum import IntEnum
import json
from typing import Any

import aiohttp

from .world import MOVIE_SECTION, SHOW_SECTION, MediaRequest, User, World

TMDB_IMAGE = "https://image.tmdb.org/t/p/w600_and_h900_bestv2"
MEDIA_STATUS = {
    1: "UNKNOWN",
    2: "PENDING",
    3: "PROCESSING",
    4: "PARTIALLY_AVAILABLE",
    5: "AVAILABLE",
}
DEFAULT_TEMPLATE = {
    "notification_type": "{{notification_type}}",
    "event": "{{event}}",
    "subject": "{{subject}}",
    "message": "{{message}}",
    "image": "{{image}}",
    "{{media}}": {
        "media_type": "{{media_type}}",
        "tmdbId": "{{media_tmdbid}}",
        "tvdbId": "{{media_tvdbid}}",
        "status": "{{media_status}}",
        "status4k": "{{media_status4k}}",
    },
    "{{request}}": {
        "request_id": "{{request_id}}",
        "requestedBy_email": "{{requestedBy_email}}",
        "requestedBy_username": "{{requestedBy_username}}",
        "requestedBy_avatar": "{{requestedBy_avatar}}",
        "requestedBy_settings_discordId": "{{requestedBy_settings_discordId}}",
        "requestedBy_settings_telegramChatId": "{{requestedBy_settings_telegramChatId}}",
    },
    "{{issue}}": {
        "issue_id": "{{issue_id}}",
        "issue_type": "{{issue_type}}",
        "issue_status": "{{issue_status}}",
        "reportedBy_email": "{{reportedBy_email}}",
        "reportedBy_username": "{{reportedBy_username}}",
        "reportedBy_avatar": "{{reportedBy_avatar}}",
        "reportedBy_settings_discordId": "{{reportedBy_settings_discordId}}",
        "reportedBy_settings_telegramChatId": "{{reportedBy_settings_telegramChatId}}",
    },
    "{{comment}}": {
        "comment_message": "{{comment_message}}",
        "commentedBy_email": "{{commentedBy_email}}",
        "commentedBy_username": "{{commentedBy_username}}",
        "commentedBy_avatar": "{{commentedBy_avatar}}",
        "commentedBy_settings_discordId": "{{commentedBy_settings_discordId}}",
        "commentedBy_settings_telegramChatId": "{{commentedBy_settings_telegramChatId}}",
    },
    "{{extra}}": [],
}
# Overseerr stores the template as base64 of a JSON string holding the JSON text.
DEFAULT_JSON_PAYLOAD = base64.b64encode(
    json.dumps(json.dumps(DEFAULT_TEMPLATE, indent=2)).encode()
).decode()
KEYS = (
    "notification_type",
    "event",
    "subject",
    "message",
    "image",
    "notifyuser_username",
    "notifyuser_email",
    "notifyuser_avatar",
    "notifyuser_settings_discordId",
    "notifyuser_settings_telegramChatId",
    "media_tmdbid",
    "media_tvdbid",
    "media_type",
    "media_status",
    "media_status4k",
    "request_id",
    "requestedBy_username",
    "requestedBy_email",
    "requestedBy_avatar",
    "requestedBy_settings_discordId",
    "requestedBy_settings_telegramChatId",
    "issue_id",
    "issue_type",
    "issue_status",
    "reportedBy_username",
    "reportedBy_email",
    "reportedBy_avatar",
    "reportedBy_settings_discordId",
    "reportedBy_settings_telegramChatId",
    "comment_message",
    "commentedBy_username",
    "commentedBy_email",
    "commentedBy_avatar",
    "commentedBy_settings_discordId",
    "commentedBy_settings_telegramChatId",
)
SECTIONS = ("media", "request", "issue", "comment")
# A 1x1 baseline JPEG, enough for a receiver to see an image part.
THUMB_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c"
    "140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27"
    "393d38323c2e333432ffc0000b080001000101011100ffc4001f0000010501010101010100000000"
    "000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300"
    "041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a"
    "25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475"
    "767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9ba"
    "c2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda"
    "0008010100003f00fbd3ffd9"
)


class Notification(IntEnum):
    """Overseerr's notification types; the values are the `types` bitmask bits."""

    NONE = 0
    MEDIA_PENDING = 2
    MEDIA_APPROVED = 4
    MEDIA_AVAILABLE = 8
    MEDIA_FAILED = 16
    TEST_NOTIFICATION = 32
    MEDIA_DECLINED = 64
    MEDIA_AUTO_APPROVED = 128
    ISSUE_CREATED = 256
    ISSUE_COMMENT = 512
    ISSUE_RESOLVED = 1024
    ISSUE_REOPENED = 2048
    MEDIA_AUTO_REQUESTED = 4096


EVENTS = {
    Notification.MEDIA_PENDING: "New {4k}{kind} Request",
    Notification.MEDIA_APPROVED: "{4k}{kind} Request Approved",
    Notification.MEDIA_DECLINED: "{4k}{kind} Request Declined",
    Notification.MEDIA_AUTO_APPROVED: "{4k}{kind} Request Automatically Approved",
    Notification.MEDIA_AUTO_REQUESTED: "{4k}{kind} Request Automatically Submitted",
    Notification.MEDIA_FAILED: "{4k}{kind} Request Failed",
    Notification.MEDIA_AVAILABLE: "{4k}{kind} Request Now Available",
}
# Types that notify the requester (MediaRequest.sendNotification: notifyAdmin false).
NOTIFY_REQUESTER = {
    Notification.MEDIA_APPROVED,
    Notification.MEDIA_DECLINED,
    Notification.MEDIA_AVAILABLE,
    Notification.MEDIA_AUTO_REQUESTED,
}


def has_notification_type(notification: Notification, types: int) -> bool:
    """Return whether a `types` bitmask lets a notification through (tests always pass)."""
    if notification == Notification.NONE:
        return True
    return bool((types | Notification.TEST_NOTIFICATION) & notification)


def user_avatar(user: User) -> str:
    """Return the plex.tv avatar URL Overseerr stores for a user."""
    return f"https://plex.tv/users/{user.id:016x}/avatar?c=1700000000"


def request_values(
    notification: Notification, request: MediaRequest, world: World
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """Return the template values and `extra` Overseerr fills for a request notification."""
    user = next(user for user in world.users if user.id == request.requested_by)
    if request.media_type == "movie":
        movie = world.movies[request.rating_key]
        title, year, kind = movie.title, movie.year, "Movie"
    else:
        show = world.shows[request.rating_key]
        title, year, kind = show.title, show.year, "Series"
    notify = notification in NOTIFY_REQUESTER
    values = {
        "notification_type": notification.name,
        "event": EVENTS[notification].format(
            **{"4k": "4K " if request.is4k else "", "kind": kind}
        ),
        "subject": f"{title} ({year})",
        "message": f"{title} is a {kind.lower()} of the SmartPlex test household.",
        "image": f"{TMDB_IMAGE}/{request.tmdb_id}.jpg",
        "notifyuser_username": user.username if notify else "",
        "notifyuser_email": user.email if notify else "",
        "notifyuser_avatar": user_avatar(user) if notify else "",
        "media_tmdbid": str(request.tmdb_id),
        "media_tvdbid": "" if request.tvdb_id is None else str(request.tvdb_id),
        "media_type": request.media_type,
        "media_status": MEDIA_STATUS[request.media_status],
        "media_status4k": MEDIA_STATUS[1],
        "request_id": str(request.id),
        "requestedBy_username": user.username,
        "requestedBy_email": user.email,
        "requestedBy_avatar": user_avatar(user),
    }
    extra = (
        [
            {
                "name": "Requested Seasons",
                "value": ", ".join(str(season) for season in request.seasons),
            }
        ]
        if request.media_type == "tv"
        else []
    )
    return values, extra


def render_template(
    template: str,
    values: dict[str, str],
    extra: list[dict[str, str]],
    sections: set[str],
) -> dict[str, Any]:
    """Fill a webhook template as WebhookAgent.parseKeys does."""
    return _parse_keys(json.loads(template), values, extra, sections)


def _parse_keys(
    node: dict[str, Any],
    values: dict[str, str],
    extra: list[dict[str, str]],
    sections: set[str],
) -> dict[str, Any]:
    """Replace placeholders in one object, recursing into objects and arrays."""
    for placeholder in list(node):
        key = placeholder
        if placeholder == "{{extra}}":
            key = "extra"
            node[key] = deepcopy(extra)
            del node[placeholder]
        elif placeholder.startswith("{{") and placeholder[2:-2] in SECTIONS:
            key = placeholder[2:-2]
            node[key] = node[placeholder] if key in sections else None
            del node[placeholder]
        node[key] = _fill(node[key], values, extra, sections)
    return node


def _fill(
    value: Any, values: dict[str, str], extra: list[dict[str, str]], sections: set[str]
) -> Any:
    """Fill one template value: strings get each key replaced once."""
    if isinstance(value, str):
        for name in KEYS:
            value = value.replace(f"{{{{{name}}}}}", values.get(name, ""), 1)
        return value
    if isinstance(value, dict):
        return _parse_keys(value, values, extra, sections)
    if isinstance(value, list):
        return [_fill(item, values, extra, sections) for item in value]
    return value


async def send_overseerr_webhook(
    session: aiohttp.ClientSession,
    url: str,
    notification_type: Notification | str,
    request: MediaRequest,
    world: World,
    *,
    auth_header: str | None = None,
    template: str | None = None,
) -> int:
    """POST a request notification as Overseerr renders it; return the HTTP status."""
    notification = (
        notification_type
        if isinstance(notification_type, Notification)
        else Notification[notification_type]
    )
    values, extra = request_values(notification, request, world)
    body = render_template(
        template or json.dumps(DEFAULT_TEMPLATE), values, extra, {"media", "request"}
    )
    return await post_json(session, url, body, auth_header)


async def post_json(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    auth_header: str | None,
) -> int:
    """POST JSON as axios does, with the Authorization header only when configured."""
    headers = {"Authorization": auth_header} if auth_header else None
    async with session.post(url, json=body, headers=headers) as response:
        return response.status


def burst_body(request_id: int) -> dict[str, Any]:
    """A new-request notification for a movie nobody asked for before."""
    return {
        "notification_type": Notification.MEDIA_PENDING.name,
        "subject": f"Burst {request_id}",
        "media": {"media_type": "movie", "tmdbId": str(800_000 + request_id)},
        "request": {
            "request_id": str(request_id),
            "requestedBy_username": "alice",
            "requestedBy_email": "alice@example.com",
        },
    }


async def send_overseerr_burst(
    session: aiohttp.ClientSession,
    url: str,
    request_ids: range,
    *,
    auth_header: str,
) -> list[int]:
    """POST a new request's notification for each id, all at once; return the statuses."""
    return list(
        await asyncio.gather(
            *(
                post_json(session, url, burst_body(request_id), auth_header)
                for request_id in request_ids
            )
        )
    )


def plex_metadata(world: World, rating_key: int) -> dict[str, Any]:
    """Render an item as a Plex webhook's `Metadata` (ratingKey a string, numbers numeric)."""
    if (movie := world.movies.get(rating_key)) is not None:
        duration = movie.file.duration if movie.file else 0
        return {
            "librarySectionType": "movie",
            "ratingKey": str(movie.rating_key),
            "key": f"/library/metadata/{movie.rating_key}",
            "guid": movie.guid,
            "librarySectionTitle": "Movies",
            "librarySectionID": MOVIE_SECTION,
            "librarySectionKey": f"/library/sections/{MOVIE_SECTION}",
            "type": "movie",
            "title": movie.title,
            "year": movie.year,
            "thumb": f"/library/metadata/{movie.rating_key}/thumb/{movie.updated_at}",
            "duration": duration,
            "addedAt": movie.added_at,
            "updatedAt": movie.updated_at,
            "Guid": [
                {"id": f"imdb://{movie.imdb_id}"},
                {"id": f"tmdb://{movie.tmdb_id}"},
            ],
        }
    if (show := world.shows.get(rating_key)) is not None:
        return {
            "librarySectionType": "show",
            "ratingKey": str(show.rating_key),
            "key": f"/library/metadata/{show.rating_key}/children",
            "guid": show.guid,
            "librarySectionTitle": "TV Shows",
            "librarySectionID": SHOW_SECTION,
            "librarySectionKey": f"/library/sections/{SHOW_SECTION}",
            "type": "show",
            "title": show.title,
            "year": show.year,
            "index": 1,
            "thumb": f"/library/metadata/{show.rating_key}/thumb/{show.updated_at}",
            "addedAt": show.added_at,
            "updatedAt": show.updated_at,
            "Guid": [
                {"id": f"imdb://{show.imdb_id}"},
                {"id": f"tmdb://{show.tmdb_id}"},
                {"id": f"tvdb://{show.tvdb_id}"},
            ],
        }
    episode = world.episodes[rating_key]
    show = world.shows[episode.show_key]
    return {
        "librarySectionType": "show",
        "ratingKey": str(episode.rating_key),
        "key": f"/library/metadata/{episode.rating_key}",
        "parentRatingKey": str(episode.season_key),
        "grandparentRatingKey": str(show.rating_key),
        "guid": f"plex://episode/{episode.rating_key:024x}",
        "parentGuid": f"plex://season/{episode.season_key:024x}",
        "grandparentGuid": show.guid,
        "librarySectionTitle": "TV Shows",
        "librarySectionID": SHOW_SECTION,
        "librarySectionKey": f"/library/sections/{SHOW_SECTION}",
        "type": "episode",
        "title": episode.title,
        "grandparentKey": f"/library/metadata/{show.rating_key}",
        "parentKey": f"/library/metadata/{episode.season_key}",
        "grandparentTitle": show.title,
        "parentTitle": f"Season {episode.season_index}",
        "index": episode.index,
        "parentIndex": episode.season_index,
        "thumb": f"/library/metadata/{episode.rating_key}/thumb/{episode.updated_at}",
        "duration": episode.file.duration if episode.file else 0,
        "addedAt": episode.added_at,
        "updatedAt": episode.updated_at,
        "Guid": [],
    }


def plex_payload(
    event: str,
    item_rating_key: int,
    world: World,
    *,
    server_uuid: str,
    server_title: str = "SmartPlex Test Server",
    user_id: int = 1,
) -> dict[str, Any]:
    """Build the `payload` JSON of a Plex webhook for an event on an item."""
    user = next(user for user in world.users if user.id == user_id)
    payload: dict[str, Any] = {
        "event": event,
        "user": True,
        "owner": user_id == 1,
        "Account": {"id": user.id, "thumb": user_avatar(user), "title": user.username},
        "Server": {"title": server_title, "uuid": server_uuid},
    }
    if event.startswith(("media.", "playback.")):
        payload["Player"] = {
            "local": True,
            "publicAddress": "203.0.113.10",
            "title": "Firefox",
            "uuid": f"{user.id:024x}",
        }
    payload["Metadata"] = plex_metadata(world, item_rating_key)
    return payload


async def send_plex_webhook(
    session: aiohttp.ClientSession,
    url: str,
    event: str,
    item_rating_key: int,
    world: World,
    *,
    server_uuid: str,
    thumb: bool = False,
    server_title: str = "SmartPlex Test Server",
    user_id: int = 1,
) -> int:
    """POST a Plex webhook as multipart/form-data; return the HTTP status."""
    payload = plex_payload(
        event,
        item_rating_key,
        world,
        server_uuid=server_uuid,
        server_title=server_title,
        user_id=user_id,
    )
    with aiohttp.MultipartWriter("form-data") as writer:
        part = writer.append(json.dumps(payload), {"Content-Type": "application/json"})
        part.set_content_disposition("form-data", name="payload")
        if thumb:
            image = writer.append(THUMB_JPEG, {"Content-Type": "image/jpeg"})
            image.set_content_disposition(
                "form-data", name="thumb", filename="image.jpg"
            )
        async with session.post(url, data=writer) as response:
            return response.status
