"""SmartPlex's record of Overseerr requests, fed by webhooks and polls (no HA imports)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
import re
from typing import Any

from .api.overseerr import OverseerrRequest

STORE_FORMAT = 1


class RequestState(StrEnum):
    """Where a request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"
    AVAILABLE = "available"
    COMPLETED = "completed"


class WebhookKind(StrEnum):
    """What a webhook notification turned out to be."""

    RECORDED = "recorded"
    TEST = "test"
    IGNORED_UNKNOWN = "ignored_unknown"
    INVALID = "invalid"


NOTIFICATION_STATES = {
    "MEDIA_PENDING": RequestState.PENDING,
    "MEDIA_AUTO_REQUESTED": RequestState.PENDING,
    "MEDIA_APPROVED": RequestState.APPROVED,
    "MEDIA_AUTO_APPROVED": RequestState.APPROVED,
    "MEDIA_DECLINED": RequestState.DECLINED,
    "MEDIA_AVAILABLE": RequestState.AVAILABLE,
    "MEDIA_FAILED": RequestState.FAILED,
}
TEST_NOTIFICATION = "TEST_NOTIFICATION"
# What Overseerr's type names look like; others are not counted (nor kept in memory).
NOTIFICATION_TYPE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Overseerr request status: 1 pending, 2 approved, 3 declined, 4 failed, 5 completed.
STATUS_STATES = {
    1: RequestState.PENDING,
    2: RequestState.APPROVED,
    3: RequestState.DECLINED,
    4: RequestState.FAILED,
    5: RequestState.COMPLETED,
}
MEDIA_AVAILABLE = 5
# Overseerr is JavaScript: no id of its can exceed 2**53 - 1 (and the store's JSON
# takes no integer beyond 64 bits).
MAX_WEBHOOK_ID = 2**53 - 1


@dataclass(slots=True, kw_only=True)
class RequestRecord:
    """One request as SmartPlex knows it, with when it reached each state."""

    request_id: int
    media_type: str
    tmdb_id: int | None
    tvdb_id: int | None
    title: str | None
    requested_by: str
    status: RequestState
    transitions: dict[RequestState, float]
    created_at: float
    updated_at: float

    def move_to(self, state: RequestState, when: float) -> bool:
        """Enter a state (first entry time kept); return whether the state changed."""
        if state == self.status:
            return False
        self.status = state
        self.transitions.setdefault(state, when)
        self.updated_at = max(self.updated_at, when)
        return True

    def copy(self) -> RequestRecord:
        """Return a copy that later changes of this one leave alone.

        Built directly: dataclasses.replace takes three times as long, which a
        snapshot of thousands of requests, in the event loop, notices.
        """
        return RequestRecord(
            request_id=self.request_id,
            media_type=self.media_type,
            tmdb_id=self.tmdb_id,
            tvdb_id=self.tvdb_id,
            title=self.title,
            requested_by=self.requested_by,
            status=self.status,
            transitions=dict(self.transitions),
            created_at=self.created_at,
            updated_at=self.updated_at,
        )

    def as_stored(self) -> dict[str, Any]:
        """Return a JSON-able form."""
        return {
            "request_id": self.request_id,
            "media_type": self.media_type,
            "tmdb_id": self.tmdb_id,
            "tvdb_id": self.tvdb_id,
            "title": self.title,
            "requested_by": self.requested_by,
            "status": self.status.value,
            "transitions": {
                state.value: when for state, when in self.transitions.items()
            },
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> RequestRecord:
        """Rebuild a record from its JSON-able form."""
        return cls(
            request_id=stored["request_id"],
            media_type=stored["media_type"],
            tmdb_id=stored["tmdb_id"],
            tvdb_id=stored["tvdb_id"],
            title=stored["title"],
            requested_by=stored["requested_by"],
            status=RequestState(stored["status"]),
            transitions={
                RequestState(state): when
                for state, when in stored["transitions"].items()
            },
            created_at=stored["created_at"],
            updated_at=stored["updated_at"],
        )


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What applying one webhook did: its kind, the record touched and why."""

    kind: WebhookKind
    record: RequestRecord | None = None
    reason: str = ""
    changed: bool = False


def _webhook_id(value: Any) -> int | None:
    """Read a webhook id: a positive integer, or a string of digits."""
    if isinstance(value, str) and value.isdecimal() and len(value) < 20:
        value = int(value)
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and 0 < value <= MAX_WEBHOOK_ID
    ):
        return value
    return None


def _webhook_text(section: Mapping[str, Any], key: str) -> str | None:
    """Read a non-empty string field of a webhook section."""
    value = section.get(key)
    return value if isinstance(value, str) and value else None


def polled_state(request: OverseerrRequest) -> RequestState | None:
    """Return the state a polled request is in; None for a status we do not know."""
    state = STATUS_STATES.get(request.status)
    if (
        state in (RequestState.APPROVED, RequestState.COMPLETED)
        and request.media_status == MEDIA_AVAILABLE
    ):
        return RequestState.AVAILABLE
    return state


@dataclass
class RequestStore:
    """Every known request by id, and counts of notifications we ignored by type."""

    records: dict[int, RequestRecord] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)

    def apply_webhook(self, payload: Any, now: float) -> WebhookResult:
        """Record what an Overseerr webhook notification (its decoded body) says."""
        if not isinstance(payload, Mapping):
            return WebhookResult(WebhookKind.INVALID, reason="payload is not an object")
        notification = payload.get("notification_type")
        if not isinstance(notification, str) or not NOTIFICATION_TYPE.fullmatch(
            notification
        ):
            return WebhookResult(WebhookKind.INVALID, reason="no notification_type")
        if notification == TEST_NOTIFICATION:
            return WebhookResult(WebhookKind.TEST)
        if (state := NOTIFICATION_STATES.get(notification)) is None:
            self.ignored[notification] = self.ignored.get(notification, 0) + 1
            return WebhookResult(
                WebhookKind.IGNORED_UNKNOWN, reason=f"{notification} is not tracked"
            )
        request = payload.get("request")
        if not isinstance(request, Mapping):
            return WebhookResult(WebhookKind.INVALID, reason="no request section")
        if (request_id := _webhook_id(request.get("request_id"))) is None:
            return WebhookResult(WebhookKind.INVALID, reason="no numeric request_id")
        media = payload.get("media")
        if not isinstance(media, Mapping):
            media = {}
        title = _webhook_text(payload, "subject")
        requested_by = _webhook_text(request, "requestedBy_username")
        tmdb_id = _webhook_id(media.get("tmdbId"))
        tvdb_id = _webhook_id(media.get("tvdbId"))
        media_type = _webhook_text(media, "media_type")
        if (record := self.records.get(request_id)) is None:
            record = RequestRecord(
                request_id=request_id,
                media_type=media_type or "",
                tmdb_id=tmdb_id,
                tvdb_id=tvdb_id,
                title=title,
                requested_by=requested_by or "",
                status=state,
                transitions={state: now},
                created_at=now,
                updated_at=now,
            )
            self.records[request_id] = record
            return WebhookResult(WebhookKind.RECORDED, record, changed=True)
        before = record.as_stored()
        record.media_type = media_type or record.media_type
        record.tmdb_id = tmdb_id or record.tmdb_id
        record.tvdb_id = tvdb_id or record.tvdb_id
        record.title = title or record.title
        record.requested_by = requested_by or record.requested_by
        record.move_to(state, now)
        return WebhookResult(
            WebhookKind.RECORDED, record, changed=record.as_stored() != before
        )

    def reconcile(
        self, requests: Iterable[OverseerrRequest], now: float, *, prune: bool = False
    ) -> int:
        """Take polled requests as the truth; return how many records changed."""
        changed = 0
        seen: set[int] = set()
        for request in requests:
            seen.add(request.request_id)
            if (state := polled_state(request)) is None:
                continue
            changed += self._reconcile_one(request, state, now)
        if prune:
            # A complete listing: requests it lacks were cancelled or went with
            # their media.
            gone = [request_id for request_id in self.records if request_id not in seen]
            for request_id in gone:
                del self.records[request_id]
            changed += len(gone)
        return changed

    def _reconcile_one(
        self, request: OverseerrRequest, state: RequestState, now: float
    ) -> bool:
        """Bring one record in line with a polled request; return whether it changed."""
        updated = request.updated_at
        if (record := self.records.get(request.request_id)) is None:
            created = request.created_at if request.created_at is not None else now
            when = updated if updated is not None else created
            self.records[request.request_id] = RequestRecord(
                request_id=request.request_id,
                media_type=request.media_type,
                tmdb_id=request.tmdb_id,
                tvdb_id=request.tvdb_id,
                title=None,
                requested_by=request.requested_by,
                status=state,
                transitions={state: when},
                created_at=created,
                updated_at=when,
            )
            return True
        before = record.as_stored()
        record.media_type = request.media_type or record.media_type
        record.tmdb_id = request.tmdb_id or record.tmdb_id
        record.tvdb_id = request.tvdb_id or record.tvdb_id
        record.requested_by = request.requested_by or record.requested_by
        if request.created_at is not None:
            record.created_at = request.created_at
        # The change happened at the polled updatedAt when that is news to us;
        # otherwise (media turning available leaves it alone) when we noticed.
        newer = updated is not None and updated > record.updated_at
        record.move_to(state, updated if newer and updated is not None else now)
        if newer and updated is not None:
            record.updated_at = updated
        return record.as_stored() != before

    def snapshot(self) -> RequestStore:
        """Return a copy that later webhooks do not change."""
        return RequestStore(
            records={key: record.copy() for key, record in self.records.items()},
            ignored=dict(self.ignored),
        )

    def counts_by_state(self) -> dict[str, int]:
        """Count records per state, every state present."""
        counts = dict.fromkeys(RequestState, 0)
        for record in self.records.values():
            counts[record.status] += 1
        return {state.value: count for state, count in counts.items()}

    def latest(self) -> RequestRecord | None:
        """Return the most recently created request."""
        return max(self.records.values(), key=_newest_first, default=None)

    def average_time_to_available(self) -> float | None:
        """Return the mean seconds from creation to availability, over those that got there."""
        waits = [
            available - record.created_at
            for record in self.records.values()
            if (available := record.transitions.get(RequestState.AVAILABLE)) is not None
            and available >= record.created_at
        ]
        return sum(waits) / len(waits) if waits else None

    def query(
        self, *, state: str | None = None, user: str | None = None, limit: int = 10
    ) -> list[RequestRecord]:
        """Return up to `limit` records, newest first, in a state and by a user."""
        wanted_user = user.casefold() if user else None
        matches = [
            record
            for record in self.records.values()
            if (state is None or record.status == state)
            and (wanted_user is None or record.requested_by.casefold() == wanted_user)
        ]
        matches.sort(key=_newest_first, reverse=True)
        return matches[: max(limit, 0)]

    def as_stored(self) -> dict[str, Any]:
        """Return a JSON-able, versioned snapshot."""
        return {
            "format": STORE_FORMAT,
            "records": [record.as_stored() for record in self.records.values()],
            "ignored": dict(self.ignored),
        }

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> RequestStore:
        """Rebuild the store from a snapshot; an unknown format gives an empty store."""
        if not stored or stored.get("format") != STORE_FORMAT:
            return cls()
        records = (RequestRecord.from_stored(item) for item in stored["records"])
        return cls(
            records={record.request_id: record for record in records},
            ignored=dict(stored["ignored"]),
        )


def _newest_first(record: RequestRecord) -> tuple[float, int]:
    """Sort key: creation time, then id."""
    return record.created_at, record.request_id
