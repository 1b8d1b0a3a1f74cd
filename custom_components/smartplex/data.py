"""What a loaded SmartPlex entry keeps at run time."""

from dataclasses import dataclass, field

from homeassistant.config_entries import ConfigEntry

from .api import PlexClient, PlexServerInfo, ServiceClient, ServiceInfo, ServiceKind


@dataclass(kw_only=True)
class ServiceConnection:
    """An optional service (one config subentry) and what its last check found."""

    subentry_id: str
    kind: ServiceKind
    title: str
    url: str
    client: ServiceClient | None
    info: ServiceInfo | None = None
    error: str | None = None


@dataclass(kw_only=True)
class SmartPlexData:
    """Clients and state of one Plex server and its optional services."""

    plex: PlexClient
    server: PlexServerInfo
    services: dict[str, ServiceConnection] = field(default_factory=dict)


type SmartPlexConfigEntry = ConfigEntry[SmartPlexData]
