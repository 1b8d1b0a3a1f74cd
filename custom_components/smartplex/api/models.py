"""Typed answers of the service clients."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple


class ServiceKind(StrEnum):
    """A media service SmartPlex talks to."""

    PLEX = "plex"
    SONARR = "sonarr"
    RADARR = "radarr"
    TAUTULLI = "tautulli"
    OVERSEERR = "overseerr"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceInfo:
    """Who answered a connection test: the service, its version and its own name."""

    kind: ServiceKind
    version: str
    name: str
    identifier: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlexServerInfo:
    """What a Plex Media Server says about itself to its owner."""

    machine_identifier: str
    version: str
    friendly_name: str
    platform: str | None
    allow_media_deletion: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlexPin:
    """A plex.tv sign-in PIN: the id we poll and the code the user confirms."""

    id: int
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlexConnection:
    """One way to reach a Plex server listed by plex.tv."""

    uri: str
    local: bool
    relay: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PlexServerResource:
    """A Plex server the signed-in account can use."""

    name: str
    machine_identifier: str
    access_token: str
    owned: bool
    connections: tuple[PlexConnection, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlexSection:
    """A Plex library section."""

    id: int
    type: str  # movie, show, artist, photo
    title: str
    uuid: str
    updated_at: int
    scanned_at: int


class PlexItem(NamedTuple):
    """One movie, show, season or episode as SmartPlex keeps it: what sizing and rules need."""

    rating_key: int
    section_id: int
    type: str  # movie, show, season or episode
    title: str
    year: int | None
    added_at: int
    updated_at: int
    size: int
    resolution: str | None
    video_codec: str | None
    container: str | None
    bitrate: int | None
    tmdb_id: int | None
    tvdb_id: int | None
    imdb_id: str | None
    show_key: int | None
    season_key: int | None
    season_index: int | None
    episode_index: int | None
    view_count: int
    last_viewed_at: int | None
    labels: tuple[str, ...]
    file_missing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskSpace:
    """A disk as Sonarr or Radarr reports it."""

    path: str
    label: str
    free: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrMovie:
    """A movie as Radarr manages it; `raw` is the whole resource, sent back on PUT."""

    id: int
    title: str
    year: int | None
    tmdb_id: int | None
    imdb_id: str | None
    monitored: bool
    has_file: bool
    size_on_disk: int
    raw: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrSeries:
    """A series as Sonarr manages it; `seasons` maps season number to monitored."""

    id: int
    title: str
    year: int | None
    tvdb_id: int | None
    tmdb_id: int | None
    imdb_id: str | None
    monitored: bool
    seasons: Mapping[int, bool]
    size_on_disk: int
    raw: Mapping[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrEpisode:
    """An episode as Sonarr lists it; `episode_file_id` is None without a file."""

    id: int
    series_id: int
    season_number: int
    episode_number: int
    monitored: bool
    has_file: bool
    episode_file_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrEpisodeFile:
    """An episode file on disk as Sonarr lists it (size in bytes)."""

    id: int
    series_id: int
    season_number: int
    size: int
