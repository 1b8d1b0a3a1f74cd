"""No secret in logs, diagnostics, events, stored files, responses or URLs we build."""

import base64
import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from homeassistant.components import persistent_notification
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, CONF_API_KEY, CONF_TOKEN
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.helpers.json import json_bytes
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN, LOGGER
from custom_components.smartplex.diagnostics import async_get_config_entry_diagnostics
from simulators import Fault, SimulatorStack
from simulators.webhooks import post_json, send_overseerr_webhook, send_plex_webhook

from .common import service_of, setup_entry
from .faults.deletion import pick

ALL = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
# Plans that need their total typed back and a purge held for its file count: both
# raise a persistent notification.
OPTIONS = {
    "grace_hours": 0,
    "acknowledge_above_gb": 0.001,
    "blast_radius_files": 2,
}


def forms(secret: str) -> list[str]:
    """A secret as it could leak: plain, URL-encoded, base64."""
    return [secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()]


async def call(hass: HomeAssistant, action: str, **data: Any) -> Any:
    """Call a SmartPlex action for its response."""
    return await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=True
    )


async def send_webhooks(
    hass: HomeAssistant, stack: SimulatorStack, url: str, secret: str
) -> list[int]:
    """Send every kind of webhook, a few refused ones too; return the statuses."""
    movie = min(stack.world.movies)
    request = stack.world.requests[0]
    await stack.overseerr.set_request_status(request.id, 2)  # as Overseerr sends it
    async with aiohttp.ClientSession() as session:
        statuses = [
            await send_plex_webhook(
                session,
                f"{url}?source=plex",
                event,
                movie,
                stack.world,
                server_uuid=stack.plex.machine_identifier,
            )
            for event in ("library.new", "media.scrobble")
        ]
        for event in ("watched", "recently_added"):
            body = {"event": event, "rating_key": str(movie)}
            statuses.append(
                await post_json(session, f"{url}?source=tautulli", body, None)
            )
        statuses += [
            await send_overseerr_webhook(
                session,
                f"{url}?source=overseerr",
                "MEDIA_AVAILABLE",
                request,
                stack.world,
                auth_header=header,
            )
            for header in (secret, "Bearer not-the-secret", None)
        ]
        body = {"notification_type": "MEDIA_PENDING", "request": {}}
        statuses.append(
            await post_json(session, f"{url}?source=overseerr", body, secret)
        )
    await hass.async_block_till_done()
    return statuses


async def delete(
    hass: HomeAssistant, stack: SimulatorStack, entry_id: str
) -> list[Any]:
    """Plan, acknowledge, release and purge three items; return every response."""
    ids = {ATTR_CONFIG_ENTRY_ID: entry_id}
    keys = [item.key for item in pick(stack.world, min(stack.world.movies))]
    responses = [
        await call(hass, "request_deletion", **ids, rating_keys=keys, dry_run=True)
    ]
    plan = await call(hass, "request_deletion", **ids, rating_keys=keys)
    plan_ids = ids | {"plan_id": plan["plan_id"]}
    responses += [
        plan,
        await call(
            hass,
            "confirm_deletion",
            **plan_ids,
            acknowledge_total_gb=plan["total_gb"],
        ),
    ]
    await hass.async_block_till_done(wait_background_tasks=True)
    held = (await call(hass, "get_plans", **plan_ids))["plans"][0]
    responses += [
        held,
        await call(
            hass, "confirm_deletion", **plan_ids, acknowledge_count=held["held_count"]
        ),
    ]
    await hass.async_block_till_done(wait_background_tasks=True)
    responses += [
        await call(hass, "get_plans", **ids),
        await call(hass, "get_audit_log", **ids),
    ]
    assert responses[-2]["plans"][0]["item_states"] == {"deleted": 3}
    return responses


async def test_no_secret_leaks(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Setup, syncs, webhooks, deletions, failures, reauth and diagnostics, all logged."""
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    notices: list[str] = []

    @callback
    def _record(event: Event) -> None:
        if event.event_type.startswith(DOMAIN):
            events.append(event)

    hass.bus.async_listen("*", _record)
    assert await async_setup_component(hass, "webhook", {})
    client = await hass_client_no_auth()
    base_url = str(client.make_url("/")).rstrip("/")
    await async_process_ha_core_config(hass, {"internal_url": base_url})
    persistent_notification.async_register_callback(
        hass, lambda _kind, shown: notices.append(str(shown))
    )
    entry = await setup_entry(hass, stack, ALL, OPTIONS)
    data = entry.runtime_data
    secrets = {
        "plex": stack.plex.token,
        **{str(kind): service_of(stack, kind).api_key for kind in ALL},
        "webhook": data.webhook_secret,
    }
    webhook_id = entry.data["webhook_id"]
    assert stack.overseerr.webhook["options"]["webhookUrl"].startswith(base_url)

    await hass.services.async_call(
        DOMAIN,
        "sync",
        {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "full": True},
        blocking=True,
    )
    statuses = await send_webhooks(
        hass, stack, f"{base_url}/api/webhook/{webhook_id}", data.webhook_secret
    )
    assert statuses == [200, 200, 200, 200, 200, 401, 401, 422]
    assert stack.overseerr.deliveries[-1][2] == 200
    responses = await delete(hass, stack, entry.entry_id)
    for kind in ALL:
        await service_of(stack, kind).async_set_fault(Fault.SERVER_ERROR)
    for _ in range(3):
        await data.health.async_refresh()
    await data.analytics.async_refresh()
    for kind in ALL:
        await service_of(stack, kind).async_clear_fault()
    await data.health.async_refresh()
    stack.radarr.set_fault(Fault.UNAUTHORIZED)
    await data.health.async_refresh()
    await hass.async_block_till_done()
    stack.radarr.clear_fault()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    (flow,) = flows
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_API_KEY: stack.radarr.api_key}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert CONF_TOKEN not in str(result)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    await hass.async_stop(force=True)

    ours = [
        ("diagnostics", str(diagnostics)),
        ("events", str([event.data for event in events])),
        ("responses", str(responses)),
        ("notifications", "\n".join(notices)),
    ]
    places = [
        ("log", caplog.text),
        ("storage", str([json_bytes(v) for v in hass_storage.values()])),
        *ours,
    ]
    assert len(notices) >= 2, "no deletion plan raised a notification to check"
    for name, secret in secrets.items():
        for form in forms(secret):
            for place, text in places:
                assert form not in text, f"{name} secret in {place}"
    # The webhook id is the secret of Plex's and Tautulli's webhook URL. Home
    # Assistant keeps it in its config entries and logs it at debug level; nothing
    # SmartPlex writes or answers carries it.
    smartplex_log = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(LOGGER.name)
    )
    for place, text in [*ours, ("smartplex log", smartplex_log)]:
        assert webhook_id not in text, f"webhook id in {place}"
    # The one place a key travels in a URL is Tautulli's own query string.
    secrets["webhook id"] = webhook_id
    for sim in stack.simulators:
        for request in sim.requests:
            url = f"{request.path}?{request.query}"
            for name, secret in secrets.items():
                if sim is stack.tautulli and name == "tautulli":
                    continue
                assert secret not in url, f"{name} secret in a URL sent to {sim.name}"
    assert events, "the run fired no SmartPlex event to check"
