"""A real `hass` killed (SIGKILL) during a burst of Overseerr notifications loses none.

Each round Overseerr changes requests (and takes new ones) as fast as loopback allows,
sending SmartPlex a webhook for each; hass is killed at a seeded random point of the
burst, the rest of the burst hits the dead hass, and hass starts again.

What "nothing lost" can mean. A notification SmartPlex answered may not be on disk yet
(bursts are written together, once a second); one sent to a dead hass is refused, and
Overseerr never sends it again. Neither can be replayed: what SmartPlex promises is
that its reconciliation (the setup of the entry reads Overseerr's request list) brings
its history back in line with Overseerr. So after each restart, before anything else
happens, every request Overseerr holds is in SmartPlex's history with Overseerr's
current status, and SmartPlex holds no request and no status Overseerr does not.
What cannot come back are the times of the states a request passed through while
nobody listened: only its current state is checked.

Seeded by SMARTPLEX_CRASH_SEED (default 1); CI runs SMARTPLEX_CRASH_ROUNDS rounds
(default 3), run more locally, e.g. 20.
"""

import asyncio
from collections import Counter
import logging
import os
import random
import re
import time

from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartplex.api import ServiceKind
from script.realhass import RealHass, real_hass
from simulators import SimulatorStack
from simulators.world import MediaRequest, World
from tests.common import setup_entry

ROUNDS = int(os.environ.get("SMARTPLEX_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("SMARTPLEX_CRASH_SEED", "1"))
BURST = 40  # notifications per round
SENDERS = 4  # notifications in flight at once
NEW_REQUESTS = 0.2  # share of the burst that are new requests
# Overseerr's request status, as SmartPlex names it (approved or completed media
# that is available is "available").
STATES = {1: "pending", 2: "approved", 3: "declined", 4: "failed", 5: "completed"}


def expected(request: MediaRequest) -> str:
    """The state SmartPlex must show for a request, from Overseerr's own fields."""
    if request.status in (2, 5) and request.media_status == 5:
        return "available"
    return STATES[request.status]


async def history(hass: RealHass) -> dict[int, str]:
    """Return {request id: status} as smartplex.get_requests answers over REST."""
    answer = await hass._call(
        "POST",
        "/api/services/smartplex/get_requests?return_response",
        {"config_entry_id": hass.entry_id, "limit": 500},
    )
    return {
        r["request_id"]: r["status"] for r in answer["service_response"]["requests"]
    }


async def burst(
    stack: SimulatorStack, rng: random.Random, hass: RealHass
) -> tuple[int, int]:
    """Send a burst, killing hass after a seeded number of answered notifications.

    Return how many notifications were answered before the kill, and how many the
    dead hass refused.
    """
    overseerr = stack.overseerr
    world = stack.world
    requested = {r.rating_key for r in world.requests if r.media_type == "movie"}
    fresh = [key for key in world.movies if key not in requested]
    rng.shuffle(fresh)
    changes: list[tuple[str, int, int]] = []
    for _ in range(BURST):
        if fresh and rng.random() < NEW_REQUESTS:
            changes.append(("new", fresh.pop(), rng.choice(world.users[1:]).id))
        else:
            request = rng.choice(world.requests)
            status = rng.choice([s for s in STATES if s != request.status])
            changes.append(("status", request.id, status))
    kill_after = rng.randrange(1, BURST)
    queue: asyncio.Queue[tuple[str, int, int]] = asyncio.Queue()
    for change in changes:
        queue.put_nowait(change)
    start = len(overseerr.deliveries)
    killed: asyncio.Task[int] | None = None
    answered_before_kill = 0

    async def sender() -> None:
        nonlocal killed, answered_before_kill
        while not queue.empty():
            kind, first, second = queue.get_nowait()
            if kind == "new":
                await overseerr.add_request(first, second)
            else:
                await overseerr.set_request_status(first, second)
            answered = sum(s == 200 for *_, s in overseerr.deliveries[start:])
            if killed is None and answered >= kill_after:
                answered_before_kill = answered
                killed = asyncio.create_task(hass.kill())

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    if killed is None:  # every notification was refused before the count came
        killed = asyncio.create_task(hass.kill())
    await killed
    refused = sum(s is None for *_, s in overseerr.deliveries[start:])
    return answered_before_kill, refused


async def test_burst_killed_then_reconciled(socket_enabled: None) -> None:
    """After each kill and restart the request history agrees with Overseerr."""
    rng = random.Random(SEED)  # noqa: S311 - a burst and a kill point, not secrets
    world = World.generate(seed=SEED, movies=300, shows=20, now=int(time.time()))
    async with (
        SimulatorStack(seed=SEED, world=world) as stack,
        real_hass(stack, services=("overseerr",)) as hass,
    ):
        # Home Assistant writes its config entries a few seconds late: a clean stop
        # puts the new entry on disk, as it is in any home that runs for a while.
        await hass.restart()
        await hass.wait_until_loaded()
        webhook = stack.overseerr.webhook
        assert webhook["enabled"]
        assert webhook["options"]["webhookUrl"].startswith(f"{hass.url}/api/webhook/")
        assert await history(hass) == {r.id: expected(r) for r in world.requests}
        figures: Counter[str] = Counter()
        for _ in range(ROUNDS):
            answered, refused = await burst(stack, rng, hass)
            figures["answered before the kill"] += answered
            figures["refused by the dead hass"] += refused
            await hass.start()
            await hass.wait_until_loaded()
            seen = await history(hass)
            truth = {r.id: expected(r) for r in world.requests}
            wrong = {k: (seen.get(k), v) for k, v in truth.items() if seen.get(k) != v}
            invented = set(seen) - set(truth)
            assert not wrong, f"requests SmartPlex has wrong or lost: {wrong}"
            assert not invented, f"requests SmartPlex invented: {invented}"
            figures["rounds survived"] += 1
        assert figures["rounds survived"] == ROUNDS, figures
        assert figures["refused by the dead hass"] > 0, figures
        log = (hass.config_dir / "home-assistant.log").read_text(errors="replace")
        assert not re.findall(r"^.* ERROR .*smartplex.*$", log, flags=re.MULTILINE)


@pytest.fixture
async def reachable(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Serve Home Assistant's webhooks on 127.0.0.1, at its own URL."""
    assert await async_setup_component(hass, "webhook", {})
    client = await hass_client_no_auth()
    url = str(client.make_url("/")).rstrip("/")
    await async_process_ha_core_config(hass, {"internal_url": url})


async def test_notification_while_setting_up_is_caught(
    hass: HomeAssistant,
    stack: SimulatorStack,
    reachable: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A notification Overseerr sends while SmartPlex sets up is caught up at once.

    Home Assistant answers 200 to a webhook nobody listens on yet (it tells no one
    which hooks exist), so Overseerr takes it as delivered: SmartPlex must read the
    request list once its webhook listens, not before.
    """
    caplog.set_level(logging.INFO, "homeassistant.components.webhook")
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR, ServiceKind.OVERSEERR))
    assert stack.overseerr.webhook["enabled"]
    request = next(r for r in stack.world.requests if r.status != 3)

    async def decline() -> None:
        del stack.radarr.before["/api/v3/diskspace"]
        await stack.overseerr.set_request_status(request.id, 3)

    # Radarr's free space is read while the entry sets up again.
    stack.radarr.before["/api/v3/diskspace"] = decline
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert stack.overseerr.deliveries[-1] == (request.id, "MEDIA_DECLINED", 200)
    assert "unregistered webhook" in caplog.text
    record = entry.runtime_data.requests.requests.records[request.id]
    assert record.status == "declined"


async def test_notification_while_polling_is_not_undone(
    hass: HomeAssistant, socket_enabled: None, reachable: None
) -> None:
    """A notification that arrives while the list is read beats the page read before."""
    async with SimulatorStack(movies=150) as stack:
        await _poll_with_a_notification(hass, stack)


async def _poll_with_a_notification(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Decline a request of the first page of the list while the second is read."""
    requested = {r.rating_key for r in stack.world.requests}
    for movie in [key for key in stack.world.movies if key not in requested][:110]:
        await stack.overseerr.add_request(movie, 2)  # more than a page of 100
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    coordinator = entry.runtime_data.requests
    first_page = max(stack.world.requests, key=lambda r: (r.updated_at, r.id))
    reads = 0

    async def decline_after_the_first_page() -> None:
        nonlocal reads
        reads += 1
        if reads == 2:
            await stack.overseerr.set_request_status(first_page.id, 3)
            assert stack.overseerr.deliveries[-1][2] == 200

    stack.overseerr.before["/api/v1/request"] = decline_after_the_first_page
    await coordinator.async_refresh()
    assert reads == 2
    assert coordinator.requests.records[first_page.id].status == "declined"
