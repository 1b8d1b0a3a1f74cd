"""Tautulli simulator (API v2).

Source: Tautulli v2.17.2 plexpy/api2.py (`_api_validate`, `_api_run`, `_api_responds`)
and plexpy/webserve.py (the commands). Checks run in this order: missing `apikey`,
missing `cmd`, unknown `cmd` (all before the key is compared), then a wrong key. Every
error answer is the normal envelope with `data: {}`. The HTTP status of an error is 400
since v2.10.5 (commit 5faeafed "Fix API 400 response code" overrides any earlier code);
from v2.1 to v2.10.4 a key error was 401. `status` puts "Ok" in `message`;
`server_status` pops `result`, leaving `data: {"connected": ...}`; `arnold` returns a
quote string as `data`. A command returning nothing is an error answer (400, data
null); a command that raises is 500 "Check the logs for errors" (`_api_run`).

History, media info and watch stats follow plexpy/datafactory.py
(`get_datatables_history`, `get_watch_time_stats`), plexpy/datatables.py (`ssp_query`:
`recordsTotal` counts the whole table, `after`/`before` are inclusive) and
plexpy/libraries.py (`get_datatables_media_info`: play counts only with a
`section_id`, grouped per show in show sections; `total_file_size` sums the filtered
rows, `filtered_file_size` the page). Values Tautulli reads from Plex XML are strings,
database integers are numbers, and a movie's missing parent keys are "".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import zip_longest
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .base import Simulator, random_string
from .world import (
    DAY,
    MOVIE_SECTION,
    SHOW_SECTION,
    Episode,
    MediaFile,
    Movie,
    Play,
    Season,
    Show,
    World,
)

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
HISTORY_COLUMNS = {
    "date": "date",
    "friendly_name": "friendly_name",
    "ip_address": "ip_address",
    "platform": "platform",
    "product": "product",
    "player": "player",
    "full_title": "full_title",
    "started": "started",
    "paused_counter": "paused_counter",
    "stopped": "stopped",
    "duration": "play_duration",
}
MEDIA_INFO_COLUMNS = (
    "added_at",
    "sort_title",
    "container",
    "bitrate",
    "video_codec",
    "video_resolution",
    "video_framerate",
    "audio_codec",
    "audio_channels",
    "file_size",
    "last_played",
    "play_count",
)
NUMERIC_MEDIA_COLUMNS = {
    "file_size",
    "bitrate",
    "added_at",
    "last_played",
    "play_count",
}
SECTIONS = {
    MOVIE_SECTION: ("Movies", "movie", "tv.plex.agents.movie"),
    SHOW_SECTION: ("TV Shows", "show", "tv.plex.agents.series"),
}
# platform, product, player, ip address, location per user id (1 is the owner)
DEVICES = {
    1: ("Linux", "Plex Web", "Firefox", "192.168.1.20", "lan"),
    2: ("Android", "Plex for Android (TV)", "SHIELD Android TV", "192.168.1.31", "lan"),
    3: ("iOS", "Plex for iOS", "iPhone", "203.0.113.7", "wan"),
    4: ("Roku", "Plex for Roku", "Living Room", "198.51.100.12", "wan"),
    5: ("Windows", "Plex HTPC", "DESKTOP-5", "192.168.1.44", "lan"),
}

type Outcome = tuple[str, str | None, Any]
type Params = dict[str, str]


@dataclass(slots=True)
class NowPlaying:
    """A stream in progress, as `get_activity` reports it."""

    rating_key: int
    user_id: int
    state: str = "playing"
    progress_percent: int = 0
    transcode_decision: str = "direct play"
    bandwidth: int = 10_000


class TautulliSimulator(Simulator):
    """A Tautulli server answering /api/v2 commands."""

    name = "tautulli"
    envelope_fields = frozenset({"result"})

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
        self.now_playing: list[NowPlaying] = []
        # The listing being paged through: (its filter and the world's state, plays,
        # rows), so that a 100k-play history is not rendered again for every page.
        self._history: tuple[Any, list[Play], list[dict[str, Any]]] | None = None
        self._commands: dict[str, Callable[[Params], Outcome]] = {
            "arnold": self._arnold,
            "get_activity": self._get_activity,
            "get_history": self._get_history,
            "get_item_watch_time_stats": self._get_item_watch_time_stats,
            "get_libraries": self._get_libraries,
            "get_library_media_info": self._get_library_media_info,
            "get_server_info": self._get_server_info,
            "get_tautulli_info": self._get_tautulli_info,
            "get_users": self._get_users,
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
        try:
            outcome = self._commands[cmd](params)
        except ValueError:
            return _envelope(("error", "Check the logs for errors", None), 500)
        return _envelope(outcome, 200 if outcome[0] == "success" else 400)

    def _arnold(self, params: Params) -> Outcome:
        """Return a quote."""
        return "success", None, self.rng.choice(QUOTES)

    def _status(self, params: Params) -> Outcome:
        """Report that Tautulli is up."""
        return "success", "Ok", {}

    def _server_status(self, params: Params) -> Outcome:
        """Report whether Tautulli is connected to Plex."""
        return "success", None, {"connected": self.plex_connected}

    def _get_tautulli_info(self, params: Params) -> Outcome:
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

    def _get_server_info(self, params: Params) -> Outcome:
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

    def _get_users(self, params: Params) -> Outcome:
        """List the users (plexpy/users.py `get_users`)."""
        return (
            "success",
            None,
            [_user_row(self.world, user.id) for user in self.world.users],
        )

    def _get_libraries(self, params: Params) -> Outcome:
        """List the sections with their counts as strings (pmsconnect `get_library_details`)."""
        world = self.world
        movies = [m for m in world.movies.values() if m.in_plex]
        shows = [s for s in world.shows.values() if s.in_plex]
        episodes = [e for e in world.episodes.values() if e.in_plex]
        seasons = {e.season_key for e in episodes}
        libraries: list[dict[str, Any]] = []
        for section_id, (name, section_type, agent) in SECTIONS.items():
            library: dict[str, Any] = {
                "section_id": str(section_id),
                "section_name": name,
                "section_type": section_type,
                "agent": agent,
                "thumb": f"/:/resources/{section_type}.png",
                "art": f"/:/resources/{section_type}-fanart.jpg",
                "count": str(len(movies) if section_type == "movie" else len(shows)),
                "is_active": 1,
            }
            if section_type == "show":
                library["parent_count"] = str(len(seasons))
                library["child_count"] = str(len(episodes))
            libraries.append(library)
        return "success", None, libraries

    def _get_history(self, params: Params) -> Outcome:
        """Page through the play history with Tautulli's filters and totals."""
        start, length = int(params.get("start", 0)), int(params.get("length", 25))
        listing = (
            sorted((k, v) for k, v in params.items() if k not in ("start", "length")),
            self.world.version,
            len(self.world.plays),
        )
        if start == 0 or self._history is None or self._history[0] != listing:
            plays = [p for p in self.world.plays if _history_matches(p, params)]
            rows = [_history_row(self.world, play) for play in plays]
            order = _order(params, HISTORY_COLUMNS, "date")
            for column, descending in reversed(order):
                rows.sort(key=lambda row: row[column], reverse=descending)
            self._history = (listing, plays, rows)
        _, plays, rows = self._history
        page = rows[start : start + length]
        return (
            "success",
            None,
            {
                "recordsFiltered": len(rows),
                "recordsTotal": len(self.world.plays),
                "data": page,
                "draw": 1,
                "filter_duration": human_duration(
                    sum(r["play_duration"] for r in page)
                ),
                "total_duration": human_duration(sum(p.play_duration for p in plays)),
            },
        )

    def _get_item_watch_time_stats(self, params: Params) -> Outcome:
        """Sum plays and time of an item and its children over day windows."""
        if not (rating_key := params.get("rating_key")):
            return "error", None, None
        key = int(rating_key)
        days_list = [int(d) for d in params.get("query_days", "1,7,30,0").split(",")]
        plays = [
            play
            for play in self.world.plays
            if key
            in (play.rating_key, play.parent_rating_key, play.grandparent_rating_key)
        ]
        stats = []
        for days in days_list:
            since = self.world.now - days * DAY
            window = [p for p in plays if days <= 0 or p.stopped >= since]
            stats.append(
                {
                    "query_days": days,
                    "total_time": sum(p.play_duration for p in window),
                    "total_plays": len(window),
                }
            )
        return "success", None, stats

    def _get_library_media_info(self, params: Params) -> Outcome:
        """Page through a section's items, or an item's children, with sizes and plays."""
        empty = {
            "recordsFiltered": 0,
            "recordsTotal": 0,
            "draw": 0,
            "data": [],
            "filtered_file_size": 0,
            "total_file_size": 0,
            "last_refreshed": None,
        }
        section = params.get("section_id", "")
        rating_key = params.get("rating_key", "")
        if (
            (section and not section.isdigit())
            or (rating_key and not rating_key.isdigit())
            or not (section or rating_key)
            or (section and int(section) not in SECTIONS)
        ):
            return "success", None, empty
        section_id = int(section) if section else 0
        section_type = params.get("section_type") or (
            SECTIONS[section_id][1] if section_id else ""
        )
        children = (
            self._children(int(rating_key))
            if rating_key
            else self._section_items(section_id)
        )
        rows = [
            _media_info_row(self.world, item, section_id, section_type)
            for item in children
        ]
        if not rows:
            return "success", None, empty
        self._add_play_counts(rows, section_id, section_type)
        if search := params.get("search", "").lower():
            rows = [row for row in rows if search in row["title"].lower()]
        if params.get("order_column") == "title":
            params = params | {"order_column": "sort_title"}
        columns = {column: column for column in MEDIA_INFO_COLUMNS}
        rows.sort(key=lambda row: row["sort_title"].lower())
        for column, descending in reversed(_order(params, columns, "sort_title")):
            rows.sort(key=_media_sort_key(column, bool(rating_key)), reverse=descending)
        start, length = int(params.get("start", 0)), int(params.get("length", 25))
        page = rows[start : start + length]
        return (
            "success",
            None,
            {
                "recordsFiltered": len(rows),
                "recordsTotal": len(children),
                "data": page,
                "draw": 1,
                "filtered_file_size": sum(_int(row["file_size"]) for row in page),
                "total_file_size": sum(_int(row["file_size"]) for row in rows),
                "last_refreshed": self.world.now,
            },
        )

    def _section_items(self, section_id: int) -> list[Movie | Show]:
        """Return the top-level items Plex lists in a section."""
        if section_id == MOVIE_SECTION:
            return [m for m in self.world.movies.values() if m.in_plex]
        return [s for s in self.world.shows.values() if s.in_plex]

    def _children(self, rating_key: int) -> list[Movie | Show | Season | Episode]:
        """Return the children Plex lists for a show (seasons) or a season (episodes)."""
        world = self.world
        if (show := world.shows.get(rating_key)) is not None:
            return [
                world.seasons[key]
                for key in show.season_keys
                if any(
                    world.episodes[e].in_plex for e in world.seasons[key].episode_keys
                )
            ]
        if (season := world.seasons.get(rating_key)) is not None:
            return [
                world.episodes[key]
                for key in season.episode_keys
                if world.episodes[key].in_plex
            ]
        return []

    def _add_play_counts(
        self, rows: list[dict[str, Any]], section_id: int, section_type: str
    ) -> None:
        """Fill `play_count`/`last_played`, grouped as Tautulli groups per section type."""
        counts: dict[str, tuple[int, int]] = {}
        if section_id:
            for play in self.world.plays:
                if _section_of(play) != section_id:
                    continue
                group = {
                    "show": play.grandparent_rating_key,
                    "season": play.parent_rating_key,
                }.get(section_type, play.rating_key)
                plays, last = counts.get(str(group), (0, 0))
                counts[str(group)] = (plays + 1, max(last, play.started))
        for row in rows:
            plays, last = counts.get(row["rating_key"], (0, 0))
            row["play_count"] = plays or None
            row["last_played"] = last or None

    def _get_activity(self, params: Params) -> Outcome:
        """Report the streams in progress, with Tautulli's string counts."""
        sessions = [
            _session_row(self.world, stream, index)
            for index, stream in enumerate(self.now_playing, start=1)
        ]
        decisions = [stream.transcode_decision for stream in self.now_playing]
        return (
            "success",
            None,
            {
                "lan_bandwidth": sum(
                    s.bandwidth
                    for s in self.now_playing
                    if DEVICES[s.user_id][4] == "lan"
                ),
                "sessions": sessions,
                "stream_count": str(len(sessions)),
                "stream_count_direct_play": decisions.count("direct play"),
                "stream_count_direct_stream": decisions.count("copy"),
                "stream_count_transcode": decisions.count("transcode"),
                "total_bandwidth": sum(s.bandwidth for s in self.now_playing),
                "wan_bandwidth": sum(
                    s.bandwidth
                    for s in self.now_playing
                    if DEVICES[s.user_id][4] == "wan"
                ),
            },
        )


def _envelope(outcome: Outcome, status: int) -> web.Response:
    """Wrap an outcome in Tautulli's response envelope."""
    result, message, data = outcome
    return web.json_response(
        {"response": {"result": result, "message": message, "data": data}},
        status=status,
    )


def human_duration(seconds: int) -> str:
    """Format seconds as plexpy.helpers.human_duration does ("1 day 2 hrs 5 mins")."""
    ms = seconds * 1000
    if ms <= 0:
        return "0"
    unit = 1000 if ms < 300_000 else 60_000
    ms = round(ms / unit) * unit
    days, rest = divmod(ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    parts = [
        f"{value} {name}{'s' if value > 1 else ''}"
        for value, name in ((days, "day"), (hours, "hr"), (minutes, "min"))
        if value > 0
    ]
    if unit == 1000 and rest // 1000 > 0:
        parts.append(f"{rest // 1000} sec{'s' if rest // 1000 > 1 else ''}")
    return " ".join(parts)


def _int(value: object) -> int:
    """Cast as plexpy.helpers.cast_to_int does: anything unparsable is 0."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def _split(value: str) -> list[str]:
    """Split a comma separated parameter as plexpy.helpers.split_strip does."""
    return [part.strip() for part in value.split(",") if part.strip()]


def _order(
    params: Params, columns: dict[str, str], default: str
) -> list[tuple[str, bool]]:
    """Return (row field, descending) pairs from order_column/order_dir, skipping unknowns."""
    names = [c.strip() for c in params.get("order_column", default).split(",")]
    dirs = [d.strip() for d in params.get("order_dir", "desc").split(",")]
    return [
        (columns[name], direction.lower() != "asc")
        for name, direction in zip_longest(names, dirs, fillvalue="")
        if name in columns
    ]


def _day(timestamp: int) -> str:
    """Return the YYYY-MM-DD date of a timestamp (UTC here; Tautulli uses local time)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _section_of(play: Play) -> int:
    """Return the library section a play belongs to."""
    return MOVIE_SECTION if play.media_type == "movie" else SHOW_SECTION


def _history_matches(play: Play, params: Params) -> bool:
    """Return whether a play passes get_history's filters."""
    keys = {
        "user_id": play.user_id,
        "rating_key": play.rating_key,
        "parent_rating_key": play.parent_rating_key,
        "grandparent_rating_key": play.grandparent_rating_key,
        "section_id": _section_of(play),
    }
    for name, value in keys.items():
        if (wanted := _split(params.get(name, ""))) and str(value) not in wanted:
            return False
    media_types = _split(params.get("media_type", ""))
    if media_types and "all" not in media_types and play.media_type not in media_types:
        return False
    day = _day(play.started)
    if (after := params.get("after")) and day < after:
        return False
    return not ((before := params.get("before")) and day > before)


def _device(user_id: int) -> tuple[str, str, str, str, str]:
    """Return the platform, product, player, address and location a user plays on."""
    return DEVICES[(user_id - 1) % len(DEVICES) + 1]


def _user_row(world: World, user_id: int) -> dict[str, Any]:
    """Render a user as get_users does."""
    user = next(user for user in world.users if user.id == user_id)
    return {
        "row_id": user.id,
        "user_id": user.id,
        "username": user.username,
        "friendly_name": user.username,
        "thumb": f"https://plex.tv/users/{user.id:016x}/avatar",
        "email": user.email,
        "is_active": 1,
        "is_admin": int(user.id == 1),
        "is_home_user": 1,
        "is_allow_sync": 1,
        "is_restricted": 0,
        "do_notify": 1,
        "keep_history": 1,
        "allow_guest": 0,
        "shared_libraries": [str(key) for key in SECTIONS],
        "filter_all": "",
        "filter_movies": "",
        "filter_tv": "",
        "filter_music": "",
        "filter_photos": "",
    }


def _metadata(world: World, rating_key: int) -> dict[str, Any]:
    """Return the titles, indexes and keys Tautulli stores for a movie or episode."""
    if (movie := world.movies.get(rating_key)) is not None:
        return {
            "media_type": "movie",
            "rating_key": movie.rating_key,
            "parent_rating_key": "",
            "grandparent_rating_key": "",
            "full_title": movie.title,
            "title": movie.title,
            "parent_title": "",
            "grandparent_title": "",
            "year": movie.year,
            "media_index": "",
            "parent_media_index": "",
            "thumb": f"/library/metadata/{movie.rating_key}/thumb/{movie.updated_at}",
            "guid": movie.guid,
            "file": movie.file,
            "section_id": MOVIE_SECTION,
        }
    episode = world.episodes[rating_key]
    show = world.shows[episode.show_key]
    return {
        "media_type": "episode",
        "rating_key": episode.rating_key,
        "parent_rating_key": episode.season_key,
        "grandparent_rating_key": show.rating_key,
        "full_title": f"{show.title} - {episode.title}",
        "title": episode.title,
        "parent_title": _season_title(episode.season_index),
        "grandparent_title": show.title,
        "year": show.year,
        "media_index": episode.index,
        "parent_media_index": episode.season_index,
        "thumb": f"/library/metadata/{episode.season_key}/thumb/{episode.updated_at}",
        "guid": f"plex://episode/{episode.rating_key:024x}",
        "file": episode.file,
        "section_id": SHOW_SECTION,
    }


def _season_title(index: int) -> str:
    """Return Plex's title of a season."""
    return "Specials" if index == 0 else f"Season {index}"


def _history_row(world: World, play: Play) -> dict[str, Any]:
    """Render a play as a get_history row (ungrouped: one session per row)."""
    meta = _metadata(world, play.rating_key)
    user = _user_row(world, play.user_id)
    platform, product, player, address, location = _device(play.user_id)
    file: MediaFile | None = meta["file"]
    return {
        "reference_id": play.id,
        "row_id": play.id,
        "id": play.id,
        "date": play.started,
        "started": play.started,
        "stopped": play.stopped,
        "duration": play.play_duration,
        "play_duration": play.play_duration,
        "paused_counter": 0,
        "user_id": play.user_id,
        "user": user["username"],
        "friendly_name": user["friendly_name"],
        "user_thumb": user["thumb"],
        "platform": platform,
        "product": product,
        "player": player,
        "ip_address": address,
        "live": 0,
        "machine_id": f"{play.user_id:024x}",
        "location": location,
        "secure": 1,
        "relayed": 0,
        "media_type": meta["media_type"],
        "rating_key": meta["rating_key"],
        "parent_rating_key": meta["parent_rating_key"],
        "grandparent_rating_key": meta["grandparent_rating_key"],
        "full_title": meta["full_title"],
        "title": meta["title"],
        "parent_title": meta["parent_title"],
        "grandparent_title": meta["grandparent_title"],
        "original_title": "",
        "year": meta["year"],
        "media_index": meta["media_index"],
        "parent_media_index": meta["parent_media_index"],
        "thumb": meta["thumb"],
        "originally_available_at": f"{meta['year']}-01-01",
        "guid": meta["guid"],
        "transcode_decision": "direct play"
        if file and file.video_codec != "mpeg4"
        else "transcode",
        "percent_complete": play.percent_complete,
        "watched_status": play.watched_status,
        "group_count": 1,
        "group_ids": str(play.id),
        "state": None,
        "session_key": None,
    }


def _media_fields(file: MediaFile | None) -> dict[str, Any]:
    """Return the Media/Part attributes Tautulli copies from Plex XML (strings)."""
    if file is None:
        return dict.fromkeys(
            (
                "container",
                "bitrate",
                "video_codec",
                "video_resolution",
                "video_framerate",
                "audio_codec",
                "audio_channels",
                "file_size",
            ),
            "",
        )
    return {
        "container": file.container,
        "bitrate": str(file.bitrate),
        "video_codec": file.video_codec,
        "video_resolution": file.resolution,
        "video_framerate": "24p",
        "audio_codec": file.audio_codec,
        "audio_channels": "6",
        "file_size": str(file.size),
    }


def _media_info_row(
    world: World,
    item: Movie | Show | Season | Episode,
    section_id: int,
    section_type: str,
) -> dict[str, Any]:
    """Render an item as a get_library_media_info row.

    Show and season sizes are the sums Tautulli's file-size pass caches (numbers);
    movies and episodes carry their part's size as Plex's XML string.
    """
    episodes: Iterator[Episode]
    row: dict[str, Any] = {
        "section_id": section_id,
        "section_type": section_type,
        "added_at": str(item.added_at),
        "rating_key": str(item.rating_key),
        "parent_rating_key": "",
        "grandparent_rating_key": "",
        "year": "",
        "media_index": "",
        "parent_media_index": "",
        "thumb": f"/library/metadata/{item.rating_key}/thumb/{item.updated_at}",
    }
    match item:
        case Movie():
            row |= {"media_type": "movie", "title": item.title, "year": str(item.year)}
            row |= _media_fields(item.file)
        case Episode():
            row |= {
                "media_type": "episode",
                "title": item.title,
                "parent_rating_key": str(item.season_key),
                "grandparent_rating_key": str(item.show_key),
                "media_index": str(item.index),
                "parent_media_index": str(item.season_index),
            }
            row |= _media_fields(item.file)
        case Show():
            episodes = world.episodes_of(item.rating_key)
            row |= {"media_type": "show", "title": item.title, "year": str(item.year)}
            row |= _media_fields(None) | {"file_size": _size(episodes)}
        case Season():
            episodes = (
                world.episodes[key]
                for key in item.episode_keys
                if world.episodes[key].in_plex
            )
            row |= {
                "media_type": "season",
                "title": _season_title(item.index),
                "parent_rating_key": str(item.show_key),
                "media_index": str(item.index),
            }
            row |= _media_fields(None) | {"file_size": _size(episodes)}
    row["sort_title"] = row["title"]
    return row


def _size(episodes: Iterator[Episode]) -> int:
    """Return the bytes of the episodes' files."""
    return sum(e.file.size for e in episodes if e.file is not None)


def _media_sort_key(column: str, by_index: bool) -> Callable[[dict[str, Any]], Any]:
    """Return the sort key get_datatables_media_info uses for a column."""
    if by_index and column == "sort_title":
        return lambda row: _int(row["media_index"])
    if column in NUMERIC_MEDIA_COLUMNS:
        return lambda row: _int(row[column])
    if column == "video_resolution":
        return lambda row: _int(row[column].replace("4k", "2160p").rstrip("p"))
    return lambda row: str(row[column]).lower()


def _session_row(world: World, stream: NowPlaying, session_key: int) -> dict[str, Any]:
    """Render a stream in progress as a get_activity session (Plex XML strings)."""
    meta = _metadata(world, stream.rating_key)
    user = _user_row(world, stream.user_id)
    platform, product, player, address, location = _device(stream.user_id)
    file: MediaFile | None = meta["file"]
    duration = file.duration if file else 0
    section_id = meta["section_id"]
    return {
        "session_key": str(session_key),
        "session_id": f"{session_key:024x}",
        "media_type": meta["media_type"],
        "rating_key": str(meta["rating_key"]),
        "parent_rating_key": str(meta["parent_rating_key"]),
        "grandparent_rating_key": str(meta["grandparent_rating_key"]),
        "title": meta["title"],
        "parent_title": meta["parent_title"],
        "grandparent_title": meta["grandparent_title"],
        "full_title": meta["full_title"],
        "year": str(meta["year"]),
        "media_index": str(meta["media_index"]),
        "parent_media_index": str(meta["parent_media_index"]),
        "section_id": str(section_id),
        "library_name": SECTIONS[section_id][0],
        "guid": meta["guid"],
        "thumb": meta["thumb"],
        "user": user["username"],
        "username": user["username"],
        "user_id": stream.user_id,
        "friendly_name": user["friendly_name"],
        "user_thumb": user["thumb"],
        "state": stream.state,
        "duration": str(duration),
        "view_offset": str(duration * stream.progress_percent // 100),
        "progress_percent": str(stream.progress_percent),
        "transcode_decision": stream.transcode_decision,
        "bandwidth": str(stream.bandwidth),
        "location": location,
        "ip_address": address,
        "platform": platform,
        "product": product,
        "player": player,
        "quality_profile": "Original",
        "video_resolution": file.resolution if file else "",
        "container": file.container if file else "",
        "file_size": str(file.size) if file else "",
    }
