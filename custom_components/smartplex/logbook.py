"""Describe SmartPlex's deletion events in the logbook."""

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .cleanup.plan import GB
from .const import DOMAIN

EVENT_ITEM_DELETED = f"{DOMAIN}_item_deleted"
EVENT_DELETION_FAILED = f"{DOMAIN}_deletion_failed"
EVENT_DELETION_COMPLETED = f"{DOMAIN}_deletion_completed"
EVENT_DELETION_CONFIRMED = f"{DOMAIN}_deletion_confirmed"


def _gb(size: Any) -> str:
    """Format bytes as GB with one decimal."""
    return f"{(size or 0) / GB:.1f} GB"


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe every deletion, each plan's confirmation and end, and failures."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        data = event.data
        if event.event_type == EVENT_ITEM_DELETED:
            message = f"deleted {data['title']} ({_gb(data['size'])}) through {data['manager']}"
            icon = "mdi:delete"
        elif event.event_type == EVENT_DELETION_FAILED:
            message = f"could not delete {data['title']}: {data['error']}"
            icon = "mdi:delete-alert"
        elif event.event_type == EVENT_DELETION_COMPLETED:
            message = (
                f"finished plan {data['code']}: {data['deleted']} items deleted, "
                f"{_gb(data['reclaimed_size'])} freed"
            )
            icon = "mdi:delete-sweep"
        else:
            message = (
                f"plan {data['code']} confirmed: {data['items']} items, "
                f"{_gb(data['total_size'])}"
            )
            icon = "mdi:check-decagram"
        return {
            LOGBOOK_ENTRY_NAME: "SmartPlex",
            LOGBOOK_ENTRY_MESSAGE: message,
            LOGBOOK_ENTRY_ICON: icon,
        }

    for event_type in (
        EVENT_ITEM_DELETED,
        EVENT_DELETION_FAILED,
        EVENT_DELETION_COMPLETED,
        EVENT_DELETION_CONFIRMED,
    ):
        async_describe_event(DOMAIN, event_type, describe)
