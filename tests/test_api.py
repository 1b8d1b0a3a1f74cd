"""The client layer alone (no Home Assistant): errors mapped, odd answers refused."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.smartplex.api import (
    ArrClient,
    OverseerrClient,
    PlexClient,
    PlexTvClient,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    SmartPlexRateLimitError,
    SmartPlexResponseError,
    SmartPlexTimeoutError,
    SmartPlexWrongServiceError,
    TautulliClient,
    create_service_client,
)
from custom_components.smartplex.api.http import ServiceHttp
from custom_components.smartplex.connections import InvalidUrlError, validate_url
from simulators import Fault, SimulatorStack

type Responder = Callable[[dict[str, tuple[int, Any]]], Awaitable[str]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
async def responder(socket_enabled: None) -> AsyncIterator[Responder]:
    """Serve fixed JSON answers per path: for answers no real service gives."""
    runners: list[web.AppRunner] = []

    async def serve(routes: dict[str, tuple[int, Any]]) -> str:
        async def answer(request: web.Request) -> web.Response:
            status, body = routes[request.path]
            return web.json_response(body, status=status)

        app = web.Application()
        for path in routes:
            app.router.add_get(path, answer)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield serve
    for runner in runners:
        await runner.cleanup()


async def test_rate_limit_carries_retry_after(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """A 429 says how long the service asked us to wait."""
    stack.radarr.set_fault(Fault.RATE_LIMITED)
    client = ArrClient(
        ServiceKind.RADARR, session, stack.radarr.url, stack.radarr.api_key
    )
    with pytest.raises(SmartPlexRateLimitError) as err:
        await client.async_get_service_info()
    assert err.value.retry_after == 60
    stack.radarr.retry_after = "Wed, 21 Oct 2026 07:28:00 GMT"  # type: ignore[assignment]
    with pytest.raises(SmartPlexRateLimitError) as err:
        await client.async_get_service_info()
    assert err.value.retry_after is None


async def test_timeout(session: aiohttp.ClientSession, stack: SimulatorStack) -> None:
    """A service slower than our patience is a timeout, a kind of connection error."""
    stack.sonarr.delay = 1
    stack.sonarr.set_fault(Fault.SLOW)
    http = ServiceHttp("Sonarr", session, stack.sonarr.url, timeout=0.05)
    with pytest.raises(SmartPlexTimeoutError):
        await http.get_json("/api/v3/system/status")


async def test_error_messages_carry_no_secret(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Tautulli's key travels in the query, but never into an error message."""
    client = TautulliClient(session, stack.tautulli.url, stack.tautulli.api_key)
    for fault in (Fault.SERVER_ERROR, Fault.DOWN, Fault.TRUNCATED):
        await stack.tautulli.async_set_fault(fault)
        with pytest.raises(SmartPlexApiError) as err:
            await client.async_get_service_info()
        assert stack.tautulli.api_key not in str(err.value)
        await stack.tautulli.async_clear_fault()


async def test_tautulli_wrong_key_is_auth_error_for_old_and_new_versions(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Tautulli says 400 (v2.10.5+) or 401 (older) for a bad key: both are auth errors."""
    client = TautulliClient(session, stack.tautulli.url, "0" * 32)
    for version in ("v2.17.2", "v2.10.4"):
        stack.tautulli.version = version
        with pytest.raises(SmartPlexAuthError):
            await client.async_get_service_info()


def test_only_optional_services_have_service_clients(
    session: aiohttp.ClientSession,
) -> None:
    """Plex has its own client; asking the factory for it is a programming error."""
    with pytest.raises(ValueError, match="not an optional service"):
        create_service_client(ServiceKind.PLEX, session, "http://127.0.0.1:1", "k")


@pytest.mark.parametrize(
    ("routes", "error"),
    [
        ({"/identity": (200, {"MediaContainer": {}})}, SmartPlexWrongServiceError),
        ({"/identity": (200, [1, 2])}, SmartPlexWrongServiceError),
        (
            {
                "/identity": (200, {"MediaContainer": {"machineIdentifier": "a"}}),
                "/": (200, {"MediaContainer": {"machineIdentifier": "a"}}),
            },
            SmartPlexResponseError,
        ),
        (
            {
                "/identity": (200, {"MediaContainer": {"machineIdentifier": "a"}}),
                "/": (
                    200,
                    {"MediaContainer": {"machineIdentifier": "b", "version": "1"}},
                ),
            },
            SmartPlexWrongServiceError,
        ),
        ({"/identity": (503, {})}, SmartPlexResponseError),
    ],
    ids=["no_identifier", "not_an_object", "no_version", "identity_changed", "503"],
)
async def test_plex_odd_answers(
    session: aiohttp.ClientSession,
    responder: Responder,
    routes: dict[str, tuple[int, Any]],
    error: type[Exception],
) -> None:
    """Answers a Plex server would not give are refused, each as its kind of error."""
    client = PlexClient(session, await responder(routes), "token", "client")
    with pytest.raises(error):
        await client.async_connect()


@pytest.mark.parametrize(
    ("kind", "routes", "error"),
    [
        (
            ServiceKind.RADARR,
            {"/api/v3/system/status": (200, {"appName": "Radarr"})},
            SmartPlexResponseError,
        ),
        (
            ServiceKind.OVERSEERR,
            {"/api/v1/status": (200, {"commitTag": "x"})},
            SmartPlexWrongServiceError,
        ),
        (
            ServiceKind.TAUTULLI,
            {"/api/v2": (200, {"result": "success"})},
            SmartPlexWrongServiceError,
        ),
        (
            ServiceKind.TAUTULLI,
            {"/api/v2": (200, {"response": {"result": "success", "data": {}}})},
            SmartPlexResponseError,
        ),
        (
            ServiceKind.TAUTULLI,
            {
                "/api/v2": (
                    404,
                    {"response": {"result": "error", "message": "API not enabled"}},
                )
            },
            SmartPlexResponseError,
        ),
    ],
    ids=[
        "arr_no_version",
        "overseerr_no_version",
        "no_envelope",
        "no_version",
        "api_off",
    ],
)
async def test_service_odd_answers(
    session: aiohttp.ClientSession,
    responder: Responder,
    kind: ServiceKind,
    routes: dict[str, tuple[int, Any]],
    error: type[Exception],
) -> None:
    """Answers the real services would not give are refused with a clear kind."""
    client = create_service_client(kind, session, await responder(routes), "key")
    with pytest.raises(error):
        await client.async_get_service_info()


@pytest.mark.parametrize(
    ("routes", "call"),
    [
        ({"/api/v2/pins": (201, {"id": "x"})}, "pin"),
        ({"/api/v2/resources": (200, {"not": "a list"})}, "servers"),
        ({"/api/v2/resources": (200, [{"provides": "server"}])}, "servers"),
    ],
    ids=["bad_pin", "resources_not_a_list", "resource_without_fields"],
)
async def test_plex_tv_odd_answers(
    session: aiohttp.ClientSession,
    responder: Responder,
    routes: dict[str, tuple[int, Any]],
    call: str,
) -> None:
    """plex.tv answers that cannot be used are response errors."""
    client = PlexTvClient(session, "client", await responder(routes))
    request = (
        client.async_create_pin() if call == "pin" else client.async_get_servers("t")
    )
    with pytest.raises(SmartPlexResponseError):
        await request


async def test_plex_tv_lists_only_servers(
    session: aiohttp.ClientSession, responder: Responder
) -> None:
    """Players and other devices on the account are not offered as servers."""
    base = await responder(
        {
            "/api/v2/resources": (
                200,
                [
                    {"provides": "client,player", "name": "TV"},
                    {
                        "provides": "server",
                        "name": "Home",
                        "clientIdentifier": "abc",
                        "owned": "1",
                        "connections": [{"uri": "http://10.0.0.2:32400", "local": 1}],
                    },
                ],
            )
        }
    )
    (server,) = await PlexTvClient(session, "client", base).async_get_servers("token")
    assert server.name == "Home"
    assert server.owned is True
    assert server.access_token == "token"
    assert server.connections[0].local is True


async def test_overseerr_checks_the_key(
    session: aiohttp.ClientSession, stack: SimulatorStack
) -> None:
    """Overseerr's status needs no key, so the client checks the key on a second call."""
    client = OverseerrClient(session, stack.overseerr.url, "wrong")
    with pytest.raises(SmartPlexAuthError):
        await client.async_get_service_info()


@pytest.mark.parametrize(
    "url", ["http://[::1", "mailto:someone@example.com", "http://h/?a=1", "http://h/#x"]
)
def test_validate_url_refuses(url: str) -> None:
    """Addresses SmartPlex cannot use are refused."""
    with pytest.raises(InvalidUrlError):
        validate_url(url)


def test_validate_url_cleans() -> None:
    """A URL base is kept; a trailing slash and spaces are not."""
    assert (
        validate_url(" https://Box.local:8989/sonarr/ ")
        == "https://box.local:8989/sonarr"
    )
