"""Fault injection and request recording, common to every simulator."""

import asyncio
import json
import socket
import time
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from simulators import Fault, RecordedRequest, Simulator, SimulatorStack

from .helpers import parse_xml

NAMES = ["plex", "plextv", "sonarr", "radarr", "tautulli", "overseerr"]


def probe(stack: SimulatorStack, name: str) -> tuple[Simulator, str, dict[str, str]]:
    """Return a simulator and a request that succeeds on it without faults."""
    match name:
        case "plex":
            return stack.plex, f"{stack.plex.url}/", {"X-Plex-Token": stack.plex.token}
        case "plextv":
            headers = {"X-Plex-Token": stack.plex.token, "Accept": "application/json"}
            return stack.plextv, f"{stack.plextv.url}/api/v2/user", headers
        case "sonarr" | "radarr":
            arr = stack.sonarr if name == "sonarr" else stack.radarr
            return arr, f"{arr.url}/api/v3/system/status", {"X-Api-Key": arr.api_key}
        case "tautulli":
            key = stack.tautulli.api_key
            return (
                stack.tautulli,
                f"{stack.tautulli.url}/api/v2?apikey={key}&cmd=status",
                {},
            )
    headers = {"X-Api-Key": stack.overseerr.api_key}
    return stack.overseerr, f"{stack.overseerr.url}/api/v1/auth/me", headers


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("plex", 401),
        ("plextv", 401),
        ("sonarr", 401),
        ("radarr", 401),
        ("tautulli", 400),
        ("overseerr", 403),
    ],
)
async def test_unauthorized_looks_like_a_wrong_key(
    stack: SimulatorStack, session: aiohttp.ClientSession, name: str, status: int
) -> None:
    sim, url, headers = probe(stack, name)
    sim.set_fault(Fault.UNAUTHORIZED)
    assert sim.fault is Fault.UNAUTHORIZED
    async with session.get(url, headers=headers) as response:
        assert response.status == status
        faulted = await response.read()
    sim.clear_fault()
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
    if name == "plex":
        assert b"<h1>401 Unauthorized</h1>" in faulted
    if name == "tautulli":
        assert json.loads(faulted)["response"]["message"] == "Invalid apikey"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("fault", "status"),
    [(Fault.FORBIDDEN, 403), (Fault.NOT_FOUND, 404), (Fault.SERVER_ERROR, 500)],
)
async def test_error_statuses(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    name: str,
    fault: Fault,
    status: int,
) -> None:
    sim, url, headers = probe(stack, name)
    sim.set_fault(fault)
    async with session.get(url, headers=headers) as response:
        assert response.status == status


@pytest.mark.parametrize("name", NAMES)
async def test_rate_limited(
    stack: SimulatorStack, session: aiohttp.ClientSession, name: str
) -> None:
    sim, url, headers = probe(stack, name)
    sim.retry_after = 7
    sim.set_fault(Fault.RATE_LIMITED)
    async with session.get(url, headers=headers) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("name", NAMES)
async def test_malformed(
    stack: SimulatorStack, session: aiohttp.ClientSession, name: str
) -> None:
    sim, url, headers = probe(stack, name)
    async with session.get(url, headers=headers) as response:
        content_type = response.content_type
    sim.set_fault(Fault.MALFORMED)
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.content_type == content_type
        body = await response.text()
    parse = json.loads if content_type == "application/json" else parse_xml
    with pytest.raises((ValueError, ET.ParseError)):
        parse(body)


@pytest.mark.parametrize("name", NAMES)
async def test_truncated(
    stack: SimulatorStack, session: aiohttp.ClientSession, name: str
) -> None:
    sim, url, headers = probe(stack, name)
    sim.set_fault(Fault.TRUNCATED)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with session.get(url, headers=headers) as response:
            await response.read()
    sim.clear_fault()
    async with session.get(url, headers=headers) as response:
        assert response.status == 200


async def test_slow(stack: SimulatorStack, session: aiohttp.ClientSession) -> None:
    sim, url, headers = probe(stack, "sonarr")
    assert sim.delay == 30
    sim.delay = 0.2
    sim.set_fault(Fault.SLOW)
    started = time.monotonic()
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
    assert time.monotonic() - started >= 0.2


async def test_slow_times_a_client_out(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim, url, headers = probe(stack, "plex")
    sim.set_fault(Fault.SLOW)
    timeout = aiohttp.ClientTimeout(total=0.1)
    with pytest.raises(asyncio.TimeoutError):
        async with session.get(url, headers=headers, timeout=timeout):
            pass


@pytest.mark.parametrize("name", NAMES)
async def test_down_refuses_then_comes_back_on_the_same_port(
    stack: SimulatorStack, session: aiohttp.ClientSession, name: str
) -> None:
    sim, url, headers = probe(stack, name)
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
    port = sim.port
    with pytest.raises(ValueError, match="async_set_fault"):
        sim.set_fault(Fault.DOWN)
    await sim.async_set_fault(Fault.DOWN)
    assert sim.fault is Fault.DOWN
    with pytest.raises(aiohttp.ClientConnectorError):
        async with session.get(url, headers=headers):
            pass
    # The port stays taken while down: nothing else can bind it meanwhile.
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(("127.0.0.1", port))
    await sim.async_clear_fault()
    assert sim.fault is None
    assert sim.port == port
    async with session.get(url, headers=headers) as response:
        assert response.status == 200


async def test_fault_of_one_method(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim = stack.radarr
    headers = {"X-Api-Key": sim.api_key}
    movie = next(m for m in stack.world.movies.values() if m.radarr_id and m.file)
    url = f"{sim.url}/api/v3/movie/{movie.radarr_id}"
    sim.set_fault(Fault.NOT_FOUND, prefix="/api/v3/movie")
    sim.set_fault(Fault.SERVER_ERROR, prefix="/api/v3/", method="DELETE")
    async with session.delete(url, headers=headers) as response:
        assert response.status == 500  # the method's fault wins over a longer prefix
    async with session.get(url, headers=headers) as response:
        assert response.status == 404
    assert movie.file is not None
    assert movie.file.exists
    sim.set_fault(None, prefix="/api/v3/", method="DELETE")
    assert sim.method_faults == {}
    with pytest.raises(ValueError, match="RESET"):
        await sim.async_set_fault(Fault.DOWN, method="GET")
    sim.set_fault(Fault.SERVER_ERROR, prefix="/api/v3/", method="PUT")
    sim.clear_fault()
    assert (sim.faults, sim.method_faults) == ({}, {})


async def test_lost_answer_after_serving(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim = stack.radarr
    movie = next(m for m in stack.world.movies.values() if m.radarr_id and m.file)
    url = f"{sim.url}/api/v3/movie/{movie.radarr_id}?deleteFiles=true"
    sim.set_fault(Fault.LOST, prefix="/api/v3/movie/", method="DELETE")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with session.delete(url, headers={"X-Api-Key": sim.api_key}):
            pass
    assert movie.file is not None
    assert not movie.file.exists  # done, though nobody heard of it


async def test_requests_are_recorded(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim = stack.plextv
    sim.set_fault(Fault.SERVER_ERROR)
    async with session.post(
        f"{sim.url}/api/v2/pins?strong=true",
        headers={"X-Plex-Client-Identifier": "abc"},
        data=b"payload",
    ):
        pass
    (recorded,) = sim.requests
    assert isinstance(recorded, RecordedRequest)
    assert recorded.method == "POST"
    assert recorded.path == "/api/v2/pins"
    assert recorded.query == [("strong", "true")]
    assert recorded.headers["X-Plex-Client-Identifier"] == "abc"
    assert recorded.body == b"payload"
    assert not stack.plex.requests


async def test_fault_below_a_prefix_longest_wins(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim, root, headers = probe(stack, "plex")
    sim.set_fault(Fault.SERVER_ERROR, prefix="/library")
    sim.set_fault(Fault.NOT_FOUND, prefix="/library/sections")
    assert sim.fault is None
    statuses = {}
    for path in ("/", "/library", "/library/sections", "/identity"):
        async with session.get(sim.url + path, headers=headers) as response:
            statuses[path] = response.status
    assert statuses == {
        "/": 200,
        "/library": 500,
        "/library/sections": 404,
        "/identity": 200,
    }
    sim.set_fault(None, prefix="/library/sections")
    async with session.get(f"{root}library/sections", headers=headers) as response:
        assert response.status == 500
    sim.clear_fault()
    assert sim.faults == {}


@pytest.mark.parametrize(
    ("name", "public"), [("plex", "/identity"), ("overseerr", "/api/v1/status")]
)
@pytest.mark.parametrize("fault", [Fault.UNAUTHORIZED, Fault.FORBIDDEN])
async def test_rejections_spare_public_paths(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    name: str,
    public: str,
    fault: Fault,
) -> None:
    sim, url, headers = probe(stack, name)
    sim.set_fault(fault)
    async with session.get(sim.url + public) as response:
        assert response.status == 200
    async with session.get(url, headers=headers) as response:
        assert response.status in {401, 403}


async def test_reset_drops_one_path(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim, url, headers = probe(stack, "sonarr")
    await sim.async_set_fault(Fault.RESET, prefix="/api/v3/diskspace")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with session.get(f"{sim.url}/api/v3/diskspace", headers=headers):
            pass
    async with session.get(url, headers=headers) as response:
        assert response.status == 200
    with pytest.raises(ValueError, match="RESET"):
        await sim.async_set_fault(Fault.DOWN, prefix="/api")
    with pytest.raises(ValueError, match="async_set_fault"):
        sim.set_fault(Fault.DOWN, prefix="/api")
    await sim.async_clear_fault()
    assert sim.faults == {}


async def arr_disks(
    stack: SimulatorStack, session: aiohttp.ClientSession, fault: Fault | None
) -> list[dict[str, object]]:
    """Return Radarr's disks as sent under a fault."""
    stack.radarr.set_fault(fault)
    headers = {"X-Api-Key": stack.radarr.api_key}
    async with session.get(
        f"{stack.radarr.url}/api/v3/diskspace", headers=headers
    ) as response:
        disks: list[dict[str, object]] = await response.json()
    return disks


async def test_schema_faults_reshape_every_scalar(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    disks = await arr_disks(stack, session, None)
    assert disks
    assert await arr_disks(stack, session, Fault.MISSING_FIELDS) == [{} for _ in disks]
    assert await arr_disks(stack, session, Fault.NULL_FIELDS) == [
        dict.fromkeys(disk) for disk in disks
    ]
    assert await arr_disks(stack, session, Fault.NUMBERS_AS_STRINGS) == [
        {
            key: str(value)
            if isinstance(value, int) and not isinstance(value, bool)
            else value
            for key, value in disk.items()
        }
        for disk in disks
    ]


async def test_schema_faults_keep_the_envelope(
    stack: SimulatorStack, session: aiohttp.ClientSession
) -> None:
    sim = stack.tautulli
    url = f"{sim.url}/api/v2?apikey={sim.api_key}&cmd=get_tautulli_info"
    sim.set_fault(Fault.MISSING_FIELDS)
    async with session.get(url) as response:
        assert await response.json() == {"response": {"result": "success", "data": {}}}
    sim.set_fault(Fault.NULL_FIELDS)
    async with session.get(url) as response:
        envelope = (await response.json())["response"]
    assert (envelope["result"], envelope["message"]) == ("success", None)
    assert set(envelope["data"].values()) == {None}


@pytest.mark.parametrize(
    ("fault", "attributes"),
    [
        (Fault.MISSING_FIELDS, {}),
        (Fault.NULL_FIELDS, {"size": "", "claimed": "", "machineIdentifier": ""}),
    ],
)
async def test_schema_faults_reshape_xml(
    stack: SimulatorStack,
    session: aiohttp.ClientSession,
    fault: Fault,
    attributes: dict[str, str],
) -> None:
    url = f"{stack.plex.url}/identity"
    async with session.get(url) as response:
        healthy = parse_xml(await response.text())
    stack.plex.set_fault(Fault.NUMBERS_AS_STRINGS)
    async with session.get(url) as response:
        assert parse_xml(await response.text()).attrib == healthy.attrib
    stack.plex.set_fault(fault)
    async with session.get(url) as response:
        reshaped = parse_xml(await response.text())
    assert {k: v for k, v in reshaped.attrib.items() if k != "version"} == attributes
