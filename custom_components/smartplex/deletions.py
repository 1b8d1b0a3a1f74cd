"""Deletion plans in Home Assistant: their Store, timers, events and notifications."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
import time
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir, translation
from homeassistant.helpers.event import (
    async_track_point_in_utc_time,
    async_track_time_interval,
)
from homeassistant.helpers.storage import Store

from .api import ArrClient, OverseerrClient, ServiceKind, SmartPlexAuthError
from .cleanup.executor import CleanupEngine, Settings
from .cleanup.journal import Journal
from .cleanup.plan import GB, Plan, PlanItem
from .cleanup.schedule import Schedule, schedule
from .cleanup.steps import Services
from .const import (
    CONF_ACKNOWLEDGE_ABOVE_GB,
    CONF_BLAST_FILES,
    CONF_BLAST_PERCENT,
    CONF_GRACE_HOURS,
    CONF_HEADS_UP_DAYS,
    CONF_IMPORT_EXCLUSION,
    CONF_PLAN_EXPIRY_HOURS,
    CONF_SUBENTRY_ID,
    DEFAULT_ACKNOWLEDGE_ABOVE_GB,
    DEFAULT_BLAST_FILES,
    DEFAULT_BLAST_PERCENT,
    DEFAULT_GRACE_HOURS,
    DEFAULT_HEADS_UP_DAYS,
    DEFAULT_PLAN_EXPIRY_HOURS,
    DOMAIN,
    LOGGER,
)
from .coordinator import SmartPlexConfigEntry, SmartPlexCoordinator, SmartPlexData
from .health import PLEX_KEY

STORE_VERSION = 1
SAFETY_INTERVAL = timedelta(minutes=5)
RETRY_BACKOFF = 60.0  # seconds before the first retry of a failed step; doubles after
EVENT_PREFIX = f"{DOMAIN}_"


def cleanup_store_key(entry_id: str) -> str:
    """Return the Store key of an entry's plans and audit log."""
    return f"{DOMAIN}.cleanup.{entry_id}"


class SmartPlexCleanup:
    """One entry's deletion plans: kept in a Store, run when due, announced on the bus."""

    def __init__(self, hass: HomeAssistant, entry: SmartPlexConfigEntry) -> None:
        """Create the journal and the engine; async_start loads and schedules them."""
        self.hass = hass
        self.entry = entry
        self._store: Store[dict[str, Any]] = Store(
            hass,
            STORE_VERSION,
            cleanup_store_key(entry.entry_id),
            private=True,
            atomic_writes=True,
        )
        self.journal = Journal(self._async_write)
        self.coordinator = SmartPlexPlansCoordinator(hass, entry, self)
        self.engine = CleanupEngine(
            self.journal,
            self._services,
            self._settings,
            self._notify,
            on_deleted=self._async_deleted,
            library_totals=self._library_totals,
            on_rejected=self._async_rejected,
        )
        self._timer: CALLBACK_TYPE | None = None
        self._stopped = False
        self._unsubscribers: list[Callable[[], None]] = []

    async def _async_write(self, data: dict[str, Any]) -> None:
        """Write the journal, then let the entities see the new schedule."""
        await self._store.async_save(data)
        self.coordinator.async_publish()

    async def async_start(self) -> None:
        """Load what was stored and resume whatever is due (a purge cut short, say)."""
        self.journal.load(await self._store.async_load())
        self.coordinator.async_publish()
        self._unsubscribers.append(
            async_track_time_interval(
                self.hass, self._async_safety_run, SAFETY_INTERVAL
            )
        )
        self.async_schedule()

    @callback
    def async_stop(self) -> None:
        """Stop the timers (the journal is always consistent on disk)."""
        self._stopped = True
        if self._timer is not None:
            self._timer()
            self._timer = None
        while self._unsubscribers:
            self._unsubscribers.pop()()

    @callback
    def async_schedule(self) -> None:
        """Set the timer for the next due work."""
        if self._timer is not None:
            self._timer()
            self._timer = None
        if self._stopped or (due := self.engine.next_due()) is None:
            return
        when = datetime.fromtimestamp(max(due, time.time()), UTC)
        self._timer = async_track_point_in_utc_time(self.hass, self._async_due, when)

    @callback
    def _async_due(self, _now: datetime) -> None:
        """Run the due work in the background."""
        self._timer = None
        if self.entry.state not in (
            ConfigEntryState.LOADED,
            ConfigEntryState.SETUP_IN_PROGRESS,  # resuming a purge cut short
        ):
            return  # unloading: the next setup resumes from the journal
        self.entry.async_create_background_task(
            self.hass, self.async_run(), "smartplex deletion plans"
        )

    @callback
    def _async_safety_run(self, _now: datetime) -> None:
        """Catch up on anything a lost timer missed."""
        if self._timer is None and self.engine.next_due() is not None:
            self._async_due(_now)

    async def async_run(self) -> None:
        """Do what is due, then plan the next run."""
        try:
            await self.engine.async_run_due()
        finally:
            self.async_schedule()

    def engine_has_overseerr(self) -> bool:
        """Whether purges reset Overseerr requests."""
        return self._services().overseerr is not None

    def find_pending_by_code(self, code: str) -> Plan | None:
        """Return the pending plan with this spoken code (for voice confirmation)."""
        return self.engine.find_pending_by_code(code)

    def _services(self) -> Services:
        """Hand the engine the entry's current clients."""
        data = self.entry.runtime_data
        radarr: dict[str, ArrClient] = {}
        sonarr: dict[str, ArrClient] = {}
        overseerr: OverseerrClient | None = None
        for key, conn in data.services.items():
            if conn.kind is ServiceKind.RADARR and isinstance(conn.client, ArrClient):
                radarr[key] = conn.client
            elif conn.kind is ServiceKind.SONARR and isinstance(conn.client, ArrClient):
                sonarr[key] = conn.client
            elif isinstance(
                conn.client, OverseerrClient
            ) and not data.health.is_disabled(key):
                overseerr = conn.client
        return Services(
            plex=data.plex,
            radarr=radarr,
            sonarr=sonarr,
            overseerr=overseerr,
            plex_deletion_allowed=data.server.allow_media_deletion,
            disabled=partial(_unusable, data),
        )

    def _settings(self) -> Settings:
        """Read the plan settings from the entry's options."""
        options = self.entry.options
        return Settings(
            grace=options.get(CONF_GRACE_HOURS, DEFAULT_GRACE_HOURS) * 3600.0,
            expiry=options.get(CONF_PLAN_EXPIRY_HOURS, DEFAULT_PLAN_EXPIRY_HOURS)
            * 3600.0,
            acknowledge_above=int(
                options.get(CONF_ACKNOWLEDGE_ABOVE_GB, DEFAULT_ACKNOWLEDGE_ABOVE_GB)
                * GB
            ),
            import_exclusion=options.get(CONF_IMPORT_EXCLUSION, False),
            backoff=RETRY_BACKOFF,
            blast_share=options.get(CONF_BLAST_PERCENT, DEFAULT_BLAST_PERCENT) / 100,
            blast_files=options.get(CONF_BLAST_FILES, DEFAULT_BLAST_FILES),
            heads_up=options.get(CONF_HEADS_UP_DAYS, DEFAULT_HEADS_UP_DAYS) * 86_400.0,
        )

    @callback
    def _async_rejected(self, err: SmartPlexAuthError, arr_key: str | None) -> None:
        """Ask again for the credential a deletion call was refused with."""
        kind = err.service.casefold()
        if kind == ServiceKind.PLEX:
            self.entry.async_start_reauth(self.hass)
            return
        keys = [
            key
            for key, conn in self.entry.runtime_data.services.items()
            if conn.kind == kind
        ]
        if arr_key in keys:
            keys = [arr_key]
        if keys:
            self.entry.async_start_reauth(self.hass, data={CONF_SUBENTRY_ID: keys[0]})

    def _library_totals(self) -> dict[int, tuple[int, int]]:
        """Return each library's files and bytes, for the blast-radius guard."""
        return self.entry.runtime_data.library.model.section_totals()

    @callback
    def _notify(self, kind: str, data: dict[str, Any]) -> None:
        """Fire an event for the engine; large or held plans also get a notification."""
        data = {ATTR_CONFIG_ENTRY_ID: self.entry.entry_id} | data
        for when in ("expires", "purge_at"):
            if data.get(when) is not None:
                data[when] = datetime.fromtimestamp(data[when], UTC).isoformat()
        self.hass.bus.async_fire(EVENT_PREFIX + kind, data)
        notification_id = f"{DOMAIN}_plan_{data.get('plan_id')}"
        if (kind == "deletion_requested" and data["needs_acknowledge"]) or (
            kind == "deletion_held"
        ):
            self.entry.async_create_task(
                self.hass, self._async_explain(kind, data, notification_id)
            )
        elif kind in ("deletion_confirmed", "deletion_completed"):
            persistent_notification.async_dismiss(self.hass, notification_id)
        if kind == "deletion_failed" and data.get("final"):
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"deletion_failed_{data['plan_id']}",
                is_fixable=False,
                is_persistent=True,
                severity=ir.IssueSeverity.ERROR,
                translation_key="deletion_failed",
                translation_placeholders={
                    "title": data["title"],
                    "error": data["error"],
                    "plan": data["plan_id"],
                },
            )
        if kind == "item_deleted":
            LOGGER.info(
                "Deleted %s (%.1f GB) of plan %s",
                data["title"],
                data["size"] / GB,
                data["plan_id"],
            )

    async def _async_explain(
        self, kind: str, data: dict[str, Any], notification_id: str
    ) -> None:
        """Tell people, in their language, why a plan needs a second look."""
        strings = await translation.async_get_translations(
            self.hass, self.hass.config.language, "common", [DOMAIN]
        )
        prefix = f"component.{DOMAIN}.common.{kind}_notification"
        values = {
            "code": data["code"],
            "items": data["items"],
            "total_gb": f"{data['total_gb']:g}",
            "reason": data.get("hold_reason") or "",
            "count": data.get("held_count") or 0,
        }
        persistent_notification.async_create(
            self.hass,
            strings[f"{prefix}_message"].format(**values),
            title=strings[f"{prefix}_title"],
            notification_id=notification_id,
        )

    async def _async_deleted(self, items: list[PlanItem]) -> None:
        """Drop deleted items from the model at once and refresh free space."""
        data = self.entry.runtime_data
        data.library.model.remove(key for item in items for key in item.keys)
        data.library.async_update_listeners()
        if data.storage is not None:
            await data.storage.async_request_refresh()


def _unusable(data: SmartPlexData, key: str) -> bool:
    """Whether purges must wait for a service: disabled, or Plex's data not believed."""
    if data.health.is_disabled(key):
        return True
    return key == PLEX_KEY and (
        data.library.implausible is not None or data.analytics.implausible is not None
    )


class SmartPlexPlansCoordinator(SmartPlexCoordinator[Schedule]):
    """Hand the plans' schedule to entities whenever the journal is written."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        cleanup: SmartPlexCleanup,
    ) -> None:
        """Push-only: the journal tells it when something changed."""
        super().__init__(hass, entry, "plans", None)
        self.cleanup = cleanup

    async def _async_update_data(self) -> Schedule:
        """Summarise the plans."""
        return schedule(self.cleanup.journal.plans.values())

    @callback
    def async_publish(self) -> None:
        """Update the entities if the schedule changed."""
        current = schedule(self.cleanup.journal.plans.values())
        if current != self.data or not self.last_update_success:
            self.async_set_updated_data(current)
