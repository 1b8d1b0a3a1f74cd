"""Build, check and describe connections to Plex and the optional services."""

import re
import secrets

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import instance_id
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from yarl import URL

from .api import (
    PlexClient,
    ServiceClient,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    SmartPlexConnectionError,
    SmartPlexRateLimitError,
    SmartPlexTimeoutError,
    SmartPlexWrongServiceError,
    create_service_client,
)
from .api.http import normalize_base_url
from .const import CONF_API_KEY_ENCRYPTED, CONF_WEBHOOK_SECRET_ENCRYPTED
from .credentials import CredentialVault

PURPOSE_PLEX_TOKEN = "plex_token"
PURPOSE_WEBHOOK_SECRET = "webhook_secret"
MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 1024
# What a host name (IDNA-encoded), an IPv4 or an IPv6 address is made of; no spaces,
# control characters or percent escapes.
HOST = re.compile(r"[A-Za-z0-9._:-]+")


class InvalidUrlError(ValueError):
    """A URL SmartPlex cannot use to reach a service."""


def api_key_purpose(kind: ServiceKind | str) -> str:
    """Return what an optional service's API key ciphertext is bound to."""
    return f"{kind}_api_key"


def validate_url(raw: str) -> str:
    """Return a clean base URL, or raise InvalidUrlError.

    Credentials in the URL are refused: they would sit in plaintext in the config entry.
    """
    if len(raw) > MAX_URL_LENGTH:
        raise InvalidUrlError("too long")
    try:
        url = URL(raw.strip())
        # IDNA-encoded; decoding it first raises for a malformed international name.
        host = url.raw_host if url.host else None
    except ValueError as err:
        raise InvalidUrlError("unparsable") from err
    if url.scheme not in {"http", "https"} or not host:
        raise InvalidUrlError("needs http(s) and a host")
    if not HOST.fullmatch(host):
        raise InvalidUrlError("not a host name or address")
    if url.user or url.password:
        raise InvalidUrlError("has credentials")
    if url.query_string or url.fragment:
        raise InvalidUrlError("has a query or fragment")
    return normalize_base_url(str(url))


def valid_secret(secret: str) -> bool:
    """Whether a token or API key can travel in a header: printable, not too long."""
    return len(secret) <= MAX_SECRET_LENGTH and secret.isprintable()


def error_reason(err: SmartPlexApiError) -> str:
    """Return the translation key that names a failure for the user."""
    match err:
        case SmartPlexAuthError():
            return "invalid_auth"
        case SmartPlexWrongServiceError():
            return "wrong_service"
        case SmartPlexRateLimitError():
            return "rate_limited"
        case SmartPlexTimeoutError():
            return "timeout"
        case SmartPlexConnectionError():
            return "cannot_connect"
    return "bad_response"


async def async_client_identifier(hass: HomeAssistant) -> str:
    """Return how this Home Assistant introduces itself to Plex and plex.tv."""
    return f"smartplex-{await instance_id.async_get(hass)}"


async def async_plex_client(
    hass: HomeAssistant,
    url: str,
    token: str,
    verify_ssl: bool,
    *,
    request_timeout: float | None = None,
) -> PlexClient:
    """Return a Plex client on Home Assistant's shared session."""
    return PlexClient(
        async_get_clientsession(hass, verify_ssl),
        url,
        token,
        await async_client_identifier(hass),
        timeout=request_timeout,
    )


def service_client(
    hass: HomeAssistant, kind: ServiceKind, url: str, api_key: str, verify_ssl: bool
) -> ServiceClient:
    """Return an optional service's client on Home Assistant's shared session."""
    return create_service_client(
        kind, async_get_clientsession(hass, verify_ssl), url, api_key
    )


def subentry_client(
    hass: HomeAssistant, vault: CredentialVault, subentry: ConfigSubentry
) -> ServiceClient:
    """Return the client for a stored service; CredentialError if its key is unreadable."""
    kind = ServiceKind(subentry.subentry_type)
    api_key = vault.decrypt(
        subentry.data[CONF_API_KEY_ENCRYPTED], api_key_purpose(kind)
    )
    return service_client(
        hass, kind, subentry.data[CONF_URL], api_key, subentry.data[CONF_VERIFY_SSL]
    )


def new_webhook_secret(vault: CredentialVault) -> str:
    """Return a new secret for Overseerr's Authorization header, encrypted."""
    return vault.encrypt(secrets.token_urlsafe(32), PURPOSE_WEBHOOK_SECRET)


def webhook_data(vault: CredentialVault) -> dict[str, str]:
    """Return a new webhook id and Overseerr secret, the secret encrypted."""
    return {
        CONF_WEBHOOK_ID: secrets.token_hex(32),
        CONF_WEBHOOK_SECRET_ENCRYPTED: new_webhook_secret(vault),
    }
