"""Webhooks and Overseerr requests, over real HTTP into Home Assistant."""

from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault, SimulatorStack
from simulators.webhooks import (
    send_overseerr_burst,
    send_overseerr_webhook,
    send_plex_webhook,
)

from .common import open_settings, setup_entry

NOTIFICATIONS = {
    "MEDIA_PENDING": "pending",
    "MEDIA_APPROVED": "approved",
    "MEDIA_AUTO_APPROVED": "approved",
    "MEDIA_DECLINED": "declined",
    "MEDIA_AVAILABLE": "available",
    "MEDIA_FAILED": "failed",
}


@pytest.fixture
async def base_url(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> str:
    """Serve Home Assistant's HTTP API on 127.0.0.1 and make it HA's own URL."""
    assert await async_setup_component(hass, "webhook", {})
    # The test client freezes the router (HA's own server does not): the calendar
    # platform's views must exist before it starts.
    assert await async_setup_component(hass, "calendar", {})
    client = await hass_client_no_auth()
    url = str(client.make_url("/")).rstrip("/")
    await async_process_ha_core_config(hass, {"internal_url": url})
    return url


@pytest.fixture
async def session() -> Any:
    """A client session for the simulators' webhook senders."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def hook(base_url: str, entry: MockConfigEntry, source: str) -> str:
    """Return the entry's webhook URL for one source."""
    return f"{base_url}/api/webhook/{entry.data['webhook_id']}?source={source}"


async def with_overseerr(hass: HomeAssistant, stack: SimulatorStack) -> MockConfigEntry:
    """Set up an entry with Overseerr (which SmartPlex points at its webhook)."""
    return await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))


async def test_overseerr_is_pointed_at_the_webhook(
    hass: HomeAssistant, stack: SimulatorStack, base_url: str
) -> None:
    """Setup configures Overseerr's webhook agent with our URL and secret header."""
    entry = await with_overseerr(hass, stack)
    options = stack.overseerr.webhook["options"]
    assert stack.overseerr.webhook["enabled"] is True
    assert options["webhookUrl"] == hook(base_url, entry, "overseerr")
    assert options["authHeader"] == entry.runtime_data.webhook_secret
    assert entry.runtime_data.webhook_secret not in str(entry.data)
    settings_path = "/api/v1/settings/notifications/webhook"
    stack.overseerr.requests.clear()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert not [
        r
        for r in stack.overseerr.requests
        if r.method == "POST" and r.path == settings_path
    ]


async def test_request_lifecycle_from_overseerr(
    hass: HomeAssistant, stack: SimulatorStack, base_url: str
) -> None:
    """Overseerr's own notifications move the request, fire events and fill sensors."""
    entry = await with_overseerr(hass, stack)
    updates = async_capture_events(hass, "smartplex_request_updated")
    request = next(r for r in stack.world.requests if r.status == 1)
    await stack.overseerr.set_request_status(request.id, 2)
    await stack.overseerr.set_request_status(request.id, 5)
    await hass.async_block_till_done()
    assert [event.data["status"] for event in updates] == ["approved", "available"]
    assert updates[0].data["request_id"] == request.id
    record = entry.runtime_data.requests.requests.records[request.id]
    assert {str(state) for state in record.transitions} >= {"approved", "available"}
    counts = entry.runtime_data.requests.requests.counts_by_state()
    assert hass.states.get("sensor.overseerr_available_requests").state == str(
        counts["available"]
    )


@pytest.mark.parametrize(("notification", "state"), list(NOTIFICATIONS.items()))
async def test_each_notification_type(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    notification: str,
    state: str,
) -> None:
    """Every request notification Overseerr sends is recorded as its state."""
    entry = await with_overseerr(hass, stack)
    request = stack.world.requests[0]
    status = await send_overseerr_webhook(
        session,
        hook(base_url, entry, "overseerr"),
        notification,
        request,
        stack.world,
        auth_header=entry.runtime_data.webhook_secret,
    )
    assert status == 200
    record = entry.runtime_data.requests.requests.records[request.id]
    assert str(record.status) == state


@pytest.mark.parametrize("notification", ["TEST_NOTIFICATION", "ISSUE_CREATED"])
async def test_test_and_issue_notifications_are_not_requests(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    notification: str,
) -> None:
    """The test notification and issue notifications are answered, not stored."""
    entry = await with_overseerr(hass, stack)
    before = dict(entry.runtime_data.requests.requests.records)
    body = {
        "notification_type": notification,
        "event": "Test Notification"
        if notification.startswith("TEST")
        else "New Issue",
        "subject": "Check",
        "message": "",
        "image": "",
        "media": None,
        "request": None,
        "issue": None if notification.startswith("TEST") else {"issue_id": "3"},
        "comment": None,
        "extra": [],
    }
    async with session.post(
        hook(base_url, entry, "overseerr"),
        json=body,
        headers={"Authorization": entry.runtime_data.webhook_secret},
    ) as response:
        assert response.status == 200
    assert entry.runtime_data.requests.requests.records == before


@pytest.mark.parametrize("header", [None, "wrong", "Bearer x"])
async def test_overseerr_without_the_secret_is_refused(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    header: str | None,
) -> None:
    """A notification without the right Authorization header gets 401, changes nothing."""
    entry = await with_overseerr(hass, stack)
    before = dict(entry.runtime_data.requests.requests.records)
    status = await send_overseerr_webhook(
        session,
        hook(base_url, entry, "overseerr"),
        "MEDIA_DECLINED",
        stack.world.requests[0],
        stack.world,
        auth_header=header,
    )
    assert status == 401
    assert entry.runtime_data.requests.requests.records == before


@pytest.mark.parametrize(
    ("source", "body", "content_type", "status"),
    [
        ("overseerr", b"{not json", "application/json", 400),
        ("overseerr", b'{"a": 1}', "text/plain", 415),
        (
            "overseerr",
            b'{"notification_type": "MEDIA_PENDING"}',
            "application/json",
            422,
        ),
        ("overseerr", b"[1, 2]", "application/json", 422),
        ("overseerr", b"x" * (1024 * 1024 + 10), "application/json", 413),
        ("tautulli", b'{"no_event": 1}', "application/json", 400),
        ("tautulli", b"null", "application/json", 400),
        ("plex", b'{"event": "library.new"}', "application/json", 415),
        ("nobody", b"{}", "application/json", 400),
        (None, b"{}", "application/json", 400),
    ],
    ids=[
        "not_json",
        "wrong_type",
        "no_request",
        "not_object",
        "too_big",
        "tautulli_no_event",
        "tautulli_null",
        "plex_not_multipart",
        "unknown_source",
        "no_source",
    ],
)
async def test_bad_input_gets_4xx(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    source: str | None,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    """Each kind of bad body gets its 4xx and no traceback in the log."""
    entry = await with_overseerr(hass, stack)
    url = hook(base_url, entry, source or "").removesuffix("?source=")
    headers = {
        "Content-Type": content_type,
        "Authorization": entry.runtime_data.webhook_secret,
    }
    async with session.post(url, data=body, headers=headers) as response:
        assert response.status == status
    assert "Traceback" not in caplog.text


async def test_plex_webhooks(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    """library.new syncs and fires an event; another server's events are ignored."""
    entry = await setup_entry(hass, stack)
    new_media = async_capture_events(hass, "smartplex_library_new")
    movie = next(iter(stack.world.movies.values()))
    url = hook(base_url, entry, "plex")
    stack.plex.requests.clear()
    status = await send_plex_webhook(
        session,
        url,
        "library.new",
        movie.rating_key,
        stack.world,
        server_uuid=stack.plex.machine_identifier,
        thumb=True,
    )
    await hass.async_block_till_done()
    assert status == 200
    assert [event.data["title"] for event in new_media] == [movie.title]
    assert any(r.path.endswith("/all") for r in stack.plex.requests)
    status = await send_plex_webhook(
        session,
        url,
        "library.new",
        movie.rating_key,
        stack.world,
        server_uuid="another-server",
    )
    await hass.async_block_till_done()
    assert status == 200
    assert len(new_media) == 1
    with aiohttp.MultipartWriter("form-data") as writer:
        part = writer.append("no payload here")
        part.set_content_disposition("form-data", name="thumb")
    async with session.post(url, data=writer) as response:
        assert response.status == 400


async def test_scrobble_and_tautulli_refresh_analytics(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    """A finished play (Plex scrobble or Tautulli's watched) refreshes play data."""
    entry = await setup_entry(hass, stack, (ServiceKind.TAUTULLI,))
    episode = next(iter(stack.world.episodes.values()))
    stack.tautulli.requests.clear()
    await send_plex_webhook(
        session,
        hook(base_url, entry, "plex"),
        "media.scrobble",
        episode.rating_key,
        stack.world,
        server_uuid=stack.plex.machine_identifier,
    )
    await hass.async_block_till_done()
    assert any(("cmd", "get_history") in r.query for r in stack.tautulli.requests)
    for event, status in (("watched", 200), ("playback_pause", 200)):
        async with session.post(
            hook(base_url, entry, "tautulli"), json={"event": event, "rating_key": "1"}
        ) as response:
            assert response.status == status


async def test_missed_webhooks_are_reconciled(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Changes made while no webhook arrived are found by the slow poll."""
    entry = await with_overseerr(hass, stack)
    request = next(r for r in stack.world.requests if r.status == 1)
    request.status = 3  # declined while Home Assistant was not listening
    request.updated_at = stack.world.now + 60
    await entry.runtime_data.requests.async_refresh()
    record = entry.runtime_data.requests.requests.records[request.id]
    assert str(record.status) == "declined"


async def test_requests_survive_a_restart(
    hass: HomeAssistant, stack: SimulatorStack, base_url: str
) -> None:
    """The request history is on disk: a reload keeps transitions webhooks brought."""
    entry = await with_overseerr(hass, stack)
    request = next(r for r in stack.world.requests if r.status == 1)
    await stack.overseerr.set_request_status(request.id, 2)
    await hass.async_block_till_done()
    transitions = dict(
        entry.runtime_data.requests.requests.records[request.id].transitions
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    again = entry.runtime_data.requests.requests.records[request.id]
    assert again.transitions == transitions


async def test_a_burst_loses_nothing(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    hass_storage: dict[str, Any],
) -> None:
    """1000 notifications as fast as loopback allows are all recorded and saved."""
    entry = await with_overseerr(hass, stack)
    first_id = 100_000
    statuses = await send_overseerr_burst(
        session,
        hook(base_url, entry, "overseerr"),
        range(first_id, first_id + 1000),
        auth_header=entry.runtime_data.webhook_secret,
    )
    assert set(statuses) == {200}
    records = entry.runtime_data.requests.requests.records
    assert all(first_id + n in records for n in range(1000))
    await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[f"{DOMAIN}.requests.{entry.entry_id}"]["data"]["records"]
    assert sum(1 for r in stored if r["request_id"] >= first_id) == 1000


async def test_get_requests_action(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """get_requests filters by status and user; bad fields are refused clearly."""
    entry = await with_overseerr(hass, stack)
    store = entry.runtime_data.requests.requests
    pending = [r for r in store.records.values() if str(r.status) == "pending"]
    response = await hass.services.async_call(
        DOMAIN,
        "get_requests",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "status": "pending", "limit": 500},
        blocking=True,
        return_response=True,
    )
    assert {r["request_id"] for r in response["requests"]} == {
        r.request_id for r in pending
    }
    someone = next(iter(store.records.values())).requested_by
    response = await hass.services.async_call(
        DOMAIN,
        "get_requests",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "user": someone.upper(), "limit": 500},
        blocking=True,
        return_response=True,
    )
    assert {r["requested_by"] for r in response["requests"]} == {someone}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_requests",
            {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "status": "lost"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "invalid_action_data"


async def test_get_requests_needs_overseerr(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Overseerr the action says so."""
    entry = await setup_entry(hass, stack)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_requests",
            {ATTR_CONFIG_ENTRY_ID: entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "overseerr_not_configured"


async def test_unreadable_webhook_secret_is_renewed(
    hass: HomeAssistant, stack: SimulatorStack, base_url: str
) -> None:
    """A webhook secret that no longer decrypts is replaced, and Overseerr told."""
    entry = await with_overseerr(hass, stack)
    old = entry.runtime_data.webhook_secret
    await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "webhook_secret_encrypted": "v1:000000000000:AAAA"}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    new = entry.runtime_data.webhook_secret
    assert new != old
    assert stack.overseerr.webhook["options"]["authHeader"] == new
    assert new not in str(entry.data)


async def test_no_reachable_url_is_explained(
    hass: HomeAssistant, stack: SimulatorStack, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a Home Assistant URL, Overseerr is left alone and the log says why."""
    with patch(
        "custom_components.smartplex.webhook_url", side_effect=NoURLAvailableError
    ):
        await with_overseerr(hass, stack)
    assert stack.overseerr.webhook["options"]["webhookUrl"] == ""
    assert "no URL Overseerr could reach" in caplog.text


async def test_overseerr_refusing_the_settings_is_logged(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Overseerr failing to take the webhook settings is logged, setup goes on."""
    stack.overseerr.set_fault(Fault.SERVER_ERROR)
    entry = await with_overseerr(hass, stack)
    assert entry.runtime_data.requests is not None
    assert "Could not configure Overseerr's webhook" in caplog.text
    stack.overseerr.clear_fault()


async def test_options_explain_a_missing_url(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without a Home Assistant URL the options say where to set one."""
    entry = await setup_entry(hass, stack)
    with patch(
        "custom_components.smartplex.config_flow.webhook_url",
        side_effect=NoURLAvailableError,
    ):
        result = await open_settings(hass, entry)
    assert (
        "Settings > System > Network"
        in result["description_placeholders"]["plex_webhook"]
    )
