"""Every service under every fault, through setup, coordinators, actions and webhooks.

One test per cell (service x fault) walks every surface a user or a service can touch
while the fault lasts, records each check (the matrix printed at the end counts them)
and fails with the list of checks that did not hold.
"""

from collections.abc import Iterator
import logging
from typing import Any
from unittest.mock import patch

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_platform, issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartplex import deletions
from custom_components.smartplex.api import ServiceKind, SmartPlexRateLimitError
from custom_components.smartplex.const import CONF_CAPACITY_GB, CONF_RULES, DOMAIN
from custom_components.smartplex.health import DISABLE_AFTER, PLEX_KEY, REPAIR_AFTER
from simulators import Fault, Simulator, SimulatorStack
from simulators.webhooks import post_json, send_overseerr_webhook, send_plex_webhook
from tests.common import make_entry, service_of

from .cell import Cell, Kind, call, reauth_flows
from .deletion import DELETION_OPTIONS, DeletionCheck
from .matrix import MATRIX_PROPERTY

CLIENT_TIMEOUT = 0.3  # seconds a client waits in the timeout column
SLOW_ANSWER = 5.0  # seconds the slow simulator takes: well past the client timeout
RETRY_AFTER = 42  # seconds a rate-limited service asks for
OPTIONAL = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
RULE = {"name": "Never watched", "level": "movie", "never_played": True}
OPTIONS = {CONF_RULES: [RULE], CONF_CAPACITY_GB: 100_000} | DELETION_OPTIONS
COLUMNS = {
    Fault.DOWN: "refused",
    Fault.SLOW: "timeout",
    Fault.UNAUTHORIZED: "401",
    Fault.FORBIDDEN: "403",
    Fault.NOT_FOUND: "404",
    Fault.RATE_LIMITED: "429",
    Fault.SERVER_ERROR: "500",
    Fault.MALFORMED: "malformed",
    Fault.TRUNCATED: "truncated",
    Fault.MISSING_FIELDS: "wrong schema",
    Fault.NULL_FIELDS: "wrong schema",
    Fault.NUMBERS_AS_STRINGS: "wrong schema",
}
# The reason a health check gives: its first call identifies the service, so an answer
# no such service would give (404, an unreadable body) names a wrong service.
HEALTH_REASONS = {
    Fault.DOWN: "cannot_connect",
    Fault.SLOW: "timeout",
    Fault.NOT_FOUND: "wrong_service",
    Fault.RATE_LIMITED: "rate_limited",
    Fault.SERVER_ERROR: "bad_response",
    Fault.MALFORMED: "wrong_service",
    Fault.TRUNCATED: "cannot_connect",
    Fault.MISSING_FIELDS: "wrong_service",
    Fault.NULL_FIELDS: "wrong_service",
}
HEALTH_REASON_EXCEPTIONS = {
    # Tautulli's own 404 (API disabled) and its envelope around no data are Tautulli's.
    (ServiceKind.TAUTULLI, Fault.NOT_FOUND): "bad_response",
    (ServiceKind.TAUTULLI, Fault.MISSING_FIELDS): "bad_response",
    (ServiceKind.TAUTULLI, Fault.NULL_FIELDS): "bad_response",
}
# The reason analytics fall back to Plex's counts (no identification there).
FALLBACK_REASONS = HEALTH_REASONS | {
    Fault.UNAUTHORIZED: "invalid_auth",
    Fault.FORBIDDEN: "invalid_auth",
    Fault.NOT_FOUND: "bad_response",
    Fault.MALFORMED: "bad_response",
    Fault.MISSING_FIELDS: "bad_response",
    Fault.NULL_FIELDS: "bad_response",
}
# The translation key of a coordinator's failure.
FAILURE_KEYS = {
    "library": "library_sync_failed",
    "rules": "now_playing_unknown",
    "storage": "storage_failed",
    "requests": "requests_failed",
}
OUR_LOGGERS = ("custom_components.smartplex", "homeassistant")
# What HA's coordinator and config entries add at debug level after their own error line.
HA_DEBUG_DETAIL = frozenset({"Full error:", "Full exception"})


def actions(movie: int) -> tuple[tuple[str, dict[str, Any], str | None], ...]:
    """Return every action with its data and its error while Plex fails."""
    return (
        ("sync", {"full": True}, "library_sync_failed"),
        ("sync", {"full": False}, "library_sync_failed"),
        ("find_candidates", {"rule": RULE}, "now_playing_unknown"),
        ("explain", {"rule": RULE, "rating_key": movie}, "now_playing_unknown"),
        ("get_requests", {}, None),
    )


def coordinators(entry: MockConfigEntry) -> dict[str, DataUpdateCoordinator[Any]]:
    """Return the entry's coordinators by concern (all exist with every service)."""
    data = entry.runtime_data
    return {
        "library": data.library,
        "analytics": data.analytics,
        "storage": data.storage,
        "requests": data.requests,
        "rules": data.rules,
    }


def entity_states(
    hass: HomeAssistant, entry: MockConfigEntry
) -> Iterator[tuple[str, str, str | None]]:
    """Yield (concern, entity id, state) of every SmartPlex entity of the entry."""
    concerns = {id(c): concern for concern, c in coordinators(entry).items()}
    for platform in entity_platform.async_get_platforms(hass, DOMAIN):
        for entity_id, entity in platform.entities.items():
            concern = concerns.get(id(entity.coordinator), "health")
            state = hass.states.get(entity_id)
            yield concern, entity_id, state.state if state else None


def health_states(
    hass: HomeAssistant, entry: MockConfigEntry, key: str
) -> dict[str, str | None]:
    """Return {description key: state} of one service's health entities."""
    found: dict[str, str | None] = {}
    for platform in entity_platform.async_get_platforms(hass, DOMAIN):
        for entity_id, entity in platform.entities.items():
            if getattr(entity, "service_key", None) == key:
                state = hass.states.get(entity_id)
                found[entity.entity_description.key] = state.state if state else None
    return found


def service_key(entry: MockConfigEntry, service: ServiceKind) -> str:
    """Return the health key of a service."""
    if service is ServiceKind.PLEX:
        return PLEX_KEY
    return next(
        key for key, conn in entry.runtime_data.services.items() if conn.kind == service
    )


def smartplex_issues(hass: HomeAssistant) -> set[str]:
    """Return the ids of SmartPlex's repair issues."""
    return {
        issue_id for domain, issue_id in ir.async_get(hass).issues if domain == DOMAIN
    }


def issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry, key: str) -> Any:
    """Return a SmartPlex repair issue, or None."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}_{key}")


async def check_setup(
    hass: HomeAssistant, entry: MockConfigEntry, cell: Cell, sim: Simulator
) -> None:
    """Set up under the fault: Plex decides whether the entry loads, others never do."""
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    if cell.service is not ServiceKind.PLEX:
        cell.check("setup loads", entry.state is ConfigEntryState.LOADED, entry.state)
        return
    expected = {
        Kind.HARMLESS: (ConfigEntryState.LOADED, None),
        Kind.AUTH: (ConfigEntryState.SETUP_ERROR, "plex_auth_failed"),
        Kind.OUTAGE: (ConfigEntryState.SETUP_RETRY, "plex_unavailable"),
    }[cell.kind]
    seen = (entry.state, entry.error_reason_translation_key)
    cell.check("setup state and its translated reason", seen == expected, seen)
    cell.check(
        "setup starts reauth on a rejected token",
        bool(reauth_flows(hass, entry)) == (cell.kind is Kind.AUTH),
        reauth_flows(hass, entry),
    )
    if entry.state is ConfigEntryState.LOADED:
        return
    await check_not_loaded(hass, entry, cell)
    # Plex answers again: the entry loads; then the fault comes back.
    for flow in reauth_flows(hass, entry):
        hass.config_entries.flow.async_abort(flow["flow_id"])
    await sim.async_clear_fault()
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    cell.check("loads once Plex answers", entry.state is ConfigEntryState.LOADED)
    await sim.async_set_fault(cell.fault)


async def check_not_loaded(
    hass: HomeAssistant, entry: MockConfigEntry, cell: Cell
) -> None:
    """Actions on an entry that is not loaded say so, translated."""
    for action, data, _ in actions(1):
        try:
            await call(hass, action, **{ATTR_CONFIG_ENTRY_ID: entry.entry_id}, **data)
        except ServiceValidationError as err:
            cell.translated(f"{action} while not loaded", err, "entry_not_loaded")
        else:
            cell.check(f"{action} while not loaded refused", False)


async def check_health(
    hass: HomeAssistant, entry: MockConfigEntry, cell: Cell, key: str
) -> None:
    """Run the checks REPAIR_AFTER times: status, repair issue and reauth as due."""
    health = entry.runtime_data.health
    for _ in range(REPAIR_AFTER):
        await health.async_refresh()
    await hass.async_block_till_done()
    status, reason = {
        Kind.HARMLESS: ("ok", None),
        Kind.AUTH: ("auth_failed", "invalid_auth"),
        Kind.OUTAGE: (
            "error",
            HEALTH_REASON_EXCEPTIONS.get(
                (cell.service, cell.fault), HEALTH_REASONS.get(cell.fault)
            ),
        ),
    }[cell.kind]
    seen = health.health[key]
    cell.check(
        "health status and reason",
        (str(seen.status), seen.reason) == (status, reason),
        (str(seen.status), seen.reason),
    )
    others = {
        k: str(h.status) for k, h in health.health.items() if k != key and h.checked
    }
    cell.check("other services stay ok", set(others.values()) == {"ok"}, others)
    shown = health_states(hass, entry, key)
    connected = "on" if cell.kind is Kind.HARMLESS else "off"
    cell.check(
        "status and connectivity entities",
        (shown.get("status"), shown.get("connectivity")) == (status, connected),
        shown,
    )
    expected_issues = (
        {f"service_unhealthy_{entry.entry_id}_{key}"}
        if cell.kind is Kind.OUTAGE
        else set()
    )
    cell.check(
        f"repair issue after {REPAIR_AFTER} failures, and no other",
        smartplex_issues(hass) == expected_issues,
        smartplex_issues(hass),
    )
    asked = [flow["step_id"] for flow in reauth_flows(hass, entry)]
    step = "reauth_confirm" if key == PLEX_KEY else "reauth_service"
    cell.check(
        "reauth asks for the rejected credential",
        asked == ([step] if cell.kind is Kind.AUTH else []),
        asked,
    )


async def check_coordinators(
    hass: HomeAssistant, entry: MockConfigEntry, cell: Cell
) -> None:
    """Refresh every coordinator: failures are translated; fallbacks say why."""
    for concern, coordinator in coordinators(entry).items():
        await coordinator.async_refresh()
        await hass.async_block_till_done()
        if concern == "analytics":
            reason = coordinator.data.fallback_reason
            expected = FALLBACK_REASONS[cell.fault] if cell.failing(concern) else None
            cell.check(
                "analytics fall back to Plex, saying why", reason == expected, reason
            )
            continue
        failing = cell.failing(concern)
        cell.check(
            f"{concern} refresh fails only when its service does",
            coordinator.last_update_success != failing,
            coordinator.last_exception,
        )
        if failing:
            key = FAILURE_KEYS[concern]
            if concern == "library" and cell.kind is Kind.AUTH:
                key = "plex_auth_failed"
            cell.translated(f"{concern} refresh", coordinator.last_exception, key)
        if failing and cell.fault is Fault.RATE_LIMITED:
            cause = getattr(coordinator.last_exception, "__cause__", None)
            cell.check(
                f"{concern} refresh keeps the Retry-After",
                isinstance(cause, SmartPlexRateLimitError)
                and cause.retry_after == RETRY_AFTER,
                cause,
            )


def check_entities(hass: HomeAssistant, entry: MockConfigEntry, cell: Cell) -> None:
    """Entities of a failing coordinator are unavailable; all others keep a state."""
    for concern, entity_id, state in entity_states(hass, entry):
        if concern == "health":
            continue
        unavailable = concern != "analytics" and cell.failing(concern)
        cell.check(
            f"{entity_id} {'un' if unavailable else ''}available",
            (state == STATE_UNAVAILABLE) == unavailable,
            state,
        )
    rules = entry.runtime_data.rules.data
    if not cell.failing("rules"):
        refused = rules[RULE["name"]].refused
        cell.check(
            "a play rule is refused without Tautulli's plays",
            bool(refused) == cell.failing("analytics"),
            refused,
        )


async def check_actions(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    cell: Cell,
    stack: SimulatorStack,
    plex_error: str | None = None,
) -> None:
    """Every action answers, or fails with a translated error (`plex_error` if given)."""
    entry_id = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
    plex_fails = cell.failing("library")
    for action, data, plex_key in actions(min(stack.world.movies)):
        key = plex_error if plex_key is not None and plex_error else plex_key
        error: BaseException | None = None
        response: Any = None
        try:
            response = await call(hass, action, **entry_id, **data)
        except Exception as err:  # noqa: BLE001 - any error is judged below
            error = err
        if key is not None and plex_fails:
            cell.translated(f"{action} {data}", error, key)
            continue
        cell.check(f"{action} {data} answers", error is None, error)
        if action == "find_candidates" and error is None:
            cell.check(
                "find_candidates refuses play rules without Tautulli",
                bool(response["refused"]) == cell.failing("analytics"),
                response["refused"],
            )


async def check_webhooks(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    cell: Cell,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    """Every webhook is accepted; what it refreshes fails or not as the service does."""
    url = f"{base_url}/api/webhook/{entry.data['webhook_id']}?source="
    movie = min(stack.world.movies)
    request = stack.world.requests[0]

    def plex(event: str) -> Any:
        return send_plex_webhook(
            session,
            url + "plex",
            event,
            movie,
            stack.world,
            server_uuid=stack.plex.machine_identifier,
        )

    def tautulli(event: str) -> Any:
        return post_json(
            session, url + "tautulli", {"event": event, "rating_key": str(movie)}, None
        )

    def overseerr(notification: str) -> Any:
        return send_overseerr_webhook(
            session,
            url + "overseerr",
            notification,
            request,
            stack.world,
            auth_header=entry.runtime_data.webhook_secret,
        )

    for source, send, event, concern in (
        ("plex", plex, "library.new", "library"),
        ("plex", plex, "media.scrobble", "analytics"),
        ("tautulli", tautulli, "watched", "analytics"),
        ("tautulli", tautulli, "recently_added", "library"),
        ("overseerr", overseerr, "MEDIA_APPROVED", "requests"),
    ):
        name = f"{source} {event}"
        for coordinator in coordinators(entry).values():
            coordinator._debounced_refresh.async_cancel()
        status = await send(event)
        await hass.async_block_till_done()
        cell.check(f"webhook {name} accepted", status == 200, status)
        coordinator = coordinators(entry)[concern]
        if concern == "analytics":
            reason = coordinator.data.fallback_reason
            cell.check(
                f"webhook {name}: analytics say why they fall back",
                (reason is not None) == cell.failing(concern),
                reason,
            )
        elif concern == "library":
            cell.check(
                f"webhook {name}: library refresh fails only with Plex",
                coordinator.last_update_success != cell.failing(concern),
                coordinator.last_exception,
            )
    record = entry.runtime_data.requests.requests.records.get(request.id)
    cell.check(
        "overseerr webhook recorded even when Overseerr cannot be polled",
        record is not None and str(record.status) == "approved",
        record,
    )


async def check_disabled(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    cell: Cell,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    """After DISABLE_AFTER failures the service is disabled, and no longer called."""
    health = entry.runtime_data.health
    key = service_key(entry, cell.service)
    sim: Simulator = service_of(stack, cell.service)
    while health.health[key].consecutive_failures < DISABLE_AFTER and not (
        health.is_disabled(key)
    ):
        await health.async_refresh()
    await hass.async_block_till_done()
    cell.check("disabled", health.is_disabled(key), str(health.health[key].status))
    disabled = issue(hass, "service_disabled", entry, key)
    cell.check("fixable repair issue", disabled is not None and disabled.is_fixable)
    cell.check(
        "unhealthy issue replaced",
        issue(hass, "service_unhealthy", entry, key) is None,
    )
    shown = health_states(hass, entry, key)
    cell.check(
        "status disabled, connectivity unavailable",
        (shown.get("status"), shown.get("connectivity"))
        == ("disabled", STATE_UNAVAILABLE),
        shown,
    )
    calls = len(sim.requests)
    await health.async_refresh()
    for concern, coordinator in coordinators(entry).items():
        await coordinator.async_refresh()
        if not cell.failing(concern):
            continue
        if concern == "analytics":
            reason = coordinator.data.fallback_reason
            cell.check("analytics fall back: disabled", reason == "disabled", reason)
            continue
        cell.translated(
            f"{concern} refresh while disabled",
            coordinator.last_exception,
            "service_is_disabled",
        )
    check_entities(hass, entry, cell)
    await check_actions(hass, entry, cell, stack, "service_is_disabled")
    await check_webhooks(hass, entry, cell, stack, base_url, session)
    cell.check(
        "nothing calls a disabled service",
        len(sim.requests) == calls,
        [f"{r.method} {r.path}" for r in sim.requests[calls:]],
    )


async def settle_refreshes(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Drop the refreshes deleting asked for: the fault is back, checks refresh anew."""
    for coordinator in coordinators(entry).values():
        coordinator._debounced_refresh.async_cancel()
    await hass.async_block_till_done()


def values(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Return what the sensors show, health (and its timing) aside."""
    return {
        entity_id: state
        for concern, entity_id, state in entity_states(hass, entry)
        if concern != "health"
    }


async def check_harmless(
    hass: HomeAssistant, entry: MockConfigEntry, cell: Cell, sim: Simulator
) -> None:
    """What was read under the fault equals what is read without it."""
    faulty = values(hass, entry)
    await sim.async_clear_fault()
    await entry.runtime_data.library.async_sync(full=True)
    for coordinator in coordinators(entry).values():
        await coordinator.async_refresh()
    healthy = values(hass, entry)
    cell.check(
        "read as if nothing happened",
        faulty == healthy,
        {k: (v, healthy.get(k)) for k, v in faulty.items() if v != healthy.get(k)},
    )
    await sim.async_set_fault(cell.fault)


def is_traceback(record: logging.LogRecord) -> bool:
    """Tell a traceback that Home Assistant's log would show.

    Ours and HA's at any level, except the detail HA itself adds at debug level after
    its own error line; asyncio's from warnings up (an exception no task retrieved),
    not its debug notes on sockets the peer reset (only with a debugging loop).
    """
    if not (record.exc_info or "Traceback" in record.getMessage()):
        return False
    if record.name.startswith(OUR_LOGGERS):
        return not (
            record.levelno == logging.DEBUG and record.getMessage() in HA_DEBUG_DETAIL
        )
    return record.name == "asyncio" and record.levelno >= logging.WARNING


@pytest.fixture
def short_timeout(fault: Fault) -> Iterator[None]:
    """Let a timeout cost a fraction of a second in the timeout column."""
    if fault is not Fault.SLOW:
        yield
        return
    with patch("custom_components.smartplex.api.http.DEFAULT_TIMEOUT", CLIENT_TIMEOUT):
        yield


@pytest.mark.parametrize("fault", list(COLUMNS))
@pytest.mark.parametrize("service", [ServiceKind.PLEX, *OPTIONAL])
async def test_fault(
    hass: HomeAssistant,
    stack: SimulatorStack,
    base_url: str,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    record_property: Any,
    short_timeout: None,
    monkeypatch: pytest.MonkeyPatch,
    service: ServiceKind,
    fault: Fault,
) -> None:
    """One cell: the fault from before setup to unload, through every surface."""
    # Retries are due at once and run when the cell says: the timer, which would run
    # them as fast as the loop turns, stays unarmed.
    monkeypatch.setattr(deletions, "RETRY_BACKOFF", 0.0)
    monkeypatch.setattr(deletions.SmartPlexCleanup, "async_schedule", lambda _: None)
    caplog.set_level(logging.DEBUG, "custom_components.smartplex")
    cell = Cell(service, fault)
    sim = service_of(stack, service)
    sim.delay = SLOW_ANSWER
    sim.retry_after = RETRY_AFTER
    entry = await make_entry(hass, stack, OPTIONAL)
    hass.config_entries.async_update_entry(entry, options=OPTIONS)
    try:
        await sim.async_set_fault(fault)
        await check_setup(hass, entry, cell, sim)
        if entry.state is ConfigEntryState.LOADED:
            key = service_key(entry, service)
            await check_health(hass, entry, cell, key)
            await check_coordinators(hass, entry, cell)
            check_entities(hass, entry, cell)
            if cell.kind is Kind.HARMLESS:
                await check_harmless(hass, entry, cell, sim)
            await check_actions(hass, entry, cell, stack)
            await check_webhooks(hass, entry, cell, stack, base_url, session)
            await DeletionCheck(hass, entry, cell, stack, sim).check()
            await settle_refreshes(hass, entry)
            if cell.kind is Kind.OUTAGE:
                await check_disabled(hass, entry, cell, stack, base_url, session)
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
            cell.check("unloads", entry.state is ConfigEntryState.NOT_LOADED)
        tracebacks = [
            f"{r.name}: {r.getMessage()} {r.exc_info and r.exc_info[1]!r}"
            for r in caplog.records
            if is_traceback(r)
        ]
        cell.check("no traceback in the log", not tracebacks, tracebacks)
    except Exception as err:  # noqa: BLE001 - the cell records it as failed
        cell.check("the cell runs to the end", False, err)
    finally:
        await sim.async_clear_fault()
        record_property(
            MATRIX_PROPERTY,
            (str(service), COLUMNS[fault], cell.passed, cell.passed + len(cell.failed)),
        )
    assert not cell.failed, "\n".join(cell.failed)
