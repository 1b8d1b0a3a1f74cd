"""What Assist's answers and the LLM tools are made of: one source for both."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import re
import time
from typing import Any

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import translation
from homeassistant.util import dt as dt_util

from .api import PlexItem, SmartPlexApiError
from .cleanup.plan import OPEN_ITEM_STATES, ItemState, Plan, PlanItem, PlanState
from .cleanup.rules import Candidate, Rule, RuleError, RuleResult
from .const import CONF_CAPACITY_GB, DOMAIN
from .coordinator import SmartPlexConfigEntry, async_rule_context, disks_free
from .health import HealthStatus, ServiceHealth
from .library import LibraryModel
from .plausibility import ImplausibleDataError
from .requests import RequestRecord, RequestState
from .services import SERVICE_REQUEST_DELETION

GB = 1_000_000_000  # decimal, as the size sensors show it
DAY = 86_400
_PUNCTUATION = re.compile(r"[^\w\s]")
_TRAILING_YEAR = re.compile(
    r"^(?P<title>.+?)\s+(?:from\s+|von\s+|aus\s+)?(?P<year>(?:19|20)\d\d)$"
)


type Placeholder = str | Sequence[str] | HomeAssistantError

# Reasons the cleanup engine and its rules give in English, from a fixed set: each
# pattern's text is said in the asker's language, its groups filling the placeholders.
REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"play data is unavailable", "reason_play_data_unavailable"),
        (r"play data has never been synced", "reason_play_data_never_synced"),
        (
            r"play data is stale \(age (?P<age>[\d.]+) h > (?P<limit>[\d.]+) h\)",
            "reason_play_data_stale",
        ),
        (
            r"play data comes from Plex's own counts, which do not cover every user",
            "reason_play_data_plex_counts",
        ),
        (r"request data from Overseerr is unavailable", "reason_requests_unavailable"),
        (
            r"library (?P<library>\S+) is not in the synced model",
            "reason_library_missing",
        ),
        (r"playing now", "reason_playing_now"),
        (r"labelled (?P<labels>.+)", "reason_labelled"),
        (
            r"(?P<count>\d+) files? missing: the disk may be offline",
            "reason_files_missing",
        ),
        (r"not in the library", "reason_not_in_library"),
        (r"already in confirmed plan \w+", "reason_in_confirmed_plan"),
        (
            r"(?P<service>radarr|sonarr) is disabled after repeated failures",
            "reason_service_disabled",
        ),
        (
            r"no (?P<id>tmdb|tvdb) id to match (?P<service>radarr|sonarr) by",
            "reason_no_external_id",
        ),
        (
            r"(?P<service>radarr|sonarr) lookup failed: (?P<error>.+)",
            "reason_lookup_failed",
        ),
        (
            r"(?P<service>radarr|sonarr) has no season (?P<season>\d+)",
            "reason_no_season",
        ),
        (
            r"several (?P<service>radarr|sonarr) instances manage it",
            "reason_several_managers",
        ),
        (
            r"no Radarr or Sonarr manages it and Plex does not allow media deletion",
            "reason_no_manager",
        ),
    )
)
_REASON_NUMBERS = {"age", "limit"}
_REASON_CASES = {"service": str.capitalize, "id": str.upper}


class AssistError(Exception):
    """An answer that is a refusal or a question: a text key and its placeholders.

    Placeholders holding lists are alternatives the user can choose from; one holding
    an action's error is said in the asker's language; one named `reason` holding an
    engine's reason too, when it is one of the known ones.
    """

    def __init__(self, key: str, **placeholders: Placeholder) -> None:
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
                name: self._filled(name, value)
                for name, value in err.placeholders.items()
            },
        )

    def _filled(self, name: str, value: Placeholder) -> str:
        """Say one placeholder of a refusal."""
        if isinstance(value, HomeAssistantError):
            return self.exception(value)
        if isinstance(value, str):
            return self.reason(value) if name == "reason" else value
        return self.join(value, "or")

    def exception(self, err: HomeAssistantError) -> str:
        """Say a SmartPlex action's refusal in this language (HA words it in English)."""
        key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
        if err.translation_domain != DOMAIN or key not in self.strings:
            return str(err)
        placeholders = {
            name: self.reason(value) if name == "reason" else value
            for name, value in (err.translation_placeholders or {}).items()
        }
        return self.strings[key].format(**placeholders).rstrip(".")

    def reason(self, reason: str) -> str:
        """Say the engine's reasons (parts joined by '; ') where each is a known one."""
        return "; ".join(self._reason(part) for part in reason.split("; "))

    def _reason(self, reason: str) -> str:
        """Say one reason in this language, or as it is when it is not a known one."""
        for pattern, key in REASONS:
            if (found := pattern.fullmatch(reason)) is None:
                continue
            values = found.groupdict()
            for name in _REASON_NUMBERS & values.keys():
                values[name] = values[name].replace(".", self("decimal_mark"))
            for name, case in _REASON_CASES.items():
                if name in values:
                    values[name] = case(values[name])
            return self(key, **values)
        return reason

    def date(self, moment: datetime) -> str:
        """Say a day in the local time zone, with its year when not this year's."""
        local = dt_util.as_local(moment)
        month = self("months").split(",")[local.month - 1]
        if local.year == dt_util.now().year:
            return self("date", day=local.day, month=month)
        return self("date_with_year", day=local.day, month=month, year=local.year)

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
    """Load the spoken texts of a language, and its messages of refused actions."""
    strings: dict[str, str] = {}
    for category in ("common", "exceptions"):
        strings |= await translation.async_get_translations(
            hass, language, category, [DOMAIN]
        )
    return Texts(strings)


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


def active_plans(entry: SmartPlexConfigEntry) -> Iterable[Plan]:
    """Return the entry's plans that may still change something."""
    cleanup = entry.runtime_data.cleanup
    return () if cleanup is None else cleanup.journal.active()


def upcoming_deletions(entry: SmartPlexConfigEntry) -> list[PlanItem]:
    """Return the quarantined items of confirmed plans, soonest purge first."""
    waiting = [
        item
        for plan in active_plans(entry)
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


def disk_free(entry: SmartPlexConfigEntry) -> int:
    """Return the free bytes of the disks Sonarr and Radarr see, or refuse."""
    if (free := disks_free(entry.runtime_data)) is None:
        raise AssistError("free_space_unknown", server=entry.title)
    return free


def rule_to_free(entry: SmartPlexConfigEntry, spoken: str | None) -> str:
    """Return the rule that frees space: the one named, else the only one there is."""
    if spoken:
        return configured_rule_name(entry, spoken)
    coordinator = entry.runtime_data.rules
    if coordinator is None or not coordinator.rules:
        raise AssistError("no_rules")
    names = [rule.name for rule in coordinator.rules]
    if len(names) > 1:
        raise AssistError("which_rule_to_free", choices=names, rule=names[0])
    return names[0]


def speakable(title: str) -> str:
    """Say a season's or episode's title ('Show · Season 2' reads 'Show, Season 2')."""
    return title.replace(" · ", ", ")


def _named(items: Sequence[PlanItem], spoken: str) -> list[PlanItem]:
    """Pick the items named so: the same name, a trailing year, else a part of it."""
    wanted = normalized(spoken)
    exact = [item for item in items if normalized(item.title) == wanted]
    if exact:
        return exact
    if match := _TRAILING_YEAR.match(wanted):
        title, year = normalized(match["title"]), int(match["year"])
        dated = [
            item
            for item in items
            if item.year == year and normalized(item.title) == title
        ]
        if dated:
            return dated
    return [item for item in items if f" {wanted} " in f" {normalized(item.title)} "]


def find_leaving(
    entry: SmartPlexConfigEntry, spoken: str
) -> list[tuple[Plan, PlanItem]]:
    """Return the items of confirmed plans, in or on their way to "Leaving soon", named so.

    An item that waits for its quarantine (a retry, say) is leaving all the same.
    """
    leaving = [
        (plan, item)
        for plan in active_plans(entry)
        if plan.state in (PlanState.CONFIRMED, PlanState.HELD)
        for item in plan.items
        if item.state in OPEN_ITEM_STATES
    ]
    chosen = {id(item) for item in _named([item for _, item in leaving], spoken)}
    return [(plan, item) for plan, item in leaving if id(item) in chosen]


def pending_code(entry: SmartPlexConfigEntry, spoken: str) -> str | None:
    """Return the code of a plan awaiting confirmation that holds a title named so."""
    for plan in active_plans(entry):
        if plan.state == PlanState.PENDING and _named(plan.items, spoken):
            return plan.code
    return None


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
    skipped: list[tuple[str, str]]  # title and why, of what the plan leaves out
    free_before: int | None


async def async_plan_action(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    service: str,
    data: Mapping[str, Any],
    context: Context | None,
    *,
    failed: str,
    **placeholders: str,
) -> dict[str, Any]:
    """Call one of SmartPlex's plan actions for an entry; a refusal is an answer.

    `failed` names the answer when the action fails; the placeholders fill it.
    """
    if not hass.services.has_service(DOMAIN, service):
        raise AssistError("plans_unavailable")
    try:
        response = await hass.services.async_call(
            DOMAIN,
            service,
            {ATTR_CONFIG_ENTRY_ID: entry.entry_id, **data},
            blocking=True,
            context=context,
            return_response=True,
        )
    except HomeAssistantError as err:
        refusal = err.translation_placeholders or {}
        if err.translation_domain == DOMAIN and err.translation_key == "rule_refused":
            raise AssistError(
                "rule_refused",
                rule=refusal.get("rule", ""),
                reason=refusal.get("reason", ""),
            ) from err
        if (
            err.translation_domain == DOMAIN
            and err.translation_key == failed
            and "error" in refusal
        ):  # the action's refusal is the answer's own: say only its cause
            raise AssistError(failed, error=refusal["error"], **placeholders) from err
        raise AssistError(failed, error=err, **placeholders) from err
    if not response:
        raise AssistError(failed, error="no plan", **placeholders)
    return dict(response)


async def async_request_plan(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    selection: Mapping[str, Any],
    *,
    dry_run: bool,
    context: Context | None,
) -> PlanSummary:
    """Ask smartplex.request_deletion for a plan: a plan only, never a confirmation."""
    answer = await async_plan_action(
        hass,
        entry,
        SERVICE_REQUEST_DELETION,
        {**selection, "dry_run": dry_run},
        context,
        failed="plan_failed",
    )
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
        skipped=[
            (str(skip.get("title") or ""), str(skip.get("reason") or ""))
            for skip in answer.get("skipped") or []
        ],
        free_before=answer.get("free_before"),
    )
