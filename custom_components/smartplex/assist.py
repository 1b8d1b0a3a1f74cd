"""What Assist's answers and the LLM tools are made of: one source for both."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import re
import time
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation

from .api import PlexItem, SmartPlexApiError
from .cleanup.plan import ItemState, PlanItem
from .cleanup.rules import Candidate, Rule, RuleError, RuleResult
from .const import CONF_CAPACITY_GB, DOMAIN
from .coordinator import SmartPlexConfigEntry, async_rule_context
from .health import HealthStatus, ServiceHealth
from .library import LibraryModel
from .plausibility import ImplausibleDataError
from .requests import RequestRecord, RequestState

GB = 1_000_000_000  # decimal, as the size sensors show it
DAY = 86_400
SERVICE_REQUEST_DELETION = "request_deletion"
_PUNCTUATION = re.compile(r"[^\w\s]")
_TRAILING_YEAR = re.compile(
    r"^(?P<title>.+?)\s+(?:from\s+|von\s+|aus\s+)?(?P<year>(?:19|20)\d\d)$"
)


class AssistError(Exception):
    """An answer that is a refusal or a question: a text key and its placeholders.

    Placeholders holding lists are alternatives the user can choose from.
    """

    def __init__(self, key: str, **placeholders: str | Sequence[str]) -> None:
        """Name the text and fill it."""
        super().__init__(key)
        self.key = key
        self.placeholders = placeholders


@dataclass(frozen=True, slots=True)
class Texts:
    """SmartPlex's spoken texts in one language (English fills any gap)."""

    strings: Mapping[str, str]

    def __call__(self, key: str, **placeholders: object) -> str:
        """Return one text with its placeholders filled."""
        return self.strings[f"component.{DOMAIN}.common.voice_{key}"].format(
            **placeholders
        )

    def error(self, err: AssistError) -> str:
        """Say a refusal or a question; lists become 'a, b or c'."""
        return self(
            err.key,
            **{
                name: value if isinstance(value, str) else self.join(value, "or")
                for name, value in err.placeholders.items()
            },
        )

    def number(self, value: float, digits: int = 0) -> str:
        """Write a number with the language's separators."""
        text = f"{value:,.{digits}f}"
        return text.translate(
            str.maketrans(",.", self("thousands_mark") + self("decimal_mark"))
        )

    def size(self, size: float) -> str:
        """Say a size in bytes as decimal gigabytes, like the sensors."""
        gigabytes = size / GB
        return self("size_gb", value=self.number(gigabytes, 1 if gigabytes < 10 else 0))

    def count(self, noun: str, count: int) -> str:
        """Say a count with its noun in the right number ('1 movie', '2 movies')."""
        form = "one" if count == 1 else "other"
        return self(f"{noun}_{form}", count=self.number(count))

    def duration(self, seconds: float) -> str:
        """Say a duration in the largest sensible unit."""
        minutes = int(seconds // 60)
        if minutes < 1:
            return self("less_than_a_minute")
        if minutes < 120:
            return self.count("minute", minutes)
        if minutes < 48 * 60:
            return self.count("hour", minutes // 60)
        return self.count("day", minutes // (24 * 60))

    def join(self, parts: Sequence[str], conjunction: str = "and") -> str:
        """Join 'a, b and c' (or 'a, b or c')."""
        if len(parts) < 2:
            return "".join(parts)
        return f"{', '.join(parts[:-1])} {self(conjunction)} {parts[-1]}"


async def async_texts(hass: HomeAssistant, language: str) -> Texts:
    """Load the spoken texts of a language."""
    return Texts(
        await translation.async_get_translations(hass, language, "common", [DOMAIN])
    )


def normalized(text: str) -> str:
    """Compare spoken and written names: no case, punctuation or extra spaces."""
    return " ".join(_PUNCTUATION.sub(" ", text.casefold()).split())


def pick_entry(hass: HomeAssistant, server: str | None = None) -> SmartPlexConfigEntry:
    """Return the loaded entry meant: the only one, or the one named."""
    entries: list[SmartPlexConfigEntry] = hass.config_entries.async_loaded_entries(
        DOMAIN
    )
    if not entries:
        raise AssistError("not_set_up")
    titles = [entry.title for entry in entries]
    if server:
        for entry in entries:
            if server in {entry.entry_id, entry.title} or normalized(
                server
            ) == normalized(entry.title):
                return entry
        raise AssistError("unknown_server", server=server, servers=titles)
    if len(entries) > 1:
        raise AssistError("which_server", servers=titles)
    return entries[0]


def pick_name(spoken: str, names: Sequence[str], kind: str) -> str:
    """Return the name meant: equal when normalized, else the only one containing it."""
    wanted = normalized(spoken)
    for name in names:
        if normalized(name) == wanted:
            return name
    containing = [name for name in names if wanted in normalized(name)]
    if len(containing) == 1:
        return containing[0]
    if containing:
        raise AssistError(f"which_{kind}", choices=containing)
    raise AssistError(f"unknown_{kind}", name=spoken, choices=list(names))


# --- Storage ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryUsage:
    """One Plex library: its titles and bytes."""

    name: str
    type: str
    titles: int
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageReport:
    """What the media takes, the configured capacity and the disks' free space."""

    media_size: int
    capacity: int | None
    free: int | None
    total: int | None
    libraries: list[LibraryUsage]


def storage_report(entry: SmartPlexConfigEntry) -> StorageReport:
    """Describe storage from the synced model and the disks Sonarr and Radarr see."""
    data = entry.runtime_data
    if not data.library.last_update_success:
        raise AssistError("plex_unavailable", server=entry.title)
    model = data.library.model
    libraries = sorted(
        (
            LibraryUsage(
                name=section.title,
                type=section.type,
                titles=model.titles(section.id),
                size=model.breakdown(section.id).size,
            )
            for section in model.sections.values()
        ),
        key=lambda library: -library.size,
    )
    capacity = entry.options.get(CONF_CAPACITY_GB)
    free = total = None
    if data.storage is not None and data.storage.last_update_success:
        free = sum(disk.free for disk in data.storage.data)
        total = sum(disk.total for disk in data.storage.data)
    return StorageReport(
        media_size=model.breakdown().size,
        capacity=int(capacity * GB) if capacity else None,
        free=free,
        total=total,
        libraries=libraries,
    )


# --- Cleanup candidates -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidateReport:
    """What the named rules would remove, just enough for a target when one is set."""

    rules: list[str]
    candidates: list[Candidate]
    size: int
    never_played: int
    available: int  # bytes of every candidate, target or not
    refused: dict[str, str] = field(default_factory=dict)


def named_rule_results(
    entry: SmartPlexConfigEntry, rule: str | None = None
) -> list[RuleResult]:
    """Return the latest results of one named rule (as spoken) or of every one."""
    coordinator = entry.runtime_data.rules
    if coordinator is None or not coordinator.rules:
        raise AssistError("no_rules")
    names = [configured.name for configured in coordinator.rules]
    chosen = [pick_name(rule, names, "rule")] if rule else names
    if not coordinator.last_update_success or coordinator.data is None:
        raise AssistError("rules_unavailable")
    return [coordinator.data[name] for name in chosen if name in coordinator.data]


async def async_rule_result(
    hass: HomeAssistant, entry: SmartPlexConfigEntry, rule: Mapping[str, Any]
) -> RuleResult:
    """Apply a rule given as data to the library now, as find_candidates does."""
    try:
        parsed = Rule.from_dict(rule)
    except RuleError as err:
        raise AssistError("invalid_rule", field=err.field, problem=err.key) from err
    try:
        context = await async_rule_context(entry.runtime_data)
    except SmartPlexApiError as err:
        raise AssistError("plex_unavailable", server=entry.title) from err
    except ImplausibleDataError as err:
        raise AssistError("data_implausible", reason=err.reason) from err
    return await hass.async_add_executor_job(context.evaluate, parsed)


def configured_rule_name(entry: SmartPlexConfigEntry, spoken: str) -> str:
    """Return the name of the configured rule meant by a spoken or typed name."""
    coordinator = entry.runtime_data.rules
    if coordinator is None or not coordinator.rules:
        raise AssistError("no_rules")
    return pick_name(spoken, [rule.name for rule in coordinator.rules], "rule")


def merge_candidates(
    results: Sequence[RuleResult], target: int | None = None
) -> CandidateReport:
    """Merge rules' candidates, never-played and oldest play first; stop at a target.

    It traces every match: call it in the executor.
    """
    refused = {result.rule: result.refused for result in results if result.refused}
    usable = [result for result in results if not result.refused]
    if not usable:
        name, reason = next(iter(refused.items()), ("", ""))
        raise AssistError("rule_refused", rule=name, reason=reason)
    merged: dict[int, Candidate] = {}
    for result in usable:
        for candidate in result.candidates:
            merged.setdefault(candidate.rating_key, candidate)
    ordered = sorted(
        merged.values(),
        key=lambda c: (c.last_played is not None, c.last_played or 0, -c.size),
    )
    selected: list[Candidate] = []
    size = 0
    for candidate in ordered:
        if target is not None and size >= target:
            break
        selected.append(candidate)
        size += candidate.size
    return CandidateReport(
        rules=[result.rule for result in usable],
        candidates=selected,
        size=size,
        never_played=sum(1 for c in selected if c.last_played is None),
        available=sum(c.size for c in ordered),
        refused=refused,
    )


def candidate_noun(candidates: Iterable[Candidate]) -> str:
    """Return the noun for a group of candidates: their level, or 'title' when mixed."""
    levels = {candidate.level for candidate in candidates}
    return levels.pop() if len(levels) == 1 else "title"


# --- Requests ---------------------------------------------------------------------


def requests_report(
    entry: SmartPlexConfigEntry,
    *,
    status: RequestState | None = None,
    days: int | None = None,
    now: float | None = None,
) -> list[RequestRecord]:
    """Return Overseerr requests, newest first, in a state and within some days."""
    coordinator = entry.runtime_data.requests
    if coordinator is None:
        raise AssistError("no_overseerr")
    store = coordinator.requests
    records = store.query(state=status, limit=len(store.records))
    if days is not None:
        since = (time.time() if now is None else now) - days * DAY
        records = [record for record in records if record.created_at >= since]
    return records


def request_titles(
    entry: SmartPlexConfigEntry, records: Iterable[RequestRecord]
) -> dict[int, str]:
    """Name requests: their own title, else the library's title of the same ids."""
    titles = {record.request_id: record.title for record in records if record.title}
    missing = [record for record in records if not record.title]
    if missing:
        known: dict[tuple[str, int | None], str] = {}
        for item in entry.runtime_data.library.model.items.values():
            if item.type == "movie":
                known[("movie", item.tmdb_id)] = item.title
            elif item.type == "show":
                known[("tv", item.tvdb_id)] = item.title
        for record in missing:
            key = (
                ("movie", record.tmdb_id)
                if record.media_type == "movie"
                else ("tv", record.tvdb_id)
            )
            if title := known.get(key):
                titles[record.request_id] = title
    return titles


# --- Health -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceState:
    """One service's health as a sentence needs it."""

    name: str
    kind: str
    status: HealthStatus
    reason: str | None
    since: float | None
    warnings: tuple[str, ...]


def _since(health: ServiceHealth) -> float | None:
    """Return when a failing service entered its present state, as history tells."""
    if health.status is HealthStatus.OK:
        return None
    since = None
    for when, status, _reason in reversed(health.history):
        if status != health.status:
            break
        since = when
    return since if since is not None else health.last_failure


def health_report(
    entry: SmartPlexConfigEntry, kind: str | None = None
) -> list[ServiceState]:
    """Return Plex's and every service's state, optionally of one kind only."""
    return [
        ServiceState(
            name=health.name,
            kind=health.kind,
            status=health.status,
            reason=health.reason,
            since=_since(health),
            warnings=health.warnings,
        )
        for health in entry.runtime_data.health.health.values()
        if kind is None or health.kind == kind
    ]


# --- Upcoming deletions (the cleanup engine's schedule) ----------------------------


def upcoming_deletions(entry: SmartPlexConfigEntry) -> list[PlanItem]:
    """Return the quarantined items of confirmed plans, soonest purge first."""
    cleanup = entry.runtime_data.cleanup
    if cleanup is None:
        return []
    waiting = [
        item
        for plan in cleanup.journal.active()
        for item in plan.items
        if item.state == ItemState.QUARANTINED and item.purge_at is not None
    ]
    return sorted(waiting, key=lambda item: item.purge_at or 0.0)


# --- Titles and plans -------------------------------------------------------------


def find_titles(model: LibraryModel, spoken: str) -> list[PlexItem]:
    """Return the movies and shows named so; a trailing year narrows the choice."""
    wanted = normalized(spoken)
    titles = [
        item
        for item in model.items.values()
        if item.type in {"movie", "show"} and normalized(item.title) == wanted
    ]
    if titles or not (match := _TRAILING_YEAR.match(wanted)):
        return titles
    title, year = normalized(match["title"]), int(match["year"])
    return [
        item
        for item in model.items.values()
        if item.type in {"movie", "show"}
        and item.year == year
        and normalized(item.title) == title
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSummary:
    """A deletion plan as the request_deletion action answered it."""

    plan_id: str | None  # None for a dry run or an empty plan: nothing is kept
    code: str | None
    items: int
    size: int
    needs_acknowledge: bool
    titles: list[str]
    expires: Any
    dry_run: bool


async def async_request_plan(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    selection: Mapping[str, Any],
    *,
    dry_run: bool,
    context: Context | None,
) -> PlanSummary:
    """Ask smartplex.request_deletion for a plan: a plan only, never a confirmation."""
    if not hass.services.has_service(DOMAIN, SERVICE_REQUEST_DELETION):
        raise AssistError("plans_unavailable")
    try:
        response = await hass.services.async_call(
            DOMAIN,
            SERVICE_REQUEST_DELETION,
            {ATTR_CONFIG_ENTRY_ID: entry.entry_id, **selection, "dry_run": dry_run},
            blocking=True,
            context=context,
            return_response=True,
        )
    except HomeAssistantError as err:
        raise AssistError("plan_failed", error=str(err)) from err
    if not response:
        raise AssistError("plan_failed", error="no plan")
    answer: dict[str, Any] = dict(response)
    items = answer.get("items") or []
    count = answer.get("item_count", items if isinstance(items, int) else len(items))
    titles = answer.get("titles") or [
        item["title"] for item in items if isinstance(item, dict) and "title" in item
    ]
    size = answer.get("total_size")
    return PlanSummary(
        plan_id=str(answer["plan_id"]) if answer.get("plan_id") else None,
        code=str(answer["code"]) if answer.get("code") else None,
        items=int(count),
        size=int(size if size is not None else float(answer.get("total_gb", 0)) * GB),
        needs_acknowledge=bool(answer.get("needs_acknowledge")),
        titles=[str(title) for title in titles],
        expires=answer.get("expires"),
        dry_run=bool(answer.get("dry_run", dry_run)),
    )
