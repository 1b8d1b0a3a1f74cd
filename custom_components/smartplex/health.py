"""Health bookkeeping of each service: states, thresholds, transitions (no HA)."""

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

REPAIR_AFTER = 3
DISABLE_AFTER = 10
HISTORY_LENGTH = 20
PLEX_KEY = "plex"


class HealthStatus(StrEnum):
    """What a service's last check found."""

    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"
    AUTH_FAILED = "auth_failed"
    DISABLED = "disabled"


class Transition(StrEnum):
    """A change worth telling the user about."""

    UNHEALTHY = "unhealthy"  # the REPAIR_AFTER-th failure in a row
    DISABLED = "disabled"  # the DISABLE_AFTER-th failure in a row
    RECOVERED = "recovered"  # answered again after being unhealthy
    AUTH_FAILED = "auth_failed"  # the credential was rejected


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOutcome:
    """What one health check of one service found."""

    status: HealthStatus  # OK, DEGRADED, ERROR or AUTH_FAILED
    reason: str | None = None
    latency_ms: float | None = None
    version: str | None = None
    warnings: tuple[str, ...] = ()


@dataclass(slots=True, kw_only=True)
class ServiceHealth:
    """A service's health over time."""

    key: str
    kind: str
    name: str
    status: HealthStatus = HealthStatus.OK
    reason: str | None = None
    consecutive_failures: int = 0
    last_failure: float | None = None
    last_success: float | None = None
    latency_ms: float | None = None
    version: str | None = None
    warnings: tuple[str, ...] = ()
    checked: bool = False
    history: deque[tuple[float, str, str | None]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_LENGTH)
    )

    @property
    def disabled(self) -> bool:
        """Whether SmartPlex stopped calling this service."""
        return self.status is HealthStatus.DISABLED

    @property
    def unhealthy(self) -> bool:
        """Whether the failures in a row reached the repair threshold."""
        return self.consecutive_failures >= REPAIR_AFTER

    def apply(self, outcome: CheckOutcome, now: float) -> list[Transition]:
        """Take one check's outcome; return the transitions it caused."""
        transitions: list[Transition] = []
        was_unhealthy = self.unhealthy
        previous = self.status
        self.checked = True
        self.latency_ms = outcome.latency_ms
        self.warnings = outcome.warnings
        if outcome.version:
            self.version = outcome.version
        match outcome.status:
            case HealthStatus.OK | HealthStatus.DEGRADED:
                self.consecutive_failures = 0
                self.last_success = now
                if was_unhealthy:
                    transitions.append(Transition.RECOVERED)
            case HealthStatus.AUTH_FAILED:
                # A rejected credential is not an outage: reauth, do not count it.
                self.last_failure = now
                if previous is not HealthStatus.AUTH_FAILED:
                    transitions.append(Transition.AUTH_FAILED)
            case _:
                self.consecutive_failures += 1
                self.last_failure = now
                if self.consecutive_failures == REPAIR_AFTER:
                    transitions.append(Transition.UNHEALTHY)
                if self.consecutive_failures >= DISABLE_AFTER:
                    transitions.append(Transition.DISABLED)
        self.status = (
            HealthStatus.DISABLED
            if Transition.DISABLED in transitions
            else outcome.status
        )
        self.reason = outcome.reason
        if self.status is not previous or outcome.reason != self.history_reason:
            self.history.append((now, str(self.status), outcome.reason))
        return transitions

    @property
    def history_reason(self) -> str | None:
        """The reason of the last recorded state change."""
        return self.history[-1][2] if self.history else None

    def enable(self, now: float) -> None:
        """Start calling the service again (after a fix flow re-tested it)."""
        self.status = HealthStatus.OK
        self.reason = None
        self.consecutive_failures = 0
        self.history.append((now, str(self.status), "re-enabled"))

    def as_stored(self) -> dict[str, Any]:
        """Return what survives a restart."""
        return {
            "status": str(self.status),
            "reason": self.reason,
            "consecutive_failures": self.consecutive_failures,
            "last_failure": self.last_failure,
            "last_success": self.last_success,
            "history": list(self.history),
        }

    def restore(self, stored: dict[str, Any]) -> None:
        """Take back what was stored before a restart.

        Only "disabled" outlives a restart; any other state is checked again (so a
        rejected key asks for reauthentication again).
        """
        if stored["status"] == HealthStatus.DISABLED:
            self.status = HealthStatus.DISABLED
        self.reason = stored["reason"]
        self.consecutive_failures = stored["consecutive_failures"]
        self.last_failure = stored["last_failure"]
        self.last_success = stored["last_success"]
        self.history.extend(tuple(entry) for entry in stored["history"])
