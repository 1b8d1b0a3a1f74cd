"""Config flow for SmartPlex: Plex by URL and token or plex.tv sign-in, services as subentries."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import ip_address
import math
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    CONF_WEBHOOK_ID,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownFlow
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import probatio
from yarl import URL

from .api import (
    PLEX_TV_URL,
    PlexServerInfo,
    PlexServerResource,
    PlexTvClient,
    ServiceInfo,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexWrongServiceError,
    plex_auth_url,
)
from .cleanup.rules import Rule, RuleError
from .connections import (
    PURPOSE_PLEX_TOKEN,
    InvalidUrlError,
    api_key_purpose,
    async_client_identifier,
    async_plex_client,
    error_reason,
    service_client,
    valid_secret,
    validate_url,
    webhook_data,
)
from .const import (
    CONF_ACKNOWLEDGE_ABOVE_GB,
    CONF_API_KEY_ENCRYPTED,
    CONF_BLAST_FILES,
    CONF_BLAST_PERCENT,
    CONF_CAPACITY_GB,
    CONF_FULL_SYNC_TIME,
    CONF_GRACE_HOURS,
    CONF_HEADS_UP_DAYS,
    CONF_HEALTH_INTERVAL,
    CONF_IMPORT_EXCLUSION,
    CONF_NOT_WATCHED_DAYS,
    CONF_PLAN_EXPIRY_HOURS,
    CONF_RULES,
    CONF_SERVER,
    CONF_SUBENTRY_ID,
    CONF_TOKEN_ENCRYPTED,
    DEFAULT_ACKNOWLEDGE_ABOVE_GB,
    DEFAULT_BLAST_FILES,
    DEFAULT_BLAST_PERCENT,
    DEFAULT_FULL_SYNC_TIME,
    DEFAULT_GRACE_HOURS,
    DEFAULT_HEADS_UP_DAYS,
    DEFAULT_HEALTH_INTERVAL,
    DEFAULT_NOT_WATCHED_DAYS,
    DEFAULT_PLAN_EXPIRY_HOURS,
    DEFAULT_PORTS,
    DOMAIN,
    LOGGER,
    OPTIONAL_SERVICES,
    PLEX_TV_PIN_TIMEOUT,
    PLEX_TV_POLL_INTERVAL,
)
from .credentials import CredentialVault, async_get_vault
from .webhooks import webhook_url

TXT_MACHINE_IDENTIFIER = "machineIdentifier"
SINGLE_INSTANCE_SERVICES = frozenset({ServiceKind.TAUTULLI, ServiceKind.OVERSEERR})
SERVICE_NAMES = {
    ServiceKind.PLEX: "Plex",
    ServiceKind.SONARR: "Sonarr",
    ServiceKind.RADARR: "Radarr",
    ServiceKind.TAUTULLI: "Tautulli",
    ServiceKind.OVERSEERR: "Overseerr",
}

URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
SECRET_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))


def _connection_schema(secret_field: str, *, secret_required: bool) -> probatio.Schema:
    """Return the URL + secret + TLS-verification form of a service."""
    secret_marker = probatio.Required if secret_required else probatio.Optional
    return probatio.Schema(
        {
            probatio.Required(CONF_URL): URL_SELECTOR,
            secret_marker(secret_field): SECRET_SELECTOR,
            probatio.Required(CONF_VERIFY_SSL, default=True): bool,
        }
    )


PLEX_SCHEMA = _connection_schema(CONF_TOKEN, secret_required=True)
PLEX_RECONFIGURE_SCHEMA = _connection_schema(CONF_TOKEN, secret_required=False)
SERVICE_SCHEMA = _connection_schema(CONF_API_KEY, secret_required=True)
SERVICE_RECONFIGURE_SCHEMA = _connection_schema(CONF_API_KEY, secret_required=False)
BYTES_PER_GB = 1e9
CREDENTIAL_ERRORS = frozenset({"invalid_auth", "invalid_secret"})


def _whole_number(maximum: int, unit: str, minimum: int = 1) -> NumberSelector:
    """Return a box for a whole number from `minimum` to `maximum` in `unit`."""
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=1,
            unit_of_measurement=unit,
            mode=NumberSelectorMode.BOX,
        )
    )


def _gigabytes() -> NumberSelector:
    """Return a box for a size in GB, to a tenth."""
    return NumberSelector(
        NumberSelectorConfig(
            min=0.1,
            max=1_000_000,
            step=0.1,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="GB",
        )
    )


DISCOVERY_TIMEOUT = 5.0

OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_CAPACITY_GB): _whole_number(100_000_000, "GB"),
        probatio.Required(
            CONF_FULL_SYNC_TIME, default=DEFAULT_FULL_SYNC_TIME
        ): TimeSelector(),
        probatio.Required(
            CONF_HEALTH_INTERVAL, default=DEFAULT_HEALTH_INTERVAL
        ): _whole_number(60, "min"),
        probatio.Required(
            CONF_NOT_WATCHED_DAYS, default=DEFAULT_NOT_WATCHED_DAYS
        ): _whole_number(3650, "days"),
        probatio.Required(CONF_GRACE_HOURS, default=DEFAULT_GRACE_HOURS): _whole_number(
            8760, "h", minimum=0
        ),
        probatio.Required(
            CONF_PLAN_EXPIRY_HOURS, default=DEFAULT_PLAN_EXPIRY_HOURS
        ): _whole_number(720, "h"),
        probatio.Required(
            CONF_ACKNOWLEDGE_ABOVE_GB, default=DEFAULT_ACKNOWLEDGE_ABOVE_GB
        ): _whole_number(100_000_000, "GB"),
        probatio.Required(CONF_IMPORT_EXCLUSION, default=False): bool,
        probatio.Required(
            CONF_BLAST_PERCENT, default=DEFAULT_BLAST_PERCENT
        ): _whole_number(100, "%"),
        probatio.Required(CONF_BLAST_FILES, default=DEFAULT_BLAST_FILES): _whole_number(
            1_000_000, "files"
        ),
        probatio.Required(
            CONF_HEADS_UP_DAYS, default=DEFAULT_HEADS_UP_DAYS
        ): _whole_number(30, "days"),
    }
)
RULE_SCHEMA = probatio.Schema(
    {
        probatio.Required("name"): TextSelector(),
        probatio.Required("level", default="movie"): SelectSelector(
            SelectSelectorConfig(
                options=["movie", "show", "season", "episode"],
                translation_key="rule_level",
            )
        ),
        probatio.Optional("not_played_days"): _whole_number(36500, "days"),
        probatio.Optional("never_played_added_days"): _whole_number(36500, "days"),
        probatio.Optional("never_played"): bool,
        probatio.Optional("max_plays"): _whole_number(1_000_000, "plays"),
        probatio.Optional("added_more_than_days"): _whole_number(36500, "days"),
        probatio.Optional("min_size_gb"): _gigabytes(),
        probatio.Optional("keep_last_episodes"): _whole_number(10_000, "episodes"),
        probatio.Optional("keep_last_seasons"): _whole_number(10_000, "seasons"),
        probatio.Optional("labels", default="keep"): TextSelector(),
        probatio.Optional("remove_empty_show"): bool,
        probatio.Optional("free_below_gb"): _gigabytes(),
        probatio.Optional("target_free_gb"): _gigabytes(),
    }
)
TOKEN_SCHEMA = probatio.Schema({probatio.Required(CONF_TOKEN): SECRET_SELECTOR})
API_KEY_SCHEMA = probatio.Schema({probatio.Required(CONF_API_KEY): SECRET_SELECTOR})


def _plex_form_error(err: SmartPlexApiError) -> str:
    """Return the form error for a failed Plex connection test."""
    reason = error_reason(err)
    if reason == "wrong_service":
        return "not_plex_server"
    return reason if reason == "invalid_auth" else "cannot_connect"


def _service_form_error(err: SmartPlexApiError) -> str:
    """Return the form error for a failed service connection test."""
    reason = error_reason(err)
    return reason if reason in {"invalid_auth", "wrong_service"} else "cannot_connect"


def _form_error(secret_field: str, error: str) -> dict[str, str]:
    """Put a rejected or unusable credential on its field, anything else on the form."""
    return {secret_field if error in CREDENTIAL_ERRORS else "base": error}


def _connection_order(
    resource: PlexServerResource, announced_url: str | None = None
) -> list[str]:
    """Return a server's connection URIs, direct local ones first, relays last.

    The address the server announced on the network, if any, follows the local ones
    plex.tv lists (those are usually https).
    """
    ranked = [(conn.relay, not conn.local, conn.uri) for conn in resource.connections]
    if announced_url is not None:
        ranked.append((False, False, announced_url))
    ranked.sort(key=lambda rank: rank[:2])
    return list(dict.fromkeys(uri for *_, uri in ranked))


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredServer:
    """A Plex server that announced itself on the network and told who it is."""

    machine_identifier: str
    name: str
    url: str


def _announced_url(discovery_info: ZeroconfServiceInfo) -> str:
    """Return the plain http address a Plex server announced over zeroconf."""
    port = discovery_info.port or DEFAULT_PORTS[ServiceKind.PLEX]
    return str(URL.build(scheme="http", host=discovery_info.host, port=port))


def _txt_value(properties: Mapping[str, Any], key: str) -> str | None:
    """Return a TXT record value; keys compare without case (RFC 6763, 6.4)."""
    wanted = key.lower()
    for name, value in properties.items():
        if name.lower() == wanted and isinstance(value, str) and value:
            return value
    return None


def _lan_kind(url: str) -> tuple[str, int, str] | None:
    """Return the scheme, IP version and scope of a URL whose host is a LAN address.

    Host names (plex.direct, DNS or .local names) and public addresses give None.
    """
    parsed = URL(url)
    try:
        address = ip_address(parsed.host or "")
    except ValueError:
        return None
    if address.is_loopback:
        scope = "loopback"
    elif address.is_link_local:
        scope = "link-local"
    elif address.is_private:
        scope = "private"
    else:
        return None
    return parsed.scheme, address.version, scope


def _follows_announcement(entry: ConfigEntry | None, announced_url: str) -> bool:
    """Whether a configured server's URL should move to the address it announced.

    Only a plain http URL on a LAN IP address moves, and only to an address of the same
    kind (http, IP version, and loopback, link-local or private scope): https is never
    traded for http, and host names (plex.direct, DNS names) or public addresses are
    left for the user to change with Reconfigure.
    """
    stored = None if entry is None else entry.data.get(CONF_URL)
    if stored is None or stored == announced_url:
        return False
    kind = _lan_kind(stored)
    return kind is not None and kind == _lan_kind(announced_url)


def _identity_abort_reason(err: SmartPlexApiError) -> str:
    """Return why a discovered server is not offered: not Plex, or not reachable."""
    if isinstance(err, SmartPlexWrongServiceError):
        return "not_plex_server"
    return "cannot_connect"


class SmartPlexConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one Plex server."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with no sign-in in progress."""
        self._pin_task: asyncio.Task[None] | None = None
        self._plex_tv_token: str | None = None
        self._servers: dict[str, PlexServerResource] = {}
        self._reauth_queue: list[str] = []
        self._reauth_data: dict[str, Any] = {}
        self._reauth_subentries: dict[str, dict[str, Any]] = {}
        self._discovered: DiscoveredServer | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SmartPlexOptionsFlow:
        """Storage capacity and sync schedule."""
        return SmartPlexOptionsFlow()

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Sonarr, Radarr, Tautulli and Overseerr are added as subentries."""
        return dict.fromkeys(OPTIONAL_SERVICES, ServiceSubentryFlow)

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user pick how to connect to Plex."""
        return self.async_show_menu(step_id="user", menu_options=["plex_tv", "manual"])

    @override
    async def async_step_zeroconf(
        self, discovery_info: ZeroconfServiceInfo
    ) -> ConfigFlowResult:
        """Offer a Plex server that announced itself; follow a known one that moved.

        The machine identifier in the TXT record, when there is one, ends the flow for
        a known server without a request. Anything offered or stored is first checked
        with the server's /identity, which needs no token: no token goes to an
        announced address before the user or a stored LAN URL vouches for it.
        """
        url = _announced_url(discovery_info)
        if announced := _txt_value(discovery_info.properties, TXT_MACHINE_IDENTIFIER):
            entry = await self.async_set_unique_id(announced)
            if not _follows_announcement(entry, url):
                self._abort_if_unique_id_configured()
        identity, reason = await self._async_identity(url)
        if identity is None:
            return self.async_abort(reason=reason)
        entry = await self.async_set_unique_id(identity)
        if _follows_announcement(entry, url):
            # Our update listener reloads a loaded entry; HA retries one in setup retry.
            self._abort_if_unique_id_configured(
                updates={CONF_URL: url}, reload_on_update=False
            )
        self._abort_if_unique_id_configured()
        name = discovery_info.name.removesuffix(f".{discovery_info.type}")
        self._discovered = DiscoveredServer(
            machine_identifier=identity, name=name, url=url
        )
        self.context["title_placeholders"] = {"name": name, "url": url}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask how to sign in to the server found on the network."""
        return self.async_show_menu(
            step_id="zeroconf_confirm",
            menu_options=["plex_tv", "manual"],
            description_placeholders=self.context["title_placeholders"],
        )

    async def _async_identity(self, url: str) -> tuple[str | None, str]:
        """Ask a server who it is, without a token; return that, or None and a reason."""
        # An announcement from an address that does not answer is not worth 30 s.
        client = await async_plex_client(
            self.hass, url, "", True, request_timeout=DISCOVERY_TIMEOUT
        )
        try:
            return await client.async_get_identity(), ""
        except SmartPlexApiError as err:
            LOGGER.debug("Announced Plex server at %s did not answer: %s", url, err)
            return None, _identity_abort_reason(err)

    async def async_step_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Connect to a Plex server by URL and token."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = validate_url(user_input[CONF_URL])
            except InvalidUrlError:
                errors[CONF_URL] = "invalid_url"
            else:
                token = user_input[CONF_TOKEN]
                verify_ssl = user_input[CONF_VERIFY_SSL]
                info, error = await self._async_test_plex(url, token, verify_ssl)
                if info is not None:
                    return await self._async_create_plex_entry(
                        info, url, token, verify_ssl
                    )
                errors.update(_form_error(CONF_TOKEN, error))
        return self.async_show_form(
            step_id="manual",
            data_schema=self.add_suggested_values_to_schema(
                PLEX_SCHEMA,
                _without_secrets(user_input) or {CONF_URL: self._suggested_plex_url()},
            ),
            errors=errors,
        )

    def _suggested_plex_url(self) -> str:
        """Suggest the discovered server's address, else Plex on this host."""
        if self._discovered is not None:
            return self._discovered.url
        return f"http://localhost:{DEFAULT_PORTS[ServiceKind.PLEX]}"

    async def _async_test_plex(
        self, url: str, token: str, verify_ssl: bool
    ) -> tuple[PlexServerInfo | None, str]:
        """Connect to Plex; return its info, or None and the form error."""
        if not valid_secret(token):
            return None, "invalid_secret"
        client = await async_plex_client(self.hass, url, token, verify_ssl)
        try:
            return await client.async_connect(), ""
        except SmartPlexApiError as err:
            LOGGER.debug("Plex connection test failed: %s", err)
            return None, _plex_form_error(err)
        except Exception:
            LOGGER.exception("Unexpected error testing the Plex connection")
            return None, "unknown"

    async def _async_create_plex_entry(
        self, info: PlexServerInfo, url: str, token: str, verify_ssl: bool
    ) -> ConfigFlowResult:
        """Create the entry for a tested Plex server, its token encrypted."""
        await self.async_set_unique_id(info.machine_identifier)
        self._abort_if_unique_id_configured()
        vault = await async_get_vault(self.hass)
        return self.async_create_entry(
            title=info.friendly_name,
            data={
                CONF_URL: url,
                CONF_VERIFY_SSL: verify_ssl,
                CONF_TOKEN_ENCRYPTED: vault.encrypt(token, PURPOSE_PLEX_TOKEN),
            }
            | webhook_data(vault),
        )

    async def async_step_plex_tv(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Start a plex.tv sign-in with a PIN and send the user to approve it."""
        client = PlexTvClient(
            async_get_clientsession(self.hass),
            await async_client_identifier(self.hass),
            PLEX_TV_URL,
        )
        try:
            pin = await client.async_create_pin()
        except SmartPlexApiError as err:
            LOGGER.debug("plex.tv sign-in could not start: %s", err)
            return self.async_abort(reason="plex_tv_unavailable")
        self._pin_task = self.hass.async_create_background_task(
            self._async_wait_for_pin(client, pin.id), "smartplex plex.tv sign-in"
        )
        return self.async_external_step(
            step_id="plex_tv_wait",
            url=plex_auth_url(client.client_identifier, pin.code),
        )

    async def _async_wait_for_pin(self, client: PlexTvClient, pin_id: int) -> None:
        """Poll plex.tv until the PIN is approved or expires, then move the flow on."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PLEX_TV_PIN_TIMEOUT
        while loop.time() < deadline:
            try:
                self._plex_tv_token = await client.async_check_pin(pin_id)
            except SmartPlexApiError as err:
                LOGGER.debug("Waiting for plex.tv sign-in: %s", err)
            if self._plex_tv_token:
                break
            await asyncio.sleep(PLEX_TV_POLL_INTERVAL)
        try:
            await self.hass.config_entries.flow.async_configure(flow_id=self.flow_id)
        except UnknownFlow:
            LOGGER.debug("plex.tv sign-in finished after its flow was closed")

    async def async_step_plex_tv_wait(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Leave the external step once the sign-in finished or timed out."""
        if not self._plex_tv_token:
            return self.async_external_step_done(next_step_id="plex_tv_timeout")
        return self.async_external_step_done(next_step_id="plex_tv_server")

    async def async_step_plex_tv_timeout(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Give up when nobody approved the PIN in time."""
        return self.async_abort(reason="plex_tv_timeout")

    async def async_step_plex_tv_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of the account's servers and connect to it."""
        if not self._servers and self._plex_tv_token:
            client = PlexTvClient(
                async_get_clientsession(self.hass),
                await async_client_identifier(self.hass),
                PLEX_TV_URL,
            )
            try:
                servers = await client.async_get_servers(self._plex_tv_token)
            except SmartPlexApiError as err:
                LOGGER.debug("plex.tv did not list servers: %s", err)
                return self.async_abort(reason="plex_tv_unavailable")
            self._servers = {s.machine_identifier: s for s in servers if s.owned}
            if not self._servers:
                return self.async_abort(reason="no_servers")
        if self._discovered is not None:
            key = self._discovered.machine_identifier
            if key not in self._servers:
                return self.async_abort(
                    reason="discovered_not_owned",
                    description_placeholders={"name": self._discovered.name},
                )
        elif user_input is None and len(self._servers) > 1:
            return self.async_show_form(
                step_id="plex_tv_server",
                data_schema=probatio.Schema(
                    {
                        probatio.Required(CONF_SERVER): SelectSelector(
                            SelectSelectorConfig(
                                options=[
                                    SelectOptionDict(value=key, label=server.name)
                                    for key, server in self._servers.items()
                                ]
                            )
                        )
                    }
                ),
            )
        else:
            key = user_input[CONF_SERVER] if user_input else next(iter(self._servers))
        server = self._servers[key]
        announced_url = None if self._discovered is None else self._discovered.url
        for uri in _connection_order(server, announced_url):
            info, _ = await self._async_test_plex(uri, server.access_token, True)
            if info is not None and info.machine_identifier == key:
                return await self._async_create_plex_entry(
                    info, uri, server.access_token, True
                )
        return self.async_abort(
            reason="server_unreachable", description_placeholders={"name": server.name}
        )

    @override
    @callback
    def async_remove(self) -> None:
        """Stop polling plex.tv when the flow goes away."""
        if self._pin_task is not None:
            self._pin_task.cancel()

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Collect every credential that is rejected or can no longer be decrypted."""
        entry = self._get_reauth_entry()
        vault = await async_get_vault(self.hass)
        named = entry_data.get(CONF_SUBENTRY_ID)
        queue = [
            subentry_id
            for subentry_id, subentry in entry.subentries.items()
            if subentry_id == named or _stored_api_key(vault, subentry) is None
        ]
        plex_needed = named is None or _stored_token(vault, entry) is None
        self._reauth_queue = ([CONF_TOKEN] if plex_needed else []) + queue
        return await self._async_next_reauth_step()

    async def _async_next_reauth_step(self) -> ConfigFlowResult:
        """Ask for the next credential, or save them all."""
        if not self._reauth_queue:
            entry = self._get_reauth_entry()
            for subentry_id, data in self._reauth_subentries.items():
                self.hass.config_entries.async_update_subentry(
                    entry, entry.subentries[subentry_id], data=data
                )
            self.hass.config_entries.async_update_entry(
                entry, data=entry.data | self._reauth_data
            )
            _async_reload_if_not_loaded(self, entry)
            return self.async_abort(reason="reauth_successful")
        if self._reauth_queue[0] == CONF_TOKEN:
            return await self.async_step_reauth_confirm()
        return await self.async_step_reauth_service()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new Plex token."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_TOKEN]
            info, error = await self._async_test_plex(
                entry.data[CONF_URL], token, entry.data[CONF_VERIFY_SSL]
            )
            if info is not None:
                await self.async_set_unique_id(info.machine_identifier)
                self._abort_if_unique_id_mismatch(reason="wrong_server")
                vault = await async_get_vault(self.hass)
                self._reauth_data[CONF_TOKEN_ENCRYPTED] = vault.encrypt(
                    token, PURPOSE_PLEX_TOKEN
                )
                self._reauth_queue.pop(0)
                return await self._async_next_reauth_step()
            errors.update(_form_error(CONF_TOKEN, error))
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=TOKEN_SCHEMA,
            errors=errors,
            description_placeholders={"name": entry.title, "url": entry.data[CONF_URL]},
        )

    async def async_step_reauth_service(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key of one optional service."""
        entry = self._get_reauth_entry()
        subentry = entry.subentries[self._reauth_queue[0]]
        kind = ServiceKind(subentry.subentry_type)
        errors: dict[str, str] = {}
        if user_input is not None:
            api_key = user_input[CONF_API_KEY]
            _, error = await _async_test_service(
                self,
                kind,
                subentry.data[CONF_URL],
                api_key,
                subentry.data[CONF_VERIFY_SSL],
            )
            if not error:
                vault = await async_get_vault(self.hass)
                self._reauth_subentries[subentry.subentry_id] = {
                    **subentry.data,
                    CONF_API_KEY_ENCRYPTED: vault.encrypt(
                        api_key, api_key_purpose(kind)
                    ),
                }
                self._reauth_queue.pop(0)
                return await self._async_next_reauth_step()
            errors.update(_form_error(CONF_API_KEY, error))
        return self.async_show_form(
            step_id="reauth_service",
            data_schema=API_KEY_SCHEMA,
            errors=errors,
            description_placeholders={
                "service": SERVICE_NAMES[kind],
                "name": subentry.title,
                "url": subentry.data[CONF_URL],
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how Plex is reached (its URL, optionally its token); same server only."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = validate_url(user_input[CONF_URL])
            except InvalidUrlError:
                errors[CONF_URL] = "invalid_url"
            else:
                vault = await async_get_vault(self.hass)
                token = user_input.get(CONF_TOKEN) or _stored_token(vault, entry)
                if token is None:
                    errors[CONF_TOKEN] = "token_needed"
                else:
                    verify_ssl = user_input[CONF_VERIFY_SSL]
                    info, error = await self._async_test_plex(url, token, verify_ssl)
                    if info is not None:
                        await self.async_set_unique_id(info.machine_identifier)
                        self._abort_if_unique_id_mismatch(reason="wrong_server")
                        self.hass.config_entries.async_update_entry(
                            entry,
                            data={
                                **entry.data,
                                CONF_URL: url,
                                CONF_VERIFY_SSL: verify_ssl,
                                CONF_TOKEN_ENCRYPTED: vault.encrypt(
                                    token, PURPOSE_PLEX_TOKEN
                                ),
                            },
                        )
                        _async_reload_if_not_loaded(self, entry)
                        return self.async_abort(reason="reconfigure_successful")
                    errors.update(_form_error(CONF_TOKEN, error))
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                PLEX_RECONFIGURE_SCHEMA, _without_secrets(user_input) or entry.data
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )


class SmartPlexOptionsFlow(OptionsFlow):
    """Settings (capacity, schedules) and the named cleanup rules."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what to change."""
        options = ["settings", "add_rule"]
        if self.config_entry.options.get(CONF_RULES):
            options.append("remove_rule")
        return self.async_show_menu(step_id="init", menu_options=options)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and check the settings."""
        entry = self.config_entry
        used = (
            entry.runtime_data.library.model.breakdown().size
            if entry.state is ConfigEntryState.LOADED
            else None
        )
        errors: dict[str, str] = {}
        if user_input is not None:
            capacity = user_input.get(CONF_CAPACITY_GB)
            errors = _not_numbers(user_input)
            if capacity and used is not None and capacity * BYTES_PER_GB < used:
                errors[CONF_CAPACITY_GB] = "capacity_below_usage"
            if not errors:
                kept = {
                    key: value
                    for key, value in entry.options.items()
                    if key not in OPTIONS_SCHEMA.schema
                }
                # The time selector also takes "3:30"; the nightly timer wants H:M:S.
                at = cv.time(user_input[CONF_FULL_SYNC_TIME])
                user_input[CONF_FULL_SYNC_TIME] = f"{at:%H:%M:%S}"
                return self.async_create_entry(data=kept | user_input)
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or entry.options
            ),
            errors=errors,
            description_placeholders={
                "used": "?" if used is None else f"{used / BYTES_PER_GB:,.0f}"
            }
            | _webhook_urls(self.hass, entry),
        )

    async def async_step_add_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a named cleanup rule (checked as the actions check inline rules)."""
        rules: list[dict[str, Any]] = list(
            self.config_entry.options.get(CONF_RULES, [])
        )
        errors: dict[str, str] = {}
        if user_input is not None and not (errors := _not_numbers(user_input)):
            data = _rule_data(user_input)
            try:
                rule = Rule.from_dict(data)
            except RuleError as err:
                errors[err.field if err.field in RULE_SCHEMA.schema else "base"] = (
                    f"rule_{err.key}"
                )
            else:
                if any(existing["name"] == rule.name for existing in rules):
                    errors["name"] = "rule_duplicate"
                else:
                    return self.async_create_entry(
                        data={**self.config_entry.options, CONF_RULES: [*rules, data]}
                    )
        return self.async_show_form(
            step_id="add_rule",
            data_schema=self.add_suggested_values_to_schema(RULE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_remove_rule(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Remove named cleanup rules."""
        rules: list[dict[str, Any]] = list(
            self.config_entry.options.get(CONF_RULES, [])
        )
        if user_input is not None:
            gone = set(user_input[CONF_RULES])
            return self.async_create_entry(
                data={
                    **self.config_entry.options,
                    CONF_RULES: [rule for rule in rules if rule["name"] not in gone],
                }
            )
        return self.async_show_form(
            step_id="remove_rule",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_RULES): SelectSelector(
                        SelectSelectorConfig(
                            options=[rule["name"] for rule in rules], multiple=True
                        )
                    )
                }
            ),
        )


def _not_numbers(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Errors for number boxes given "nan" (their selector lets it through)."""
    return {
        key: "not_a_number"
        for key, value in user_input.items()
        if isinstance(value, float) and not math.isfinite(value)
    }


def _rule_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the rule form into a rule mapping: whole numbers, labels as a list."""
    data = dict(user_input)
    for key in (
        "not_played_days",
        "never_played_added_days",
        "max_plays",
        "added_more_than_days",
        "keep_last_episodes",
        "keep_last_seasons",
    ):
        if key in data:
            data[key] = int(data[key])
    if "labels" in data:
        data["labels"] = [
            label.strip() for label in data["labels"].split(",") if label.strip()
        ]
    return data


def _webhook_urls(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """Return the webhook URLs to paste into Plex and Tautulli."""
    try:
        return {
            f"{source}_webhook": webhook_url(hass, entry.data[CONF_WEBHOOK_ID], source)
            for source in ("plex", "tautulli")
        }
    except NoURLAvailableError:
        missing = "(set Home Assistant's URL under Settings > System > Network)"
        return {"plex_webhook": missing, "tautulli_webhook": missing}


class ServiceSubentryFlow(ConfigSubentryFlow):
    """Add or change one optional service: Sonarr, Radarr, Tautulli or Overseerr."""

    @property
    def _kind(self) -> ServiceKind:
        """The service this flow adds."""
        return ServiceKind(self._subentry_type)

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask for the service's URL and API key and test them."""
        entry = self._get_entry()
        kind = self._kind
        if kind in SINGLE_INSTANCE_SERVICES and any(
            sub.subentry_type == kind for sub in entry.subentries.values()
        ):
            return self.async_abort(
                reason="single_instance",
                description_placeholders={"service": SERVICE_NAMES[kind]},
            )
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = validate_url(user_input[CONF_URL])
            except InvalidUrlError:
                errors[CONF_URL] = "invalid_url"
            else:
                if any(sub.unique_id == url for sub in entry.subentries.values()):
                    return self.async_abort(reason="already_configured")
                api_key = user_input[CONF_API_KEY]
                verify_ssl = user_input[CONF_VERIFY_SSL]
                info, error = await _async_test_service(
                    self, kind, url, api_key, verify_ssl
                )
                if info is not None:
                    vault = await async_get_vault(self.hass)
                    return self.async_create_entry(
                        title=info.name,
                        data=_service_data(vault, kind, url, api_key, verify_ssl),
                        unique_id=url,
                    )
                errors.update(_form_error(CONF_API_KEY, error))
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                SERVICE_SCHEMA,
                _without_secrets(user_input)
                or {CONF_URL: f"http://localhost:{DEFAULT_PORTS[kind]}"},
            ),
            errors=errors,
            description_placeholders={"service": SERVICE_NAMES[kind]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change the service's URL or API key (blank keeps the current key)."""
        entry = self._get_entry()
        subentry = self._get_reconfigure_subentry()
        kind = self._kind
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                url = validate_url(user_input[CONF_URL])
            except InvalidUrlError:
                errors[CONF_URL] = "invalid_url"
            else:
                vault = await async_get_vault(self.hass)
                api_key = user_input.get(CONF_API_KEY) or _stored_api_key(
                    vault, subentry
                )
                if any(
                    sub.unique_id == url and sub.subentry_id != subentry.subentry_id
                    for sub in entry.subentries.values()
                ):
                    return self.async_abort(reason="already_configured")
                if api_key is None:
                    errors[CONF_API_KEY] = "api_key_needed"
                else:
                    verify_ssl = user_input[CONF_VERIFY_SSL]
                    info, error = await _async_test_service(
                        self, kind, url, api_key, verify_ssl
                    )
                    if info is not None:
                        return self.async_update_and_abort(
                            entry,
                            subentry,
                            data=_service_data(vault, kind, url, api_key, verify_ssl),
                            unique_id=url,
                        )
                    errors.update(_form_error(CONF_API_KEY, error))
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                SERVICE_RECONFIGURE_SCHEMA,
                _without_secrets(user_input) or subentry.data,
            ),
            errors=errors,
            description_placeholders={
                "service": SERVICE_NAMES[kind],
                "name": subentry.title,
            },
        )


async def _async_test_service(
    flow: ConfigFlow | ConfigSubentryFlow,
    kind: ServiceKind,
    url: str,
    api_key: str,
    verify_ssl: bool,
) -> tuple[ServiceInfo | None, str]:
    """Connect to an optional service; return its info, or None and the form error."""
    if not valid_secret(api_key):
        return None, "invalid_secret"
    client = service_client(flow.hass, kind, url, api_key, verify_ssl)
    try:
        return await client.async_get_service_info(), ""
    except SmartPlexApiError as err:
        LOGGER.debug("%s connection test failed: %s", SERVICE_NAMES[kind], err)
        return None, _service_form_error(err)
    except Exception:
        LOGGER.exception(
            "Unexpected error testing the %s connection", SERVICE_NAMES[kind]
        )
        return None, "unknown"


def _async_reload_if_not_loaded(flow: ConfigFlow, entry: ConfigEntry) -> None:
    """Retry setup of an entry that is not loaded; a loaded one reloads on the change."""
    if entry.state is not ConfigEntryState.LOADED:
        flow.hass.config_entries.async_schedule_reload(entry.entry_id)


def _service_data(
    vault: CredentialVault, kind: ServiceKind, url: str, api_key: str, verify_ssl: bool
) -> dict[str, Any]:
    """Return what a service subentry stores: no secret in clear."""
    return {
        CONF_URL: url,
        CONF_VERIFY_SSL: verify_ssl,
        CONF_API_KEY_ENCRYPTED: vault.encrypt(api_key, api_key_purpose(kind)),
    }


def _without_secrets(user_input: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return form input to show again, with secrets left out."""
    if user_input is None:
        return None
    return {k: v for k, v in user_input.items() if k not in {CONF_TOKEN, CONF_API_KEY}}


def _stored_token(vault: CredentialVault, entry: ConfigEntry) -> str | None:
    """Return the entry's Plex token, or None when it cannot be decrypted."""
    return vault.try_decrypt(entry.data[CONF_TOKEN_ENCRYPTED], PURPOSE_PLEX_TOKEN)


def _stored_api_key(vault: CredentialVault, subentry: ConfigSubentry) -> str | None:
    """Return a subentry's API key, or None when it cannot be decrypted."""
    return vault.try_decrypt(
        subentry.data[CONF_API_KEY_ENCRYPTED], api_key_purpose(subentry.subentry_type)
    )
