"""Base entity of SmartPlex: attached to the Plex server's device."""

from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SmartPlexCoordinator


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
