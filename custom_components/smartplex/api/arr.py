"""Async client for Sonarr and Radarr (API v3, which both share)."""

import aiohttp

from .errors import SmartPlexResponseError, SmartPlexWrongServiceError
from .http import ServiceHttp, identifying, require_mapping
from .models import DiskSpace, ServiceInfo, ServiceKind

APP_NAMES = {ServiceKind.SONARR: "Sonarr", ServiceKind.RADARR: "Radarr"}


class ArrClient:
    """Talk to one Sonarr or Radarr instance with its API key."""

    def __init__(
        self,
        kind: ServiceKind,
        session: aiohttp.ClientSession,
        url: str,
        api_key: str,
    ) -> None:
        """Build the client; the key only ever travels in the X-Api-Key header."""
        self.kind = kind
        self.app_name = APP_NAMES[kind]
        self._http = ServiceHttp(
            self.app_name, session, url, headers={"X-Api-Key": api_key}
        )

    async def async_get_service_info(self) -> ServiceInfo:
        """Check the key and that the instance is the app we expect."""
        path = "/api/v3/system/status"
        with identifying(self.app_name, path):
            status = require_mapping(
                self.app_name, path, await self._http.get_json(path)
            )
        app_name = status.get("appName")
        if app_name != self.app_name:
            raise SmartPlexWrongServiceError(
                self.app_name, f"{path}: answered by {app_name or 'something else'}"
            )
        if not status.get("version"):
            raise SmartPlexResponseError(self.app_name, f"{path}: no version")
        return ServiceInfo(
            kind=self.kind,
            version=str(status["version"]),
            name=str(status.get("instanceName") or self.app_name),
        )

    async def async_get_diskspace(self) -> list[DiskSpace]:
        """Return the disks the app sees, with free and total bytes."""
        path = "/api/v3/diskspace"
        disks = await self._http.get_json(path)
        if not isinstance(disks, list):
            raise SmartPlexResponseError(self.app_name, f"{path}: expected a list")
        try:
            return [
                DiskSpace(
                    path=str(disk["path"]),
                    label=str(disk.get("label") or ""),
                    free=int(disk["freeSpace"]),
                    total=int(disk["totalSpace"]),
                )
                for disk in disks
            ]
        except (KeyError, TypeError, ValueError) as err:
            raise SmartPlexResponseError(self.app_name, f"{path}: bad disk") from err

    async def async_get_health_warnings(self) -> list[str]:
        """Return the app's own health warnings and errors ("type: message")."""
        path = "/api/v3/health"
        checks = await self._http.get_json(path)
        if not isinstance(checks, list):
            raise SmartPlexResponseError(self.app_name, f"{path}: expected a list")
        return [
            f"{check.get('type')}: {check.get('message')}"
            for check in checks
            if isinstance(check, dict) and check.get("type") in {"warning", "error"}
        ]
