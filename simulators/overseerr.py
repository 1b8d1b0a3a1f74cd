"""Overseerr simulator (API v1).

Sources: sct/overseerr server/routes/index.ts (`/status` fields, `/settings` needs an
admin), server/routes/auth.ts (`/auth/me` returns the user entity), user objects in
published request payloads (field order and nulls), and contracts.md for the 403 body
that a missing or wrong `X-Api-Key` gets. Unknown API paths answer the OpenAPI
validator's 404 (not verified).

Requests, media and settings: server/routes/request.ts (paging with take/skip, newest
first), server/routes/media.ts (`DELETE /media/{id}` removes the media and, by the
`onDelete: CASCADE` of MediaRequest.media, its requests), server/routes/settings/
notifications.ts (webhook GET decodes the stored base64 to the template text, POST
stores base64 of the JSON-encoded string and answers the stored form, test answers 204
or 500) and server/routes/settings/index.ts with server/job/schedule.ts (jobs). Request
status 5 (completed) exists only in Seerr, Overseerr's successor (seerr-team/seerr
server/routes/request.ts), whose filters and `/request/count` (with `completed`) are
followed here; route errors are `{"message": ...}` (server/index.ts error handler).
"""

from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp
from aiohttp import web

from .base import Simulator, random_string
from .webhooks import (
    DEFAULT_JSON_PAYLOAD,
    Notification,
    has_notification_type,
    post_json,
    render_template,
    send_overseerr_webhook,
    user_avatar,
)
from .world import MediaRequest, User, World

FORBIDDEN = {
    "status": 403,
    "error": "You do not have permission to access this endpoint",
}
ADMIN_PERMISSIONS = 2
PLEX_USER = 1
ALL_STATUSES = (1, 2, 3, 4, 5)
ALL_MEDIA_STATUSES = (1, 2, 3, 4, 5)
NOT_AVAILABLE = (1, 2, 3, 4)
# filter: (request statuses, media statuses), as Seerr's GET /request
FILTERS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "approved": ((2,), ALL_MEDIA_STATUSES),
    "processing": ((2,), NOT_AVAILABLE),
    "pending": ((1,), ALL_MEDIA_STATUSES),
    "unavailable": ((1, 2), NOT_AVAILABLE),
    "failed": ((4,), ALL_MEDIA_STATUSES),
    "completed": ((5,), ALL_MEDIA_STATUSES),
    "available": ((5,), (5,)),
}
STATUS_NOTIFICATIONS = {
    1: Notification.MEDIA_PENDING,
    2: Notification.MEDIA_APPROVED,
    3: Notification.MEDIA_DECLINED,
    4: Notification.MEDIA_FAILED,
    5: Notification.MEDIA_AVAILABLE,
}
JOBS = (
    (
        "plex-recently-added-scan",
        "Plex Recently Added Scan",
        "process",
        "minutes",
        "0 */5 * * * *",
    ),
    ("plex-full-scan", "Plex Full Library Scan", "process", "hours", "0 0 3 * * *"),
    (
        "plex-watchlist-sync",
        "Plex Watchlist Sync",
        "process",
        "seconds",
        "0 */3 * * * *",
    ),
    ("radarr-scan", "Radarr Scan", "process", "hours", "0 0 4 * * *"),
    ("sonarr-scan", "Sonarr Scan", "process", "hours", "0 30 4 * * *"),
    ("availability-sync", "Media Availability Sync", "process", "hours", "0 0 5 * * *"),
    ("download-sync", "Download Sync", "command", "seconds", "0 * * * * *"),
    ("download-sync-reset", "Download Sync Reset", "command", "hours", "0 0 1 * * *"),
    ("image-cache-cleanup", "Image Cache Cleanup", "process", "hours", "0 0 5 * * *"),
    ("plex-refresh-token", "Plex Refresh Token", "process", "hours", "0 0 5 * * *"),
)


class OverseerrSimulator(Simulator):
    """An Overseerr server whose API key authenticates as the admin user."""

    name = "overseerr"
    public_paths = ("/api/v1/status",)

    def __init__(
        self,
        *,
        seed: int = 0,
        world: World | None = None,
        api_key: str | None = None,
        version: str = "1.34.0",
    ) -> None:
        """Create the server with its admin user."""
        super().__init__(seed=seed, world=world)
        self.api_key = api_key or random_string(self.rng, 32)
        self.version = version
        self.commit_tag = random_string(self.rng, 40)
        self.application_title = "Overseerr"
        self.application_url = ""
        self.admin: dict[str, Any] = {
            "permissions": ADMIN_PERMISSIONS,
            "warnings": [],
            "id": 1,
            "email": "smartplex-owner@example.com",
            "plexUsername": "smartplex-owner",
            "username": None,
            "recoveryLinkExpirationDate": None,
            "userType": PLEX_USER,
            "plexId": self.rng.randrange(10_000_000, 99_999_999),
            "avatar": f"https://plex.tv/users/{random_string(self.rng, 16)}/avatar?c=1700000000",
            "movieQuotaLimit": None,
            "movieQuotaDays": None,
            "tvQuotaLimit": None,
            "tvQuotaDays": None,
            "createdAt": "2024-01-15T10:00:00.000Z",
            "updatedAt": "2025-06-01T12:00:00.000Z",
            "requestCount": 0,
            "displayName": "smartplex-owner",
        }
        self.webhook: dict[str, Any] = {
            "enabled": False,
            "types": 0,
            "options": {"webhookUrl": "", "jsonPayload": DEFAULT_JSON_PAYLOAD},
        }
        self.job_runs: list[str] = []
        # Webhooks sent: (request id, notification type, HTTP status or None).
        self.deliveries: list[tuple[int, str, int | None]] = []

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the API endpoints."""
        router.add_get("/api/v1/status", self._status)
        router.add_get("/api/v1/auth/me", self._me)
        router.add_get("/api/v1/settings/main", self._settings_main)
        router.add_get("/api/v1/request", self._requests)
        router.add_get("/api/v1/request/count", self._request_count)
        router.add_get(r"/api/v1/request/{request_id:\d+}", self._request)
        router.add_delete(r"/api/v1/media/{media_id:\d+}", self._delete_media)
        webhook = "/api/v1/settings/notifications/webhook"
        router.add_get(webhook, self._get_webhook)
        router.add_post(webhook, self._set_webhook)
        router.add_post(f"{webhook}/test", self._test_webhook)
        router.add_get("/api/v1/settings/jobs", self._jobs)
        router.add_post("/api/v1/settings/jobs/{job_id}/run", self._run_job)
        router.add_route("*", "/api/v1/{tail:.*}", self._not_found)

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer an error as Overseerr's error handler does."""
        if status == 403:
            return web.json_response(FORBIDDEN, status=403)
        if status == 404:
            return web.json_response(
                {
                    "message": "not found",
                    "errors": [{"path": request.path, "message": "not found"}],
                },
                status=404,
            )
        if status == 429:
            return web.Response(
                status=429, text="Too many requests, please try again later."
            )
        return web.json_response({"message": "Something went wrong."}, status=status)

    def unauthorized(self, request: web.Request) -> web.Response:
        """Answer a wrong key: Overseerr says 403, not 401."""
        return self.error(request, 403)

    def _authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the API key."""
        return request.headers.get("X-Api-Key") == self.api_key

    async def _status(self, request: web.Request) -> web.Response:
        """Answer /status, which needs no key."""
        return web.json_response(
            {
                "version": self.version,
                "commitTag": self.commit_tag,
                "updateAvailable": False,
                "commitsBehind": 0,
                "restartRequired": False,
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        """Answer the user the key authenticates as: the admin."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(self.admin)

    async def _settings_main(self, request: web.Request) -> web.Response:
        """Answer the main settings, which admins see with the API key."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response(
            {
                "apiKey": self.api_key,
                "applicationTitle": self.application_title,
                "applicationUrl": self.application_url,
                "csrfProtection": False,
                "cacheImages": False,
                "defaultPermissions": 32,
                "defaultQuotas": {"movie": {}, "tv": {}},
                "hideAvailable": False,
                "localLogin": True,
                "newPlexLogin": True,
                "region": "",
                "originalLanguage": "",
                "trustProxy": False,
                "partialRequestsEnabled": True,
                "locale": "en",
            }
        )

    async def _requests(self, request: web.Request) -> web.Response:
        """List requests newest first, filtered and paged as GET /request does."""
        if not self._authorized(request):
            return self.unauthorized(request)
        query = request.query
        take = int(query.get("take") or 10)
        skip = int(query.get("skip") or 0)
        statuses, media_statuses = FILTERS.get(
            query.get("filter", ""), (ALL_STATUSES, ALL_MEDIA_STATUSES)
        )
        requested_by = int(query.get("requestedBy") or 0)
        matches = [
            r
            for r in self.world.requests
            if r.status in statuses
            and (1 if r.is4k else r.media_status) in media_statuses
            and (not requested_by or r.requested_by == requested_by)
        ]
        sort = {"modified": "updated_at", "added": "created_at"}.get(
            query.get("sort", ""), "id"
        )
        matches.sort(
            key=lambda r: (getattr(r, sort), r.id),
            reverse=query.get("sortDirection") != "asc",
        )
        return web.json_response(
            {
                "pageInfo": {
                    "pages": -(-len(matches) // take),
                    "pageSize": take,
                    "results": len(matches),
                    "page": -(-skip // take) + 1,
                },
                "results": [self.request_json(r) for r in matches[skip : skip + take]],
            }
        )

    async def _request_count(self, request: web.Request) -> web.Response:
        """Count requests per type and status as GET /request/count does."""
        if not self._authorized(request):
            return self.unauthorized(request)
        requests = self.world.requests

        def count(status: int) -> int:
            return sum(r.status == status for r in requests)

        return web.json_response(
            {
                "total": len(requests),
                "movie": sum(r.media_type == "movie" for r in requests),
                "tv": sum(r.media_type == "tv" for r in requests),
                "pending": count(1),
                "approved": count(2),
                "declined": count(3),
                "processing": sum(
                    r.status == 2 and r.media_status != 5 for r in requests
                ),
                "available": sum(
                    r.status == 2 and r.media_status == 5 for r in requests
                ),
                "completed": count(5),
            }
        )

    async def _request(self, request: web.Request) -> web.Response:
        """Answer one request by id."""
        if not self._authorized(request):
            return self.unauthorized(request)
        request_id = int(request.match_info["request_id"])
        found = next((r for r in self.world.requests if r.id == request_id), None)
        if found is None:
            return web.json_response({"message": "Request not found."}, status=404)
        return web.json_response(self.request_json(found))

    async def _delete_media(self, request: web.Request) -> web.Response:
        """Remove a media and, by cascade, its requests, so it can be requested again."""
        if not self._authorized(request):
            return self.unauthorized(request)
        media_id = int(request.match_info["media_id"])
        if not any(r.media_id == media_id for r in self.world.requests):
            return web.json_response({"message": "Media not found"}, status=404)
        self.world.requests[:] = [
            r for r in self.world.requests if r.media_id != media_id
        ]
        return web.Response(status=204)

    async def _get_webhook(self, request: web.Request) -> web.Response:
        """Answer the webhook agent settings with the template as text."""
        if not self._authorized(request):
            return self.unauthorized(request)
        options = self.webhook["options"]
        return web.json_response(
            self.webhook | {"options": options | {"jsonPayload": self.webhook_template}}
        )

    async def _set_webhook(self, request: web.Request) -> web.Response:
        """Store the webhook agent settings; answer them as stored (template base64)."""
        if not self._authorized(request):
            return self.unauthorized(request)
        try:
            self.webhook = _webhook_settings(await request.json())
        except (KeyError, TypeError, ValueError) as err:
            return web.json_response({"message": str(err)}, status=500)
        return web.json_response(self.webhook)

    async def _test_webhook(self, request: web.Request) -> web.Response:
        """Send a test notification with the posted settings: 204, or 500 if it fails."""
        if not self._authorized(request):
            return self.unauthorized(request)
        try:
            settings = _webhook_settings(await request.json())
        except (KeyError, TypeError, ValueError) as err:
            return web.json_response({"message": str(err)}, status=500)
        options = settings["options"]
        values = {
            "notification_type": Notification.TEST_NOTIFICATION.name,
            "subject": "Test Notification",
            "message": "Check check, 1, 2, 3. Are we coming in clear?",
            "notifyuser_username": self.admin["displayName"],
            "notifyuser_email": self.admin["email"],
            "notifyuser_avatar": self.admin["avatar"],
        }
        body = render_template(
            _template_text(options["jsonPayload"]), values, [], set()
        )
        try:
            async with aiohttp.ClientSession() as session:
                status = await post_json(
                    session, options["webhookUrl"], body, options.get("authHeader")
                )
        except aiohttp.ClientError, ValueError:
            status = 0
        if not 200 <= status < 300:
            return web.json_response(
                {"message": "Failed to send webhook notification."}, status=500
            )
        return web.Response(status=204)

    async def _jobs(self, request: web.Request) -> web.Response:
        """List the scheduled jobs."""
        if not self._authorized(request):
            return self.unauthorized(request)
        return web.json_response([self._job_json(job) for job in JOBS])

    async def _run_job(self, request: web.Request) -> web.Response:
        """Run a job now (recorded in `job_runs`)."""
        if not self._authorized(request):
            return self.unauthorized(request)
        job_id = request.match_info["job_id"]
        job = next((job for job in JOBS if job[0] == job_id), None)
        if job is None:
            return web.json_response({"message": "Job not found."}, status=404)
        self.job_runs.append(job_id)
        return web.json_response(self._job_json(job))

    def _job_json(self, job: tuple[str, str, str, str, str]) -> dict[str, Any]:
        """Render a job as the jobs endpoints do."""
        job_id, name, job_type, interval, schedule = job
        return {
            "id": job_id,
            "name": name,
            "type": job_type,
            "interval": interval,
            "cronSchedule": schedule,
            "nextExecutionTime": _iso(self.world.now + 3600),
            "running": False,
        }

    @property
    def webhook_template(self) -> str:
        """Return the configured webhook template text."""
        return _template_text(self.webhook["options"]["jsonPayload"])

    def user_json(self, user: User) -> dict[str, Any]:
        """Render a household user as Overseerr's user entity (id 1 is the admin)."""
        if user.id == self.admin["id"]:
            return self.admin
        return self.admin | {
            "permissions": 32,
            "id": user.id,
            "email": user.email,
            "plexUsername": user.username,
            "plexId": 10_000_000 + user.id,
            "avatar": user_avatar(user),
            "displayName": user.username,
        }

    def request_json(self, request: MediaRequest) -> dict[str, Any]:
        """Render a request with its media, seasons and users."""
        user = next(u for u in self.world.users if u.id == request.requested_by)
        created, updated = _iso(request.created_at), _iso(request.updated_at)
        arr_id = self._arr_id(request)
        return {
            "id": request.id,
            "status": request.status,
            "createdAt": created,
            "updatedAt": updated,
            "type": request.media_type,
            "is4k": request.is4k,
            "serverId": 0,
            "profileId": 4 if request.media_type == "movie" else 6,
            "rootFolder": "/data/movies"
            if request.media_type == "movie"
            else "/data/tv",
            "languageProfileId": None if request.media_type == "movie" else 1,
            "tags": [],
            "isAutoRequest": False,
            "media": {
                "downloadStatus": [],
                "downloadStatus4k": [],
                "id": request.media_id,
                "mediaType": request.media_type,
                "tmdbId": request.tmdb_id,
                "tvdbId": request.tvdb_id,
                "imdbId": None,
                "status": request.media_status,
                "status4k": 1,
                "createdAt": created,
                "updatedAt": updated,
                "lastSeasonChange": created,
                "mediaAddedAt": updated if request.media_status == 5 else None,
                "serviceId": 0 if arr_id else None,
                "serviceId4k": None,
                "externalServiceId": arr_id,
                "externalServiceId4k": None,
                "externalServiceSlug": str(request.tmdb_id) if arr_id else None,
                "externalServiceSlug4k": None,
                "ratingKey": str(request.rating_key),
                "ratingKey4k": None,
            },
            "seasons": [
                {
                    "id": request.id * 100 + number,
                    "seasonNumber": number,
                    "status": request.status,
                    "createdAt": created,
                    "updatedAt": updated,
                }
                for number in request.seasons
            ],
            "modifiedBy": self.admin if request.status in {2, 3, 5} else None,
            "requestedBy": self.user_json(user),
            "seasonCount": len(request.seasons),
        }

    def _arr_id(self, request: MediaRequest) -> int | None:
        """Return the Radarr or Sonarr id of the requested item, if it has one."""
        if request.media_type == "movie":
            return self.world.movies[request.rating_key].radarr_id
        return self.world.shows[request.rating_key].sonarr_id

    async def set_request_status(self, request_id: int, status: int) -> MediaRequest:
        """Change a request's status and send the configured webhook if it wants it."""
        found = next(r for r in self.world.requests if r.id == request_id)
        found.status = status
        found.updated_at = self.world.now
        if status == 5:
            found.media_status = 5
        elif status == 2 and found.media_status != 5:
            found.media_status = 3
        await self._notify(STATUS_NOTIFICATIONS[status], found)
        return found

    async def add_request(self, rating_key: int, requested_by: int) -> MediaRequest:
        """Let a user request a movie (pending approval) and notify as Overseerr does."""
        movie = self.world.movies[rating_key]
        request = MediaRequest(
            id=max((r.id for r in self.world.requests), default=0) + 1,
            media_id=self.world.new_id(),
            media_type="movie",
            tmdb_id=movie.tmdb_id,
            tvdb_id=None,
            rating_key=rating_key,
            requested_by=requested_by,
            status=1,
            media_status=2,
            created_at=self.world.now,
            updated_at=self.world.now,
        )
        self.world.requests.append(request)
        await self._notify(Notification.MEDIA_PENDING, request)
        return request

    async def _notify(self, notification: Notification, request: MediaRequest) -> None:
        """Send the webhook if it wants this notification; a failed send is only noted.

        Overseerr logs a webhook it could not deliver and never sends it again: the
        notification goes to `deliveries` with the HTTP status, or None.
        """
        options = self.webhook["options"]
        if not (
            self.webhook["enabled"]
            and options["webhookUrl"]
            and has_notification_type(notification, self.webhook["types"])
        ):
            return
        status: int | None = None
        async with aiohttp.ClientSession() as session:
            with contextlib.suppress(aiohttp.ClientError):
                status = await send_overseerr_webhook(
                    session,
                    options["webhookUrl"],
                    notification,
                    request,
                    self.world,
                    auth_header=options.get("authHeader"),
                    template=self.webhook_template,
                )
        self.deliveries.append((request.id, notification.name, status))

    async def _not_found(self, request: web.Request) -> web.Response:
        """Answer an unknown API path."""
        return self.error(request, 404)


def _iso(timestamp: int) -> str:
    """Format a timestamp as Overseerr's ISO 8601 with milliseconds and Z."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _template_text(stored: str) -> str:
    """Decode a stored jsonPayload (base64 of a JSON string) to the template text."""
    text = json.loads(base64.b64decode(stored))
    if not isinstance(text, str):
        raise TypeError("jsonPayload must hold a JSON-encoded string")
    return text


def _webhook_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Build stored webhook settings from a POST body (jsonPayload double encoded)."""
    options = body["options"]
    json_payload = options["jsonPayload"]
    json.loads(json_payload)
    stored: dict[str, Any] = {
        "jsonPayload": base64.b64encode(json_payload.encode()).decode(),
        "webhookUrl": options["webhookUrl"],
    }
    if options.get("authHeader") is not None:
        stored["authHeader"] = options["authHeader"]
    return {"enabled": body["enabled"], "types": body["types"], "options": stored}
