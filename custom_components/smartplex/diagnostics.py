"""Diagnostics for SmartPlex: configuration and service status, secrets left out."""

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant

from .api import ServiceKind
from .const import (
    CONF_API_KEY_ENCRYPTED,
    CONF_TOKEN_ENCRYPTED,
    CONF_WEBHOOK_SECRET_ENCRYPTED,
    OPTIONAL_SERVICES,
)
from .coordinator import SmartPlexConfigEntry

TO_REDACT = {
    CONF_TOKEN_ENCRYPTED,
    CONF_API_KEY_ENCRYPTED,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_SECRET_ENCRYPTED,
}


AUDIT_IN_DIAGNOSTICS = 500


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SmartPlexConfigEntry
) -> dict[str, Any]:
    """Return what helps debugging: the setup, each service's state, no secret."""
    data = entry.runtime_data
    configured = {conn.kind for conn in data.services.values()}
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
        },
        "plex": asdict(data.server),
        "services_configured": {
            str(kind): kind in configured for kind in OPTIONAL_SERVICES
        },
        "tautulli_integration_exists": ServiceKind.TAUTULLI in configured,
        "services": [
            {
                "service": str(conn.kind),
                "title": conn.title,
                "url": conn.url,
                "credentials_readable": conn.client is not None,
            }
            for conn in data.services.values()
        ],
        "health": {
            key: {
                "service": health.kind,
                "name": health.name,
                "status": str(health.status),
                "reason": health.reason,
                "consecutive_failures": health.consecutive_failures,
                "latency_ms": health.latency_ms,
                "version": health.version,
                "warnings": list(health.warnings),
                "history": list(health.history),
            }
            for key, health in data.health.health.items()
        },
        "plans": [
            plan.summary(titles=0) | {"skipped": plan.skipped}
            for plan in (data.cleanup.journal.plans.values() if data.cleanup else ())
        ],
        "audit_log": data.cleanup.journal.audit[-AUDIT_IN_DIAGNOSTICS:]
        if data.cleanup
        else [],
    }
