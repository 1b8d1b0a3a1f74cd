"""The SmartPlex LLM API, driven as an LLM-backed conversation agent drives it."""

import json
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    Context,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import llm
from homeassistant.setup import async_setup_component
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.const import CONF_RULES, DOMAIN
from simulators import Fault, SimulatorStack

from .common import make_entry, setup_entry
from .fake_cleanup import GB, FakeItem, FakePlan, install

NEVER_WATCHED = {"name": "Never watched movies", "level": "movie", "never_played": True}
TOOLS = {
    "plex_storage",
    "plex_cleanup_candidates",
    "plex_requests",
    "plex_service_health",
    "plex_upcoming_deletions",
    "plex_request_deletion",
}


async def api(hass: HomeAssistant, language: str = "en") -> llm.APIInstance:
    """Get the API as a conversation agent does for one turn."""
    return await llm.async_get_api(
        hass,
        DOMAIN,
        llm.LLMContext(
            platform="test_agent",
            context=Context(),
            language=language,
            assistant="conversation",
            device_id=None,
        ),
    )


async def call(instance: llm.APIInstance, tool: str, **args: Any) -> llm.ToolResult:
    """Call a tool as the model would."""
    return await instance.async_call_tool(llm.ToolInput(tool_name=tool, tool_args=args))


async def with_rules(
    hass: HomeAssistant, stack: SimulatorStack, *services: ServiceKind
) -> MockConfigEntry:
    """Set up SmartPlex with a named rule."""
    entry = await make_entry(hass, stack, services)
    hass.config_entries.async_update_entry(entry, options={CONF_RULES: [NEVER_WATCHED]})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def never_played(stack: SimulatorStack) -> dict[int, int]:
    """Movies nobody played and not labelled keep: rating key to size (the truth)."""
    played = {play.rating_key for play in stack.world.plays}
    return {
        movie.rating_key: movie.file.size
        for movie in stack.world.movies.values()
        if movie.rating_key not in played and "keep" not in movie.labels and movie.file
    }


async def test_tool_list(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Six tools, each typed, tagged and describable to a model; none confirms."""
    entry = await setup_entry(hass, stack)
    assert DOMAIN in {registered.id for registered in llm.async_get_apis(hass)}
    instance = await api(hass)
    assert instance.api.name == "SmartPlex"
    assert entry.title in instance.api_prompt
    assert "You cannot confirm plans" in instance.api_prompt
    assert {tool.name for tool in instance.tools} == TOOLS
    for tool in instance.tools:
        assert tool.integration == DOMAIN
        assert tool.description
        schema = probatio.to_openapi(
            tool.parameters, custom_serializer=instance.custom_serializer
        )
        assert schema["type"] == "object"
        assert not {"code", "plan_id", "acknowledge_total_gb"} & set(
            schema.get("properties", {})
        )
        writes = tool.name == "plex_request_deletion"
        assert tool.annotations.read_only is not writes
        assert tool.annotations.destructive is False
    assert not any("confirm" in tool.name for tool in instance.tools)


async def test_storage_tool(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Sizes in GB from the synced model and the disks."""
    await setup_entry(hass, stack, (ServiceKind.RADARR,))
    result = await call(await api(hass), "plex_storage")
    assert not result.error
    world = stack.world
    movies = sum(m.file.size for m in world.movies.values() if m.file)
    shows = sum(e.file.size for e in world.episodes.values() if e.file)
    assert result.data["media_size_gb"] == round((movies + shows) / GB, 1)
    assert result.data["free_gb"] == round(sum(d.free for d in world.disks) / GB, 1)
    assert result.data["capacity_gb"] is None
    assert {lib["name"]: lib["size_gb"] for lib in result.data["libraries"]} == {
        "Movies": round(movies / GB, 1),
        "TV Shows": round(shows / GB, 1),
    }


async def test_health_tool(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Every service's state; one kind on request."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.TAUTULLI))
    instance = await api(hass)
    result = await call(instance, "plex_service_health")
    assert {s["service"]: s["status"] for s in result.data["services"]} == {
        "plex": "ok",
        "sonarr": "ok",
        "tautulli": "ok",
    }
    stack.sonarr.set_fault(Fault.SERVER_ERROR)
    await entry.runtime_data.health.async_refresh()
    result = await call(instance, "plex_service_health", service="sonarr")
    [sonarr] = result.data["services"]
    assert sonarr["status"] == "error"
    assert sonarr["since"] is not None
    assert sonarr["reason"]


async def test_requests_tool(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Requests with titles (from the library when Overseerr's list has none)."""
    await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    instance = await api(hass)
    result = await call(instance, "plex_requests", limit=50)
    world = stack.world
    expected = {
        request.id: (world.movies if request.media_type == "movie" else world.shows)[
            request.rating_key
        ].title
        for request in world.requests
    }
    assert result.data["total"] == len(expected)
    assert {r["title"] for r in result.data["requests"]} == set(expected.values())
    result = await call(instance, "plex_requests", status="pending")
    assert {r["status"] for r in result.data["requests"]} == {"pending"}
    result = await call(instance, "plex_requests", days=1)
    assert result.data == {"total": 0, "requests": []}


async def test_candidates_tool(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Named or inline rules; a size target takes just enough, largest first."""
    await with_rules(hass, stack, ServiceKind.TAUTULLI)
    truth = never_played(stack)
    instance = await api(hass)
    named = await call(instance, "plex_cleanup_candidates", rule_name="never watched")
    inline = await call(
        instance, "plex_cleanup_candidates", rule=NEVER_WATCHED, limit=50
    )
    for result in (named, inline):
        assert not result.error
        assert result.data["count"] == len(truth)
        assert result.data["never_watched"] == len(truth)
        assert result.data["total_gb"] == round(sum(truth.values()) / GB, 1)
    assert {c["rating_key"] for c in inline.data["candidates"]} == set(truth)
    assert len(named.data["candidates"]) == min(10, len(truth))
    largest = max(truth.values())
    targeted = await call(
        instance, "plex_cleanup_candidates", free_gb=largest / GB - 0.5
    )
    assert targeted.data["count"] == 1
    assert targeted.data["candidates"][0]["size_gb"] == round(largest / GB, 1)
    assert targeted.data["target_reached"] is True


async def test_candidates_fail_closed(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Tautulli a play rule is refused; a broken rule is explained."""
    await with_rules(hass, stack)
    instance = await api(hass)
    refused = await call(instance, "plex_cleanup_candidates")
    assert refused.error
    assert refused.data["error"] == "rule_refused"
    assert "Never watched movies" in refused.data["message"]
    broken = await call(
        instance, "plex_cleanup_candidates", rule={"name": "x", "level": "album"}
    )
    assert broken.error
    assert broken.data["error"] == "invalid_rule"
    unknown = await call(instance, "plex_cleanup_candidates", rule_name="zebras")
    assert unknown.data["error"] == "unknown_rule"
    assert unknown.data["choices"] == ["Never watched movies"]


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("plex_requests", {"limit": 0}),
        ("plex_requests", {"limit": "many"}),
        ("plex_requests", {"status": "lost"}),
        ("plex_requests", {"days": -1}),
        ("plex_storage", {"bogus": 1}),
        ("plex_service_health", {"service": "kodi"}),
        ("plex_cleanup_candidates", {"rule_name": "a", "rule": {"name": "b"}}),
        ("plex_cleanup_candidates", {"free_gb": 0}),
        ("plex_request_deletion", {"title": "A", "rule_name": "B"}),
        ("plex_request_deletion", {"rating_keys": []}),
        ("plex_request_deletion", {"rating_keys": ["x"]}),
        ("plex_request_deletion", {"plan_id": "0" * 32}),
        ("plex_request_deletion", {"title": "A", "confirm": True}),
        ("plex_request_deletion", {"rule_name": "A", "free_gb": 0}),
        ("plex_request_deletion", {"rule_name": "A", "free_gb": "lots"}),
    ],
)
async def test_argument_validation(
    hass: HomeAssistant, stack: SimulatorStack, tool: str, args: dict[str, Any]
) -> None:
    """Arguments outside a tool's schema are refused with the reason, before any work."""
    entry = await setup_entry(hass, stack)
    services = install(hass, entry)
    result = await call(await api(hass), tool, **args)
    assert result.error
    assert result.data["error"] == "invalid_arguments"
    assert result.data["message"]
    assert services.requested == []


async def test_request_deletion_tool(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A plan for a title, keys or a rule; the model never sees the plan's code."""
    movies = [m for m in stack.world.movies.values() if m.file][:2]
    for movie, year in zip(movies, (1984, 2021), strict=True):
        movie.title, movie.year = "Dune", year
    entry = await with_rules(hass, stack, ServiceKind.TAUTULLI)
    services = install(hass, entry)
    instance = await api(hass)
    ambiguous = await call(instance, "plex_request_deletion", title="dune")
    assert ambiguous.error
    assert ambiguous.data["choices"] == ["Dune (1984)", "Dune (2021)"]
    assert services.requested == []
    result = await call(instance, "plex_request_deletion", title="Dune", year=2021)
    assert not result.error
    assert result.data["items"] == 1
    assert result.data["total_gb"] == round(movies[1].file.size / GB, 1)
    assert "472" not in json.dumps(result.data)
    assert "code" not in result.data
    await call(instance, "plex_request_deletion", rule_name="never", dry_run=True)
    await call(instance, "plex_request_deletion", rating_keys=[movies[0].rating_key])
    await call(instance, "plex_request_deletion", rule=NEVER_WATCHED)
    assert [
        {k: v for k, v in req.items() if k != "config_entry_id"}
        for req in services.requested
    ] == [
        {"rating_keys": [movies[1].rating_key], "dry_run": False},
        {"rule_name": "Never watched movies", "dry_run": True},
        {"rating_keys": [movies[0].rating_key], "dry_run": False},
        {"rule": NEVER_WATCHED, "dry_run": False},
    ]
    assert services.confirmed == []
    missing = await call(instance, "plex_request_deletion")
    assert missing.data["error"] == "what_to_delete"
    nothing = await call(instance, "plex_request_deletion", title="Dune", year=1999)
    assert nothing.data["error"] == "title_not_found"


async def test_request_deletion_without_the_action(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Before the deletion actions exist, the tool says plans are not available."""
    await setup_entry(hass, stack)
    hass.services.async_remove(DOMAIN, "request_deletion")
    result = await call(await api(hass), "plex_request_deletion", rating_keys=[1])
    assert result.data["error"] == "plans_unavailable"


async def test_upcoming_tool(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Quarantined items of confirmed plans, soonest first."""
    entry = await setup_entry(hass, stack)
    instance = await api(hass)
    result = await call(instance, "plex_upcoming_deletions")
    assert result.data == {"deletions": []}
    now = time.time()
    install(
        hass,
        entry,
        plans=[
            FakePlan(
                "p",
                "111",
                [
                    FakeItem("Later", 3 * GB, "quarantined", now + 7200),
                    FakeItem("Sooner", 2 * GB, "quarantined", now + 3600),
                ],
                state="confirmed",
            )
        ],
    )
    result = await call(instance, "plex_upcoming_deletions")
    assert [d["title"] for d in result.data["deletions"]] == ["Sooner", "Later"]
    assert result.data["deletions"][0]["size_gb"] == 2.0


async def test_no_tool_call_confirms_a_plan(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Whatever the model sends, no plan is confirmed and no code is looked up."""
    entry = await with_rules(hass, stack, ServiceKind.TAUTULLI)
    plan = FakePlan("0123456789abcdef0123456789abcdef", "472", [FakeItem("A", GB)])
    services = install(hass, entry, plans=[plan])
    instance = await api(hass)
    attempts: list[dict[str, Any]] = [
        {},
        {"code": "472"},
        {"plan_id": plan.id},
        {"confirm": True, "code": "472", "plan_id": plan.id},
        {"acknowledge_total_gb": 1.0},
        {"rule_name": "never watched"},
        {"title": "A"},
        {"rating_keys": [1, 2, 3]},
        {"free_gb": 10},
    ]
    for tool in instance.tools:
        for args in attempts:
            await call(instance, tool.name, **args)
    assert services.confirmed == []
    assert services.cleanup.lookups == []
    assert plan.state == "pending"
    assert {p.state for p in services.cleanup.plans} == {"pending"}


async def test_errors_in_the_conversation_language(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A refusal is explained in the agent's language; several servers need a name."""
    entry = await setup_entry(hass, stack)
    other = MockConfigEntry(domain=DOMAIN, title="Cabin Plex", unique_id="cabin")
    other.add_to_hass(hass)
    other.mock_state(hass, ConfigEntryState.LOADED)
    other.runtime_data = entry.runtime_data
    which = await call(await api(hass, "de"), "plex_storage")
    assert which.data == {
        "error": "which_server",
        "message": f"Welchen Plex-Server meinst du: {entry.title} oder Cabin Plex?",
        "servers": [entry.title, "Cabin Plex"],
    }
    named = await call(await api(hass), "plex_storage", server="cabin plex")
    assert not named.error
    unknown = await call(await api(hass), "plex_storage", server="Attic")
    assert unknown.data["error"] == "unknown_server"


async def test_without_smartplex_entries(hass: HomeAssistant) -> None:
    """The API exists from setup; with no server loaded the tools say so."""
    await async_setup_component(hass, DOMAIN, {})
    instance = await api(hass)
    assert instance.api_prompt.startswith(
        "SmartPlex tools answer questions about the Plex media server: storage"
    )
    result = await call(instance, "plex_storage")
    assert result.data["error"] == "not_set_up"


async def test_failures_are_explained(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Plex down, rules not evaluated, a failing or empty action: each is an error."""
    entry = await with_rules(hass, stack, ServiceKind.TAUTULLI)
    install(hass, entry)
    instance = await api(hass)

    async def refuse(call: ServiceCall) -> ServiceResponse:
        raise HomeAssistantError("refused for the test")

    async def nothing(call: ServiceCall) -> ServiceResponse:
        return {}

    for handler, message in ((refuse, "refused for the test"), (nothing, "no plan")):
        hass.services.async_register(
            DOMAIN,
            "request_deletion",
            handler,
            supports_response=SupportsResponse.OPTIONAL,
        )
        result = await call(instance, "plex_request_deletion", rating_keys=[1])
        assert result.data["error"] == "plan_failed"
        assert result.data["message"].endswith(message)
    stack.plex.set_fault(Fault.SERVER_ERROR)
    await entry.runtime_data.library.async_refresh()
    await entry.runtime_data.rules.async_refresh()
    for tool, args, error in (
        ("plex_cleanup_candidates", {"rule": NEVER_WATCHED}, "plex_unavailable"),
        ("plex_cleanup_candidates", {}, "rules_unavailable"),
        ("plex_request_deletion", {"title": "Anything"}, "plex_unavailable"),
    ):
        result = await call(instance, tool, **args)
        assert result.data["error"] == error, tool
    stack.plex.clear_fault()
    hass.config_entries.async_update_entry(entry, options={})
    await hass.async_block_till_done()
    result = await call(await api(hass), "plex_request_deletion", rule_name="x")
    assert result.data["error"] == "no_rules"


async def test_request_deletion_with_the_real_engine(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The tool makes a real pending plan; its code stays out of the model's sight."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,))
    movie = next(
        m for m in stack.world.movies.values() if m.radarr_id is not None and m.file
    )
    instance = await api(hass)
    result = await call(
        instance, "plex_request_deletion", rating_keys=[movie.rating_key]
    )
    assert not result.error
    [plan] = entry.runtime_data.cleanup.journal.active()
    assert result.data["plan_id"] == plan.id
    assert str(plan.state) == "pending"
    assert "code" not in result.data
    assert plan.code not in {str(value) for value in result.data.values()}


async def test_request_deletion_frees_what_was_asked(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """free_gb plans just enough to free that much: today's free space is added."""
    entry = await make_entry(hass, stack, (ServiceKind.RADARR, ServiceKind.TAUTULLI))
    hass.config_entries.async_update_entry(
        entry,
        options={CONF_RULES: [NEVER_WATCHED], "acknowledge_above_gb": 100_000},
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    instance = await api(hass)
    cleanup = entry.runtime_data.cleanup
    preview = await hass.services.async_call(
        DOMAIN,
        "request_deletion",
        {
            "config_entry_id": entry.entry_id,
            "rule_name": NEVER_WATCHED["name"],
            "dry_run": True,
        },
        blocking=True,
        return_response=True,
    )
    assert preview is not None
    order = [item["rating_key"] for item in preview["items"]]
    sizes = {item["rating_key"]: item["size"] for item in preview["items"]}
    assert len(order) > 3
    wanted = (sizes[order[0]] + sizes[order[1]]) / GB + 0.5
    result = await call(instance, "plex_request_deletion", free_gb=wanted)
    assert not result.error, result.data
    [plan] = cleanup.journal.active()
    assert [item.key for item in plan.items] == order[:3]
    free = sum(disk.free for disk in stack.world.disks)
    assert result.data["free_before_gb"] == round(free / GB, 1)
    assert result.data["free_after_gb"] == round((free + plan.total_size) / GB, 1)
    assert result.data["frees_less_than_asked"] is False
    assert result.data["items"] == 3
    assert "code" not in result.data
    assert plan.code not in {str(value) for value in result.data.values()}
    assert str(plan.state) == "pending"
    everything = await call(
        instance, "plex_request_deletion", rule=NEVER_WATCHED, free_gb=100_000
    )
    assert everything.data["frees_less_than_asked"] is True
    assert everything.data["items"] == len(order)
    wrong = await call(instance, "plex_request_deletion", title="x", free_gb=1)
    assert wrong.data["error"] == "free_needs_rule"
    hass.config_entries.async_update_entry(
        entry,
        options={CONF_RULES: [NEVER_WATCHED, {**NEVER_WATCHED, "name": "Other"}]},
    )
    await hass.async_block_till_done()
    which = await call(await api(hass), "plex_request_deletion", free_gb=1)
    assert which.data["error"] == "which_rule_to_free"
    assert which.data["choices"] == ["Never watched movies", "Other"]
    assert {str(p.state) for p in cleanup.journal.plans.values()} == {"pending"}


async def test_free_space_must_be_known(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Sonarr or Radarr, free_gb is refused before any plan is made."""
    entry = await with_rules(hass, stack, ServiceKind.TAUTULLI)
    services = install(hass, entry)
    result = await call(await api(hass), "plex_request_deletion", free_gb=10)
    assert result.data["error"] == "free_space_unknown"
    assert entry.title in result.data["message"]
    assert services.requested == []


async def test_refusal_reasons_in_the_conversation_language(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A rule refused for a known reason is explained in German to a German agent."""
    await with_rules(hass, stack)
    refused = await call(await api(hass, "de"), "plex_cleanup_candidates")
    assert refused.data["message"] == (
        "Die Regel Never watched movies kann gerade nicht sicher angewendet werden: "
        "die Wiedergabedaten stammen aus den eigenen Zählern von Plex, die nicht jeden "
        "Benutzer erfassen."
    )
