"""Plans made real: build, confirm, quarantine, restore and purge, crash-safe (no HA).

Every destructive call is preceded by a journal write saying it started and followed by
one saying how it ended. Each step first re-reads the item on its service: an item that
is already gone counts as done (a crash between the call and the write is harmless), an
item whose ids no longer match the plan's is aborted, and a failed read is never taken
for an answer.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
import secrets
import time
from typing import Any

from custom_components.smartplex.api import (
    OverseerrClient,
    SmartPlexApiError,
    SmartPlexAuthError,
    SmartPlexRateLimitError,
)

from .journal import Journal
from .plan import (
    ACTIVE_PLAN_STATES,
    GB,
    ItemState,
    Manager,
    Plan,
    PlanItem,
    PlanState,
    Step,
    StepRecord,
)
from .rules import Candidate
from .steps import (
    SHOW_REMOVED,
    ItemAbortedError,
    Services,
    collection,
    delete,
    keep,
    media_index,
    remove_if_empty,
    reset_request,
    set_monitored,
    uncollect,
)

MAX_ATTEMPTS = 5
KEEP_LABEL = "keep"
AVAILABILITY_SYNC_JOB = "availability-sync"


class PlanError(Exception):
    """A plan action that cannot be done; the key names the reason for translation."""

    def __init__(self, key: str, **placeholders: str) -> None:
        """Keep the translation key and its placeholders."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders


@dataclass(slots=True, kw_only=True)
class Settings:
    """How plans behave, from the entry's options."""

    grace: float = 24 * 3600.0
    expiry: float = 24 * 3600.0
    acknowledge_above: int = 100 * GB
    import_exclusion: bool = False
    backoff: float = 60.0
    max_backoff: float = 6 * 3600.0
    blast_share: float = 0.2  # of a library's files or bytes
    blast_files: int = 200  # files in one plan's purge
    heads_up: float = 3 * 86_400.0
    concurrency: int = 32  # items in flight; their journal writes are shared
    per_service: int = 4  # calls in flight to one service


type Notify = Callable[[str, dict[str, Any]], None]
# Told which service refused a credential (and which Radarr or Sonarr, if known).
type Rejected = Callable[[SmartPlexAuthError, str | None], None]


@dataclass(slots=True)
class _Run:
    """What one purge run learned once and shares between items."""

    media_ids: dict[tuple[str, int], int] | None = None
    sections: set[int] = field(default_factory=set)
    deleted: list[PlanItem] = field(default_factory=list)


def _describe(err: Exception) -> str:
    """Describe a failure in a line (client errors carry no secret)."""
    return str(err) or type(err).__name__


class CleanupEngine:
    """Runs plans against the services, journalling every step."""

    def __init__(
        self,
        journal: Journal,
        services: Callable[[], Services],
        settings: Callable[[], Settings],
        notify: Notify,
        *,
        clock: Callable[[], float] = time.time,
        on_deleted: Callable[[list[PlanItem]], Awaitable[None]] | None = None,
        library_totals: Callable[[], Mapping[int, tuple[int, int]]] | None = None,
        on_rejected: Rejected | None = None,
    ) -> None:
        """Bind the engine to its journal, its services and its host's callbacks."""
        self.journal = journal
        self._services = services
        self._settings = settings
        self._notify = notify
        self._clock = clock
        self._on_deleted = on_deleted
        self._library_totals = library_totals
        self._on_rejected = on_rejected
        self._lock = asyncio.Lock()
        self._collection_lock = asyncio.Lock()
        self._gates: dict[str, asyncio.Semaphore] = {}

    # Plans ---------------------------------------------------------------------------

    async def async_request(
        self,
        candidates: Sequence[Candidate],
        refused: Iterable[tuple[int, str, str]],
        *,
        rule: str | None,
        dry_run: bool,
        requesters: Callable[[Candidate], list[str]] | None = None,
        free_space: int | None = None,
    ) -> Plan:
        """Build a plan; keep it and announce it unless it is a dry run or empty."""
        services = self._services()
        settings = self._settings()
        busy = self.busy()
        skipped = [
            {"key": key, "title": title, "reason": reason}
            for key, title, reason in refused
        ]
        wanted = []
        for candidate in candidates:
            if (other := busy.get(candidate.rating_key)) is not None:
                skipped.append(
                    {
                        "key": candidate.rating_key,
                        "title": candidate.title,
                        "reason": f"already in confirmed plan {other}",
                    }
                )
            else:
                wanted.append(candidate)
        resolved = await asyncio.gather(
            *(self._resolve(services, candidate) for candidate in wanted)
        )
        items: list[PlanItem] = []
        for candidate, (manager, arr_key, arr_id, problem) in zip(
            wanted, resolved, strict=True
        ):
            if problem is not None or manager is None:
                skipped.append(
                    {
                        "key": candidate.rating_key,
                        "title": candidate.title,
                        "reason": problem,
                    }
                )
                continue
            items.append(
                PlanItem(
                    key=candidate.rating_key,
                    level=candidate.level,
                    title=candidate.title,
                    year=candidate.year,
                    size=candidate.size,
                    section_id=candidate.section_id,
                    keys=candidate.keys,
                    tmdb_id=candidate.tmdb_id,
                    tvdb_id=candidate.tvdb_id,
                    show_key=candidate.show_key,
                    season=candidate.season,
                    episode=candidate.episode,
                    manager=manager,
                    arr_key=arr_key,
                    arr_id=arr_id,
                    why=candidate.why,
                    trace=[check.as_dict() for check in candidate.trace],
                    requested_by=requesters(candidate) if requesters else [],
                    remove_empty_show=candidate.remove_empty_show,
                )
            )
        now = self._clock()
        plan = Plan(
            id=secrets.token_hex(16),
            code=f"{secrets.randbelow(1000):03d}",
            created=now,
            expires=now + settings.expiry,
            rule=rule,
            items=items,
            skipped=skipped,
            needs_acknowledge=sum(i.size for i in items) > settings.acknowledge_above,
            dry_run=dry_run,
            free_before=free_space,
        )
        if dry_run or not items:
            return plan
        async with self._lock:
            if (same := self._same_pending(plan)) is not None:
                return same
            plan.code = self._free_code(plan.code)
            self.journal.add_plan(plan)
            self.journal.record(
                "plan_created",
                plan,
                items=len(items),
                total_size=plan.total_size,
                rule=rule,
            )
            await self.journal.flush()
        self._notify("deletion_requested", plan.summary())
        return plan

    def busy(self) -> dict[int, str]:
        """Map the items of confirmed plans still to be deleted to their plan's id."""
        return {
            item.key: plan.id
            for plan in self.journal.active()
            if plan.state != PlanState.PENDING
            for item in plan.open_items()
        }

    def _same_pending(self, plan: Plan) -> Plan | None:
        """Return a pending plan with the same items and rule (requests are idempotent)."""
        keys = sorted(item.key for item in plan.items)
        for other in self.journal.plans.values():
            if (
                other.state == PlanState.PENDING
                and other.rule == plan.rule
                and sorted(item.key for item in other.items) == keys
                and other.expires > self._clock()
            ):
                return other
        return None

    def _free_code(self, code: str) -> str:
        """Return a spoken code no other pending plan uses."""
        used = {
            p.code for p in self.journal.plans.values() if p.state == PlanState.PENDING
        }
        while code in used:
            code = f"{secrets.randbelow(1000):03d}"
        return code

    async def _resolve(
        self, services: Services, candidate: Candidate
    ) -> tuple[Manager | None, str | None, int | None, str | None]:
        """Find who manages an item's files; a failed lookup makes it unknown.

        Every configured Radarr (movies) or Sonarr (shows) is asked; Plex deletes only
        what all of them answered they do not manage.
        """
        movie = candidate.level == "movie"
        name = Manager.RADARR if movie else Manager.SONARR
        instances = services.radarr if movie else services.sonarr
        ext_id = candidate.tmdb_id if movie else candidate.tvdb_id
        found: list[tuple[str, int]] = []
        for key, arr in instances.items():
            if services.disabled(key):
                return None, None, None, f"{name} is disabled after repeated failures"
            if ext_id is None:
                id_name = "tmdb" if movie else "tvdb"
                return None, None, None, f"no {id_name} id to match {name} by"
            try:
                if movie:
                    film = await arr.async_get_movie_by_tmdb(ext_id)
                    arr_id = None if film is None else film.id
                else:
                    series = await arr.async_get_series_by_tvdb(ext_id)
                    arr_id = None if series is None else series.id
                    if (
                        series is not None
                        and candidate.season is not None
                        and candidate.season not in series.seasons
                    ):
                        return (
                            None,
                            None,
                            None,
                            f"{name} has no season {candidate.season}",
                        )
            except SmartPlexApiError as err:
                self._rejected(err, key)
                return None, None, None, f"{name} lookup failed: {_describe(err)}"
            if arr_id is not None:
                found.append((key, arr_id))
        if len(found) > 1:
            return None, None, None, f"several {name} instances manage it"
        if found:
            return name, found[0][0], found[0][1], None
        if not services.plex_deletion_allowed:
            return (
                None,
                None,
                None,
                "no Radarr or Sonarr manages it and Plex does not allow media deletion",
            )
        return Manager.PLEX, None, None, None

    def find(self, plan_id: str) -> Plan:
        """Return a kept plan or raise."""
        if (plan := self.journal.plans.get(plan_id)) is None:
            raise PlanError("unknown_plan", plan_id=plan_id)
        return plan

    def find_pending_by_code(self, code: str) -> Plan | None:
        """Return the pending plan with this spoken code."""
        now = self._clock()
        return next(
            (
                plan
                for plan in self.journal.plans.values()
                if plan.state == PlanState.PENDING
                and plan.code == code
                and plan.expires > now
            ),
            None,
        )

    async def async_confirm(
        self,
        plan_id: str,
        acknowledge_total_gb: float | None = None,
        acknowledge_count: int | None = None,
    ) -> Plan:
        """Confirm a pending plan, or release a held one; again changes nothing."""
        async with self._lock:
            plan = self.find(plan_id)
            self._expire(plan)
            if plan.state == PlanState.HELD:
                return await self._release(plan, acknowledge_count)
            if plan.state in (PlanState.CONFIRMED, PlanState.DONE):
                return plan
            if plan.state != PlanState.PENDING:
                raise PlanError(
                    "plan_not_pending", plan_id=plan_id, state=str(plan.state)
                )
            if plan.needs_acknowledge and (
                acknowledge_total_gb is None
                or abs(acknowledge_total_gb - plan.total_gb) > 0.05
            ):
                raise PlanError(
                    "acknowledge_required",
                    total_gb=f"{plan.total_gb:g}",
                    plan_id=plan_id,
                )
            plan.state = PlanState.CONFIRMED
            plan.confirmed_at = self._clock()
            self.journal.record("plan_confirmed", plan, total_size=plan.total_size)
            await self.journal.flush()
        self._notify("deletion_confirmed", plan.summary())
        return plan

    async def _release(self, plan: Plan, count: int | None) -> Plan:
        """Let a held plan purge once the confirmation names how many files go."""
        if count != plan.held_count:
            raise PlanError(
                "plan_held",
                plan_id=plan.id,
                count=str(plan.held_count),
                reason=plan.hold_reason or "",
            )
        plan.state = PlanState.CONFIRMED
        plan.released = True
        self.journal.record("plan_released", plan, count=count)
        await self.journal.flush()
        return plan

    async def async_cancel(self, plan_id: str) -> Plan:
        """Cancel a pending plan (a confirmed one is undone with restore)."""
        async with self._lock:
            plan = self.find(plan_id)
            self._expire(plan)
            if plan.state == PlanState.CANCELLED:
                return plan
            if plan.state != PlanState.PENDING:
                raise PlanError(
                    "plan_not_pending", plan_id=plan_id, state=str(plan.state)
                )
            plan.state = PlanState.CANCELLED
            plan.finished_at = self._clock()
            self.journal.record("plan_cancelled", plan)
            await self.journal.flush()
        return plan

    def _expire(self, plan: Plan) -> bool:
        """Expire a pending plan past its time; return whether it did."""
        if plan.state == PlanState.PENDING and plan.expires <= self._clock():
            plan.state = PlanState.EXPIRED
            plan.finished_at = self._clock()
            self.journal.record("plan_expired", plan)
            return True
        return False

    async def async_postpone(
        self, plan_id: str, days: float, keys: Iterable[int] | None = None
    ) -> Plan:
        """Move the purge of a confirmed plan's items (or some of them) by days."""
        async with self._lock:
            plan = self.find(plan_id)
            self._expire(plan)
            if plan.state not in ACTIVE_PLAN_STATES:
                raise PlanError("plan_not_open", plan_id=plan_id, state=str(plan.state))
            for item in self._chosen(plan, keys):
                base = item.purge_at or (self._clock() + self._settings().grace)
                item.purge_at = base + days * 86_400
                self.journal.record("item_postponed", plan, item, days=days)
            await self.journal.flush()
        return plan

    def _chosen(self, plan: Plan, keys: Iterable[int] | None) -> list[PlanItem]:
        """Return the plan's open items, or those named (all of which must be open)."""
        if keys is None:
            return plan.open_items()
        chosen = []
        for key in keys:
            item = plan.item(key)
            if item is None or item.state not in (
                ItemState.PLANNED,
                ItemState.QUARANTINED,
            ):
                raise PlanError("item_not_open", plan_id=plan.id, rating_key=str(key))
            chosen.append(item)
        return chosen

    # Running -------------------------------------------------------------------------

    def next_due(self) -> float | None:
        """Return when something next needs doing: expiry, quarantine, purge or retry."""
        times: list[float] = []
        heads_up = self._settings().heads_up
        for plan in self.journal.active():
            if plan.state == PlanState.PENDING:
                times.append(plan.expires)
                continue
            for item in plan.open_items():
                due = item.next_attempt or 0.0
                if item.state == ItemState.QUARANTINED and item.purge_at is not None:
                    if not item.warned:
                        times.append(item.purge_at - heads_up)
                    if plan.state == PlanState.HELD:
                        continue
                    due = max(due, item.purge_at)
                times.append(due)
        return min(times, default=None)

    async def async_run_due(self) -> None:
        """Do everything that is due now; safe to call at any time, even twice."""
        async with self._lock:
            now = self._clock()
            run = _Run()
            work: list[tuple[Plan, PlanItem]] = []
            for plan in list(self.journal.active()):
                if self._expire(plan) or plan.state == PlanState.PENDING:
                    continue
                self._warn(plan, now)
                if plan.state == PlanState.CONFIRMED and not plan.released:
                    self._guard(plan, now)
                for item in plan.open_items():
                    if item.next_attempt is not None and item.next_attempt > now:
                        continue
                    if item.state == ItemState.QUARANTINED and (
                        plan.state == PlanState.HELD
                        or item.purge_at is None
                        or item.purge_at > now
                    ):
                        continue
                    work.append((plan, item))
            await self.journal.flush()
            if work:
                gate = asyncio.Semaphore(self._settings().concurrency)

                async def one(plan: Plan, item: PlanItem) -> None:
                    async with gate:
                        await self._advance(run, plan, item)

                await asyncio.gather(*(one(plan, item) for plan, item in work))
            await self._finish(run)

    def _warn(self, plan: Plan, now: float) -> None:
        """Announce each item's purge a few days ahead, with who asked for it."""
        heads_up = self._settings().heads_up
        for item in plan.open_items():
            if (
                item.state == ItemState.QUARANTINED
                and not item.warned
                and item.purge_at is not None
                and item.purge_at - heads_up <= now
            ):
                item.warned = True
                self.journal.record("item_upcoming", plan, item, purge_at=item.purge_at)
                self._notify(
                    "deletion_upcoming",
                    self._item_event(plan, item)
                    | {"purge_at": item.purge_at, "requested_by": item.requested_by},
                )

    def _guard(self, plan: Plan, now: float) -> None:
        """Hold a plan whose purge would take too much of a library at once."""
        grace = self._settings().grace
        due = [
            item
            for item in plan.open_items()
            if (item.purge_at if item.purge_at is not None else now + grace) <= now
        ]
        if not due or (reason := self._blast(plan)) is None:
            return
        plan.state = PlanState.HELD
        plan.hold_reason = reason
        plan.held_count = sum(item.files for item in plan.open_items())
        self.journal.record("plan_held", plan, reason=reason, count=plan.held_count)
        self._notify("deletion_held", plan.summary())

    def _blast(self, plan: Plan) -> str | None:
        """Say why a plan's purge is too large, or None."""
        settings = self._settings()
        items = plan.open_items()
        files = sum(item.files for item in items)
        if files > settings.blast_files:
            return f"{files} files in one purge (limit {settings.blast_files})"
        if self._library_totals is None:
            return None
        totals = self._library_totals()
        by_section: dict[int, list[int]] = {}
        for item in items:
            counted = by_section.setdefault(item.section_id, [0, 0])
            counted[0] += item.files
            counted[1] += item.size
        for section, (count, size) in sorted(by_section.items()):
            total_files, total_size = totals.get(section, (0, 0))
            for part, whole, what in (
                (count, total_files, "files"),
                (size, total_size, "bytes"),
            ):
                if part > settings.blast_share * whole:
                    share = 100 * part / whole if whole else 100.0
                    return (
                        f"{share:.0f} % of the {what} of library {section} "
                        f"(limit {100 * settings.blast_share:.0f} %)"
                    )
        return None

    async def _advance(self, run: _Run, plan: Plan, item: PlanItem) -> None:
        """Quarantine or purge one item; a failure schedules a retry with backoff."""
        services = self._services()
        if (waiting := self._waiting_for(services, item)) is not None:
            item.next_attempt = self._clock() + self._settings().backoff
            self.journal.record("item_waiting", plan, item, service=waiting)
            return
        try:
            if item.state == ItemState.PLANNED:
                await self._quarantine(services, plan, item)
            if (
                plan.state == PlanState.CONFIRMED
                and item.purge_at is not None
                and item.purge_at <= self._clock()
            ):
                await self._purge(services, run, plan, item)
        except ItemAbortedError as err:
            item.state = ItemState.ABORTED
            item.error = str(err)
            self.journal.record("item_aborted", plan, item, error=item.error)
            self._maybe_done(plan)
            await self.journal.flush()
            self._notify(
                "deletion_failed",
                self._item_event(plan, item) | {"error": item.error, "final": True},
            )
        except SmartPlexApiError as err:
            self._rejected(err, item.arr_key)
            await self._failed(plan, item, err)

    def _rejected(self, err: SmartPlexApiError, arr_key: str | None) -> None:
        """Tell the host when a service refused its credential, so it asks again."""
        if isinstance(err, SmartPlexAuthError) and self._on_rejected is not None:
            self._on_rejected(err, arr_key)

    def _waiting_for(self, services: Services, item: PlanItem) -> str | None:
        """Name a service this item needs that is disabled or gone, else None."""
        for key in ("plex", item.arr_key):
            if key is not None and services.disabled(key):
                return key
        return None

    async def _failed(self, plan: Plan, item: PlanItem, err: SmartPlexApiError) -> None:
        """Count a failed attempt; give up after the last one."""
        settings = self._settings()
        item.attempts += 1
        item.error = _describe(err)
        final = item.attempts >= MAX_ATTEMPTS
        if final:
            item.state = ItemState.FAILED
            item.next_attempt = None
        else:
            delay = min(
                settings.backoff * 2 ** (item.attempts - 1), settings.max_backoff
            )
            if isinstance(err, SmartPlexRateLimitError) and err.retry_after:
                delay = max(delay, err.retry_after)
            item.next_attempt = self._clock() + delay
        self.journal.record(
            "item_failed" if final else "item_retry",
            plan,
            item,
            error=item.error,
            attempts=item.attempts,
            next_attempt=item.next_attempt,
        )
        if final:
            self._maybe_done(plan)
        await self.journal.flush()
        self._notify(
            "deletion_failed",
            self._item_event(plan, item)
            | {"error": item.error, "attempts": item.attempts, "final": final},
        )

    def _item_event(self, plan: Plan, item: PlanItem) -> dict[str, Any]:
        """Describe an item for an event."""
        return {
            "plan_id": plan.id,
            "rating_key": item.key,
            "title": item.title,
            "level": item.level,
            "size": item.size,
            "manager": str(item.manager),
        }

    async def _step(
        self,
        plan: Plan,
        item: PlanItem,
        step: Step,
        action: Callable[[], Awaitable[str | None]],
    ) -> None:
        """Run one step once: journal it as started, do it, journal how it ended."""
        record = item.steps.get(step)
        if record is not None and record.state == "done":
            return
        attempts = (record.attempts if record else 0) + 1
        item.steps[str(step)] = StepRecord(
            state="started", at=self._clock(), attempts=attempts
        )
        self.journal.changed()
        await self.journal.flush()
        try:
            async with self._gate(_service_of(item, step)):
                note = await action()
        except SmartPlexApiError as err:
            item.steps[str(step)] = StepRecord(
                state="failed",
                at=self._clock(),
                attempts=attempts,
                error=_describe(err),
            )
            self.journal.record(
                "step_failed", plan, item, step=str(step), error=_describe(err)
            )
            raise
        item.steps[str(step)] = StepRecord(
            state="done", at=self._clock(), attempts=attempts, note=note
        )
        self.journal.changed()
        await self.journal.flush()

    def _gate(self, service: str) -> asyncio.Semaphore:
        """Bound the calls in flight to one service."""
        if (gate := self._gates.get(service)) is None:
            gate = self._gates[service] = asyncio.Semaphore(
                self._settings().per_service
            )
        return gate

    # Quarantine ----------------------------------------------------------------------

    async def _quarantine(self, services: Services, plan: Plan, item: PlanItem) -> None:
        """Put an item in "Leaving soon" and stop its manager from re-grabbing it."""

        async def collect() -> str | None:
            async with self._collection_lock:  # one "Leaving soon" per section
                key = await collection(services.plex, item)
            await services.plex.async_add_to_collection(key, [item.key])
            return f"collection {key}"

        await self._step(plan, item, Step.COLLECT, collect)
        if item.manager != Manager.PLEX:
            await self._step(
                plan, item, Step.UNMONITOR, lambda: set_monitored(services, item, False)
            )
        item.state = ItemState.QUARANTINED
        item.attempts = 0
        item.next_attempt = None
        item.error = None
        if item.purge_at is None:
            item.purge_at = self._clock() + self._settings().grace
        self.journal.record("item_quarantined", plan, item, purge_at=item.purge_at)
        await self.journal.flush()

    # Restore -------------------------------------------------------------------------

    async def async_restore(
        self, plan_id: str, keys: Iterable[int] | None = None
    ) -> Plan:
        """Take items back out of quarantine: out of the collection, monitored again."""
        async with self._lock:
            plan = self.find(plan_id)
            if plan.state not in (PlanState.CONFIRMED, PlanState.HELD):
                raise PlanError(
                    "plan_not_confirmed", plan_id=plan_id, state=str(plan.state)
                )
            services = self._services()
            for item in self._chosen(plan, keys):
                if item.state == ItemState.QUARANTINED or Step.COLLECT in item.steps:
                    await self._unquarantine(services, plan, item)
                item.state = ItemState.RESTORED
                item.next_attempt = None
                self.journal.record("item_restored", plan, item)
            self._maybe_done(plan)
            await self.journal.flush()
        return plan

    async def async_keep(
        self, plan_id: str, keys: Iterable[int] | None = None, label: str = KEEP_LABEL
    ) -> Plan:
        """Take items out of a plan for good: restored, and labelled to keep in Plex.

        Seasons and episodes are kept by labelling their show, which every rule with
        the default exclusions then leaves alone.
        """
        async with self._lock:
            plan = self.find(plan_id)
            self._expire(plan)
            if plan.state not in ACTIVE_PLAN_STATES:
                raise PlanError("plan_not_open", plan_id=plan_id, state=str(plan.state))
            services = self._services()
            for item in self._chosen(plan, keys):
                if Step.COLLECT in item.steps:
                    await self._unquarantine(services, plan, item)
                try:
                    await keep(services.plex, item, label)
                except SmartPlexApiError as err:
                    raise PlanError(
                        "keep_failed",
                        plan_id=plan.id,
                        title=item.title,
                        error=_describe(err),
                    ) from err
                item.state = ItemState.KEPT
                item.next_attempt = None
                self.journal.record("item_kept", plan, item, label=label)
            self._maybe_done(plan)
            await self.journal.flush()
        return plan

    async def _unquarantine(
        self, services: Services, plan: Plan, item: PlanItem
    ) -> None:
        """Undo the quarantine steps that ran.

        Monitoring comes back first, so an item a failure leaves half restored is still
        shown as leaving soon; the next run quarantines it again (what was undone too).
        """
        try:
            if Step.UNMONITOR in item.steps:
                await self._step(
                    plan,
                    item,
                    Step.REMONITOR,
                    lambda: set_monitored(services, item, True),
                )
            await self._step(
                plan, item, Step.UNCOLLECT, lambda: uncollect(services.plex, item)
            )
        except SmartPlexApiError as err:
            remonitored = item.steps.get(Step.REMONITOR)
            undone = [Step.COLLECT, Step.UNCOLLECT, Step.REMONITOR]
            if remonitored is not None and remonitored.state == "done":
                undone.append(Step.UNMONITOR)
            for step in undone:
                item.steps.pop(step, None)
            item.state = ItemState.PLANNED
            self.journal.changed()
            await self.journal.flush()
            raise PlanError(
                "restore_failed",
                plan_id=plan.id,
                title=item.title,
                error=_describe(err),
            ) from err

    # Purge ---------------------------------------------------------------------------

    async def _purge(
        self, services: Services, run: _Run, plan: Plan, item: PlanItem
    ) -> None:
        """Delete an item's files through its manager, reset its request, clean up."""
        await self._step(
            plan,
            item,
            Step.DELETE,
            lambda: delete(services, item, exclusion=self._settings().import_exclusion),
        )
        whole = item.level in ("movie", "show")
        if item.remove_empty_show and item.manager == Manager.SONARR and not whole:
            await self._step(
                plan,
                item,
                Step.REMOVE_EMPTY_SHOW,
                lambda: remove_if_empty(
                    services.arr(item),
                    item,
                    exclusion=self._settings().import_exclusion,
                ),
            )
            record = item.steps[Step.REMOVE_EMPTY_SHOW]
            whole = record.note == SHOW_REMOVED
        if services.overseerr is not None and whole:
            overseerr = services.overseerr
            await self._step(
                plan,
                item,
                Step.RESET_REQUEST,
                lambda: self._reset_request(overseerr, run, item),
            )
        await self._step(
            plan, item, Step.UNCOLLECT, lambda: uncollect(services.plex, item)
        )
        item.state = ItemState.DELETED
        item.error = None
        item.next_attempt = None
        run.sections.add(item.section_id)
        run.deleted.append(item)
        self.journal.record(
            "item_deleted",
            plan,
            item,
            steps={name: step.note for name, step in item.steps.items()},
            trace=item.trace,
        )
        await self.journal.flush()
        self._notify("item_deleted", self._item_event(plan, item))
        self._maybe_done(plan)

    async def _reset_request(
        self, overseerr: OverseerrClient, run: _Run, item: PlanItem
    ) -> str | None:
        """Reset the item's Overseerr request, listing the requests once per run."""
        if run.media_ids is None:
            run.media_ids = await media_index(overseerr)
        return await reset_request(overseerr, run.media_ids, item)

    def _maybe_done(self, plan: Plan) -> None:
        """Close a plan whose items are all settled, announcing what it freed."""
        if plan.state not in (PlanState.CONFIRMED, PlanState.HELD) or plan.open_items():
            return
        plan.state = PlanState.DONE
        plan.finished_at = self._clock()
        deleted = [i for i in plan.items if i.state == ItemState.DELETED]
        reclaimed = sum(i.size for i in deleted)
        self.journal.record(
            "plan_done", plan, deleted=len(deleted), reclaimed=reclaimed
        )
        if deleted:
            self._notify(
                "deletion_completed",
                plan.summary() | {"deleted": len(deleted), "reclaimed_size": reclaimed},
            )

    async def _finish(self, run: _Run) -> None:
        """After a run: rescan touched sections, let Overseerr catch up, tell the host."""
        if not run.deleted:
            return
        services = self._services()
        # Best effort: otherwise Plex and Overseerr notice on their own schedules.
        for section in sorted(run.sections):
            with suppress(SmartPlexApiError):
                await services.plex.async_refresh_section(section)
        if services.overseerr is not None:
            with suppress(SmartPlexApiError):
                await services.overseerr.async_run_job(AVAILABILITY_SYNC_JOB)
        await self.journal.flush()
        if self._on_deleted is not None:
            await self._on_deleted(run.deleted)


def _service_of(item: PlanItem, step: Step) -> str:
    """Name the service a step calls."""
    if step in (Step.COLLECT, Step.UNCOLLECT) or item.manager == Manager.PLEX:
        return "plex" if step != Step.RESET_REQUEST else "overseerr"
    if step == Step.RESET_REQUEST:
        return "overseerr"
    return item.arr_key or str(item.manager)
