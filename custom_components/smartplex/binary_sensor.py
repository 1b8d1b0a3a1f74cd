"""Connectivity of Plex and of each optional service."""

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import SmartPlexConfigEntry, SmartPlexHealthCoordinator
from .entity import SmartPlexServiceEntity
from .health import PLEX_KEY, HealthStatus

PARALLEL_UPDATES = 0

CONNECTIVITY = BinarySensorEntityDescription(
    key="connectivity",
    translation_key="connectivity",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a connectivity sensor for Plex and for each service."""
    health = entry.runtime_data.health
    async_add_entities([SmartPlexConnectivitySensor(health, PLEX_KEY)])
    for key in health.services:
        async_add_entities(
            [SmartPlexConnectivitySensor(health, key)], config_subentry_id=key
        )


class SmartPlexConnectivitySensor(SmartPlexServiceEntity, BinarySensorEntity):
    """On while the service answers (even with warnings of its own)."""

    entity_description = CONNECTIVITY

    def __init__(
        self, coordinator: SmartPlexHealthCoordinator, service_key: str
    ) -> None:
        """Set up the sensor of one service."""
        super().__init__(coordinator, service_key, CONNECTIVITY.key)

    @property
    def available(self) -> bool:
        """Unavailable until checked, and while the service is disabled."""
        return super().available and self.health.checked and not self.health.disabled

    @property
    def is_on(self) -> bool:
        """Whether the last check reached the service."""
        return self.health.status in {HealthStatus.OK, HealthStatus.DEGRADED}
