"""Actions of SmartPlex, registered once for every entry."""

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import asdict
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
from .cleanup.rules import Check, Rule, RuleContext, RuleError
from .const import DOMAIN
from .coordinator import SmartPlexConfigEntry, async_rule_context, request_event
from .health import PLEX_KEY
from .requests import RequestState

SERVICE_SYNC = "sync"
SERVICE_GET_REQUESTS = "get_requests"
SERVICE_FIND_CANDIDATES = "find_candidates"
SERVICE_EXPLAIN = "explain"
ATTR_RULE = "rule"
ATTR_RATING_KEY = "rating_key"
ATTR_FULL = "full"
ATTR_STATUS = "status"
ATTR_USER = "user"
ATTR_LIMIT = "limit"

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
    except SmartPlexApiError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="now_playing_unknown",
            translation_placeholders={"error": str(err)},
        ) from err


def _check(check: Check) -> dict[str, Any]:
    """Describe one condition of a trace."""
    return {
        "condition": check.condition,
        "seen": check.seen,
        "threshold": check.threshold,
        "outcome": str(check.outcome),
        "note": check.note,
    }


async def _async_find_candidates(
    call: ServiceCall, data: dict[str, Any]
) -> ServiceResponse:
    """Apply a rule to the library; return the candidates and why they matched."""
    entry = _loaded_entry(call.hass, data[ATTR_CONFIG_ENTRY_ID])
    rule = _rule(data[ATTR_RULE])
    context = await _async_rule_context(entry)
    result = await call.hass.async_add_executor_job(context.evaluate, rule)
    return {
        "rule": result.rule,
        "refused": result.refused,
        "evaluated": result.evaluated,
        "matched": result.matched,
        "reclaimable": result.reclaimable,
        "unknown": len(result.unknown),
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
            for candidate in result.candidates[: data[ATTR_LIMIT]]
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
        "trace": [_check(check) for check in evaluation.trace],
    }


def _validated(
    schema: probatio.Schema,
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
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            _validated(schema, handler),
            supports_response=response,
        )
