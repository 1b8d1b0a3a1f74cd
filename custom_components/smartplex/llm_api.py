"""An LLM API for conversation agents: SmartPlex's read tools and deletion plans.

LLM-backed agents (OpenAI, Anthropic, Ollama, ...) list "SmartPlex" among their APIs.
The tools read what SmartPlex knows and may create a deletion plan; none confirms
one, and the plan's spoken code is never given to the model: people confirm plans.
"""

from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv, llm
import probatio

from .api import ServiceKind
from .assist import (
    GB,
    AssistError,
    async_request_plan,
    async_rule_result,
    async_texts,
    configured_rule_name,
    disk_free,
    find_titles,
    health_report,
    merge_candidates,
    named_rule_results,
    pick_entry,
    request_titles,
    requests_report,
    rule_to_free,
    storage_report,
    upcoming_deletions,
)
from .cleanup.rules import Candidate
from .const import DOMAIN
from .coordinator import SmartPlexConfigEntry
from .requests import RequestState

API_NAME = "SmartPlex"
API_PROMPT = (
    "SmartPlex tools answer questions about the Plex media server{servers}: storage, "
    "cleanup candidates, Overseerr requests, service health and scheduled deletions. "
    "Sizes are decimal gigabytes (GB). plex_request_deletion only creates a plan; "
    "nothing is deleted until the user confirms the plan in the SmartPlex "
    "notification or app. You cannot confirm plans; never claim something was "
    "deleted."
)
MAX_LISTED = 50
_READ = llm.ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=False
)
_SERVER = probatio.Optional(
    "server", description="The Plex server's name; only needed when there are several"
)


@callback
def async_setup_llm_api(hass: HomeAssistant) -> None:
    """Offer the SmartPlex API to conversation agents (once, for every entry)."""
    llm.async_register_api(hass, SmartPlexAPI(hass=hass, id=DOMAIN, name=API_NAME))


class SmartPlexAPI(llm.API):
    """SmartPlex's tools for LLM-backed conversation agents."""

    @override
    async def async_get_api_instance(
        self, llm_context: llm.LLMContext
    ) -> llm.APIInstance:
        """Return the tools and a prompt naming the loaded Plex servers."""
        titles = [
            entry.title
            for entry in self.hass.config_entries.async_loaded_entries(DOMAIN)
        ]
        return llm.APIInstance(
            api=self,
            api_prompt=API_PROMPT.format(
                servers=f" ({', '.join(titles)})" if titles else ""
            ),
            llm_context=llm_context,
            tools=[tool() for tool in TOOLS],
            custom_serializer=llm.selector_serializer,
        )


def _gb(size: float) -> float:
    """Return bytes as decimal GB with one decimal."""
    return round(size / GB, 1)


def _iso(timestamp: float | None) -> str | None:
    """Return an epoch time as ISO 8601 (UTC)."""
    return (
        None
        if timestamp is None
        else datetime.fromtimestamp(timestamp, UTC).isoformat()
    )


class SmartPlexTool(llm.Tool):
    """A SmartPlex tool: checks its arguments, answers with data or a clear error."""

    integration = DOMAIN
    annotations = _READ

    @override
    async def async_call(
        self,
        hass: HomeAssistant,
        tool_input: llm.ToolInput,
        llm_context: llm.LLMContext,
    ) -> llm.ToolResult:
        """Validate the arguments, run the tool, and explain any refusal."""
        try:
            args = self.parameters(tool_input.tool_args)
        except probatio.Invalid as err:
            return llm.ToolResult(
                data={"error": "invalid_arguments", "message": str(err)}, error=True
            )
        try:
            entry = pick_entry(hass, args.get("server"))
            data = await self.async_run(hass, entry, args, llm_context)
        except AssistError as err:
            texts = await async_texts(
                hass, llm_context.language or hass.config.language
            )
            error: dict[str, Any] = {"error": err.key, "message": texts.error(err)}
            error |= {
                name: list(value)
                for name, value in err.placeholders.items()
                if not isinstance(value, str | HomeAssistantError)
            }
            return llm.ToolResult(data=error, error=True)
        return llm.ToolResult(data=data)

    @abstractmethod
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Return the tool's result."""


class StorageTool(SmartPlexTool):
    """Media size, capacity, free disk space and size per library."""

    name = "plex_storage"
    title = "Plex storage"
    description = (
        "How much space Plex media takes, the share of the configured capacity, the "
        "free space of the disks, and titles and size per library."
    )
    parameters = probatio.Schema({_SERVER: cv.string})

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Describe storage."""
        report = storage_report(entry)
        return {
            "server": entry.title,
            "media_size_gb": _gb(report.media_size),
            "capacity_gb": _gb(report.capacity) if report.capacity else None,
            "used_percent": round(100 * report.media_size / report.capacity, 1)
            if report.capacity
            else None,
            "free_gb": _gb(report.free) if report.free is not None else None,
            "disks_total_gb": _gb(report.total) if report.total else None,
            "libraries": [
                {
                    "name": library.name,
                    "type": library.type,
                    "titles": library.titles,
                    "size_gb": _gb(library.size),
                }
                for library in report.libraries
            ],
        }


def _candidate(candidate: Candidate) -> dict[str, Any]:
    """Describe one candidate."""
    return {
        "rating_key": candidate.rating_key,
        "title": candidate.title,
        "year": candidate.year,
        "level": candidate.level,
        "size_gb": _gb(candidate.size),
        "last_played": _iso(candidate.last_played),
        "why": candidate.why,
    }


_RULE_DESCRIPTION = (
    "A rule given as data, e.g. {'name': 'Old movies', 'level': 'movie', "
    "'not_played_days': 365, 'min_size_gb': 5}; levels movie, show, season, episode; "
    "conditions not_played_days, never_played, max_plays, added_more_than_days, "
    "min_size_gb, resolutions, codecs"
)


class CandidatesTool(SmartPlexTool):
    """What cleanup rules would remove, optionally just enough to free some space."""

    name = "plex_cleanup_candidates"
    title = "Plex cleanup candidates"
    description = (
        "What SmartPlex's cleanup rules would remove (deletes nothing). Without a rule, "
        "every configured rule is used; free_gb picks just enough titles to free "
        "that much, never-watched and longest-unwatched first."
    )
    parameters = probatio.Schema(
        {
            _SERVER: cv.string,
            probatio.Exclusive(
                "rule_name", "rule", description="The name of a configured rule"
            ): cv.string,
            probatio.Exclusive("rule", "rule", description=_RULE_DESCRIPTION): dict,
            probatio.Optional(
                "free_gb", description="How much space to free, in GB"
            ): probatio.All(probatio.Coerce(float), probatio.Range(min=0.1, max=1e6)),
            probatio.Optional("limit", default=10): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_LISTED)
            ),
        }
    )

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Evaluate and summarize."""
        results = (
            [await async_rule_result(hass, entry, args["rule"])]
            if "rule" in args
            else named_rule_results(entry, args.get("rule_name"))
        )
        target = int(args["free_gb"] * GB) if "free_gb" in args else None
        report = await hass.async_add_executor_job(merge_candidates, results, target)
        return {
            "rules": report.rules,
            "refused": report.refused,
            "count": len(report.candidates),
            "total_gb": _gb(report.size),
            "never_watched": report.never_played,
            "all_candidates_gb": _gb(report.available),
            "target_reached": None if target is None else report.size >= target,
            "candidates": [_candidate(c) for c in report.candidates[: args["limit"]]],
        }


class RequestsTool(SmartPlexTool):
    """Overseerr requests, newest first."""

    name = "plex_requests"
    title = "Plex requests"
    description = (
        "Overseerr requests SmartPlex knows, newest first: title, who asked, state "
        "and when; filter by state and by how many days back they were made."
    )
    parameters = probatio.Schema(
        {
            _SERVER: cv.string,
            probatio.Optional("status"): probatio.In([str(s) for s in RequestState]),
            probatio.Optional(
                "days", description="Only requests made in the last N days"
            ): probatio.All(probatio.Coerce(int), probatio.Range(min=1, max=3650)),
            probatio.Optional("limit", default=10): probatio.All(
                probatio.Coerce(int), probatio.Range(min=1, max=MAX_LISTED)
            ),
        }
    )

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """List the requests."""
        status = args.get("status")
        records = requests_report(
            entry,
            status=RequestState(status) if status else None,
            days=args.get("days"),
        )
        listed = records[: args["limit"]]
        titles = request_titles(entry, listed)
        return {
            "total": len(records),
            "requests": [
                {
                    "title": titles.get(record.request_id),
                    "media_type": record.media_type,
                    "requested_by": record.requested_by,
                    "status": str(record.status),
                    "created": _iso(record.created_at),
                    "updated": _iso(record.updated_at),
                }
                for record in listed
            ],
        }


class HealthTool(SmartPlexTool):
    """Whether Plex and each service answer, and since when they do not."""

    name = "plex_service_health"
    title = "Plex service health"
    description = (
        "Health of Plex, Sonarr, Radarr, Tautulli and Overseerr as SmartPlex checks "
        "them: ok, degraded, error, auth_failed or disabled, the reason and since when."
    )
    parameters = probatio.Schema(
        {
            _SERVER: cv.string,
            probatio.Optional("service"): probatio.In([str(k) for k in ServiceKind]),
        }
    )

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Describe each service's state."""
        return {
            "services": [
                {
                    "name": state.name,
                    "service": state.kind,
                    "status": str(state.status),
                    "reason": state.reason,
                    "since": _iso(state.since),
                    "warnings": list(state.warnings),
                }
                for state in health_report(entry, args.get("service"))
            ]
        }


class UpcomingTool(SmartPlexTool):
    """What confirmed plans will delete, and when."""

    name = "plex_upcoming_deletions"
    title = "Upcoming Plex deletions"
    description = (
        "Titles of confirmed plans waiting in 'Leaving soon' for their deletion, "
        "soonest first, with size and time."
    )
    parameters = probatio.Schema({_SERVER: cv.string})

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """List the scheduled deletions."""
        return {
            "deletions": [
                {
                    "title": item.title,
                    "size_gb": _gb(item.size),
                    "deleted_at": _iso(item.purge_at),
                }
                for item in upcoming_deletions(entry)[:MAX_LISTED]
            ],
        }


class RequestDeletionTool(SmartPlexTool):
    """Create a deletion plan; the user confirms it elsewhere."""

    name = "plex_request_deletion"
    title = "Plan a Plex deletion"
    description = (
        "Create a deletion plan for a title, some rating keys or a rule (dry_run only "
        "previews). With free_gb, a rule's plan takes just enough of its candidates "
        "to free that much space. This deletes nothing: the user confirms the plan in "
        "the SmartPlex notification or app. Tell the user that."
    )
    annotations = llm.ToolAnnotations(
        read_only=False, destructive=False, idempotent=False, open_world=False
    )
    parameters = probatio.Schema(
        {
            _SERVER: cv.string,
            probatio.Exclusive(
                "title", "what", description="A movie or show title"
            ): cv.string,
            probatio.Exclusive(
                "rating_keys", "what", description="Rating keys of candidates"
            ): probatio.All(
                [probatio.All(probatio.Coerce(int), probatio.Range(min=1))],
                probatio.Length(min=1, max=1000),
            ),
            probatio.Exclusive(
                "rule_name", "what", description="The name of a configured rule"
            ): cv.string,
            probatio.Exclusive("rule", "what", description=_RULE_DESCRIPTION): dict,
            probatio.Optional(
                "year", description="The title's year, when several share a title"
            ): probatio.All(probatio.Coerce(int), probatio.Range(min=1800, max=2200)),
            probatio.Optional(
                "free_gb",
                description="Space to free, in GB, with rule_name or rule (or the "
                "only configured rule)",
            ): probatio.All(probatio.Coerce(float), probatio.Range(min=0.1, max=1e6)),
            probatio.Optional("dry_run", default=False): cv.boolean,
        }
    )

    @override
    async def async_run(
        self,
        hass: HomeAssistant,
        entry: SmartPlexConfigEntry,
        args: dict[str, Any],
        llm_context: llm.LLMContext,
    ) -> dict[str, Any]:
        """Create the plan and describe it, without its confirmation code."""
        selection = (
            _freeing(entry, args) if "free_gb" in args else _selection(entry, args)
        )
        plan = await async_request_plan(
            hass,
            entry,
            selection,
            dry_run=args["dry_run"],
            context=llm_context.context,
        )
        result = {
            "plan_id": plan.plan_id,
            "dry_run": plan.dry_run,
            "items": plan.items,
            "total_gb": _gb(plan.size),
            "needs_acknowledge": plan.needs_acknowledge,
            "expires": plan.expires,
            "titles": plan.titles,
            "skipped": [
                {"title": title, "reason": reason}
                for title, reason in plan.skipped[:MAX_LISTED]
            ],
            "confirmation": "Only the user can confirm this plan, in the SmartPlex "
            "notification or app; nothing is deleted before that.",
        }
        if "free_gb" in args and plan.free_before is not None:
            result |= {
                "free_before_gb": _gb(plan.free_before),
                "free_after_gb": _gb(plan.free_before + plan.size),
                "frees_less_than_asked": plan.size < args["free_gb"] * GB,
            }
        return result


def _freeing(entry: SmartPlexConfigEntry, args: Mapping[str, Any]) -> dict[str, Any]:
    """Choose a rule's candidates that free free_gb.

    request_deletion's target is the free space to reach: today's plus free_gb.
    """
    if "title" in args or "rating_keys" in args:
        raise AssistError("free_needs_rule")
    selection: dict[str, Any] = (
        {"rule": args["rule"]}
        if "rule" in args
        else {"rule_name": rule_to_free(entry, args.get("rule_name"))}
    )
    target = disk_free(entry) + args["free_gb"] * GB
    return selection | {"target_free_gb": target / GB}


def _selection(entry: SmartPlexConfigEntry, args: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the tool's arguments into request_deletion's selection."""
    if "title" in args:
        if not entry.runtime_data.library.last_update_success:
            raise AssistError("plex_unavailable", server=entry.title)
        found = find_titles(entry.runtime_data.library.model, args["title"])
        if "year" in args:
            found = [item for item in found if item.year == args["year"]]
        if not found:
            raise AssistError("title_not_found", title=args["title"])
        if len(found) > 1:
            raise AssistError(
                "which_title",
                choices=[f"{item.title} ({item.year})" for item in found],
            )
        return {"rating_keys": [found[0].rating_key]}
    if "rule_name" in args:
        return {"rule_name": configured_rule_name(entry, args["rule_name"])}
    for key in ("rating_keys", "rule"):
        if key in args:
            return {key: args[key]}
    raise AssistError("what_to_delete")


TOOLS: tuple[type[SmartPlexTool], ...] = (
    StorageTool,
    CandidatesTool,
    RequestsTool,
    HealthTool,
    UpcomingTool,
    RequestDeletionTool,
)
