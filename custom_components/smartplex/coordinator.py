"""Coordinators of SmartPlex, one per concern; this one keeps the library model."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .analytics import (
    AnalyticsModel,
    AnalyticsSummary,
    from_plex,
    from_tautulli,
    summarize,
)
from .api import (
    ArrClient,
    DiskSpace,
    PlexClient,
    PlexServerInfo,
    ServiceClient,
    ServiceInfo,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    TautulliClient,
)
from .connections import error_reason
from .const import (
    CONF_FULL_SYNC_TIME,
    CONF_NOT_WATCHED_DAYS,
    DEFAULT_FULL_SYNC_TIME,
    DEFAULT_NOT_WATCHED_DAYS,
    DOMAIN,
    LOGGER,
)
from .library import LibraryModel, SyncResult, async_sync_library

LIBRARY_SYNC_INTERVAL = timedelta(minutes=15)
ANALYTICS_INTERVAL = timedelta(hours=1)
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
    client: ServiceClient | None
    info: ServiceInfo | None = None
    error: str | None = None


@dataclass(kw_only=True)
class SmartPlexData:
    """Clients and state of one Plex server and its optional services."""

    plex: PlexClient
    server: PlexServerInfo
    library: SmartPlexLibraryCoordinator
    analytics: SmartPlexAnalyticsCoordinator
    storage: SmartPlexStorageCoordinator | None
    services: dict[str, ServiceConnection] = field(default_factory=dict)


type SmartPlexConfigEntry = ConfigEntry[SmartPlexData]


class SmartPlexCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """A coordinator of one SmartPlex entry."""

    config_entry: SmartPlexConfigEntry


class SmartPlexLibraryCoordinator(SmartPlexCoordinator[LibraryModel]):
    """Sync Plex's libraries into the model: incrementally often, fully every night."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartPlexConfigEntry, plex: PlexClient
    ) -> None:
        """Prepare the coordinator; the stored model is loaded at first refresh."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name="SmartPlex library",
            update_interval=LIBRARY_SYNC_INTERVAL,
        )
        self.plex = plex
        self.model = LibraryModel()
        self.last_result: SyncResult | None = None
        self._full_due = True
        self._sync_lock = asyncio.Lock()
        self._store: Store[dict[str, object]] = Store(
            hass, STORE_VERSION, f"{DOMAIN}.library.{entry.entry_id}"
        )

    async def _async_setup(self) -> None:
        """Come up with the last stored model at once; sync incrementally from it."""
        self.model = LibraryModel.from_stored(await self._store.async_load())
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

    async def async_sync(self, *, full: bool) -> SyncResult:
        """Bring the model up to date with Plex (one sync at a time); save it."""
        async with self._sync_lock:
            result = await async_sync_library(self.plex, self.model, full=full)
        if full:
            self._full_due = False
        self._store.async_delay_save(self.model.as_stored, STORE_SAVE_DELAY)
        self.last_result = result
        return result


class SmartPlexStorageCoordinator(SmartPlexCoordinator[list[DiskSpace]]):
    """Read free and total space of the disks Sonarr and Radarr see, daily."""

    def __init__(
        self, hass: HomeAssistant, entry: SmartPlexConfigEntry, clients: list[ArrClient]
    ) -> None:
        """Poll the given *arr clients."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name="SmartPlex storage",
            update_interval=STORAGE_INTERVAL,
        )
        self.clients = clients

    async def _async_update_data(self) -> list[DiskSpace]:
        """Merge the disks every *arr reports (the same disk once); all must answer."""
        disks: dict[str, DiskSpace] = {}
        for client in self.clients:
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
        tautulli: TautulliClient | None,
    ) -> None:
        """Use Tautulli when configured; the library gives titles and sizes."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name="SmartPlex analytics",
            update_interval=ANALYTICS_INTERVAL,
        )
        self.library = library
        self.tautulli = tautulli

    async def _async_update_data(self) -> AnalyticsSummary:
        """Read the whole play history; fall back to Plex's counts when Tautulli fails."""
        fallback_reason = None if self.tautulli else "tautulli_not_configured"
        model: AnalyticsModel | None = None
        if self.tautulli is not None:
            try:
                records = [
                    record
                    async for page in self.tautulli.async_iter_history()
                    for record in page
                ]
            except SmartPlexApiError as err:
                fallback_reason = error_reason(err)
            else:
                model = await self.hass.async_add_executor_job(from_tautulli, records)
        previous = self.data.fallback_reason if self.data else None
        if fallback_reason != previous and self.tautulli is not None:
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
        return await self.hass.async_add_executor_job(
            partial(
                summarize,
                model,
                library,
                now=time.time(),
                not_watched_days=self.config_entry.options.get(
                    CONF_NOT_WATCHED_DAYS, DEFAULT_NOT_WATCHED_DAYS
                ),
                fallback_reason=fallback_reason,
            )
        )
