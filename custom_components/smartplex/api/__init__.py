"""Async clients for Plex, plex.tv, Sonarr, Radarr, Tautulli and Overseerr (no HA imports)."""

import aiohttp

from .arr import ArrClient
from .errors import (
    SmartPlexApiError,
    SmartPlexAuthError,
    SmartPlexConnectionError,
    SmartPlexDeletionNotAllowedError,
    SmartPlexNotFoundError,
    SmartPlexRateLimitError,
    SmartPlexResponseError,
    SmartPlexServiceError,
    SmartPlexTimeoutError,
    SmartPlexWrongServiceError,
)
from .models import (
    ArrEpisode,
    ArrEpisodeFile,
    ArrMovie,
    ArrSeries,
    DiskSpace,
    PlexConnection,
    PlexItem,
    PlexPin,
    PlexSection,
    PlexServerInfo,
    PlexServerResource,
    ServiceInfo,
    ServiceKind,
)
from .overseerr import OverseerrClient
from .plex import PlexClient
from .plextv import PLEX_TV_URL, PlexTvClient, plex_auth_url
from .tautulli import PlayRecord, TautulliClient

type ServiceClient = ArrClient | TautulliClient | OverseerrClient


def create_service_client(
    kind: ServiceKind, session: aiohttp.ClientSession, url: str, api_key: str
) -> ServiceClient:
    """Return the client for an optional service (Sonarr, Radarr, Tautulli, Overseerr)."""
    match kind:
        case ServiceKind.SONARR | ServiceKind.RADARR:
            return ArrClient(kind, session, url, api_key)
        case ServiceKind.TAUTULLI:
            return TautulliClient(session, url, api_key)
        case ServiceKind.OVERSEERR:
            return OverseerrClient(session, url, api_key)
    raise ValueError(f"{kind} is not an optional service")


__all__ = [
    "PLEX_TV_URL",
    "ArrClient",
    "ArrEpisode",
    "ArrEpisodeFile",
    "ArrMovie",
    "ArrSeries",
    "DiskSpace",
    "OverseerrClient",
    "PlayRecord",
    "PlexClient",
    "PlexConnection",
    "PlexItem",
    "PlexPin",
    "PlexSection",
    "PlexServerInfo",
    "PlexServerResource",
    "PlexTvClient",
    "ServiceClient",
    "ServiceInfo",
    "ServiceKind",
    "SmartPlexApiError",
    "SmartPlexAuthError",
    "SmartPlexConnectionError",
    "SmartPlexDeletionNotAllowedError",
    "SmartPlexNotFoundError",
    "SmartPlexRateLimitError",
    "SmartPlexResponseError",
    "SmartPlexServiceError",
    "SmartPlexTimeoutError",
    "SmartPlexWrongServiceError",
    "TautulliClient",
    "create_service_client",
    "plex_auth_url",
]
