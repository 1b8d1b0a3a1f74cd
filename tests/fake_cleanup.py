"""Stand-ins for the deletion engine that voice and LLM tests talk to.

They follow the contract of smartplex.request_deletion / confirm_deletion and of the
engine on runtime_data (`find_pending_by_code`, `journal.active()`), and record every
call, so a test can prove what was (not) asked for.
"""

from dataclasses import dataclass, field
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import ServiceValidationError

from custom_components.smartplex.const import DOMAIN

GB = 1_000_000_000
PLAN_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class FakeItem:
    """An item of a plan."""

    title: str
    size: int
    state: str = "planned"
    purge_at: float | None = None


@dataclass
class FakePlan:
    """A plan as the engine keeps it."""

    id: str
    code: str
    items: list[FakeItem]
    needs_acknowledge: bool = False
    state: str = "pending"

    @property
    def total_gb(self) -> float:
        """The plan's size in GB."""
        return round(sum(item.size for item in self.items) / GB, 1)


@dataclass
class FakeJournal:
    """The engine's plans."""

    plans: list[FakePlan]

    def active(self) -> list[FakePlan]:
        """Plans that may still change something."""
        return [plan for plan in self.plans if plan.state in {"pending", "confirmed"}]


@dataclass
class FakeCleanup:
    """The engine on runtime_data: plans, and lookups by code."""

    plans: list[FakePlan] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    @property
    def journal(self) -> FakeJournal:
        """The journal of plans."""
        return FakeJournal(self.plans)

    def find_pending_by_code(self, code: str) -> FakePlan | None:
        """Return the pending plan with this code."""
        self.lookups.append(code)
        return next(
            (p for p in self.plans if p.state == "pending" and p.code == code), None
        )


@dataclass
class DeletionServices:
    """Fake request_deletion and confirm_deletion actions that record their calls."""

    cleanup: FakeCleanup
    titles: dict[int, tuple[str, int]]  # rating key: (title, size)
    acknowledge_above_gb: float = 100.0
    code: str = "472"
    requested: list[dict[str, Any]] = field(default_factory=list)
    confirmed: list[dict[str, Any]] = field(default_factory=list)

    async def request(self, call: ServiceCall) -> ServiceResponse:
        """Make a plan of the chosen items (every known one for a rule)."""
        self.requested.append(dict(call.data))
        keys = [
            key
            for key in call.data.get("rating_keys") or self.titles
            if key in self.titles
        ]
        items = [FakeItem(*self.titles[key]) for key in keys]
        plan = FakePlan(PLAN_ID, self.code, items)
        plan.needs_acknowledge = plan.total_gb > self.acknowledge_above_gb
        if not call.data.get("dry_run"):
            self.cleanup.plans.append(plan)
        return {
            "plan_id": None if call.data.get("dry_run") else plan.id,
            "code": None if call.data.get("dry_run") else plan.code,
            "state": plan.state,
            "items": [
                {"rating_key": key, "title": item.title, "size": item.size}
                for key, item in zip(keys, items, strict=True)
            ],
            "item_count": len(items),
            "total_size": sum(item.size for item in items),
            "total_gb": plan.total_gb,
            "needs_acknowledge": plan.needs_acknowledge,
            "expires": "2026-12-01T00:00:00+00:00",
            "dry_run": bool(call.data.get("dry_run")),
        }

    async def confirm(self, call: ServiceCall) -> ServiceResponse:
        """Confirm a pending plan, refusing a large one without its total."""
        self.confirmed.append(dict(call.data))
        plan = next(p for p in self.cleanup.plans if p.id == call.data["plan_id"])
        if plan.needs_acknowledge and "acknowledge_total_gb" not in call.data:
            raise ServiceValidationError("acknowledge_required")
        plan.state = "confirmed"
        return {"plan_id": plan.id, "state": plan.state}


def install(
    hass: HomeAssistant,
    entry: Any,
    *,
    plans: list[FakePlan] | None = None,
    acknowledge_above_gb: float = 100.0,
) -> DeletionServices:
    """Give an entry a fake engine and register the fake deletion actions."""
    cleanup = FakeCleanup(list(plans or []))
    entry.runtime_data.cleanup = cleanup
    model = entry.runtime_data.library.model
    titles = {
        key: (item.title, item.size or GB)
        for key, item in model.items.items()
        if item.type in {"movie", "show"}
    }
    services = DeletionServices(cleanup, titles, acknowledge_above_gb)
    hass.services.async_register(
        DOMAIN,
        "request_deletion",
        services.request,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        "confirm_deletion",
        services.confirm,
        supports_response=SupportsResponse.OPTIONAL,
    )
    return services
