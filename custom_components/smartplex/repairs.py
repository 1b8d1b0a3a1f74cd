"""Repair flows: re-enable a disabled service; accept a library that really shrank."""

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import probatio

from .api import SmartPlexApiError
from .coordinator import SmartPlexConfigEntry


class _EntryFlow(RepairsFlow):
    """A one-step fix of one loaded SmartPlex entry."""

    def __init__(self, entry_id: str) -> None:
        """Remember which entry."""
        self.entry_id = entry_id

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Start with the confirmation step."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Confirm, then fix, while the entry is loaded."""
        entry: SmartPlexConfigEntry | None = self.hass.config_entries.async_get_entry(
            self.entry_id
        )
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        return await self._async_fix(entry, user_input)

    async def _async_fix(
        self, entry: SmartPlexConfigEntry, user_input: dict[str, Any] | None
    ) -> RepairsFlowResult:
        """Show the confirmation, or fix once confirmed."""
        raise NotImplementedError


class EnableServiceFlow(_EntryFlow):
    """Re-test a disabled service and, if it answers, call it again."""

    def __init__(self, entry_id: str, service_key: str) -> None:
        """Remember which service of which entry."""
        super().__init__(entry_id)
        self.service_key = service_key

    async def _async_fix(
        self, entry: SmartPlexConfigEntry, user_input: dict[str, Any] | None
    ) -> RepairsFlowResult:
        """Re-test on confirmation; stay on the form while it still fails."""
        health = entry.runtime_data.health
        name = health.health[self.service_key].name
        errors: dict[str, str] = {}
        if user_input is not None:
            if await health.async_enable(self.service_key):
                return self.async_create_entry(data={})
            errors["base"] = "still_failing"
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            errors=errors,
            description_placeholders={
                "name": name,
                "reason": str(health.health[self.service_key].reason),
            },
        )


class AcceptLibraryFlow(_EntryFlow):
    """Believe a library that lost most of a section, once a person says it is true."""

    async def _async_fix(
        self, entry: SmartPlexConfigEntry, user_input: dict[str, Any] | None
    ) -> RepairsFlowResult:
        """On confirmation, sync fully and take Plex's answer as it is."""
        library = entry.runtime_data.library
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=probatio.Schema({}),
                description_placeholders={"reason": str(library.implausible)},
            )
        try:
            await library.async_sync(full=True, accept=True)
        except SmartPlexApiError:
            return self.async_abort(reason="sync_failed")
        library.async_set_updated_data(library.model)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """Create the flow of a fixable SmartPlex issue."""
    issue_data = data or {}
    if issue_data.get("kind") == "library_implausible":
        return AcceptLibraryFlow(str(issue_data.get("entry_id")))
    return EnableServiceFlow(
        str(issue_data.get("entry_id")), str(issue_data.get("service_key"))
    )
