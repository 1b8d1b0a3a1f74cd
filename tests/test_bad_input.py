"""Bad input everywhere: actions, config and options flows, webhook bodies.

Whatever arrives, SmartPlex answers clearly and changes nothing: an action raises a
translated ServiceValidationError (HomeAssistantError where the data is fine but the
state refuses), a form shows an error on its field, a webhook gets a 4xx (or a 2xx that
ignores it). Never another exception, never a traceback in the log, never a write to a
service, a stored plan or a deletion event; a webhook changes something only when it is
a valid event, and those are counted.

Webhook bodies come from a seeded generator: SMARTPLEX_FUZZ_CASES bodies per source
(default 2000; try 20000 locally), seed SMARTPLEX_FUZZ_SEED (default 1). Every test
reports how many bad inputs it tried (see the "SmartPlex figures" summary).
"""

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import logging
import os
from pathlib import Path
import random
import re
from string import Formatter
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import (
    ATTR_CONFIG_ENTRY_ID,
    CONF_API_KEY,
    CONF_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    MATCH_ALL,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import orjson
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from custom_components.smartplex.requests import NOTIFICATION_STATES
from simulators import Fault, SimulatorStack
from simulators.base import Simulator
from simulators.webhooks import (
    DEFAULT_TEMPLATE,
    THUMB_JPEG,
    Notification,
    plex_payload,
    render_template,
    request_values,
)

from .common import open_settings, setup_entry
from .figures import FIGURE

FUZZ_CASES = int(os.environ.get("SMARTPLEX_FUZZ_CASES", "2000"))
FUZZ_SEED = int(os.environ.get("SMARTPLEX_FUZZ_SEED", "1"))
MAX_BODY = 1024 * 1024
MAX_OVERSEERR_ID = 2**53 - 1
TYPE_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")  # Overseerr's notification types
STRINGS = json.loads(
    (Path(__file__).parents[1] / "custom_components/smartplex/strings.json").read_text()
)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Leave asyncio's debug mode off: it records a stack for every callback."""


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every log line with a traceback, or at error level."""
    return [
        f"{r.name}: {r.getMessage()[:300]} {r.exc_info and r.exc_info[1]!r}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR
    ]


def writes(stack: SimulatorStack) -> int:
    """How many requests that could change something reached any simulator."""
    return sum(1 for sim in stack.simulators for r in sim.requests if r.method != "GET")


def smartplex_events(hass: HomeAssistant) -> list[Event]:
    """Collect every event SmartPlex fires from now on."""
    events: list[Event] = []

    @callback
    def collect(event: Event) -> None:
        if event.event_type.startswith("smartplex_"):
            events.append(event)

    hass.bus.async_listen(MATCH_ALL, collect)
    return events


# Actions -----------------------------------------------------------------------------

HUGE = "x" * 100_000
NAN = float("nan")
INF = float("inf")
NOT_SCALARS: tuple[Any, ...] = (None, [], {}, [1, 2], {"a": 1})
TEXTS = ("", HUGE, "ünïcödé 🎬", "\x00\x07\x1b[2J\r\n")
NOT_NUMBERS: tuple[Any, ...] = (
    NAN,
    INF,
    -INF,
    "nan",
    "inf",
    "abc",
    "",
    "1,5",
    HUGE,
    *NOT_SCALARS,
)
NOT_BOOLEANS: tuple[Any, ...] = (None, "maybe", "", [], {}, HUGE, "ünï", "\x00")
NOT_PLAN_IDS: tuple[Any, ...] = (
    "",
    "xyz",
    "0" * 31,
    "0" * 33,
    "g" * 32,
    "A" * 32,
    "ü" * 32,
    "\x00" * 32,
    HUGE,
    123,
    *NOT_SCALARS,
)
NOT_RATING_KEYS: tuple[Any, ...] = (
    [],
    [0],
    [-1],
    ["abc"],
    [None],
    [NAN],
    [INF],
    [[1]],
    [{}],
    "abc",
    {"a": 1},
    None,
    list(range(1, 1002)),
    list(range(1, 100_001)),
    [HUGE],
)
GOOD_RULE = {"name": "Big", "level": "movie", "min_size_gb": 1}
NOT_RULES: tuple[Any, ...] = (None, "rule", [], 1, HUGE, [GOOD_RULE])
BAD_RULES: tuple[dict[str, Any], ...] = (
    {},
    {"min_size_gb": 1},
    {"name": "", "min_size_gb": 1},
    {"name": " ", "min_size_gb": 1},
    {"name": 1, "min_size_gb": 1},
    {"name": None, "min_size_gb": 1},
    {"name": "a" * 101, "min_size_gb": 1},
    {"name": HUGE, "min_size_gb": 1},
    {"name": "r"},
    {"name": "r", "never_played": False},
    {"name": "r", "min_size_gb": 1, "bogus": 1},
    {"name": "r", "min_size_gb": 1, "🎬" * 1000: 1},
    {"name": "r", "min_size_gb": 1, "level": "film"},
    {"name": "r", "min_size_gb": 1, "level": []},
    {"name": "r", "min_size_gb": 1, "level": {}},
    {"name": "r", "min_size_gb": 1, "level": None},
    *(
        {"name": "r", field: value}
        for field in ("not_played_days", "never_played_added_days", "max_plays")
        for value in (-1, 10**30, 10**400, NAN, INF, 1.5, "5", True, None, [])
    ),
    *(
        {"name": "r", "min_size_gb": value}
        for value in (-1, -0.001, 1e30, 10**400, NAN, INF, -INF, "1", True, [1])
    ),
    *(
        {"name": "r", "min_size_gb": 1, field: value}
        for field, values in (
            ("sections", ([], "1", 1, [NAN], [-1], [10**400], [1.5], [None], [True])),
            ("resolutions", ([], [""], [" "], [1], "4k", [None], [[]])),
            ("codecs", ([], [""], [2], "hevc", {})),
            ("labels", ([None], "keep", [""], 1)),
            ("recently_added_days", (-1, NAN, "x", 10**30)),
            ("max_data_age_hours", (0, -1, NAN, INF, 1e30, "2")),
            ("requested_by_unwatched", ("yes", 1, None)),
            ("never_played", ("true", 1)),
        )
        for value in values
    ),
    {"name": "r", "level": "movie", "keep_last_episodes": 3},
    {"name": "r", "level": "episode", "keep_last_episodes": 0},
    {"name": "r", "level": "season", "keep_last_seasons": -1},
    {"name": "r", "level": "season", "keep_last_seasons": 10**6},
    {"name": "r", "level": "movie", "min_size_gb": 1, "remove_empty_show": True},
    {"name": "r", "level": "season", "min_size_gb": 1, "remove_empty_show": "yes"},
)


def whole(low: int, high: int) -> tuple[Any, ...]:
    """Values a whole-number field from low to high refuses."""
    return (*NOT_NUMBERS, "1e3", "2.5", low - 1, high + 1, 10**30, -(10**30))


def gigabytes(high: float) -> tuple[Any, ...]:
    """Values a size field in GB from 0 to high refuses."""
    return (*NOT_NUMBERS, -1, -0.001, high * 10, 1e30, -1e30)


def choices(good: str) -> tuple[Any, ...]:
    """Values a choice field refuses."""
    return (*TEXTS, good.upper(), good + "\x00", "lost", 1, *NOT_SCALARS)


@dataclass(frozen=True, slots=True)
class Call:
    """One action call that must be refused with this translation key."""

    service: str
    data: dict[str, Any]
    key: str
    error: type[HomeAssistantError] = ServiceValidationError


@dataclass(slots=True)
class Plans:
    """The plans of the household, one in each state, for calls to refuse."""

    entry: MockConfigEntry
    pending: str = ""  # large: needs its total acknowledged
    pending_keys: list[int] = field(default_factory=list)
    confirmed: str = ""  # quarantined, waiting for its purge
    confirmed_keys: list[int] = field(default_factory=list)
    expired: str = ""
    cancelled: str = ""
    total_gb: float = 0.0


async def act(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    """Call a SmartPlex action and return its response."""
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def make_plans(hass: HomeAssistant, stack: SimulatorStack) -> Plans:
    """Set up every service and leave plans expired, pending, confirmed, cancelled."""
    entry = await setup_entry(
        hass,
        stack,
        (
            ServiceKind.RADARR,
            ServiceKind.SONARR,
            ServiceKind.TAUTULLI,
            ServiceKind.OVERSEERR,
        ),
        {
            "grace_hours": 24,
            "plan_expiry_hours": 0,
            "acknowledge_above_gb": 1,
            "rules": [GOOD_RULE],
        },
    )
    plans = Plans(entry)
    movies = sorted(
        m.rating_key
        for m in stack.world.movies.values()
        if m.radarr_id and m.file and m.file.size > 2e9 and "keep" not in m.labels
    )
    ids = {ATTR_CONFIG_ENTRY_ID: entry.entry_id}
    plan = await act(hass, "request_deletion", ids | {"rating_keys": movies[:1]})
    plans.expired = plan["plan_id"]
    await entry.runtime_data.cleanup.async_run()
    hass.config_entries.async_update_entry(
        entry, options=entry.options | {"plan_expiry_hours": 24}
    )
    await hass.async_block_till_done()
    plan = await act(hass, "request_deletion", ids | {"rating_keys": movies[1:2]})
    plans.cancelled = plan["plan_id"]
    await act(hass, "cancel_deletion", ids | {"plan_id": plans.cancelled})
    plans.confirmed_keys = movies[2:4]
    plan = await act(hass, "request_deletion", ids | {"rating_keys": movies[2:4]})
    plans.confirmed = plan["plan_id"]
    await act(
        hass,
        "confirm_deletion",
        ids | {"plan_id": plans.confirmed, "acknowledge_total_gb": plan["total_gb"]},
    )
    await entry.runtime_data.cleanup.async_run()
    plans.pending_keys = movies[4:6]
    plan = await act(hass, "request_deletion", ids | {"rating_keys": movies[4:6]})
    plans.pending = plan["plan_id"]
    plans.total_gb = plan["total_gb"]
    await hass.async_block_till_done()
    states = await act(hass, "get_plans", ids)
    assert {p["plan_id"]: p["state"] for p in states["plans"]} == {
        plans.expired: "expired",
        plans.cancelled: "cancelled",
        plans.confirmed: "confirmed",
        plans.pending: "pending",
    }
    assert plan["needs_acknowledge"] is True
    return plans


def variants(service: str, base: dict[str, Any], name: str, values: Any) -> list[Call]:
    """Calls with one field of a base changed to each refused value."""
    return [
        Call(service, base | {name: value}, "invalid_action_data") for value in values
    ]


def bad_calls(plans: Plans, other_entry: str, offline_entry: str) -> list[Call]:
    """Every action with each of its fields wrong, one at a time."""
    entry = {ATTR_CONFIG_ENTRY_ID: plans.entry.entry_id}
    movie = plans.pending_keys[0]
    bases: dict[str, dict[str, Any]] = {
        "sync": entry | {"full": True},
        "get_requests": entry | {"limit": 5},
        "find_candidates": entry | {"rule": GOOD_RULE},
        "explain": entry | {"rule": GOOD_RULE, "rating_key": movie},
        "request_deletion": entry | {"rating_keys": [movie]},
        "confirm_deletion": entry | {"plan_id": plans.pending},
        "cancel_deletion": entry | {"plan_id": plans.pending},
        "restore": entry
        | {"plan_id": plans.confirmed, "rating_keys": plans.confirmed_keys[:1]},
        "keep": entry
        | {"plan_id": plans.confirmed, "rating_keys": plans.confirmed_keys[:1]},
        "postpone": entry | {"plan_id": plans.confirmed, "days": 7},
        "get_plans": entry | {"state": "pending"},
        "get_audit_log": entry | {"limit": 5},
    }
    required = {"rule", "rating_key", "plan_id", "days", ATTR_CONFIG_ENTRY_ID}
    calls: list[Call] = []
    for service, base in bases.items():
        calls += variants(service, base, ATTR_CONFIG_ENTRY_ID, NOT_SCALARS)
        calls += [
            Call(service, base | {ATTR_CONFIG_ENTRY_ID: value}, "entry_not_found")
            for value in (*TEXTS, "0" * 32, -1, 10**30, other_entry)
        ]
        calls.append(
            Call(
                service,
                base | {ATTR_CONFIG_ENTRY_ID: offline_entry},
                "entry_not_loaded",
            )
        )
        calls += variants(service, base, "bogus", (1, None))
        calls += [
            Call(service, base | {name: 1}, "invalid_action_data")
            for name in (HUGE, "🎬", "", "Config_Entry_Id")
        ]
        calls += [
            Call(
                service,
                {k: v for k, v in base.items() if k != name},
                "invalid_action_data",
            )
            for name in base
            if name in required
        ]
    calls += variants("sync", bases["sync"], "full", NOT_BOOLEANS)
    get_requests = bases["get_requests"]
    calls += variants("get_requests", get_requests, "status", choices("pending"))
    calls += variants(
        "get_requests", get_requests, "user", ("x" * 201, HUGE, *NOT_SCALARS)
    )
    calls += variants("get_requests", get_requests, "limit", whole(1, 500))
    for service in ("find_candidates", "explain"):
        calls += variants(service, bases[service], "rule", NOT_RULES)
        calls += [
            Call(service, bases[service] | {"rule": rule}, "invalid_rule")
            for rule in BAD_RULES
        ]
    calls += variants(
        "find_candidates", bases["find_candidates"], "limit", whole(1, 1000)
    )
    explain = bases["explain"]
    calls += variants(
        "explain", explain, "rating_key", (0, -1, "abc", "1.5x", *NOT_NUMBERS)
    )
    calls += [
        Call("explain", explain | {"rating_key": key}, "item_not_found")
        for key in (10**12, 10**30)
    ]
    by_keys = bases["request_deletion"]
    by_rule = entry | {"rule": GOOD_RULE}
    by_name = entry | {"rule_name": "Big"}
    calls += variants("request_deletion", by_keys, "rating_keys", NOT_RATING_KEYS)
    calls += variants("request_deletion", by_rule, "rule", NOT_RULES)
    calls += [
        Call("request_deletion", by_rule | {"rule": rule}, "invalid_rule")
        for rule in BAD_RULES
    ]
    calls += variants(
        "request_deletion", by_name, "rule_name", ("", "x" * 101, HUGE, *NOT_SCALARS)
    )
    calls += [
        Call("request_deletion", by_name | {"rule_name": name}, "unknown_rule")
        for name in ("big", "Big ", "ünïcödé 🎬", "\x00", "Old unwatched movies")
    ]
    calls += [
        Call("request_deletion", data, "invalid_action_data")
        for data in (
            entry,
            entry | {"dry_run": True},
            by_keys | {"rule": GOOD_RULE},
            by_keys | {"rule_name": "Big"},
            by_rule | {"rule_name": "Big"},
        )
    ]
    for name, values in (
        ("dry_run", NOT_BOOLEANS),
        ("limit", whole(1, 1000)),
        ("free_below_gb", gigabytes(1_000_000)),
        ("target_free_gb", gigabytes(1_000_000)),
    ):
        calls += variants("request_deletion", by_keys, name, values)
    calls.append(
        Call(
            "request_deletion",
            by_rule
            | {"rule": GOOD_RULE | {"never_played": True, "max_data_age_hours": 1e-9}},
            "rule_refused",
        )
    )
    for service in (
        "confirm_deletion",
        "cancel_deletion",
        "restore",
        "keep",
        "postpone",
    ):
        base = bases[service]
        calls += variants(service, base, "plan_id", NOT_PLAN_IDS)
        calls += [
            Call(service, base | {"plan_id": plan_id}, "unknown_plan")
            for plan_id in ("0" * 32, "f" * 32, plans.pending[::-1])
        ]
    confirm = bases["confirm_deletion"]
    calls += variants(
        "confirm_deletion", confirm, "acknowledge_total_gb", gigabytes(1_000_000_000)
    )
    calls += variants(
        "confirm_deletion",
        confirm,
        "acknowledge_count",
        (*NOT_NUMBERS, -1, 10**30, 100_000_001),
    )
    calls += [
        Call(
            "confirm_deletion",
            confirm | {"acknowledge_total_gb": total},
            "acknowledge_required",
        )
        for total in (0, 0.001, 1, plans.total_gb + 0.1, plans.total_gb - 0.1, 1e9)
    ]
    calls.append(
        Call(
            "confirm_deletion",
            confirm | {"acknowledge_count": 0},
            "acknowledge_required",
        )
    )
    for service, expired in (
        ("confirm_deletion", "plan_not_pending"),
        ("cancel_deletion", "plan_not_pending"),
        ("restore", "plan_not_confirmed"),
        ("keep", "plan_not_open"),
        ("postpone", "plan_not_open"),
    ):
        base = bases[service]
        calls.append(Call(service, base | {"plan_id": plans.expired}, expired))
        if service != "cancel_deletion":  # cancelling twice is no error
            calls.append(Call(service, base | {"plan_id": plans.cancelled}, expired))
    calls += [
        Call(
            "cancel_deletion",
            confirm | {"plan_id": plans.confirmed},
            "plan_not_pending",
        ),
        Call(
            "restore",
            bases["restore"] | {"plan_id": plans.pending},
            "plan_not_confirmed",
        ),
    ]
    for service in ("restore", "keep", "postpone"):
        base = bases[service]
        calls += variants(service, base, "rating_keys", NOT_RATING_KEYS)
        calls += [
            Call(service, base | {"rating_keys": keys}, "item_not_open")
            for keys in (
                [10**12],
                plans.pending_keys,
                [*plans.confirmed_keys, 10**30],
            )
        ]
    calls += variants("postpone", bases["postpone"], "days", whole(1, 365))
    calls += variants("get_plans", bases["get_plans"], "state", choices("pending"))
    calls += variants("get_plans", bases["get_plans"], "plan_id", NOT_PLAN_IDS)
    calls += variants("get_audit_log", bases["get_audit_log"], "plan_id", NOT_PLAN_IDS)
    calls += variants(
        "get_audit_log", bases["get_audit_log"], "limit", whole(1, 10_000)
    )
    return calls


def check_error(err: HomeAssistantError, call: Call) -> None:
    """The error is the expected kind, translated, every placeholder filled."""
    where = f"{call.service} {str(call.data)[:300]}"
    assert type(err) is call.error, where
    assert err.translation_domain == DOMAIN, where
    assert err.translation_key == call.key, f"{where}: {err.translation_key} {err}"
    message = STRINGS["exceptions"][call.key]["message"]
    wanted = {name for _, name, _, _ in Formatter().parse(message) if name}
    placeholders = err.translation_placeholders or {}
    assert wanted <= set(placeholders), where
    assert all(isinstance(value, str) for value in placeholders.values()), where
    assert message.format(**placeholders), where


async def refused(hass: HomeAssistant, call: Call) -> None:
    """Make the call; it must be refused as expected."""
    try:
        await act(hass, call.service, call.data)
    except HomeAssistantError as err:
        check_error(err, call)
    else:
        pytest.fail(f"accepted: {call.service} {str(call.data)[:300]}")


async def state_of(hass: HomeAssistant, plans: Plans, stack: SimulatorStack) -> Any:
    """What a refused call must leave as it was: plans, audit log and writes."""
    cleanup = plans.entry.runtime_data.cleanup
    listed = await act(hass, "get_plans", {ATTR_CONFIG_ENTRY_ID: plans.entry.entry_id})
    return listed, len(cleanup.journal.audit), writes(stack)


async def test_actions_refuse_bad_data(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Every action, every field wrong: a translated error and no change anywhere."""
    plans = await make_plans(hass, stack)
    other = MockConfigEntry(domain="sun", title="Not ours")
    other.add_to_hass(hass)
    offline = MockConfigEntry(domain=DOMAIN, title="Offline", unique_id="offline")
    offline.add_to_hass(hass)
    events = smartplex_events(hass)
    calls = bad_calls(plans, other.entry_id, offline.entry_id)
    before = await state_of(hass, plans, stack)
    for call in calls:
        await refused(hass, call)
        await hass.async_block_till_done()
        assert await state_of(hass, plans, stack) == before, call
        assert events == [], call
    assert not tracebacks(caplog)
    record_property(FIGURE, ("action calls with bad data tried", len(calls)))


async def test_actions_refuse_when_plex_fails(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Good data that the state refuses (Plex failing) is a HomeAssistantError."""
    plans = await make_plans(hass, stack)
    entry = {ATTR_CONFIG_ENTRY_ID: plans.entry.entry_id}
    events = smartplex_events(hass)
    before = await state_of(hass, plans, stack)
    stack.plex.set_fault(Fault.SERVER_ERROR)
    calls = [
        Call("sync", entry | {"full": True}, "library_sync_failed", HomeAssistantError),
        *(
            Call(service, entry | data, "now_playing_unknown", HomeAssistantError)
            for service, data in (
                ("find_candidates", {"rule": GOOD_RULE}),
                ("explain", {"rule": GOOD_RULE, "rating_key": plans.pending_keys[0]}),
                ("request_deletion", {"rule": GOOD_RULE}),
                ("request_deletion", {"rule_name": "Big", "dry_run": True}),
                ("request_deletion", {"rating_keys": plans.pending_keys}),
            )
        ),
    ]
    for call in calls:
        await refused(hass, call)
    stack.plex.clear_fault()
    await hass.async_block_till_done()
    assert await state_of(hass, plans, stack) == before
    assert events == []
    assert not tracebacks(caplog)
    record_property(FIGURE, ("action calls refused by a failing Plex", len(calls)))


# Config and options flows ------------------------------------------------------------

BAD_URLS: tuple[str, ...] = (
    "",
    " ",
    "ftp://127.0.0.1:32400",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/html,<b>x</b>",
    "ws://127.0.0.1:32400",
    "http://admin:secret@127.0.0.1:32400",
    "http://:secret@127.0.0.1:32400",
    "http://admin@127.0.0.1:32400",
    "http://127.0.0.1:32400/?X-Plex-Token=abc",
    "http://127.0.0.1:32400/#fragment",
    "http://",
    "http:///library",
    "//127.0.0.1:32400",
    "127.0.0.1:32400",
    "localhost",
    HUGE,
    "http://" + HUGE,
    "http://127.0.0.1:99999",
    "http://[::1",
    "http://exa mple.com",
    "http://127.0.0.1\x00:32400",
    "http://%00/",
    "http://xn--",
    "\x00",
    "\r\n",
    "ünïcödé",
    "🎬",
    "http://ünï cödé.example",
)
# Addresses that are fine to try (nothing answers there): a connection error.
UNREACHABLE_URLS = (
    "http://127.0.0.1:9/ünïcödé",
    "http://127.0.0.1:9/\r\nX-Injected: 1",
    "http://127.0.0.1:9/a%00b",
    "http://127.0.0.1\r\n:9",  # tabs and line breaks are dropped, as browsers do
    "HTTP://127.0.0.1:9",
)
NOT_STRINGS: tuple[Any, ...] = (None, 5, 1.5, True, [], {}, ["http://x"])
UNUSABLE_SECRETS = ("x" * 1025, HUGE, "key\r\nX-Injected: 1", "\x00", "a\tb", "\x1b[2J")
REJECTED_SECRETS = ("", " ", "ünïcödé", "🎬", "x" * 1024)


@dataclass(slots=True)
class Flow:
    """Feed one form bad input after bad input; each must come back as a field error."""

    configure: Callable[[str, dict[str, Any]], Any]
    flow_id: str
    tried: int = 0

    async def refuses(
        self, user_input: dict[str, Any], errors: dict[str, str] | str
    ) -> None:
        """Submit; expect the form again with these errors (a str: a schema error)."""
        self.tried += 1
        where = str(user_input)[:300]
        if isinstance(errors, str):
            with pytest.raises(InvalidData) as err:
                await self.configure(self.flow_id, user_input)
            schema_errors = err.value.schema_errors
            assert set(schema_errors) == {errors}, f"{where}: {schema_errors}"
            return
        result = await self.configure(self.flow_id, user_input)
        assert result["type"] is FlowResultType.FORM, where
        assert result["errors"] == errors, f"{where}: {result['errors']}"

    async def finish(self, user_input: dict[str, Any]) -> Any:
        """Submit good input: the flow goes on from its error state."""
        return await self.configure(self.flow_id, user_input)


async def refuse_connection_input(
    flow: Flow,
    good: dict[str, Any],
    secret: str,
    sim: Simulator,
    wrong_key: str = "invalid_auth",
) -> None:
    """Bad URLs and unusable secrets touch nothing; unreachable or rejected ones fail."""
    for url in BAD_URLS:
        await flow.refuses(good | {CONF_URL: url}, {CONF_URL: "invalid_url"})
    for value in NOT_STRINGS:
        await flow.refuses(good | {CONF_URL: value}, CONF_URL)
        await flow.refuses(good | {secret: value}, secret)
    await flow.refuses(good | {CONF_VERIFY_SSL: "maybe"}, CONF_VERIFY_SSL)
    for value in UNUSABLE_SECRETS:
        await flow.refuses(good | {secret: value}, {secret: "invalid_secret"})
    await flow.refuses(good | {"bogus": 1}, "base")
    await flow.refuses({k: v for k, v in good.items() if k != CONF_URL}, CONF_URL)
    assert sim.requests == []
    for url in UNREACHABLE_URLS:
        await flow.refuses(good | {CONF_URL: url}, {"base": "cannot_connect"})
    for value in REJECTED_SECRETS:
        await flow.refuses(good | {secret: value}, {secret: wrong_key})


async def test_config_flows_refuse_bad_input(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Plex's and a service's forms: each bad input is an error on its field."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "manual"}
    )
    plex = Flow(hass.config_entries.flow.async_configure, result["flow_id"])
    good = {
        CONF_URL: stack.plex.url,
        CONF_TOKEN: stack.plex.token,
        CONF_VERIFY_SSL: True,
    }
    await refuse_connection_input(plex, good, CONF_TOKEN, stack.plex)
    result = await plex.finish(good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entry = result["result"]

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    reconfigure = Flow(hass.config_entries.flow.async_configure, result["flow_id"])
    stack.plex.requests.clear()
    moved = {CONF_URL: stack.plex.url, CONF_VERIFY_SSL: True}
    for url in BAD_URLS:
        await reconfigure.refuses(moved | {CONF_URL: url}, {CONF_URL: "invalid_url"})
    for value in UNUSABLE_SECRETS:
        await reconfigure.refuses(
            moved | {CONF_TOKEN: value}, {CONF_TOKEN: "invalid_secret"}
        )
    assert stack.plex.requests == []
    result = await reconfigure.finish(moved)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, str(ServiceKind.SONARR)), context={"source": SOURCE_USER}
    )
    sonarr = Flow(hass.config_entries.subentries.async_configure, result["flow_id"])
    good = {
        CONF_URL: stack.sonarr.url,
        CONF_API_KEY: stack.sonarr.api_key,
        CONF_VERIFY_SSL: True,
    }
    await refuse_connection_input(sonarr, good, CONF_API_KEY, stack.sonarr)
    result = await sonarr.finish(good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert not tracebacks(caplog)
    tried = plex.tried + reconfigure.tried + sonarr.tried
    record_property(FIGURE, ("config flow inputs tried", tried))


SETTINGS = {
    "full_sync_time": "03:30:00",
    "health_interval": 5,
    "not_watched_days": 90,
    "grace_hours": 24,
    "plan_expiry_hours": 24,
    "acknowledge_above_gb": 100,
    "import_exclusion": False,
    "blast_radius_percent": 20,
    "blast_radius_files": 200,
    "heads_up_days": 3,
}
SETTING_RANGES = {
    "storage_capacity_gb": (1, 100_000_000),
    "health_interval": (1, 60),
    "not_watched_days": (1, 3650),
    "grace_hours": (0, 8760),
    "plan_expiry_hours": (1, 720),
    "acknowledge_above_gb": (1, 100_000_000),
    "blast_radius_percent": (1, 100),
    "blast_radius_files": (1, 1_000_000),
    "heads_up_days": (1, 30),
}
RULE_RANGES = {
    "not_played_days": (1, 36500),
    "never_played_added_days": (1, 36500),
    "max_plays": (1, 1_000_000),
    "added_more_than_days": (1, 36500),
    "min_size_gb": (0.1, 1_000_000),
    "keep_last_episodes": (1, 10_000),
    "keep_last_seasons": (1, 10_000),
}
OUT_OF_RANGE: tuple[Any, ...] = (
    "abc",
    "",
    "1,5",
    INF,
    -INF,
    "inf",
    10**30,
    None,
    [],
    {},
    HUGE,
)


async def test_options_refuse_bad_input(
    hass: HomeAssistant,
    stack: SimulatorStack,
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Settings and rule forms: bad values are errors on their fields, never a crash."""
    entry = await setup_entry(hass, stack)
    result = await open_settings(hass, entry)
    settings = Flow(hass.config_entries.options.async_configure, result["flow_id"])
    for name, (low, high) in SETTING_RANGES.items():
        for value in (*OUT_OF_RANGE, low - 1, high + 1):
            await settings.refuses(SETTINGS | {name: value}, name)
        for value in (NAN, "nan"):
            await settings.refuses(SETTINGS | {name: value}, {name: "not_a_number"})
    await settings.refuses(
        SETTINGS | {"storage_capacity_gb": 1},
        {"storage_capacity_gb": "capacity_below_usage"},
    )
    for value in ("25:00", "3:30:61", "", "x", HUGE, "03:30:00.5", None, 330, []):
        await settings.refuses(SETTINGS | {"full_sync_time": value}, "full_sync_time")
    await settings.refuses(SETTINGS | {"import_exclusion": "maybe"}, "import_exclusion")
    await settings.refuses(SETTINGS | {"bogus": 1}, "base")
    result = await settings.finish(SETTINGS | {"full_sync_time": "4:05"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["full_sync_time"] == "04:05:00"
    assert entry.state is ConfigEntryState.LOADED

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "add_rule"}
    )
    rules = Flow(hass.config_entries.options.async_configure, result["flow_id"])
    rule = {"name": "Big", "level": "movie", "min_size_gb": 5}
    for name, (low, high) in RULE_RANGES.items():
        for value in (*OUT_OF_RANGE, low - 1, high + 1):
            await rules.refuses(rule | {name: value}, name)
        for value in (NAN, "nan"):
            await rules.refuses(rule | {name: value}, {name: "not_a_number"})
    for value in ("", " ", "\t"):
        await rules.refuses(rule | {"name": value}, {"name": "rule_empty"})
    for value in ("x" * 101, HUGE):
        await rules.refuses(rule | {"name": value}, {"name": "rule_too_large"})
    for name, value in (
        ("name", None),
        ("name", 5),
        ("level", "film"),
        ("level", ""),
        ("level", None),
        ("never_played", "yes"),
        ("remove_empty_show", "yes"),
        ("labels", ["keep"]),
    ):
        await rules.refuses(rule | {name: value}, name)
    await rules.refuses(rule | {"bogus": 1}, "base")
    for wrong_level in (
        {"keep_last_episodes": 3},
        {"keep_last_seasons": 3},
        {"remove_empty_show": True},
    ):
        await rules.refuses(
            rule | wrong_level, {next(iter(wrong_level)): "rule_wrong_level"}
        )
    await rules.refuses(
        {"name": "Big", "level": "movie"}, {"base": "rule_no_conditions"}
    )
    result = await rules.finish(rule | {"name": "ünïcödé 🎬 Big", "labels": "keep, ☃"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "remove_rule"}
    )
    remove = Flow(hass.config_entries.options.async_configure, result["flow_id"])
    for value in (["Nope"], "ünïcödé 🎬 Big", [None], None, [HUGE]):
        await remove.refuses({"rules": value}, "rules")
    assert entry.state is ConfigEntryState.LOADED
    assert [r["name"] for r in entry.options["rules"]] == ["ünïcödé 🎬 Big"]
    assert not tracebacks(caplog)
    tried = settings.tried + rules.tried + remove.tried
    record_property(FIGURE, ("options flow inputs tried", tried))


# Webhooks ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hook:
    """One webhook request as sent, and what the specification expects of it."""

    source: str | None
    body: bytes
    content_type: bytes | None = b"application/json"
    auth: bytes | None = None
    method: str = "POST"
    chunked: bool = False
    split: bool = False
    # The answer the README's rules give, when they give one: status, and text for 200.
    status: int | None = None
    text: str | None = None
    valid: bool = False  # a valid event: it may change something
    fires: bool = False  # it fires smartplex_library_new


SCALARS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    7,
    2**31,
    2**53,
    2**63 - 1,
    2**64,
    -(2**63),
    10**30,
    0.0,
    -0.0,
    0.5,
    1e308,
    -1e-308,
    "",
    " ",
    "0",
    "-1",
    "12",
    "007",
    "\uff11\uff12\uff13",  # fullwidth digits: str.isdecimal() is true
    "99999999999999999999999",
    "9" * 5000,
    "1e400",
    "NaN",
    "null",
    "true",
    "ünïcödé",
    "🎬" * 40,
    "\u202eevil",
    "\x00\x01\x1f\x7f",
    "\ud800",
    "a" * 3000,
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%n%x",
    "../../etc/passwd",
    "MEDIA_PENDING",
    "MEDIA_AVAILABLE",
    "TEST_NOTIFICATION",
    "ISSUE_CREATED",
    "library.new",
    "media.scrobble",
    "watched",
    "recently_added",
)
KEYS = (
    "notification_type",
    "event",
    "subject",
    "request",
    "request_id",
    "media",
    "media_type",
    "tmdbId",
    "tvdbId",
    "requestedBy_username",
    "Server",
    "uuid",
    "Metadata",
    "ratingKey",
    "rating_key",
    "extra",
    "",
    "🎬",
    "a" * 300,
)


def random_value(rng: random.Random, depth: int = 4) -> Any:
    """Return a random JSON-ish value: scalars, lists and objects, nested a little."""
    roll = rng.random()
    if depth <= 0 or roll < 0.5:
        return rng.choice(SCALARS)
    if roll < 0.7:
        return [random_value(rng, depth - 1) for _ in range(rng.randrange(6))]
    return {
        rng.choice(KEYS): random_value(rng, depth - 1) for _ in range(rng.randrange(6))
    }


def mutate(rng: random.Random, value: Any, depth: int = 0) -> Any:
    """Return a copy of a JSON value with one node replaced, removed or retyped."""
    if isinstance(value, dict) and value and (depth < 3 and rng.random() < 0.7):
        key = rng.choice(list(value))
        copy = dict(value)
        match rng.randrange(4):
            case 0:
                del copy[key]
            case 1:
                copy[key] = random_value(rng, 2)
            case 2:
                copy[rng.choice(KEYS)] = random_value(rng, 2)
            case _:
                copy[key] = mutate(rng, value[key], depth + 1)
        return copy
    if isinstance(value, list) and value and rng.random() < 0.5:
        copy = list(value)
        copy[rng.randrange(len(copy))] = random_value(rng, 2)
        return copy
    return random_value(rng, 2)


def encode(rng: random.Random, value: Any) -> bytes:
    """Serialize as a sender might: ASCII-escaped or not, NaN and lone surrogates kept."""
    text = json.dumps(value, ensure_ascii=rng.random() < 0.5, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def decode(body: bytes) -> tuple[bool, Any]:
    """Return (whether it is JSON, the value) as the webhook's parser sees it."""
    try:
        return True, orjson.loads(body)
    except orjson.JSONDecodeError:
        return False, None


def deep(depth: int) -> bytes:
    """Return arrays and objects nested `depth` levels deep."""
    return b'{"a":[' * (depth // 2) + b"1" + b"]}" * (depth // 2)


def broken(rng: random.Random, body: bytes) -> bytes:
    """Return a body that is no longer JSON (or no longer UTF-8), or an odd edge case."""
    cut = rng.randrange(max(1, len(body)))
    return rng.choice(
        (
            body[:cut],
            body[:cut] + b"\xff" + body[cut:],
            b"\xef\xbb\xbf" + body,
            body.decode("utf-8", "replace").encode("utf-16"),
            b"",
            b"1e400",
            b"[" * 5000,
            deep(1200),
            b'{"notification_type": NaN}',
            b"\x00" * 64,
        )
    )


def overseerr_id_ok(value: Any) -> bool:
    """Whether a request id is one Overseerr could send: a positive int or digits."""
    if isinstance(value, str) and value.isdecimal() and len(value) < 20:
        value = int(value)
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 < value <= MAX_OVERSEERR_ID
    )


def overseerr_answer(body: bytes) -> tuple[int, str | None, bool]:
    """What the README's rules say an authorized Overseerr JSON body gets."""
    is_json, value = decode(body)
    if not is_json:
        return 400, None, False
    if not isinstance(value, dict):
        return 422, None, False
    notification = value.get("notification_type")
    if not isinstance(notification, str) or not TYPE_NAME.fullmatch(notification):
        return 422, None, False
    if notification == "TEST_NOTIFICATION":
        return 200, "test", False
    if notification not in NOTIFICATION_STATES:
        return 200, "ignored_unknown", True  # counted by type
    request = value.get("request")
    if not isinstance(request, dict) or not overseerr_id_ok(request.get("request_id")):
        return 422, None, False
    return 200, "recorded", True


def tautulli_answer(body: bytes) -> tuple[int, str | None, bool]:
    """What a Tautulli JSON body gets: an event string, acted on when we know it."""
    is_json, value = decode(body)
    if not is_json:
        return 400, None, False
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        return 400, None, False
    if value["event"] in ("watched", "recently_added"):
        return 200, "ok", True
    return 200, "ignored", False


def plex_answer(payload: bytes | None, uuid: str) -> tuple[int, str | None, bool, bool]:
    """What a Plex multipart body with this `payload` part (None: none) gets.

    Return the status, the text of a 200, whether it is acted on and whether it
    announces new media.
    """
    if payload is None:
        return 400, None, False, False
    is_json, value = decode(payload)
    if not is_json or not isinstance(value, dict):
        return 400, None, False, False
    if not isinstance(value.get("event"), str):
        return 400, None, False, False
    server = value.get("Server")
    if not isinstance(server, dict) or server.get("uuid") != uuid:
        return 200, "ignored", False, False
    event = value["event"]
    return 200, "ok", event in ("library.new", "media.scrobble"), event == "library.new"


def transport(rng: random.Random) -> dict[str, bool]:
    """Send some bodies chunked, some split in two writes."""
    roll = rng.random()
    return {"chunked": roll < 0.1, "split": 0.1 <= roll < 0.2}


class Fuzzer:
    """Seeded webhook requests for one entry: valid, broken and hostile ones."""

    def __init__(self, seed: int, stack: SimulatorStack, secret: str) -> None:
        """Draw from one seed against the simulated household."""
        self.rng = random.Random(seed)  # noqa: S311 - fuzz bodies, not secrets
        self.world = stack.world
        self.uuid = stack.plex.machine_identifier
        self.secret = secret.encode()
        self.media = [*self.world.movies, *self.world.episodes]

    def overseerr_body(self) -> dict[str, Any]:
        """Render a request notification as Overseerr does, for a small id pool."""
        rng = self.rng
        notification = Notification[rng.choice(list(NOTIFICATION_STATES))]
        request = rng.choice(self.world.requests)
        values, extra = request_values(notification, request, self.world)
        values["request_id"] = str(rng.randrange(1, 80))
        return render_template(
            json.dumps(DEFAULT_TEMPLATE), values, extra, {"media", "request"}
        )

    def wrong_auth(self) -> bytes | None:
        """An Authorization header that is not the secret."""
        return self.rng.choice(
            (
                None,
                b"",
                b"wrong",
                b"Bearer " + self.secret,
                self.secret.upper(),
                self.secret[:-1],
                self.secret + b"x",
                b"\xff\xfe" + self.secret,
                "é".encode() + self.secret,
                b"a" * 4000,
            )
        )

    def overseerr(self) -> Hook:
        """One request to `?source=overseerr`."""
        rng = self.rng
        roll = rng.random()
        more = transport(rng)
        if roll < 0.05:
            body = encode(rng, self.overseerr_body())
            return Hook("overseerr", body, auth=self.wrong_auth(), status=401, **more)
        if roll < 0.1:
            kind = rng.choice(
                (
                    b"text/plain",
                    b"application/x-www-form-urlencoded",
                    None,
                    b"\xff/\xfe",
                )
            )
            body = encode(rng, self.overseerr_body())
            return Hook("overseerr", body, kind, self.secret, status=415, **more)
        if roll < 0.25:
            body = encode(rng, self.overseerr_body())
        elif roll < 0.6:
            body = encode(rng, mutate(rng, self.overseerr_body()))
        elif roll < 0.8:
            body = encode(rng, random_value(rng))
        elif roll < 0.9:
            body = broken(rng, encode(rng, self.overseerr_body()))
        else:
            keyed = {key: random_value(rng, 2) for key in rng.sample(KEYS, 4)}
            body = encode(rng, keyed | {"notification_type": rng.choice(SCALARS)})
        status, text, valid = overseerr_answer(body)
        return Hook(
            "overseerr",
            body,
            auth=self.secret,
            status=status,
            text=text,
            valid=valid,
            **more,
        )

    def tautulli_body(self) -> dict[str, Any]:
        """The body the README asks Tautulli to send."""
        rng = self.rng
        event = rng.choice(("watched", "recently_added", "playback_start", "created"))
        return {"event": event, "rating_key": str(rng.choice(self.media))}

    def tautulli(self) -> Hook:
        """One request to `?source=tautulli`."""
        rng = self.rng
        roll = rng.random()
        more = transport(rng)
        if roll < 0.05:
            kind = rng.choice((b"text/plain", b"multipart/form-data", None))
            return Hook(
                "tautulli", encode(rng, self.tautulli_body()), kind, status=415, **more
            )
        if roll < 0.2:
            body = encode(rng, self.tautulli_body())
        elif roll < 0.55:
            body = encode(rng, mutate(rng, self.tautulli_body()))
        elif roll < 0.85:
            body = encode(rng, random_value(rng))
        else:
            body = broken(rng, encode(rng, self.tautulli_body()))
        status, text, valid = tautulli_answer(body)
        return Hook("tautulli", body, status=status, text=text, valid=valid, **more)

    def plex_payload(self) -> dict[str, Any]:
        """A Plex event payload, mostly from our server."""
        rng = self.rng
        event = rng.choice(
            ("library.new", "media.scrobble", "media.play", "media.pause", "admin.x")
        )
        uuid = self.uuid if rng.random() < 0.7 else "another-server"
        return plex_payload(event, rng.choice(self.media), self.world, server_uuid=uuid)

    def plex(self) -> Hook:
        """One request to `?source=plex`: multipart with or without its payload part."""
        rng = self.rng
        roll = rng.random()
        more = transport(rng)
        if roll < 0.05:
            kind = rng.choice(
                (b"application/json", None, b"multipart/mixed; boundary=b")
            )
            return Hook(
                "plex", encode(rng, self.plex_payload()), kind, status=415, **more
            )
        if roll < 0.2:
            payload: bytes | None = encode(rng, self.plex_payload())
        elif roll < 0.55:
            payload = encode(rng, mutate(rng, self.plex_payload()))
        elif roll < 0.7:
            payload = encode(rng, random_value(rng))
        elif roll < 0.8:
            payload = broken(rng, encode(rng, self.plex_payload()))
        else:
            payload = None
        boundary = f"b{rng.getrandbits(64):x}".encode()
        parts: list[tuple[bytes, bytes]] = []
        if rng.random() < 0.3:
            parts.append((b'name="thumb"; filename="a.jpg"', THUMB_JPEG))
        if payload is not None:
            parts.append((b'name="payload"', payload))
        if rng.random() < 0.3:
            parts.append((b'name="' + rng.choice(KEYS).encode() + b'"', b"{}"))
        body = (
            b"".join(
                b"--"
                + boundary
                + b"\r\nContent-Disposition: form-data; "
                + disposition
                + b"\r\n\r\n"
                + data
                + b"\r\n"
                for disposition, data in parts
            )
            + b"--"
            + boundary
            + b"--\r\n"
        )
        kind = b"multipart/form-data; boundary=" + boundary
        if rng.random() < 0.1:
            # Cut short or garbled: whatever it says, a 4xx or a 200 that acted on it.
            return Hook("plex", broken(rng, body), kind, **more)
        status, text, valid, fires = plex_answer(payload, self.uuid)
        return Hook(
            "plex",
            body,
            kind,
            status=status,
            text=text,
            valid=valid,
            fires=fires,
            **more,
        )

    def odd(self) -> list[Hook]:
        """Requests that are wrong before any body is read."""
        body = encode(self.rng, self.tautulli_body())
        hooks = [
            Hook(source, body, status=400)
            for source in (
                None,
                "",
                "nobody",
                "PLEX",
                "Overseerr",
                "plex%00",
                "%F0%9F%8E",
            )
        ]
        hooks += [
            Hook("tautulli", body, method=method, status=405)
            for method in ("GET", "PUT", "DELETE", "PATCH")
        ]
        too_big = b'{"event": "watched", "x": "' + b"a" * MAX_BODY + b'"}'
        hooks += [
            Hook(source, too_big, content_type, self.secret, status=413)
            for source, content_type in (
                ("overseerr", b"application/json"),
                ("tautulli", b"application/json"),
                ("plex", b"multipart/form-data; boundary=b"),
            )
        ]
        hooks += [
            Hook(source, too_big, auth=self.secret, chunked=True, status=413)
            for source in ("overseerr", "tautulli")
        ]
        nearly = {"event": "watched", "x": "a" * (MAX_BODY - 100)}
        hooks.append(
            Hook(
                "tautulli",
                orjson.dumps(nearly),
                split=True,
                status=200,
                text="ok",
                valid=True,
            )
        )
        garbled = (
            b"garbage",
            b"--b\r\n\r\nno disposition\r\n--b--\r\n",
            b'--b\r\nContent-Disposition: form-data; name="payload\r\n\r\n{}\r\n--b--\r\n',
            (
                b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n"
                b"--c\r\n\r\nx\r\n--c--\r\n--b--\r\n"
            ),
            (
                b'--b\r\nContent-Disposition: form-data; name="payload"\r\n'
                b"Content-Transfer-Encoding: base64\r\n\r\n!!!\r\n--b--\r\n"
            ),
        )
        hooks += [
            Hook("plex", body, b"multipart/form-data; boundary=b", status=400)
            for body in garbled
        ]
        hooks += [
            Hook("plex", b"x", kind, status=400)
            for kind in (
                b"multipart/form-data",
                b"multipart/form-data; boundary=",
                b"multipart/form-data; boundary=" + b"a" * 100,
            )
        ]
        return hooks


async def post(host: str, port: int, path: str, hook: Hook) -> tuple[int, bytes]:
    """Send one request byte for byte; return the status and the body of the answer."""
    query = "" if hook.source is None else f"?source={hook.source}"
    head = [f"{hook.method} {path}{query} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    head.append(b"Connection: close")
    if hook.content_type is not None:
        head.append(b"Content-Type: " + hook.content_type)
    if hook.auth is not None:
        head.append(b"Authorization: " + hook.auth)
    if hook.chunked:
        head.append(b"Transfer-Encoding: chunked")
        size = max(1, len(hook.body) // 3)
        pieces = [hook.body[i : i + size] for i in range(0, len(hook.body), size)]
        body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    else:
        head.append(b"Content-Length: %d" % len(hook.body))
        body = hook.body
    data = b"\r\n".join(head) + b"\r\n\r\n" + body
    reader, writer = await asyncio.open_connection(host, port)
    try:
        if hook.split:
            half = len(data) // 2
            writer.write(data[:half])
            await writer.drain()
            await asyncio.sleep(0.001)
            data = data[half:]
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()  # fails when answered (413) before the whole body
        answer = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
async def hooked(
    hass: HomeAssistant,
    stack: SimulatorStack,
    hass_client_no_auth: ClientSessionGenerator,
) -> tuple[MockConfigEntry, str, int]:
    """An entry with Tautulli and Overseerr behind Home Assistant's real HTTP server."""
    assert await async_setup_component(hass, "webhook", {})
    # The test client freezes the router: the calendar platform's views come first.
    assert await async_setup_component(hass, "calendar", {})
    client = await hass_client_no_auth()
    await async_process_ha_core_config(
        hass, {"internal_url": str(client.make_url("/")).rstrip("/")}
    )
    entry = await setup_entry(
        hass, stack, (ServiceKind.TAUTULLI, ServiceKind.OVERSEERR)
    )
    assert client.server is not None
    return entry, client.server.host, client.server.port


@pytest.mark.filterwarnings(
    # aiohttp warns about a malformed Content-Disposition and reads the part as
    # unnamed; the suite turns RuntimeWarnings into errors, Home Assistant logs a line.
    "ignore::aiohttp.BadContentDispositionHeader"
)
async def test_webhook_fuzz(
    hass: HomeAssistant,
    stack: SimulatorStack,
    hooked: tuple[MockConfigEntry, str, int],
    caplog: pytest.LogCaptureFixture,
    record_property: Callable[[str, object], None],
) -> None:
    """Thousands of seeded bodies per source: 2xx/4xx, no traceback, change only if valid."""
    entry, host, port = hooked
    path = f"/api/webhook/{entry.data['webhook_id']}"
    fuzzer = Fuzzer(FUZZ_SEED, stack, entry.runtime_data.webhook_secret)
    requests = entry.runtime_data.requests.requests
    events = smartplex_events(hass)
    await hass.async_block_till_done()
    before_writes = writes(stack)
    hooks = fuzzer.odd()
    for make in (fuzzer.overseerr, fuzzer.tautulli, fuzzer.plex):
        hooks += [make() for _ in range(FUZZ_CASES)]
    answered: dict[int, int] = {}
    valid = 0
    for hook in hooks:
        stored = orjson.dumps(requests.as_stored())
        fired = len(events)
        status, text = await post(host, port, path, hook)
        answered[status] = answered.get(status, 0) + 1
        where = f"{hook.source} {hook.body[:200]!r}: {status} {text[:100]!r}"
        assert 200 <= status < 300 or 400 <= status < 500, where
        if hook.status is not None:
            assert status == hook.status, where
            if status == 200:
                assert text.decode() == hook.text, where
        acted = status == 200 and text in (b"ok", b"recorded", b"ignored_unknown")
        valid += hook.valid if hook.status is not None else acted
        if not acted:
            assert orjson.dumps(requests.as_stored()) == stored, where
            assert len(events) == fired, where
        if hook.fires:
            assert [e.event_type for e in events[fired:]] == ["smartplex_library_new"]
    await hass.async_block_till_done()
    assert writes(stack) == before_writes
    assert not tracebacks(caplog)
    assert valid > len(hooks) // 10
    record_property(FIGURE, ("webhook bodies tried", len(hooks)))
    record_property(FIGURE, ("webhook bodies that were valid events", valid))
    record_property(
        FIGURE, ("webhook answers by status", dict(sorted(answered.items())))
    )
