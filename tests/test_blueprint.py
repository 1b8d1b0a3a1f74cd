"""The confirm-deletion blueprint, run by Home Assistant's automation engine."""

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
import logging
from pathlib import Path
import shutil
from typing import Any

from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import Blueprint
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, slugify
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_mock_service,
)

BLUEPRINT_FILE = (
    Path(__file__).parents[1]
    / "blueprints"
    / "automation"
    / "smartplex"
    / "confirm_deletion.yaml"
)
BLUEPRINT_PATH = "smartplex/confirm_deletion.yaml"
ACTIONS = ("confirm_deletion", "cancel_deletion", "postpone", "keep")
ENTRY_ID = "01JSMARTPLEXENTRY0000000000"
PLAN_A = "0f" * 16
PLAN_B = "a1" * 16


@dataclass
class Phone:
    """A mobile_app device and the notifications its notify action received."""

    device_id: str
    pushes: list[ServiceCall]


@pytest.fixture(autouse=True)
def no_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail on any warning Home Assistant logs while the blueprint runs."""
    yield
    assert [
        record.getMessage()
        for record in caplog.get_records("call")
        if record.levelno >= logging.WARNING
        and record.name.startswith("homeassistant.")
        and record.name != "homeassistant.loader"  # "custom integration" notice
    ] == []


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Put the blueprint where Home Assistant looks for automation blueprints."""
    folder = Path(hass_tmp_config_dir, "blueprints", "automation", "smartplex")
    folder.mkdir(parents=True)
    shutil.copy(BLUEPRINT_FILE, folder)
    return hass_tmp_config_dir


def add_phone(hass: HomeAssistant, name: str) -> Phone:
    """Register a Companion app device and mock the notify action mobile_app gives it."""
    # mobile_app names it notify.<slug of "mobile_app_" + the device's name>.
    entry = MockConfigEntry(domain="mobile_app", title=name)
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", f"{name}-id")},
        name=name,
    )
    return Phone(
        device.id, async_mock_service(hass, "notify", slugify(f"mobile_app_{name}"))
    )


@pytest.fixture
def phone(hass: HomeAssistant) -> Phone:
    """The phone the blueprint asks."""
    return add_phone(hass, "Pixel 9")


@pytest.fixture
def smartplex(hass: HomeAssistant) -> dict[str, list[ServiceCall]]:
    """Stand-ins for SmartPlex's deletion actions, recording their calls."""
    return {action: async_mock_service(hass, "smartplex", action) for action in ACTIONS}


async def use_blueprint(hass: HomeAssistant, *inputs: dict[str, Any]) -> None:
    """Set up one automation from the blueprint per set of inputs."""
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {"use_blueprint": {"path": BLUEPRINT_PATH, "input": automation}}
                for automation in inputs
            ]
        },
    )
    await hass.async_block_till_done()
    states = hass.states.async_all("automation")
    assert [state.state for state in states] == ["on"] * len(inputs)


async def settle() -> None:
    """Let the automation runs go as far as they can."""
    # Runs waiting for an answer keep their tasks pending: async_block_till_done
    # would wait for them forever.
    for _ in range(100):
        await asyncio.sleep(0)


def plan(plan_id: str = PLAN_A, **data: Any) -> dict[str, Any]:
    """Event data of `smartplex_deletion_requested` for a plan expiring in 2 hours."""
    return {
        "config_entry_id": ENTRY_ID,
        "plan_id": plan_id,
        "code": "042",
        "items": 5,
        "total_size": 12_345_678_901,
        "total_gb": 12.3,
        "needs_acknowledge": False,
        "expires": (dt_util.utcnow() + timedelta(hours=2)).isoformat(),
        "titles": ["Alien", "Brazil", "Casablanca", "Dune", "Eraserhead"],
        "rule": "Old movies",
    } | data


async def request(hass: HomeAssistant, phone: Phone, **data: Any) -> dict[str, Any]:
    """Fire a deletion request and return the notification it sent to the phone."""
    sent = len(phone.pushes)
    hass.bus.async_fire("smartplex_deletion_requested", plan(**data))
    await settle()
    assert len(phone.pushes) == sent + 1
    return dict(phone.pushes[-1].data)


def button(push: dict[str, Any], title: str) -> dict[str, Any]:
    """The action of a notification whose button reads `title`."""
    (found,) = [
        action
        for action in push["data"]["actions"]
        if action["title"].startswith(title)
    ]
    return dict(found)


async def tap(hass: HomeAssistant, action: str, reply_text: str | None = None) -> None:
    """Fire the event the Companion app sends when a notification button is tapped."""
    data = {"action": action, "tag": "anything the app echoes"}
    if reply_text is not None:
        data["reply_text"] = reply_text
    hass.bus.async_fire("mobile_app_notification_action", data)
    await settle()


def called(smartplex: dict[str, list[ServiceCall]]) -> dict[str, list[dict[str, Any]]]:
    """The SmartPlex actions called so far, with their data."""
    return {
        action: [dict(call.data) for call in calls]
        for action, calls in smartplex.items()
        if calls
    }


def ids(plan_id: str = PLAN_A, **extra: Any) -> dict[str, Any]:
    """The data naming a plan, as every SmartPlex deletion action takes it."""
    return {"config_entry_id": ENTRY_ID, "plan_id": plan_id} | extra


def waiting(hass: HomeAssistant) -> int:
    """How many runs of the (single) blueprint automation are still going."""
    (automation,) = hass.states.async_all("automation")
    return int(automation.attributes["current"])


async def test_blueprint_loads_without_errors(
    hass: HomeAssistant, phone: Phone
) -> None:
    """Home Assistant's blueprint loader accepts the file and the automation is valid."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    loaded = await async_get_blueprints(hass).async_get_blueprints()
    blueprint = loaded[BLUEPRINT_PATH]
    assert isinstance(blueprint, Blueprint)
    assert blueprint.validate() is None
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == {
        "notify_device",
        "server",
        "timeout_hours",
        "postpone_days",
    }
    device_filter = blueprint.inputs["notify_device"]["selector"]["device"]["filter"]
    assert device_filter == [{"integration": "mobile_app"}]


async def test_notification_shows_the_plan(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """The phone is asked with the count, size, first titles, code and four buttons."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone)

    assert push["title"] == "SmartPlex: delete 5 items?"
    assert push["message"] == (
        '12.3 GB (rule "Old movies"): Alien, Brazil, Casablanca and 2 more. Code 042.'
    )
    assert push["data"]["tag"] == f"smartplex_{PLAN_A}"
    actions = push["data"]["actions"]
    assert [action["title"] for action in actions] == [
        "Confirm",
        "Cancel",
        "Postpone 7 days",
        "Keep",
    ]
    assert len({action["action"] for action in actions}) == 4
    assert all(PLAN_A in action["action"] for action in actions)
    assert button(push, "Confirm")["destructive"] is True
    assert button(push, "Confirm")["authenticationRequired"] is True
    assert "behavior" not in button(push, "Confirm")
    assert called(smartplex) == {}


@pytest.mark.parametrize(
    ("title", "action", "data", "outcome"),
    [
        ("Confirm", "confirm_deletion", ids(), "Deletion confirmed."),
        ("Cancel", "cancel_deletion", ids(), "Deletion cancelled."),
        ("Postpone", "postpone", ids(days=7), "Deletion postponed by 7 days."),
        ("Keep", "keep", ids(), "Kept for good: these items will not be deleted."),
    ],
)
async def test_each_button_calls_its_action(
    hass: HomeAssistant,
    phone: Phone,
    smartplex: dict[str, list[ServiceCall]],
    title: str,
    action: str,
    data: dict[str, Any],
    outcome: str,
) -> None:
    """A tap calls exactly one SmartPlex action for the plan, then says what happened."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone)
    await tap(hass, button(push, title)["action"])

    assert called(smartplex) == {action: [data]}
    assert phone.pushes[-1].data["message"] == outcome
    assert phone.pushes[-1].data["data"] == {"tag": f"smartplex_{PLAN_A}"}

    # The run is over: a second tap of any button does nothing more.
    for other in push["data"]["actions"]:
        await tap(hass, other["action"])
    assert called(smartplex) == {action: [data]}


@pytest.mark.parametrize(
    ("reply", "typed"),
    [("12.3", 12.3), ("12,3 GB", 12.3), (" 12.30 gb ", 12.3), ("11", 11.0)],
)
async def test_large_plan_confirms_with_the_typed_total(
    hass: HomeAssistant,
    phone: Phone,
    smartplex: dict[str, list[ServiceCall]],
    reply: str,
    typed: float,
) -> None:
    """A large plan's Confirm asks for text; what the person typed goes to the action."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone, needs_acknowledge=True)
    confirm = button(push, "Confirm")
    assert confirm["behavior"] == "textInput"
    assert confirm["textInputButtonTitle"] == "Confirm"
    assert push["message"].endswith("To confirm, tap Confirm and type the total in GB.")

    await tap(hass, confirm["action"], reply)

    # The typed number is passed as it is (even a wrong one: the action checks it);
    # the blueprint never fills in the plan's total itself.
    assert called(smartplex) == {"confirm_deletion": [ids(acknowledge_total_gb=typed)]}
    assert phone.pushes[-1].data["message"] == "Deletion confirmed."


@pytest.mark.parametrize("reply", ["twelve", "", None])
async def test_large_plan_without_a_number_is_not_confirmed(
    hass: HomeAssistant,
    phone: Phone,
    smartplex: dict[str, list[ServiceCall]],
    reply: str | None,
) -> None:
    """A reply that is not a number confirms nothing and the phone is told why."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone, needs_acknowledge=True)
    await tap(hass, button(push, "Confirm")["action"], reply)

    assert called(smartplex) == {}
    assert phone.pushes[-1].data["message"] == (
        f'Not confirmed: "{reply or ""}" is not a number of GB. '
        "Confirm the plan in Home Assistant instead."
    )


async def test_two_plans_in_flight_do_not_cross(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """Each plan's buttons act on that plan only, answered in any order."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    first = await request(hass, phone, plan_id=PLAN_A)
    second = await request(hass, phone, plan_id=PLAN_B, needs_acknowledge=True)
    assert not {a["action"] for a in first["data"]["actions"]} & {
        a["action"] for a in second["data"]["actions"]
    }

    await tap(hass, button(second, "Cancel")["action"])
    assert called(smartplex) == {"cancel_deletion": [ids(PLAN_B)]}

    await tap(hass, button(first, "Confirm")["action"])
    assert called(smartplex) == {
        "cancel_deletion": [ids(PLAN_B)],
        "confirm_deletion": [ids(PLAN_A)],
    }


async def test_foreign_actions_are_ignored(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """Buttons of other plans or other automations do nothing; the plan still waits."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone)
    confirm = button(push, "Confirm")["action"]

    await tap(hass, confirm.replace(PLAN_A, PLAN_B))
    await tap(hass, f"SMARTPLEX_CONFIRM_{PLAN_A}")
    await tap(hass, "ALARM")
    await tap(hass, confirm.lower())
    assert called(smartplex) == {}
    assert len(phone.pushes) == 1

    await tap(hass, confirm)
    assert called(smartplex) == {"confirm_deletion": [ids()]}


async def test_two_phones_asked_about_one_plan_answer_once_each(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """With one automation per phone, a tap on one phone acts once, not once per phone."""
    tablet = add_phone(hass, "Anna's iPad")
    assert hass.services.has_service("notify", "mobile_app_anna_s_ipad")
    await use_blueprint(
        hass, {"notify_device": phone.device_id}, {"notify_device": tablet.device_id}
    )
    hass.bus.async_fire("smartplex_deletion_requested", plan())
    await settle()
    assert len(phone.pushes) == len(tablet.pushes) == 1

    await tap(hass, button(dict(phone.pushes[0].data), "Postpone")["action"])
    assert called(smartplex) == {"postpone": [ids(days=7)]}
    assert len(tablet.pushes) == 1


async def test_unanswered_plan_times_out_doing_nothing(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """When the plan expires unanswered, nothing is called, not even by a late tap."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(hass, phone)

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=1, minutes=59))
    await settle()
    assert waiting(hass) == 1
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(hours=2, seconds=1))
    await settle()
    assert waiting(hass) == 0
    await tap(hass, button(push, "Confirm")["action"])

    assert called(smartplex) == {}
    assert len(phone.pushes) == 1


@pytest.mark.parametrize(
    ("inputs", "expires", "waits"),
    [
        ({}, timedelta(days=30), timedelta(hours=168)),
        ({"timeout_hours": 1}, timedelta(hours=2), timedelta(hours=1)),
    ],
)
async def test_wait_is_bounded(
    hass: HomeAssistant,
    phone: Phone,
    smartplex: dict[str, list[ServiceCall]],
    inputs: dict[str, Any],
    expires: timedelta,
    waits: timedelta,
) -> None:
    """The question stays open until the plan expires, but never past the bound."""
    await use_blueprint(hass, {"notify_device": phone.device_id} | inputs)
    push = await request(hass, phone, expires=(dt_util.utcnow() + expires).isoformat())
    async_fire_time_changed(hass, dt_util.utcnow() + waits - timedelta(minutes=1))
    await settle()
    assert waiting(hass) == 1
    async_fire_time_changed(hass, dt_util.utcnow() + waits + timedelta(seconds=1))
    await settle()
    assert waiting(hass) == 0
    await tap(hass, button(push, "Confirm")["action"])
    assert called(smartplex) == {}


@pytest.mark.parametrize("expires", ["2020-01-01T00:00:00+00:00", "not a date"])
async def test_expired_plan_is_not_asked(
    hass: HomeAssistant, phone: Phone, expires: str
) -> None:
    """A plan already expired (or without a readable expiry) sends no notification."""
    await use_blueprint(hass, {"notify_device": phone.device_id})
    hass.bus.async_fire("smartplex_deletion_requested", plan(expires=expires))
    await settle()
    assert phone.pushes == []


async def test_server_input_limits_the_plans(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """With a server chosen, plans of other SmartPlex entries are not asked about."""
    await use_blueprint(hass, {"notify_device": phone.device_id, "server": ENTRY_ID})
    hass.bus.async_fire(
        "smartplex_deletion_requested", plan(config_entry_id="another entry")
    )
    await settle()
    assert phone.pushes == []
    await request(hass, phone)


@pytest.mark.parametrize(
    ("days", "buttons", "outcome"),
    [
        (0, ["Confirm", "Cancel", "Keep"], None),
        (1, ["Confirm", "Cancel", "Postpone 1 day", "Keep"], 1),
        (30, ["Confirm", "Cancel", "Postpone 30 days", "Keep"], 30),
    ],
)
async def test_postpone_days_input(
    hass: HomeAssistant,
    phone: Phone,
    smartplex: dict[str, list[ServiceCall]],
    days: int,
    buttons: list[str],
    outcome: int | None,
) -> None:
    """Postpone moves the plan by the configured whole days; 0 leaves the button out."""
    await use_blueprint(hass, {"notify_device": phone.device_id, "postpone_days": days})
    push = await request(hass, phone)
    assert [action["title"] for action in push["data"]["actions"]] == buttons
    if outcome is not None:
        await tap(hass, button(push, "Postpone")["action"])
        assert called(smartplex) == {"postpone": [ids(days=outcome)]}
        assert type(smartplex["postpone"][0].data["days"]) is int


async def test_plan_ids_stay_strings(
    hass: HomeAssistant, phone: Phone, smartplex: dict[str, list[ServiceCall]]
) -> None:
    """A plan id of digits only reaches the action as the same string, not a number."""
    digits = "1234567890" * 3 + "12"
    await use_blueprint(hass, {"notify_device": phone.device_id})
    push = await request(
        hass, phone, plan_id=digits, items=1, titles=["Zardoz"], rule=None
    )
    assert push["title"] == "SmartPlex: delete 1 item?"
    assert push["message"] == "12.3 GB: Zardoz. Code 042."
    await tap(hass, button(push, "Keep")["action"])
    assert called(smartplex) == {"keep": [ids(digits)]}
    assert smartplex["keep"][0].data["plan_id"] == digits
