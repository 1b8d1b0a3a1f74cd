"""What the kept plans will do and when: for sensors and the calendar (no HA imports)."""

from collections.abc import Iterable
from dataclasses import dataclass

from .plan import ItemState, Plan, PlanState

TITLES = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledPurge:
    """Items of one plan that are due for deletion at the same time."""

    plan_id: str
    code: str
    at: float
    items: int
    size: int
    titles: tuple[str, ...]
    held: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    """Plans waiting for a person, items in quarantine, purges to come."""

    pending: int
    held: int
    quarantined: int
    quarantined_size: int
    quarantined_titles: tuple[str, ...]
    purges: tuple[ScheduledPurge, ...]

    @property
    def next(self) -> ScheduledPurge | None:
        """The next purge that will run without anyone's say (held ones wait)."""
        return next((purge for purge in self.purges if not purge.held), None)


def schedule(plans: Iterable[Plan]) -> Schedule:
    """Summarise plans: a purge per plan and minute of the items quarantined."""
    pending = held = 0
    quarantined = []
    groups: dict[tuple[str, int], list[tuple[Plan, str, int]]] = {}
    for plan in plans:
        if plan.state == PlanState.PENDING:
            pending += 1
            continue
        if plan.state not in (PlanState.CONFIRMED, PlanState.HELD):
            continue
        held += plan.state == PlanState.HELD
        for item in plan.items:
            if item.state != ItemState.QUARANTINED or item.purge_at is None:
                continue
            quarantined.append(item)
            minute = int(item.purge_at // 60)
            groups.setdefault((plan.id, minute), []).append(
                (plan, item.title, item.size)
            )
    purges = []
    for (_plan_id, minute), members in groups.items():
        plan = members[0][0]
        purges.append(
            ScheduledPurge(
                plan_id=plan.id,
                code=plan.code,
                at=minute * 60.0,
                items=len(members),
                size=sum(size for _, _, size in members),
                titles=tuple(title for _, title, _ in members[:TITLES]),
                held=plan.state == PlanState.HELD,
            )
        )
    purges.sort(key=lambda purge: (purge.at, purge.plan_id))
    return Schedule(
        pending=pending,
        held=held,
        quarantined=len(quarantined),
        quarantined_size=sum(item.size for item in quarantined),
        quarantined_titles=tuple(item.title for item in quarantined[:TITLES]),
        purges=tuple(purges),
    )
