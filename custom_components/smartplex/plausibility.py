"""Whether a sync's answer is believable: a sudden collapse is an outage (no HA)."""

from collections.abc import Iterable
from dataclasses import dataclass

# An unmounted disk, or a scan that ran while it was away, takes a whole section's
# files at once; real clean-ups take a few titles per sync. Losing more than half of a
# section in one sync is far beyond the second and well within the first. Counts are
# compared, not rating keys: Plex gives items it adds again after such a scan new
# keys, and the library that comes back must be believed.
SECTION_LOST_SHARE = 0.5
# Sections smaller than this change by half legitimately (a few titles deleted by hand).
SECTION_MIN_ITEMS = 20
# Play history only grows, unless someone deletes it; a source that suddenly knows
# fewer than half the plays it knew lost its database or answers from a fresh one.
PLAYS_KEPT_SHARE = 0.5
# A history this short is a new install: a few plays deleted by hand halve it.
PLAYS_MIN = 20


class ImplausibleDataError(Exception):
    """The library or the play data looks like an outage: rules must not run on it."""

    def __init__(self, reason: str) -> None:
        """Keep the reason the user is shown."""
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Implausible:
    """An answer not believed: what collapsed, and its figures before and now."""

    subject: str  # a section's title, or the play history's source
    before: int
    after: int
    reason: str


def check_section(title: str, before: int, after: int) -> Implausible | None:
    """Judge one section by its movies and episodes with their file, then and now."""
    if before < SECTION_MIN_ITEMS or before - after <= before * SECTION_LOST_SHARE:
        return None
    return Implausible(
        subject=title,
        before=before,
        after=after,
        reason=(
            f"library {title!r}: {before - after} of {before} items gone or"
            " unavailable in one sync"
        ),
    )


def check_library(sections: Iterable[tuple[str, int, int]]) -> Implausible | None:
    """Return the first section (title, before, after) whose answer is not believed."""
    for title, before, after in sections:
        if found := check_section(title, before, after):
            return found
    return None


def check_plays(source: str, last_good: int | None, total: int) -> Implausible | None:
    """Judge a play history's total against the last one believed from that source."""
    if (
        last_good is None
        or last_good < PLAYS_MIN
        or total >= last_good * PLAYS_KEPT_SHARE
    ):
        return None
    return Implausible(
        subject=source,
        before=last_good,
        after=total,
        reason=(
            f"play history ({source}): {total} plays, down from {last_good}"
            " at the last good sync"
        ),
    )
