"""One cell of the fault matrix: a service, a fault, and the checks it ran."""

from dataclasses import dataclass, field
from enum import StrEnum
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import DOMAIN
from simulators import Fault

# Which services each coordinator calls.
CALLS = {
    "library": {ServiceKind.PLEX},
    "rules": {ServiceKind.PLEX},
    "analytics": {ServiceKind.TAUTULLI},
    "storage": {ServiceKind.SONARR, ServiceKind.RADARR},
    "requests": {ServiceKind.OVERSEERR},
}
TRANSLATIONS = json.loads(
    (
        Path(__file__).parents[2] / "custom_components/smartplex/translations/en.json"
    ).read_text(encoding="utf-8")
)["exceptions"]


class Kind(StrEnum):
    """What a fault is to SmartPlex."""

    HARMLESS = "harmless"  # to be read as if nothing happened
    AUTH = "auth"  # a rejected credential: reauthenticate, never count as an outage
    OUTAGE = "outage"  # counted: repair at REPAIR_AFTER, disabled at DISABLE_AFTER


def kind_of(fault: Fault) -> Kind:
    """Classify a fault."""
    if fault is Fault.NUMBERS_AS_STRINGS:
        return Kind.HARMLESS
    if fault in {Fault.UNAUTHORIZED, Fault.FORBIDDEN}:
        return Kind.AUTH
    return Kind.OUTAGE


@dataclass
class Cell:
    """The checks of one cell: how many held, and what the others saw."""

    service: ServiceKind
    fault: Fault
    passed: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def kind(self) -> Kind:
        """What the fault is to SmartPlex."""
        return kind_of(self.fault)

    def check(self, what: str, holds: bool, seen: object = None) -> None:
        """Record one check."""
        if holds:
            self.passed += 1
        else:
            self.failed.append(f"{what} (saw {seen!r})")

    def failing(self, concern: str) -> bool:
        """Whether a coordinator's calls fail in this cell."""
        return self.kind is not Kind.HARMLESS and self.service in CALLS[concern]

    def translated(self, what: str, err: BaseException | None, key: str) -> None:
        """Check that an error is HA's, translated with `key` and all its placeholders."""
        self.check(
            f"{what}: a HomeAssistantError", isinstance(err, HomeAssistantError), err
        )
        if not isinstance(err, HomeAssistantError):
            return
        self.check(
            f"{what}: translation {key}",
            (err.translation_domain, err.translation_key) == (DOMAIN, key),
            (err.translation_domain, err.translation_key),
        )
        template = TRANSLATIONS.get(str(err.translation_key), {}).get("message", "")
        needed = set(re.findall(r"{(\w+)}", template))
        self.check(
            f"{what}: placeholders of {key}",
            bool(template) and needed <= set(err.translation_placeholders or {}),
            err.translation_placeholders,
        )


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    """Return the reauthentication flows in progress for the entry."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == "reauth"
        and flow["context"].get("entry_id") == entry.entry_id
    ]


async def call(hass: HomeAssistant, action: str, **data: Any) -> Any:
    """Call a SmartPlex action for its response."""
    return await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=True
    )
