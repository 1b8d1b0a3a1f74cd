"""SmartPlex: a self-driving Plex media server, steered from Home Assistant."""

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryError,
    ConfigEntryNotReady,
)
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.typing import ConfigType

from .api import (
    ArrClient,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    TautulliClient,
)
from .connections import (
    PURPOSE_PLEX_TOKEN,
    async_plex_client,
    error_reason,
    subentry_client,
)
from .const import (
    CONF_SUBENTRY_ID,
    CONF_TOKEN_ENCRYPTED,
    DOMAIN,
    ISSUE_CREDENTIALS_UNREADABLE,
    LOGGER,
)
from .coordinator import (
    ServiceConnection,
    SmartPlexAnalyticsCoordinator,
    SmartPlexConfigEntry,
    SmartPlexData,
    SmartPlexLibraryCoordinator,
    SmartPlexStorageCoordinator,
)
from .credentials import CredentialError, CredentialVault, async_get_vault
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
PLATFORMS = [Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up SmartPlex's actions (everything else comes from config entries)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> bool:
    """Connect to Plex and the optional services of one entry."""
    vault = await async_get_vault(hass)
    try:
        token = vault.decrypt(entry.data[CONF_TOKEN_ENCRYPTED], PURPOSE_PLEX_TOKEN)
    except CredentialError as err:
        _async_report_unreadable_credentials(hass, entry)
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="credentials_unreadable",
            translation_placeholders={"name": entry.title},
        ) from err
    plex = await async_plex_client(
        hass, entry.data[CONF_URL], token, entry.data[CONF_VERIFY_SSL]
    )
    try:
        server = await plex.async_connect()
    except SmartPlexAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="plex_auth_failed",
            translation_placeholders={"name": entry.title},
        ) from err
    except SmartPlexApiError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="plex_unavailable",
            translation_placeholders={"name": entry.title, "error": str(err)},
        ) from err
    if server.machine_identifier != entry.unique_id:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="plex_server_changed",
            translation_placeholders={"name": entry.title, "url": entry.data[CONF_URL]},
        )

    subentries = dict(entry.subentries)
    services = {
        subentry_id: await _async_connect_service(hass, entry, vault, subentry)
        for subentry_id, subentry in subentries.items()
    }
    if not any(conn.error == "credentials_unreadable" for conn in services.values()):
        ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))

    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, server.machine_identifier)},
        manufacturer="Plex, Inc.",
        model="Plex Media Server",
        name=server.friendly_name,
        sw_version=server.version,
        configuration_url=f"{entry.data[CONF_URL]}/web",
    )
    library = SmartPlexLibraryCoordinator(hass, entry, plex)
    await library.async_config_entry_first_refresh()
    tautulli = next(
        (c.client for c in services.values() if isinstance(c.client, TautulliClient)),
        None,
    )
    analytics = SmartPlexAnalyticsCoordinator(hass, entry, library, tautulli)
    await analytics.async_refresh()
    storage = None
    if arr_clients := [
        conn.client for conn in services.values() if isinstance(conn.client, ArrClient)
    ]:
        storage = SmartPlexStorageCoordinator(hass, entry, arr_clients)
        # An optional service being down must not fail setup: no first_refresh.
        await storage.async_refresh()
    entry.runtime_data = SmartPlexData(
        plex=plex,
        server=server,
        library=library,
        analytics=analytics,
        storage=storage,
        services=services,
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_change))
    if entry.subentries != subentries:
        # A service was added, changed or removed while we were setting up.
        hass.config_entries.async_schedule_reload(entry.entry_id)
    return True


async def _async_connect_service(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    vault: CredentialVault,
    subentry: ConfigSubentry,
) -> ServiceConnection:
    """Build and check one optional service; its failure never fails the entry."""
    connection = ServiceConnection(
        subentry_id=subentry.subentry_id,
        kind=ServiceKind(subentry.subentry_type),
        title=subentry.title,
        url=subentry.data[CONF_URL],
        client=None,
    )
    try:
        connection.client = subentry_client(hass, vault, subentry)
    except CredentialError:
        connection.error = "credentials_unreadable"
        _async_report_unreadable_credentials(hass, entry)
        entry.async_start_reauth(hass, data={CONF_SUBENTRY_ID: subentry.subentry_id})
        return connection
    try:
        connection.info = await connection.client.async_get_service_info()
    except SmartPlexApiError as err:
        connection.error = error_reason(err)
        LOGGER.warning("%s is not usable: %s", subentry.title, connection.error)
        if isinstance(err, SmartPlexAuthError):
            entry.async_start_reauth(
                hass, data={CONF_SUBENTRY_ID: subentry.subentry_id}
            )
    return connection


def _issue_id(entry: SmartPlexConfigEntry) -> str:
    """Return the repair issue id for an entry's unreadable credentials."""
    return f"{ISSUE_CREDENTIALS_UNREADABLE}_{entry.entry_id}"


def _async_report_unreadable_credentials(
    hass: HomeAssistant, entry: SmartPlexConfigEntry
) -> None:
    """Raise a repair issue: the key that encrypted this entry's secrets is gone."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        _issue_id(entry),
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_CREDENTIALS_UNREADABLE,
        translation_placeholders={"name": entry.title},
    )


async def _async_reload_on_change(
    hass: HomeAssistant, entry: SmartPlexConfigEntry
) -> None:
    """Reload when the entry or its services change (added, edited, removed)."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> bool:
    """Unload an entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> None:
    """Forget the entry's repair issue when it is deleted."""
    ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))
