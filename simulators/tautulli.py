"""Tautulli simulator (API v2).

Source: Tautulli v2.17.2 plexpy/api2.py (`_api_validate`, `_api_run`, `_api_responds`)
and plexpy/webserve.py (the commands). Checks run in this order: missing `apikey`,
missing `cmd`, unknown `cmd` (all before the key is compared), then a wrong key. Every
error answer is the normal envelope with `data: {}`. The HTTP status of an error is 400
since v2.10.5 (commit 5faeafed "Fix API 400 response code" overrides any earlier code);
from v2.1 to v2.10.4 a key error was 401. `status` puts "Ok" in `message`;
`server_status` pops `result`, leaving `data: {"connected": ...}`; `arnold` returns a
quote string as `data`.
"""

from __future__ import annotations

from collections.abc import Callable
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import Simulator, random_string
from .world import World

if TYPE_CHECKING:
    from .plex import PlexSimulator

QUOTES = (
    "I'll be back.",
    "Get to the chopper!",
    "Hasta La Vista, Baby!",
    "It's not a tumor!",
    "If it bleeds, we can kill it.",
)
LAST_401_VERSION = (2, 10, 4)

type Outcome = tuple[str, str | None, Any]


class TautulliSimulator(Simulator):
    """A Tautulli server answering /api/v2 commands."""

    name = "tautulli"

    def __init__(
        self,
        *,
        seed: int = 0,
        world: World | None = None,
        api_key: str | None = None,
        version: str = "v2.17.2",
        plex: PlexSimulator | None = None,
    ) -> None:
        """Create the server, watching the given Plex server if any."""
        super().__init__(seed=seed, world=world)
        self.api_key = api_key or random_string(self.rng, 32)
        self.version = version
        self.plex = plex
        self.plex_connected = True
        self.commit = random_string(self.rng, 40)
        self._commands: dict[str, Callable[[], Outcome]] = {
            "arnold": self._arnold,
            "get_server_info": self._get_server_info,
            "get_tautulli_info": self._get_tautulli_info,
            "server_status": self._server_status,
            "status": self._status,
        }

    def add_routes(self, router: web.UrlDispatcher) -> None:
        """Register the API endpoint (GET and POST both work)."""
        router.add_route("*", "/api/v2", self._api)

    @property
    def key_error_status(self) -> int:
        """Return the HTTP status this version gives a missing or wrong key."""
        numbers = tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])
        return 401 if numbers <= LAST_401_VERSION else 400

    def error(self, request: web.Request, status: int) -> web.Response:
        """Answer an error envelope with the given status."""
        message = "Check the logs for errors" if status == 500 else None
        return _envelope(("error", message, {}), status)

    def unauthorized(self, request: web.Request) -> web.Response:
        """Answer a wrong key as this version does."""
        return _envelope(("error", "Invalid apikey", {}), self.key_error_status)

    async def _api(self, request: web.Request) -> web.Response:
        """Validate the call and run the command."""
        params = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            params |= {k: v for k, v in form.items() if isinstance(v, str)}
        commands = sorted(self._commands)
        if "apikey" not in params:
            message = "Parameter apikey is required"
            return _envelope(("error", message, {}), self.key_error_status)
        if "cmd" not in params:
            message = f"Parameter cmd is required. Possible commands are: {', '.join(commands)}"
            return _envelope(("error", message, {}), 400)
        if (cmd := params["cmd"]) not in self._commands:
            message = (
                f"Unknown command: {cmd}. Possible commands are: {', '.join(commands)}"
            )
            return _envelope(("error", message, {}), 400)
        if params["apikey"] != self.api_key:
            return self.unauthorized(request)
        return _envelope(self._commands[cmd](), 200)

    def _arnold(self) -> Outcome:
        """Return a quote."""
        return "success", None, self.rng.choice(QUOTES)

    def _status(self) -> Outcome:
        """Report that Tautulli is up."""
        return "success", "Ok", {}

    def _server_status(self) -> Outcome:
        """Report whether Tautulli is connected to Plex."""
        return "success", None, {"connected": self.plex_connected}

    def _get_tautulli_info(self) -> Outcome:
        """Describe the Tautulli install."""
        return (
            "success",
            None,
            {
                "tautulli_install_type": "docker",
                "tautulli_version": self.version,
                "tautulli_branch": "master",
                "tautulli_commit": self.commit,
                "tautulli_platform": "Linux",
                "tautulli_platform_release": "6.8.0-60-generic",
                "tautulli_platform_version": "#63-Ubuntu SMP PREEMPT_DYNAMIC",
                "tautulli_platform_linux_distro": "Alpine Linux 3.22.0",
                "tautulli_platform_device_name": "tautulli",
                "tautulli_python_version": "3.12.11",
            },
        )

    def _get_server_info(self) -> Outcome:
        """Describe the Plex server Tautulli is configured for."""
        plex = self.plex
        return (
            "success",
            None,
            {
                "pms_name": plex.friendly_name if plex else "",
                "pms_version": plex.version if plex else "",
                "pms_platform": plex.platform if plex else "",
                "pms_ip": "127.0.0.1" if plex else "",
                "pms_port": plex.port if plex else 32400,
                "pms_ssl": 0,
                "pms_url": plex.url if plex else "",
                "pms_url_manual": 0,
                "pms_identifier": plex.machine_identifier if plex else "",
                "pms_plexpass": 1,
            },
        )


def _envelope(outcome: Outcome, status: int) -> web.Response:
    """Wrap an outcome in Tautulli's response envelope."""
    result, message, data = outcome
    return web.json_response(
        {"response": {"result": result, "message": message, "data": data}},
        status=status,
    )
