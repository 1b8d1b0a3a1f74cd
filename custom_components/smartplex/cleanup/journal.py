"""The deletion journal and audit log, written ahead of every destructive call (no HA)."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
import time
from typing import Any

from .plan import ACTIVE_PLAN_STATES, Plan, PlanItem

AUDIT_LIMIT = 20_000
FINISHED_PLANS_KEPT = 200

type Writer = Callable[[dict[str, Any]], Awaitable[None]]


class Journal:
    """Plans and the audit log; flush() returns once every change so far is on disk.

    Concurrent flushes share writes (group commit): a caller waits for the write in
    progress and, if its own change came after that write began, for the next one.
    """

    def __init__(
        self, write: Writer, *, clock: Callable[[], float] = time.time
    ) -> None:
        """Start empty; load() fills it from what was stored."""
        self._write = write
        self._clock = clock
        self.plans: dict[str, Plan] = {}
        self.audit: list[dict[str, Any]] = []
        self._version = 0
        self._written = 0
        self._writing: asyncio.Future[None] | None = None

    def load(self, data: dict[str, Any] | None) -> None:
        """Restore plans and the audit log."""
        if not data:
            return
        self.plans = {p["id"]: Plan.from_stored(p) for p in data.get("plans", [])}
        self.audit = list(data.get("audit", []))

    def stored(self) -> dict[str, Any]:
        """Return everything as JSON-able data."""
        return {
            "plans": [plan.as_stored() for plan in self.plans.values()],
            "audit": self.audit,
        }

    def changed(self) -> None:
        """Note a change made to a plan in place."""
        self._version += 1

    def add_plan(self, plan: Plan) -> None:
        """Keep a new plan, forgetting the oldest finished ones beyond a bound."""
        self.plans[plan.id] = plan
        finished = [p for p in self.plans.values() if p.state not in ACTIVE_PLAN_STATES]
        for old in sorted(finished, key=lambda p: p.created)[:-FINISHED_PLANS_KEPT]:
            del self.plans[old.id]
        self.changed()

    def record(
        self, event: str, plan: Plan, item: PlanItem | None = None, **detail: Any
    ) -> dict[str, Any]:
        """Append an audit entry (and count it as a change)."""
        entry: dict[str, Any] = {
            "at": self._clock(),
            "event": event,
            "plan_id": plan.id,
        }
        if item is not None:
            entry |= {"key": item.key, "title": item.title, "size": item.size}
        entry |= {name: value for name, value in detail.items() if value is not None}
        self.audit.append(entry)
        if len(self.audit) > AUDIT_LIMIT:
            del self.audit[: len(self.audit) - AUDIT_LIMIT]
        self.changed()
        return entry

    def active(self) -> Iterable[Plan]:
        """Plans that may still change something."""
        return (
            plan for plan in self.plans.values() if plan.state in ACTIVE_PLAN_STATES
        )

    async def flush(self) -> None:
        """Return once every change made before this call is written."""
        target = self._version
        while self._written < target:
            if self._writing is not None:
                await asyncio.shield(self._writing)
                continue
            future = self._writing = asyncio.get_running_loop().create_future()
            version = self._version
            try:
                await self._write(self.stored())
                self._written = version
            finally:
                self._writing = None
                future.set_result(None)
