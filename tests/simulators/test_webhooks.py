"""Webhook senders, received by a tiny aiohttp server."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
import json
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from simulators import SimulatorStack
from simulators.webhooks import send_overseerr_webhook, send_plex_webhook
from simulators.world import MediaRequest


@dataclass
class Received:
    """What the receiver got."""

    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    parts: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@pytest.fixture
async def receiver(socket_enabled: None) -> AsyncIterator[tuple[str, list[Received]]]:
    """Serve a webhook receiver recording every POST."""
    received: list[Received] = []

    async def handle(request: web.Request) -> web.Response:
        got = Received(request.content_type, dict(request.headers))
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                assert isinstance(part, aiohttp.BodyPartReader)
                got.parts[part.name or ""] = (
                    part.headers.get("Content-Type", ""),
                    await part.read(),
                )
        else:
            got.json = await request.json()
        received.append(got)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/hook", received
    await runner.cleanup()


def leaves(value: Any) -> list[Any]:
    """Return every leaf of a JSON value."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


async def test_overseerr_webhook_default_template(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[Received]],
) -> None:
    url, received = receiver
    request = next(r for r in stack.world.requests if r.media_type == "movie")
    await send_overseerr_webhook(
        session,
        url,
        "MEDIA_APPROVED",
        request,
        stack.world,
        auth_header="Bearer s3cret",
    )
    (got,) = received
    assert got.content_type == "application/json"
    assert got.headers["Authorization"] == "Bearer s3cret"
    body = got.json
    assert list(body) == [
        "notification_type",
        "event",
        "subject",
        "message",
        "image",
        "media",
        "request",
        "issue",
        "comment",
        "extra",
    ]
    assert body["notification_type"] == "MEDIA_APPROVED"
    assert body["event"] == "Movie Request Approved"
    assert body["media"]["tmdbId"] == str(request.tmdb_id)
    assert body["media"]["tvdbId"] == ""
    assert body["media"]["status"] in {"PENDING", "PROCESSING", "AVAILABLE", "UNKNOWN"}
    assert body["request"]["request_id"] == str(request.id)
    assert body["issue"] is None
    assert body["comment"] is None
    assert body["extra"] == []
    assert all(isinstance(leaf, str) for leaf in leaves(body) if leaf is not None)


async def test_overseerr_webhook_tv_has_seasons_and_no_auth(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[Received]],
) -> None:
    url, received = receiver
    show = next(iter(stack.world.shows.values()))
    request = MediaRequest(
        id=99,
        media_id=stack.world.new_id(),
        media_type="tv",
        tmdb_id=show.tmdb_id,
        tvdb_id=show.tvdb_id,
        rating_key=show.rating_key,
        requested_by=2,
        status=1,
        media_status=2,
        created_at=stack.world.now,
        updated_at=stack.world.now,
        seasons=[1, 2],
    )
    await send_overseerr_webhook(session, url, "MEDIA_PENDING", request, stack.world)
    (got,) = received
    assert "Authorization" not in got.headers
    assert got.json["event"] == "New Series Request"
    assert got.json["media"]["tvdbId"] == str(request.tvdb_id)
    assert got.json["extra"] == [{"name": "Requested Seasons", "value": "1, 2"}]


@pytest.mark.parametrize("thumb", [False, True])
async def test_plex_webhook_multipart(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[Received]],
    thumb: bool,
) -> None:
    url, received = receiver
    movie = next(iter(stack.world.movies.values()))
    await send_plex_webhook(
        session,
        url,
        "library.new",
        movie.rating_key,
        stack.world,
        server_uuid=stack.plex.machine_identifier,
        thumb=thumb,
    )
    (got,) = received
    assert got.content_type == "multipart/form-data"
    content_type, raw = got.parts["payload"]
    assert content_type == "application/json"
    payload = json.loads(raw)
    assert payload["event"] == "library.new"
    assert payload["Server"]["uuid"] == stack.plex.machine_identifier
    assert payload["Account"]["id"] == 1
    metadata = payload["Metadata"]
    assert metadata["ratingKey"] == str(movie.rating_key)
    assert isinstance(metadata["librarySectionID"], int)
    assert isinstance(metadata["addedAt"], int)
    assert isinstance(metadata["duration"], int)
    assert {"id": f"tmdb://{movie.tmdb_id}"} in metadata["Guid"]
    assert ("thumb" in got.parts) is thumb
    if thumb:
        assert got.parts["thumb"][0] == "image/jpeg"
        assert got.parts["thumb"][1].startswith(b"\xff\xd8")


async def test_plex_webhook_episode_play(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    receiver: tuple[str, list[Received]],
) -> None:
    url, received = receiver
    episode = next(iter(stack.world.episodes.values()))
    await send_plex_webhook(
        session,
        url,
        "media.play",
        episode.rating_key,
        stack.world,
        server_uuid="abc",
        user_id=3,
    )
    payload = json.loads(received[0].parts["payload"][1])
    assert payload["owner"] is False
    assert set(payload["Player"]) == {"local", "publicAddress", "title", "uuid"}
    metadata = payload["Metadata"]
    assert metadata["grandparentRatingKey"] == str(episode.show_key)
    assert metadata["index"] == episode.index
    assert isinstance(metadata["parentIndex"], int)
