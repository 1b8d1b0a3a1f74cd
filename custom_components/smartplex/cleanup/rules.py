"""Cleanup rules: what a rule selects, what it cannot judge, and why (no HA imports).

Evaluation fails closed: an input that is missing, stale or too coarse for a condition
makes that condition `unknown`, and an item with an unknown condition (and no failed
one) is reported apart, never as a candidate.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
import math
from operator import attrgetter
from typing import Any, Literal, overload

from custom_components.smartplex.analytics import AnalyticsModel, AnalyticsSource
from custom_components.smartplex.api import PlexItem
from custom_components.smartplex.library import LibraryModel
from custom_components.smartplex.requests import RequestRecord, RequestStore

DAY = 86_400
HOUR = 3_600
GB = 1_000_000_000
LEVELS = ("movie", "show", "season", "episode")
MAX_DAYS = 36_500
MAX_PLAYS = 1_000_000
MAX_SIZE_GB = 1_000_000.0
MAX_AGE_HOURS = 8_760.0
MAX_NAME = 100
MAX_KEEP = 10_000
MAX_SECTION = 2**31 - 1  # Plex's section ids; a larger int would overflow a float
PLAY_CONDITIONS = (
    "not_played_days",
    "never_played_added_days",
    "never_played",
    "max_plays",
)
CONDITIONS = (
    *PLAY_CONDITIONS,
    "added_more_than_days",
    "min_size_gb",
    "resolutions",
    "codecs",
    "keep_last_episodes",
    "keep_last_seasons",
)
# Fields that only make sense at some levels.
LEVEL_FIELDS = {
    "keep_last_episodes": ("episode",),
    "keep_last_seasons": ("season",),
    "remove_empty_show": ("season", "episode"),
}

type Outcome = Literal["pass", "fail", "unknown"]
type Verdict = Literal["match", "no_match", "unknown"]
type Value = str | int | float | bool | list[str] | None
PASS: Outcome = "pass"
FAIL: Outcome = "fail"
UNKNOWN: Outcome = "unknown"


class RuleError(ValueError):
    """A rule that cannot be used: the field at fault and a translation key."""

    def __init__(self, field: str, key: str) -> None:
        """Name the field and the problem."""
        super().__init__(f"{field}: {key}")
        self.field = field
        self.key = key


def _name(field: str, value: Any) -> str:
    """Read a rule name: a non-empty string of reasonable length."""
    if not isinstance(value, str):
        raise RuleError(field, "wrong_type")
    if not value.strip():
        raise RuleError(field, "empty")
    if len(value) > MAX_NAME:
        raise RuleError(field, "too_large")
    return value


def _level(field: str, value: Any) -> str:
    """Read a level: movie, show, season or episode."""
    if value not in LEVELS:
        raise RuleError(field, "invalid_choice")
    return str(value)


def _flag(field: str, value: Any) -> bool:
    """Read a boolean."""
    if not isinstance(value, bool):
        raise RuleError(field, "wrong_type")
    return value


def _number(field: str, value: Any, maximum: float, *, whole: bool) -> float:
    """Read a non-negative number up to a maximum (an integer when whole)."""
    allowed = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise RuleError(field, "wrong_type")
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError(field, "wrong_type")
    if value < 0:
        raise RuleError(field, "negative")
    if value > maximum:
        raise RuleError(field, "too_large")
    return float(value)


def _days(field: str, value: Any) -> int:
    """Read a number of days."""
    return int(_number(field, value, MAX_DAYS, whole=True))


def _plays(field: str, value: Any) -> int:
    """Read a play count."""
    return int(_number(field, value, MAX_PLAYS, whole=True))


def _size(field: str, value: Any) -> float:
    """Read a size in GB."""
    return _number(field, value, MAX_SIZE_GB, whole=False)


def _hours(field: str, value: Any) -> float:
    """Read a positive number of hours."""
    hours = _number(field, value, MAX_AGE_HOURS, whole=False)
    if hours == 0:
        raise RuleError(field, "not_positive")
    return hours


def _keep(field: str, value: Any) -> int:
    """Read how many of the newest to keep: a whole number from 1."""
    count = int(_number(field, value, MAX_KEEP, whole=True))
    if count == 0:
        raise RuleError(field, "not_positive")
    return count


def _words(field: str, value: Any, *, allow_empty: bool) -> frozenset[str]:
    """Read a list of non-empty strings, compared without case."""
    if not isinstance(value, list) or not all(
        isinstance(word, str) and word.strip() for word in value
    ):
        raise RuleError(field, "wrong_type")
    if not value and not allow_empty:
        raise RuleError(field, "empty")
    return frozenset(word.strip().casefold() for word in value)


def _values(field: str, value: Any) -> frozenset[str]:
    """Read a non-empty list of resolutions or codecs."""
    return _words(field, value, allow_empty=False)


def _labels(field: str, value: Any) -> frozenset[str]:
    """Read the exclusion labels (an empty list excludes none)."""
    return _words(field, value, allow_empty=True)


def _sections(field: str, value: Any) -> frozenset[int]:
    """Read a non-empty list of library section ids."""
    if not isinstance(value, list) or not value:
        raise RuleError(field, "wrong_type" if not isinstance(value, list) else "empty")
    return frozenset(int(_number(field, v, MAX_SECTION, whole=True)) for v in value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A named selection of items, its exclusions, and how fresh play data must be.

    Without a level, a rule acts on movies in movie libraries and whole shows in show
    libraries. A show or season is judged as a whole: its last play is the latest of
    its episodes', its size their sum, its added time the newest episode's.

    Played and never-played items may have thresholds of their own. `not_played_days`
    alone asks that nothing was played, nor added, in the last N days. Together with
    `never_played_added_days` it judges only items someone played, and a never-played
    item qualifies once added more than that many days ago; `never_played_added_days`
    alone selects never-played items only (with `never_played` it adds the age). Telling
    "never played" apart needs play data reaching back to when the item was added: when
    it does not, the item is unknown unless it qualifies (or fails) either way.

    `keep_last_episodes` (episode rules) and `keep_last_seasons` (season rules) spare
    the N newest of each show, by season and then episode number; Specials (season 0)
    never count among the newest, so they are not spared. An item whose rank hangs on
    an unknown season or episode number is unknown. `remove_empty_show` (season and
    episode rules) asks for the show to go too once none of its files are left.

    `free_below_gb` and `target_free_gb` gate plans made from the rule on free space:
    plan only while less than `free_below_gb` is free, and then just enough candidates,
    in the rule's order, to reach `target_free_gb`. They select nothing themselves.
    """

    name: str
    level: str | None = None
    sections: frozenset[int] | None = None
    not_played_days: int | None = None
    never_played_added_days: int | None = None
    never_played: bool = False
    max_plays: int | None = None
    added_more_than_days: int | None = None
    min_size_gb: float | None = None
    resolutions: frozenset[str] | None = None
    codecs: frozenset[str] | None = None
    keep_last_episodes: int | None = None
    keep_last_seasons: int | None = None
    labels: frozenset[str] = frozenset({"keep"})
    recently_added_days: int | None = None
    recently_requested_days: int | None = None
    requested_by_unwatched: bool = False
    max_data_age_hours: float = 2.0
    remove_empty_show: bool = False
    free_below_gb: float | None = None
    target_free_gb: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        """Build a rule from plain data, raising RuleError for anything invalid."""
        if not isinstance(data, Mapping):
            raise RuleError("rule", "wrong_type")
        for key in data:
            if key not in _READERS:
                raise RuleError(str(key), "unknown_field")
        if "name" not in data:
            raise RuleError("name", "required")
        values = {key: _READERS[key](key, value) for key, value in data.items()}
        if all(
            values.get(name) is None or values.get(name) is False for name in CONDITIONS
        ):
            raise RuleError("conditions", "no_conditions")
        for name, levels in LEVEL_FIELDS.items():
            if (
                values.get(name) not in (None, False)
                and values.get("level") not in levels
            ):
                raise RuleError(name, "wrong_level")
        return cls(**values)

    @property
    def uses_play_data(self) -> bool:
        """Whether a condition needs server-wide play data."""
        return (
            self.not_played_days is not None
            or self.never_played_added_days is not None
            or self.never_played
            or self.max_plays is not None
        )


_READERS: dict[str, Callable[[str, Any], Any]] = {
    "name": _name,
    "level": _level,
    "sections": _sections,
    "not_played_days": _days,
    "never_played_added_days": _days,
    "never_played": _flag,
    "max_plays": _plays,
    "added_more_than_days": _days,
    "min_size_gb": _size,
    "resolutions": _values,
    "codecs": _values,
    "keep_last_episodes": _keep,
    "keep_last_seasons": _keep,
    "labels": _labels,
    "recently_added_days": _days,
    "recently_requested_days": _days,
    "requested_by_unwatched": _flag,
    "max_data_age_hours": _hours,
    "remove_empty_show": _flag,
    "free_below_gb": _size,
    "target_free_gb": _size,
}


@dataclass(frozen=True, slots=True)
class Check:
    """One condition or exclusion as applied to one item: what it saw and decided."""

    condition: str
    seen: Value
    threshold: Value
    outcome: Outcome
    note: str

    def as_dict(self) -> dict[str, Any]:
        """Return the check as plain data (for responses and the audit log)."""
        return {
            "condition": self.condition,
            "seen": self.seen,
            "threshold": self.threshold,
            "outcome": str(self.outcome),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """A rule's verdict on one item with every check behind it."""

    rating_key: int
    level: str
    title: str
    verdict: Verdict
    trace: tuple[Check, ...]

    @property
    def reason(self) -> str:
        """Say why the verdict is what it is, in a line."""
        wanted = {"match": PASS, "no_match": FAIL, "unknown": UNKNOWN}[self.verdict]
        return "; ".join(
            check.note
            for check in self.trace
            if check.outcome == wanted
            and (self.verdict != "match" or check.condition in CONDITIONS)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An item a rule selects, with its size, last play, the reason and the trace."""

    rating_key: int
    level: str
    title: str
    year: int | None
    size: int
    last_played: int | None
    why: str
    trace: tuple[Check, ...]
    section_id: int
    keys: tuple[int, ...]  # the item and, for a show or season, its episodes
    tmdb_id: int | None
    tvdb_id: int | None
    show_key: int | None  # seasons and episodes: their show
    season: int | None  # seasons and episodes: the season number (0 = Specials)
    episode: int | None
    remove_empty_show: bool = False  # delete the show once none of its files are left


class Unknowns(Sequence[Evaluation]):
    """The items a rule could not judge; counting them is free, traces come on reading."""

    __slots__ = ("_built", "_explain", "_units")

    def __init__(
        self, units: tuple[_Unit, ...], explain: Callable[[_Unit], Evaluation]
    ) -> None:
        """Keep the units and how to trace them."""
        self._units = units
        self._explain = explain
        self._built: tuple[Evaluation, ...] | None = None

    def _evaluations(self) -> tuple[Evaluation, ...]:
        """Trace every unit, once."""
        if self._built is None:
            self._built = tuple(map(self._explain, self._units))
        return self._built

    def __len__(self) -> int:
        """Return how many items could not be judged."""
        return len(self._units)

    @overload
    def __getitem__(self, index: int) -> Evaluation: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Evaluation, ...]: ...

    def __getitem__(self, index: int | slice) -> Evaluation | tuple[Evaluation, ...]:
        """Return one evaluation or a slice of them."""
        return self._evaluations()[index]

    def __iter__(self) -> Iterator[Evaluation]:
        """Iterate over the evaluations."""
        return iter(self._evaluations())


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleResult:
    """What one rule selects, what it could not judge, or why it refused to run."""

    rule: str
    refused: str | None
    evaluated: int
    matched: int
    reclaimable: int
    unknown: Sequence[Evaluation]
    _matches: tuple[_Unit, ...] = field(default=(), repr=False)
    _candidate: Callable[[_Unit], Candidate] | None = field(default=None, repr=False)

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        """Return the matches, oldest last play first (traces are built on access)."""
        return self.first()

    def first(self, count: int | None = None) -> tuple[Candidate, ...]:
        """Return the first `count` candidates (all when None), building their traces.

        Tracing thousands of matches takes a while: call it in the executor.
        """
        if self._candidate is None:
            return ()
        return tuple(map(self._candidate, self._matches[:count]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """What a rule found, without the items behind it: its figures and candidates."""

    rule: str
    refused: str | None
    evaluated: int
    matched: int
    reclaimable: int
    unknown: int
    candidates: tuple[Candidate, ...]


def find(context: RuleContext, rule: Rule, count: int | None = None) -> Found:
    """Apply a rule, keep its first `count` candidates (all: None), let the items go.

    Call it in the executor: evaluating, tracing and freeing the items of a big
    library all happen there (see RuleContext.release).
    """
    result = context.evaluate(rule)
    found = Found(
        rule=result.rule,
        refused=result.refused,
        evaluated=result.evaluated,
        matched=result.matched,
        reclaimable=result.reclaimable,
        unknown=len(result.unknown),
        candidates=result.first(count),
    )
    del result
    context.release()
    return found


@dataclass(slots=True, kw_only=True)
class _Unit:
    """A movie, show, season or episode as rules see it (shows summed over episodes)."""

    key: int
    level: str
    section_id: int
    title: str
    year: int | None
    added_at: int  # the newest episode's, for a show or season
    first_added: int
    size: int
    resolutions: tuple[str | None, ...]
    codecs: tuple[str | None, ...]
    labels: tuple[str, ...]  # casefolded: its own, its show's and its episodes'
    files: tuple[int, ...]  # a show's or season's episodes (none for one file)
    missing: int
    media: str  # Overseerr's media type: movie or tv
    tmdb_id: int | None
    tvdb_id: int | None
    show_key: int | None = None
    season: int | None = None
    episode: int | None = None
    plays: int = 0
    last_played: int | None = None
    undated: bool = False  # some play has no known time


@dataclass(slots=True)
class _Grouped:
    """The library's items by type, episodes also by show and by season."""

    movies: list[PlexItem] = field(default_factory=list)
    shows: dict[int, PlexItem] = field(default_factory=dict)
    episodes: list[PlexItem] = field(default_factory=list)
    by_show: defaultdict[int, list[PlexItem]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_season: defaultdict[int, list[PlexItem]] = field(
        default_factory=lambda: defaultdict(list)
    )


@dataclass(frozen=True, slots=True)
class _Test:
    """A compiled condition: a fast outcome, and a description for the trace."""

    condition: str
    threshold: Value
    outcome: Callable[[_Unit], Outcome]
    describe: Callable[[_Unit, Outcome], tuple[Value, str]]


def _date(ts: int) -> str:
    """Format a timestamp as a UTC date."""
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _episodes(count: int) -> str:
    """Say how many episode files are missing."""
    return f"{count} file{'s' if count != 1 else ''} missing"


class RuleContext:
    """The inputs of one evaluation; items are gathered once and shared by rules."""

    def __init__(
        self,
        library: LibraryModel,
        analytics: AnalyticsModel | None,
        *,
        analytics_age: float | None,
        requests: RequestStore | None,
        now_playing: frozenset[int],
        now: float,
    ) -> None:
        """Take the inputs; nothing is computed until a rule asks."""
        self.library = library
        self.analytics = analytics
        self.analytics_age = analytics_age
        self.requests = requests
        self.now_playing = now_playing
        self.now = now
        self._items: _Grouped | None = None
        self._units: dict[str, list[_Unit]] = {}
        self._ranks: dict[str, dict[int, tuple[int, int]]] = {}
        self._ones: dict[str | None, tuple[str | None]] = {}
        self._requests: dict[tuple[str, str, int], list[RequestRecord]] | None = None

    def release(self) -> None:
        """Let go of the items gathered for rules.

        Freeing those of a 100k-item library takes tens of milliseconds: call it in
        the executor, so that the event loop does not pay for it.
        """
        self._items = None
        self._units = {}
        self._ranks = {}
        self._ones = {}
        self._requests = None

    def evaluate(self, rule: Rule) -> RuleResult:
        """Apply a rule to every item of its level and libraries."""
        if (refused := self._refusal(rule)) is not None:
            return RuleResult(
                rule=rule.name,
                refused=refused,
                evaluated=0,
                matched=0,
                reclaimable=0,
                unknown=(),
            )
        tests = self._compile(rule)
        outcomes = [test.outcome for test in tests]
        matches: list[_Unit] = []
        unknown: list[_Unit] = []
        units = self._selected(rule)
        for unit in units:
            verdict: Verdict = "match"
            for outcome in outcomes:
                result = outcome(unit)
                if result == FAIL:
                    break
                if result == UNKNOWN:
                    verdict = "unknown"
            else:
                if verdict == "match":
                    matches.append(unit)
                else:
                    unknown.append(unit)
        trace = partial(self._evaluation, tests=tests)
        return RuleResult(
            rule=rule.name,
            refused=None,
            evaluated=len(units),
            matched=len(matches),
            reclaimable=sum(unit.size for unit in matches),
            unknown=Unknowns(tuple(unknown), trace),
            _matches=tuple(matches),
            _candidate=lambda unit: _candidate(
                unit, trace(unit), remove_empty_show=rule.remove_empty_show
            ),
        )

    def explain(self, rule: Rule, rating_key: int) -> Evaluation | None:
        """Return the full trace of one item at the rule's level; None if not there."""
        for unit in self._selected(rule):
            if unit.key == rating_key:
                return self._evaluation(unit, self._compile(rule))
        return None

    def pick(
        self, keys: Iterable[int], level: str | None = None
    ) -> tuple[list[Candidate], list[Evaluation]]:
        """Select items by rating key: movies, shows, seasons or episodes.

        Picked items still pass the safety exclusions (files present, not playing,
        no `keep` label); those that fail or cannot be judged come back apart.
        """
        wanted = set(keys)
        tests = self._compile(Rule(name="picked"))
        picked: list[Candidate] = []
        refused: list[Evaluation] = []
        for unit_level in (level,) if level else LEVELS:
            for unit in self._level(unit_level):
                if unit.key not in wanted:
                    continue
                wanted.discard(unit.key)
                evaluation = self._evaluation(unit, tests)
                if evaluation.verdict == "match":
                    picked.append(_candidate(unit, evaluation))
                else:
                    refused.append(evaluation)
        return picked, refused

    def _refusal(self, rule: Rule) -> str | None:
        """Say why a rule cannot run at all with these inputs, or None."""
        missing = sorted((rule.sections or set()) - set(self.library.sections))
        if missing:
            return f"library {missing[0]} is not in the synced model"
        if rule.uses_play_data and (problem := self.play_problem(rule, plex=True)):
            return problem
        if rule.requested_by_unwatched and (problem := self.play_problem(rule)):
            return problem
        if self.requests is None and (
            rule.recently_requested_days is not None or rule.requested_by_unwatched
        ):
            return "request data from Overseerr is unavailable"
        return None

    def play_problem(self, rule: Rule, *, plex: bool = False) -> str | None:
        """Say why play data cannot be trusted for this rule, or None."""
        if self.analytics is None:
            return "play data is unavailable"
        if self.analytics_age is None:
            return "play data has never been synced"
        if self.analytics_age > rule.max_data_age_hours * HOUR:
            hours = self.analytics_age / HOUR
            return f"play data is stale (age {hours:.1f} h > {rule.max_data_age_hours:g} h)"
        if plex and self.analytics.source == AnalyticsSource.PLEX:
            return (
                "play data comes from Plex's own counts, which do not cover every user"
            )
        return None

    def _evaluation(self, unit: _Unit, tests: list[_Test]) -> Evaluation:
        """Run every test on a unit and keep what each saw."""
        checks = []
        for test in tests:
            outcome = test.outcome(unit)
            seen, note = test.describe(unit, outcome)
            checks.append(Check(test.condition, seen, test.threshold, outcome, note))
        verdict: Verdict = (
            "no_match"
            if any(check.outcome == FAIL for check in checks)
            else "unknown"
            if any(check.outcome == UNKNOWN for check in checks)
            else "match"
        )
        return Evaluation(
            rating_key=unit.key,
            level=unit.level,
            title=unit.title,
            verdict=verdict,
            trace=tuple(checks),
        )

    def _selected(self, rule: Rule) -> list[_Unit]:
        """Return the units of the rule's level in its libraries."""
        chosen = (
            self._level("movie") + self._level("show")
            if rule.level is None
            else self._level(rule.level)
        )
        if rule.sections is None:
            return chosen
        return [unit for unit in chosen if unit.section_id in rule.sections]

    def _level(self, level: str) -> list[_Unit]:
        """Build the units of one level once, with their plays."""
        if (units := self._units.get(level)) is not None:
            return units
        items = self._grouped()
        shows = items.shows

        def show_of(episode: PlexItem) -> PlexItem | None:
            """Return an episode's show, when the model has it."""
            return None if episode.show_key is None else shows.get(episode.show_key)

        if level == "movie":
            units = [self._single(level, m, None) for m in items.movies]
        elif level == "show":
            units = [
                self._unit(level, key, show, show, items.by_show.get(key, []))
                for key, show in shows.items()
            ]
        elif level == "season":
            units = [
                self._unit(level, key, files[0], show_of(files[0]), files)
                for key, files in items.by_season.items()
            ]
        else:
            units = [self._single(level, e, show_of(e)) for e in items.episodes]
        # Candidates come out oldest last play first (never played before that).
        units.sort(key=_play_order)
        self._units[level] = units
        return units

    def ranks(self, level: str) -> dict[int, tuple[int, int]]:
        """Rank a level's seasons or episodes within their show, newest first.

        Map each unit's key to its rank (1 for the newest; equals share a rank) and how
        many of its show's units have no number, any of which could be newer still.
        Specials, and units without a show or a number of their own, are not ranked.
        """
        if (ranks := self._ranks.get(level)) is not None:
            return ranks
        ranks = self._ranks[level] = {}
        by_show: defaultdict[int, list[_Unit]] = defaultdict(list)
        for unit in self._level(level):
            if unit.season != 0 and unit.show_key is not None:
                by_show[unit.show_key].append(unit)
        for units in by_show.values():
            placed = [
                ((unit.season, unit.episode if level == "episode" else 0), unit.key)
                for unit in units
                if unit.season is not None
                and (level != "episode" or unit.episode is not None)
            ]
            unplaced = len(units) - len(placed)
            placed.sort(reverse=True)
            rank, previous = 0, None
            for position, (place, key) in enumerate(placed, 1):
                if place != previous:
                    rank, previous = position, place
                ranks[key] = (rank, unplaced)
        return ranks

    def _grouped(self) -> _Grouped:
        """Sort the library's items once into movies, shows and episodes."""
        if self._items is not None:
            return self._items
        grouped = self._items = _Grouped()
        for item in self.library.items.values():
            if item.type == "movie":
                grouped.movies.append(item)
            elif item.type == "show":
                grouped.shows[item.rating_key] = item
            elif item.type == "episode":
                grouped.episodes.append(item)
                if item.show_key is not None:
                    grouped.by_show[item.show_key].append(item)
                if item.season_key is not None:
                    grouped.by_season[item.season_key].append(item)
        return grouped

    def _unit(
        self,
        level: str,
        key: int,
        item: PlexItem,
        show: PlexItem | None,
        files: list[PlexItem],
    ) -> _Unit:
        """Build a show or season unit from its item (a season: its first episode)."""
        title = item.title
        if level == "season":
            season = (
                "Specials" if item.season_index == 0 else f"Season {item.season_index}"
            )
            title = f"{show.title} · {season}" if show else season
        elif level == "episode" and show is not None:
            title = f"{show.title} · {item.title}"
        owner = show or item
        labels = {label.casefold() for f in (owner, *files) for label in f.labels}
        added = [item.added_at, *(f.added_at for f in files)]
        unit = _Unit(
            key=key,
            level=level,
            section_id=item.section_id,
            title=title,
            year=owner.year,
            added_at=max(added),
            first_added=min(added),
            size=sum(f.size for f in files),
            resolutions=tuple(f.resolution for f in files),
            codecs=tuple(f.video_codec for f in files),
            labels=tuple(sorted(labels)),
            files=tuple(f.rating_key for f in files),
            missing=sum(f.file_missing for f in files),
            media="movie" if level == "movie" else "tv",
            tmdb_id=owner.tmdb_id,
            tvdb_id=owner.tvdb_id,
            show_key=item.show_key if level == "season" else None,
            season=item.season_index if level == "season" else None,
        )
        if self.analytics is not None:
            _add_plays(unit, self.analytics.stats, files)
        return unit

    def _one(self, value: str | None) -> tuple[str | None]:
        """Return a shared one-value tuple: fewer objects for the garbage collector."""
        if (one := self._ones.get(value)) is None:
            one = self._ones[value] = (value,)
        return one

    def _single(self, level: str, item: PlexItem, show: PlexItem | None) -> _Unit:
        """Build the unit of a movie or episode (quicker than a group of one)."""
        labels = item.labels
        if show is not None and show.labels:
            labels = (*labels, *show.labels)
        owner = show or item
        unit = _Unit(
            key=item.rating_key,
            level=level,
            section_id=item.section_id,
            title=f"{show.title} · {item.title}" if show else item.title,
            year=owner.year,
            added_at=item.added_at,
            first_added=item.added_at,
            size=item.size,
            resolutions=self._one(item.resolution),
            codecs=self._one(item.video_codec),
            labels=tuple(sorted({label.casefold() for label in labels}))
            if labels
            else (),
            files=(),
            missing=int(item.file_missing),
            media="movie" if level == "movie" else "tv",
            tmdb_id=owner.tmdb_id,
            tvdb_id=owner.tvdb_id,
            show_key=item.show_key,
            season=item.season_index,
            episode=item.episode_index,
        )
        if self.analytics is not None and (
            found := self.analytics.stats.get(item.rating_key)
        ):
            unit.plays, unit.last_played, _ = found
            unit.undated = unit.last_played is None
        return unit

    def _request_index(self) -> dict[tuple[str, str, int], list[RequestRecord]]:
        """Index the requests by media type and id."""
        if self._requests is None:
            index: defaultdict[tuple[str, str, int], list[RequestRecord]] = defaultdict(
                list
            )
            for record in self.requests.records.values() if self.requests else ():
                if record.tmdb_id is not None:
                    index[record.media_type, "tmdb", record.tmdb_id].append(record)
                if record.tvdb_id is not None:
                    index[record.media_type, "tvdb", record.tvdb_id].append(record)
            self._requests = dict(index)
        return self._requests

    def requests_for(self, unit: _Unit) -> list[RequestRecord] | None:
        """Return a unit's requests; None without request data or an id to match."""
        if self.requests is None or (unit.tmdb_id is None and unit.tvdb_id is None):
            return None
        index = self._request_index()
        by_tmdb = index.get((unit.media, "tmdb", unit.tmdb_id or 0), [])
        by_tvdb = index.get((unit.media, "tvdb", unit.tvdb_id or 0), [])
        if not by_tvdb or not by_tmdb:
            return by_tmdb or by_tvdb
        return list({r.request_id: r for r in (*by_tmdb, *by_tvdb)}.values())

    def _compile(self, rule: Rule) -> list[_Test]:
        """Turn a rule into tests, conditions first, then exclusions."""
        return [
            factory(self, rule)
            for present, factory in (
                (rule.not_played_days is not None, _not_played),
                (rule.never_played_added_days is not None, _never_played_added),
                (rule.never_played, _never_played),
                (rule.max_plays is not None, _max_plays),
                (rule.added_more_than_days is not None, _added_before),
                (rule.min_size_gb is not None, _min_size),
                (rule.resolutions is not None, _resolutions),
                (rule.codecs is not None, _codecs),
                (rule.keep_last_episodes is not None, _keep_last_episodes),
                (rule.keep_last_seasons is not None, _keep_last_seasons),
                (True, _files),
                (True, _now_playing),
                (bool(rule.labels), _keep_labels),
                (rule.recently_added_days is not None, _recently_added),
                (rule.recently_requested_days is not None, _recently_requested),
                (rule.requested_by_unwatched, _requested_unwatched),
            )
            if present
        ]


def _history_note(ctx: RuleContext, start: int) -> str | None:
    """Say why plays from start on are not all known, or None when they are."""
    since = ctx.analytics.since if ctx.analytics else None
    if since is not None and since > start:
        return f"play data starts {_date(since)}, after {_date(start)}"
    return None


def _ever_played(since: int | None, unit: _Unit) -> bool | None:
    """Whether anyone played the unit; None when plays before the history are unknown."""
    if unit.plays:
        return True
    return None if since is not None and since > unit.first_added else False


def _unplayed_window(ctx: RuleContext, days: int) -> Callable[[_Unit], Outcome]:
    """Judge a unit by its plays: none, and not added, in the last N days."""
    start = int(ctx.now - days * DAY)
    gap = ctx.analytics is not None and (ctx.analytics.since or 0) > start

    def outcome(unit: _Unit) -> Outcome:
        last = unit.last_played
        if (last is not None and last >= start) or unit.added_at >= start:
            return FAIL
        return UNKNOWN if unit.undated or gap else PASS

    return outcome


def _not_played(ctx: RuleContext, rule: Rule) -> _Test:
    """Not played for N days: no play in the window, and added before it.

    With a threshold for never-played items, those are left to it: this test then
    judges played items only.
    """
    days = rule.not_played_days or 0
    start = int(ctx.now - days * DAY)
    problem = ctx.play_problem(rule, plex=True)
    gap = _history_note(ctx, start)
    window = _unplayed_window(ctx, days)
    split = rule.never_played_added_days is not None
    fresh = ctx.now - (rule.never_played_added_days or 0) * DAY
    since = ctx.analytics.since if ctx.analytics else None

    def outcome(unit: _Unit) -> Outcome:
        if problem is not None:
            return UNKNOWN
        if not split:
            return window(unit)
        played = _ever_played(since, unit)
        if played is False:
            return PASS
        result = window(unit)
        if played or result == PASS:
            return result
        # Perhaps never played: a failure stands only if it fails as never played too.
        return FAIL if result == FAIL and unit.added_at >= fresh else UNKNOWN

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        last = unit.last_played
        seen = None if last is None else int((ctx.now - last) // DAY)
        if result == UNKNOWN:
            history = _history_note(ctx, unit.first_added) if split else None
            return seen, problem or gap or history or "a play has no recorded time"
        if last is not None and (result == PASS or last >= start):
            return seen, f"last played {seen} days ago"
        added = int((ctx.now - unit.added_at) // DAY)
        if result == FAIL:
            return seen, f"added {added} days ago"
        if not split:
            return seen, f"never played, added {added} days ago"
        if _ever_played(since, unit) is None and since is not None:
            return seen, f"not played since play data starts ({_date(since)})"
        return seen, "never played"

    return _Test("not_played_days", days, outcome, describe)


def _never_played_added(ctx: RuleContext, rule: Rule) -> _Test:
    """A never-played item is added more than N days ago; played ones are left aside.

    Played items pass when not_played_days judges them, and fail without it.
    """
    days = rule.never_played_added_days or 0
    fresh = ctx.now - days * DAY
    problem = ctx.play_problem(rule, plex=True)
    since = ctx.analytics.since if ctx.analytics else None
    window = (
        None
        if rule.not_played_days is None
        else _unplayed_window(ctx, rule.not_played_days)
    )

    def outcome(unit: _Unit) -> Outcome:
        if problem is not None:
            return UNKNOWN
        played = _ever_played(since, unit)
        young = unit.added_at >= fresh
        if played is False:
            return FAIL if young else PASS
        if window is None:  # played items never qualify
            return FAIL if played or young else UNKNOWN
        if played or not young:
            return PASS
        # Perhaps played before the history: a failure stands if it fails as played.
        return FAIL if window(unit) == FAIL else UNKNOWN

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        added = int((ctx.now - unit.added_at) // DAY)
        if result == UNKNOWN:
            return added, problem or _history_note(ctx, unit.first_added) or ""
        played = _ever_played(since, unit)
        if played:
            return added, f"played {unit.plays} times"
        if played is None and since is not None:
            return added, f"not played since {_date(since)}, added {added} days ago"
        return added, f"never played, added {added} days ago"

    return _Test("never_played_added_days", days, outcome, describe)


def _never_played(ctx: RuleContext, rule: Rule) -> _Test:
    """Never played by anyone since the item was added."""
    problem = ctx.play_problem(rule, plex=True)
    since = ctx.analytics.since if ctx.analytics else None

    def outcome(unit: _Unit) -> Outcome:
        if problem is not None:
            return UNKNOWN
        played = _ever_played(since, unit)
        return FAIL if played else UNKNOWN if played is None else PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        if result == UNKNOWN:
            return None, problem or _history_note(ctx, unit.first_added) or ""
        if result == FAIL:
            return unit.plays, f"played {unit.plays} times"
        return 0, "never played"

    return _Test("never_played", True, outcome, describe)


def _max_plays(ctx: RuleContext, rule: Rule) -> _Test:
    """Played at most N times since the item was added."""
    limit = rule.max_plays or 0
    problem = ctx.play_problem(rule, plex=True)
    since = (ctx.analytics.since or 0) if ctx.analytics else 0

    def outcome(unit: _Unit) -> Outcome:
        if problem is not None:
            return UNKNOWN
        if unit.plays > limit:
            return FAIL
        return UNKNOWN if since > unit.first_added else PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        if result == UNKNOWN:
            return None, problem or _history_note(ctx, unit.first_added) or ""
        sign = ">" if result == FAIL else "≤"
        return unit.plays, f"{unit.plays} plays {sign} {limit}"

    return _Test("max_plays", limit, outcome, describe)


def _added_more_than(ctx: RuleContext, condition: str, days: int) -> _Test:
    """Pass when added more than N days ago (a show or season: its newest episode)."""
    start = ctx.now - days * DAY

    def outcome(unit: _Unit) -> Outcome:
        return PASS if unit.added_at < start else FAIL

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        age = int((ctx.now - unit.added_at) // DAY)
        return age, f"added {age} days ago"

    return _Test(condition, days, outcome, describe)


def _added_before(ctx: RuleContext, rule: Rule) -> _Test:
    """Added more than N days ago."""
    return _added_more_than(ctx, "added_more_than_days", rule.added_more_than_days or 0)


def _min_size(ctx: RuleContext, rule: Rule) -> _Test:
    """At least N GB (a show or season: all its episodes)."""
    size_gb = rule.min_size_gb or 0.0
    limit = size_gb * GB

    def outcome(unit: _Unit) -> Outcome:
        return PASS if unit.size >= limit else FAIL

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        seen = round(unit.size / GB, 2)
        sign = "≥" if result == PASS else "<"
        return seen, f"{seen:g} GB {sign} {size_gb:g} GB"

    return _Test("min_size_gb", size_gb, outcome, describe)


def _quality(condition: str, allowed: frozenset[str]) -> _Test:
    """Every file's value is one of those listed; a file without one is unknown."""
    values = attrgetter(condition)

    def outcome(unit: _Unit) -> Outcome:
        result = PASS
        for value in values(unit):
            if value is None:
                result = UNKNOWN
            elif value.casefold() not in allowed:
                return FAIL
        return result

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        seen = sorted({value or "unknown" for value in values(unit)})
        return seen, f"{condition} {', '.join(seen) or 'none'}"

    return _Test(condition, sorted(allowed), outcome, describe)


def _resolutions(ctx: RuleContext, rule: Rule) -> _Test:
    """Every file has one of the listed resolutions."""
    return _quality("resolutions", rule.resolutions or frozenset())


def _codecs(ctx: RuleContext, rule: Rule) -> _Test:
    """Every file has one of the listed video codecs."""
    return _quality("codecs", rule.codecs or frozenset())


def _newest(rank: int, thing: str) -> str:
    """Name a rank from the newest: the newest, the 2nd newest, the 13th newest."""
    if rank == 1:
        return f"the newest {thing}"
    suffix = (
        "th"
        if rank % 100 in (11, 12, 13)
        else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    )
    return f"the {rank}{suffix} newest {thing}"


def _keep_last(ctx: RuleContext, condition: str, level: str, count: int) -> _Test:
    """Pass when not among the N newest of its show (Specials never are)."""
    ranks = ctx.ranks(level)

    def outcome(unit: _Unit) -> Outcome:
        if unit.season == 0:
            return PASS
        if (found := ranks.get(unit.key)) is None:
            return UNKNOWN
        rank, unplaced = found
        if rank > count:
            return PASS
        return FAIL if rank + unplaced <= count else UNKNOWN

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        if unit.season == 0:
            return None, "Specials never count among the newest"
        if (found := ranks.get(unit.key)) is None:
            if unit.show_key is None:
                return None, "not linked to a show"
            return (
                None,
                f"its {'season' if level == 'season' else 'episode'} number is unknown",
            )
        rank, unplaced = found
        place = _newest(rank, level)
        if result == PASS:
            return rank, f"{place}, not among the last {count} kept"
        if result == FAIL:
            return rank, f"{place}, among the last {count} kept"
        return rank, (
            f"{place} of those numbered, but {unplaced} {level}"
            f"{'s have' if unplaced != 1 else ' has'} no number"
        )

    return _Test(condition, count, outcome, describe)


def _keep_last_episodes(ctx: RuleContext, rule: Rule) -> _Test:
    """Not one of the N newest episodes of its show."""
    return _keep_last(
        ctx, "keep_last_episodes", "episode", rule.keep_last_episodes or 0
    )


def _keep_last_seasons(ctx: RuleContext, rule: Rule) -> _Test:
    """Not one of the N newest seasons of its show."""
    return _keep_last(ctx, "keep_last_seasons", "season", rule.keep_last_seasons or 0)


def _files(ctx: RuleContext, rule: Rule) -> _Test:
    """Every file is present: a missing one may be an unmounted disk."""

    def outcome(unit: _Unit) -> Outcome:
        return UNKNOWN if unit.missing else PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        if unit.missing:
            return unit.missing, f"{_episodes(unit.missing)}: the disk may be offline"
        return 0, "all files present"

    return _Test("files_present", 0, outcome, describe)


def _now_playing(ctx: RuleContext, rule: Rule) -> _Test:
    """Not being played right now."""
    playing = ctx.now_playing

    def outcome(unit: _Unit) -> Outcome:
        if playing and (unit.key in playing or not playing.isdisjoint(unit.files)):
            return FAIL
        return PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        if result == FAIL:
            return True, "playing now"
        return False, "not playing now"

    return _Test("now_playing", False, outcome, describe)


def _keep_labels(ctx: RuleContext, rule: Rule) -> _Test:
    """Carries none of the excluding labels (on the item, its show or an episode)."""
    labels = rule.labels

    def outcome(unit: _Unit) -> Outcome:
        return FAIL if unit.labels and not labels.isdisjoint(unit.labels) else PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        seen = list(unit.labels)
        if result == FAIL:
            return seen, f"labelled {', '.join(sorted(labels.intersection(seen)))}"
        return seen, "no excluding label"

    return _Test("labels", sorted(labels), outcome, describe)


def _recently_added(ctx: RuleContext, rule: Rule) -> _Test:
    """Not added in the last N days."""
    return _added_more_than(ctx, "recently_added_days", rule.recently_added_days or 0)


def _recently_requested(ctx: RuleContext, rule: Rule) -> _Test:
    """Not requested in Overseerr in the last N days."""
    days = rule.recently_requested_days or 0
    start = ctx.now - days * DAY

    def outcome(unit: _Unit) -> Outcome:
        records = ctx.requests_for(unit)
        if records is None:
            return UNKNOWN
        return FAIL if any(r.created_at >= start for r in records) else PASS

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        records = ctx.requests_for(unit)
        if records is None:
            return None, _no_requests(ctx)
        if not records:
            return None, "never requested"
        age = int((ctx.now - max(r.created_at for r in records)) // DAY)
        return age, f"requested {age} days ago"

    return _Test("recently_requested_days", days, outcome, describe)


def _requested_unwatched(ctx: RuleContext, rule: Rule) -> _Test:
    """Not requested by someone who has not watched it yet.

    Play data counts users but does not name them: an item requested and played by
    someone may or may not have been played by its requester, so it stays unknown.
    """
    plex = ctx.analytics is not None and ctx.analytics.source == AnalyticsSource.PLEX
    problem = ctx.play_problem(rule)

    def outcome(unit: _Unit) -> Outcome:
        records = ctx.requests_for(unit)
        if records is None:
            return UNKNOWN
        if not records:
            return PASS
        if problem or plex or unit.plays or unit.undated:
            return UNKNOWN
        oldest = int(min(r.created_at for r in records))
        return UNKNOWN if _history_note(ctx, oldest) else FAIL

    def describe(unit: _Unit, result: Outcome) -> tuple[Value, str]:
        records = ctx.requests_for(unit)
        if records is None:
            return None, _no_requests(ctx)
        if not records:
            return None, "never requested"
        users = sorted({r.requested_by for r in records})
        who = ", ".join(users)
        if problem:
            return users, problem
        if result == FAIL:
            return users, f"requested by {who}, not watched yet"
        if plex:
            return users, f"requested by {who}; Plex's counts do not say who watched"
        if unit.plays:
            return users, f"requested by {who}; play data does not say who watched"
        oldest = int(min(r.created_at for r in records))
        return users, _history_note(ctx, oldest) or "a play has no recorded time"

    return _Test("requested_by_unwatched", True, outcome, describe)


def _no_requests(ctx: RuleContext) -> str:
    """Say why an item's requests cannot be looked up."""
    if ctx.requests is None:
        return "request data from Overseerr is unavailable"
    return "no tmdb or tvdb id to match requests by"


def _candidate(
    unit: _Unit, evaluation: Evaluation, *, remove_empty_show: bool = False
) -> Candidate:
    """Turn a matching unit into a candidate."""
    return Candidate(
        rating_key=unit.key,
        level=unit.level,
        title=unit.title,
        year=unit.year,
        size=unit.size,
        last_played=unit.last_played,
        why=evaluation.reason,
        trace=evaluation.trace,
        section_id=unit.section_id,
        keys=(unit.key, *unit.files),
        tmdb_id=unit.tmdb_id,
        tvdb_id=unit.tvdb_id,
        show_key=unit.show_key,
        season=unit.season,
        episode=unit.episode,
        remove_empty_show=remove_empty_show,
    )


def _play_order(unit: _Unit) -> tuple[int, int]:
    """Sort key: last play (never played first), then rating key."""
    return unit.last_played or 0, unit.key


def _add_plays(
    unit: _Unit, stats: Mapping[int, tuple[int, int | None, int]], files: list[PlexItem]
) -> None:
    """Set a unit's plays: its episodes' summed, or a show's own count if higher."""
    found = [s for f in files if (s := stats.get(f.rating_key))]
    own = stats.get(unit.key) if unit.level in ("show", "season") else None
    unit.plays = max(sum(s[0] for s in found), own[0] if own else 0)
    if own:
        found.append(own)
    dated = [s[1] for s in found if s[1] is not None]
    unit.last_played = max(dated, default=None)
    unit.undated = len(dated) < len(found)


def evaluate(
    rule: Rule,
    library: LibraryModel,
    analytics: AnalyticsModel | None,
    *,
    analytics_age: float | None,
    requests: RequestStore | None,
    now_playing: frozenset[int],
    now: float,
) -> RuleResult:
    """Apply one rule; use RuleContext to apply several to the same inputs."""
    context = RuleContext(
        library,
        analytics,
        analytics_age=analytics_age,
        requests=requests,
        now_playing=now_playing,
        now=now,
    )
    return context.evaluate(rule)


def explain(
    rule: Rule,
    item_key: int,
    library: LibraryModel,
    analytics: AnalyticsModel | None,
    *,
    analytics_age: float | None,
    requests: RequestStore | None,
    now_playing: frozenset[int],
    now: float,
) -> Evaluation | None:
    """Return one item's trace under a rule, matched or not; None if not at its level."""
    context = RuleContext(
        library,
        analytics,
        analytics_age=analytics_age,
        requests=requests,
        now_playing=now_playing,
        now=now,
    )
    return context.explain(rule, item_key)
