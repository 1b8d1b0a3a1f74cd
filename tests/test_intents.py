"""Assist: SmartPlex's sentences through Home Assistant's own conversation pipeline.

The sentence files are installed as a user installs them (config/custom_sentences),
the default agent matches them, and the answers come from the simulated household.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import re
import shutil
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.conversation.default_agent import DefaultAgent
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    Context,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
import yaml

from custom_components.smartplex import intent as smartplex_intent
from custom_components.smartplex.api import ServiceKind
from custom_components.smartplex.assist import DAY, REASONS, async_texts
from custom_components.smartplex.const import CONF_CAPACITY_GB, CONF_RULES, DOMAIN
from custom_components.smartplex.intent import (
    INTENT_CONFIRM_PLAN,
    PERIOD_DAYS,
    spoken_code,
)
from custom_components.smartplex.requests import RequestState
from simulators import Fault, SimulatorStack
from simulators.webhooks import (
    DEFAULT_TEMPLATE,
    Notification,
    render_template,
    request_values,
)

from .common import make_entry, setup_entry
from .fake_cleanup import GB, FakeItem, FakePlan, install

INTEGRATION = Path(__file__).parent.parent / "custom_components" / DOMAIN
SENTENCES = INTEGRATION / "sentences"
LANGUAGES = ("en", "de")
ALL_SERVICES = (
    ServiceKind.SONARR,
    ServiceKind.RADARR,
    ServiceKind.TAUTULLI,
    ServiceKind.OVERSEERR,
)
NEVER_WATCHED = {"name": "Never watched movies", "level": "movie", "never_played": True}
BIG = {"name": "Big movies", "level": "movie", "min_size_gb": 8}


@pytest.fixture
async def assist(hass: HomeAssistant, tmp_path: Path) -> None:
    """Install the sentence files the documented way and start Assist."""
    for language in LANGUAGES:
        folder = tmp_path / "custom_sentences" / language
        folder.mkdir(parents=True)
        shutil.copy(SENTENCES / language / "smartplex.yaml", folder)
    hass.config.config_dir = str(tmp_path)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})


async def say(
    hass: HomeAssistant, text: str, language: str = "en"
) -> intent.IntentResponse:
    """Say a sentence to Assist's default agent; return its response."""
    result = await conversation.async_converse(
        hass, text, None, Context(), language=language
    )
    return result.response


def speech(response: intent.IntentResponse) -> str:
    """Return what Assist says."""
    return str(response.speech["plain"]["speech"])


async def answer(hass: HomeAssistant, text: str, language: str = "en") -> str:
    """Say a sentence and return the spoken answer of a SmartPlex intent."""
    response = await say(hass, text, language)
    assert response.intent is not None, speech(response)
    assert response.intent.intent_type.startswith("SmartPlex"), speech(response)
    return speech(response)


def writes(stack: SimulatorStack) -> list[tuple[str, str, str]]:
    """Every request that was not a read, on every simulator."""
    return [
        (type(sim).__name__, request.method, request.path)
        for sim in stack.simulators
        for request in sim.requests
        if request.method != "GET"
    ]


def gb(size: float, separators: str = ",.") -> str:
    """Write bytes as the spoken text does: GB, no decimals from 10 GB up."""
    value = size / GB
    text = f"{value:,.{1 if value < 10 else 0}f}"
    return text.translate(str.maketrans(",.", separators)) + " GB"


def media_size(stack: SimulatorStack) -> dict[str, int]:
    """The bytes of every movie and episode Plex lists, per library (the truth)."""
    world = stack.world
    return {
        "Movies": sum(m.file.size for m in world.movies.values() if m.file),
        "TV Shows": sum(e.file.size for e in world.episodes.values() if e.file),
    }


async def storage_entry(
    hass: HomeAssistant, stack: SimulatorStack, **options: Any
) -> MockConfigEntry:
    """Set up SmartPlex with every service and some options."""
    entry = await make_entry(hass, stack, ALL_SERVICES)
    hass.config_entries.async_update_entry(entry, options=options)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


# --- Sentences and strings ---------------------------------------------------------


def test_every_intent_has_sentences_in_both_languages() -> None:
    """Each language's file names exactly the intents SmartPlex registers."""
    registered = {
        value
        for name, value in vars(smartplex_intent).items()
        if name.startswith("INTENT_")
    }
    for language in LANGUAGES:
        data = yaml.safe_load((SENTENCES / language / "smartplex.yaml").read_text())
        assert data["language"] == language
        assert set(data["intents"]) == registered
        assert all(name.startswith("smartplex_") for name in data["lists"])
        assert all(name.startswith("smartplex_") for name in data["expansion_rules"])


def _spoken_keys() -> set[str]:
    """Every text key the voice and LLM code asks for."""
    code = "".join(
        (INTEGRATION / name).read_text()
        for name in ("assist.py", "intent.py", "llm_api.py")
    )
    keys = set(re.findall(r"(?:texts|self)\(\s*[\"'](\w+)[\"']", code))
    keys |= set(re.findall(r'AssistError\(\s*"(\w+)"', code))
    keys |= set(re.findall(r'failed="(\w+)"', code))
    keys |= {key for _, key in REASONS}
    nouns = re.findall(r'count\(\s*"(\w+)"', code)
    for noun in [*nouns, "movie", "show", "season", "episode", "minute", "hour", "day"]:
        keys |= {f"{noun}_one", f"{noun}_other"}
    keys |= {f"request_{state}" for state in RequestState}
    keys |= {f"period_{period}" for period in PERIOD_DAYS}
    keys |= {"which_rule", "unknown_rule", "and", "or"}
    return keys


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_spoken_text_exists_and_is_used(language: str) -> None:
    """The code finds each text it says; no text is left unused."""
    strings = json.loads(
        (INTEGRATION / "translations" / f"{language}.json").read_text("utf-8")
    )
    ours = {
        key.removeprefix("voice_")
        for key in strings["common"]
        if key.startswith("voice_")
    }
    assert _spoken_keys() ^ ours == set()


async def test_texts_speak_numbers_sizes_and_durations(hass: HomeAssistant) -> None:
    """Separators, units and plurals follow the language."""
    english, german = await async_texts(hass, "en"), await async_texts(hass, "de")
    assert english.size(1_235_600_000_000) == "1,236 GB"
    assert german.size(1_235_600_000_000) == "1.236 GB"
    assert english.size(4_250_000_000) == "4.2 GB"
    assert german.size(4_250_000_000) == "4,2 GB"
    assert [english.duration(s) for s in (30, 60, 20 * 60, 3 * 3600, 2 * 86400)] == [
        "less than a minute",
        "1 minute",
        "20 minutes",
        "3 hours",
        "2 days",
    ]
    assert german.duration(2 * 86400) == "2 Tagen"  # seit 2 Tagen, in 2 Tagen
    assert english.join(["a", "b", "c"], "or") == "a, b or c"
    assert german.join(["a", "b"]) == "a und b"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("4 7 2", "472"),
        ("472", "472"),
        ("four seven two", "472"),
        ("vier sieben zwo", "472"),
        ("4 7", None),
        ("4 7 2 3", None),
        ("four hundred", None),
        ("", None),
    ],
)
def test_spoken_codes(text: str, code: str | None) -> None:
    """Only exactly three digits, said as digits or digit words, make a code."""
    assert spoken_code(text) == code


# --- Read-only answers -------------------------------------------------------------


@pytest.mark.usefixtures("assist")
async def test_storage_in_english_and_german(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Used, share of capacity, free space and libraries; in GB like the sensors."""
    await storage_entry(hass, stack, **{CONF_CAPACITY_GB: 3000})
    before = writes(stack)
    sizes = media_size(stack)
    used = sum(sizes.values())
    free = sum(disk.free for disk in stack.world.disks)
    total = sum(disk.total for disk in stack.world.disks)
    shows, movies = sizes["TV Shows"], sizes["Movies"]
    assert shows > movies
    assert await answer(hass, "how much space is left on plex") == (
        f"Your media takes {gb(used)}. That is {100 * used / 3e12:.0f} percent of the "
        f"3,000 GB you set aside. The disks have {gb(free)} free of {gb(total)}. "
        f"By library: TV Shows with {gb(shows)} and Movies with {gb(movies)}."
    )
    assert await answer(hass, "wie viel Platz ist noch frei auf Plex", "de") == (
        f"Deine Medien belegen {gb(used, '.,')}. Das sind {100 * used / 3e12:.0f} "
        "Prozent der vorgesehenen 3.000 GB. Auf den Festplatten sind "
        f"{gb(free, '.,')} von {gb(total, '.,')} frei. Nach Bibliothek: TV Shows "
        f"mit {gb(shows, '.,')} und Movies mit {gb(movies, '.,')}."
    )
    assert writes(stack) == before


@pytest.mark.usefixtures("assist")
async def test_storage_without_disks_or_plex(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Sonarr/Radarr only the media size; with Plex down, no stale numbers."""
    entry = await setup_entry(hass, stack)
    assert await answer(hass, "how full is my plex server") == (
        f"Your media takes {gb(sum(media_size(stack).values()))}. By library: "
        f"TV Shows with {gb(media_size(stack)['TV Shows'])} and Movies with "
        f"{gb(media_size(stack)['Movies'])}."
    )
    await stack.plex.async_set_fault(Fault.DOWN)
    await entry.runtime_data.library.async_refresh()
    response = await say(hass, "how full is plex")
    assert response.response_type is intent.IntentResponseType.ERROR
    assert speech(response) == (
        f"{entry.title} is not answering right now, so I cannot tell."
    )


@pytest.mark.usefixtures("assist")
async def test_health(
    hass: HomeAssistant, stack: SimulatorStack, freezer: FrozenDateTimeFactory
) -> None:
    """All well, or what fails and for how long, in both languages."""
    entry = await setup_entry(hass, stack, ALL_SERVICES)
    assert await answer(hass, "are my plex services ok") == "All 5 services answer."
    assert await answer(hass, "is radarr running") == "Radarr answers."
    await stack.sonarr.async_set_fault(Fault.DOWN)
    await entry.runtime_data.health.async_refresh()
    freezer.tick(timedelta(minutes=20))
    await entry.runtime_data.health.async_refresh()
    assert await answer(hass, "is sonarr running") == (
        "Sonarr has been unreachable for 20 minutes."
    )
    assert await answer(hass, "how are my plex services doing") == (
        "Sonarr has been unreachable for 20 minutes. Everything else answers."
    )
    assert await answer(hass, "ist Sonarr erreichbar", "de") == (
        "Sonarr ist seit 20 Minuten nicht erreichbar."
    )
    stack.tautulli.set_fault(Fault.UNAUTHORIZED)
    await entry.runtime_data.health.async_refresh()
    freezer.tick(timedelta(hours=3))
    assert await answer(hass, "what is wrong with tautulli") == (
        "Tautulli has been rejecting its credentials for 3 hours; "
        "Home Assistant asks for them again."
    )
    # Moving the clock woke the timers: let them finish before the simulators stop.
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("assist")
async def test_health_of_a_service_that_is_not_set_up(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Asking about a service SmartPlex does not have says so."""
    await setup_entry(hass, stack)
    response = await say(hass, "is overseerr running")
    assert response.response_type is intent.IntentResponseType.ERROR
    assert speech(response) == "Overseerr is not set up in SmartPlex."


def _notify(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    stack: SimulatorStack,
    n: int,
    kind: str,
) -> str:
    """Deliver an Overseerr notification for a new request; return its title."""
    requests = stack.world.requests
    request = replace(requests[n % len(requests)], id=90_000 + n)
    values, extra = request_values(Notification[kind], request, stack.world)
    payload = render_template(
        json.dumps(DEFAULT_TEMPLATE), values, extra, {"media", "request"}
    )
    entry.runtime_data.requests.async_handle_webhook(payload)
    return values["subject"]


@pytest.mark.usefixtures("assist")
async def test_requests(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """This week's requests with their state; requests in one state."""
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    assert await answer(hass, "what was requested last week") == (
        "No requests in the last 7 days."
    )
    first = _notify(hass, entry, stack, 0, "MEDIA_PENDING")
    second = _notify(hass, entry, stack, 1, "MEDIA_APPROVED")
    third = _notify(hass, entry, stack, 2, "MEDIA_AVAILABLE")
    assert await answer(hass, "what did I request this week") == (
        f"3 requests in the last 7 days: {third} is available, {second} is approved "
        f"and {first} is waiting for approval."
    )
    assert await answer(hass, "was wurde letzte Woche angefragt", "de") == (
        f"3 Anfragen in den letzten 7 Tagen: {third} ist verfügbar, {second} ist "
        f"genehmigt und {first} ist noch offen."
    )
    pending = entry.runtime_data.requests.requests.query(state="pending", limit=100)
    assert len(pending) > 1
    spoken = await answer(hass, "which requests are pending")
    assert spoken.startswith(f"{len(pending)} requests waiting for approval: {first}")
    assert await answer(hass, "are there any declined requests") == (
        "No request is declined."
    )


@pytest.mark.usefixtures("assist")
async def test_requests_list_at_most_five(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A long list ends with how many more there are."""
    entry = await setup_entry(hass, stack, (ServiceKind.OVERSEERR,))
    titles = [_notify(hass, entry, stack, n, "MEDIA_PENDING") for n in range(7)]
    newest_first = [f"{title} is waiting for approval" for title in titles[:1:-1]]
    assert await answer(hass, "what was requested today") == (
        f"7 requests today: {', '.join(newest_first)} and 2 more."
    )


@pytest.mark.usefixtures("assist")
async def test_requests_need_overseerr(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Overseerr, the answer says so."""
    await setup_entry(hass, stack)
    assert await answer(hass, "show my requests") == (
        "Overseerr is not set up in SmartPlex."
    )


def never_played_sizes(stack: SimulatorStack) -> list[int]:
    """Sizes of movies nobody played and not labelled keep, largest first (truth)."""
    played = {play.rating_key for play in stack.world.plays}
    return sorted(
        (
            movie.file.size
            for movie in stack.world.movies.values()
            if movie.rating_key not in played
            and "keep" not in movie.labels
            and movie.file
        ),
        reverse=True,
    )


@pytest.mark.usefixtures("assist")
async def test_candidates_for_a_size_target(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Just enough never-watched movies, largest first, to free what was asked."""
    await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED]})
    before = writes(stack)
    sizes = never_played_sizes(stack)
    target = sizes[0] // GB + sizes[1] // GB + 1  # the two largest are not enough
    chosen: list[int] = []
    while sum(chosen) < target * GB:
        chosen.append(sizes[len(chosen)])
    assert 2 < len(chosen) < len(sizes)
    assert await answer(hass, f"what would you delete to free {target} gigabytes") == (
        f"I could free {gb(sum(chosen))} by removing {len(chosen)} movies. "
        "None of them was ever watched."
    )
    assert await answer(
        hass, f"was würdest du löschen um {target} Gigabyte freizumachen", "de"
    ) == (
        f"Ich könnte {gb(sum(chosen), '.,')} freigeben, indem ich {len(chosen)} Filme "
        "entferne. Keiner davon wurde je angesehen."
    )
    assert await answer(hass, "what would the rule never watched movies delete") == (
        f"I could free {gb(sum(sizes))} by removing {len(sizes)} movies. "
        "None of them was ever watched."
    )
    assert await answer(hass, "what would you delete to free 100000 gigabytes") == (
        f"I could free {gb(sum(sizes))} by removing {len(sizes)} movies. "
        "None of them was ever watched. That is all the rules find, less than the "
        "100,000 GB you asked for."
    )
    assert writes(stack) == before


@pytest.mark.usefixtures("assist")
async def test_candidates_of_several_rules(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Rules are merged; an unclear rule name gets a question, an unknown one a list."""
    await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED, BIG]})
    spoken = await answer(hass, "how much space could I free")
    assert spoken.startswith("I could free ")
    assert "Never watched: " in spoken
    assert await answer(hass, "what would the rule movies delete") == (
        "Which rule do you mean: Never watched movies or Big movies?"
    )
    assert await answer(hass, "what would the rule zebras delete") == (
        "There is no cleanup rule called zebras. The rules are: Never watched movies "
        "or Big movies."
    )


@pytest.mark.usefixtures("assist")
async def test_candidates_fail_closed_and_need_rules(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without Tautulli a play rule is refused (with why); without rules, how to add."""
    entry = await make_entry(hass, stack)
    hass.config_entries.async_update_entry(entry, options={CONF_RULES: [NEVER_WATCHED]})
    await hass.config_entries.async_setup(entry.entry_id)
    spoken = await answer(hass, "what could I delete from plex")
    assert spoken.startswith(
        "The rule Never watched movies cannot run safely right now: play data"
    )
    hass.config_entries.async_update_entry(entry, options={})
    await hass.async_block_till_done()
    assert await answer(hass, "what could I delete from plex") == (
        "No cleanup rules are set up yet. Add one in the SmartPlex options."
    )


@pytest.mark.usefixtures("assist")
async def test_upcoming_deletions(hass: HomeAssistant, stack: SimulatorStack) -> None:
    """Quarantined items of confirmed plans, soonest first."""
    entry = await setup_entry(hass, stack)
    assert await answer(hass, "upcoming plex deletions") == (
        "Nothing is scheduled for deletion."
    )
    install(hass, entry)
    now = time.time()
    entry.runtime_data.cleanup.plans.append(
        FakePlan(
            "p",
            "111",
            [
                FakeItem("Later", 8 * GB, "quarantined", now + 2 * 86400 + 60),
                FakeItem("Sooner", 4 * GB, "quarantined", now + 5 * 3600 + 60),
                FakeItem("Restored", 9 * GB, "restored", None),
            ],
            state="confirmed",
        )
    )
    assert await answer(hass, "what is leaving plex soon") == (
        "Scheduled for deletion: 2 titles, 12 GB. Next: Sooner in 5 hours."
    )
    assert await answer(hass, "was wird bald gelöscht", "de") == (
        "Zum Löschen vorgesehen: 2 Titel, 12 GB. Als Nächstes: Sooner in 5 Stunden."
    )


@pytest.mark.usefixtures("assist")
async def test_not_set_up(hass: HomeAssistant) -> None:
    """Without a loaded entry, every intent says SmartPlex is not set up."""
    await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    response = await say(hass, "how much space is left on plex")
    assert response.response_type is intent.IntentResponseType.ERROR
    assert speech(response) == "SmartPlex is not set up, or not loaded right now."


@pytest.mark.usefixtures("assist")
async def test_several_servers_get_a_question(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """With two Plex servers, Assist asks which one (sentences name none)."""
    entry = await setup_entry(hass, stack)
    other = MockConfigEntry(domain=DOMAIN, title="Cabin Plex", unique_id="cabin")
    other.add_to_hass(hass)
    other.mock_state(hass, ConfigEntryState.LOADED)
    other.runtime_data = entry.runtime_data
    assert await answer(hass, "how full is plex") == (
        f"Which Plex server do you mean: {entry.title} or Cabin Plex?"
    )


# --- Plans by voice ----------------------------------------------------------------


@pytest.mark.usefixtures("assist")
async def test_delete_a_title_makes_a_plan_only(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """'Delete X from Plex' asks for a plan, says its code, and deletes nothing."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,))
    services = install(hass, entry)
    movie = next(m for m in stack.world.movies.values() if m.file)
    before = writes(stack)
    assert await answer(hass, f"delete {movie.title.lower()} from plex") == (
        f"Plan 4 7 2: {movie.title} from {movie.year}, {gb(movie.file.size)}. "
        "Nothing is deleted yet. To go ahead, say: confirm plan 4 7 2."
    )
    assert services.requested == [
        {
            "config_entry_id": entry.entry_id,
            "rating_keys": [movie.rating_key],
            "dry_run": False,
        }
    ]
    assert services.confirmed == []
    assert writes(stack) == before
    assert await answer(hass, f"lösche {movie.title} {movie.year} aus Plex", "de") == (
        f"Plan 4 7 2: {movie.title} von {movie.year}, {gb(movie.file.size, '.,')}. "
        "Noch wird nichts gelöscht. Um fortzufahren, sag: bestätige Plan 4 7 2."
    )


@pytest.mark.usefixtures("assist")
async def test_ambiguous_and_unknown_titles_get_no_plan(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Two movies of one name: a question naming both; the year then decides."""
    movies = [m for m in stack.world.movies.values() if m.file][:2]
    for movie, year in zip(movies, (1984, 2021), strict=True):
        movie.title, movie.year = "Dune", year
    entry = await setup_entry(hass, stack)
    services = install(hass, entry)
    assert await answer(hass, "delete dune from plex") == (
        "Which one do you mean: Dune from 1984 or Dune from 2021? "
        "Say it again with the year."
    )
    assert await answer(hass, "delete the dune of nobody from plex") == (
        "I found no movie or show called the dune of nobody on Plex."
    )
    assert services.requested == []
    await answer(hass, "delete dune 2021 from plex")
    assert services.requested[0]["rating_keys"] == [movies[1].rating_key]


@pytest.mark.usefixtures("assist")
async def test_plan_for_a_rule_that_is_large(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A large plan is made, and voice says it must be confirmed in the app."""
    entry = await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED]})
    services = install(hass, entry, acknowledge_above_gb=1)
    spoken = await answer(hass, "plan a cleanup with rule never watched movies")
    assert spoken.startswith("Plan 4 7 2: ")
    assert spoken.endswith(
        "Nothing is deleted yet. It is large, so confirm it in the notification or "
        "the app."
    )
    assert services.requested[0]["rule_name"] == "Never watched movies"


@pytest.mark.usefixtures("assist")
async def test_plans_unavailable_without_the_action(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without the request_deletion action, voice says plans are not available."""
    await setup_entry(hass, stack)
    hass.services.async_remove(DOMAIN, "request_deletion")
    title = next(iter(stack.world.movies.values())).title
    assert await answer(hass, f"delete {title} from plex") == (
        "Deletion plans are not available in this version of SmartPlex."
    )
    assert await answer(hass, "confirm plan 1 2 3") == (
        "No plan is waiting for confirmation with the code 1 2 3. Nothing was deleted."
    )


# --- Confirmation by code ---------------------------------------------------------


def small_plan(code: str = "472") -> FakePlan:
    """A pending plan of two titles, 6 GB."""
    return FakePlan(
        "0123456789abcdef0123456789abcdef",
        code,
        [FakeItem("Alpha", 2 * GB), FakeItem("Beta", 4 * GB)],
    )


@pytest.mark.usefixtures("assist")
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("confirm plan 4 7 2", "en"),
        ("confirm the deletion plan four seven two", "en"),
        ("confirm with code 472", "en"),
        ("bestätige Plan vier sieben zwei", "de"),
    ],
)
async def test_confirm_by_spoken_code(
    hass: HomeAssistant, stack: SimulatorStack, text: str, language: str
) -> None:
    """The pending plan with the spoken code is confirmed, once."""
    entry = await setup_entry(hass, stack)
    plan = small_plan()
    services = install(hass, entry, plans=[plan])
    spoken = await answer(hass, text, language)
    assert services.confirmed == [
        {"config_entry_id": entry.entry_id, "plan_id": plan.id}
    ]
    assert plan.state == "confirmed"
    assert (
        spoken
        == {
            "en": "Plan 4 7 2 is confirmed: 2 titles, 6.0 GB. They go after the grace "
            "period and can be restored until then.",
            "de": "Plan 4 7 2 ist bestätigt: 2 Titel, 6,0 GB. Sie werden nach der "
            "Schonfrist gelöscht und lassen sich bis dahin wiederherstellen.",
        }[language]
    )


@pytest.mark.usefixtures("assist")
async def test_large_plan_is_never_confirmed_by_voice(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Even with the right code, the large-plan guard sends the user to the app."""
    entry = await setup_entry(hass, stack)
    plan = replace(small_plan(), needs_acknowledge=True)
    services = install(hass, entry, plans=[plan])
    response = await say(hass, "confirm plan 4 7 2")
    assert response.response_type is intent.IntentResponseType.ERROR
    assert speech(response) == (
        "Plan 4 7 2 is large (6.0 GB), so it cannot be confirmed by voice. Confirm it "
        "in the notification or the app."
    )
    assert services.confirmed == []
    assert plan.state == "pending"


SENTENCES_WITHOUT_THE_CODE = [
    ("en", "confirm plan 1 2 3"),
    ("en", "confirm plan 4 7"),
    ("en", "confirm plan 4 7 2 2"),
    ("en", "confirm plan four seventy two"),
    ("en", "confirm the deletion plan"),
    ("en", "confirm"),
    ("en", "yes"),
    ("en", "yes delete it"),
    ("en", "delete everything from plex"),
    ("en", "plan a cleanup with rule never watched movies"),
    ("en", "how much space is left on plex"),
    ("en", "what would you delete to free 200 gigabytes"),
    ("en", "what will be deleted soon"),
    ("en", "are my plex services ok"),
    ("en", "what was requested last week"),
    ("en", "keep alpha on plex"),
    ("en", "restore beta"),
    ("en", "postpone deleting alpha by 7 days"),
    ("en", "free 200 gigabytes on plex"),
    ("en", "make room for 200 GB"),
    ("de", "behalte Alpha auf Plex"),
    ("de", "verschiebe das Löschen von Beta um eine Woche"),
    ("de", "mach 200 GB auf Plex frei"),
    ("de", "bestätige Plan 1 2 3"),
    ("de", "bestätige den Löschplan"),
    ("de", "lösche alles aus Plex"),
    ("de", "ja"),
]


@pytest.mark.usefixtures("assist")
async def test_no_sentence_confirms_without_the_code(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """With a small plan pending, nothing but its code confirms it."""
    entry = await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED]})
    plan = small_plan()
    services = install(hass, entry, plans=[plan])
    events = async_capture_events(hass, "smartplex_deletion_confirmed")
    for language, text in SENTENCES_WITHOUT_THE_CODE:
        await say(hass, text, language)
    assert services.confirmed == []
    assert events == []
    assert {p.state for p in entry.runtime_data.cleanup.plans} == {"pending"}
    await say(hass, "confirm plan 4 7 2")
    assert plan.state == "confirmed"


async def test_confirm_intent_refuses_other_platforms(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Only Assist's sentence matching confirms; an LLM or the intent API cannot."""
    await async_setup_component(hass, "intent", {})
    entry = await setup_entry(hass, stack)
    await hass.async_block_till_done()
    plan = small_plan()
    services = install(hass, entry, plans=[plan])
    for platform in ("intent", "openai_conversation", "llm"):
        response = await intent.async_handle(
            hass, platform, INTENT_CONFIRM_PLAN, {"code": {"value": "472"}}
        )
        assert response.response_type is intent.IntentResponseType.ERROR
        assert speech(response) == (
            "Plans are confirmed by saying their code to Assist, or in the app."
        )
    assert services.confirmed == []
    assert plan.state == "pending"


@pytest.mark.usefixtures("assist")
async def test_a_failed_confirmation_is_said(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Without the action, or when it refuses, the answer says so; nothing changes."""
    entry = await setup_entry(hass, stack)
    plan = small_plan()
    install(hass, entry, plans=[plan])
    hass.services.async_remove(DOMAIN, "confirm_deletion")
    assert await answer(hass, "confirm plan 4 7 2") == (
        "Deletion plans are not available in this version of SmartPlex."
    )

    async def refuse(call: ServiceCall) -> None:
        raise HomeAssistantError("the plan expired")

    hass.services.async_register(DOMAIN, "confirm_deletion", refuse)
    assert await answer(hass, "confirm plan 4 7 2") == (
        "Plan 4 7 2 could not be confirmed: the plan expired"
    )
    assert plan.state == "pending"


@pytest.mark.usefixtures("assist")
async def test_health_degraded_disabled_and_failing_again(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A service's own warning is said; an outage counts from its latest start."""
    entry = await setup_entry(hass, stack, (ServiceKind.SONARR, ServiceKind.TAUTULLI))
    health = entry.runtime_data.health
    stack.tautulli.plex_connected = False
    stack.sonarr.set_fault(Fault.SERVER_ERROR)
    await health.async_refresh()
    stack.sonarr.clear_fault()
    await health.async_refresh()
    stack.sonarr.set_fault(Fault.SERVER_ERROR)
    await health.async_refresh()
    assert await answer(hass, "are my plex services ok") == (
        "Sonarr has been unreachable for less than a minute. Tautulli answers but "
        "reports a problem: Tautulli is not connected to Plex. Everything else answers."
    )
    for _ in range(10):
        await health.async_refresh()
    assert await answer(hass, "is sonarr ok") == (
        "Sonarr was switched off after repeated failures; turn it back on under "
        "Repairs."
    )


@pytest.mark.usefixtures("assist")
async def test_candidates_skip_refused_rules_and_say_when_nothing_matches(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A refused rule is named and skipped; an empty result says nothing matches."""
    huge = {"name": "Huge", "level": "movie", "min_size_gb": 100_000}
    entry = await make_entry(hass, stack)
    hass.config_entries.async_update_entry(
        entry, options={CONF_RULES: [NEVER_WATCHED, BIG, huge]}
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    big = [
        m.file.size
        for m in stack.world.movies.values()
        if m.file and m.file.size >= 8 * GB and "keep" not in m.labels
    ]
    spoken = await answer(hass, "how much space could I free")
    assert spoken.startswith(
        f"I could free {gb(sum(big))} by removing {len(big)} movies."
    )
    assert spoken.endswith("Skipped for now: Never watched movies.")
    assert await answer(hass, "what would the rule huge delete") == (
        "Nothing matches the cleanup rules right now."
    )


@pytest.mark.usefixtures("assist")
async def test_plans_that_cannot_be_made(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Nothing to plan, Plex down, no selection, one code on two servers."""
    entry = await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED]})
    services = install(hass, entry)
    services.titles.clear()
    assert await answer(hass, "plan a cleanup with rule never watched movies") == (
        "Nothing to delete: the plan would be empty."
    )
    response = await intent.async_handle(
        hass, "conversation", smartplex_intent.INTENT_REQUEST_DELETION, {}
    )
    assert speech(response) == "Name a title or a cleanup rule to plan a deletion."
    other = MockConfigEntry(domain=DOMAIN, title="Cabin Plex", unique_id="cabin")
    other.add_to_hass(hass)
    other.mock_state(hass, ConfigEntryState.LOADED)
    other.runtime_data = entry.runtime_data
    services.cleanup.plans.append(small_plan())
    assert await answer(hass, "confirm plan 4 7 2") == (
        "Several Plex servers have a plan with the code 4 7 2; confirm it in the app."
    )
    assert services.confirmed == []
    await hass.config_entries.async_remove(other.entry_id)
    stack.plex.set_fault(Fault.SERVER_ERROR)
    await entry.runtime_data.library.async_refresh()
    assert await answer(hass, "delete anything from plex") == (
        f"{entry.title} is not answering right now, so I cannot tell."
    )


README_EXAMPLES = [
    ("en", "How much space is left on Plex?", "SmartPlexStorage"),
    ("de", "Wie voll ist Plex?", "SmartPlexStorage"),
    ("en", "What would you delete to free 200 gigabytes?", "SmartPlexCandidates"),
    ("en", "What would the rule old movies delete?", "SmartPlexCandidates"),
    ("en", "What was requested last week?", "SmartPlexRequests"),
    ("en", "Which requests are pending?", "SmartPlexRequests"),
    ("de", "Was wurde letzte Woche angefragt?", "SmartPlexRequests"),
    ("en", "Are my Plex services OK?", "SmartPlexHealth"),
    ("en", "Is Sonarr running?", "SmartPlexHealth"),
    ("de", "Ist Sonarr erreichbar?", "SmartPlexHealth"),
    ("en", "What will be deleted soon?", "SmartPlexUpcoming"),
    ("en", "Delete Dune 2021 from Plex", "SmartPlexRequestDeletion"),
    ("en", "Plan a cleanup with rule old movies", "SmartPlexRequestDeletion"),
    ("en", "Free 200 gigabytes on Plex", "SmartPlexFreeSpace"),
    ("en", "Make room for 200 GB", "SmartPlexFreeSpace"),
    ("de", "Mach 200 GB auf Plex frei", "SmartPlexFreeSpace"),
    ("en", "Keep Alien on Plex", "SmartPlexRestore"),
    ("en", "Restore Alien", "SmartPlexRestore"),
    ("de", "Behalte Alien auf Plex", "SmartPlexRestore"),
    ("en", "Postpone deleting Alien by 7 days", "SmartPlexPostpone"),
    ("de", "Verschiebe das Löschen von Alien um eine Woche", "SmartPlexPostpone"),
    ("en", "Confirm plan 4 7 2", "SmartPlexConfirmPlan"),
    ("de", "Bestätige Plan 4 7 2", "SmartPlexConfirmPlan"),
]


@pytest.mark.usefixtures("assist")
async def test_readme_examples_reach_their_intents(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Every phrase the README promises is understood as the intent it names."""
    entry = await setup_entry(hass, stack)
    install(hass, entry)
    readme = (INTEGRATION.parent.parent / "README.md").read_text("utf-8")
    for language, text, intent_type in README_EXAMPLES:
        assert text.rstrip("?") in readme
        response = await say(hass, text, language)
        assert response.intent is not None, text
        assert response.intent.intent_type == intent_type, text


def unique_radarr_movie(stack: SimulatorStack, min_size: int = 0) -> Any:
    """A movie Radarr manages whose title no other movie or show has."""
    world = stack.world
    titles = [m.title for m in world.movies.values()] + [
        s.title for s in world.shows.values()
    ]
    return next(
        m
        for m in world.movies.values()
        if m.radarr_id is not None
        and m.file
        and m.file.size >= min_size
        and "keep" not in m.labels
        and titles.count(m.title) == 1
    )


@pytest.mark.usefixtures("assist")
async def test_voice_plans_with_the_real_engine(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A spoken request makes a real plan; only its spoken code confirms it."""
    entry = await setup_entry(
        hass,
        stack,
        (ServiceKind.RADARR,),
        {"grace_hours": 24, "acknowledge_above_gb": 100_000},
    )
    cleanup = entry.runtime_data.cleanup
    assert cleanup is not None
    movie = unique_radarr_movie(stack)
    spoken = await answer(hass, f"delete {movie.title} from plex")
    found = re.match(r"Plan (\d) (\d) (\d): ", spoken)
    assert found, spoken
    code = "".join(found.groups())
    [plan] = cleanup.journal.active()
    assert (plan.code, str(plan.state)) == (code, "pending")
    assert [item.key for item in plan.items] == [movie.rating_key]
    wrong = "".join(str((int(digit) + 1) % 10) for digit in code)
    await say(hass, f"confirm plan {' '.join(wrong)}")
    assert str(plan.state) == "pending"
    assert await answer(hass, f"confirm plan {' '.join(code)}") == (
        f"Plan {' '.join(code)} is confirmed: 1 title, {gb(movie.file.size)}. They go "
        "after the grace period and can be restored until then."
    )
    assert str(plan.state) == "confirmed"
    # The purge waits for the grace period: stop its timer with the entry.
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("assist")
async def test_large_real_plan_is_refused_by_voice(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Above the large-plan limit the real engine's plan stays pending by voice."""
    entry = await setup_entry(
        hass, stack, (ServiceKind.RADARR,), {"acknowledge_above_gb": 1}
    )
    movie = unique_radarr_movie(stack, min_size=2 * GB)
    spoken = await answer(hass, f"delete {movie.title} from plex")
    assert spoken.endswith("It is large, so confirm it in the notification or the app.")
    [plan] = entry.runtime_data.cleanup.journal.active()
    response = await say(hass, f"confirm plan {' '.join(plan.code)}")
    assert speech(response).startswith(f"Plan {' '.join(plan.code)} is large")
    assert str(plan.state) == "pending"


# --- Restore and postpone a title leaving Plex ---------------------------------------

LATER = {"grace_hours": 24, "acknowledge_above_gb": 100_000}
MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "de": [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ],
}


def leaving_soon(stack: SimulatorStack) -> set[int]:
    """Rating keys in the simulated Plex's "Leaving soon" collections."""
    return {
        key
        for collection in stack.plex.collections.values()
        if collection.title == "Leaving soon"
        for key in collection.items
    }


def radarr_movies(stack: SimulatorStack, count: int) -> list[Any]:
    """Movies Radarr manages whose titles no other movie or show has."""
    world = stack.world
    titles = [m.title for m in world.movies.values()] + [
        s.title for s in world.shows.values()
    ]
    return [
        m
        for m in world.movies.values()
        if m.radarr_id is not None
        and m.file
        and "keep" not in m.labels
        and titles.count(m.title) == 1
    ][:count]


async def confirmed_plan(
    hass: HomeAssistant, entry: MockConfigEntry, keys: list[int]
) -> Any:
    """Plan and confirm these items with the real engine; let quarantine run."""
    response = await hass.services.async_call(
        DOMAIN,
        "request_deletion",
        {"config_entry_id": entry.entry_id, "rating_keys": keys},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    await hass.services.async_call(
        DOMAIN,
        "confirm_deletion",
        {"config_entry_id": entry.entry_id, "plan_id": response["plan_id"]},
        blocking=True,
    )
    cleanup = entry.runtime_data.cleanup
    await cleanup.async_run()
    await hass.async_block_till_done()
    plan = cleanup.journal.plans[response["plan_id"]]
    assert {str(item.state) for item in plan.items} == {"quarantined"}
    return plan


def spoken_date(timestamp: float, language: str) -> str:
    """Say a day as the answers do, in the local time zone."""
    day = dt_util.as_local(datetime.fromtimestamp(timestamp, UTC))
    month = MONTHS[language][day.month - 1]
    text = f"{day.day} {month}" if language == "en" else f"{day.day}. {month}"
    return text if day.year == dt_util.now().year else f"{text} {day.year}"


def destructive(stack: SimulatorStack) -> list[tuple[str, str, str]]:
    """Writes that delete media or confirm anything (collection edits excluded)."""
    return [
        write
        for write in writes(stack)
        if write[1] == "DELETE" and "/collections/" not in write[2]
    ]


@pytest.mark.usefixtures("assist")
async def test_keep_a_title_that_is_leaving(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """'Keep X on Plex' restores it: out of "Leaving soon", monitored, never deleted."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,), LATER)
    first, second, third = radarr_movies(stack, 3)
    plan = await confirmed_plan(
        hass, entry, [first.rating_key, second.rating_key, third.rating_key]
    )
    assert leaving_soon(stack) == {m.rating_key for m in (first, second, third)}
    assert not first.monitored
    confirmations = async_capture_events(hass, "smartplex_deletion_confirmed")
    assert await answer(hass, f"keep {first.title.lower()} on plex") == (
        f"{first.title} is back; it will not be deleted."
    )
    assert await answer(hass, f"stelle {second.title} wieder her", "de") == (
        f"{second.title} ist zurück und wird nicht gelöscht."
    )
    assert leaving_soon(stack) == {third.rating_key}
    assert first.monitored
    assert second.monitored
    assert not third.monitored
    assert [str(item.state) for item in plan.items] == [
        "restored",
        "restored",
        "quarantined",
    ]
    assert str(plan.state) == "confirmed"
    assert destructive(stack) == []
    assert confirmations == []
    assert await answer(hass, f"restore {first.title}") == (
        f"I found nothing called {first.title} among the titles leaving Plex."
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("assist")
async def test_postpone_a_title_that_is_leaving(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """'Postpone deleting X by 7 days' moves its day; the answer names the new one."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,), LATER)
    movie, other = radarr_movies(stack, 2)
    plan = await confirmed_plan(hass, entry, [movie.rating_key, other.rating_key])
    item, untouched = plan.items
    was, other_was = item.purge_at, untouched.purge_at
    assert await answer(hass, f"postpone deleting {movie.title} by 7 days") == (
        f"{movie.title} will be deleted on {spoken_date(was + 7 * DAY, 'en')} instead."
    )
    assert item.purge_at == was + 7 * DAY
    assert await answer(
        hass, f"verschiebe das Löschen von {movie.title} um eine Woche", "de"
    ) == (
        f"{movie.title} wird stattdessen am {spoken_date(was + 14 * DAY, 'de')} "
        "gelöscht."
    )
    assert await answer(hass, f"keep {movie.title} for 100 more days") == (
        f"{movie.title} will be deleted on {spoken_date(was + 114 * DAY, 'en')} "
        "instead."
    )
    assert item.purge_at == was + 114 * DAY
    assert untouched.purge_at == other_was
    assert [str(i.state) for i in plan.items] == ["quarantined", "quarantined"]
    assert str(plan.state) == "confirmed"
    assert destructive(stack) == []
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("assist")
async def test_restore_asks_when_the_title_is_unclear(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Two leaving titles of one name: a question; the year decides; pending is said."""
    dune_84, dune_21, pending = radarr_movies(stack, 3)
    dune_84.title, dune_84.year = "Dune", 1984
    dune_21.title, dune_21.year = "Dune", 2021
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,), LATER)
    plan = await confirmed_plan(hass, entry, [dune_84.rating_key, dune_21.rating_key])
    for text in ("keep dune on plex", "postpone deleting dune by 3 days"):
        assert await answer(hass, text) == (
            "Which one do you mean: Dune from 1984 or Dune from 2021? Say it again "
            "with the year or the full title."
        )
    assert await answer(hass, "behalte Dune auf Plex", "de") == (
        "Welchen meinst du: Dune von 1984 oder Dune von 2021? Sag es noch einmal mit "
        "dem Jahr oder dem vollen Titel."
    )
    assert [str(item.state) for item in plan.items] == ["quarantined"] * 2
    assert await answer(hass, "keep dune 1999 on plex") == (
        "I found nothing called dune 1999 among the titles leaving Plex."
    )
    assert await answer(hass, "keep dune 2021 on plex") == (
        "Dune is back; it will not be deleted."
    )
    assert [str(item.state) for item in plan.items] == ["quarantined", "restored"]
    response = await hass.services.async_call(
        DOMAIN,
        "request_deletion",
        {"config_entry_id": entry.entry_id, "rating_keys": [pending.rating_key]},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    code = " ".join(response["code"])
    assert await answer(hass, f"don't delete {pending.title}") == (
        f"{pending.title} is only in plan {code}, which waits for confirmation: "
        "nothing is deleted unless you confirm it."
    )
    assert await answer(hass, f"lösche {pending.title} doch nicht", "de") == (
        f"{pending.title} ist nur in Plan {code}, der auf Bestätigung wartet: Es wird "
        "nichts gelöscht, solange du ihn nicht bestätigst."
    )
    assert await answer(hass, "bring the zebras back") == (
        "I found nothing called the zebras among the titles leaving Plex."
    )
    pending_plan = entry.runtime_data.cleanup.journal.plans[response["plan_id"]]
    assert str(pending_plan.state) == "pending"
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("assist")
async def test_a_refused_restore_is_said_in_the_language(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """The action's own refusal is said in German, not HA's English words."""
    entry = await setup_entry(hass, stack, (ServiceKind.RADARR,), LATER)
    [movie] = radarr_movies(stack, 1)
    plan = await confirmed_plan(hass, entry, [movie.rating_key])

    async def fail(call: ServiceCall) -> ServiceResponse:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="restore_failed",
            translation_placeholders={"title": movie.title, "error": "timeout"},
        )

    async def refuse(call: ServiceCall) -> ServiceResponse:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="plan_not_open",
            translation_placeholders={"plan_id": "p", "state": "done"},
        )

    for service, handler in (("restore", fail), ("postpone", refuse)):
        hass.services.async_register(
            DOMAIN, service, handler, supports_response=SupportsResponse.OPTIONAL
        )
    assert await answer(hass, f"behalte {movie.title} auf Plex", "de") == (
        f"{movie.title} konnte nicht wiederhergestellt werden: timeout. Es wurde "
        "nichts gelöscht; versuche es noch einmal."
    )
    assert await answer(hass, f"keep {movie.title} on plex") == (
        f"{movie.title} could not be restored: timeout. Nothing was deleted; try again."
    )
    assert await answer(
        hass, f"verschiebe die Löschung von {movie.title} um 2 Tage", "de"
    ) == (
        f"Das Löschen von {movie.title} konnte nicht verschoben werden: Plan p ist "
        "done: nur ein offener oder bestätigter Plan kann verschoben werden"
    )
    assert await answer(hass, f"postpone the deletion of {movie.title} by 2 days") == (
        f"The deletion of {movie.title} could not be postponed: Plan p is done: only "
        "a pending or confirmed plan can be postponed"
    )
    assert [str(item.state) for item in plan.items] == ["quarantined"]
    assert await hass.config_entries.async_unload(entry.entry_id)


# --- Free some space ---------------------------------------------------------------


async def rule_order(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    """The never-watched rule's candidates in the engine's order (a dry run)."""
    response = await hass.services.async_call(
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
    assert response is not None
    return list(response["items"])


def just_enough(items: list[Any], size: int) -> list[Any]:
    """The first items that together free at least this many bytes."""
    chosen: list[Any] = []
    while sum(item["size"] for item in chosen) < size:
        chosen.append(items[len(chosen)])
    return chosen


@pytest.mark.usefixtures("assist")
async def test_free_space_makes_a_plan_of_just_enough(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """'Free N GB' frees N GB (the target is today's free space plus N), never confirms."""
    entry = await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED], **LATER})
    items = await rule_order(hass, entry)
    wanted = items[0]["size"] // GB + items[1]["size"] // GB + 1
    chosen = just_enough(items, wanted * GB)
    assert 2 < len(chosen) < len(items)
    before = writes(stack)
    spoken = await answer(hass, f"free {wanted} gigabytes on plex")
    found = re.fullmatch(
        r"Plan (\d) (\d) (\d): (\d+) titles, (.+)\. Nothing is deleted yet\. To go "
        r"ahead, say: confirm plan \1 \2 \3\.",
        spoken,
    )
    assert found, spoken
    [plan] = entry.runtime_data.cleanup.journal.active()
    assert str(plan.state) == "pending"
    assert plan.code == "".join(found.groups()[:3])
    assert [item.key for item in plan.items] == [i["rating_key"] for i in chosen]
    assert found[4] == str(len(chosen))
    assert found[5] == gb(sum(i["size"] for i in chosen))
    free = sum(disk.free for disk in stack.world.disks)
    assert plan.free_before == free
    assert "Plan" in await answer(hass, f"mach {wanted} GB auf Plex frei", "de")
    assert [p.id for p in entry.runtime_data.cleanup.journal.active()] == [plan.id]
    everything = await answer(hass, "make room for 100000 GB")
    assert everything.endswith(
        "It frees less than the 100,000 GB you asked for: that is all the rule finds."
    )
    assert {str(p.state) for p in entry.runtime_data.cleanup.journal.active()} == {
        "pending"
    }
    assert writes(stack) == before
    await hass.services.async_call(
        DOMAIN,
        "confirm_deletion",
        {"config_entry_id": entry.entry_id, "plan_id": plan.id},
        blocking=True,
    )
    # The confirmed plan already frees that much: nothing more is needed.
    assert await answer(hass, f"free {wanted} gigabytes on plex") == (
        "Nothing to delete: the plan would be empty."
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("assist")
async def test_free_space_needs_a_rule_and_the_free_space(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """Several rules: a question naming them; a named one is used; free space unknown."""
    entry = await storage_entry(hass, stack, **{CONF_RULES: [NEVER_WATCHED, BIG]})
    assert await answer(hass, "free 50 GB on plex") == (
        "Which cleanup rule should free the space: Never watched movies or Big "
        "movies? Say it again and add: with rule Never watched movies."
    )
    assert await answer(hass, "mach 50 GB frei", "de") == (
        "Welche Aufräumregel soll den Platz freigeben: Never watched movies oder Big "
        "movies? Sag es noch einmal mit dem Zusatz: mit der Regel Never watched movies."
    )
    assert entry.runtime_data.cleanup.journal.plans == {}
    spoken = await answer(hass, "free 50 GB on plex with rule big movies")
    assert spoken.startswith("Plan ")
    [plan] = entry.runtime_data.cleanup.journal.active()
    assert plan.rule == "Big movies"
    assert plan.total_size >= 50 * GB
    other = await make_entry(hass, stack, (ServiceKind.TAUTULLI,))
    other_id = other.entry_id
    await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(other, options={CONF_RULES: [NEVER_WATCHED]})
    await hass.config_entries.async_setup(other_id)
    await hass.async_block_till_done()
    assert await answer(hass, "make room for 50 GB") == (
        f"I don't know how much space is free on {other.title}, so I cannot plan to "
        "free some. Add Sonarr or Radarr to SmartPlex."
    )
    hass.config_entries.async_update_entry(other, options={})
    await hass.async_block_till_done()
    assert await answer(hass, "make room for 50 GB") == (
        "No cleanup rules are set up yet. Add one in the SmartPlex options."
    )


# --- The engine's reasons, in the asker's language -----------------------------------


@pytest.mark.parametrize(
    ("reason", "german"),
    [
        ("play data is unavailable", "Wiedergabedaten sind nicht verfügbar"),
        (
            "play data is stale (age 30.5 h > 24 h)",
            (
                "die Wiedergabedaten sind 30,5 Stunden alt, mehr als die 24 Stunden, "
                "die die Regel erlaubt"
            ),
        ),
        (
            "request data from Overseerr is unavailable",
            "Anfragedaten von Overseerr sind nicht verfügbar",
        ),
        ("labelled keep; playing now", "mit keep markiert; es läuft gerade"),
        (
            "2 files missing: the disk may be offline",
            "fehlende Dateien: 2; die Festplatte ist vielleicht nicht erreichbar",
        ),
        ("no tmdb id to match radarr by", "keine TMDB-ID, um es in Radarr zu finden"),
        ("sonarr lookup failed: timeout", "Sonarr ließ sich nicht abfragen: timeout"),
        ("sonarr has no season 0", "Sonarr hat keine Staffel 0"),
        ("already in confirmed plan 0123abcd", "schon in einem bestätigten Plan"),
        ("the moon is full", "the moon is full"),
        ("play data is stale", "play data is stale"),
    ],
)
async def test_known_reasons_are_translated(
    hass: HomeAssistant, reason: str, german: str
) -> None:
    """A reason from the engine's fixed set is said in German; others stay as they are."""
    assert (await async_texts(hass, "de")).reason(reason) == german


@pytest.mark.usefixtures("assist")
async def test_german_answers_carry_no_english_reasons(
    hass: HomeAssistant, stack: SimulatorStack
) -> None:
    """A refused rule and a skipped title are explained in German."""
    [kept] = radarr_movies(stack, 1)
    kept.labels.append("keep")
    entry = await make_entry(hass, stack, (ServiceKind.RADARR,))
    hass.config_entries.async_update_entry(entry, options={CONF_RULES: [NEVER_WATCHED]})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    refused = (
        "Die Regel Never watched movies kann gerade nicht sicher angewendet werden: "
        "die Wiedergabedaten stammen aus den eigenen Zählern von Plex, die nicht jeden "
        "Benutzer erfassen."
    )
    assert await answer(hass, "was könnte ich aus Plex löschen", "de") == refused
    assert await answer(hass, "mach 50 GB auf Plex frei", "de") == refused
    assert await answer(hass, "free 50 GB on plex") == (
        "The rule Never watched movies cannot run safely right now: play data comes "
        "from Plex's own counts, which do not cover every user."
    )
    assert await answer(hass, f"lösche {kept.title} aus Plex", "de") == (
        f"Nichts zu löschen: Der Plan wäre leer. Übersprungen wurde {kept.title}: "
        "mit keep markiert."
    )
    assert await answer(hass, f"delete {kept.title} from plex") == (
        f"Nothing to delete: the plan would be empty. Skipped {kept.title}: labelled "
        "keep."
    )
    assert entry.runtime_data.cleanup.journal.plans == {}


@pytest.mark.usefixtures("assist")
@pytest.mark.parametrize(
    ("language", "text", "intent_type", "slots"),
    [
        ("en", "restore alien on plex", "SmartPlexRestore", {"title": "alien"}),
        ("en", "bring alien back to plex", "SmartPlexRestore", {"title": "alien"}),
        ("en", "don't delete alien from plex", "SmartPlexRestore", {"title": "alien"}),
        ("de", "hol alien wieder her", "SmartPlexRestore", {"title": "alien"}),
        (
            "en",
            "keep alien on plex for 3 more days",
            "SmartPlexPostpone",
            {"title": "alien", "days": 3},
        ),
        (
            "en",
            "keep alien for another week",
            "SmartPlexPostpone",
            {"title": "alien", "days": 7},
        ),
        (
            "de",
            "behalte alien noch 5 Tage länger",
            "SmartPlexPostpone",
            {"title": "alien", "days": 5},
        ),
        (
            "en",
            "free up 200 GB from my plex server",
            "SmartPlexFreeSpace",
            {"size_gb": 200},
        ),
        (
            "en",
            "make room for 200 gigabytes on plex with rule old movies",
            "SmartPlexFreeSpace",
            {"size_gb": 200, "rule": "old movies"},
        ),
        (
            "de",
            "schaffe 200 GB Platz auf Plex mit der Regel alte Filme",
            "SmartPlexFreeSpace",
            {"size_gb": 200, "rule": "alte Filme"},
        ),
    ],
)
async def test_sentences_fill_the_slots(
    hass: HomeAssistant,
    language: str,
    text: str,
    intent_type: str,
    slots: dict[str, Any],
) -> None:
    """Titles end where the sentence goes on; days and sizes are numbers."""
    agent = conversation.async_get_agent(hass)
    assert isinstance(agent, DefaultAgent)
    result = await agent.async_recognize_intent(
        conversation.ConversationInput(
            text=text,
            context=Context(),
            conversation_id=None,
            device_id=None,
            satellite_id=None,
            language=language,
            agent_id=None,
            extra_system_prompt=None,
        )
    )
    assert result is not None
    assert result.intent.name == intent_type
    assert {name: slot.value for name, slot in result.entities.items()} == slots
