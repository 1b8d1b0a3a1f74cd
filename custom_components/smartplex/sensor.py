"""Library sensors: titles and sizes per section, total size and quality breakdown."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfInformation,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util, slugify

from .analytics import AnalyticsSummary
from .api import DiskSpace
from .cleanup.schedule import Schedule
from .const import (
    CONF_CAPACITY_GB,
    CONF_NOT_WATCHED_DAYS,
    DEFAULT_NOT_WATCHED_DAYS,
    DOMAIN,
)
from .coordinator import (
    SmartPlexAnalyticsCoordinator,
    SmartPlexConfigEntry,
    SmartPlexHealthCoordinator,
    SmartPlexLibraryCoordinator,
    SmartPlexRequestsCoordinator,
    SmartPlexRulesCoordinator,
    SmartPlexStorageCoordinator,
    request_event,
)
from .deletions import SmartPlexPlansCoordinator
from .entity import SmartPlexEntity, SmartPlexServiceEntity, service_device_info
from .health import PLEX_KEY, HealthStatus, ServiceHealth
from .library import Breakdown, LibraryModel
from .requests import RequestState, RequestStore

PARALLEL_UPDATES = 0

RESOLUTION_GROUPS = {
    "4k": ("4k",),
    "1080p": ("1080",),
    "720p": ("720",),
    "sd": ("576", "480", "sd"),
}


@dataclass(frozen=True, kw_only=True)
class SmartPlexSensorEntityDescription(SensorEntityDescription):
    """A library sensor: how to read its value (and attributes) from the model."""

    value_fn: Callable[[LibraryModel, int | None], int]
    attributes_fn: Callable[[LibraryModel, int | None], dict[str, Any]] | None = None


def _size_description(key: str, translation_key: str, **kwargs: Any) -> dict[str, Any]:
    """Shared settings of every size sensor: bytes, shown in GB, statistics on."""
    return {
        "key": key,
        "translation_key": translation_key,
        "device_class": SensorDeviceClass.DATA_SIZE,
        "native_unit_of_measurement": UnitOfInformation.BYTES,
        "suggested_unit_of_measurement": UnitOfInformation.GIGABYTES,
        "suggested_display_precision": 1,
        "state_class": SensorStateClass.MEASUREMENT,
    } | kwargs


def _breakdown_attributes(breakdown: Breakdown) -> dict[str, Any]:
    """Describe a breakdown as attributes: {value: {count, size}} per quality field."""
    return {
        name: {
            value: {"count": count, "size": size}
            for value, (count, size) in getattr(breakdown, name).items()
        }
        for name in ("by_resolution", "by_codec", "by_container")
    }


def _resolution_size(
    group: tuple[str, ...],
) -> Callable[[LibraryModel, int | None], int]:
    """Return a reader of the bytes held at some resolutions."""

    def read(model: LibraryModel, _section: int | None) -> int:
        by_resolution = model.breakdown().by_resolution
        return sum(by_resolution.get(label, (0, 0))[1] for label in group)

    return read


SERVER_SENSORS: tuple[SmartPlexSensorEntityDescription, ...] = (
    SmartPlexSensorEntityDescription(
        **_size_description("media_size", "media_size"),
        value_fn=lambda model, _: model.breakdown().size,
        attributes_fn=lambda model, _: _breakdown_attributes(model.breakdown()),
    ),
    *(
        SmartPlexSensorEntityDescription(
            **_size_description(
                f"media_size_{name}",
                f"media_size_{name}",
                entity_registry_enabled_default=False,
            ),
            value_fn=_resolution_size(group),
        )
        for name, group in RESOLUTION_GROUPS.items()
    ),
)
SECTION_SENSORS: tuple[SmartPlexSensorEntityDescription, ...] = (
    SmartPlexSensorEntityDescription(
        key="section_titles",
        translation_key="section_titles",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda model, section: model.titles(section or 0),
    ),
    SmartPlexSensorEntityDescription(
        **_size_description("section_size", "section_size"),
        value_fn=lambda model, section: model.breakdown(section).size,
        attributes_fn=lambda model, section: _breakdown_attributes(
            model.breakdown(section)
        ),
    ),
)


STORAGE_SENSORS: tuple[SensorEntityDescription, ...] = (
    SensorEntityDescription(**_size_description("free_space", "free_space")),
)
USED_PERCENT = SensorEntityDescription(
    key="storage_used_percent",
    translation_key="storage_used_percent",
    native_unit_of_measurement=PERCENTAGE,
    suggested_display_precision=1,
    state_class=SensorStateClass.MEASUREMENT,
)


@dataclass(frozen=True, kw_only=True)
class SmartPlexAnalyticsSensorEntityDescription(SensorEntityDescription):
    """An analytics sensor: how to read its value from the summary."""

    value_fn: Callable[[AnalyticsSummary], int | None]


ANALYTICS_SENSORS: tuple[SmartPlexAnalyticsSensorEntityDescription, ...] = (
    SmartPlexAnalyticsSensorEntityDescription(
        key="plays_24h",
        translation_key="plays_24h",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda summary: summary.plays_24h,
    ),
    SmartPlexAnalyticsSensorEntityDescription(
        key="plays_7d",
        translation_key="plays_7d",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda summary: summary.plays_7d,
    ),
    SmartPlexAnalyticsSensorEntityDescription(
        key="never_watched",
        translation_key="never_watched",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda summary: summary.never_watched,
    ),
    SmartPlexAnalyticsSensorEntityDescription(
        **_size_description("never_watched_size", "never_watched_size"),
        value_fn=lambda summary: summary.never_watched_size,
    ),
    SmartPlexAnalyticsSensorEntityDescription(
        key="not_watched",
        translation_key="not_watched",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda summary: summary.not_watched,
    ),
    SmartPlexAnalyticsSensorEntityDescription(
        **_size_description("not_watched_size", "not_watched_size"),
        value_fn=lambda summary: summary.not_watched_size,
    ),
)


@dataclass(frozen=True, kw_only=True)
class SmartPlexHealthSensorEntityDescription(SensorEntityDescription):
    """A health sensor: how to read its value from a service's health."""

    value_fn: Callable[[ServiceHealth], str | int | float | None]
    available_when_disabled: bool = False


HEALTH_SENSORS: tuple[SmartPlexHealthSensorEntityDescription, ...] = (
    SmartPlexHealthSensorEntityDescription(
        key="status",
        translation_key="service_status",
        device_class=SensorDeviceClass.ENUM,
        options=[str(status) for status in HealthStatus],
        value_fn=lambda health: str(health.status),
        available_when_disabled=True,
    ),
    SmartPlexHealthSensorEntityDescription(
        key="consecutive_failures",
        translation_key="consecutive_failures",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda health: health.consecutive_failures,
        available_when_disabled=True,
    ),
    SmartPlexHealthSensorEntityDescription(
        key="latency",
        translation_key="latency",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda health: health.latency_ms,
    ),
)


@dataclass(frozen=True, kw_only=True)
class SmartPlexRequestsSensorEntityDescription(SensorEntityDescription):
    """A request sensor: how to read its value (and attributes) from the store."""

    value_fn: Callable[[RequestStore], str | int | float | None]
    attributes_fn: Callable[[RequestStore], dict[str, Any] | None] = lambda _: None


def _state_count(state: RequestState) -> SmartPlexRequestsSensorEntityDescription:
    """Describe the sensor counting requests in one state."""
    return SmartPlexRequestsSensorEntityDescription(
        key=f"requests_{state}",
        translation_key=f"requests_{state}",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda store: store.counts_by_state()[str(state)],
    )


REQUEST_SENSORS: tuple[SmartPlexRequestsSensorEntityDescription, ...] = (
    *(_state_count(state) for state in RequestState),
    SmartPlexRequestsSensorEntityDescription(
        key="latest_request",
        translation_key="latest_request",
        value_fn=lambda store: latest.title if (latest := store.latest()) else None,
        attributes_fn=lambda store: (
            request_event(latest) if (latest := store.latest()) else None
        ),
    ),
    SmartPlexRequestsSensorEntityDescription(
        key="time_to_available",
        translation_key="time_to_available",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda store: store.average_time_to_available(),
    ),
)


RULE_SENSORS: tuple[SensorEntityDescription, ...] = (
    SensorEntityDescription(
        key="candidates",
        translation_key="rule_candidates",
        state_class=SensorStateClass.MEASUREMENT,
    ),
    SensorEntityDescription(**_size_description("reclaimable", "rule_reclaimable")),
)


@dataclass(frozen=True, kw_only=True)
class SmartPlexPlansSensorEntityDescription(SensorEntityDescription):
    """A sensor of the deletion plans: how to read it from their schedule."""

    value_fn: Callable[[Schedule], int | datetime | None]
    attributes_fn: Callable[[Schedule], dict[str, Any]] | None = None


def _next_purge_attributes(plans: Schedule) -> dict[str, Any]:
    """Describe the next purge: its plan, items, size and titles."""
    purge = plans.next
    if purge is None:
        return {}
    return {
        "plan_id": purge.plan_id,
        "code": purge.code,
        "items": purge.items,
        "size": purge.size,
        "titles": list(purge.titles),
    }


PLAN_SENSORS: tuple[SmartPlexPlansSensorEntityDescription, ...] = (
    SmartPlexPlansSensorEntityDescription(
        key="pending_plans",
        translation_key="pending_plans",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda plans: plans.pending,
        attributes_fn=lambda plans: {"held": plans.held},
    ),
    SmartPlexPlansSensorEntityDescription(
        key="quarantined_items",
        translation_key="quarantined_items",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda plans: plans.quarantined,
        attributes_fn=lambda plans: {"titles": list(plans.quarantined_titles)},
    ),
    SmartPlexPlansSensorEntityDescription(
        **_size_description("quarantined_size", "quarantined_size"),
        value_fn=lambda plans: plans.quarantined_size,
    ),
    SmartPlexPlansSensorEntityDescription(
        key="next_purge",
        translation_key="next_purge",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda plans: (
            dt_util.utc_from_timestamp(plans.next.at) if plans.next else None
        ),
        attributes_fn=_next_purge_attributes,
    ),
    SmartPlexPlansSensorEntityDescription(
        **_size_description("next_purge_size", "next_purge_size"),
        value_fn=lambda plans: plans.next.size if plans.next else 0,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the server sensors, and per-section sensors as sections come and go."""
    coordinator = entry.runtime_data.library
    async_add_entities(
        SmartPlexLibrarySensor(coordinator, description, None)
        for description in SERVER_SENSORS
    )
    if (cleanup := entry.runtime_data.cleanup) is not None:
        async_add_entities(
            SmartPlexPlansSensor(cleanup.coordinator, description)
            for description in PLAN_SENSORS
        )
    async_add_entities(
        SmartPlexAnalyticsSensor(entry.runtime_data.analytics, description)
        for description in ANALYTICS_SENSORS
    )
    health = entry.runtime_data.health
    async_add_entities(
        SmartPlexHealthSensor(health, PLEX_KEY, description)
        for description in HEALTH_SENSORS
    )
    for key in health.services:
        async_add_entities(
            (
                SmartPlexHealthSensor(health, key, description)
                for description in HEALTH_SENSORS
            ),
            config_subentry_id=key,
        )
    if (requests := entry.runtime_data.requests) is not None:
        async_add_entities(
            (
                SmartPlexRequestsSensor(requests, description)
                for description in REQUEST_SENSORS
            ),
            config_subentry_id=requests.overseerr_key,
        )
    rule_sensors = (
        [
            SmartPlexRuleSensor(rules, rule.name, description)
            for rule in rules.rules
            for description in RULE_SENSORS
        ]
        if (rules := entry.runtime_data.rules) is not None
        else []
    )
    async_add_entities(rule_sensors)
    # Sensors of rules removed in the options go with them.
    registry = er.async_get(hass)
    current = {sensor.unique_id for sensor in rule_sensors}
    for registered in er.async_entries_for_config_entry(registry, entry.entry_id):
        if (
            registered.unique_id.startswith(f"{entry.unique_id}_rule_")
            and registered.unique_id not in current
        ):
            registry.async_remove(registered.entity_id)
    if entry.runtime_data.storage is not None:
        async_add_entities(
            SmartPlexFreeSpaceSensor(entry.runtime_data.storage, description)
            for description in STORAGE_SENSORS
        )
    if capacity := entry.options.get(CONF_CAPACITY_GB):
        async_add_entities([SmartPlexUsedPercentSensor(coordinator, capacity)])
    known: set[int] = set()

    @callback
    def _sync_sections() -> None:
        """Add sensors for new sections; remove those of deleted ones."""
        current = set(coordinator.model.sections)
        if new := current - known:
            async_add_entities(
                SmartPlexLibrarySensor(coordinator, description, section_id)
                for section_id in sorted(new)
                for description in SECTION_SENSORS
            )
        registry = er.async_get(hass)
        for section_id in known - current:
            for description in SECTION_SENSORS:
                unique_id = f"{entry.unique_id}_{description.key}_{section_id}"
                if entity_id := registry.async_get_entity_id(
                    "sensor", DOMAIN, unique_id
                ):
                    registry.async_remove(entity_id)
        known.clear()
        known.update(current)

    _sync_sections()
    entry.async_on_unload(coordinator.async_add_listener(_sync_sections))


class SmartPlexLibrarySensor(
    SmartPlexEntity[SmartPlexLibraryCoordinator], SensorEntity
):
    """A sensor reading the library model."""

    entity_description: SmartPlexSensorEntityDescription

    def __init__(
        self,
        coordinator: SmartPlexLibraryCoordinator,
        description: SmartPlexSensorEntityDescription,
        section_id: int | None,
    ) -> None:
        """Set up a server-wide sensor, or one of a section."""
        key = (
            description.key if section_id is None else f"{description.key}_{section_id}"
        )
        super().__init__(coordinator, key)
        self.entity_description = description
        self.section_id = section_id
        if section_id is not None:
            self._attr_translation_placeholders = {
                "section": coordinator.model.sections[section_id].title
            }

    @property
    def available(self) -> bool:
        """A section sensor is available while its section exists."""
        return super().available and (
            self.section_id is None
            or self.section_id in self.coordinator.model.sections
        )

    @property
    def native_value(self) -> int:
        """Read the value from the model."""
        return self.entity_description.value_fn(self.coordinator.model, self.section_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Read the attributes from the model, where the sensor has some."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(
            self.coordinator.model, self.section_id
        )


class SmartPlexFreeSpaceSensor(
    SmartPlexEntity[SmartPlexStorageCoordinator], SensorEntity
):
    """Free space on the disks Sonarr and Radarr see (each disk counted once)."""

    def __init__(
        self,
        coordinator: SmartPlexStorageCoordinator,
        description: SensorEntityDescription,
    ) -> None:
        """Set up the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Unavailable while Sonarr or Radarr is disabled: the figure would be partial."""
        return super().available and not self.coordinator.disabled

    @property
    def native_value(self) -> int:
        """Return the free bytes of every disk."""
        return sum(disk.free for disk in self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """List each disk."""
        return {"disks": [_disk(disk) for disk in self.coordinator.data]}


def _disk(disk: DiskSpace) -> dict[str, Any]:
    """Describe one disk."""
    return {
        "path": disk.path,
        "label": disk.label,
        "free": disk.free,
        "total": disk.total,
    }


class SmartPlexUsedPercentSensor(
    SmartPlexEntity[SmartPlexLibraryCoordinator], SensorEntity
):
    """Media size as a share of the capacity the user configured."""

    entity_description = USED_PERCENT

    def __init__(
        self, coordinator: SmartPlexLibraryCoordinator, capacity_gb: float
    ) -> None:
        """Set up the sensor for a capacity in GB."""
        super().__init__(coordinator, USED_PERCENT.key)
        self.capacity = capacity_gb * 1e9

    @property
    def native_value(self) -> float:
        """Return the percentage of the capacity in use."""
        return 100 * self.coordinator.model.breakdown().size / self.capacity

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Give the capacity the percentage is measured against."""
        return {"capacity": int(self.capacity)}


class SmartPlexAnalyticsSensor(
    SmartPlexEntity[SmartPlexAnalyticsCoordinator], SensorEntity
):
    """Play statistics; says where they came from (Tautulli or Plex's own counts)."""

    entity_description: SmartPlexAnalyticsSensorEntityDescription

    def __init__(
        self,
        coordinator: SmartPlexAnalyticsCoordinator,
        description: SmartPlexAnalyticsSensorEntityDescription,
    ) -> None:
        """Set up the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._attr_translation_placeholders = {
            "days": str(
                int(
                    coordinator.config_entry.options.get(
                        CONF_NOT_WATCHED_DAYS, DEFAULT_NOT_WATCHED_DAYS
                    )
                )
            )
        }

    @property
    def native_value(self) -> int | None:
        """Read the value; None (unknown) where the source cannot tell."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Say where the play data came from, and why if it is the fallback."""
        return {
            "source": str(self.coordinator.data.model.source),
            "fallback_reason": self.coordinator.data.fallback_reason,
        }


class SmartPlexHealthSensor(SmartPlexServiceEntity, SensorEntity):
    """Status, failures in a row or latency of one service."""

    entity_description: SmartPlexHealthSensorEntityDescription

    def __init__(
        self,
        coordinator: SmartPlexHealthCoordinator,
        service_key: str,
        description: SmartPlexHealthSensorEntityDescription,
    ) -> None:
        """Set up the sensor of one service."""
        super().__init__(coordinator, service_key, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """Unavailable until checked; most are also while the service is disabled."""
        if self.health.disabled:
            return self.entity_description.available_when_disabled
        return super().available and self.health.checked

    @property
    def native_value(self) -> str | int | float | None:
        """Read the value from the service's health."""
        return self.entity_description.value_fn(self.health)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The status sensor tells why and since when."""
        if self.entity_description.key != "status":
            return None
        health = self.health
        return {
            "reason": health.reason,
            "last_failure": _iso(health.last_failure),
            "last_success": _iso(health.last_success),
            "warnings": list(health.warnings),
            "version": health.version,
        }


def _iso(timestamp: float | None) -> str | None:
    """Return a timestamp as ISO 8601, or None."""
    return (
        None if timestamp is None else dt_util.utc_from_timestamp(timestamp).isoformat()
    )


class SmartPlexRequestsSensor(
    SmartPlexEntity[SmartPlexRequestsCoordinator], SensorEntity
):
    """A figure about Overseerr requests, on Overseerr's device."""

    entity_description: SmartPlexRequestsSensorEntityDescription

    def __init__(
        self,
        coordinator: SmartPlexRequestsCoordinator,
        description: SmartPlexRequestsSensorEntityDescription,
    ) -> None:
        """Set up the sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description
        self._attr_device_info = service_device_info(
            coordinator.health, coordinator.overseerr_key
        )

    @property
    def native_value(self) -> str | int | float | None:
        """Read the value from the request history."""
        return self.entity_description.value_fn(self.coordinator.requests)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Read the attributes, where the sensor has some."""
        return self.entity_description.attributes_fn(self.coordinator.requests)


class SmartPlexRuleSensor(SmartPlexEntity[SmartPlexRulesCoordinator], SensorEntity):
    """How many titles a named rule matches, or how many bytes they hold."""

    def __init__(
        self,
        coordinator: SmartPlexRulesCoordinator,
        rule: str,
        description: SensorEntityDescription,
    ) -> None:
        """Set up the sensor of one rule."""
        super().__init__(coordinator, f"rule_{slugify(rule)}_{description.key}")
        self.entity_description = description
        self.rule = rule
        self._attr_translation_placeholders = {"rule": rule}

    @property
    def native_value(self) -> int | None:
        """Return the count or the bytes; unknown while the rule is refused."""
        result = self.coordinator.data[self.rule]
        if result.refused:
            return None
        if self.entity_description.key == "candidates":
            return result.matched
        return result.reclaimable

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Say why a rule is refused, and how many items it could not judge."""
        result = self.coordinator.data[self.rule]
        return {
            "refused": result.refused,
            "unknown": len(result.unknown),
            "evaluated": result.evaluated,
        }


class SmartPlexPlansSensor(SmartPlexEntity[SmartPlexPlansCoordinator], SensorEntity):
    """Plans waiting, items in quarantine, and the next purge."""

    entity_description: SmartPlexPlansSensorEntityDescription

    def __init__(
        self,
        coordinator: SmartPlexPlansCoordinator,
        description: SmartPlexPlansSensorEntityDescription,
    ) -> None:
        """Set up one plans sensor."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int | datetime | None:
        """Read the value from the schedule."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Read the attributes from the schedule."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
