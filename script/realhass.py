"""A real Home Assistant process with SmartPlex, set up over its API like a user would.

`real_hass()` starts the simulators (or takes a running stack), writes a throw-away config
directory, starts `hass` on 127.0.0.1, completes onboarding through the REST onboarding
endpoints, adds SmartPlex through its real config flow and the four services through
subentry flows, and stops everything on exit. The `RealHass` it yields can stop (SIGTERM),
kill (SIGKILL) and start `hass` again on the same config directory:

    async with real_hass() as hass:
        await hass.kill()
        await hass.start()
        await hass.wait_until_loaded()

Run as `python -m script.realhass` it is the demo: see script/demo.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
import math
from pathlib import Path
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from typing import Any

import aiohttp

from simulators import SimulatorStack
from simulators.world import World

PROJECT_DIR = Path(__file__).resolve().parent.parent
INTEGRATION_DIR = PROJECT_DIR / "custom_components" / "smartplex"
BLUEPRINT_DIR = PROJECT_DIR / "blueprints" / "automation" / "smartplex"
EXAMPLE_DASHBOARD = PROJECT_DIR / "examples" / "dashboard.yaml"
EXAMPLE_SCRIPTS = PROJECT_DIR / "examples" / "scripts.yaml"
DOMAIN = "smartplex"
SERVICES = ("sonarr", "radarr", "tautulli", "overseerr")
DASHBOARD_PATH = "smartplex-demo"
DEMO_RULES = (
    {
        "name": "Stale movies",
        "level": "movie",
        "not_played_days": 365,
        "added_more_than_days": 180,
    },
    {
        "name": "Forgotten shows",
        "level": "show",
        "not_played_days": 180,
        "added_more_than_days": 365,
    },
)
# The demo's household: a few thousand titles.
DEMO_MOVIES = 2500
DEMO_SHOWS = 120
# Three days between confirming a plan and its purge (the default is one): long enough
# that a demo deletes nothing, short enough for the calendar card's month to show it.
DEMO_GRACE_HOURS = 3 * 24
# The demo confirms a plan of this many stale movies and leaves one of as many more waiting.
DEMO_PLAN_ITEMS = 5
DEFAULT_USERNAME = "demo"
DEFAULT_PASSWORD = "smartplex-demo"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0
POLL_INTERVAL = 0.25
# What the demo needs, listed instead of `default_config:`, which would add discovery
# (zeroconf, ssdp, dhcp, bluetooth), cloud and streaming: packages and network traffic
# the demo has no use for. Home Assistant adds its own defaults (frontend, base platforms,
# helpers); `lovelace:` is written with the dashboards, `script:` with the example scripts.
COMPONENTS = (
    "api",
    "automation",
    "blueprint",
    "config",
    "frontend",
    "history",
    "logbook",
    "mobile_app",
    "onboarding",
    "person",
    "recorder",
    "webhook",
)


class RealHassError(Exception):
    """Home Assistant did not do what the harness asked for."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """The owner account that onboarding creates."""

    name: str = "Demo"
    username: str = DEFAULT_USERNAME
    password: str = DEFAULT_PASSWORD


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_config(config_dir: Path, port: int, *, dashboard: Path | None = None) -> None:
    """Write configuration.yaml, link SmartPlex in, install blueprints, scripts, a dashboard."""
    lines = [
        "homeassistant:",
        "  name: SmartPlex demo",
        "  country: DE",
        "  currency: EUR",
        "  language: en",
        "  time_zone: Europe/Berlin",
        "  unit_system: metric",
        "  latitude: 52.52",
        "  longitude: 13.40",
        "  elevation: 34",
        f"  internal_url: http://127.0.0.1:{port}",
        "http:",
        "  server_host: 127.0.0.1",
        f"  server_port: {port}",
        "logger:",
        "  default: warning",
        "  logs:",
        "    custom_components.smartplex: info",
        *(f"{component}:" for component in COMPONENTS),
        # The file the script editor writes to: the examples are editable in the UI.
        "script: !include scripts.yaml",
        "lovelace:",
    ]
    if dashboard is not None:
        shutil.copyfile(dashboard, config_dir / "smartplex_dashboard.yaml")
        lines += [
            "  dashboards:",
            f"    {DASHBOARD_PATH}:",
            "      mode: yaml",
            "      filename: smartplex_dashboard.yaml",
            "      title: SmartPlex",
            "      icon: mdi:plex",
            "      show_in_sidebar: true",
        ]
    (config_dir / "configuration.yaml").write_text("\n".join(lines) + "\n")
    shutil.copyfile(EXAMPLE_SCRIPTS, config_dir / "scripts.yaml")
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    (custom / DOMAIN).symlink_to(INTEGRATION_DIR, target_is_directory=True)
    blueprints = sorted(BLUEPRINT_DIR.glob("*.yaml"))
    if blueprints:
        target = config_dir / "blueprints" / "automation" / DOMAIN
        target.mkdir(parents=True)
        for blueprint in blueprints:
            shutil.copyfile(blueprint, target / blueprint.name)


class RealHass:
    """One `hass` process on one config directory, driven over HTTP."""

    def __init__(
        self,
        stack: SimulatorStack,
        config_dir: Path,
        port: int,
        *,
        account: Account | None = None,
    ) -> None:
        """Prepare (not start) hass on a config directory `write_config` wrote."""
        self.stack = stack
        self.config_dir = config_dir
        self.port = port
        self.account = account or Account()
        self.token = ""
        self.entry_id = ""
        # Seconds taken by the last start, the onboarding and the config flows.
        self.timings: dict[str, float] = {}
        self.process: asyncio.subprocess.Process | None = None
        self.log_path = config_dir / "hass.console.log"
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """Home Assistant's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def dashboard_url(self) -> str:
        """The demo dashboard's URL (present when a dashboard was installed)."""
        return f"{self.url}/{DASHBOARD_PATH}"

    @property
    def simulator_urls(self) -> dict[str, str]:
        """The base URL of every simulated service."""
        return {sim.name.lower(): sim.url for sim in self.stack.simulators}

    @property
    def running(self) -> bool:
        """Whether the hass process is alive."""
        return self.process is not None and self.process.returncode is None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session that talks to Home Assistant."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def start(self) -> None:
        """Start hass and wait until it answers (and, once onboarded, is running)."""
        if self.running:
            raise RealHassError("hass is already running")
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(self.config_dir),
                "--skip-pip",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own session: a Ctrl-C in the demo's terminal reaches the harness,
                # which stops hass in order.
                start_new_session=True,
            )
        if self.token:
            await self._wait_for(self._is_running, "hass to start")
        else:
            # Before onboarding nothing else answers without a token.
            await self._wait_for(self._onboarding_answers, "the onboarding API")
        self.timings["start"] = time.monotonic() - started

    async def stop(self, grace: float = STOP_TIMEOUT) -> int:
        """Stop hass with SIGTERM (SIGKILL after `grace` s); return its exit code."""
        return await self._end(signal.SIGTERM, grace)

    async def kill(self) -> int:
        """Kill hass with SIGKILL, as a crash would; return its exit code."""
        return await self._end(signal.SIGKILL, STOP_TIMEOUT)

    async def restart(self) -> None:
        """Stop hass and start it again on the same config directory."""
        await self.stop()
        await self.start()

    async def close(self) -> None:
        """Stop hass if it runs and close the HTTP session."""
        try:
            if self.running:
                await self.stop()
        finally:
            if self._session is not None:
                await self._session.close()

    async def _end(self, sig: signal.Signals, grace: float) -> int:
        """Send `sig` to hass and wait for it to exit, killing it after `grace` s."""
        process = self.process
        if process is None:
            raise RealHassError("hass was never started")
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        return await process.wait()

    async def setup(self, services: Sequence[str] = SERVICES) -> None:
        """Onboard, then add SmartPlex and `services`, timing both."""
        started = time.monotonic()
        await self.onboard()
        await self.confirm_network()
        onboarded = time.monotonic()
        self.timings["onboarding"] = onboarded - started
        await self.add_smartplex(services)
        self.timings["config_flow"] = time.monotonic() - onboarded

    async def onboard(self) -> None:
        """Go through the onboarding steps as the frontend does; keep an access token."""
        client_id = f"{self.url}/"
        account = self.account
        user = await self._call(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": client_id,
                "name": account.name,
                "username": account.username,
                "password": account.password,
                "language": "en",
            },
            auth=False,
        )
        tokens = await self._call(
            "POST",
            "/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": user["auth_code"],
                "client_id": client_id,
            },
            auth=False,
        )
        self.token = tokens["access_token"]
        await self._call("POST", "/api/onboarding/core_config", {})
        await self._call("POST", "/api/onboarding/analytics", {})
        await self._call(
            "POST",
            "/api/onboarding/integration",
            {"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
        )
        steps = await self._call("GET", "/api/onboarding", auth=False)
        if not all(step["done"] for step in steps):
            raise RealHassError(f"onboarding is not complete: {steps}")
        # A long-lived token survives restarts and the 30-minute access token expiry.
        self.token = await self.websocket_command(
            {
                "type": "auth/long_lived_access_token",
                "client_name": "SmartPlex harness",
                "lifespan": 365,
            }
        )
        await self._wait_for(self._is_running, "the start to finish")

    async def confirm_network(self) -> None:
        """Keep the imported `http:` settings, as Settings > System > Network asks.

        Home Assistant imports the YAML `http:` block once as a trial, reverts it (to
        port 8123 on every interface) unless confirmed within 5 minutes, and ignores the
        block from then on: confirm it, drop the block and dismiss the reminder.
        """
        await self.websocket_command({"type": "http/config/promote"})
        config = self.config_dir / "configuration.yaml"
        config.write_text(_without_block(config.read_text(), "http"))
        await self.websocket_command(
            {
                "type": "repairs/ignore_issue",
                "domain": "http",
                "issue_id": "deprecated_yaml",
                "ignore": True,
            }
        )

    async def add_smartplex(self, services: Sequence[str] = SERVICES) -> str:
        """Add the simulated Plex through the config flow, then `services` as subentries."""
        flow = await self._call(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": DOMAIN, "show_advanced_options": False},
        )
        flow = await self._flow_step(
            "/api/config/config_entries/flow", flow, {"next_step_id": "manual"}
        )
        flow = await self._flow_step(
            "/api/config/config_entries/flow",
            flow,
            {"url": self.stack.plex.url, "token": self.stack.plex.token},
        )
        _expect_created(flow, "SmartPlex")
        self.entry_id = flow["result"]["entry_id"]
        for service in services:
            simulator = getattr(self.stack, service)
            subflow = await self._call(
                "POST",
                "/api/config/config_entries/subentries/flow",
                {"handler": [self.entry_id, service]},
            )
            subflow = await self._flow_step(
                "/api/config/config_entries/subentries/flow",
                subflow,
                {"url": simulator.url, "api_key": simulator.api_key},
            )
            _expect_created(subflow, service)
        await self.wait_until_loaded()
        return self.entry_id

    async def set_options(self, settings: Mapping[str, Any]) -> None:
        """Change SmartPlex's settings (capacity, schedules) through its options flow."""
        await self._options_flow("settings", settings)

    async def add_rule(self, rule: Mapping[str, Any]) -> None:
        """Add a named cleanup rule through SmartPlex's options flow."""
        await self._options_flow("add_rule", rule)

    async def call_service(
        self, domain: str, service: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Call an action that returns a response (as scripts do) and return it."""
        answer = await self._call(
            "POST", f"/api/services/{domain}/{service}?return_response", data
        )
        response: dict[str, Any] = answer["service_response"]
        return response

    async def _options_flow(self, step: str, data: Mapping[str, Any]) -> None:
        """Pick `step` in the options menu and submit `data` there."""
        base = "/api/config/config_entries/options/flow"
        flow = await self._call("POST", base, {"handler": self.entry_id})
        flow = await self._flow_step(base, flow, {"next_step_id": step})
        _expect_created(await self._flow_step(base, flow, data), f"options {step}")

    async def _flow_step(
        self, base: str, flow: Mapping[str, Any], data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Answer the current step of a flow; fail on form errors."""
        if flow.get("errors"):
            raise RealHassError(f"flow step {flow['step_id']}: {flow['errors']}")
        answer: dict[str, Any] = await self._call(
            "POST", f"{base}/{flow['flow_id']}", dict(data)
        )
        if answer.get("errors"):
            raise RealHassError(f"flow step {answer['step_id']}: {answer['errors']}")
        return answer

    async def entry(self) -> dict[str, Any]:
        """Return SmartPlex's config entry as the config API lists it."""
        entries = await self._call(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        for entry in entries:
            if entry["entry_id"] == self.entry_id:
                found: dict[str, Any] = entry
                return found
        raise RealHassError(f"no config entry {self.entry_id}")

    async def wait_until_loaded(self, within: float = START_TIMEOUT) -> None:
        """Wait until SmartPlex's entry is loaded."""

        async def loaded() -> bool:
            return bool((await self.entry())["state"] == "loaded")

        await self._wait_for(loaded, "SmartPlex to load", within)

    async def wait_for_values(
        self, entity_ids: Sequence[str], within: float = START_TIMEOUT
    ) -> dict[str, dict[str, Any]]:
        """Wait until every entity has a state that is neither unavailable nor unknown."""
        found: dict[str, dict[str, Any]] = {}

        async def have_values() -> bool:
            states = {
                s["entity_id"]: s for s in await self.states(smartplex_only=False)
            }
            found.clear()
            found.update({e: states[e] for e in entity_ids if e in states})
            return len(found) == len(entity_ids) and all(
                s["state"] not in {"unavailable", "unknown"} for s in found.values()
            )

        await self._wait_for(have_values, f"values of {', '.join(entity_ids)}", within)
        return found

    async def states(self, *, smartplex_only: bool = True) -> list[dict[str, Any]]:
        """Return the states of SmartPlex's entities (or of every entity)."""
        states: list[dict[str, Any]] = await self._call("GET", "/api/states")
        if not smartplex_only:
            return states
        registry = await self.websocket_command({"type": "config/entity_registry/list"})
        ours = {
            item["entity_id"]
            for item in registry
            if item.get("config_entry_id") == self.entry_id
        }
        return [state for state in states if state["entity_id"] in ours]

    async def websocket_command(self, command: Mapping[str, Any]) -> Any:
        """Send one command over the websocket API and return its result."""
        async with self.session.ws_connect(f"{self.url}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (answer := await ws.receive_json())["type"] != "auth_ok":
                raise RealHassError(f"websocket auth failed: {answer}")
            await ws.send_json({"id": 1, **command})
            answer = await ws.receive_json()
        if not answer.get("success"):
            raise RealHassError(f"{command['type']} failed: {answer.get('error')}")
        return answer["result"]

    async def _call(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> Any:
        """Call the REST API and return the JSON answer; fail on an error status."""
        headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        async with self.session.request(
            method, f"{self.url}{path}", json=data, data=form, headers=headers
        ) as response:
            if response.status >= 400:
                text = await response.text()
                raise RealHassError(f"{method} {path}: {response.status} {text}")
            return await response.json()

    async def _onboarding_answers(self) -> bool:
        """Whether the onboarding API answers (it is gone once onboarding is done)."""
        try:
            async with self.session.get(f"{self.url}/api/onboarding") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async def _is_running(self) -> bool:
        """Whether Home Assistant reports that it finished starting."""
        try:
            config = await self._call("GET", "/api/config")
        except aiohttp.ClientError, RealHassError:
            return False
        return bool(config["state"] == "RUNNING")

    async def _wait_for(
        self,
        check: Callable[[], Awaitable[bool]],
        what: str,
        within: float = START_TIMEOUT,
    ) -> None:
        """Poll `check` until true; fail when hass exits or `within` s pass."""
        try:
            async with asyncio.timeout(within):
                while not await check():
                    if not self.running:
                        raise RealHassError(
                            f"hass exited while waiting for {what}{self._tail()}"
                        )
                    await asyncio.sleep(POLL_INTERVAL)
        except TimeoutError as err:
            raise RealHassError(f"timed out waiting for {what}{self._tail()}") from err

    def _tail(self, lines: int = 30) -> str:
        """Return the end of hass's console log, to explain a failure."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n--- hass console (end) ---\n" + "\n".join(text.splitlines()[-lines:])


async def add_demo_settings(hass: RealHass) -> None:
    """Set the capacity to the simulated disks' size, a long grace, and the demo's rules."""
    capacity = sum(disk.total for disk in hass.stack.world.disks)
    await hass.set_options(
        {
            "storage_capacity_gb": math.ceil(capacity / 1e9),
            "grace_hours": DEMO_GRACE_HOURS,
        }
    )
    for rule in DEMO_RULES:
        await hass.add_rule(rule)
    await hass.wait_until_loaded()


async def add_demo_plans(hass: RealHass) -> tuple[dict[str, Any], dict[str, Any]]:
    """Confirm a plan of stale movies and leave a second one waiting; return both.

    The confirmed plan's movies go to "Leaving soon" until the grace period ends, so the
    dashboard's plan, quarantine and calendar cards show what SmartPlex does.
    """
    rule = str(DEMO_RULES[0]["name"])

    async def request(limit: int) -> dict[str, Any]:
        plan = await hass.call_service(
            DOMAIN,
            "request_deletion",
            {"config_entry_id": hass.entry_id, "rule_name": rule, "limit": limit},
        )
        if plan["item_count"] == 0:
            raise RealHassError(f"the rule {rule!r} planned nothing: {plan}")
        return plan

    confirmed = await request(DEMO_PLAN_ITEMS)
    acknowledge = (
        {"acknowledge_total_gb": confirmed["total_gb"]}
        if confirmed["needs_acknowledge"]
        else {}
    )
    confirmed = await hass.call_service(
        DOMAIN,
        "confirm_deletion",
        {
            "config_entry_id": hass.entry_id,
            "plan_id": confirmed["plan_id"],
            **acknowledge,
        },
    )
    # The first plan's movies come first again: they are skipped as already confirmed.
    waiting = await request(2 * DEMO_PLAN_ITEMS)
    return confirmed, waiting


def dashboard_entities(dashboard: Path) -> list[str]:
    """Return the entity ids a dashboard shows, in order of first appearance."""
    found = re.findall(
        r"\b(?:binary_sensor|calendar|script|sensor)\.[a-z0-9_]+", dashboard.read_text()
    )
    return list(dict.fromkeys(found))


def _without_block(yaml: str, key: str) -> str:
    """Return a configuration.yaml without one top-level block."""
    kept = []
    inside = False
    for line in yaml.splitlines(keepends=True):
        if not line.startswith(" "):
            inside = line.rstrip() == f"{key}:"
        if not inside:
            kept.append(line)
    return "".join(kept)


def _expect_created(flow: Mapping[str, Any], what: str) -> None:
    """Fail unless a flow ended by creating its entry."""
    if flow.get("type") != "create_entry":
        raise RealHassError(f"adding {what} did not create an entry: {flow}")


@contextlib.asynccontextmanager
async def real_hass(
    stack: SimulatorStack | None = None,
    *,
    seed: int = 0,
    movies: int = 50,
    shows: int = 8,
    services: Sequence[str] = SERVICES,
    port: int | None = None,
    account: Account | None = None,
    dashboard: Path | None = None,
    config_dir: Path | None = None,
) -> AsyncIterator[RealHass]:
    """Run simulators (unless given) and a set-up hass; stop both and clean up on exit."""
    async with contextlib.AsyncExitStack() as cleanup:
        if stack is None:
            # A real hass runs on the real clock: so does the household's history.
            world = World.generate(
                seed=seed, movies=movies, shows=shows, now=int(time.time())
            )
            stack = await cleanup.enter_async_context(
                SimulatorStack(seed=seed, world=world)
            )
        if config_dir is None:
            config_dir = Path(
                cleanup.enter_context(tempfile.TemporaryDirectory(prefix="realhass-"))
            )
        port = port or free_port()
        write_config(config_dir, port, dashboard=dashboard)
        hass = RealHass(stack, config_dir, port, account=account)
        cleanup.push_async_callback(hass.close)
        await hass.start()
        await hass.setup(services)
        yield hass


async def _demo(args: argparse.Namespace) -> None:
    """Start the demo household and Home Assistant, print how to log in, wait."""
    stop = asyncio.Event()
    # SIGTERM ends the demo as Ctrl-C does: everything stops in order.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    started = time.monotonic()
    port = args.port or (8123 if _port_is_free(8123) else free_port())
    async with real_hass(
        seed=args.seed,
        movies=args.movies,
        shows=args.shows,
        port=port,
        dashboard=EXAMPLE_DASHBOARD,
    ) as hass:
        await add_demo_settings(hass)
        confirmed, waiting = await add_demo_plans(hass)
        await hass.wait_for_values(dashboard_entities(EXAMPLE_DASHBOARD))
        world = hass.stack.world
        pending = sum(request.status == 1 for request in world.requests)
        blueprints = sorted(p.name for p in BLUEPRINT_DIR.glob("*.yaml"))
        lines = [
            "",
            (
                f"SmartPlex demo ready in {time.monotonic() - started:.0f} s"
                f" (hass start {hass.timings['start']:.1f} s,"
                f" onboarding {hass.timings['onboarding']:.1f} s,"
                f" config flow {hass.timings['config_flow']:.1f} s)"
            ),
            f"  Home Assistant  {hass.url}",
            f"  Dashboard       {hass.dashboard_url}",
            f"  User name       {hass.account.username}",
            f"  Password        {hass.account.password}",
            (
                f"  Household       {len(world.movies)} movies,"
                f" {len(world.shows)} shows ({len(world.episodes)} episodes),"
                f" {len(world.users)} users, {len(world.plays)} plays,"
                f" {len(world.requests)} requests ({pending} pending)"
            ),
            (
                f"  Plans           {confirmed['item_count']} stale movies leaving soon"
                f" (plan {confirmed['code']}, deleted after {DEMO_GRACE_HOURS} h"
                f" unless restored); plan {waiting['code']} of"
                f" {waiting['item_count']} more waiting for its code"
            ),
            f"  Blueprints      {', '.join(blueprints) or 'none yet'}",
            f"  Config dir      {hass.config_dir} (removed on exit)",
            "  Simulators      "
            + ", ".join(f"{name} {url}" for name, url in hass.simulator_urls.items()),
            "Ctrl-C stops everything.",
        ]
        print("\n".join(lines), flush=True)
        await stop.wait()


def _port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def main() -> None:
    """Parse the demo's arguments and run it until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="script/demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--movies", type=int, default=DEMO_MOVIES, help="movies in the world"
    )
    parser.add_argument(
        "--shows", type=int, default=DEMO_SHOWS, help="shows in the world"
    )
    parser.add_argument("--port", type=int, help="Home Assistant's port (8123 if free)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_demo(args))
    print("SmartPlex demo stopped.")


if __name__ == "__main__":
    main()
