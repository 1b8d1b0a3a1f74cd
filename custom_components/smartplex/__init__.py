"""SmartPlex: a self-driving Plex media server, steered from Home Assistant."""

from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_URL, CONF_VERIFY_SSL, CONF_WEBHOOK_ID, Platform
from homeassistant.core import HomeAssistant, callback
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
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .api import (
    ArrClient,
    OverseerrClient,
    ServiceKind,
    SmartPlexApiError,
    SmartPlexAuthError,
    TautulliClient,
)
from .api.overseerr import OverseerrNotification
from .cleanup.rules import Rule
from .connections import (
    PURPOSE_PLEX_TOKEN,
    PURPOSE_WEBHOOK_SECRET,
    async_plex_client,
    new_webhook_secret,
    subentry_client,
    webhook_data,
)
from .const import (
    CONF_RULES,
    CONF_TOKEN_ENCRYPTED,
    CONF_WEBHOOK_SECRET_ENCRYPTED,
    DOMAIN,
    ISSUE_CREDENTIALS_UNREADABLE,
    LOGGER,
)
from .coordinator import (
    ServiceConnection,
    SmartPlexAnalyticsCoordinator,
    SmartPlexConfigEntry,
    SmartPlexData,
    SmartPlexHealthCoordinator,
    SmartPlexLibraryCoordinator,
    SmartPlexRequestsCoordinator,
    SmartPlexRulesCoordinator,
    SmartPlexStorageCoordinator,
)
from .credentials import CredentialError, CredentialVault, async_get_vault
from .deletions import SmartPlexCleanup
from .llm_api import async_setup_llm_api
from .services import async_setup_services
from .webhooks import async_register_webhook, webhook_url

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)
# Everything about requests, nothing about issues.
OVERSEERR_WEBHOOK_TYPES = (
    OverseerrNotification.MEDIA_PENDING
    | OverseerrNotification.MEDIA_APPROVED
    | OverseerrNotification.MEDIA_AUTO_APPROVED
    | OverseerrNotification.MEDIA_AVAILABLE
    | OverseerrNotification.MEDIA_DECLINED
    | OverseerrNotification.MEDIA_FAILED
    | OverseerrNotification.MEDIA_AUTO_REQUESTED
)
PLATFORMS = [Platform.BINARY_SENSOR, Platform.CALENDAR, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up SmartPlex's actions (everything else comes from config entries)."""
    async_setup_services(hass)
    async_setup_llm_api(hass)
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
        subentry_id: _service_connection(hass, vault, subentry)
        for subentry_id, subentry in subentries.items()
    }
    if any(conn.client is None for conn in services.values()):
        _async_report_unreadable_credentials(hass, entry)
    else:
        ir.async_delete_issue(hass, DOMAIN, _issue_id(entry))
    # The health coordinator makes every call to the optional services' status:
    # its first check runs now (disabled services are not called at all).
    health = SmartPlexHealthCoordinator(hass, entry, plex, services)
    await health.async_load()
    await health.async_refresh()

    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, server.machine_identifier)},
        manufacturer="Plex, Inc.",
        model="Plex Media Server",
        name=server.friendly_name,
        sw_version=server.version,
        configuration_url=f"{entry.data[CONF_URL]}/web",
    )
    library = SmartPlexLibraryCoordinator(hass, entry, plex, health)
    await library.async_config_entry_first_refresh()
    tautulli = next(
        (key for key, c in services.items() if isinstance(c.client, TautulliClient)),
        None,
    )
    analytics = SmartPlexAnalyticsCoordinator(hass, entry, library, health, tautulli)
    await analytics.async_refresh()
    requests = None
    if overseerr_key := next(
        (key for key, c in services.items() if c.kind is ServiceKind.OVERSEERR), None
    ):
        requests = SmartPlexRequestsCoordinator(hass, entry, health, overseerr_key)
        await requests.async_load()
    webhook_secret = _webhook_secret(hass, entry, vault)
    rules = None
    if stored_rules := entry.options.get(CONF_RULES):
        rules = SmartPlexRulesCoordinator(
            hass, entry, [Rule.from_dict(rule) for rule in stored_rules]
        )
    storage = None
    if arr_keys := [
        key for key, conn in services.items() if isinstance(conn.client, ArrClient)
    ]:
        storage = SmartPlexStorageCoordinator(hass, entry, health, arr_keys)
        # An optional service being down must not fail setup: no first_refresh.
        await storage.async_refresh()
    entry.runtime_data = SmartPlexData(
        plex=plex,
        server=server,
        plex_device_id=device.id,
        library=library,
        analytics=analytics,
        storage=storage,
        health=health,
        requests=requests,
        rules=rules,
        webhook_secret=webhook_secret,
        services=services,
    )
    cleanup = entry.runtime_data.cleanup = SmartPlexCleanup(hass, entry)
    await cleanup.async_start()
    entry.async_on_unload(cleanup.async_stop)
    # Listen before reading Overseerr's requests: Home Assistant answers a webhook
    # nobody listens on yet, so a notification sent in between would be lost.
    async_register_webhook(hass, entry)
    if requests is not None:
        await requests.async_refresh()
    if rules is not None:
        # Rules follow the library and the play data; they need runtime_data.
        await rules.async_refresh()

        @callback
        def _async_apply_rules() -> None:
            entry.async_create_task(hass, rules.async_request_refresh())

        for source in (library, analytics):
            entry.async_on_unload(source.async_add_listener(_async_apply_rules))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    if requests is not None:
        await _async_configure_overseerr(hass, entry, requests)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_change))
    if entry.subentries != subentries:
        # A service was added, changed or removed while we were setting up.
        hass.config_entries.async_schedule_reload(entry.entry_id)
    return True


def _service_connection(
    hass: HomeAssistant, vault: CredentialVault, subentry: ConfigSubentry
) -> ServiceConnection:
    """Build an optional service's client; None when its key cannot be decrypted."""
    try:
        client = subentry_client(hass, vault, subentry)
    except CredentialError:
        client = None
    return ServiceConnection(
        subentry_id=subentry.subentry_id,
        kind=ServiceKind(subentry.subentry_type),
        title=subentry.title,
        url=subentry.data[CONF_URL],
        client=client,
    )


def _webhook_secret(
    hass: HomeAssistant, entry: SmartPlexConfigEntry, vault: CredentialVault
) -> str:
    """Return Overseerr's webhook secret; make a new one if it cannot be decrypted."""
    secret = vault.try_decrypt(
        entry.data[CONF_WEBHOOK_SECRET_ENCRYPTED], PURPOSE_WEBHOOK_SECRET
    )
    if secret is None:
        stored = new_webhook_secret(vault)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_WEBHOOK_SECRET_ENCRYPTED: stored}
        )
        secret = vault.decrypt(stored, PURPOSE_WEBHOOK_SECRET)
    return secret


async def _async_configure_overseerr(
    hass: HomeAssistant,
    entry: SmartPlexConfigEntry,
    requests: SmartPlexRequestsCoordinator,
) -> None:
    """Point Overseerr's webhook agent at SmartPlex, with the secret header."""
    client = requests.health.services[requests.overseerr_key].client
    if requests.health.is_disabled(requests.overseerr_key) or not isinstance(
        client, OverseerrClient
    ):
        return
    try:
        url = webhook_url(hass, entry.data[CONF_WEBHOOK_ID], "overseerr")
    except NoURLAvailableError:
        LOGGER.warning(
            "Home Assistant has no URL Overseerr could reach; set one under "
            "Settings > System > Network, then reload SmartPlex"
        )
        return
    try:
        current = await client.async_get_webhook_settings()
        if (current.enabled, current.url, current.auth_header) == (
            True,
            url,
            entry.runtime_data.webhook_secret,
        ):
            return
        await client.async_set_webhook(
            url, entry.runtime_data.webhook_secret, OVERSEERR_WEBHOOK_TYPES
        )
    except SmartPlexApiError as err:
        LOGGER.warning("Could not configure Overseerr's webhook: %s", err)


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


async def async_migrate_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> bool:
    """Give entries made before webhooks existed their webhook id and secret."""
    if entry.version > 1:
        return False
    if entry.minor_version < 2:
        vault = await async_get_vault(hass)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, **webhook_data(vault)}, minor_version=2
        )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> bool:
    """Unload an entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: SmartPlexConfigEntry) -> None:
    """Forget everything the entry kept: repair issues and stored state."""
    registry = ir.async_get(hass)
    for domain, issue_id in list(registry.issues):
        if domain == DOMAIN and entry.entry_id in issue_id:
            ir.async_delete_issue(hass, DOMAIN, issue_id)
    for concern in ("library", "health", "requests", "cleanup"):
        await Store[Any](hass, 1, f"{DOMAIN}.{concern}.{entry.entry_id}").async_remove()
