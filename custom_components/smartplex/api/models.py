"""Typed answers of the service clients."""

from dataclasses import dataclass
from enum import StrEnum


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
