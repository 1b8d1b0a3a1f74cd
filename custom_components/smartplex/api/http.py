"""One HTTP helper shared by every service client: errors mapped, secrets kept out."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import aiohttp
import orjson
from yarl import URL

from .errors import (
    SmartPlexAuthError,
    SmartPlexConnectionError,
    SmartPlexNotFoundError,
    SmartPlexRateLimitError,
    SmartPlexResponseError,
    SmartPlexServiceError,
    SmartPlexTimeoutError,
    SmartPlexWrongServiceError,
)

DEFAULT_TIMEOUT = 30.0
AUTH_STATUSES = frozenset({HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN})


def normalize_base_url(url: str) -> str:
    """Return the service's base URL without a trailing slash, query or fragment."""
    base = URL(url.strip()).with_query(None).with_fragment(None)
    return str(base).rstrip("/")


def parse_int(value: Any) -> int | None:
    """Read a number that may be missing, empty, a string or a float."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except TypeError, ValueError:
        return None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Read a Retry-After header given in seconds (HTTP dates are not used by our services)."""
    try:
        return float(headers["Retry-After"])
    except KeyError, ValueError:
        return None


class ServiceHttp:
    """Send requests to one service and turn every failure into a SmartPlexApiError."""

    def __init__(
        self,
        service: str,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Bind the client to a service base URL, its fixed headers and a timeout.

        Without a timeout, DEFAULT_TIMEOUT is read now (so tests can shorten it).
        """
        self.service = service
        self.base_url = normalize_base_url(base_url)
        self._session = session
        self._headers = dict(headers or {})
        self._timeout = aiohttp.ClientTimeout(
            total=DEFAULT_TIMEOUT if timeout is None else timeout
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        allowed: frozenset[int] = frozenset(),
    ) -> tuple[int, bytes]:
        """Send one request; return status and body, raising on failure statuses."""
        url = URL(self.base_url + path, encoded=True)
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                headers=self._headers | dict(headers or {}),
                json=json,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
                status = response.status
                response_headers = response.headers
        except TimeoutError as err:
            raise SmartPlexTimeoutError(
                self.service, f"{method} {path} timed out"
            ) from err
        except aiohttp.ClientPayloadError as err:
            raise SmartPlexConnectionError(
                self.service, f"{method} {path}: response body cut short"
            ) from err
        except (aiohttp.ClientError, OSError) as err:
            raise SmartPlexConnectionError(
                self.service, f"{method} {path}: {type(err).__name__}"
            ) from err
        if status in allowed or status < HTTPStatus.MULTIPLE_CHOICES:
            return status, body
        if status in AUTH_STATUSES:
            raise SmartPlexAuthError(self.service, f"{method} {path}: HTTP {status}")
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            raise SmartPlexRateLimitError(
                self.service,
                f"{method} {path}: HTTP 429",
                _retry_after(response_headers),
            )
        error = (
            SmartPlexNotFoundError
            if status == HTTPStatus.NOT_FOUND
            else SmartPlexResponseError
        )
        raise error(self.service, f"{method} {path}: HTTP {status}", status)

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET a JSON document."""
        _, body = await self.request(
            "GET",
            path,
            params=params,
            headers={"Accept": "application/json"} | dict(headers or {}),
        )
        return self.parse_json(path, body)

    def parse_json(self, path: str, body: bytes) -> Any:
        """Decode a JSON body, calling a broken one a response error."""
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise SmartPlexResponseError(
                self.service, f"{path}: malformed JSON"
            ) from err


def require_mapping(service: str, path: str, value: Any) -> Mapping[str, Any]:
    """Return value when it is a JSON object, else raise a response error."""
    if not isinstance(value, Mapping):
        raise SmartPlexResponseError(service, f"{path}: expected a JSON object")
    return value


@contextmanager
def identifying(service: str, path: str) -> Iterator[None]:
    """Call an answer that no real `service` would give at `path` a wrong service.

    Used around the first call of a connection test: a 404 or an unreadable body there
    means something else listens at the address.
    """
    try:
        yield
    except SmartPlexServiceError:
        raise
    except SmartPlexResponseError as err:
        if err.status is None or err.status == HTTPStatus.NOT_FOUND:
            raise SmartPlexWrongServiceError(service, f"{path}: not {service}") from err
        raise
