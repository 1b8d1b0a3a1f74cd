"""SmartPlex's model of the Plex libraries: items by rating key, sizes, quality (no HA)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
import time
from typing import Any

from .api import PlexClient, PlexItem, PlexSection

STORE_FORMAT = 1
ITEM_FIELDS = tuple(f.name for f in fields(PlexItem))
SYNCED_TYPES = {"movie": ("movie",), "show": ("show", "episode")}


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Counts and bytes of one library (or all) by resolution, codec and container."""

    count: int
    size: int
    by_resolution: dict[str, tuple[int, int]]
    by_codec: dict[str, tuple[int, int]]
    by_container: dict[str, tuple[int, int]]


def _group(items: Iterable[PlexItem], key: str) -> dict[str, tuple[int, int]]:
    """Return {value: (count, bytes)} of items grouped by one attribute."""
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for item in items:
        value = getattr(item, key) or "unknown"
        counts[value] += 1
        sizes[value] += item.size
    return {value: (counts[value], sizes[value]) for value in sorted(counts)}


@dataclass
class LibraryModel:
    """Every synced section with its movies, shows and episodes."""

    sections: dict[int, PlexSection] = field(default_factory=dict)
    items: dict[int, PlexItem] = field(default_factory=dict)
    watermark: int = (
        0  # the newest updatedAt seen; the next incremental sync asks after it
    )
    last_full_sync: float | None = None

    def media(self, section_id: int | None = None) -> list[PlexItem]:
        """Return the movies and episodes (the things with files), of one section or all."""
        return [
            item
            for item in self.items.values()
            if item.type != "show"
            and (section_id is None or item.section_id == section_id)
        ]

    def replace_section(self, section: PlexSection, items: list[PlexItem]) -> int:
        """Take a full listing of a section: what it no longer lists is gone.

        Return how many items were new or different.
        """
        self.sections[section.id] = section
        listed = {item.rating_key for item in items}
        for key in [
            key
            for key, item in self.items.items()
            if item.section_id == section.id and key not in listed
        ]:
            del self.items[key]
        return self.upsert(items)

    def upsert(self, items: Iterable[PlexItem]) -> int:
        """Add or replace items; return how many were new or different."""
        count = 0
        for item in items:
            if self.items.get(item.rating_key) != item:
                self.items[item.rating_key] = item
                count += 1
            self.watermark = max(self.watermark, item.updated_at)
        return count

    def drop_sections(self, keep: Iterable[int]) -> list[int]:
        """Forget sections (and their items) Plex no longer has; return their ids."""
        kept = set(keep)
        gone = [section_id for section_id in self.sections if section_id not in kept]
        for section_id in gone:
            del self.sections[section_id]
        self.items = {k: v for k, v in self.items.items() if v.section_id in kept}
        return gone

    def count(self, section_id: int, item_type: str) -> int:
        """Return how many items of a type the model holds for a section."""
        return sum(
            1
            for item in self.items.values()
            if item.section_id == section_id and item.type == item_type
        )

    def breakdown(self, section_id: int | None = None) -> Breakdown:
        """Return counts and sizes of a section (or all), by quality attribute."""
        media = self.media(section_id)
        return Breakdown(
            count=len(media),
            size=sum(item.size for item in media),
            by_resolution=_group(media, "resolution"),
            by_codec=_group(media, "video_codec"),
            by_container=_group(media, "container"),
        )

    def titles(self, section_id: int) -> int:
        """Return the number of titles: movies, or shows for a TV section."""
        section = self.sections[section_id]
        return self.count(section_id, "show" if section.type == "show" else "movie")

    def as_stored(self) -> dict[str, Any]:
        """Return a compact JSON-able snapshot (items as rows, not objects)."""
        return {
            "format": STORE_FORMAT,
            "watermark": self.watermark,
            "last_full_sync": self.last_full_sync,
            "sections": [asdict(section) for section in self.sections.values()],
            "fields": ITEM_FIELDS,
            "items": [
                [getattr(item, name) for name in ITEM_FIELDS]
                for item in self.items.values()
            ],
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
            item = PlexItem(**dict(zip(ITEM_FIELDS, row, strict=True)))
            item.labels = tuple(item.labels)
            model.items[item.rating_key] = item
        return model


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResult:
    """What one sync did."""

    full: bool
    sections: int
    changed: int
    removed: int
    items: int


async def async_sync_library(
    plex: PlexClient, model: LibraryModel, *, full: bool
) -> SyncResult:
    """Bring the model up to date with every movie and show section of Plex.

    A full sync lists everything. An incremental one asks only for items updated after
    the watermark, then compares each section's item counts with Plex's: a mismatch
    (something was removed) relists that section.
    """
    sections = [s for s in await plex.async_get_sections() if s.type in SYNCED_TYPES]
    before = set(model.items)
    model.drop_sections(section.id for section in sections)
    changed = 0
    for section in sections:
        if full or section.id not in model.sections:
            changed += await _async_full_section(plex, model, section)
        else:
            changed += await _async_incremental_section(plex, model, section)
    if full:
        model.last_full_sync = time.time()
    return SyncResult(
        full=full,
        sections=len(sections),
        changed=changed,
        removed=len(before.difference(model.items)),
        items=len(model.items),
    )


async def _async_full_section(
    plex: PlexClient, model: LibraryModel, section: PlexSection
) -> int:
    """List a whole section; return how many items were new or different."""
    items: list[PlexItem] = []
    for plex_type in SYNCED_TYPES[section.type]:
        async for page in plex.async_iter_items(section.id, plex_type):
            items.extend(page)
    return model.replace_section(section, items)


async def _async_incremental_section(
    plex: PlexClient, model: LibraryModel, section: PlexSection
) -> int:
    """Fetch what changed since the watermark; a count mismatch means removals."""
    changed: list[PlexItem] = []
    for plex_type in SYNCED_TYPES[section.type]:
        # Items of the watermark's own second come again: harmless, never missed.
        async for page in plex.async_iter_items(
            section.id, plex_type, updated_after=model.watermark - 1
        ):
            changed.extend(page)
    model.sections[section.id] = section
    count = model.upsert(changed)
    for plex_type in SYNCED_TYPES[section.type]:
        total = await plex.async_count_items(section.id, plex_type)
        if total != model.count(section.id, plex_type):
            return count + await _async_full_section(plex, model, section)
    return count
