"""Overseerr requests: the client's paging and webhook settings, and the request store."""

from collections.abc import AsyncIterator, Awaitable, Callable
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartplex.api import SmartPlexResponseError
from custom_components.smartplex.api.overseerr import (
    DEFAULT_WEBHOOK_TEMPLATE,
    OverseerrClient,
    OverseerrNotification,
    OverseerrRequest,
    parse_request,
    parse_timestamp,
)
from custom_components.smartplex.requests import (
    RequestRecord,
    RequestState,
    RequestStore,
    WebhookKind,
)
from simulators import SimulatorStack
from simulators.webhooks import (
    DEFAULT_TEMPLATE,
    Notification,
    render_template,
    request_values,
)
from simulators.world import MediaRequest, World

TRACKED = (
    OverseerrNotification.MEDIA_PENDING
    | OverseerrNotification.MEDIA_APPROVED
    | OverseerrNotification.MEDIA_AUTO_APPROVED
    | OverseerrNotification.MEDIA_DECLINED
    | OverseerrNotification.MEDIA_AVAILABLE
    | OverseerrNotification.MEDIA_FAILED
)
NOTIFICATION_STATES = {
    Notification.MEDIA_PENDING: RequestState.PENDING,
    Notification.MEDIA_AUTO_REQUESTED: RequestState.PENDING,
    Notification.MEDIA_APPROVED: RequestState.APPROVED,
    Notification.MEDIA_AUTO_APPROVED: RequestState.APPROVED,
    Notification.MEDIA_DECLINED: RequestState.DECLINED,
    Notification.MEDIA_AVAILABLE: RequestState.AVAILABLE,
    Notification.MEDIA_FAILED: RequestState.FAILED,
}
ISSUES = (
    Notification.ISSUE_CREATED,
    Notification.ISSUE_COMMENT,
    Notification.ISSUE_RESOLVED,
    Notification.ISSUE_REOPENED,
)
NOW = 1_764_460_800.0


@pytest.fixture
def world() -> World:
    """A household with requests in every status."""
    return World.generate(seed=0, movies=300, shows=30)


@pytest.fixture
async def big_stack(
    socket_enabled: None, world: World
) -> AsyncIterator[SimulatorStack]:
    """Simulators on a household with a few dozen requests."""
    async with SimulatorStack(world=world) as started:
        yield started


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def serve(
    handler: Callable[[web.Request], Awaitable[web.Response]], path: str
) -> tuple[web.AppRunner, str]:
    """Serve one route on 127.0.0.1 (GET and POST); return the runner and base URL."""
    app = web.Application()
    app.router.add_route("*", path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def webhook(
    notification: Notification, request: MediaRequest, world: World
) -> dict[str, Any]:
    """Render a request notification as Overseerr's default template does."""
    values, extra = request_values(notification, request, world)
    return render_template(
        json.dumps(DEFAULT_TEMPLATE), values, extra, {"media", "request"}
    )


def other_webhook(notification: Notification, sections: set[str]) -> dict[str, Any]:
    """Render a notification that is about no request (tests, issues)."""
    values = {
        "notification_type": notification.name,
        "subject": "Something",
        "issue_id": "3",
        "issue_type": "VIDEO",
        "issue_status": "OPEN",
    }
    return render_template(json.dumps(DEFAULT_TEMPLATE), values, [], sections)


def polled(
    request_id: int,
    status: int,
    *,
    media_status: int = 1,
    created_at: float = NOW - 1000,
    updated_at: float | None = NOW - 500,
    requested_by: str = "alice",
) -> OverseerrRequest:
    """A request as the client would list it."""
    return OverseerrRequest(
        request_id=request_id,
        status=status,
        media_type="movie",
        tmdb_id=600 + request_id,
        tvdb_id=None,
        media_id=100 + request_id,
        media_status=media_status,
        rating_key=None,
        requested_by=requested_by,
        requested_by_email=f"{requested_by}@example.com",
        created_at=created_at,
        updated_at=updated_at,
        seasons=(),
        is4k=False,
    )


# The client


async def test_paging_lists_every_request_of_the_world(
    big_stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    """Pages of 7 together are exactly the world's requests, statuses 4 and 5 too."""
    client = OverseerrClient(
        session, big_stack.overseerr.url, big_stack.overseerr.api_key
    )
    pages = [page async for page in client.async_iter_requests(page_size=7)]
    world = big_stack.world
    assert len(pages) == -(-len(world.requests) // 7)
    listed = {request.request_id: request for page in pages for request in page}
    assert len(listed) == sum(len(page) for page in pages)
    users = {user.id: user for user in world.users}
    assert {1, 2, 3, 4, 5} <= {request.status for request in listed.values()}
    for expected in world.requests:
        request = listed.pop(expected.id)
        user = users[expected.requested_by]
        assert request == OverseerrRequest(
            request_id=expected.id,
            status=expected.status,
            media_type=expected.media_type,
            tmdb_id=expected.tmdb_id,
            tvdb_id=expected.tvdb_id,
            media_id=expected.media_id,
            media_status=expected.media_status,
            rating_key=str(expected.rating_key),
            requested_by=user.username,
            requested_by_email=user.email,
            created_at=float(expected.created_at),
            updated_at=float(expected.updated_at),
            seasons=tuple(expected.seasons),
            is4k=False,
        )
    assert not listed
    updated = [request.updated_at or 0.0 for page in pages for request in page]
    assert updated == sorted(updated, reverse=True)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"results": []},
        {"pageInfo": {"results": 1}, "results": {}},
        {"pageInfo": {"results": "many"}, "results": []},
        {"pageInfo": [], "results": []},
        {"pageInfo": {"results": 1}, "results": ["1"]},
    ],
    ids=["list", "no_page_info", "results_object", "bad_total", "info_list", "row"],
)
async def test_a_page_of_the_wrong_shape_is_refused(
    session: aiohttp.ClientSession, body: Any
) -> None:
    """Anything but a request page raises a response error."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    runner, url = await serve(answer, "/api/v1/request")
    try:
        with pytest.raises(SmartPlexResponseError):
            async for _ in OverseerrClient(session, url, "key").async_iter_requests():
                pass
    finally:
        await runner.cleanup()


async def test_an_empty_page_ends_the_listing(session: aiohttp.ClientSession) -> None:
    """A server that claims more results than it gives does not loop forever."""
    asked: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        asked.append(request.query_string)
        return web.json_response({"pageInfo": {"results": 50}, "results": []})

    runner, url = await serve(answer, "/api/v1/request")
    try:
        client = OverseerrClient(session, url, "key")
        assert [page async for page in client.async_iter_requests()] == []
    finally:
        await runner.cleanup()
    assert asked == ["take=100&skip=0&filter=all&sort=modified"]


def test_odd_request_values_parse_defensively() -> None:
    """Strings for numbers, junk seasons, naive or broken dates and 4K fields."""
    request = parse_request(
        {
            "id": "12",
            "status": "4",
            "type": "tv",
            "is4k": True,
            "createdAt": "2024-01-15T10:00:00.123Z",
            "updatedAt": "yesterday",
            "media": {
                "id": 9,
                "tmdbId": "",
                "tvdbId": "81189",
                "status": 5,
                "status4k": 3,
                "ratingKey": "1",
                "ratingKey4k": 77,
            },
            "seasons": [{"seasonNumber": 0}, {"seasonNumber": "2"}, "3", {}],
            "requestedBy": {"displayName": "", "email": "bob@example.com"},
        }
    )
    assert request == OverseerrRequest(
        request_id=12,
        status=4,
        media_type="tv",
        tmdb_id=None,
        tvdb_id=81189,
        media_id=9,
        media_status=3,
        rating_key="77",
        requested_by="bob@example.com",
        requested_by_email="bob@example.com",
        created_at=1705312800.123,
        updated_at=None,
        seasons=(0, 2),
        is4k=True,
    )
    bare = parse_request({"id": 3, "media": None, "requestedBy": "x", "seasons": {}})
    assert bare is not None
    assert (bare.status, bare.media_type, bare.requested_by, bare.seasons) == (
        0,
        "",
        "",
        (),
    )
    assert parse_request({"id": None}) is None
    assert parse_request({"id": "-4"}) is None
    assert parse_timestamp("2024-01-15T10:00:00") == 1705312800.0
    assert parse_timestamp(1705312800) is None


async def test_webhook_settings_round_trip(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    """Setting the webhook enables it and keeps the server's template."""
    client = OverseerrClient(session, stack.overseerr.url, stack.overseerr.api_key)
    before = await client.async_get_webhook_settings()
    assert not before.enabled
    assert before.url == ""
    assert before.template == stack.overseerr.webhook_template
    await client.async_set_webhook(
        "http://ha.local/api/webhook/abc", "Bearer secret", TRACKED
    )
    after = await client.async_get_webhook_settings()
    assert after.enabled
    assert after.types == TRACKED
    assert after.url == "http://ha.local/api/webhook/abc"
    assert after.auth_header == "Bearer secret"
    assert after.template == before.template


@pytest.mark.parametrize(
    ("current", "kept"),
    [
        ('{"type": "{{notification_type}}", "id": "{{request_id}}"}', True),
        ('{"type": "{{notification_type}}"}', False),
        ('["{{notification_type}}", "{{request_id}}"]', False),
        ("{{notification_type}} {{request_id}}", False),
    ],
)
async def test_an_unusable_template_is_replaced_by_the_default(
    session: aiohttp.ClientSession, current: str, kept: bool
) -> None:
    """A template without the request id, or not a JSON object, gets the default."""
    posted: list[dict[str, Any]] = []

    async def answer(request: web.Request) -> web.Response:
        if request.method == "POST":
            posted.append(await request.json())
            return web.json_response({})
        return web.json_response(
            {
                "enabled": False,
                "types": 0,
                "options": {"webhookUrl": "", "jsonPayload": current},
            }
        )

    runner, url = await serve(answer, "/api/v1/settings/notifications/webhook")
    try:
        await OverseerrClient(session, url, "key").async_set_webhook("u", "a", 2)
    finally:
        await runner.cleanup()
    template = json.loads(posted[0]["options"]["jsonPayload"])
    assert template == (current if kept else DEFAULT_WEBHOOK_TEMPLATE)


async def test_webhook_settings_of_the_wrong_shape_are_refused(
    session: aiohttp.ClientSession,
) -> None:
    """Settings without options raise a response error."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"enabled": True, "types": 2})

    runner, url = await serve(answer, "/api/v1/settings/notifications/webhook")
    try:
        with pytest.raises(SmartPlexResponseError):
            await OverseerrClient(session, url, "key").async_get_webhook_settings()
    finally:
        await runner.cleanup()


async def test_configured_webhook_reaches_the_store(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    """After async_set_webhook, Overseerr's own notifications land in the store."""
    received: list[tuple[str | None, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization"), await request.json()))
        return web.Response()

    runner, url = await serve(receive, "/hook")
    client = OverseerrClient(session, stack.overseerr.url, stack.overseerr.api_key)
    await client.async_set_webhook(f"{url}/hook", "Bearer secret", TRACKED)
    pending = next(r for r in stack.world.requests if r.status == 1)
    try:
        await stack.overseerr.set_request_status(pending.id, 2)
    finally:
        await runner.cleanup()
    [(authorization, payload)] = received
    assert authorization == "Bearer secret"
    result = RequestStore().apply_webhook(payload, NOW)
    assert result.kind == WebhookKind.RECORDED
    assert result.record is not None
    assert result.record.request_id == pending.id
    assert result.record.status == RequestState.APPROVED


# The store: webhooks


@pytest.mark.parametrize("notification", list(NOTIFICATION_STATES))
def test_every_request_notification_is_recorded(
    world: World, notification: Notification
) -> None:
    """Each request notification type moves the request to its state."""
    request = next(r for r in world.requests if r.media_type == "tv")
    show = world.shows[request.rating_key]
    user = next(u for u in world.users if u.id == request.requested_by)
    result = RequestStore().apply_webhook(webhook(notification, request, world), NOW)
    assert result.kind == WebhookKind.RECORDED
    assert result.changed
    assert result.record == RequestRecord(
        request_id=request.id,
        media_type="tv",
        tmdb_id=request.tmdb_id,
        tvdb_id=request.tvdb_id,
        title=f"{show.title} ({show.year})",
        requested_by=user.username,
        status=NOTIFICATION_STATES[notification],
        transitions={NOTIFICATION_STATES[notification]: NOW},
        created_at=NOW,
        updated_at=NOW,
    )


def test_a_test_notification_is_not_stored() -> None:
    """TEST_NOTIFICATION answers `test` and leaves the store alone."""
    store = RequestStore()
    result = store.apply_webhook(
        other_webhook(Notification.TEST_NOTIFICATION, set()), NOW
    )
    assert result.kind == WebhookKind.TEST
    assert result.record is None
    assert store.records == {}
    assert store.ignored == {}


def test_issue_and_unknown_notifications_are_counted() -> None:
    """Issue notifications and types we do not know are ignored, counted by type."""
    store = RequestStore()
    for notification in (*ISSUES, Notification.ISSUE_CREATED):
        result = store.apply_webhook(
            other_webhook(notification, {"media", "issue"}), NOW
        )
        assert result.kind == WebhookKind.IGNORED_UNKNOWN
    result = store.apply_webhook({"notification_type": "MEDIA_WATCHED"}, NOW)
    assert result.kind == WebhookKind.IGNORED_UNKNOWN
    assert result.reason == "MEDIA_WATCHED is not tracked"
    assert store.ignored == {
        "ISSUE_CREATED": 2,
        "ISSUE_COMMENT": 1,
        "ISSUE_RESOLVED": 1,
        "ISSUE_REOPENED": 1,
        "MEDIA_WATCHED": 1,
    }
    assert store.records == {}


def test_the_same_notification_twice_changes_nothing(world: World) -> None:
    """A redelivered notification keeps one transition at its first time."""
    store = RequestStore()
    request = world.requests[0]
    payload = webhook(Notification.MEDIA_APPROVED, request, world)
    first = store.apply_webhook(payload, NOW)
    again = store.apply_webhook(payload, NOW + 60)
    assert again.kind == WebhookKind.RECORDED
    assert first.changed
    assert not again.changed
    record = store.records[request.id]
    assert record.transitions == {RequestState.APPROVED: NOW}
    assert record.updated_at == NOW


def test_a_request_walks_through_its_states(world: World) -> None:
    """Pending, approved, available: one transition each, times kept."""
    store = RequestStore()
    request = world.requests[0]
    for offset, notification in enumerate(
        (
            Notification.MEDIA_PENDING,
            Notification.MEDIA_APPROVED,
            Notification.MEDIA_AVAILABLE,
        )
    ):
        store.apply_webhook(webhook(notification, request, world), NOW + offset * 100)
    record = store.records[request.id]
    assert record.status == RequestState.AVAILABLE
    assert record.transitions == {
        RequestState.PENDING: NOW,
        RequestState.APPROVED: NOW + 100,
        RequestState.AVAILABLE: NOW + 200,
    }
    assert (record.created_at, record.updated_at) == (NOW, NOW + 200)


def _broken(
    world: World, section: str | None, key: str | None, value: Any
) -> dict[str, Any]:
    """A pending notification with one section or field replaced."""
    payload = webhook(Notification.MEDIA_PENDING, world.requests[0], world)
    if section is None:
        payload[key or "notification_type"] = value
    elif key is None:
        payload[section] = value
    else:
        payload[section][key] = value
    return payload


@pytest.mark.parametrize(
    ("section", "key", "value", "reason"),
    [
        (None, "notification_type", None, "no notification_type"),
        (None, "notification_type", 2, "no notification_type"),
        ("request", None, None, "no request section"),
        ("request", None, "7", "no request section"),
        ("request", "request_id", "", "no numeric request_id"),
        ("request", "request_id", "seven", "no numeric request_id"),
        ("request", "request_id", "1.5", "no numeric request_id"),
        ("request", "request_id", "-3", "no numeric request_id"),
        ("request", "request_id", "0", "no numeric request_id"),
        ("request", "request_id", True, "no numeric request_id"),
        ("request", "request_id", [1], "no numeric request_id"),
    ],
)
def test_invalid_notifications_are_refused_with_a_reason(
    world: World, section: str | None, key: str | None, value: Any, reason: str
) -> None:
    """Missing sections, missing or non-numeric ids and wrong types are invalid."""
    store = RequestStore()
    result = store.apply_webhook(_broken(world, section, key, value), NOW)
    assert (result.kind, result.record, result.reason) == (
        WebhookKind.INVALID,
        None,
        reason,
    )
    assert store.records == {}


@pytest.mark.parametrize("payload", [None, [], "MEDIA_PENDING", {}])
def test_a_body_that_is_no_notification_is_invalid(payload: Any) -> None:
    """Bodies that are not JSON objects, or empty ones, are invalid."""
    assert RequestStore().apply_webhook(payload, NOW).kind == WebhookKind.INVALID


def test_odd_optional_fields_are_left_unknown(world: World) -> None:
    """A numeric id, no media and wrongly typed fields still record the request."""
    payload = webhook(Notification.MEDIA_PENDING, world.requests[0], world)
    payload["request"]["request_id"] = 41
    payload["request"]["requestedBy_username"] = 5
    payload["subject"] = ["title"]
    payload["media"] = None
    result = RequestStore().apply_webhook(payload, NOW)
    assert result.record is not None
    assert (
        result.record.request_id,
        result.record.requested_by,
        result.record.title,
        result.record.media_type,
        result.record.tmdb_id,
    ) == (41, "", None, "", None)


# The store: polls


def test_reconcile_adds_what_webhooks_missed() -> None:
    """Requests made while Home Assistant was down are added with their dates."""
    store = RequestStore()
    changed = store.reconcile(
        [
            polled(1, 1, updated_at=None),
            polled(2, 2, media_status=5, updated_at=NOW - 100),
            polled(3, 4),
            polled(4, 5, media_status=3),
            polled(5, 3),
            polled(6, 9),
        ],
        NOW,
    )
    assert changed == 5
    assert {rid: r.status for rid, r in store.records.items()} == {
        1: RequestState.PENDING,
        2: RequestState.AVAILABLE,
        3: RequestState.FAILED,
        4: RequestState.COMPLETED,
        5: RequestState.DECLINED,
    }
    assert store.records[1].transitions == {RequestState.PENDING: NOW - 1000}
    assert store.records[2].transitions == {RequestState.AVAILABLE: NOW - 100}
    assert store.records[2].created_at == NOW - 1000
    assert store.reconcile([polled(1, 1, updated_at=None)], NOW) == 0


def test_polled_truth_wins_over_webhooks(world: World) -> None:
    """A missed approval is dated by updatedAt; availability seen late is dated now."""
    store = RequestStore()
    request = world.requests[0]
    store.apply_webhook(webhook(Notification.MEDIA_PENDING, request, world), NOW)
    record = store.records[request.id]
    created = NOW - 5
    assert (
        store.reconcile(
            [polled(request.id, 2, created_at=created, updated_at=NOW + 50)], NOW + 60
        )
        == 1
    )
    assert record.status == RequestState.APPROVED
    assert record.transitions[RequestState.APPROVED] == NOW + 50
    assert (record.created_at, record.updated_at) == (created, NOW + 50)
    # Overseerr leaves the request's updatedAt alone when its media becomes available.
    assert (
        store.reconcile(
            [
                polled(
                    request.id,
                    2,
                    media_status=5,
                    created_at=created,
                    updated_at=NOW + 50,
                )
            ],
            NOW + 900,
        )
        == 1
    )
    assert record.transitions[RequestState.AVAILABLE] == NOW + 900
    assert record.title is not None
    assert (
        store.reconcile(
            [
                polled(
                    request.id,
                    2,
                    media_status=5,
                    created_at=created,
                    updated_at=NOW + 50,
                )
            ],
            NOW + 999,
        )
        == 0
    )


def test_reconcile_can_forget_requests_overseerr_dropped() -> None:
    """With prune, records missing from a full listing are removed."""
    store = RequestStore()
    store.reconcile([polled(1, 1), polled(2, 2)], NOW)
    assert store.reconcile([polled(1, 1)], NOW) == 0
    assert set(store.records) == {1, 2}
    assert store.reconcile([polled(1, 1)], NOW, prune=True) == 1
    assert set(store.records) == {1}


# The store: stats and storage


def _stats_store() -> RequestStore:
    """Four requests by two users, two of them available."""
    store = RequestStore()
    store.reconcile(
        [
            polled(1, 2, media_status=5, created_at=NOW - 4000, updated_at=NOW - 1000),
            polled(2, 1, created_at=NOW - 3000, requested_by="bob"),
            polled(3, 5, media_status=5, created_at=NOW - 2000, updated_at=NOW - 1000),
            polled(
                4, 3, created_at=NOW - 1000, updated_at=NOW - 10, requested_by="Bob"
            ),
        ],
        NOW,
    )
    return store


def test_stats() -> None:
    """Counts per state, the latest request, time to available and queries."""
    store = _stats_store()
    assert store.counts_by_state() == {
        "pending": 1,
        "approved": 0,
        "declined": 1,
        "failed": 0,
        "available": 2,
        "completed": 0,
    }
    latest = store.latest()
    assert latest is not None
    assert latest.request_id == 4
    assert store.average_time_to_available() == 2000.0
    ids = [r.request_id for r in store.query()]
    assert ids == [4, 3, 2, 1]
    assert [r.request_id for r in store.query(user="bob")] == [4, 2]
    assert [r.request_id for r in store.query(state="available", limit=1)] == [3]
    assert store.query(state="failed") == []
    assert store.query(limit=-1) == []


def test_an_empty_store_has_no_stats() -> None:
    """No requests: zero counts, no latest, no average."""
    store = RequestStore()
    assert set(store.counts_by_state().values()) == {0}
    assert store.latest() is None
    assert store.average_time_to_available() is None


def test_the_store_survives_a_restart(world: World) -> None:
    """as_stored is JSON-able and from_stored gives the same store back."""
    store = _stats_store()
    store.apply_webhook(
        webhook(Notification.MEDIA_PENDING, world.requests[0], world), NOW
    )
    store.apply_webhook({"notification_type": "ISSUE_CREATED"}, NOW)
    stored = json.loads(json.dumps(store.as_stored()))
    assert RequestStore.from_stored(stored) == store


@pytest.mark.parametrize("stored", [None, {}, {"format": 0, "records": []}])
def test_an_unknown_snapshot_gives_an_empty_store(stored: Any) -> None:
    """A missing or older snapshot starts over."""
    assert RequestStore.from_stored(stored) == RequestStore()
