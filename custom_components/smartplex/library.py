"""SmartPlex's model of the Plex libraries and its sync (no Home Assistant imports)."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
import time
from typing import Any

from .api import PlexClient, PlexItem, PlexSection
from .plausibility import Implausible, check_library

STORE_FORMAT = 2
ITEM_FIELDS = PlexItem._fields
_SECTION = ITEM_FIELDS.index("section_id")
SYNCED_TYPES = {"movie": ("movie",), "show": ("show", "episode")}
QUALITY_FIELDS = {
    "by_resolution": "resolution",
    "by_codec": "video_codec",
    "by_container": "container",
}


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Counts and bytes of one library (or all) by resolution, codec and container."""

    count: int
    size: int
    by_resolution: dict[str, tuple[int, int]]
    by_codec: dict[str, tuple[int, int]]
    by_container: dict[str, tuple[int, int]]


type Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The model as a sync found it: what `LibraryModel.rollback` goes back to."""

    sections: dict[int, PlexSection]
    watermark: int
    last_full_sync: float | None
    available: dict[int, int]  # movies and episodes with their file, per section


class ItemView(Mapping[int, PlexItem]):
    """Read-only view of the model's items by rating key."""

    __slots__ = ("_rows",)

    def __init__(self, rows: dict[int, Row]) -> None:
        """Wrap the stored rows."""
        self._rows = rows

    def __getitem__(self, rating_key: int) -> PlexItem:
        """Return one item."""
        return PlexItem._make(self._rows[rating_key])

    def __iter__(self) -> Iterator[int]:
        """Iterate over rating keys."""
        return iter(self._rows)

    def __len__(self) -> int:
        """Return how many items there are."""
        return len(self._rows)


@dataclass
class LibraryModel:
    """Every synced section with its movies, shows and episodes.

    Items are kept as plain tuples: CPython's cycle collector stops tracking those (it
    does not for named tuples), so a 100k-item library adds little to its pauses.
    Change items only through the methods: they keep running totals (per section, type
    and quality value), so counts and breakdowns cost O(values), not O(items).
    """

    sections: dict[int, PlexSection] = field(default_factory=dict)
    _rows: dict[int, Row] = field(default_factory=dict, repr=False)
    # The newest updatedAt seen; the next incremental sync asks for what came after.
    watermark: int = 0
    last_full_sync: float | None = None
    _counts: dict[tuple[int, str], int] = field(default_factory=dict, repr=False)
    _groups: dict[tuple[int, str, str], list[int]] = field(
        default_factory=dict, repr=False
    )
    _available: dict[int, int] = field(default_factory=dict, repr=False)
    # While a sync runs: each touched item's row from before it (None: it is new).
    _undo: dict[int, Row | None] | None = field(default=None, repr=False)

    def _account(self, item: PlexItem, sign: int) -> None:
        """Add (sign 1) or take away (sign -1) an item's share of the totals."""
        key = (item.section_id, item.type)
        self._counts[key] = self._counts.get(key, 0) + sign
        if item.type == "show":
            return
        if not item.file_missing:
            self._available[item.section_id] = (
                self._available.get(item.section_id, 0) + sign
            )
        for name, attribute in (("total", "type"), *QUALITY_FIELDS.items()):
            value = getattr(item, attribute) or "unknown"
            group = self._groups.setdefault((item.section_id, name, value), [0, 0])
            group[0] += sign
            group[1] += sign * item.size

    @property
    def items(self) -> ItemView:
        """The movies, shows and episodes by rating key."""
        return ItemView(self._rows)

    def _put(self, item: PlexItem) -> bool:
        """Store an item; return whether it was new or different."""
        row = tuple(item)
        old = self._rows.get(item.rating_key)
        if old == row:
            return False
        if self._undo is not None:
            self._undo.setdefault(item.rating_key, old)
        if old is not None:
            self._account(PlexItem._make(old), -1)
        self._rows[item.rating_key] = row
        self._account(item, 1)
        return True

    def _remove(self, rating_key: int) -> None:
        """Forget an item."""
        row = self._rows.pop(rating_key)
        if self._undo is not None:
            self._undo.setdefault(rating_key, row)
        self._account(PlexItem._make(row), -1)

    def checkpoint(self) -> Checkpoint:
        """Start remembering what changes, so that `rollback` can undo it."""
        # An empty model has nothing to protect: rollback just empties it again.
        self._undo = {} if self._rows else None
        return Checkpoint(
            dict(self.sections),
            self.watermark,
            self.last_full_sync,
            dict(self._available),
        )

    def commit(self) -> None:
        """Keep what changed since the checkpoint."""
        self._undo = None

    def rollback(self, checkpoint: Checkpoint) -> None:
        """Go back to the checkpoint: every item, section and date as they were."""
        if self._undo is None:
            self._rows.clear()
            self._counts.clear()
            self._groups.clear()
            self._available.clear()
        else:
            undo, self._undo = self._undo, None
            for rating_key, old in undo.items():
                if (row := self._rows.get(rating_key)) is not None:
                    self._account(PlexItem._make(row), -1)
                if old is None:
                    self._rows.pop(rating_key, None)
                else:
                    self._rows[rating_key] = old
                    self._account(PlexItem._make(old), 1)
        self.sections = dict(checkpoint.sections)
        self.watermark = checkpoint.watermark
        self.last_full_sync = checkpoint.last_full_sync

    def availability(self, checkpoint: Checkpoint) -> Iterator[tuple[str, int, int]]:
        """Yield (title, then, now) of movies and episodes with their file, per section.

        Only sections that are still there: one Plex no longer lists was removed on
        purpose, and nothing of it can become a candidate.
        """
        for section_id, before in checkpoint.available.items():
            if (section := self.sections.get(section_id)) is not None:
                yield section.title, before, self._available.get(section_id, 0)

    def snapshot(self) -> LibraryModel:
        """Return a copy that later syncs do not change (items are immutable tuples)."""
        return LibraryModel(
            sections=dict(self.sections),
            _rows=dict(self._rows),
            watermark=self.watermark,
            last_full_sync=self.last_full_sync,
            _counts=dict(self._counts),
            _groups={key: list(value) for key, value in self._groups.items()},
            _available=dict(self._available),
        )

    def upsert(self, items: Iterable[PlexItem]) -> int:
        """Add or replace items; return how many were new or different."""
        count = 0
        for item in items:
            count += self._put(item)
            self.watermark = max(self.watermark, item.updated_at)
        return count

    def remove(self, rating_keys: Iterable[int]) -> int:
        """Forget items known to be deleted; return how many the model had."""
        gone = [key for key in rating_keys if key in self._rows]
        for key in gone:
            self._remove(key)
        return len(gone)

    def remove_unlisted(self, section_id: int, listed: set[int]) -> int:
        """Forget a section's items that a full listing no longer has; return how many."""
        gone = [
            key
            for key, row in self._rows.items()
            if row[_SECTION] == section_id and key not in listed
        ]
        for key in gone:
            self._remove(key)
        return len(gone)

    def replace_section(self, section: PlexSection, items: list[PlexItem]) -> int:
        """Take a full listing of a section; return how many items changed or left."""
        self.sections[section.id] = section
        changed = self.upsert(items)
        return changed + self.remove_unlisted(
            section.id, {item.rating_key for item in items}
        )

    def drop_sections(self, keep: Iterable[int]) -> list[int]:
        """Forget sections (and their items) Plex no longer has; return their ids."""
        kept = set(keep)
        gone = [section_id for section_id in self.sections if section_id not in kept]
        for section_id in gone:
            del self.sections[section_id]
            self.remove_unlisted(section_id, set())
        return gone

    def count(self, section_id: int, item_type: str) -> int:
        """Return how many items of a type the model holds for a section."""
        return self._counts.get((section_id, item_type), 0)

    def titles(self, section_id: int) -> int:
        """Return the number of titles: movies, or shows for a TV section."""
        section = self.sections[section_id]
        return self.count(section_id, "show" if section.type == "show" else "movie")

    def breakdown(self, section_id: int | None = None) -> Breakdown:
        """Return counts and sizes of a section (or all), by quality attribute."""
        merged: dict[str, dict[str, list[int]]] = {}
        for (section, name, value), (count, size) in self._groups.items():
            if count and (section_id is None or section == section_id):
                group = merged.setdefault(name, {}).setdefault(value, [0, 0])
                group[0] += count
                group[1] += size
        count, size = (0, 0)
        for total_count, total_size in merged.get("total", {}).values():
            count += total_count
            size += total_size
        return Breakdown(
            count=count,
            size=size,
            **{
                name: {
                    value: (c, s)
                    for value, (c, s) in sorted(merged.get(name, {}).items())
                }
                for name in QUALITY_FIELDS
            },
        )

    def section_totals(self) -> dict[int, tuple[int, int]]:
        """Return each section's files and bytes."""
        totals = {}
        for section_id in self.sections:
            breakdown = self.breakdown(section_id)
            totals[section_id] = (breakdown.count, breakdown.size)
        return totals

    def as_stored(self) -> dict[str, Any]:
        """Return a compact JSON-able snapshot (items as rows, not objects)."""
        return {
            "format": STORE_FORMAT,
            "watermark": self.watermark,
            "last_full_sync": self.last_full_sync,
            "sections": [asdict(section) for section in self.sections.values()],
            "fields": ITEM_FIELDS,
            "items": list(self._rows.values()),
        }

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> LibraryModel:
        """Rebuild the model from a snapshot; an unknown format gives an empty model."""
        if not stored or stored.get("format") != STORE_FORMAT:
            return cls()
        if tuple(stored["fields"]) != ITEM_FIELDS:
            return cls()
        model = cls(
            sections={s["id"]: PlexSection(**s) for s in stored["sections"]},
            watermark=stored["watermark"],
            last_full_sync=stored["last_full_sync"],
        )
        for row in stored["items"]:
            item = PlexItem._make(row)
            model._put(item._replace(labels=tuple(item.labels)))
        return model


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    """What one sync did."""

    full: bool
    sections: int
    changed: int
    removed: int
    items: int
    implausible: Implausible | None = None


async def async_sync_library(
    plex: PlexClient, model: LibraryModel, *, full: bool, accept: bool = False
) -> SyncResult:
    """Bring the model up to date with every movie and show section of Plex.

    A full sync lists everything. An incremental one asks only for items updated after
    the watermark, then compares each section's item counts with Plex's: a mismatch
    (something was removed) relists that section. Items are taken a page at a time, so
    the event loop is never held for a whole library.

    A sync applies whole or not at all: one that fails, or that finds most of a
    section gone or unavailable at once (see plausibility.py), leaves the model as it
    was and says why, unless a person accepted the new figures (`accept`).
    """
    checkpoint = model.checkpoint()
    try:
        result = await _async_sync(plex, model, full=full)
    except BaseException:
        model.rollback(checkpoint)
        raise
    if not accept and (implausible := check_library(model.availability(checkpoint))):
        model.rollback(checkpoint)
        return SyncResult(
            full=full,
            sections=result.sections,
            changed=0,
            removed=0,
            items=len(model.items),
            implausible=implausible,
        )
    model.commit()
    return result


async def _async_sync(
    plex: PlexClient, model: LibraryModel, *, full: bool
) -> SyncResult:
    """Apply Plex's answer to the model, as it comes."""
    sections = [s for s in await plex.async_get_sections() if s.type in SYNCED_TYPES]
    # One bound for every section: items of a later section may be older than what an
    # earlier one just brought in, and must not be skipped.
    since = model.watermark - 1
    before = len(model.items)
    removed_sections = model.drop_sections(section.id for section in sections)
    removed = before - len(model.items) if removed_sections else 0
    changed = 0
    for section in sections:
        if full or section.id not in model.sections:
            section_changed, section_removed = await _async_full_section(
                plex, model, section
            )
        else:
            section_changed, section_removed = await _async_incremental_section(
                plex, model, section, since
            )
        changed += section_changed
        removed += section_removed
    if full:
        model.last_full_sync = time.time()
    return SyncResult(
        full=full,
        sections=len(sections),
        changed=changed,
        removed=removed,
        items=len(model.items),
    )


async def _async_full_section(
    plex: PlexClient, model: LibraryModel, section: PlexSection
) -> tuple[int, int]:
    """List a whole section; return (items new or different, items gone)."""
    model.sections[section.id] = section
    listed: set[int] = set()
    changed = 0
    for plex_type in SYNCED_TYPES[section.type]:
        async for page in plex.async_iter_items(section.id, plex_type):
            listed.update(item.rating_key for item in page)
            changed += model.upsert(page)
    return changed, model.remove_unlisted(section.id, listed)


async def _async_incremental_section(
    plex: PlexClient, model: LibraryModel, section: PlexSection, since: int
) -> tuple[int, int]:
    """Fetch what changed after `since`; a count mismatch means removals."""
    model.sections[section.id] = section
    changed = 0
    for plex_type in SYNCED_TYPES[section.type]:
        # Items of the watermark's own second come again: harmless, never missed.
        async for page in plex.async_iter_items(
            section.id, plex_type, updated_after=since
        ):
            changed += model.upsert(page)
    for plex_type in SYNCED_TYPES[section.type]:
        total = await plex.async_count_items(section.id, plex_type)
        if total != model.count(section.id, plex_type):
            full_changed, removed = await _async_full_section(plex, model, section)
            return changed + full_changed, removed
    return changed, 0
