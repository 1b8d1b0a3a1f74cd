"""Disk pressure: act only when space is short, and then free just enough (no HA)."""

from collections.abc import Sequence

from .rules import Candidate


def select_for_target(
    candidates: Sequence[Candidate], free_now: int, target: int
) -> tuple[list[Candidate], int]:
    """Take candidates in their order until free space would reach the target.

    Returns the chosen candidates and the free space projected after their purge.
    Nothing is chosen when there is already enough free space.
    """
    chosen: list[Candidate] = []
    free = free_now
    for candidate in candidates:
        if free >= target:
            break
        chosen.append(candidate)
        free += candidate.size
    return chosen, free
