"""Actions of SmartPlex, registered once for every entry."""

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio

from .api import SmartPlexApiError
from .cleanup.executor import PlanError
from .cleanup.plan import GB, Plan, PlanState
from .cleanup.pressure import select_for_target
from .cleanup.rules import Candidate, Rule, RuleContext, RuleError, find
from .const import CONF_CAPACITY_GB, CONF_RULES, DOMAIN
from .coordinator import (
    SmartPlexConfigEntry,
    async_rule_context,
    disks_free,
    request_event,
)
from .deletions import SmartPlexCleanup
from .health import PLEX_KEY
from .plausibility import ImplausibleDataError
from .requests import RequestState

SERVICE_SYNC = "sync"
SERVICE_GET_REQUESTS = "get_requests"
SERVICE_FIND_CANDIDATES = "find_candidates"
SERVICE_EXPLAIN = "explain"
SERVICE_REQUEST_DELETION = "request_deletion"
SERVICE_CONFIRM_DELETION = "confirm_deletion"
SERVICE_CANCEL_DELETION = "cancel_deletion"
SERVICE_RESTORE = "restore"
SERVICE_POSTPONE = "postpone"
SERVICE_KEEP = "keep"
SERVICE_GET_PLANS = "get_plans"
SERVICE_GET_AUDIT_LOG = "get_audit_log"
ATTR_RULE = "rule"
ATTR_RATING_KEY = "rating_key"
ATTR_FULL = "full"
ATTR_STATUS = "status"
ATTR_USER = "user"
ATTR_LIMIT = "limit"
ATTR_RULE_NAME = "rule_name"
ATTR_RATING_KEYS = "rating_keys"
ATTR_DRY_RUN = "dry_run"
ATTR_PLAN_ID = "plan_id"
ATTR_ACKNOWLEDGE = "acknowledge_total_gb"
ATTR_ACKNOWLEDGE_COUNT = "acknowledge_count"
ATTR_FREE_BELOW = "free_below_gb"
ATTR_TARGET_FREE = "target_free_gb"
GIGABYTES = probatio.All(probatio.Coerce(float), probatio.Range(min=0, max=1_000_000))
ATTR_DAYS = "days"
ATTR_STATE = "state"
MAX_PLAN_ITEMS = 1000

PLAN_ID = probatio.All(cv.string, probatio.Match(r"^[0-9a-f]{32}$"))
RATING_KEYS = probatio.All(
    cv.ensure_list,
    probatio.Length(min=1, max=MAX_PLAN_ITEMS),
    [probatio.All(probatio.Coerce(int), probatio.Range(min=1))],
)

SYNC_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_FULL, default=False): cv.boolean,
    }
)


GET_REQUESTS_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_STATUS): probatio.In([str(s) for s in RequestState]),
        probatio.Optional(ATTR_USER): probatio.All(cv.string, probatio.Length(max=200)),
        probatio.Optional(ATTR_LIMIT, default=10): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=500)
        ),
    }
)


FIND_CANDIDATES_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_RULE): dict,
        probatio.Optional(ATTR_LIMIT, default=50): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=1000)
        ),
    }
)
EXPLAIN_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_RULE): dict,
        probatio.Required(ATTR_RATING_KEY): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1)
        ),
    }
)


REQUEST_DELETION_SCHEMA = probatio.All(
    probatio.Schema(
        {
            probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
            probatio.Exclusive(ATTR_RULE, "selection"): dict,
            probatio.Exclusive(ATTR_RULE_NAME, "selection"): probatio.All(
                cv.string, probatio.Length(min=1, max=100)
            ),
            probatio.Exclusive(ATTR_RATING_KEYS, "selection"): RATING_KEYS,
            probatio.Optional(ATTR_DRY_RUN, default=False): cv.boolean,
            probatio.Optional(ATTR_LIMIT, default=500): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_PLAN_ITEMS)
            ),
            probatio.Optional(ATTR_FREE_BELOW): GIGABYTES,
            probatio.Optional(ATTR_TARGET_FREE): GIGABYTES,
        }
    ),
    cv.has_at_least_one_key(ATTR_RULE, ATTR_RULE_NAME, ATTR_RATING_KEYS),
)
PLAN_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Required(ATTR_PLAN_ID): PLAN_ID,
    }
)
CONFIRM_SCHEMA = PLAN_SCHEMA.extend(
    {
        probatio.Optional(ATTR_ACKNOWLEDGE): probatio.All(
            probatio.Coerce(float), probatio.Range(min=0, max=1_000_000_000)
        ),
        probatio.Optional(ATTR_ACKNOWLEDGE_COUNT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=100_000_000)
        ),
    }
)
RESTORE_SCHEMA = PLAN_SCHEMA.extend({probatio.Optional(ATTR_RATING_KEYS): RATING_KEYS})
POSTPONE_SCHEMA = RESTORE_SCHEMA.extend(
    {
        probatio.Required(ATTR_DAYS): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=365)
        )
    }
)
GET_PLANS_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_STATE): probatio.In([str(s) for s in PlanState]),
        probatio.Optional(ATTR_PLAN_ID): PLAN_ID,
    }
)
GET_AUDIT_LOG_SCHEMA = probatio.Schema(
    {
        probatio.Required(ATTR_CONFIG_ENTRY_ID): cv.string,
        probatio.Optional(ATTR_PLAN_ID): PLAN_ID,
        probatio.Optional(ATTR_LIMIT, default=100): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=10_000)
        ),
    }
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> SmartPlexConfigEntry:
    """Return a loaded SmartPlex entry, or raise a translated validation error."""
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    return entry


def _require_plex(entry: SmartPlexConfigEntry) -> None:
    """Refuse, translated, to call Plex while it is disabled after repeated failures."""
    if entry.runtime_data.health.is_disabled(PLEX_KEY):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="service_is_disabled",
            translation_placeholders={"name": entry.title},
        )


async def _async_sync(call: ServiceCall, data: dict[str, Any]) -> ServiceResponse:
    """Sync the libraries now, fully or incrementally, and say what changed."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    _require_plex(entry)
    coordinator = entry.runtime_data.library
    try:
        result = await coordinator.async_sync(full=data[ATTR_FULL])
    except SmartPlexApiError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="library_sync_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    coordinator.async_set_updated_data(coordinator.model)
    return asdict(result)


async def _async_get_requests(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Return Overseerr requests, newest first, filtered by status and user."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    requests = entry.runtime_data.requests
    if requests is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="overseerr_not_configured",
            translation_placeholders={"name": entry.title},
        )
    found = requests.requests.query(
        state=data.get(ATTR_STATUS),
        user=data.get(ATTR_USER),
        limit=data[ATTR_LIMIT],
    )
    return {"requests": [request_event(record) for record in found]}


def _rule(data: Mapping[str, Any]) -> Rule:
    """Build the rule of a service call, or raise a translated validation error."""
    try:
        return Rule.from_dict(data)
    except RuleError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_rule",
            translation_placeholders={"field": err.field, "problem": err.key},
        ) from err


async def _async_rule_context(entry: SmartPlexConfigEntry) -> RuleContext:
    """Gather what rules look at; fail closed when what is playing cannot be read."""
    _require_plex(entry)
    try:
        return await async_rule_context(entry.runtime_data)
    except ImplausibleDataError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="data_implausible",
            translation_placeholders={"reason": err.reason},
        ) from err
    except SmartPlexApiError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="now_playing_unknown",
            translation_placeholders={"error": str(err)},
        ) from err


async def _async_find_candidates(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Apply a rule to the library; return the candidates and why they matched."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    rule = _rule(data[ATTR_RULE])
    context = await _async_rule_context(entry)
    result = await call.hass.async_add_executor_job(
        find, context, rule, data[ATTR_LIMIT]
    )
    return {
        "rule": result.rule,
        "refused": result.refused,
        "evaluated": result.evaluated,
        "matched": result.matched,
        "reclaimable": result.reclaimable,
        "unknown": result.unknown,
        "candidates": [
            {
                "rating_key": candidate.rating_key,
                "level": candidate.level,
                "title": candidate.title,
                "year": candidate.year,
                "size": candidate.size,
                "last_played": candidate.last_played,
                "why": candidate.why,
            }
            for candidate in result.candidates
        ],
    }


async def _async_explain(call: ServiceCall, data: dict[str, Any]) -> ServiceResponse:
    """Return the rule-by-rule trace of one item, matched or not."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    rule = _rule(data[ATTR_RULE])
    context = await _async_rule_context(entry)
    evaluation = await call.hass.async_add_executor_job(
        context.explain, rule, data[ATTR_RATING_KEY]
    )
    await call.hass.async_add_executor_job(context.release)
    if evaluation is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="item_not_found",
            translation_placeholders={"rating_key": str(data[ATTR_RATING_KEY])},
        )
    return {
        "rating_key": evaluation.rating_key,
        "title": evaluation.title,
        "level": evaluation.level,
        "verdict": str(evaluation.verdict),
        "trace": [check.as_dict() for check in evaluation.trace],
    }


def _cleanup(entry: SmartPlexConfigEntry) -> SmartPlexCleanup:
    """Return the entry's deletion plans."""
    cleanup = entry.runtime_data.cleanup
    if cleanup is None:  # pragma: no cover - set during setup, before LOADED
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"name": entry.title},
        )
    return cleanup


def _plan_error(err: PlanError) -> ServiceValidationError:
    """Turn a refused plan action into a translated validation error."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=err.key,
        translation_placeholders=err.placeholders,
    )


def _plan(plan: Plan, *, overseerr: bool) -> dict[str, Any]:
    """Describe a plan and each of its items for a response."""
    summary = plan.summary(titles=0)
    summary.pop("titles")
    summary["expires"] = _iso(plan.expires)
    summary["items"] = [
        {
            "rating_key": item.key,
            "title": item.title,
            "year": item.year,
            "level": item.level,
            "size": item.size,
            "state": str(item.state),
            "manager": str(item.manager),
            "why": item.why,
            "actions": item.actions(overseerr=overseerr),
            "purge_at": _iso(item.purge_at),
            "error": item.error,
        }
        for item in plan.items
    ]
    summary["item_count"] = len(plan.items)
    summary["skipped"] = plan.skipped
    return summary


def _iso(timestamp: float | None) -> str | None:
    """Format a timestamp for a response."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


async def _async_request_deletion(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Build a deletion plan from a rule or chosen items; keep it unless a dry run."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    cleanup = _cleanup(entry)
    context = await _async_rule_context(entry)
    refused: list[tuple[int, str, str]] = []
    rule_name: str | None = None
    rule: Rule | None = None
    if ATTR_RATING_KEYS in data:
        keys = data[ATTR_RATING_KEYS]
        candidates, excluded = await call.hass.async_add_executor_job(
            context.pick, keys
        )
        await call.hass.async_add_executor_job(context.release)
        refused = [(e.rating_key, e.title, e.reason) for e in excluded]
        found = {c.rating_key for c in candidates} | {e.rating_key for e in excluded}
        refused += [(key, "", "not in the library") for key in keys if key not in found]
    else:
        rule = (
            _named_rule(entry, data[ATTR_RULE_NAME])
            if ATTR_RULE_NAME in data
            else (_rule(data[ATTR_RULE]))
        )
        rule_name = rule.name
        # A free-space target chooses among all candidates; otherwise the first do.
        count = None if ATTR_TARGET_FREE in data else data[ATTR_LIMIT]
        result = await call.hass.async_add_executor_job(find, context, rule, count)
        if result.refused is not None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="rule_refused",
                translation_placeholders={"rule": rule.name, "reason": result.refused},
            )
        candidates = list(result.candidates)
    free: int | None = None
    gated: str | None = None
    if rule is not None:
        # A rule may carry its own free-space gate; the call's fields win.
        data.setdefault(ATTR_FREE_BELOW, rule.free_below_gb)
        data.setdefault(ATTR_TARGET_FREE, rule.target_free_gb)
    if data.get(ATTR_FREE_BELOW) is not None or data.get(ATTR_TARGET_FREE) is not None:
        free = _free_space(entry)
        threshold = data.get(ATTR_FREE_BELOW)
        if threshold is not None and free >= threshold * GB:
            gated = f"{free / GB:.1f} GB free, not below {threshold:g} GB"
            candidates = []
        elif (target := data.get(ATTR_TARGET_FREE)) is not None:
            # What confirmed plans will delete already counts: choose among the rest.
            busy = cleanup.engine.busy()
            candidates, _ = select_for_target(
                [c for c in candidates if c.rating_key not in busy],
                free + _pending_size(cleanup, busy),
                int(target * GB),
            )
    plan = await cleanup.engine.async_request(
        candidates[: data[ATTR_LIMIT]],
        refused,
        rule=rule_name,
        dry_run=data[ATTR_DRY_RUN],
        requesters=_requesters(entry),
        free_space=free,
    )
    response = _plan(plan, overseerr=cleanup.engine_has_overseerr())
    response["gated"] = gated
    if plan.dry_run or not plan.items:
        response["plan_id"] = None
        response["code"] = None
    else:
        cleanup.async_schedule()
    return response


def _pending_size(cleanup: SmartPlexCleanup, busy: Mapping[int, str]) -> int:
    """Bytes that confirmed plans will free but have not freed yet."""
    return sum(
        item.size
        for plan_id in set(busy.values())
        for item in cleanup.journal.plans[plan_id].open_items()
    )


def _free_space(entry: SmartPlexConfigEntry) -> int:
    """Return free bytes from Sonarr/Radarr's disks, else the configured capacity."""
    data = entry.runtime_data
    if (free := disks_free(data)) is not None:
        return free
    if (capacity := entry.options.get(CONF_CAPACITY_GB)) is not None:
        return int(capacity * GB) - data.library.model.breakdown().size
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="free_space_unknown",
        translation_placeholders={"name": entry.title},
    )


def _requesters(entry: SmartPlexConfigEntry) -> Callable[[Candidate], list[str]]:
    """Return who asked Overseerr for a movie or show (its seasons and episodes too)."""
    index: dict[tuple[str, int], set[str]] = {}
    if entry.runtime_data.requests is not None:
        for record in entry.runtime_data.requests.requests.records.values():
            for kind, ext in (("tmdb", record.tmdb_id), ("tvdb", record.tvdb_id)):
                if ext is not None:
                    index.setdefault((f"{record.media_type}:{kind}", ext), set()).add(
                        record.requested_by
                    )

    def requesters(candidate: Candidate) -> list[str]:
        media = "movie" if candidate.level == "movie" else "tv"
        found: set[str] = set()
        for kind, ext in (("tmdb", candidate.tmdb_id), ("tvdb", candidate.tvdb_id)):
            if ext is not None:
                found |= index.get((f"{media}:{kind}", ext), set())
        return sorted(found)

    return requesters


def _named_rule(entry: SmartPlexConfigEntry, name: str) -> Rule:
    """Return one of the entry's configured rules by name."""
    for stored in entry.options.get(CONF_RULES, []):
        if stored["name"] == name:
            return Rule.from_dict(stored)
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_rule",
        translation_placeholders={"rule": name},
    )


async def _async_plan_action(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Confirm, cancel, restore, keep or postpone a plan's items."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    cleanup = _cleanup(entry)
    engine = cleanup.engine
    plan_id = data[ATTR_PLAN_ID]
    keys = data.get(ATTR_RATING_KEYS)
    try:
        if call.service == SERVICE_CONFIRM_DELETION:
            plan = await engine.async_confirm(
                plan_id, data.get(ATTR_ACKNOWLEDGE), data.get(ATTR_ACKNOWLEDGE_COUNT)
            )
        elif call.service == SERVICE_CANCEL_DELETION:
            plan = await engine.async_cancel(plan_id)
        elif call.service == SERVICE_RESTORE:
            plan = await engine.async_restore(plan_id, keys)
        elif call.service == SERVICE_KEEP:
            plan = await engine.async_keep(plan_id, keys)
            # The labels count at once: later plans must not pick these items again.
            await entry.runtime_data.library.async_refresh()
        else:
            plan = await engine.async_postpone(plan_id, data[ATTR_DAYS], keys)
    except PlanError as err:
        raise _plan_error(err) from err
    cleanup.async_schedule()
    if call.service == SERVICE_CONFIRM_DELETION:
        # Quarantine starts at once rather than on the next timer tick.
        entry.async_create_background_task(
            call.hass, cleanup.async_run(), "smartplex quarantine"
        )
    return _plan(plan, overseerr=cleanup.engine_has_overseerr())


async def _async_get_plans(call: ServiceCall, data: dict[str, Any]) -> ServiceResponse:
    """Return the kept plans, newest first, by state or id."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    cleanup = _cleanup(entry)
    plans = sorted(
        cleanup.journal.plans.values(), key=lambda plan: plan.created, reverse=True
    )
    overseerr = cleanup.engine_has_overseerr()
    return {
        "plans": [
            _plan(plan, overseerr=overseerr)
            for plan in plans
            if data.get(ATTR_STATE) in (None, plan.state)
            and data.get(ATTR_PLAN_ID) in (None, plan.id)
        ]
    }


async def _async_get_audit_log(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Return the newest audit entries, of one plan or all."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    audit = _cleanup(entry).journal.audit
    plan_id = data.get(ATTR_PLAN_ID)
    chosen = [e for e in audit if plan_id in (None, e["plan_id"])][-data[ATTR_LIMIT] :]
    return {"entries": [e | {"at": _iso(e["at"])} for e in reversed(chosen)]}


def _validated(
    schema: Callable[[Any], dict[str, Any]],
    handler: Callable[[ServiceCall, dict[str, Any]], Awaitable[ServiceResponse]],
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """Check an action's data first: bad data is a translated validation error."""

    async def run(call: ServiceCall) -> ServiceResponse:
        try:
            data = schema(dict(call.data))
        except probatio.Invalid as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_action_data",
                translation_placeholders={"action": call.service, "error": str(err)},
            ) from err
        return await handler(call, data)

    return run


def async_setup_services(hass: HomeAssistant) -> None:
    """Register SmartPlex's actions."""
    for service, schema, handler, response in (
        (SERVICE_SYNC, SYNC_SCHEMA, _async_sync, SupportsResponse.OPTIONAL),
        (
            SERVICE_FIND_CANDIDATES,
            FIND_CANDIDATES_SCHEMA,
            _async_find_candidates,
            SupportsResponse.ONLY,
        ),
        (SERVICE_EXPLAIN, EXPLAIN_SCHEMA, _async_explain, SupportsResponse.ONLY),
        (
            SERVICE_GET_REQUESTS,
            GET_REQUESTS_SCHEMA,
            _async_get_requests,
            SupportsResponse.ONLY,
        ),
        (
            SERVICE_REQUEST_DELETION,
            REQUEST_DELETION_SCHEMA,
            _async_request_deletion,
            SupportsResponse.OPTIONAL,
        ),
        (
            SERVICE_CONFIRM_DELETION,
            CONFIRM_SCHEMA,
            _async_plan_action,
            SupportsResponse.OPTIONAL,
        ),
        (
            SERVICE_CANCEL_DELETION,
            PLAN_SCHEMA,
            _async_plan_action,
            SupportsResponse.OPTIONAL,
        ),
        (
            SERVICE_RESTORE,
            RESTORE_SCHEMA,
            _async_plan_action,
            SupportsResponse.OPTIONAL,
        ),
        (SERVICE_KEEP, RESTORE_SCHEMA, _async_plan_action, SupportsResponse.OPTIONAL),
        (
            SERVICE_POSTPONE,
            POSTPONE_SCHEMA,
            _async_plan_action,
            SupportsResponse.OPTIONAL,
        ),
        (SERVICE_GET_PLANS, GET_PLANS_SCHEMA, _async_get_plans, SupportsResponse.ONLY),
        (
            SERVICE_GET_AUDIT_LOG,
            GET_AUDIT_LOG_SCHEMA,
            _async_get_audit_log,
            SupportsResponse.ONLY,
        ),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            _validated(schema, handler),
            supports_response=response,
        )
