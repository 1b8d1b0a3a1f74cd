"""Base entity of SmartPlex: attached to the Plex server's device."""

from typing import Any

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import ServiceKind
from .const import DOMAIN
from .coordinator import SmartPlexCoordinator, SmartPlexHealthCoordinator
from .health import PLEX_KEY, ServiceHealth

SERVICE_MAKERS = {
    ServiceKind.SONARR: "Sonarr",
    ServiceKind.RADARR: "Radarr",
    ServiceKind.TAUTULLI: "Tautulli",
    ServiceKind.OVERSEERR: "Overseerr",
}


class SmartPlexEntity[CoordinatorT: SmartPlexCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity fed by one of SmartPlex's coordinators."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CoordinatorT, key: str) -> None:
        """Name the entity after its key, under the Plex server's device."""
        super().__init__(coordinator)
        machine_identifier = coordinator.config_entry.unique_id
        self._attr_unique_id = f"{machine_identifier}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, str(machine_identifier))}
        )


class SmartPlexServiceEntity(SmartPlexEntity[SmartPlexHealthCoordinator]):
    """An entity about one service's health, on that service's device."""

    def __init__(
        self, coordinator: SmartPlexHealthCoordinator, service_key: str, key: str
    ) -> None:
        """Attach to Plex's device, or to the device of an optional service."""
        super().__init__(coordinator, f"{service_key}_{key}")
        self.service_key = service_key
        if service_key != PLEX_KEY:
            self._attr_device_info = service_device_info(coordinator, service_key)

    @property
    def health(self) -> ServiceHealth:
        """This service's health."""
        return self.coordinator.health[self.service_key]


def service_device_info(
    health: SmartPlexHealthCoordinator, service_key: str
) -> DeviceInfo:
    """Return the device of an optional service, linked to the Plex server."""
    connection = health.services[service_key]
    machine_identifier = str(health.config_entry.unique_id)
    return DeviceInfo(
        identifiers={(DOMAIN, f"{machine_identifier}_{service_key}")},
        name=connection.title,
        manufacturer=SERVICE_MAKERS[connection.kind],
        model=str(connection.kind).capitalize(),
        entry_type=DeviceEntryType.SERVICE,
        via_device_id=health.config_entry.runtime_data.plex_device_id,
        configuration_url=connection.url,
    )
