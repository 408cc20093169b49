"""Hub flow base: entry defaults, unique id and title; test the connection, then create or update.

One hub per connection: the unique id is the gateway (``host:port``), the routing group, "automatic",
or "core_knx" (the connection of Home Assistant's KNX integration). The connection is tested with
xknx (``connection_test.py``) before an entry is created or changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from xml.sax import SAXException

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import callback
from homeassistant.helpers.typing import UNDEFINED
from xknx.exceptions.exception import InvalidSecureConfiguration
from xknx.io.gateway_scanner import GatewayDescriptor
from xknx.secure.keyring import Keyring

from ..const import (
    CONF_HOST,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_MCAST_GRP,
    CONF_KNX_MCAST_PORT,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DEFAULT_MCAST_GRP,
    DEFAULT_MCAST_PORT,
    DEFAULT_ROUTING_IA,
    DOMAIN,
)
from ..knx.hub import knxkeys_path
from .connection_test import async_test_connection, load_and_store_keyfile

CONF_KEYRING_FILE: Final = "knxkeys_file"

DEFAULT_HUB_DATA: Final[Mapping[str, Any]] = MappingProxyType(
    {
        CONF_KNX_INDIVIDUAL_ADDRESS: DEFAULT_ROUTING_IA,
        CONF_KNX_LOCAL_IP: None,
        CONF_KNX_MCAST_GRP: DEFAULT_MCAST_GRP,
        CONF_KNX_MCAST_PORT: DEFAULT_MCAST_PORT,
        CONF_KNX_ROUTE_BACK: False,
    }
)
"""Keys every hub entry has, as in core knx's DEFAULT_ENTRY_DATA."""
NO_CREDENTIALS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        CONF_KNX_SECURE_USER_ID: None,
        CONF_KNX_SECURE_USER_PASSWORD: None,
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: None,
        CONF_KNX_TUNNEL_ENDPOINT_IA: None,
    }
)
TUNNEL_TYPES: Final = (CONF_KNX_TUNNELING, CONF_KNX_TUNNELING_TCP, CONF_KNX_TUNNELING_TCP_SECURE)
ROUTING_TYPES: Final = (CONF_KNX_ROUTING, CONF_KNX_ROUTING_SECURE)


def hub_unique_id(data: Mapping[str, Any]) -> str:
    """Return the unique id of a hub entry: one hub per KNX connection.

    "automatic"; "tunnel:<host>:<port>" for every tunnelling type; "routing:<group>:<port>" for routing;
    "core_knx" on the connection of Home Assistant's KNX integration.
    """
    kind = data[CONF_KNX_CONNECTION_TYPE]
    if kind == CONF_KNX_CORE:
        return CONF_KNX_CORE
    if kind in TUNNEL_TYPES:
        return f"tunnel:{data[CONF_HOST]}:{data[CONF_PORT]}"
    if kind in ROUTING_TYPES:
        return f"routing:{data[CONF_KNX_MCAST_GRP]}:{data[CONF_KNX_MCAST_PORT]}"
    return CONF_KNX_AUTOMATIC


def hub_title(data: Mapping[str, Any]) -> str:
    """Default title of a hub entry, as core knx names its entries ("Tunneling UDP @ 192.168.1.5")."""
    kind = data[CONF_KNX_CONNECTION_TYPE]
    if kind == CONF_KNX_CORE:
        return "KNX integration"
    if kind in ROUTING_TYPES:
        return f"{'Secure ' if kind == CONF_KNX_ROUTING_SECURE else ''}Routing as {data[CONF_KNX_INDIVIDUAL_ADDRESS]}"
    if kind == CONF_KNX_TUNNELING_TCP_SECURE:
        return f"Secure Tunneling @ {data[CONF_HOST]}"
    if kind in TUNNEL_TYPES:
        return f"Tunneling {'UDP' if kind == CONF_KNX_TUNNELING else 'TCP'} @ {data[CONF_HOST]}"
    return "Automatic"


class HubFlowBase(ConfigFlow):
    """State of the hub flow; finishing (test, then save the entry) and storing an uploaded keyring."""

    def __init__(self) -> None:
        """Start with core knx's defaults."""
        self._initial: dict[str, Any] = dict(DEFAULT_HUB_DATA)
        self._data: dict[str, Any] = {}
        self._gateways: list[GatewayDescriptor] = []
        self._selected: GatewayDescriptor | None = None
        self._keyring: Keyring | None = None
        self._new_keyfile: str | None = None

    @property
    def _connection_type(self) -> str:
        return str(self._data.get(CONF_KNX_CONNECTION_TYPE, self._initial.get(CONF_KNX_CONNECTION_TYPE)))

    @callback
    def async_remove(self) -> None:
        """Delete a keyring stored by this flow if the flow ends without using it."""
        if (keyfile := knxkeys_path(self.hass, self._new_keyfile)) is not None:
            Path(keyfile).unlink(missing_ok=True)

    async def _async_finish(self, errors: dict[str, str]) -> ConfigFlowResult | None:
        """Test the connection and create (or, when reconfiguring, update) the entry.

        Returns None with ``errors["base"]`` set when the test fails; aborts with already_configured when
        another hub uses the same connection. When reconfiguring (or reauthenticating) a loaded hub, it
        is unloaded first so its own tunnel does not occupy the slot the test needs, and set up again if
        the test fails. A hub on core knx's connection keeps only its connection type (no host, no
        keyring). Reauthentication ends with ``reauth_successful``, reconfiguration with
        ``reconfigure_successful`` (``async_update_reload_and_abort`` picks the reason by source).
        """
        entry = self._existing_entry()
        if self._data.get(CONF_KNX_CONNECTION_TYPE) == CONF_KNX_CORE:
            data = dict(self._data)
        else:
            keep = entry.data if entry and entry.data.get(CONF_KNX_CONNECTION_TYPE) != CONF_KNX_CORE else None
            data = {**(keep or DEFAULT_HUB_DATA), **self._data}
        unique_id = hub_unique_id(data)
        if any(
            other.unique_id == unique_id and other is not entry for other in self._async_current_entries()
        ):
            return self.async_abort(reason="already_configured")
        unloaded = entry is not None and entry.state is ConfigEntryState.LOADED
        if entry is not None and unloaded:
            await self.hass.config_entries.async_unload(entry.entry_id)
        if (error := await async_test_connection(self.hass, data)) is not None:
            errors["base"] = error
            if entry is not None and unloaded:
                # set up again, not reloaded: a reload would abort this flow if it is a reauthentication
                self.hass.async_create_task(
                    self.hass.config_entries.async_setup(entry.entry_id),
                    f"{DOMAIN} set-up after a failed test",
                )
            return None
        self._new_keyfile = None  # the entry owns it now
        if entry is not None:
            old_keyfile = entry.data.get(CONF_KNX_KNXKEY_FILENAME)
            if old_keyfile != data.get(CONF_KNX_KNXKEY_FILENAME) and (
                old_path := knxkeys_path(self.hass, old_keyfile)
            ):
                await self.hass.async_add_executor_job(Path(old_path).unlink, True)
            return self.async_update_reload_and_abort(
                entry,
                unique_id=unique_id,
                title=hub_title(data) if entry.title == hub_title(entry.data) else UNDEFINED,
                data=data,
            )
        await self.async_set_unique_id(unique_id)
        return self.async_create_entry(title=hub_title(data), data=data)

    def _existing_entry(self) -> ConfigEntry | None:
        """Return the hub being reconfigured or reauthenticated; None when creating one."""
        if self.source == SOURCE_RECONFIGURE:
            return self._get_reconfigure_entry()
        if self.source == SOURCE_REAUTH:
            return self._get_reauth_entry()
        return None

    async def _async_store_keyring(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> tuple[Keyring, str] | None:
        """Decrypt the uploaded ``.knxkeys`` and store it (executor); (keyring, stored file) or None.

        A wrong password or an unreadable file is put into ``errors`` and gives None. A keyring
        stored by an earlier attempt of this flow is deleted; the new one becomes ``_new_keyfile``.
        """
        try:
            keyring, stored = await self.hass.async_add_executor_job(
                load_and_store_keyfile,
                self.hass,
                user_input[CONF_KEYRING_FILE],
                user_input[CONF_KNX_KNXKEY_PASSWORD],
            )
        except InvalidSecureConfiguration:
            errors[CONF_KNX_KNXKEY_PASSWORD] = "invalid_keyfile_password"
            return None
        except (ValueError, OSError, SyntaxError, SAXException):
            errors[CONF_KEYRING_FILE] = "invalid_keyfile"
            return None
        self.async_remove()
        self._new_keyfile = stored
        return keyring, stored
