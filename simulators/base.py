"""Shared machinery of every simulator: lifecycle, request recording and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
import json
import random
import socket
import string
from typing import Any, NoReturn, Self
from xml.etree import ElementTree as ET

from aiohttp import web

from .world import World

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HOST = "127.0.0.1"
HEX = "0123456789abcdef"


class Fault(StrEnum):
    """A failure a simulator can be told to show, on every path or below a prefix."""

    # The credential is rejected (401 or the service's own way) or not allowed (403);
    # the paths a service answers without a credential still answer.
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    SERVER_ERROR = "server_error"
    MALFORMED = "malformed"  # status 200 and half of the body
    TRUNCATED = "truncated"  # the whole body announced, half of it sent, hung up
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    SLOW = "slow"  # answers after `delay` seconds: a timeout for a less patient client
    RESET = "reset"  # the connection is dropped unanswered (refused, for one path)
    LOST = "lost"  # the request is served, then the connection dropped unanswered
    DOWN = "down"  # nothing listens: connections are refused (whole simulator only)
    MISSING_FIELDS = "missing_fields"  # every scalar field of the answer left out
    NULL_FIELDS = "null_fields"  # every scalar field of the answer null
    NUMBERS_AS_STRINGS = "numbers_as_strings"  # every number of the answer a string


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
    # Path prefixes the service answers without a credential (401/403 spare them).
    public_paths: tuple[str, ...] = ()
    # Fields the schema faults leave alone: the envelope that names the service.
    envelope_fields: frozenset[str] = frozenset()

    def __init__(self, *, seed: int = 0, world: World | None = None) -> None:
        """Prepare the simulator on a household (a small one of its own by default)."""
        self.world = world if world is not None else World.generate(seed=seed)
        self.rng = random.Random(f"{seed}:{self.name}")
        self.requests: list[RecordedRequest] = []
        self.faults: dict[str, Fault] = {}
        # Faults of one HTTP method below a prefix; they win over `faults`.
        self.method_faults: dict[tuple[str, str], Fault] = {}
        # Awaited before a request below the prefix is served: what else happens then.
        self.before: dict[str, Callable[[], Awaitable[None]]] = {}
        self.delay = 30.0
        self.retry_after = 60
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._kept_port: socket.socket | None = None

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
        if self._kept_port is not None:
            self._kept_port.close()
            self._kept_port = None
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

    @property
    def fault(self) -> Fault | None:
        """Return the fault shown on every path, if any."""
        return self.faults.get("")

    def fault_for(self, path: str, method: str | None = None) -> Fault | None:
        """Return the fault a request shows: the one of its longest faulty prefix.

        A fault set for the request's method wins over one set for every method.
        """
        by_method = {p: f for (m, p), f in self.method_faults.items() if m == method}
        for faults in (by_method, self.faults):
            prefixes = [prefix for prefix in faults if path.startswith(prefix)]
            if prefixes:
                return faults[max(prefixes, key=len)]
        return None

    def set_fault(
        self, fault: Fault | None, *, prefix: str = "", method: str | None = None
    ) -> None:
        """Show a fault below a path prefix ("" for all paths); None clears it.

        With `method` (say "DELETE") only requests of that method show it. DOWN stops
        listening: use async_set_fault for it.
        """
        if fault is Fault.DOWN or (prefix == "" and self.fault is Fault.DOWN):
            raise ValueError("DOWN starts or stops listening: use async_set_fault")
        self._keep_fault(fault, prefix, method)

    def clear_fault(self) -> None:
        """Clear every fault (DOWN needs async_clear_fault)."""
        if self.fault is Fault.DOWN:
            raise ValueError("DOWN starts or stops listening: use async_clear_fault")
        self.faults.clear()
        self.method_faults.clear()

    async def async_set_fault(
        self, fault: Fault | None, *, prefix: str = "", method: str | None = None
    ) -> None:
        """Show any fault below a prefix; DOWN (whole simulator only) stops listening."""
        if (prefix != "" or method is not None) and fault is Fault.DOWN:
            raise ValueError("DOWN concerns the whole simulator: use RESET for a path")
        if method is None and prefix == "":
            if fault is Fault.DOWN and self.fault is not Fault.DOWN:
                await self._unlisten()
            elif fault is not Fault.DOWN and self.fault is Fault.DOWN:
                await self._listen()
        self._keep_fault(fault, prefix, method)

    async def async_clear_fault(self) -> None:
        """Clear every fault, listening again after DOWN."""
        await self.async_set_fault(None)
        self.faults.clear()
        self.method_faults.clear()

    def _keep_fault(self, fault: Fault | None, prefix: str, method: str | None) -> None:
        """Remember (or forget, for None) the fault of a prefix (and method)."""
        if method is not None:
            if fault is None:
                self.method_faults.pop((method, prefix), None)
            else:
                self.method_faults[method, prefix] = fault
        elif fault is None:
            self.faults.pop(prefix, None)
        else:
            self.faults[prefix] = fault

    async def _listen(self) -> None:
        """Open the listening socket (on the port a DOWN fault kept)."""
        if self._runner is None:
            raise RuntimeError(f"{self.name} simulator is not started")
        if self._kept_port is not None:
            self._kept_port.close()
            self._kept_port = None
        self._site = web.TCPSite(self._runner, HOST, self.port, reuse_address=True)
        await self._site.start()
        self.port = self._runner.addresses[0][1]

    async def _unlisten(self) -> None:
        """Close the listening socket and drop open connections, as a dead host.

        The port stays bound, not listening: connections are refused, and no other
        socket (a client's, say) takes the port before the simulator listens again.
        """
        if self._runner is None or self._site is None:
            raise RuntimeError(f"{self.name} simulator is not listening")
        await self._site.stop()
        self._kept_port = socket.socket()
        self._kept_port.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._kept_port.bind((HOST, self.port))
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
        for prefix, hook in list(self.before.items()):
            if request.path.startswith(prefix):
                await hook()
        return await handler(request)

    @web.middleware
    async def _inject_fault(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """Answer according to the fault of the request's path."""
        fault = self.fault_for(request.path, request.method)
        if fault in {Fault.UNAUTHORIZED, Fault.FORBIDDEN} and request.path.startswith(
            self.public_paths
        ):
            fault = None
        match fault:
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
            case Fault.RESET:
                return _hang_up(request)
            case Fault.LOST:
                await handler(request)
                return _hang_up(request)
            case Fault.MALFORMED:
                return _malformed(await _body_response(handler, request))
            case Fault.TRUNCATED:
                return await _truncated(request, await _body_response(handler, request))
            case _:  # the schema faults
                response = await _body_response(handler, request)
                return _reshaped(response, fault, self.envelope_fields)


async def _body_response(handler: Handler, request: web.Request) -> web.Response:
    """Run the real handler and return its (buffered) answer."""
    response = await handler(request)
    if not isinstance(response, web.Response):
        raise TypeError("only buffered answers can be malformed or truncated")
    return response


def _body_bytes(response: web.Response) -> bytes:
    """Return the bytes of a buffered answer (none for an answer without a body)."""
    if response.body is None:
        return b""
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
    _hang_up(request)


def _hang_up(request: web.Request) -> NoReturn:
    """Close the connection without another byte."""
    if request.transport is not None:
        request.transport.close()
    raise asyncio.CancelledError


def _reshaped(
    response: web.Response, fault: Fault, keep: frozenset[str]
) -> web.Response:
    """Reshape the fields of a successful JSON or XML answer; pass any other one."""
    body = _body_bytes(response)
    if response.status >= 300 or not body:
        return response
    if response.content_type == "application/json":
        reshaped = json.dumps(_reshape(json.loads(body), fault, keep)).encode()
    elif response.content_type in {"application/xml", "text/xml"}:
        root = ET.fromstring(body)  # noqa: S314 (our own answer)
        if fault is not Fault.NUMBERS_AS_STRINGS:  # XML numbers are text already
            for element in root.iter():
                element.attrib = {
                    name: value if name in keep else ""
                    for name, value in element.attrib.items()
                    if name in keep or fault is Fault.NULL_FIELDS
                }
        reshaped = ET.tostring(root, xml_declaration=True, encoding="utf-8")
    else:
        return response
    return web.Response(
        status=response.status,
        body=reshaped,
        content_type=response.content_type,
        charset=response.charset,
    )


_LEFT_OUT = object()


def _reshape(value: Any, fault: Fault, keep: frozenset[str]) -> Any:
    """Reshape every scalar of a JSON document (objects and lists stay)."""
    if isinstance(value, dict):
        reshaped = {
            key: item if key in keep else _reshape(item, fault, keep)
            for key, item in value.items()
        }
        return {key: item for key, item in reshaped.items() if item is not _LEFT_OUT}
    if isinstance(value, list):
        items = [_reshape(item, fault, keep) for item in value]
        return [item for item in items if item is not _LEFT_OUT]
    match fault:
        case Fault.MISSING_FIELDS:
            return _LEFT_OUT
        case Fault.NULL_FIELDS:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value
