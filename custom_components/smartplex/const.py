"""Constants for SmartPlex."""

import logging
from typing import Final

from .api import ServiceKind

DOMAIN: Final = "smartplex"
LOGGER = logging.getLogger(__package__)

CONF_TOKEN_ENCRYPTED: Final = "token_encrypted"
CONF_API_KEY_ENCRYPTED: Final = "api_key_encrypted"
CONF_SERVICE: Final = "service"
CONF_SERVER: Final = "server"
CONF_SUBENTRY_ID: Final = "subentry_id"

OPTIONAL_SERVICES: Final = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
DEFAULT_PORTS: Final = {
    ServiceKind.PLEX: 32400,
    ServiceKind.SONARR: 8989,
    ServiceKind.RADARR: 7878,
    ServiceKind.TAUTULLI: 8181,
    ServiceKind.OVERSEERR: 5055,
}

PLEX_TV_POLL_INTERVAL: Final = 2.0
PLEX_TV_PIN_TIMEOUT: Final = 600.0

ISSUE_CREDENTIALS_UNREADABLE: Final = "credentials_unreadable"

CONF_CAPACITY_GB: Final = "storage_capacity_gb"
CONF_FULL_SYNC_TIME: Final = "full_sync_time"
DEFAULT_FULL_SYNC_TIME: Final = "03:30:00"
CONF_NOT_WATCHED_DAYS: Final = "not_watched_days"
DEFAULT_NOT_WATCHED_DAYS: Final = 90
CONF_HEALTH_INTERVAL: Final = "health_interval"
DEFAULT_HEALTH_INTERVAL: Final = 5
EVENT_SERVICE_UNHEALTHY: Final = "smartplex_service_unhealthy"
EVENT_SERVICE_DISABLED: Final = "smartplex_service_disabled"
EVENT_SERVICE_RECOVERED: Final = "smartplex_service_recovered"
CONF_WEBHOOK_SECRET_ENCRYPTED: Final = "webhook_secret_encrypted"
EVENT_REQUEST_UPDATED: Final = "smartplex_request_updated"
CONF_RULES: Final = "rules"
CONF_GRACE_HOURS: Final = "grace_hours"
DEFAULT_GRACE_HOURS: Final = 24
CONF_PLAN_EXPIRY_HOURS: Final = "plan_expiry_hours"
DEFAULT_PLAN_EXPIRY_HOURS: Final = 24
CONF_ACKNOWLEDGE_ABOVE_GB: Final = "acknowledge_above_gb"
DEFAULT_ACKNOWLEDGE_ABOVE_GB: Final = 100
CONF_IMPORT_EXCLUSION: Final = "import_exclusion"
CONF_BLAST_PERCENT: Final = "blast_radius_percent"
DEFAULT_BLAST_PERCENT: Final = 20
CONF_BLAST_FILES: Final = "blast_radius_files"
DEFAULT_BLAST_FILES: Final = 200
CONF_HEADS_UP_DAYS: Final = "heads_up_days"
DEFAULT_HEADS_UP_DAYS: Final = 3
