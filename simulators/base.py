"""Shared machinery of every simulator: lifecycle, request recording and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
import random
import string
from typing import Self

from aiohttp import web

from .world import World

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HOST = "127.0.0.1"
HEX = "0123456789abcdef"


class Fault(StrEnum):
    """A failure a simulator can be told to show on every request."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"
    TRUNCATED = "truncated"
    RATE_LIMITED = "rate_limited"
    SLOW = "slow"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the simulator received it."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


def random_string(rng: random.Random, length: int, alphabet: str = HEX) -> str:
    """Return a random string drawn from an alphabet."""
    return "".join(rng.choice(alphabet) for _ in range(length))


def plex_token(rng: random.Random) -> str:
    """Return a 20 character token shaped like a Plex one."""
    return random_string(rng, 20, string.ascii_letters + string.digits + "-_")


class Simulator:
    """An aiohttp server faking one service, with recording and fault injection."""

    name = "simulator"

    def __init__(self, *, seed: int = 0, world: World | None = None) -> None:
        """Prepare the simulator on a household (a small one of its own by default)."""
        self.world = world if world is not None else World.generate(seed=seed)
        self.rng = random.Random(f"{seed}:{self.name}")
        self.requests: list[RecordedRequest] = []
        self.fault: Fault | None = None
        self.delay = 30.0
        self.retry_after = 60
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def url(self) -> str:
        """Return the base URL clients use."""
        return f"http://{HOST}:{self.port}"

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the service's routes."""
        raise NotImplementedError

    def error(self, request: web.Request, status: int) -> web.Response:
        """Return the service's own answer for an HTTP error status."""
        return web.Response(status=status)

    def unauthorized(self, request: web.Request) -> web.Response:
        """Return the service's answer to a wrong or missing credential."""
        return self.error(request, 401)

    async def start(self) -> None:
        """Start listening (on the remembered port after the first start)."""
        app = web.Application(middlewares=[self._record, self._inject_fault])
        self.add_routes(app.router)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
            access_log=None,  # request logs are kept in self.requests instead
        )
        await self._runner.setup()
        await self._listen()

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner = None
        self._site = None

    async def __aenter__(self) -> Self:
        """Start on entering the context."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop on leaving the context."""
        await self.stop()

    def set_fault(self, fault: Fault | None) -> None:
        """Set a fault that needs no listening change (all but DOWN)."""
        if Fault.DOWN in (fault, self.fault):
            raise ValueError("DOWN starts or stops listening: use async_set_fault")
        self.fault = fault

    def clear_fault(self) -> None:
        """Clear a fault other than DOWN."""
        self.set_fault(None)

    async def async_set_fault(self, fault: Fault | None) -> None:
        """Set any fault, stopping or resuming listening for DOWN."""
        if fault is Fault.DOWN and self.fault is not Fault.DOWN:
            await self._unlisten()
        elif fault is not Fault.DOWN and self.fault is Fault.DOWN:
            await self._listen()
        self.fault = fault

    async def async_clear_fault(self) -> None:
        """Clear any fault, listening again after DOWN."""
        await self.async_set_fault(None)

    async def _listen(self) -> None:
        """Open the listening socket."""
        if self._runner is None:
            raise RuntimeError(f"{self.name} simulator is not started")
        self._site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def _unlisten(self) -> None:
        """Close the listening socket and drop open connections, as a dead host."""
        if self._runner is None or self._site is None:
            raise RuntimeError(f"{self.name} simulator is not listening")
        await self._site.stop()
        self._site = None
        if (server := self._runner.server) is not None:
            for connection in server.connections:
                connection.force_close()

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Record the request before anything else sees it."""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=list(request.query.items()),
                headers=dict(request.headers.items()),
                body=await request.read(),
            )
        )
        return await handler(request)

    @web.middleware
    async def _inject_fault(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Answer according to the current fault."""
        match self.fault:
            case None | Fault.DOWN:
                return await handler(request)
            case Fault.UNAUTHORIZED:
                return self.unauthorized(request)
            case Fault.FORBIDDEN:
                return self.error(request, 403)
            case Fault.NOT_FOUND:
                return self.error(request, 404)
            case Fault.SERVER_ERROR:
                return self.error(request, 500)
            case Fault.RATE_LIMITED:
                response = self.error(request, 429)
                response.headers["Retry-After"] = str(self.retry_after)
                return response
            case Fault.SLOW:
                await asyncio.sleep(self.delay)
                return await handler(request)
            case Fault.MALFORMED:
                return _malformed(await _body_response(handler, request))
            case Fault.TRUNCATED:
                return await _truncated(request, await _body_response(handler, request))


async def _body_response(handler: Handler, request: web.Request) -> web.Response:
    """Run the real handler and return its (buffered) answer."""
    response = await handler(request)
    if not isinstance(response, web.Response):
        raise TypeError("only buffered answers can be malformed or truncated")
    return response


def _body_bytes(response: web.Response) -> bytes:
    """Return the bytes of a buffered answer."""
    if not isinstance(response.body, bytes):
        raise TypeError("only byte bodies can be malformed or truncated")
    return response.body


def _malformed(response: web.Response) -> web.Response:
    """Return the answer with status 200 and only the first half of its body."""
    body = _body_bytes(response)
    return web.Response(
        status=200,
        body=body[: len(body) // 2],
        content_type=response.content_type,
        charset=response.charset,
    )


async def _truncated(request: web.Request, response: web.Response) -> web.Response:
    """Announce the whole body, send half of it and hang up."""
    body = _body_bytes(response)
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = len(body) + 1
    await stream.prepare(request)
    await stream.write(body[: (len(body) + 1) // 2])
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError
