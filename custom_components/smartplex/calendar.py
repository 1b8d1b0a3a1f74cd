"""A calendar of scheduled deletions: one event per plan and purge time."""

from datetime import datetime, timedelta

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .cleanup.plan import GB
from .cleanup.schedule import ScheduledPurge
from .coordinator import SmartPlexConfigEntry
from .deletions import SmartPlexPlansCoordinator
from .entity import SmartPlexEntity

PARALLEL_UPDATES = 0
EVENT_LENGTH = timedelta(minutes=30)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the scheduled deletions calendar."""
    if (cleanup := entry.runtime_data.cleanup) is not None:
        async_add_entities([SmartPlexDeletionCalendar(cleanup.coordinator)])


def _event(purge: ScheduledPurge) -> CalendarEvent:
    """Describe one purge as a calendar event."""
    start = dt_util.utc_from_timestamp(purge.at)
    held = " (held: needs a second confirmation)" if purge.held else ""
    return CalendarEvent(
        start=start,
        end=start + EVENT_LENGTH,
        summary=f"SmartPlex deletes {purge.items} items ({purge.size / GB:.1f} GB){held}",
        description="\n".join(purge.titles),
        uid=f"{purge.plan_id}_{int(purge.at)}",
    )


class SmartPlexDeletionCalendar(
    SmartPlexEntity[SmartPlexPlansCoordinator], CalendarEntity
):
    """When quarantined items will be deleted, plan by plan."""

    _attr_translation_key = "scheduled_deletions"

    def __init__(self, coordinator: SmartPlexPlansCoordinator) -> None:
        """Set up the calendar."""
        super().__init__(coordinator, "scheduled_deletions")

    @property
    def event(self) -> CalendarEvent | None:
        """Return the next purge (held ones included: they are still planned)."""
        purges = self.coordinator.data.purges
        return _event(purges[0]) if purges else None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the purges between two times."""
        return [
            event
            for purge in self.coordinator.data.purges
            if start_date <= (event := _event(purge)).end and event.start <= end_date
        ]
