"""Deletion plans: what will be removed, how, and where each item stands (no HA imports)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

GB = 1_000_000_000


class PlanState(StrEnum):
    """Where a plan stands as a whole."""

    PENDING = "pending"  # waiting for confirmation
    CONFIRMED = "confirmed"  # being quarantined, waiting for its grace period, purging
    HELD = "held"  # its purge is too large: waits for a confirmation naming the count
    DONE = "done"  # every item deleted, restored, kept, aborted or failed
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ItemState(StrEnum):
    """Where one item of a plan stands."""

    PLANNED = "planned"
    QUARANTINED = "quarantined"
    DELETED = "deleted"
    RESTORED = "restored"
    KEPT = "kept"
    FAILED = "failed"  # gave up after retries; files may remain, so never "deleted"
    ABORTED = "aborted"  # the service's item no longer matched the plan's


OPEN_ITEM_STATES = frozenset({ItemState.PLANNED, ItemState.QUARANTINED})
ACTIVE_PLAN_STATES = frozenset({PlanState.PENDING, PlanState.CONFIRMED, PlanState.HELD})


class Manager(StrEnum):
    """Who deletes an item's files."""

    RADARR = "radarr"
    SONARR = "sonarr"
    PLEX = "plex"


class Step(StrEnum):
    """One thing done to an item on one service."""

    COLLECT = "collect"  # into Plex's "Leaving soon" collection
    UNMONITOR = "unmonitor"  # in Radarr or Sonarr, so nothing re-grabs it
    DELETE = "delete"  # files, through the manager
    RESET_REQUEST = "reset_request"  # Overseerr, so it can be requested again
    REMOVE_EMPTY_SHOW = "remove_empty_show"  # Sonarr, once a partial purge left nothing
    UNCOLLECT = "uncollect"
    REMONITOR = "remonitor"


@dataclass(slots=True, kw_only=True)
class StepRecord:
    """What happened in one step: written before the call (started) and after."""

    state: str  # started, done, failed
    at: float
    attempts: int = 0
    error: str | None = None
    note: str | None = None


@dataclass(slots=True, kw_only=True)
class PlanItem:
    """One item of a plan: what it is, who manages it, and its progress."""

    key: int
    level: str
    title: str
    year: int | None
    size: int
    section_id: int
    keys: tuple[int, ...]
    tmdb_id: int | None
    tvdb_id: int | None
    show_key: int | None
    season: int | None
    episode: int | None
    manager: Manager
    arr_key: str | None  # which Radarr or Sonarr (its subentry id)
    arr_id: int | None
    why: str
    trace: list[dict[str, Any]]
    requested_by: list[str] = field(default_factory=list)
    state: ItemState = ItemState.PLANNED
    steps: dict[str, StepRecord] = field(default_factory=dict)
    attempts: int = 0
    next_attempt: float | None = None
    error: str | None = None
    purge_at: float | None = None
    was_monitored: bool | None = None
    warned: bool = False  # the heads-up before its purge went out
    remove_empty_show: bool = False  # a season or episode: drop the series once empty

    @property
    def files(self) -> int:
        """How many movie or episode files it covers."""
        return len(self.keys) - 1 if self.level in ("show", "season") else 1

    @property
    def media(self) -> str:
        """Overseerr's media type."""
        return "movie" if self.level == "movie" else "tv"

    def actions(self, *, overseerr: bool) -> list[str]:
        """Say, in order, what a purge will do to this item on each service."""
        what = {
            "movie": "movie",
            "show": "series",
            "season": f"season {self.season} files",
            "episode": f"episode S{self.season}E{self.episode} file",
        }[self.level]
        done = [
            "plex: add to the 'Leaving soon' collection",
            *(
                [f"{self.manager}: stop monitoring the {what}"]
                if self.manager != Manager.PLEX
                else []
            ),
            f"{self.manager}: delete the {what}"
            if self.manager != Manager.PLEX
            else "plex: delete the item and its files",
        ]
        if self.remove_empty_show and self.manager == Manager.SONARR:
            done.append("sonarr: delete the series if no file is left")
        if overseerr and self.level in ("movie", "show"):
            done.append("overseerr: reset the request so it can be asked for again")
        return done

    def as_stored(self) -> dict[str, Any]:
        """Return a JSON-able form."""
        # Shallow on purpose: the journal is written often and the trace never changes.
        data = {name: getattr(self, name) for name in _ITEM_FIELDS}
        data["keys"] = list(self.keys)
        data["steps"] = {
            name: {
                "state": step.state,
                "at": step.at,
                "attempts": step.attempts,
                "error": step.error,
                "note": step.note,
            }
            for name, step in self.steps.items()
        }
        return data

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild an item written by as_stored."""
        values = dict(data)
        values["keys"] = tuple(values["keys"])
        values["manager"] = Manager(values["manager"])
        values["state"] = ItemState(values["state"])
        values["steps"] = {
            name: StepRecord(**step) for name, step in values["steps"].items()
        }
        return cls(**values)


_ITEM_FIELDS = tuple(PlanItem.__dataclass_fields__)


@dataclass(slots=True, kw_only=True)
class Plan:
    """A set of items to delete together, confirmed (or not) as one."""

    id: str
    code: str
    created: float
    expires: float
    rule: str | None
    items: list[PlanItem]
    skipped: list[dict[str, Any]]
    needs_acknowledge: bool
    dry_run: bool = False
    state: PlanState = PlanState.PENDING
    confirmed_at: float | None = None
    finished_at: float | None = None
    hold_reason: str | None = None
    held_count: int | None = None  # what the second confirmation must name
    released: bool = False  # the blast-radius guard was confirmed past
    free_before: int | None = None  # free space when planned, if known

    @property
    def total_size(self) -> int:
        """Bytes the plan frees when every item goes."""
        return sum(item.size for item in self.items)

    @property
    def total_gb(self) -> float:
        """The total in GB, as shown to people and typed back to acknowledge it."""
        return round(self.total_size / GB, 1)

    def item(self, key: int) -> PlanItem | None:
        """Return the plan's item with that rating key."""
        return next((item for item in self.items if item.key == key), None)

    def open_items(self) -> list[PlanItem]:
        """Return the items not yet deleted, restored, kept, failed or aborted."""
        return [item for item in self.items if item.state in OPEN_ITEM_STATES]

    def summary(self, *, titles: int = 10) -> dict[str, Any]:
        """Describe the plan for an event, a notification or a voice answer."""
        counts: dict[str, int] = {}
        for item in self.items:
            counts[item.state] = counts.get(item.state, 0) + 1
        return {
            "plan_id": self.id,
            "code": self.code,
            "state": str(self.state),
            "rule": self.rule,
            "items": len(self.items),
            "total_size": self.total_size,
            "total_gb": self.total_gb,
            "needs_acknowledge": self.needs_acknowledge,
            "expires": self.expires,
            "titles": [item.title for item in self.items[:titles]],
            "item_states": counts,
            "skipped": len(self.skipped),
            "dry_run": self.dry_run,
            "free_before": self.free_before,
            "projected_free": None
            if self.free_before is None
            else self.free_before + self.total_size,
            "hold_reason": self.hold_reason,
            "held_count": self.held_count,
        }

    def as_stored(self) -> dict[str, Any]:
        """Return a JSON-able form."""
        data = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name != "items"
        }
        data["items"] = [item.as_stored() for item in self.items]
        return data

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a plan written by as_stored."""
        values = dict(data)
        values["items"] = [PlanItem.from_stored(item) for item in values["items"]]
        values["state"] = PlanState(values["state"])
        return cls(**values)
