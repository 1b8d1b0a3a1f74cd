"""Actions of SmartPlex, registered once for every entry."""

from dataclasses import asdict

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
from .const import DOMAIN
from .coordinator import SmartPlexConfigEntry, request_event
from .requests import RequestState

SERVICE_SYNC = "sync"
SERVICE_GET_REQUESTS = "get_requests"
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


async def _async_sync(call: ServiceCall) -> ServiceResponse:
    """Sync the libraries now, fully or incrementally, and say what changed."""
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    coordinator = entry.runtime_data.library
    try:
        result = await coordinator.async_sync(full=call.data[ATTR_FULL])
    except SmartPlexApiError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="library_sync_failed",
            translation_placeholders={"error": str(err)},
        ) from err
    coordinator.async_set_updated_data(coordinator.model)
    return asdict(result)


async def _async_get_requests(call: ServiceCall) -> ServiceResponse:
    """Return Overseerr requests, newest first, filtered by status and user."""
    entry = _loaded_entry(call.hass, call.data[ATTR_CONFIG_ENTRY_ID])
    requests = entry.runtime_data.requests
    if requests is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="overseerr_not_configured",
            translation_placeholders={"name": entry.title},
        )
    found = requests.requests.query(
        state=call.data.get(ATTR_STATUS),
        user=call.data.get(ATTR_USER),
        limit=call.data[ATTR_LIMIT],
    )
    return {"requests": [request_event(record) for record in found]}


def async_setup_services(hass: HomeAssistant) -> None:
    """Register SmartPlex's actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SYNC,
        _async_sync,
        schema=SYNC_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_REQUESTS,
        _async_get_requests,
        schema=GET_REQUESTS_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
