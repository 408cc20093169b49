"""KNX EV Charger: Home Assistant integration for KNX wallboxes VE 741/742/221/222.

A hub config entry owns one KNX connection (``hub.KnxEvseHub``: its own, or that of Home
Assistant's ``knx`` integration); each charger is a config subentry
with a push ``charger.coordinator.ChargerCoordinator``; balancing groups are subentries too
(``group.group.BalancingGroup``). ``async_setup_entry`` builds the ``runtime.KnxEvseRuntime`` in plain
order: hub, chargers, groups, platforms. Adding, removing or editing
a subentry reloads the hub entry (update listener). The services (``services.py``) are registered once
in ``async_setup``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType
from xknx.exceptions import InvalidSecureConfiguration, XKNXException

from . import issues
from .charger.coordinator import ChargerCoordinator, InvalidChargerConfigError
from .charger.heard import HeardAddresses, async_load_heard_addresses
from .charger.repairs import async_check_shared_status_addresses, async_setup_charger_repairs
from .const import CONF_KNX_KNXKEY_FILENAME, DOMAIN, SUBENTRY_BALANCING, SUBENTRY_CHARGER
from .entity_descriptions import ENTITY_KEYS, expected_unique_ids
from .group.circuits import circuit_identifier
from .group.entities import async_cleanup_registry
from .group.group import BalancingGroup, InvalidGroupConfigError
from .knx.connection import authentication_failed
from .knx.hub import KnxEvseHub, knxkeys_path
from .runtime import KnxEvseConfigEntry, KnxEvseRuntime
from .services import async_setup_services

__all__ = [
    "CONFIG_SCHEMA",
    "PLATFORMS",
    "KnxEvseConfigEntry",
    "KnxEvseRuntime",
    "async_remove_entry",
    "async_setup",
    "async_setup_entry",
    "async_unload_entry",
]

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TEXT,
    Platform.TIME,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services (``knx_evse.set_charge_mode``, ``knx_evse.set_current_limit``)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> bool:
    """Connect the hub, start the subentries' runtimes and forward the entity platforms.

    Raises ConfigEntryNotReady (translated ``cannot_connect``) when the KNX connection cannot start,
    so Home Assistant retries (``core_knx_missing`` for a hub on the connection of Home Assistant's
    KNX integration while that is not set up; see ``knx/core_link.py``); ConfigEntryError (``invalid_connection``) for unusable hub data; and
    ConfigEntryAuthFailed, which starts the reauthentication flow (``config_flow``'s
    ``async_step_reauth``), when the stored KNX Secure credentials are rejected (see
    ``_auth_failure``).
    """
    try:
        hub = KnxEvseHub(hass, entry)
    except (KeyError, ValueError) as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_connection",
            translation_placeholders={"error": str(err)},
        ) from err
    try:
        await hub.async_start()
    except (XKNXException, OSError) as err:
        await hub.async_stop()
        if (auth_failed := _auth_failure(entry, err)) is not None:
            raise auth_failed from err
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = KnxEvseRuntime(hub=hub)
    entry.async_on_unload(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, hub.async_stop))
    issues.async_cleanup_issues(hass, entry)
    _setup_chargers(hass, entry, await async_load_heard_addresses(hass))
    async_check_shared_status_addresses(hass, entry.entry_id, entry.runtime_data.chargers)
    entry.async_on_unload(async_setup_charger_repairs(hass, entry.runtime_data.chargers.values()))
    _setup_groups(hass, entry)
    for group in entry.runtime_data.groups.values():
        await group.planner.async_load()  # the stored plans, before their entities are added
    _async_register_devices(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for group in entry.runtime_data.groups.values():
        group.async_start()  # after the platforms: restored modes and switches are in place
    _async_remove_stale(entry)
    entry.async_on_unload(entry.add_update_listener(_async_update_listener))
    return True


def _setup_chargers(hass: HomeAssistant, entry: KnxEvseConfigEntry, heard: HeardAddresses) -> None:
    """Create and start the ``ChargerCoordinator`` of every charger subentry.

    A charger whose stored data does not validate is logged and skipped (no entities); the other
    chargers of the hub keep working. ``heard`` forgets the chargers that are gone.
    """
    chargers = {s.subentry_id for s in entry.subentries.values() if s.subentry_type == SUBENTRY_CHARGER}
    heard.retain(entry.entry_id, chargers)
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_CHARGER:
            continue
        try:
            coordinator = ChargerCoordinator(hass, entry.runtime_data.hub, entry, subentry, heard)
        except InvalidChargerConfigError as err:
            _LOGGER.error("Charger %s is not set up: %s", subentry.title, err)
            continue
        entry.runtime_data.chargers[subentry.subentry_id] = coordinator
        coordinator.async_start()


def _setup_groups(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> None:
    """Create every balancing group (started after the platforms) and drop the entities it no longer has.

    A group whose data does not validate is logged and skipped; the other groups and the chargers
    keep working.
    """
    for subentry in entry.subentries.values():
        if subentry.subentry_type != SUBENTRY_BALANCING:
            continue
        try:
            group = BalancingGroup(hass, entry, subentry)
        except InvalidGroupConfigError as err:
            _LOGGER.error("Balancing group %s is not set up: %s", subentry.title, err)
            continue
        entry.runtime_data.groups[subentry.subentry_id] = group
        group.circuits.register_devices(group.device_info)
        async_cleanup_registry(group)


def _auth_failure(entry: KnxEvseConfigEntry, err: BaseException) -> ConfigEntryAuthFailed | None:
    """Return the ConfigEntryAuthFailed of a set-up error that is an authentication failure, else None.

    - ``keyring_invalid``: the hub uses a stored ``.knxkeys`` file and xknx refused the secure
      configuration (the file no longer decrypts with its stored password: replaced, damaged or
      exported again with another password; or it holds no credentials for this gateway) or the file
      is gone. A gateway without a free tunnel slot is no authentication error.
    - ``authentication_failed``: the interface rejected the secure session (wrong user password, user
      ID or device authentication code; see ``connection.authentication_failed``).

    A secure-configuration error without a keyring (e.g. secure routing that found no backbone key)
    is retried like any connection error.
    """
    if entry.data.get(CONF_KNX_KNXKEY_FILENAME) and (
        isinstance(err, FileNotFoundError)
        or (isinstance(err, InvalidSecureConfiguration) and "No free tunnelling slots" not in str(err))
    ):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="keyring_invalid",
            translation_placeholders={"hub": entry.title},
        )
    if authentication_failed(err):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="authentication_failed",
            translation_placeholders={"hub": entry.title},
        )
    return None


async def async_unload_entry(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> bool:
    """Unload the platforms, stop groups and chargers, and close the KNX connection."""
    if not await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        return False
    runtime = entry.runtime_data
    runtime.hub.async_prepare_stop()
    for group in runtime.groups.values():
        await group.async_stop()
    for coordinator in runtime.chargers.values():
        await coordinator.async_stop()
    await entry.runtime_data.hub.async_stop()
    return True


async def async_remove_entry(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> None:
    """Delete the repair issues of a removed hub, what it heard, and its stored keyring (a secret) if any."""
    issues.async_delete_entry_issues(hass, entry.entry_id)
    (await async_load_heard_addresses(hass)).retain(entry.entry_id, set())
    if (keyring := knxkeys_path(hass, entry.data.get(CONF_KNX_KNXKEY_FILENAME))) is not None:
        await hass.async_add_executor_job(Path(keyring).unlink, True)


async def _async_update_listener(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Reload when the entry or its subentries (chargers, balancing groups) change."""
    await hass.config_entries.async_reload(entry.entry_id)


def _async_register_devices(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> None:
    """Create each charger's device and its connector sub-devices, linked by ``via_device_id``.

    Every device belongs to its charger's subentry, and so do all entities on it (the balancing
    group's member entities included; see ``group.entities.async_add_group_entities``).
    """
    device_registry = dr.async_get(hass)
    for subentry_id, coordinator in entry.runtime_data.chargers.items():
        charger = device_registry.async_get_or_create(
            config_entry_id=entry.entry_id, config_subentry_id=subentry_id, **coordinator.device_info()
        )
        for connector in coordinator.connectors:
            device = device_registry.async_get_or_create(
                config_entry_id=entry.entry_id,
                config_subentry_id=subentry_id,
                **coordinator.device_info(connector),
            )
            if device.via_device_id != charger.id:
                device_registry.async_update_device(device.id, via_device_id=charger.id)


def _async_remove_stale(entry: KnxEvseConfigEntry) -> None:
    """Remove connector devices and object entities that the chargers' configuration no longer has.

    Entities of a removed subentry that sit under another subentry (a removed group's member
    entities on a charger's device) are removed too.
    """
    runtime = entry.runtime_data
    chargers = runtime.chargers
    keep_devices = {
        identifier
        for coordinator in chargers.values()
        for identifier in (
            coordinator.device_identifier,
            *(coordinator.connector_identifier(c) for c in coordinator.connectors),
        )
    }

    def _charger_key(text: str) -> str | None:
        """Return what follows ``<charger subentry id>_`` in ``text``, None for other owners."""
        for subentry_id in chargers:
            if text.startswith(f"{subentry_id}_"):
                return text[len(subentry_id) + 1 :]
        return None

    def device_owned(identifier: tuple[str, str]) -> bool:
        return identifier[0] == DOMAIN and (
            identifier[1] in chargers or (_charger_key(identifier[1]) or "").startswith("connector_")
        )

    def entity_owned(unique_id: str) -> bool:
        """Return True for a charger's object entity and for an entity of a removed subentry."""
        return _charger_key(unique_id) in ENTITY_KEYS or unique_id.split("_", 1)[0] not in entry.subentries

    keep_entities = set().union(*(expected_unique_ids(c) for c in chargers.values()))
    hub = runtime.hub
    removed = hub.async_remove_stale_devices(keep_devices, device_owned)
    removed += hub.async_remove_stale_entities(keep_entities, entity_owned)
    if removed:
        _LOGGER.debug("Removed %s stale devices/entities of %s", removed, entry.title)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: KnxEvseConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow deleting a device that no configured charger, connector or balancing group uses any more."""
    chargers = entry.runtime_data.chargers
    current = {
        identifier
        for coordinator in chargers.values()
        for identifier in (
            coordinator.device_identifier,
            *(coordinator.connector_identifier(c) for c in coordinator.connectors),
        )
    } | {group.device_identifier for group in entry.runtime_data.groups.values()} | {
        circuit_identifier(group.subentry_id, circuit.id)
        for group in entry.runtime_data.groups.values()
        for circuit in group.circuits.items
    }
    return not any(identifier in current for identifier in device.identifiers)
