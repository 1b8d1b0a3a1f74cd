"""Assist intents of SmartPlex: short spoken answers, plans by voice, codes to confirm.

Home Assistant's intent integration calls `async_setup_intents` once SmartPlex is
loaded (this module is SmartPlex's intent platform). The sentences that lead here ship
in `sentences/<language>/smartplex.yaml`.
"""

from abc import ABC, abstractmethod
from datetime import datetime
import time
from typing import Any, ClassVar, override

from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
import probatio

from .api import ServiceKind
from .assist import (
    GB,
    AssistError,
    PlanSummary,
    ServiceState,
    Texts,
    async_plan_action,
    async_request_plan,
    async_texts,
    candidate_noun,
    configured_rule_name,
    disk_free,
    find_leaving,
    find_titles,
    health_report,
    merge_candidates,
    named_rule_results,
    normalized,
    pending_code,
    pick_entry,
    request_titles,
    requests_report,
    rule_to_free,
    speakable,
    storage_report,
    upcoming_deletions,
)
from .cleanup.plan import Plan, PlanItem
from .const import DOMAIN
from .coordinator import SmartPlexConfigEntry
from .health import HealthStatus
from .requests import RequestState
from .services import SERVICE_CONFIRM_DELETION, SERVICE_POSTPONE, SERVICE_RESTORE

INTENT_STORAGE = "SmartPlexStorage"
INTENT_CANDIDATES = "SmartPlexCandidates"
INTENT_REQUESTS = "SmartPlexRequests"
INTENT_HEALTH = "SmartPlexHealth"
INTENT_UPCOMING = "SmartPlexUpcoming"
INTENT_REQUEST_DELETION = "SmartPlexRequestDeletion"
INTENT_CONFIRM_PLAN = "SmartPlexConfirmPlan"
INTENT_FREE_SPACE = "SmartPlexFreeSpace"
INTENT_RESTORE = "SmartPlexRestore"
INTENT_POSTPONE = "SmartPlexPostpone"
# The platform of Assist's own sentence matching: only a spoken sentence confirms.
SENTENCE_PLATFORM = "conversation"
MAX_LISTED = 5
PERIOD_DAYS = {"today": 1, "week": 7, "month": 30}
DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "null": "0",
    "eins": "1",
    "zwei": "2",
    "zwo": "2",
    "drei": "3",
    "vier": "4",
    "fünf": "5",
    "sechs": "6",
    "sieben": "7",
    "acht": "8",
    "neun": "9",
}


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register SmartPlex's intents (once, for every entry)."""
    for handler in (
        StorageIntent(),
        CandidatesIntent(),
        RequestsIntent(),
        HealthIntent(),
        UpcomingIntent(),
        RequestDeletionIntent(),
        FreeSpaceIntent(),
        ConfirmPlanIntent(),
        RestoreIntent(),
        PostponeIntent(),
    ):
        intent.async_register(hass, handler)


class SmartPlexIntentHandler(intent.IntentHandler, ABC):
    """Answer in the asker's language; refusals and questions are answers too."""

    response_type = intent.IntentResponseType.QUERY_ANSWER
    slots: ClassVar[dict[Any, Any]] = {}

    @property
    @override
    def slot_schema(self) -> dict[Any, Any]:
        """Every intent may name the Plex server; the rest is the intent's own."""
        return {probatio.Optional("server"): intent.non_empty_string, **self.slots}

    @override
    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Say the answer, or why there is none."""
        slots = {
            name: slot["value"]
            for name, slot in self.async_validate_slots(intent_obj.slots).items()
        }
        texts = await async_texts(intent_obj.hass, intent_obj.language)
        response = intent_obj.create_response()
        try:
            speech = await self.async_answer(intent_obj, slots, texts)
        except AssistError as err:
            response.async_set_error(
                intent.IntentResponseErrorCode.FAILED_TO_HANDLE, texts.error(err)
            )
            return response
        response.response_type = self.response_type
        response.async_set_speech(speech)
        return response

    @abstractmethod
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Return what to say."""


class StorageIntent(SmartPlexIntentHandler):
    """How much the media takes, of what capacity, and what the disks have free."""

    intent_type = INTENT_STORAGE
    description = "Tells how much space Plex media uses and how much is free"

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Say used, share of capacity, free space and the largest libraries."""
        report = storage_report(pick_entry(intent_obj.hass, slots.get("server")))
        parts = [texts("storage_used", used=texts.size(report.media_size))]
        if report.capacity:
            parts.append(
                texts(
                    "storage_capacity",
                    percent=texts.number(100 * report.media_size / report.capacity),
                    capacity=texts.size(report.capacity),
                )
            )
        if report.free is not None and report.total:
            parts.append(
                texts(
                    "storage_free",
                    free=texts.size(report.free),
                    total=texts.size(report.total),
                )
            )
        if len(report.libraries) > 1:
            libraries = [
                texts("library_size", name=library.name, size=texts.size(library.size))
                for library in report.libraries[:MAX_LISTED]
            ]
            parts.append(texts("storage_libraries", libraries=texts.join(libraries)))
        return " ".join(parts)


class CandidatesIntent(SmartPlexIntentHandler):
    """What the cleanup rules would remove, for one rule or to free some space."""

    intent_type = INTENT_CANDIDATES
    description = "Tells what SmartPlex's cleanup rules would remove; deletes nothing"
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Optional("rule"): intent.non_empty_string,
        probatio.Optional("size_gb"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=1_000_000)
        ),
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Say how much could be freed by removing how many titles, and how stale."""
        entry = pick_entry(intent_obj.hass, slots.get("server"))
        target = slots["size_gb"] * GB if "size_gb" in slots else None
        report = await intent_obj.hass.async_add_executor_job(
            merge_candidates, named_rule_results(entry, slots.get("rule")), target
        )
        count = len(report.candidates)
        if not count:
            return texts("no_candidates")
        parts = [
            texts(
                "candidates",
                size=texts.size(report.size),
                items=texts.count(candidate_noun(report.candidates), count),
            )
        ]
        if report.never_played == count:
            parts.append(texts("candidates_all_never"))
        elif report.never_played:
            parts.append(
                texts("candidates_some_never", count=texts.number(report.never_played))
            )
        if target is not None and report.size < target:
            parts.append(texts("candidates_short", target=texts.size(target)))
        if report.refused:
            parts.append(texts("rules_skipped", rules=texts.join(list(report.refused))))
        return " ".join(parts)


class RequestsIntent(SmartPlexIntentHandler):
    """Overseerr requests of a period or in a state."""

    intent_type = INTENT_REQUESTS
    description = "Lists recent Overseerr requests and their state"
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Optional("status"): probatio.In([str(s) for s in RequestState]),
        probatio.Optional("period"): probatio.In(list(PERIOD_DAYS)),
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Say how many requests and the first few titles with their state."""
        entry = pick_entry(intent_obj.hass, slots.get("server"))
        status = RequestState(slots["status"]) if "status" in slots else None
        period = slots.get("period", "week" if status is None else None)
        records = requests_report(
            entry, status=status, days=PERIOD_DAYS[period] if period else None
        )
        listed = records[:MAX_LISTED]
        known = request_titles(entry, listed)
        names = [
            known.get(record.request_id)
            or texts("request_untitled", id=record.request_id)
            for record in listed
        ]
        if status is not None:
            state = texts(f"request_{status}")
            if not records:
                return texts("requests_none_status", status=state)
            return texts(
                "requests_status",
                requests=texts.count("request", len(records)),
                status=state,
                titles=texts.join(_with_more(texts, names, len(records))),
            )
        when = texts(f"period_{period}")
        if not records:
            return texts("requests_none_recent", period=when)
        items = [
            texts("request_item", title=name, status=texts(f"request_{record.status}"))
            for name, record in zip(names, listed, strict=True)
        ]
        return texts(
            "requests_recent",
            requests=texts.count("request", len(records)),
            period=when,
            items=texts.join(_with_more(texts, items, len(records))),
        )


def _with_more(texts: Texts, listed: list[str], total: int) -> list[str]:
    """End a shortened list with 'n more'."""
    if total > len(listed):
        return [*listed, texts("more", count=texts.number(total - len(listed)))]
    return listed


class HealthIntent(SmartPlexIntentHandler):
    """Whether Plex and its services answer, and since when they do not."""

    intent_type = INTENT_HEALTH
    description = "Tells whether Plex, Sonarr, Radarr, Tautulli and Overseerr answer"
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Optional("service"): probatio.In([str(kind) for kind in ServiceKind]),
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Name what fails and for how long; otherwise say all is well."""
        entry = pick_entry(intent_obj.hass, slots.get("server"))
        kind = slots.get("service")
        states = health_report(entry, kind)
        if not states:
            raise AssistError("service_not_configured", service=str(kind).capitalize())
        failing = [state for state in states if state.status is not HealthStatus.OK]
        if not failing:
            if len(states) == 1:
                return texts("health_service_ok", name=states[0].name)
            return texts("health_all_ok", count=texts.number(len(states)))
        now = time.time()
        parts = [_health_sentence(texts, state, now) for state in failing]
        if len(failing) < len(states):
            parts.append(texts("health_rest_ok"))
        return " ".join(parts)


def _health_sentence(texts: Texts, state: ServiceState, now: float) -> str:
    """Say what is wrong with one service."""
    duration = texts.duration(max(0.0, now - (state.since or now)))
    match state.status:
        case HealthStatus.DEGRADED:
            return texts(
                "health_degraded", name=state.name, warning=state.reason or "?"
            )
        case HealthStatus.AUTH_FAILED:
            return texts("health_auth_failed", name=state.name, duration=duration)
        case HealthStatus.DISABLED:
            return texts("health_disabled", name=state.name)
        case _:
            return texts("health_error", name=state.name, duration=duration)


class UpcomingIntent(SmartPlexIntentHandler):
    """What the cleanup engine will delete next."""

    intent_type = INTENT_UPCOMING
    description = "Tells what SmartPlex will delete next and when"

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Say how many titles are scheduled, their size, and the next one."""
        upcoming = upcoming_deletions(pick_entry(intent_obj.hass, slots.get("server")))
        if not upcoming:
            return texts("upcoming_none")
        first = upcoming[0]
        return texts(
            "upcoming",
            titles=texts.count("title", len(upcoming)),
            size=texts.size(sum(item.size for item in upcoming)),
            next=first.title,
            duration=texts.duration(max(0.0, (first.purge_at or 0.0) - time.time())),
        )


class RequestDeletionIntent(SmartPlexIntentHandler):
    """Make a deletion plan for a title or a rule; nothing is deleted by this."""

    intent_type = INTENT_REQUEST_DELETION
    description = "Creates a deletion plan to confirm later; deletes nothing"
    response_type = intent.IntentResponseType.ACTION_DONE
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Exclusive("title", "what"): intent.non_empty_string,
        probatio.Exclusive("rule", "what"): intent.non_empty_string,
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Plan, then say the plan's code and how to confirm it."""
        hass = intent_obj.hass
        entry = pick_entry(hass, slots.get("server"))
        what: str | None = None
        if "title" in slots:
            if not entry.runtime_data.library.last_update_success:
                raise AssistError("plex_unavailable", server=entry.title)
            found = find_titles(entry.runtime_data.library.model, slots["title"])
            if not found:
                raise AssistError("title_not_found", title=slots["title"])
            if len(found) > 1:
                raise AssistError(
                    "which_title",
                    choices=[_title(texts, item.title, item.year) for item in found],
                )
            selection: dict[str, Any] = {"rating_keys": [found[0].rating_key]}
            what = _title(texts, found[0].title, found[0].year)
        elif "rule" in slots:
            selection = {"rule_name": configured_rule_name(entry, slots["rule"])}
        else:
            raise AssistError("what_to_delete")
        plan = await async_request_plan(
            hass, entry, selection, dry_run=False, context=intent_obj.context
        )
        return _plan_answer(texts, plan, what)


def _plan_answer(texts: Texts, plan: PlanSummary, what: str | None) -> str:
    """Say the plan's code and how to confirm it, or why it is empty."""
    if not plan.items or plan.code is None:
        parts = [texts("plan_empty")]
        if plan.skipped:
            title, reason = plan.skipped[0]
            parts.append(
                texts(
                    "plan_skipped",
                    title=speakable(title or what or ""),
                    reason=texts.reason(reason),
                )
            )
        if len(plan.skipped) > 1:
            parts.append(
                texts("plan_skipped_more", count=texts.number(len(plan.skipped) - 1))
            )
        return " ".join(parts)
    placeholders = {
        "code": " ".join(plan.code),
        "what": what or texts.count("title", plan.items),
        "size": texts.size(plan.size),
    }
    if plan.needs_acknowledge:
        return texts("plan_large", **placeholders)
    return texts("plan_created", **placeholders)


class FreeSpaceIntent(SmartPlexIntentHandler):
    """Make a plan that frees some space with a cleanup rule; nothing is deleted."""

    intent_type = INTENT_FREE_SPACE
    description = "Creates a deletion plan that frees some gigabytes; deletes nothing"
    response_type = intent.IntentResponseType.ACTION_DONE
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Required("size_gb"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=1_000_000)
        ),
        probatio.Optional("rule"): intent.non_empty_string,
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Plan to reach today's free space plus what was asked, then say the code.

        request_deletion's target is the free space to reach, not the space to free.
        """
        hass = intent_obj.hass
        entry = pick_entry(hass, slots.get("server"))
        wanted = slots["size_gb"] * GB
        rule = rule_to_free(entry, slots.get("rule"))
        target = disk_free(entry) + wanted
        plan = await async_request_plan(
            hass,
            entry,
            {"rule_name": rule, "target_free_gb": target / GB},
            dry_run=False,
            context=intent_obj.context,
        )
        answer = _plan_answer(texts, plan, None)
        if plan.items and plan.size < wanted:
            answer = f"{answer} {texts('plan_short', target=texts.size(wanted))}"
        return answer


def _title(texts: Texts, title: str, year: int | None) -> str:
    """Say a title with its year when it has one."""
    return texts("title_with_year", title=title, year=year) if year else title


def _pending_plan_by_code(entry: SmartPlexConfigEntry, code: str) -> Plan | None:
    """Return the entry's plan awaiting confirmation under this code, if any.

    The one place that knows how the cleanup engine finds a plan by its code.
    """
    cleanup = entry.runtime_data.cleanup
    if cleanup is None:
        return None
    plan = cleanup.find_pending_by_code(code)
    return plan if plan is not None and plan.code == code else None


def spoken_code(text: str) -> str | None:
    """Read a three-digit code said as digits or digit words ('4 7 2', 'four 7 two')."""
    digits = []
    for word in normalized(text).split():
        if word.isdigit():
            digits.append(word)
        elif word in DIGIT_WORDS:
            digits.append(DIGIT_WORDS[word])
        else:
            return None
    code = "".join(digits)
    return code if len(code) == 3 else None


class ConfirmPlanIntent(SmartPlexIntentHandler):
    """Confirm a pending plan by its spoken code; large plans only in the app."""

    intent_type = INTENT_CONFIRM_PLAN
    description = "Confirms a small deletion plan by its three-digit code"
    response_type = intent.IntentResponseType.ACTION_DONE
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Required("code"): intent.non_empty_string,
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Confirm only a sentence's code of one pending plan, never a large plan."""
        hass = intent_obj.hass
        if intent_obj.platform != SENTENCE_PLATFORM:
            raise AssistError("confirm_by_sentence_only")
        code = spoken_code(slots["code"])
        if code is None:
            raise AssistError("code_invalid")
        spoken = " ".join(code)
        found = [
            (entry, plan)
            for entry in hass.config_entries.async_loaded_entries(DOMAIN)
            if (plan := _pending_plan_by_code(entry, code)) is not None
        ]
        if not found:
            raise AssistError("code_unknown", code=spoken)
        if len(found) > 1:
            raise AssistError("code_ambiguous", code=spoken)
        entry, plan = found[0]
        size = texts.size(plan.total_gb * GB)
        if plan.needs_acknowledge:
            raise AssistError("plan_needs_acknowledge", code=spoken, size=size)
        if not hass.services.has_service(DOMAIN, SERVICE_CONFIRM_DELETION):
            raise AssistError("plans_unavailable")
        try:
            await hass.services.async_call(
                DOMAIN,
                SERVICE_CONFIRM_DELETION,
                {ATTR_CONFIG_ENTRY_ID: entry.entry_id, "plan_id": plan.id},
                blocking=True,
                context=intent_obj.context,
                return_response=hass.services.supports_response(
                    DOMAIN, SERVICE_CONFIRM_DELETION
                )
                is not SupportsResponse.NONE,
            )
        except HomeAssistantError as err:
            raise AssistError("confirm_failed", code=spoken, error=err) from err
        return texts(
            "plan_confirmed",
            code=spoken,
            titles=texts.count("title", len(plan.items)),
            size=size,
        )


def _leaving(
    texts: Texts, entry: SmartPlexConfigEntry, spoken: str
) -> tuple[Plan, PlanItem, str]:
    """Return the one title leaving Plex that is meant, with how to say it."""
    found = find_leaving(entry, spoken)
    if not found:
        if (code := pending_code(entry, spoken)) is not None:
            raise AssistError("only_pending", title=spoken, code=" ".join(code))
        raise AssistError("not_leaving", title=spoken)
    if len(found) > 1:
        raise AssistError(
            "which_leaving", choices=[_item_name(texts, item) for _, item in found]
        )
    plan, item = found[0]
    return plan, item, speakable(item.title)


def _item_name(texts: Texts, item: PlanItem) -> str:
    """Say a plan item's title, with the year of a movie or show."""
    year = item.year if item.level in ("movie", "show") else None
    return _title(texts, speakable(item.title), year)


class RestoreIntent(SmartPlexIntentHandler):
    """Take a title out of "Leaving soon": an undo, so no code is needed."""

    intent_type = INTENT_RESTORE
    description = "Keeps a title that is leaving Plex, so it is not deleted"
    response_type = intent.IntentResponseType.ACTION_DONE
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Required("title"): intent.non_empty_string,
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Restore the one item named and say it stays."""
        hass = intent_obj.hass
        entry = pick_entry(hass, slots.get("server"))
        plan, item, title = _leaving(texts, entry, slots["title"])
        await async_plan_action(
            hass,
            entry,
            SERVICE_RESTORE,
            {"plan_id": plan.id, "rating_keys": [item.key]},
            intent_obj.context,
            failed="restore_failed",
            title=title,
        )
        return texts("restored", title=title)


class PostponeIntent(SmartPlexIntentHandler):
    """Move a leaving title's deletion later: an undo of sorts, so no code is needed."""

    intent_type = INTENT_POSTPONE
    description = "Postpones the deletion of a title that is leaving Plex by some days"
    response_type = intent.IntentResponseType.ACTION_DONE
    slots: ClassVar[dict[Any, Any]] = {
        probatio.Required("title"): intent.non_empty_string,
        probatio.Required("days"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=365)
        ),
    }

    @override
    async def async_answer(
        self, intent_obj: intent.Intent, slots: dict[str, Any], texts: Texts
    ) -> str:
        """Postpone the one item named and say its new day."""
        hass = intent_obj.hass
        entry = pick_entry(hass, slots.get("server"))
        plan, item, title = _leaving(texts, entry, slots["title"])
        response = await async_plan_action(
            hass,
            entry,
            SERVICE_POSTPONE,
            {"plan_id": plan.id, "rating_keys": [item.key], "days": slots["days"]},
            intent_obj.context,
            failed="postpone_failed",
            title=title,
        )
        purge_at = next(
            moved["purge_at"]
            for moved in response["items"]
            if moved["rating_key"] == item.key
        )
        return texts(
            "postponed", title=title, date=texts.date(datetime.fromisoformat(purge_at))
        )
