"""Coordinators of SmartPlex, one per concern; this one keeps the library model."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
import time
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .analytics import (
    AnalyticsModel,
    AnalyticsSource,
    AnalyticsSummary,
    from_plex,
    from_tautulli,
    summarize,
)
from .api import (
    ArrClient,
    DiskSpace,
    OverseerrClient,
    PlexClient,
    PlexServerInfo,
    ServiceClient,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    TautulliClient,
)
from .cleanup.rules import Rule, RuleContext, RuleResult
from .connections import error_reason
from .const import (
    CONF_FULL_SYNC_TIME,
    CONF_HEALTH_INTERVAL,
    CONF_NOT_WATCHED_DAYS,
    CONF_SUBENTRY_ID,
    DEFAULT_FULL_SYNC_TIME,
    DEFAULT_HEALTH_INTERVAL,
    DEFAULT_NOT_WATCHED_DAYS,
    DOMAIN,
    EVENT_REQUEST_UPDATED,
    EVENT_SERVICE_DISABLED,
    EVENT_SERVICE_RECOVERED,
    EVENT_SERVICE_UNHEALTHY,
    LOGGER,
)
from .health import PLEX_KEY, CheckOutcome, HealthStatus, ServiceHealth, Transition
from .library import LibraryModel, SyncResult, async_sync_library
from .plausibility import Implausible, ImplausibleDataError, check_plays
from .requests import RequestRecord, RequestStore, WebhookResult

if TYPE_CHECKING:
    from .deletions import SmartPlexCleanup

LIBRARY_SYNC_INTERVAL = timedelta(minutes=15)
ANALYTICS_INTERVAL = timedelta(hours=1)
REQUESTS_INTERVAL = timedelta(minutes=30)
REQUESTS_SAVE_DELAY = 1
RULES_INTERVAL = timedelta(hours=1)
CHECK_TIMEOUT = 20
STORAGE_INTERVAL = timedelta(hours=24)
STORE_VERSION = 1
STORE_SAVE_DELAY = 10


@dataclass(kw_only=True)
class ServiceConnection:
    """An optional service (one config subentry) and what its last check found."""

    subentry_id: str
    kind: ServiceKind
    title: str
    url: str
    client: ServiceClient | None  # None when its API key cannot be decrypted


@dataclass(kw_only=True)
class SmartPlexData:
    """Clients and state of one Plex server and its optional services."""

    plex: PlexClient
    server: PlexServerInfo
    plex_device_id: str
    library: SmartPlexLibraryCoordinator
    analytics: SmartPlexAnalyticsCoordinator
    storage: SmartPlexStorageCoordinator | None
    health: SmartPlexHealthCoordinator
    requests: SmartPlexRequestsCoordinator | None
    rules: SmartPlexRulesCoordinator | None
    webhook_secret: str
    services: dict[str, ServiceConnection] = field(default_factory=dict)
    cleanup: SmartPlexCleanup | None = None


type SmartPlexConfigEntry = ConfigEntry[SmartPlexData]


class SmartPlexCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A coordinator of one SmartPlex entry."""

    config_entry: SmartPlexConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        concern: str,
        interval: timedelta | None,
    ) -> None:
        """Poll one concern of an entry at an interval (None: pushed only)."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"SmartPlex {concern}",
            update_interval=interval,
        )


class SmartPlexLibraryCoordinator(SmartPlexCoordinator[LibraryModel]):
    """Sync Plex's libraries into the model: incrementally often, fully every night."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        plex: PlexClient,
        health: SmartPlexHealthCoordinator,
    ) -> None:
        """Prepare the coordinator; the stored model is loaded at first refresh."""
        super().__init__(hass, entry, "library", LIBRARY_SYNC_INTERVAL)
        self.plex = plex
        self.health = health
        self.model = LibraryModel()
        self.last_result: SyncResult | None = None
        # Why the last sync was not believed (the model kept what came before it).
        self.implausible: str | None = None
        self._full_due = True
        self._sync_lock = asyncio.Lock()
        # A 100k-item model takes 100+ ms to serialize: not in the event loop. What it
        # is given is a snapshot (new lists of immutable rows), safe in a thread.
        self._store: Store[dict[str, object]] = Store(
            hass,
            STORE_VERSION,
            f"{DOMAIN}.library.{entry.entry_id}",
            serialize_in_event_loop=False,
        )

    async def _async_setup(self) -> None:
        """Come up with the last stored model at once; sync incrementally from it."""
        stored = await self._store.async_load()
        self.model = await self.hass.async_add_executor_job(
            LibraryModel.from_stored, stored
        )
        self._full_due = not self.model.sections
        hour, minute, second = (
            int(part)
            for part in self.config_entry.options.get(
                CONF_FULL_SYNC_TIME, DEFAULT_FULL_SYNC_TIME
            ).split(":")
        )
        self.config_entry.async_on_unload(
            async_track_time_change(
                self.hass, self._async_nightly, hour=hour, minute=minute, second=second
            )
        )

    async def async_shutdown(self) -> None:
        """Save the model at once when the entry unloads."""
        await super().async_shutdown()
        if self.model.sections:
            await self._store.async_save(self.model.as_stored())

    @callback
    def _async_nightly(self, _now: object) -> None:
        """Schedule the nightly full sync."""
        self._full_due = True
        # Not debounced: a request that lands in a cooldown must not skip the night.
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), "smartplex nightly full sync"
        )

    async def _async_update_data(self) -> LibraryModel:
        """Sync, fully when due, and hand the model to the entities."""
        if self.health.is_disabled(PLEX_KEY):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="service_is_disabled",
                translation_placeholders={"name": self.config_entry.title},
            )
        try:
            await self.async_sync(full=self._full_due)
        except SmartPlexAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="plex_auth_failed",
                translation_placeholders={"name": self.config_entry.title},
            ) from err
        except SmartPlexApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="library_sync_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        return self.model

    async def async_sync(self, *, full: bool, accept: bool = False) -> SyncResult:
        """Bring the model up to date with Plex (one sync at a time); save it.

        While the last answer was not believed every sync is full: only a whole
        listing shows that the files are back. `accept` believes it whatever it says
        (a person confirmed that the media really went).
        """
        full = full or accept or self.implausible is not None
        async with self._sync_lock:
            result = await async_sync_library(
                self.plex, self.model, full=full, accept=accept
            )
            self.implausible = _async_judge(
                self,
                "library_implausible",
                "section",
                self.implausible,
                result.implausible,
            )
        if full:
            self._full_due = False
        stored = self.model.as_stored()
        self._store.async_delay_save(lambda: stored, STORE_SAVE_DELAY)
        self.last_result = result
        return result

    async def async_snapshot(self) -> LibraryModel:
        """Return the model once no sync is half applied; refuse one not believed."""
        async with self._sync_lock:
            if self.implausible is not None:
                raise ImplausibleDataError(self.implausible)
            return self.model.snapshot()


@callback
def _async_judge(
    coordinator: SmartPlexCoordinator[Any],
    kind: str,
    subject: str,
    previous: str | None,
    found: Implausible | None,
) -> str | None:
    """Raise or clear the repair issue of an answer not believed; return why."""
    issue_id = f"{kind}_{coordinator.config_entry.entry_id}"
    if found is None:
        if previous is not None:
            LOGGER.info("Believable again, cleanup may run: %s", coordinator.name)
        # Also one left by the entry before a reload.
        ir.async_delete_issue(coordinator.hass, DOMAIN, issue_id)
        return None
    if previous is None:
        LOGGER.warning("Not believed, cleanup stopped: %s", found.reason)
    ir.async_create_issue(
        coordinator.hass,
        DOMAIN,
        issue_id,
        # A library really emptied on purpose is accepted by a person; play history
        # is accepted by reloading the entry (its baseline is not stored).
        is_fixable=kind == "library_implausible",
        data={"entry_id": coordinator.config_entry.entry_id, "kind": kind},
        severity=ir.IssueSeverity.ERROR,
        translation_key=kind,
        translation_placeholders={
            subject: found.subject,
            "before": str(found.before),
            "after": str(found.after),
        },
    )
    return found.reason


class SmartPlexStorageCoordinator(SmartPlexCoordinator[list[DiskSpace]]):
    """Read free and total space of the disks Sonarr and Radarr see, daily."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        health: SmartPlexHealthCoordinator,
        keys: list[str],
    ) -> None:
        """Poll the Sonarr and Radarr services with these subentry ids."""
        super().__init__(hass, entry, "storage", STORAGE_INTERVAL)
        self.health = health
        self.keys = keys
        self.disabled = self._disabled_keys()
        entry.async_on_unload(health.async_add_listener(self._async_health_changed))

    def _disabled_keys(self) -> frozenset[str]:
        """Return which of the polled services are disabled."""
        return frozenset(key for key in self.keys if self.health.is_disabled(key))

    @callback
    def _async_health_changed(self) -> None:
        """Follow the services' health: at once, not at the next daily poll."""
        if (disabled := self._disabled_keys()) != self.disabled:
            self.disabled = disabled
            self.async_update_listeners()
        answering = all(
            self.health.health[key].status in {HealthStatus.OK, HealthStatus.DEGRADED}
            for key in self.keys
        )
        if not self.last_update_success and answering:
            self.config_entry.async_create_background_task(
                self.hass, self.async_request_refresh(), "smartplex storage retry"
            )

    async def _async_update_data(self) -> list[DiskSpace]:
        """Merge the disks every *arr reports (the same disk once); all must answer."""
        disks: dict[str, DiskSpace] = {}
        for key in self.keys:
            client = self.health.services[key].client
            if self.health.is_disabled(key) or not isinstance(client, ArrClient):
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="service_is_disabled",
                    translation_placeholders={"name": self.health.services[key].title},
                )
            try:
                reported = await client.async_get_diskspace()
            except SmartPlexApiError as err:
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="storage_failed",
                    translation_placeholders={"error": str(err)},
                ) from err
            for disk in reported:
                disks.setdefault(disk.path, disk)
        return sorted(disks.values(), key=lambda disk: disk.path)


class SmartPlexAnalyticsCoordinator(SmartPlexCoordinator[AnalyticsSummary]):
    """Hourly play statistics from Tautulli, or from Plex's own counts (and say so)."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        library: SmartPlexLibraryCoordinator,
        health: SmartPlexHealthCoordinator,
        tautulli_key: str | None,
    ) -> None:
        """Use Tautulli when configured; the library gives titles and sizes."""
        super().__init__(hass, entry, "analytics", ANALYTICS_INTERVAL)
        self.library = library
        self.health = health
        self.tautulli_key = tautulli_key
        # Why the last history was not believed (the sensors keep the one before).
        self.implausible: str | None = None
        self._last_good: dict[AnalyticsSource, int] = {}

    def _tautulli(self) -> TautulliClient | None:
        """Return Tautulli's client when it is configured, readable and enabled."""
        if self.tautulli_key is None or self.health.is_disabled(self.tautulli_key):
            return None
        client = self.health.services[self.tautulli_key].client
        return client if isinstance(client, TautulliClient) else None

    def _unavailable_reason(self, client: TautulliClient | None) -> str | None:
        """Say why Tautulli is not used, when it is not."""
        if client is not None:
            return None
        if self.tautulli_key is None:
            return "tautulli_not_configured"
        if self.health.is_disabled(self.tautulli_key):
            return "disabled"
        return "credentials_unreadable"

    async def _async_update_data(self) -> AnalyticsSummary:
        """Read the whole play history; fall back to Plex's counts when Tautulli fails."""
        tautulli = self._tautulli()
        fallback_reason = self._unavailable_reason(tautulli)
        model: AnalyticsModel | None = None
        if tautulli is not None:
            try:
                records = [
                    record
                    async for page in tautulli.async_iter_history()
                    for record in page
                ]
            except SmartPlexApiError as err:
                fallback_reason = error_reason(err)
            else:
                model = await self.hass.async_add_executor_job(from_tautulli, records)
        previous = self.data.fallback_reason if self.data else None
        if fallback_reason != previous and self.tautulli_key is not None:
            if fallback_reason:
                LOGGER.warning(
                    "Tautulli is not usable (%s); using Plex's own view counts",
                    fallback_reason,
                )
            else:
                LOGGER.info("Tautulli answers again; using its play history")
        library = self.library.model.snapshot()
        if model is None:
            model = from_plex(library)
        found = check_plays(
            model.source.capitalize(),
            self._last_good.get(model.source),
            model.total_plays,
        )
        self.implausible = _async_judge(
            self, "analytics_implausible", "source", self.implausible, found
        )
        if found is not None:
            return self.data
        summary = await self.hass.async_add_executor_job(
            partial(
                summarize,
                model,
                library,
                now=time.time(),
                not_watched_days=int(
                    self.config_entry.options.get(
                        CONF_NOT_WATCHED_DAYS, DEFAULT_NOT_WATCHED_DAYS
                    )
                ),
                fallback_reason=fallback_reason,
            )
        )
        self._last_good[model.source] = model.total_plays
        return summary


class SmartPlexHealthCoordinator(SmartPlexCoordinator[dict[str, ServiceHealth]]):
    """Check every service; raise repairs after 3 failures, disable after 10."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        plex: PlexClient,
        services: dict[str, ServiceConnection],
    ) -> None:
        """Track Plex and each optional service."""
        super().__init__(
            hass,
            entry,
            "health",
            timedelta(
                minutes=entry.options.get(CONF_HEALTH_INTERVAL, DEFAULT_HEALTH_INTERVAL)
            ),
        )
        self.plex = plex
        self.services = services
        self.health = {
            PLEX_KEY: ServiceHealth(key=PLEX_KEY, kind="plex", name=entry.title)
        } | {
            key: ServiceHealth(key=key, kind=str(conn.kind), name=conn.title)
            for key, conn in services.items()
        }
        self._store: Store[dict[str, dict[str, Any]]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.health.{entry.entry_id}"
        )

    async def async_load(self) -> None:
        """Take back counters and disabled services from before a restart.

        Setup has just reached Plex, so Plex is never left disabled; the issues of
        services removed since are deleted.
        """
        for key, stored in (await self._store.async_load() or {}).items():
            if key in self.health:
                self.health[key].restore(stored)
            else:
                for kind in ("service_unhealthy", "service_disabled"):
                    ir.async_delete_issue(
                        self.hass, DOMAIN, f"{kind}_{self.config_entry.entry_id}_{key}"
                    )
        plex = self.health[PLEX_KEY]
        if plex.disabled:
            plex.enable(time.time())
            ir.async_delete_issue(
                self.hass, DOMAIN, self._issue_id("service_disabled", plex)
            )

    def is_disabled(self, key: str) -> bool:
        """Whether SmartPlex stopped calling a service."""
        return key in self.health and self.health[key].disabled

    async def _async_update_data(self) -> dict[str, ServiceHealth]:
        """Check every enabled service at once."""
        keys = [key for key, health in self.health.items() if not health.disabled]
        outcomes = await asyncio.gather(*(self._async_check(key) for key in keys))
        now = time.time()
        disabled_now = False
        for key, outcome in zip(keys, outcomes, strict=True):
            health = self.health[key]
            previous = health.status
            transitions = health.apply(outcome, now)
            self._async_report(health, previous, transitions)
            disabled_now |= Transition.DISABLED in transitions
        if disabled_now:
            # A disabled service must stay disabled even if Home Assistant dies now.
            await self._store.async_save(self._stored())
        else:
            self._store.async_delay_save(self._stored, STORE_SAVE_DELAY)
        return self.health

    async def async_shutdown(self) -> None:
        """Save the counters at once when the entry unloads."""
        await super().async_shutdown()
        await self._store.async_save(self._stored())

    def _stored(self) -> dict[str, dict[str, Any]]:
        """Return what the Store keeps."""
        return {key: health.as_stored() for key, health in self.health.items()}

    async def _async_check(self, key: str) -> CheckOutcome:
        """Run one service's check and time it."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                version, warnings = await self._async_probe(key)
        except SmartPlexAuthError:
            return CheckOutcome(status=HealthStatus.AUTH_FAILED, reason="invalid_auth")
        except SmartPlexApiError as err:
            return CheckOutcome(status=HealthStatus.ERROR, reason=error_reason(err))
        except TimeoutError:
            return CheckOutcome(status=HealthStatus.ERROR, reason="timeout")
        except _UnreadableCredentialError:
            return CheckOutcome(
                status=HealthStatus.AUTH_FAILED, reason="credentials_unreadable"
            )
        return CheckOutcome(
            status=HealthStatus.DEGRADED if warnings else HealthStatus.OK,
            reason=warnings[0] if warnings else None,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            version=version,
            warnings=warnings,
        )

    async def _async_probe(self, key: str) -> tuple[str, tuple[str, ...]]:
        """Ask a service who it is and what its own health report says."""
        if key == PLEX_KEY:
            return (await self.plex.async_connect()).version, ()
        client = self.services[key].client
        if client is None:
            raise _UnreadableCredentialError
        info = await client.async_get_service_info()
        warnings: list[str] = []
        if isinstance(client, ArrClient):
            warnings = await client.async_get_health_warnings()
        elif isinstance(client, TautulliClient) and not (
            await client.async_get_plex_connected()
        ):
            warnings = ["Tautulli is not connected to Plex"]
        return info.version, tuple(warnings)

    def _issue_id(self, kind: str, health: ServiceHealth) -> str:
        """Return the repair issue id of a service."""
        return f"{kind}_{self.config_entry.entry_id}_{health.key}"

    @callback
    def _async_report(
        self,
        health: ServiceHealth,
        previous: HealthStatus,
        transitions: list[Transition],
    ) -> None:
        """Log state changes once, raise or clear repairs, fire events, start reauth."""
        if health.status is not previous:
            if health.status in {HealthStatus.OK, HealthStatus.DEGRADED}:
                LOGGER.info("%s is %s again", health.name, health.status)
            else:
                LOGGER.warning(
                    "%s is %s: %s", health.name, health.status, health.reason
                )
        placeholders = {
            "name": health.name,
            "reason": str(health.reason),
            "failures": str(health.consecutive_failures),
        }
        event = {
            "config_entry_id": self.config_entry.entry_id,
            "service": health.kind,
            "name": health.name,
            "reason": health.reason,
            "consecutive_failures": health.consecutive_failures,
        }
        for transition in transitions:
            match transition:
                case Transition.UNHEALTHY:
                    ir.async_create_issue(
                        self.hass,
                        DOMAIN,
                        self._issue_id("service_unhealthy", health),
                        is_fixable=False,
                        is_persistent=True,
                        severity=ir.IssueSeverity.WARNING,
                        translation_key="service_unhealthy",
                        translation_placeholders=placeholders,
                    )
                    self.hass.bus.async_fire(EVENT_SERVICE_UNHEALTHY, event)
                case Transition.DISABLED:
                    ir.async_delete_issue(
                        self.hass, DOMAIN, self._issue_id("service_unhealthy", health)
                    )
                    ir.async_create_issue(
                        self.hass,
                        DOMAIN,
                        self._issue_id("service_disabled", health),
                        is_fixable=True,
                        is_persistent=True,
                        severity=ir.IssueSeverity.ERROR,
                        translation_key="service_disabled",
                        translation_placeholders=placeholders,
                        data={
                            "entry_id": self.config_entry.entry_id,
                            "service_key": health.key,
                        },
                    )
                    self.hass.bus.async_fire(EVENT_SERVICE_DISABLED, event)
                case Transition.RECOVERED:
                    ir.async_delete_issue(
                        self.hass, DOMAIN, self._issue_id("service_unhealthy", health)
                    )
                    self.hass.bus.async_fire(EVENT_SERVICE_RECOVERED, event)
                case Transition.AUTH_FAILED:
                    self.config_entry.async_start_reauth(
                        self.hass,
                        data={}
                        if health.key == PLEX_KEY
                        else {CONF_SUBENTRY_ID: health.key},
                    )

    async def async_enable(self, key: str) -> bool:
        """Re-test a disabled service; enable it again if it answers."""
        health = self.health[key]
        outcome = await self._async_check(key)
        if outcome.status not in {HealthStatus.OK, HealthStatus.DEGRADED}:
            return False
        now = time.time()
        health.enable(now)
        health.apply(outcome, now)
        ir.async_delete_issue(
            self.hass, DOMAIN, self._issue_id("service_disabled", health)
        )
        LOGGER.info("%s is enabled again", health.name)
        await self._store.async_save(self._stored())
        self.async_set_updated_data(self.health)
        return True


class _UnreadableCredentialError(Exception):
    """The service's key cannot be decrypted, so it cannot be called."""


class SmartPlexRequestsCoordinator(SmartPlexCoordinator[RequestStore]):
    """Overseerr requests: pushed by webhook, reconciled by a slow poll, kept on disk."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        health: SmartPlexHealthCoordinator,
        overseerr_key: str,
    ) -> None:
        """Track the requests of the configured Overseerr."""
        super().__init__(hass, entry, "requests", REQUESTS_INTERVAL)
        self.health = health
        self.overseerr_key = overseerr_key
        self.requests = RequestStore()
        self._publish_scheduled = False
        self._store: Store[dict[str, Any]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.requests.{entry.entry_id}"
        )
        # Requests notified while Overseerr's list is being read (None otherwise).
        self._pushed: set[int] | None = None

    async def async_load(self) -> None:
        """Take back the request history from before a restart."""
        self.requests = RequestStore.from_stored(await self._store.async_load())

    async def _async_update_data(self) -> RequestStore:
        """Reconcile with Overseerr's own list (catches webhooks missed while down)."""
        client = self.health.services[self.overseerr_key].client
        if self.health.is_disabled(self.overseerr_key) or not isinstance(
            client, OverseerrClient
        ):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="service_is_disabled",
                translation_placeholders={
                    "name": self.health.services[self.overseerr_key].title
                },
            )
        self._pushed = set()
        try:
            polled = [
                request
                async for page in client.async_iter_requests()
                for request in page
            ]
        except SmartPlexApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="requests_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        finally:
            pushed, self._pushed = self._pushed, None
        # A notification that came while the pages were read is newer than its page.
        polled = [request for request in polled if request.request_id not in pushed]
        # No pruning: a paged listing is not a snapshot, and a request missing from
        # it is not proof that Overseerr deleted it.
        if self.requests.reconcile(polled, time.time()):
            self._store.async_delay_save(self.requests.as_stored, REQUESTS_SAVE_DELAY)
        return self.requests

    @callback
    def async_handle_webhook(self, payload: Any) -> WebhookResult:
        """Record one Overseerr notification; tell automations what changed."""
        result = self.requests.apply_webhook(payload, time.time())
        if self._pushed is not None and result.record is not None:
            self._pushed.add(result.record.request_id)
        if result.changed and result.record is not None:
            record = result.record
            self.hass.bus.async_fire(
                EVENT_REQUEST_UPDATED,
                {"config_entry_id": self.config_entry.entry_id} | request_event(record),
            )
            # Bursts are written together: one write per REQUESTS_SAVE_DELAY.
            self._store.async_delay_save(self.requests.as_stored, REQUESTS_SAVE_DELAY)
            # And shown together: the sensors read every record, so they are updated
            # once per turn of the event loop, not once per notification.
            if not self._publish_scheduled:
                self._publish_scheduled = True
                self.hass.loop.call_soon(self._async_publish)
        return result

    @callback
    def _async_publish(self) -> None:
        """Hand the requests that webhooks changed to the entities."""
        self._publish_scheduled = False
        self.async_set_updated_data(self.requests)

    async def async_shutdown(self) -> None:
        """Write the request history at once when the entry unloads."""
        await super().async_shutdown()
        await self._store.async_save(self.requests.as_stored())


def disks_free(data: SmartPlexData) -> int | None:
    """Return the free bytes of the disks Sonarr and Radarr see; None while unknown."""
    storage = data.storage
    if storage is None or not storage.last_update_success or not storage.data:
        return None
    return sum(disk.free for disk in storage.data)


def request_event(record: RequestRecord) -> dict[str, Any]:
    """Describe a request for events and action responses."""
    return {
        "request_id": record.request_id,
        "title": record.title,
        "media_type": record.media_type,
        "tmdb_id": record.tmdb_id,
        "tvdb_id": record.tvdb_id,
        "requested_by": record.requested_by,
        "status": str(record.status),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "transitions": {str(k): v for k, v in record.transitions.items()},
    }


class SmartPlexRulesCoordinator(SmartPlexCoordinator[dict[str, RuleResult]]):
    """The named cleanup rules, applied again whenever the library or plays change."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        rules: list[Rule],
    ) -> None:
        """Apply these rules; the other coordinators say when to."""
        super().__init__(hass, entry, "rules", RULES_INTERVAL)
        self.rules = rules

    async def _async_update_data(self) -> dict[str, RuleResult]:
        """Apply every rule to one snapshot, in the executor."""
        if self.config_entry.runtime_data.health.is_disabled(PLEX_KEY):
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="service_is_disabled",
                translation_placeholders={"name": self.config_entry.title},
            )
        try:
            context = await async_rule_context(self.config_entry.runtime_data)
        except ImplausibleDataError as err:
            return {
                rule.name: RuleResult(
                    rule=rule.name,
                    refused=err.reason,
                    evaluated=0,
                    matched=0,
                    reclaimable=0,
                    unknown=(),
                )
                for rule in self.rules
            }
        except SmartPlexApiError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="now_playing_unknown",
                translation_placeholders={"error": str(err)},
            ) from err
        return await self.hass.async_add_executor_job(self._evaluate, context)

    def _evaluate(self, context: RuleContext) -> dict[str, RuleResult]:
        """Apply every rule (in the executor); free the items no result needs there."""
        results = {rule.name: context.evaluate(rule) for rule in self.rules}
        context.release()
        return results


async def async_rule_context(data: SmartPlexData) -> RuleContext:
    """Snapshot what rules look at; raise when Plex cannot say what is playing.

    Raises ImplausibleDataError while the library or the play data is not believed.
    """
    library = await data.library.async_snapshot()
    if data.analytics.implausible is not None:
        raise ImplausibleDataError(data.analytics.implausible)
    now_playing = await data.plex.async_get_playing_keys()
    # Play data not believed from now on leaves the last good summary in place.
    summary = data.analytics.data if data.analytics.last_update_success else None
    now = time.time()
    return RuleContext(
        library,
        summary.model if summary else None,
        analytics_age=now - summary.computed_at if summary else None,
        requests=data.requests.requests.snapshot() if data.requests else None,
        now_playing=now_playing,
        now=now,
    )
