"""Contract tests of the Overseerr simulator."""

import base64
from collections.abc import AsyncIterator
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from simulators import SimulatorStack
from simulators.webhooks import DEFAULT_JSON_PAYLOAD

FORBIDDEN = {
    "status": 403,
    "error": "You do not have permission to access this endpoint",
}


async def test_status_needs_no_key(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{stack.overseerr.url}/api/v1/status") as response:
        assert response.status == 200
        assert await response.json() == {
            "version": stack.overseerr.version,
            "commitTag": stack.overseerr.commit_tag,
            "updateAvailable": False,
            "commitsBehind": 0,
            "restartRequired": False,
        }


async def test_me_is_the_admin(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    headers = {"X-Api-Key": stack.overseerr.api_key}
    async with session.get(
        f"{stack.overseerr.url}/api/v1/auth/me", headers=headers
    ) as response:
        user = await response.json()
    assert user["id"] == 1
    assert user["permissions"] == 2
    assert user["displayName"] == user["plexUsername"]
    assert user["createdAt"].endswith(".000Z")


async def test_settings_main(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    stack.overseerr.application_url = "https://requests.example.com"
    headers = {"X-Api-Key": stack.overseerr.api_key}
    async with session.get(
        f"{stack.overseerr.url}/api/v1/settings/main", headers=headers
    ) as response:
        settings = await response.json()
    assert settings["applicationTitle"] == "Overseerr"
    assert settings["applicationUrl"] == "https://requests.example.com"


@pytest.mark.parametrize("path", ["/api/v1/auth/me", "/api/v1/settings/main"])
@pytest.mark.parametrize("key", [None, "wrong"])
async def test_bad_key_is_403(
    stack: SimulatorStack, session: aiohttp.ClientSession, path: str, key: str | None
) -> None:
    headers = {"X-Api-Key": key} if key else {}
    async with session.get(f"{stack.overseerr.url}{path}", headers=headers) as response:
        assert response.status == 403
        assert await response.json() == FORBIDDEN


async def test_unknown_path(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{stack.overseerr.url}/api/v1/nope") as response:
        assert response.status == 404
        assert (await response.json())["message"] == "not found"


async def api(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[int, Any]:
    """Call the API with the key; return the status and the JSON body (or None)."""
    headers = {"X-Api-Key": stack.overseerr.api_key}
    async with session.request(
        method, f"{stack.overseerr.url}/api/v1{path}", headers=headers, **kwargs
    ) as response:
        body = await response.json() if response.content_length else None
        return response.status, body


@pytest.fixture
async def big_stack(socket_enabled: None) -> AsyncIterator[SimulatorStack]:
    """Start a stack with enough requests for paging and filters."""
    async with SimulatorStack(seed=3, movies=300, shows=40) as started:
        yield started


async def test_request_list_pages_newest_first(
    big_stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    requests = big_stack.world.requests
    status, first = await api(
        big_stack, session, "GET", "/request", params={"take": "5"}
    )
    assert status == 200
    assert first["pageInfo"] == {
        "pages": -(-len(requests) // 5),
        "pageSize": 5,
        "results": len(requests),
        "page": 1,
    }
    ids = sorted((r.id for r in requests), reverse=True)
    assert [r["id"] for r in first["results"]] == ids[:5]
    _, second = await api(
        big_stack, session, "GET", "/request", params={"take": "5", "skip": "5"}
    )
    assert second["pageInfo"]["page"] == 2
    assert [r["id"] for r in second["results"]] == ids[5:10]


async def test_request_shape(
    big_stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    request = next(r for r in big_stack.world.requests if r.media_type == "tv")
    status, body = await api(big_stack, session, "GET", f"/request/{request.id}")
    assert status == 200
    assert body["status"] == request.status
    assert body["createdAt"].endswith(".000Z")
    assert body["is4k"] is False
    assert body["requestedBy"]["id"] == request.requested_by
    assert {"displayName", "email"} <= set(body["requestedBy"])
    media = body["media"]
    assert media["id"] == request.media_id
    assert media["mediaType"] == "tv"
    assert media["tvdbId"] == request.tvdb_id
    assert media["ratingKey"] == str(request.rating_key)
    assert [s["seasonNumber"] for s in body["seasons"]] == request.seasons


@pytest.mark.parametrize(
    ("filter_", "statuses"),
    [("pending", {1}), ("approved", {2}), ("failed", {4}), ("available", {5})],
)
async def test_request_filters(
    big_stack: SimulatorStack,
    session: aiohttp.ClientSession,
    filter_: str,
    statuses: set[int],
) -> None:
    _, body = await api(
        big_stack, session, "GET", "/request", params={"filter": filter_, "take": "100"}
    )
    expected = [r for r in big_stack.world.requests if r.status in statuses]
    assert body["pageInfo"]["results"] == len(expected) > 0
    assert {r["status"] for r in body["results"]} == statuses


async def test_request_sort_and_requested_by(
    big_stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, body = await api(
        big_stack,
        session,
        "GET",
        "/request",
        params={"sort": "modified", "take": "100", "requestedBy": "3"},
    )
    assert {r["requestedBy"]["id"] for r in body["results"]} == {3}
    updated = [r["updatedAt"] for r in body["results"]]
    assert updated == sorted(updated, reverse=True)


async def test_request_count(
    big_stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    requests = big_stack.world.requests
    _, count = await api(big_stack, session, "GET", "/request/count")
    assert count["total"] == len(requests) == count["movie"] + count["tv"]
    assert count["pending"] == sum(r.status == 1 for r in requests)
    assert count["completed"] == sum(r.status == 5 for r in requests)
    assert count["processing"] + count["available"] == count["approved"]


async def test_unknown_request_is_404(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    assert await api(stack, session, "GET", "/request/9999") == (
        404,
        {"message": "Request not found."},
    )


async def test_delete_media_removes_its_requests(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    request = stack.world.requests[0]
    status, _ = await api(stack, session, "DELETE", f"/media/{request.media_id}")
    assert status == 204
    assert all(r.media_id != request.media_id for r in stack.world.requests)
    assert (await api(stack, session, "GET", f"/request/{request.id}"))[0] == 404
    assert (await api(stack, session, "DELETE", f"/media/{request.media_id}"))[0] == 404


async def test_webhook_settings_round_trip(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    _, default = await api(stack, session, "GET", "/settings/notifications/webhook")
    assert default["enabled"] is False
    template = default["options"]["jsonPayload"]
    assert json.loads(template)["notification_type"] == "{{notification_type}}"
    settings = {
        "enabled": True,
        "types": 4 | 8,
        "options": {
            "webhookUrl": "http://127.0.0.1:1/hook",
            "authHeader": "Bearer xyz",
            "jsonPayload": json.dumps(template),
        },
    }
    status, stored = await api(
        stack, session, "POST", "/settings/notifications/webhook", json=settings
    )
    assert status == 200
    assert base64.b64decode(stored["options"]["jsonPayload"]).decode() == json.dumps(
        template
    )
    _, again = await api(stack, session, "GET", "/settings/notifications/webhook")
    assert again == settings | {
        "options": settings["options"] | {"jsonPayload": template}
    }


async def test_set_request_status_sends_the_webhook(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    received: list[tuple[str | None, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        received.append((request.headers.get("Authorization"), await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    template = json.loads(base64.b64decode(DEFAULT_JSON_PAYLOAD))
    settings = {
        "enabled": True,
        "types": 16,
        "options": {
            "webhookUrl": url,
            "authHeader": "Basic YTpi",
            "jsonPayload": json.dumps(template),
        },
    }
    await api(stack, session, "POST", "/settings/notifications/webhook", json=settings)
    request = stack.world.requests[0]
    await stack.overseerr.set_request_status(request.id, 2)
    assert received == []
    await stack.overseerr.set_request_status(request.id, 4)
    assert request.status == 4
    ((auth, body),) = received
    assert auth == "Basic YTpi"
    assert body["notification_type"] == "MEDIA_FAILED"
    assert body["request"]["request_id"] == str(request.id)
    status, _ = await api(
        stack, session, "POST", "/settings/notifications/webhook/test", json=settings
    )
    assert status == 204
    assert received[-1][1]["notification_type"] == "TEST_NOTIFICATION"
    assert received[-1][1]["media"] is None
    await runner.cleanup()
    status, failed = await api(
        stack, session, "POST", "/settings/notifications/webhook/test", json=settings
    )
    assert (status, failed) == (
        500,
        {"message": "Failed to send webhook notification."},
    )


async def test_jobs(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    _, jobs = await api(stack, session, "GET", "/settings/jobs")
    assert "availability-sync" in {job["id"] for job in jobs}
    status, job = await api(
        stack, session, "POST", "/settings/jobs/availability-sync/run"
    )
    assert (status, job["name"]) == (200, "Media Availability Sync")
    assert stack.overseerr.job_runs == ["availability-sync"]
    assert (await api(stack, session, "POST", "/settings/jobs/nope/run"))[0] == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/request"),
        ("GET", "/api/v1/request/count"),
        ("DELETE", "/api/v1/media/1"),
        ("GET", "/api/v1/settings/notifications/webhook"),
        ("POST", "/api/v1/settings/jobs/availability-sync/run"),
    ],
)
async def test_new_endpoints_need_the_key(
    stack: SimulatorStack, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with session.request(method, f"{stack.overseerr.url}{path}") as response:
        assert response.status == 403
        assert await response.json() == FORBIDDEN
