"""Headless Chromium over the DevTools protocol: the demo's dashboard and config flow, seen.

`chromium()` starts Debian's `chromium` with a throw-away profile and yields a `Page`: one
tab driven over the Chrome DevTools Protocol on aiohttp's websocket (no Node.js, no
Playwright). `log_in` hands the frontend a token the way it stores its own, `dashboard_cards`
reads what each card shows through the shadow DOM, and `capture` takes the screenshots:

    async with real_hass(dashboard=EXAMPLE_DASHBOARD) as hass, chromium() as page:
        await capture(hass, page, Path("docs/screenshots"))

Run as `python -m script.browser` it starts the demo household and writes
docs/screenshots/*.png.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass
import itertools
import json
import os
from pathlib import Path
import shutil
import signal
import tempfile
import time
from typing import Any

import aiohttp
from homeassistant.util.yaml import load_yaml_dict

from script.realhass import (
    DEMO_MOVIES,
    DEMO_SHOWS,
    DOMAIN,
    EXAMPLE_DASHBOARD,
    PROJECT_DIR,
    RealHass,
    add_demo_plans,
    add_demo_settings,
    dashboard_entities,
    real_hass,
)

SCREENSHOT_DIR = PROJECT_DIR / "docs" / "screenshots"
# Flags from the machine notes: headless as root, and nothing that calls the Internet
# (background networking, component updates, sync, QUIC).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-port=0",
)
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0
RENDER_TIMEOUT = 30.0
POLL_INTERVAL = 0.25
DASHBOARD_WIDTH = 1400
FLOW_SIZE = (1100, 820)
# Text that the config flow's menu and its manual step show (strings.json).
SET_UP_QUESTION = "Do you want to set up SmartPlex?"
MANUAL_OPTION = "Enter the server address and a token"
MANUAL_STEP = "Enter the address of your Plex Media Server"

# Every card of the page with its config and text, read through the shadow roots.
CARDS_JS = """
(() => {
  const textOf = (root) => {
    const parts = [];
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) { parts.push(node.textContent); return; }
      if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const child of node.childNodes) walk(child);
    };
    walk(root);
    return parts.join(' ').replace(/\\s+/g, ' ').trim();
  };
  const cards = [];
  const visit = (node) => {
    if (/^HUI-.+-CARD$/.test(node.nodeName) && node._config) {
      const config = node._config;
      cards.push({
        card: config.type,
        entity: config.entity ?? null,
        entities: (config.entities ?? []).map((e) => (typeof e === 'string' ? e : e.entity)),
        text: textOf(node),
      });
    }
    if (node.shadowRoot) visit(node.shadowRoot);
    for (const child of node.children) visit(child);
  };
  if (document.documentElement) visit(document.documentElement);
  return cards;
})()
"""
# The centre of the first shown element whose own text is (or, unless `whole`, holds)
# `needle`, or null.
FIND_TEXT_JS = """
((needle, whole) => {
  const found = [];
  const visit = (node) => {
    for (const child of node.childNodes) {
      if (child.nodeType !== Node.TEXT_NODE) continue;
      const text = child.textContent.trim();
      if (whole ? text === needle : text.includes(needle)) found.push(node);
    }
    if (node.shadowRoot) visit(node.shadowRoot);
    for (const child of node.children) visit(child);
  };
  if (document.documentElement) visit(document.documentElement);
  const shown = found.map((el) => el.getBoundingClientRect()).filter((r) => r.width > 0);
  if (!shown.length) return null;
  return {x: shown[0].x + shown[0].width / 2, y: shown[0].y + shown[0].height / 2};
})
"""
# The bottom of the dashboard's view, in CSS pixels.
VIEW_BOTTOM_JS = """
(() => {
  const find = (node, name) => {
    if (node.nodeName === name) return node;
    for (const root of [node.shadowRoot, node].filter(Boolean)) {
      for (const child of root.children) {
        const hit = find(child, name);
        if (hit) return hit;
      }
    }
    return null;
  };
  const root = document.documentElement;
  const view = root && find(root, 'HUI-SECTIONS-VIEW');
  return view ? Math.ceil(view.getBoundingClientRect().bottom + window.scrollY) : null;
})()
"""


class BrowserError(Exception):
    """Chromium is missing, did not start, or a page did not do what was asked."""


async def _poll(
    check: Callable[[], Awaitable[Any]], what: str, within: float = RENDER_TIMEOUT
) -> Any:
    """Call `check` until it returns something truthy, and return that."""
    try:
        async with asyncio.timeout(within):
            while True:
                if value := await check():
                    return value
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError as err:
        raise BrowserError(f"timed out waiting for {what}") from err


def _write(path: Path, data: bytes) -> None:
    """Write a file, making its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@dataclass(frozen=True, slots=True)
class Card:
    """One dashboard card: its type, entities and the text it shows."""

    card: str
    entity: str | None
    entities: tuple[str, ...]
    text: str


def find_chromium() -> str:
    """Return Chromium's path ($SMARTPLEX_CHROMIUM, else `chromium` on PATH)."""
    candidate = os.environ.get("SMARTPLEX_CHROMIUM") or shutil.which("chromium")
    if candidate is None or not os.access(candidate, os.X_OK):
        raise BrowserError(
            "Chromium is missing: run script/setup --browser (it installs Debian's"
            " chromium package) or set SMARTPLEX_CHROMIUM"
        )
    return candidate


class Page:
    """One tab, driven over the DevTools protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Take a websocket connected to the tab's DevTools endpoint."""
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.size = (DASHBOARD_WIDTH, 900)

    async def _read(self) -> None:
        """Hand each answer to the command waiting for it (events are not used)."""
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            answer = json.loads(message.data)
            future = self._waiting.pop(answer.get("id", -1), None)
            if future is None or future.done():
                continue
            if "error" in answer:
                future.set_exception(BrowserError(str(answer["error"])))
            else:
                future.set_result(answer.get("result", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(BrowserError("the DevTools connection closed"))

    async def close(self) -> None:
        """Stop reading and close the connection."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()

    async def send(
        self, method: str, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one DevTools command and return its result."""
        command_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[command_id] = future
        await self._ws.send_json(
            {"id": command_id, "method": method, "params": dict(params or {})}
        )
        try:
            return await asyncio.wait_for(future, COMMAND_TIMEOUT)
        except TimeoutError as err:
            raise BrowserError(f"{method} got no answer") from err
        finally:
            self._waiting.pop(command_id, None)

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its value (awaiting promises)."""
        result = await self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(
                details.get("exception", {}).get("description") or details["text"]
            )
        return result["result"].get("value")

    async def wait_for(
        self, expression: str, what: str, within: float = RENDER_TIMEOUT
    ) -> Any:
        """Evaluate `expression` until it is truthy and return it."""

        async def value() -> Any:
            return await self.evaluate(expression)

        return await _poll(value, what, within)

    async def resize(self, width: int, height: int) -> None:
        """Set the viewport's size in CSS pixels."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.size = (width, height)

    async def goto(self, url: str) -> None:
        """Load `url` in the tab."""
        answer = await self.send("Page.navigate", {"url": url})
        if error := answer.get("errorText"):
            raise BrowserError(f"{url}: {error}")

    async def find_text(self, text: str, *, whole: bool = False) -> dict[str, float]:
        """Wait until an element shows `text` (all of its text if `whole`); return its centre."""
        spot: dict[str, float] = await self.wait_for(
            f"{FIND_TEXT_JS}({json.dumps(text)}, {json.dumps(whole)})", repr(text)
        )
        return spot

    async def click_text(self, text: str) -> None:
        """Click, as a mouse would, the element whose whole text is `text`."""
        spot = await self.find_text(text, whole=True)
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": spot["x"],
                    "y": spot["y"],
                    "button": "left",
                    "clickCount": 1,
                },
            )

    async def screenshot(self, path: Path) -> None:
        """Save the viewport as a PNG."""
        shot = await self.send("Page.captureScreenshot", {"format": "png"})
        await asyncio.to_thread(_write, path, base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Page]:
    """Start headless Chromium with a throw-away profile; yield its tab; stop it."""
    executable = find_chromium()
    async with contextlib.AsyncExitStack() as cleanup:
        profile = Path(
            cleanup.enter_context(tempfile.TemporaryDirectory(prefix="chromium-"))
        )
        with (profile / "chromium.log").open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                executable,
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own process group: the wrapper script and its children stop together.
                start_new_session=True,
            )
        cleanup.push_async_callback(_stop, process)
        endpoint = await _devtools_endpoint(process, profile)
        session = await cleanup.enter_async_context(aiohttp.ClientSession())
        async with session.put(f"{endpoint}/json/new?about:blank") as response:
            target = await response.json()
        ws = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        cleanup.push_async_callback(page.close)
        await page.send("Page.enable")
        yield page


async def _devtools_endpoint(process: asyncio.subprocess.Process, profile: Path) -> str:
    """Wait for Chromium to write its DevTools port and return the HTTP endpoint."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.returncode is not None:
            break
        with contextlib.suppress(OSError, ValueError, IndexError):
            port = int(port_file.read_text().splitlines()[0])
            return f"http://127.0.0.1:{port}"
        await asyncio.sleep(0.1)
    log = (profile / "chromium.log").read_text(errors="replace")[-2000:]
    raise BrowserError(f"Chromium did not start:\n{log}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stop Chromium's process group (ours: started with its own session)."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def log_in(page: Page, hass: RealHass) -> None:
    """Give every page load of the frontend the harness's token, as it keeps its own.

    The browser also takes Home Assistant's time zone, so the times it shows are the
    server's.
    """
    config = await hass.websocket_command({"type": "get_config"})
    await page.send(
        "Emulation.setTimezoneOverride", {"timezoneId": config["time_zone"]}
    )
    tokens = {
        "access_token": hass.token,
        "token_type": "Bearer",
        "expires_in": 1800,
        "hassUrl": hass.url,
        "clientId": f"{hass.url}/",
        # A long-lived token: the frontend must never think it expired and refresh it.
        "expires": int(time.time() + 365 * 86400) * 1000,
        "refresh_token": "",
    }
    await page.send(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": (
                f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
            )
        },
    )


async def dashboard_cards(page: Page) -> list[Card]:
    """Return every card the page shows, with the text it renders."""
    found = await page.evaluate(CARDS_JS)
    return [
        Card(
            card=item["card"],
            entity=item["entity"],
            entities=tuple(item["entities"]),
            text=item["text"],
        )
        for item in found
    ]


async def open_dashboard(page: Page, hass: RealHass, ready: str = "") -> list[Card]:
    """Load the demo dashboard; wait until every card rendered (and `ready` shows)."""
    await page.resize(DASHBOARD_WIDTH, 900)
    await page.goto(hass.dashboard_url)
    expected = _cards_in(EXAMPLE_DASHBOARD)

    async def rendered() -> list[Card] | None:
        cards = await dashboard_cards(page)
        complete = len(cards) >= expected and all(c.text for c in cards)
        shows = not ready or any(ready in card.text for card in cards)
        return cards if complete and shows else None

    cards: list[Card] = await _poll(rendered, "the dashboard's cards")
    return cards


async def capture(hass: RealHass, page: Page, out_dir: Path) -> dict[str, Path]:
    """Screenshot the dashboard (whole view) and SmartPlex's config flow into `out_dir`."""
    shots = {
        "dashboard": out_dir / "dashboard.png",
        "config_flow": out_dir / "config_flow.png",
        "config_flow_manual": out_dir / "config_flow_manual.png",
    }
    bottom = await page.wait_for(VIEW_BOTTOM_JS, "the dashboard's view")
    await page.resize(DASHBOARD_WIDTH, int(bottom) + 16)
    await page.evaluate("document.fonts.ready.then(() => true)")
    await _settle(page)
    await page.screenshot(shots["dashboard"])

    await page.resize(*FLOW_SIZE)
    await page.goto(f"{hass.url}/config/integrations/dashboard/add?domain={DOMAIN}")
    await page.find_text(SET_UP_QUESTION)
    await _settle(page)
    await page.click_text("OK")
    await page.find_text(MANUAL_OPTION)
    await _settle(page)
    await page.screenshot(shots["config_flow"])
    await page.click_text(MANUAL_OPTION)
    await page.find_text(MANUAL_STEP)
    await _settle(page)
    await page.screenshot(shots["config_flow_manual"])
    return shots


async def _settle(page: Page) -> None:
    """Let animations (dialogs opening, gauges moving) finish before a screenshot."""
    await page.evaluate(
        "new Promise((done) => requestAnimationFrame(() => setTimeout(done, 600)))"
    )


def _cards_in(dashboard: Path) -> int:
    """Return how many cards the sections of a dashboard's views hold."""
    config = load_yaml_dict(dashboard)
    return sum(
        len(section.get("cards", []))
        for view in config["views"]
        for section in view.get("sections", [])
    )


async def _main() -> None:
    """Start the demo household and write docs/screenshots/*.png."""
    async with real_hass(
        movies=DEMO_MOVIES, shows=DEMO_SHOWS, dashboard=EXAMPLE_DASHBOARD
    ) as hass:
        await add_demo_settings(hass)
        await add_demo_plans(hass)
        await hass.wait_for_values(dashboard_entities(EXAMPLE_DASHBOARD))
        async with chromium() as page:
            await log_in(page, hass)
            await open_dashboard(page, hass, ready="SmartPlex deletes")
            for path in (await capture(hass, page, SCREENSHOT_DIR)).values():
                print(path.relative_to(PROJECT_DIR))


if __name__ == "__main__":
    asyncio.run(_main())
