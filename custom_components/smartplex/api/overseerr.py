"""Async client for Overseerr (API v1; Jellyseerr answers the same calls)."""

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntFlag
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from .errors import SmartPlexResponseError, SmartPlexWrongServiceError
from .http import ServiceHttp, identifying, parse_int, require_mapping
from .models import ServiceInfo, ServiceKind

REQUEST_PATH = "/api/v1/request"
WEBHOOK_PATH = "/api/v1/settings/notifications/webhook"
REQUEST_PAGE_SIZE = 100
# Overseerr's default webhook template (server/lib/settings.ts), chat ids left out.
DEFAULT_WEBHOOK_TEMPLATE = orjson.dumps(
    {
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
        },
        "{{issue}}": {
            "issue_id": "{{issue_id}}",
            "issue_type": "{{issue_type}}",
            "issue_status": "{{issue_status}}",
            "reportedBy_email": "{{reportedBy_email}}",
            "reportedBy_username": "{{reportedBy_username}}",
            "reportedBy_avatar": "{{reportedBy_avatar}}",
        },
        "{{comment}}": {
            "comment_message": "{{comment_message}}",
            "commentedBy_email": "{{commentedBy_email}}",
            "commentedBy_username": "{{commentedBy_username}}",
            "commentedBy_avatar": "{{commentedBy_avatar}}",
        },
        "{{extra}}": [],
    },
    option=orjson.OPT_INDENT_2,
).decode()
# What SmartPlex reads from a notification; a template without these is replaced.
TEMPLATE_PLACEHOLDERS = ("{{notification_type}}", "{{request_id}}")


class OverseerrNotification(IntFlag):
    """Overseerr's notification types: the bits of the webhook agent's `types`."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class OverseerrRequest:
    """One request as Overseerr lists it (status 1 pending .. 5 completed)."""

    request_id: int
    status: int
    media_type: str
    tmdb_id: int | None
    tvdb_id: int | None
    media_id: int | None
    media_status: int | None
    rating_key: str | None
    requested_by: str
    requested_by_email: str | None
    created_at: float | None
    updated_at: float | None
    seasons: tuple[int, ...]
    is4k: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OverseerrWebhookSettings:
    """The webhook notification agent's settings, with the template as text."""

    enabled: bool
    types: int
    url: str
    auth_header: str | None
    template: str


def parse_timestamp(value: Any) -> float | None:
    """Read an ISO 8601 date such as 2024-01-15T10:00:00.000Z as epoch seconds."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _text(value: Any) -> str | None:
    """Return a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def parse_request(item: Mapping[str, Any]) -> OverseerrRequest | None:
    """Turn one listed request into a model; None when it carries no usable id."""
    request_id = parse_int(item.get("id"))
    if not request_id or request_id < 0:
        return None
    media = item.get("media")
    if not isinstance(media, Mapping):
        media = {}
    user = item.get("requestedBy")
    if not isinstance(user, Mapping):
        user = {}
    is4k = item.get("is4k") is True
    seasons = item.get("seasons")
    numbers = (
        parse_int(season.get("seasonNumber"))
        for season in (seasons if isinstance(seasons, list) else ())
        if isinstance(season, Mapping)
    )
    rating_key = media.get("ratingKey4k" if is4k else "ratingKey")
    return OverseerrRequest(
        request_id=request_id,
        status=parse_int(item.get("status")) or 0,
        media_type=str(media.get("mediaType") or item.get("type") or ""),
        tmdb_id=parse_int(media.get("tmdbId")),
        tvdb_id=parse_int(media.get("tvdbId")),
        media_id=parse_int(media.get("id")),
        media_status=parse_int(media.get("status4k" if is4k else "status")),
        rating_key=None if rating_key in (None, "") else str(rating_key),
        requested_by=_text(user.get("displayName"))
        or _text(user.get("username"))
        or _text(user.get("plexUsername"))
        or _text(user.get("email"))
        or "",
        requested_by_email=_text(user.get("email")),
        created_at=parse_timestamp(item.get("createdAt")),
        updated_at=parse_timestamp(item.get("updatedAt")),
        seasons=tuple(number for number in numbers if number is not None),
        is4k=is4k,
    )


def _usable_template(template: Any) -> bool:
    """Tell whether a webhook template is a JSON object carrying what SmartPlex reads."""
    if not isinstance(template, str) or not all(
        placeholder in template for placeholder in TEMPLATE_PLACEHOLDERS
    ):
        return False
    try:
        return isinstance(orjson.loads(template), dict)
    except orjson.JSONDecodeError:
        return False


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

    async def async_iter_requests(
        self, *, page_size: int = REQUEST_PAGE_SIZE
    ) -> AsyncIterator[list[OverseerrRequest]]:
        """Yield every request page by page, most recently modified first."""
        skip = 0
        while True:
            params = {
                "take": str(page_size),
                "skip": str(skip),
                "filter": "all",
                "sort": "modified",
            }
            page = require_mapping(
                "Overseerr",
                REQUEST_PATH,
                await self._http.get_json(REQUEST_PATH, params=params),
            )
            page_info = page.get("pageInfo")
            rows = page.get("results")
            total = (
                parse_int(page_info.get("results"))
                if isinstance(page_info, Mapping)
                else None
            )
            if not isinstance(rows, list) or total is None:
                raise SmartPlexResponseError(
                    "Overseerr", f"{REQUEST_PATH}: not a request page"
                )
            if not all(isinstance(row, Mapping) for row in rows):
                raise SmartPlexResponseError(
                    "Overseerr", f"{REQUEST_PATH}: bad request row"
                )
            if requests := [req for row in rows if (req := parse_request(row))]:
                yield requests
            skip += len(rows)
            if not rows or skip >= total:
                return

    async def async_get_webhook_settings(self) -> OverseerrWebhookSettings:
        """Read the webhook agent's settings."""
        settings = require_mapping(
            "Overseerr", WEBHOOK_PATH, await self._http.get_json(WEBHOOK_PATH)
        )
        options = settings.get("options")
        if not isinstance(options, Mapping):
            raise SmartPlexResponseError(
                "Overseerr", f"{WEBHOOK_PATH}: no webhook options"
            )
        template = options.get("jsonPayload")
        return OverseerrWebhookSettings(
            enabled=settings.get("enabled") is True,
            types=parse_int(settings.get("types")) or 0,
            url=_text(options.get("webhookUrl")) or "",
            auth_header=_text(options.get("authHeader")),
            template=template if isinstance(template, str) else "",
        )

    async def async_set_webhook(self, url: str, auth_header: str, types: int) -> None:
        """Enable the webhook agent towards `url`, keeping a usable current template."""
        current = await self.async_get_webhook_settings()
        template = (
            current.template
            if _usable_template(current.template)
            else DEFAULT_WEBHOOK_TEMPLATE
        )
        await self._http.request(
            "POST",
            WEBHOOK_PATH,
            json={
                "enabled": True,
                "types": types,
                "options": {
                    "webhookUrl": url,
                    "authHeader": auth_header,
                    # Overseerr expects the template text JSON-encoded once more.
                    "jsonPayload": orjson.dumps(template).decode(),
                },
            },
        )

    async def async_delete_media(self, media_id: int) -> None:
        """Forget a title and, with it, its requests, so it can be requested again."""
        await self._http.request("DELETE", f"/api/v1/media/{media_id}")

    async def async_run_job(self, job_id: str) -> None:
        """Run a scheduled job now, such as "availability-sync" after deletions."""
        await self._http.request(
            "POST", f"/api/v1/settings/jobs/{quote(job_id, safe='')}/run"
        )
