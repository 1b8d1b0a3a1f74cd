"""Who watched what and when, from Tautulli's history or Plex's own counts (no HA)."""

from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from .api import PlexItem
from .api.tautulli import PlayRecord
from .library import LibraryModel

type _Stats = tuple[int, int | None, int]  # plays, last played, distinct users

TITLE_TYPES = ("movie", "show")
DAY = 86_400


class AnalyticsSource(StrEnum):
    """Where the play data came from."""

    TAUTULLI = "tautulli"
    PLEX = "plex"


@dataclass(frozen=True, slots=True)
class WatchStats:
    """Plays of one movie, episode or show: how many, the latest, and by how many users."""

    plays: int
    last_played: int | None
    users: int


@dataclass(frozen=True, slots=True)
class _Title:
    """A movie or show with what the title-level questions need."""

    item: PlexItem
    last_played: int | None
    watched: bool
    added_at: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsModel:
    """Play statistics per rating key: movies, episodes and (summed) shows."""

    source: AnalyticsSource
    stats: dict[int, _Stats]
    starts: array[int] | None  # sorted start times; None when plays are not dated
    # Set when plays are known only from then on: questions reaching further back
    # raise rather than mistake "no data" for "never watched".
    since: int | None = None
    total_plays: int = 0  # each play once (a show's stats repeat its episodes')

    def get(self, rating_key: int) -> WatchStats | None:
        """Return the statistics of an item, or None when it was never played."""
        if (found := self.stats.get(rating_key)) is None:
            return None
        return WatchStats(*found)

    def plays_since(self, ts: int) -> int | None:
        """Return how many plays started at or after ts; None when the source cannot say."""
        if self.starts is None or (self.since is not None and ts < self.since):
            return None
        return len(self.starts) - bisect_left(self.starts, ts)

    def never_watched(self, library: LibraryModel) -> list[PlexItem]:
        """Return the movies and shows nobody ever played (a show: none of its episodes)."""
        self._require_history(None)
        return [title.item for title in self._titles(library) if not title.watched]

    def not_watched_since(self, library: LibraryModel, ts: int) -> list[PlexItem]:
        """Return the titles last played before ts, and unplayed ones added before ts."""
        # A show counts as added when its newest episode was; a title played at an
        # unknown time (Plex may lack lastViewedAt) counts as recently watched.
        self._require_history(ts)
        return [
            title.item
            for title in self._titles(library)
            if (title.last_played is not None and title.last_played < ts)
            or (not title.watched and title.added_at < ts)
        ]

    def _require_history(self, ts: int | None) -> None:
        """Refuse a question about a time before the plays this model knows."""
        if self.since is not None and (ts is None or ts < self.since):
            raise ValueError(f"play data starts at {self.since}: cannot answer")

    def _titles(self, library: LibraryModel) -> Iterator[_Title]:
        """Yield every movie and show of the library with its latest play."""
        episodes = _episodes_by_show(library)
        for item in library.items.values():
            if item.type not in TITLE_TYPES:
                continue
            children = episodes.get(item.rating_key, [])
            keys = (item.rating_key, *(child.rating_key for child in children))
            found = [stats for key in keys if (stats := self.stats.get(key))]
            dated = [last for _, last, _ in found if last is not None]
            yield _Title(
                item=item,
                last_played=max(dated) if dated and len(dated) == len(found) else None,
                watched=bool(found),
                added_at=max([item.added_at, *(child.added_at for child in children)]),
            )


def _episodes_by_show(library: LibraryModel) -> dict[int, list[PlexItem]]:
    """Return the library's episodes grouped by show rating key."""
    episodes: defaultdict[int, list[PlexItem]] = defaultdict(list)
    for item in library.items.values():
        if item.type == "episode" and item.show_key is not None:
            episodes[item.show_key].append(item)
    return episodes


def titles_size(library: LibraryModel, titles: Iterable[PlexItem]) -> int:
    """Return the bytes of movies and shows, a show weighing its episodes in the library."""
    episodes = _episodes_by_show(library)
    return sum(
        sum(episode.size for episode in episodes.get(item.rating_key, ()))
        if item.type == "show"
        else item.size
        for item in titles
    )


def from_tautulli(
    records: Iterable[PlayRecord], *, since: int | None = None
) -> AnalyticsModel:
    """Count every play per item and per show; `since` when history starts there."""
    plays: Counter[int] = Counter()
    last: dict[int, int] = {}
    viewers: set[tuple[int, int | None]] = set()
    starts: list[int] = []
    for record in records:
        starts.append(record.started)
        for key in (record.rating_key, record.grandparent_rating_key):
            if key is None:
                continue
            plays[key] += 1
            if record.started > last.get(key, -1):
                last[key] = record.started
            viewers.add((key, record.user_id))
    users = Counter(key for key, _ in viewers)
    starts.sort()
    return AnalyticsModel(
        source=AnalyticsSource.TAUTULLI,
        stats={key: (count, last[key], users[key]) for key, count in plays.items()},
        starts=array("q", starts),
        since=since,
        total_plays=len(starts),
    )


def from_plex(library: LibraryModel) -> AnalyticsModel:
    """Read Plex's view counts, which know only the token owner and no play times."""
    plays: Counter[int] = Counter()
    last: dict[int, int | None] = {}
    total = 0
    for item in library.items.values():
        if item.type not in ("movie", "episode") or item.view_count <= 0:
            continue
        total += item.view_count
        viewed = item.last_viewed_at
        for key in (item.rating_key, item.show_key):
            if key is None:
                continue
            plays[key] += item.view_count
            if key not in last:
                last[key] = viewed
            elif (previous := last[key]) is not None:
                # An unknown time stays unknown: it could be the latest.
                last[key] = None if viewed is None else max(previous, viewed)
    return AnalyticsModel(
        source=AnalyticsSource.PLEX,
        stats={key: (count, last[key], 1) for key, count in plays.items()},
        starts=None,
        total_plays=total,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AnalyticsSummary:
    """What the analytics sensors show, computed once per analytics sync."""

    model: AnalyticsModel
    fallback_reason: str | None
    plays_24h: int | None
    plays_7d: int | None
    never_watched: int
    never_watched_size: int
    not_watched: int
    not_watched_size: int
    not_watched_days: int
    computed_at: float


def summarize(
    model: AnalyticsModel,
    library: LibraryModel,
    *,
    now: float,
    not_watched_days: int,
    fallback_reason: str | None = None,
) -> AnalyticsSummary:
    """Answer the sensors' questions (CPU-bound: run it in the executor)."""
    never = model.never_watched(library)
    stale = model.not_watched_since(library, int(now - not_watched_days * DAY))
    return AnalyticsSummary(
        model=model,
        fallback_reason=fallback_reason,
        plays_24h=model.plays_since(int(now - DAY)),
        plays_7d=model.plays_since(int(now - 7 * DAY)),
        never_watched=len(never),
        never_watched_size=titles_size(library, never),
        not_watched=len(stale),
        not_watched_size=titles_size(library, stale),
        not_watched_days=not_watched_days,
        computed_at=now,
    )
