"""Config flows: the hub (one KNX connection) and its charger subentries.

Hub flow (``KnxEvseConfigFlow``), modelled on core ``knx``'s config flow with the same connection types
and data keys: automatic (offered when a gateway answers the scan), UDP/TCP tunnelling, secure
tunnelling (``.knxkeys`` upload or manual credentials) and routing / secure routing. The connection is
tested with xknx before the entry is created or changed (``async_test_connection``). One hub per
connection: the unique id is the gateway (``host:port``), the routing group, or "automatic".
Reauthentication (``reauth`` → ``reauth_confirm``), started by Home Assistant when set-up raises
``ConfigEntryAuthFailed``, asks only for the secrets the hub uses (a new keyring and its password,
the secure tunnel's user ID, password and device authentication code, or the backbone key), tests
the connection and reloads the hub.

Charger subentry flow (``ChargerSubentryFlow``), following the manual's ETS pages:
``charger`` (name, individual address, model features, OCPP mode) → ``general`` → ``status_sending`` →
``advanced`` → ``connector_1`` (→ ``connector_2``) (→ ``load_balancing`` → ``load_balancing_limits``)
→ ``group_addresses``. Parameters are validated by ``ChargerParameters.from_dict`` after every step;
its errors become translated errors on the field (or on the section holding it). Instead of typing,
``knxproj`` imports chargers from an ETS project (see ``knxproj.py``): upload → (password) → pick
chargers → per charger a summary to confirm → optionally the parameter steps → group addresses.

The subentry stores ``{name, individual_address, model, parameters, group_addresses}`` (see const.py);
its unique id is the individual address. Reconfigure runs the same steps prefilled; the runtime reloads
the entry and drops entities of objects that are no longer enabled.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from xml.sax import SAXException

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import selector
from homeassistant.helpers.storage import STORAGE_DIR
from homeassistant.helpers.typing import UNDEFINED
from xknx import XKNX
from xknx.exceptions.exception import CouldNotParseAddress, InvalidSecureConfiguration, XKNXException
from xknx.io.gateway_scanner import GatewayDescriptor, GatewayScanner
from xknx.io.util import validate_ip
from xknx.knxip.error_code import ErrorCode
from xknx.secure.keyring import InterfaceType, Keyring, sync_load_keyring
from xknx.telegram.address import IndividualAddress

from .balancing_flow import BalancingGroupSubentryFlow
from .compat import vol
from .const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_HOST,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_MCAST_GRP,
    CONF_KNX_MCAST_PORT,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    CONF_PORT,
    DEFAULT_MCAST_GRP,
    DEFAULT_MCAST_PORT,
    DEFAULT_ROUTING_IA,
    DOMAIN,
    KNXKEYS_STORAGE_DIR,
    MODEL_DEFAULTS,
    MODELS,
    SUBENTRY_BALANCING,
    SUBENTRY_CHARGER,
)
from .knx.connection import authentication_failed, connection_config
from .knx.group_addresses import GroupAddressError, status_address_clashes, validate_group_addresses
from .knx.knxproj import (
    SEARCHED_FOR,
    ProjectCharger,
    ProjectError,
    derive_parameters,
    find_chargers,
    find_dpt_clashes,
    parse_project,
    project_dpts,
    summarize,
)
from .knx.objects import MAX_BALANCED_EVSES, OBJECTS, OBJECTS_BY_KEY
from .knx.parameters import (
    BALANCING_AFTER_INIT,
    PHASE_CONNECTIONS,
    SENDING_MODES,
    STATUS_GROUPS,
    ChargerParameters,
)

_LOGGER = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------
# Hub flow
# ---------------------------------------------------------------------------------------------------

CONF_GATEWAY: Final = "gateway"
CONF_TUNNELING_TYPE: Final = "tunneling_type"
CONF_KEYRING_FILE: Final = "knxkeys_file"
OPTION_MANUAL: Final = "manual"
SCAN_TIMEOUT: Final = 2.0
"""s the gateway scan of the first step waits for KNXnet/IP search responses."""
CONNECT_TIMEOUT: Final = 15.0
"""s the connection test may take (secure routing waits for timer synchronisation)."""

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
_NO_CREDENTIALS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        CONF_KNX_SECURE_USER_ID: None,
        CONF_KNX_SECURE_USER_PASSWORD: None,
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: None,
        CONF_KNX_TUNNEL_ENDPOINT_IA: None,
    }
)
_TUNNEL_TYPES: Final = (CONF_KNX_TUNNELING, CONF_KNX_TUNNELING_TCP, CONF_KNX_TUNNELING_TCP_SECURE)
_ROUTING_TYPES: Final = (CONF_KNX_ROUTING, CONF_KNX_ROUTING_SECURE)

_TEXT = selector.TextSelector()
_PASSWORD = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD))
_BOOL = selector.BooleanSelector()


def _number(unit: str | None = None, step: float = 1) -> selector.NumberSelector:
    """Return a number box without min/max: our schemas check ranges, so their errors are translated."""
    config = selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=step)
    if unit:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def _int(lo: int, hi: int, unit: str | None = None) -> Callable[[Any], Any]:
    config = selector.NumberSelectorConfig(min=lo, max=hi, mode=selector.NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return vol.All(selector.NumberSelector(config), vol.Coerce(int))


def _select(translation_key: str, options: Iterable[str], multiple: bool = False) -> selector.SelectSelector:
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(options),
            translation_key=translation_key,
            mode=selector.SelectSelectorMode.LIST if multiple else selector.SelectSelectorMode.DROPDOWN,
            multiple=multiple,
        )
    )


def hub_unique_id(data: Mapping[str, Any]) -> str:
    """Return the unique id of a hub entry: one hub per KNX connection.

    "automatic"; "tunnel:<host>:<port>" for every tunnelling type; "routing:<group>:<port>" for routing.
    """
    kind = data[CONF_KNX_CONNECTION_TYPE]
    if kind in _TUNNEL_TYPES:
        return f"tunnel:{data[CONF_HOST]}:{data[CONF_PORT]}"
    if kind in _ROUTING_TYPES:
        return f"routing:{data[CONF_KNX_MCAST_GRP]}:{data[CONF_KNX_MCAST_PORT]}"
    return CONF_KNX_AUTOMATIC


def hub_title(data: Mapping[str, Any]) -> str:
    """Default title of a hub entry, as core knx names its entries ("Tunneling UDP @ 192.168.1.5")."""
    kind = data[CONF_KNX_CONNECTION_TYPE]
    if kind in _ROUTING_TYPES:
        return f"{'Secure ' if kind == CONF_KNX_ROUTING_SECURE else ''}Routing as {data[CONF_KNX_INDIVIDUAL_ADDRESS]}"
    if kind == CONF_KNX_TUNNELING_TCP_SECURE:
        return f"Secure Tunneling @ {data[CONF_HOST]}"
    if kind in _TUNNEL_TYPES:
        return f"Tunneling {'UDP' if kind == CONF_KNX_TUNNELING else 'TCP'} @ {data[CONF_HOST]}"
    return "Automatic"


def keyfile_path(hass: HomeAssistant, filename: str) -> Path:
    """Absolute path of a stored keyring: ``<config>/.storage/knx_evse/<file name of filename>``."""
    return Path(hass.config.path(STORAGE_DIR, KNXKEYS_STORAGE_DIR, Path(filename).name))


def _no_free_tunnel(err: BaseException) -> bool:
    """Tell whether the gateway refused the tunnel because all slots are taken (E_NO_MORE_CONNECTIONS).

    xknx 4 carries the KNXnet/IP status as ``error_code`` on a cause of the CommunicationError; xknx 3.14
    only names it in the message of the cause.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "error_code", None) is ErrorCode.E_NO_MORE_CONNECTIONS:
            return True
        if ErrorCode.E_NO_MORE_CONNECTIONS.name in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


async def async_test_connection(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Connect once with the hub ``data`` and disconnect; return None or an error translation key.

    Keys: ``no_tunnel_slot`` (the gateway has no free tunnel), ``invalid_secure_configuration``
    (credentials or keyring refused by xknx before connecting), ``invalid_auth`` (the interface
    rejected the secure session: wrong user ID, user password or device authentication code),
    ``cannot_connect`` (anything else, including a timeout of ``CONNECT_TIMEOUT`` s).
    """
    keyfile = data.get(CONF_KNX_KNXKEY_FILENAME)
    config = connection_config(data, str(keyfile_path(hass, keyfile)) if keyfile else None)
    config.auto_reconnect = False
    xknx = XKNX(connection_config=config)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await xknx.start()
    except InvalidSecureConfiguration as err:
        _LOGGER.debug("KNX secure configuration rejected: %s", err)
        return "invalid_secure_configuration"
    except (XKNXException, OSError, TimeoutError) as err:
        _LOGGER.debug("KNX connection test failed: %r", err)
        if authentication_failed(err):
            return "invalid_auth"
        return "no_tunnel_slot" if _no_free_tunnel(err) else "cannot_connect"
    finally:
        await xknx.stop()
    return None


async def _async_ip(text: str, multicast: bool = False) -> str | None:
    """Return the IPv4 address ``text`` (address, adapter or host name) resolves to; None when invalid."""
    try:
        address = ipaddress.IPv4Address(await validate_ip(text))
    except (XKNXException, ValueError):
        return None
    return str(address) if address.is_multicast == multicast else None


def _load_and_store_keyfile(hass: HomeAssistant, file_id: str, password: str) -> tuple[Keyring, str]:
    """Validate an uploaded .knxkeys and move it to .storage/knx_evse/<random>.knxkeys (executor).

    Returns the keyring and the stored name relative to .storage. Raises InvalidSecureConfiguration for
    a wrong password, ValueError/OSError/SyntaxError/SAXException for a missing or malformed file.
    """
    with process_uploaded_file(hass, file_id) as path:
        keyring = sync_load_keyring(path, password)
        relative = f"{KNXKEYS_STORAGE_DIR}/{uuid.uuid4().hex}.knxkeys"
        destination = keyfile_path(hass, relative)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, destination)
    return keyring, relative


_KEYRING: Final = "keyring"
_TUNNEL_CREDENTIALS: Final = "tunnel"
_ROUTING_KEY: Final = "routing"


def _credential_kind(data: Mapping[str, Any]) -> str | None:
    """Which secrets a hub entry holds: a keyring, secure tunnel credentials, a backbone key, or none."""
    if data.get(CONF_KNX_KNXKEY_FILENAME):
        return _KEYRING
    kind = data.get(CONF_KNX_CONNECTION_TYPE)
    if kind == CONF_KNX_TUNNELING_TCP_SECURE:
        return _TUNNEL_CREDENTIALS
    if kind == CONF_KNX_ROUTING_SECURE:
        return _ROUTING_KEY
    return None


def _backbone_key_update(user_input: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """Entry data of a manually entered backbone key; None with the field's error when it is not 16 bytes."""
    try:
        valid = len(bytes.fromhex(user_input[CONF_KNX_ROUTING_BACKBONE_KEY])) == 16
    except ValueError:
        valid = False
    if not valid:
        errors[CONF_KNX_ROUTING_BACKBONE_KEY] = "invalid_backbone_key"
        return None
    return {
        CONF_KNX_ROUTING_BACKBONE_KEY: user_input[CONF_KNX_ROUTING_BACKBONE_KEY],
        CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: user_input[CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE],
    }


class KnxEvseConfigFlow(ConfigFlow, domain=DOMAIN):
    """Hub flow: choose and test the KNX connection (see the module docstring)."""

    VERSION = 1

    def __init__(self) -> None:
        """Start with core knx's defaults."""
        self._initial: dict[str, Any] = dict(DEFAULT_HUB_DATA)
        self._data: dict[str, Any] = {}
        self._gateways: list[GatewayDescriptor] = []
        self._selected: GatewayDescriptor | None = None
        self._keyring: Keyring | None = None
        self._new_keyfile: str | None = None

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Subentry types of a hub: see ``SUBENTRY_FLOWS``."""
        return dict(SUBENTRY_FLOWS)

    @property
    def _connection_type(self) -> str:
        return str(self._data.get(CONF_KNX_CONNECTION_TYPE, self._initial.get(CONF_KNX_CONNECTION_TYPE)))

    @callback
    def async_remove(self) -> None:
        """Delete a keyring stored by this flow if the flow ends without using it."""
        if self._new_keyfile:
            keyfile_path(self.hass, self._new_keyfile).unlink(missing_ok=True)

    async def _async_finish(self, errors: dict[str, str]) -> ConfigFlowResult | None:
        """Test the connection and create (or, when reconfiguring, update) the entry.

        Returns None with ``errors["base"]`` set when the test fails; aborts with already_configured when
        another hub uses the same connection. When reconfiguring (or reauthenticating) a loaded hub, it
        is unloaded first so its own tunnel does not occupy the slot the test needs, and set up again if
        the test fails. Reauthentication ends with ``reauth_successful``, reconfiguration with
        ``reconfigure_successful`` (``async_update_reload_and_abort`` picks the reason by source).
        """
        entry = self._existing_entry()
        data = {**(entry.data if entry else DEFAULT_HUB_DATA), **self._data}
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
            if old_keyfile and old_keyfile != data.get(CONF_KNX_KNXKEY_FILENAME):
                await self.hass.async_add_executor_job(keyfile_path(self.hass, old_keyfile).unlink, True)
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

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Home Assistant's reauthentication: the hub's KNX Secure credentials were rejected at set-up.

        Aborts with ``reauth_not_supported`` for a hub without secrets (plain tunnelling or routing),
        whose set-up never raises ``ConfigEntryAuthFailed``.
        """
        self._initial = dict(entry_data)
        if _credential_kind(entry_data) is None:
            return self.async_abort(reason="reauth_not_supported")
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the new secrets of the hub's kind of credentials, test them and reload the hub.

        - keyring: upload the new ``.knxkeys`` and its password; a tunnel keeps its interface when the
          new keyring still has it (else xknx picks a free one), secure routing needs the backbone key;
        - secure tunnel by hand: user ID, user password and device authentication code;
        - secure routing by hand: backbone key and latency tolerance.

        Nothing is prefilled but the user ID and the latency (no secret goes back to the browser). The
        old keyring file is deleted once the new one is in use.
        """
        kind = _credential_kind(self._initial)
        errors: dict[str, str] = {}
        if user_input is not None:
            if kind == _KEYRING:
                update = await self._async_reauth_keyring(user_input, errors)
            elif kind == _ROUTING_KEY:
                update = _backbone_key_update(user_input, errors)
            else:
                update = {
                    CONF_KNX_SECURE_USER_ID: user_input[CONF_KNX_SECURE_USER_ID],
                    CONF_KNX_SECURE_USER_PASSWORD: user_input[CONF_KNX_SECURE_USER_PASSWORD],
                    CONF_KNX_SECURE_DEVICE_AUTHENTICATION: user_input[CONF_KNX_SECURE_DEVICE_AUTHENTICATION],
                }
            if update is not None:
                self._data = update
                if (result := await self._async_finish(errors)) is not None:
                    return result
        if kind == _KEYRING:
            fields: dict[Any, Any] = {
                vol.Required(CONF_KEYRING_FILE): selector.FileSelector(
                    selector.FileSelectorConfig(accept=".knxkeys")
                ),
                vol.Required(CONF_KNX_KNXKEY_PASSWORD): _PASSWORD,
            }
        elif kind == _ROUTING_KEY:
            fields = {
                vol.Required(CONF_KNX_ROUTING_BACKBONE_KEY): _PASSWORD,
                vol.Required(
                    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
                    default=self._initial.get(CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE) or 1000,
                ): _int(400, 4000, "ms"),
            }
        else:
            fields = {
                vol.Required(
                    CONF_KNX_SECURE_USER_ID, default=self._initial.get(CONF_KNX_SECURE_USER_ID) or 2
                ): _int(1, 127),
                vol.Required(CONF_KNX_SECURE_USER_PASSWORD): _PASSWORD,
                vol.Required(CONF_KNX_SECURE_DEVICE_AUTHENTICATION): _PASSWORD,
            }
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"hub": self._get_reauth_entry().title},
        )

    async def _async_store_keyring(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> tuple[Keyring, str] | None:
        """Decrypt the uploaded ``.knxkeys`` and store it (executor); (keyring, stored file) or None.

        A wrong password or an unreadable file is put into ``errors`` and gives None. A keyring
        stored by an earlier attempt of this flow is deleted; the new one becomes ``_new_keyfile``.
        """
        try:
            keyring, stored = await self.hass.async_add_executor_job(
                _load_and_store_keyfile,
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

    async def _async_reauth_keyring(
        self, user_input: dict[str, Any], errors: dict[str, str]
    ) -> dict[str, Any] | None:
        """Validate and store an uploaded keyring for reauthentication; the entry data to change, or None."""
        if (loaded := await self._async_store_keyring(user_input, errors)) is None:
            return None
        keyring, stored = loaded
        update: dict[str, Any] = {
            CONF_KNX_KNXKEY_FILENAME: stored,
            CONF_KNX_KNXKEY_PASSWORD: user_input[CONF_KNX_KNXKEY_PASSWORD],
        }
        kind = self._initial[CONF_KNX_CONNECTION_TYPE]
        if kind == CONF_KNX_ROUTING_SECURE and (
            keyring.backbone is None or keyring.backbone.decrypted_key is None
        ):
            errors[CONF_KEYRING_FILE] = "keyfile_no_backbone_key"
            return None
        endpoint = self._initial.get(CONF_KNX_TUNNEL_ENDPOINT_IA)
        if endpoint and not any(
            str(interface.individual_address) == endpoint
            for interface in keyring.interfaces
            if interface.type is InterfaceType.TUNNELING
        ):
            update[CONF_KNX_TUNNEL_ENDPOINT_IA] = None  # not in the new keyring: xknx picks a free tunnel
        return update

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the connection, or only replace the keyring file."""
        self._initial = dict(self._get_reconfigure_entry().data)
        return self.async_show_menu(step_id="reconfigure", menu_options=["user", "secure_knxkeys"])

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose automatic (when a gateway answered the scan), tunnelling or routing."""
        errors: dict[str, str] = {}
        if user_input is not None:
            kind = user_input[CONF_KNX_CONNECTION_TYPE]
            if kind == CONF_KNX_TUNNELING:
                return await self.async_step_tunnel()
            if kind == CONF_KNX_ROUTING:
                return await self.async_step_routing()
            self._data = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC, **_NO_CREDENTIALS}
            if (result := await self._async_finish(errors)) is not None:
                return result
        else:
            self._gateways = await GatewayScanner(XKNX(), timeout_in_seconds=SCAN_TIMEOUT).scan()
        options = [CONF_KNX_AUTOMATIC] if self._gateways else []
        options += [CONF_KNX_TUNNELING, CONF_KNX_ROUTING]
        current = self._initial.get(CONF_KNX_CONNECTION_TYPE)
        default = (
            CONF_KNX_TUNNELING
            if current in _TUNNEL_TYPES
            else CONF_KNX_ROUTING
            if current in _ROUTING_TYPES
            else options[0]
        )
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {vol.Required(CONF_KNX_CONNECTION_TYPE, default=default): _select("connection_type", options)}
            ),
            errors=errors,
            description_placeholders={
                "gateways": "\n".join(f"- {gateway}" for gateway in self._gateways) or "-",
            },
        )

    async def async_step_tunnel(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick a discovered tunnelling gateway (skipped when none was found)."""
        tunnels = sorted(
            (gateway for gateway in self._gateways if gateway.supports_tunnelling),
            key=lambda gateway: gateway.individual_address.raw if gateway.individual_address else 0,
        )
        if not tunnels:
            return await self.async_step_manual_tunnel()
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_GATEWAY] == OPTION_MANUAL:
                self._selected = tunnels[0]
                return await self.async_step_manual_tunnel()
            gateway = self._selected = next(t for t in tunnels if str(t) == user_input[CONF_GATEWAY])
            kind = (
                CONF_KNX_TUNNELING_TCP_SECURE
                if gateway.tunnelling_requires_secure
                else CONF_KNX_TUNNELING_TCP
                if gateway.supports_tunnelling_tcp
                else CONF_KNX_TUNNELING
            )
            self._data = {
                CONF_KNX_CONNECTION_TYPE: kind,
                CONF_HOST: gateway.ip_addr,
                CONF_PORT: gateway.port,
                CONF_KNX_ROUTE_BACK: False,
                CONF_KNX_LOCAL_IP: None,
                **_NO_CREDENTIALS,
            }
            if kind == CONF_KNX_TUNNELING_TCP_SECURE:
                return await self.async_step_secure_key_source_menu_tunnel()
            if (result := await self._async_finish(errors)) is not None:
                return result
        options = [
            selector.SelectOptionDict(
                value=str(t),
                label=f"{t} {'TCP' if t.supports_tunnelling_tcp else 'UDP'}"
                f"{' 🔐 Secure' if t.tunnelling_requires_secure else ''}",
            )
            for t in tunnels
        ]
        options.append(selector.SelectOptionDict(value=OPTION_MANUAL, label=OPTION_MANUAL))
        default = next((str(t) for t in tunnels if t.ip_addr == self._initial.get(CONF_HOST)), vol.UNDEFINED)
        return self.async_show_form(
            step_id="tunnel",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_GATEWAY, default=default): selector.SelectSelector(
                        selector.SelectSelectorConfig(options=options, mode=selector.SelectSelectorMode.LIST)
                    )
                }
            ),
            errors=errors,
        )

    async def async_step_manual_tunnel(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """UDP, TCP or secure TCP tunnelling to a host and port, optionally from a given local IP."""
        errors: dict[str, str] = {}
        values: Mapping[str, Any] = user_input or {}
        if user_input is not None:
            host = await _async_ip(user_input[CONF_HOST])
            if host is None:
                errors[CONF_HOST] = "invalid_ip_address"
            local = user_input.get(CONF_KNX_LOCAL_IP)
            if local and await _async_ip(local) is None:
                errors[CONF_KNX_LOCAL_IP] = "invalid_ip_address"
            if not errors:
                kind = user_input[CONF_TUNNELING_TYPE]
                self._data = {
                    CONF_KNX_CONNECTION_TYPE: kind,
                    CONF_HOST: user_input[CONF_HOST],
                    CONF_PORT: user_input[CONF_PORT],
                    CONF_KNX_ROUTE_BACK: user_input[CONF_KNX_ROUTE_BACK],
                    CONF_KNX_LOCAL_IP: local or None,
                    **_NO_CREDENTIALS,
                }
                if kind == CONF_KNX_TUNNELING_TCP_SECURE:
                    return await self.async_step_secure_key_source_menu_tunnel()
                if (result := await self._async_finish(errors)) is not None:
                    return result
        elif self._selected is not None and self._initial.get(CONF_KNX_CONNECTION_TYPE) not in _TUNNEL_TYPES:
            gateway = self._selected
            values = {
                CONF_HOST: gateway.ip_addr,
                CONF_PORT: gateway.port,
                CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING_TCP_SECURE
                if gateway.tunnelling_requires_secure
                else CONF_KNX_TUNNELING_TCP
                if gateway.supports_tunnelling_tcp
                else CONF_KNX_TUNNELING,
            }
        else:
            values = {**self._initial}
            if self._initial.get(CONF_KNX_CONNECTION_TYPE) in _TUNNEL_TYPES:
                values[CONF_TUNNELING_TYPE] = self._initial[CONF_KNX_CONNECTION_TYPE]
        fields = {
            vol.Required(
                CONF_TUNNELING_TYPE, default=values.get(CONF_TUNNELING_TYPE, CONF_KNX_TUNNELING)
            ): _select("tunneling_type", _TUNNEL_TYPES),
            vol.Required(CONF_HOST, default=values.get(CONF_HOST) or vol.UNDEFINED): _TEXT,
            vol.Required(CONF_PORT, default=values.get(CONF_PORT, DEFAULT_MCAST_PORT)): _int(1, 65535),
            vol.Required(CONF_KNX_ROUTE_BACK, default=bool(values.get(CONF_KNX_ROUTE_BACK, False))): _BOOL,
            vol.Optional(
                CONF_KNX_LOCAL_IP, description={"suggested_value": values.get(CONF_KNX_LOCAL_IP)}
            ): _TEXT,
        }
        return self.async_show_form(step_id="manual_tunnel", data_schema=vol.Schema(fields), errors=errors)

    async def async_step_secure_key_source_menu_tunnel(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Secure tunnelling: keyring file or manual credentials."""
        return self.async_show_menu(
            step_id="secure_key_source_menu_tunnel", menu_options=["secure_knxkeys", "secure_tunnel_manual"]
        )

    async def async_step_secure_key_source_menu_routing(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Secure routing: keyring file or manual backbone key."""
        return self.async_show_menu(
            step_id="secure_key_source_menu_routing", menu_options=["secure_knxkeys", "secure_routing_manual"]
        )

    async def async_step_secure_tunnel_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """User id, user password and device authentication code of a secure tunnel."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._data |= {
                CONF_KNX_SECURE_USER_ID: user_input[CONF_KNX_SECURE_USER_ID],
                CONF_KNX_SECURE_USER_PASSWORD: user_input[CONF_KNX_SECURE_USER_PASSWORD],
                CONF_KNX_SECURE_DEVICE_AUTHENTICATION: user_input[CONF_KNX_SECURE_DEVICE_AUTHENTICATION],
                CONF_KNX_TUNNEL_ENDPOINT_IA: None,
                CONF_KNX_KNXKEY_FILENAME: None,
                CONF_KNX_KNXKEY_PASSWORD: None,
            }
            if (result := await self._async_finish(errors)) is not None:
                return result
        fields = {
            vol.Required(
                CONF_KNX_SECURE_USER_ID, default=self._initial.get(CONF_KNX_SECURE_USER_ID) or 2
            ): _int(1, 127),
            vol.Required(
                CONF_KNX_SECURE_USER_PASSWORD,
                default=self._initial.get(CONF_KNX_SECURE_USER_PASSWORD) or vol.UNDEFINED,
            ): _PASSWORD,
            vol.Required(
                CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
                default=self._initial.get(CONF_KNX_SECURE_DEVICE_AUTHENTICATION) or vol.UNDEFINED,
            ): _PASSWORD,
        }
        return self.async_show_form(
            step_id="secure_tunnel_manual", data_schema=vol.Schema(fields), errors=errors
        )

    async def async_step_secure_routing_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Backbone key (32 hex digits) and latency tolerance of secure routing."""
        errors: dict[str, str] = {}
        if user_input is not None and (update := _backbone_key_update(user_input, errors)) is not None:
            self._data |= {**update, CONF_KNX_KNXKEY_FILENAME: None, CONF_KNX_KNXKEY_PASSWORD: None}
            if (result := await self._async_finish(errors)) is not None:
                return result
        fields = {
            vol.Required(
                CONF_KNX_ROUTING_BACKBONE_KEY,
                default=self._initial.get(CONF_KNX_ROUTING_BACKBONE_KEY) or vol.UNDEFINED,
            ): _PASSWORD,
            vol.Required(
                CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
                default=self._initial.get(CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE) or 1000,
            ): _int(400, 4000, "ms"),
        }
        return self.async_show_form(
            step_id="secure_routing_manual", data_schema=vol.Schema(fields), errors=errors
        )

    async def async_step_secure_knxkeys(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Upload the ETS keyring (.knxkeys) and its password."""
        errors: dict[str, str] = {}
        if user_input is not None and (loaded := await self._async_store_keyring(user_input, errors)):
            keyring, stored = loaded
            self._keyring = keyring
            self._data |= {
                CONF_KNX_KNXKEY_FILENAME: stored,
                CONF_KNX_KNXKEY_PASSWORD: user_input[CONF_KNX_KNXKEY_PASSWORD],
                CONF_KNX_ROUTING_BACKBONE_KEY: None,
                CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: None,
            }
            if self._connection_type not in _ROUTING_TYPES:
                return await self.async_step_knxkeys_tunnel_select()
            if self._connection_type == CONF_KNX_ROUTING_SECURE and (
                keyring.backbone is None or keyring.backbone.decrypted_key is None
            ):
                errors[CONF_KEYRING_FILE] = "keyfile_no_backbone_key"
            elif (result := await self._async_finish(errors)) is not None:
                return result
        fields = {
            vol.Required(CONF_KEYRING_FILE): selector.FileSelector(
                selector.FileSelectorConfig(accept=".knxkeys")
            ),
            vol.Required(
                CONF_KNX_KNXKEY_PASSWORD, default=self._initial.get(CONF_KNX_KNXKEY_PASSWORD) or vol.UNDEFINED
            ): _PASSWORD,
        }
        return self.async_show_form(step_id="secure_knxkeys", data_schema=vol.Schema(fields), errors=errors)

    async def async_step_knxkeys_tunnel_select(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the keyring's tunnel interface (of the chosen gateway), or let xknx choose."""
        assert self._keyring is not None  # only reached from secure_knxkeys
        host = self._selected.individual_address if self._selected else None
        endpoints = [
            interface
            for interface in self._keyring.interfaces
            if interface.type is InterfaceType.TUNNELING and (host is None or interface.host == host)
        ]
        errors: dict[str, str] = {}
        if user_input is not None:
            chosen = user_input[CONF_KNX_TUNNEL_ENDPOINT_IA]
            self._data |= {
                **_NO_CREDENTIALS,
                CONF_KNX_TUNNEL_ENDPOINT_IA: None if chosen == CONF_KNX_AUTOMATIC else chosen,
            }
            if (result := await self._async_finish(errors)) is not None:
                return result
        elif not endpoints:
            errors["base"] = "keyfile_no_tunnel"
        options = [selector.SelectOptionDict(value=CONF_KNX_AUTOMATIC, label="Automatic")] + [
            selector.SelectOptionDict(
                value=str(interface.individual_address),
                label=f"{interface.individual_address}{' 🔐 user ' + str(interface.user_id) if interface.user_id else ''}",
            )
            for interface in endpoints
        ]
        default = self._initial.get(CONF_KNX_TUNNEL_ENDPOINT_IA) or CONF_KNX_AUTOMATIC
        if default not in {option["value"] for option in options}:
            default = CONF_KNX_AUTOMATIC
        return self.async_show_form(
            step_id="knxkeys_tunnel_select",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_KNX_TUNNEL_ENDPOINT_IA, default=default): selector.SelectSelector(
                        selector.SelectSelectorConfig(options=options, mode=selector.SelectSelectorMode.LIST)
                    )
                }
            ),
            errors=errors,
            description_placeholders={"host": str(host) if host else "-"},
        )

    async def async_step_routing(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Routing: our individual address, multicast group and port, optionally secure."""
        errors: dict[str, str] = {}
        values: Mapping[str, Any] = user_input or self._initial
        if user_input is not None:
            try:
                IndividualAddress(user_input[CONF_KNX_INDIVIDUAL_ADDRESS])
            except CouldNotParseAddress:
                errors[CONF_KNX_INDIVIDUAL_ADDRESS] = "invalid_individual_address"
            if await _async_ip(user_input[CONF_KNX_MCAST_GRP], multicast=True) is None:
                errors[CONF_KNX_MCAST_GRP] = "invalid_ip_address"
            local = user_input.get(CONF_KNX_LOCAL_IP)
            if local and await _async_ip(local) is None:
                errors[CONF_KNX_LOCAL_IP] = "invalid_ip_address"
            if not errors:
                secure = user_input[CONF_KNX_ROUTING_SECURE]
                self._data = {
                    CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING_SECURE if secure else CONF_KNX_ROUTING,
                    CONF_KNX_INDIVIDUAL_ADDRESS: user_input[CONF_KNX_INDIVIDUAL_ADDRESS],
                    CONF_KNX_MCAST_GRP: user_input[CONF_KNX_MCAST_GRP],
                    CONF_KNX_MCAST_PORT: user_input[CONF_KNX_MCAST_PORT],
                    CONF_KNX_LOCAL_IP: local or None,
                    **_NO_CREDENTIALS,
                }
                if secure:
                    return await self.async_step_secure_key_source_menu_routing()
                if (result := await self._async_finish(errors)) is not None:
                    return result
        routers = [gateway for gateway in self._gateways if gateway.supports_routing]
        secure_default = values.get(CONF_KNX_ROUTING_SECURE)
        if secure_default is None:
            secure_default = self._initial.get(CONF_KNX_CONNECTION_TYPE) == CONF_KNX_ROUTING_SECURE or any(
                router.routing_requires_secure for router in routers
            )
        fields = {
            vol.Required(
                CONF_KNX_INDIVIDUAL_ADDRESS,
                default=values.get(CONF_KNX_INDIVIDUAL_ADDRESS, DEFAULT_ROUTING_IA),
            ): _TEXT,
            vol.Required(CONF_KNX_ROUTING_SECURE, default=bool(secure_default)): _BOOL,
            vol.Required(
                CONF_KNX_MCAST_GRP, default=values.get(CONF_KNX_MCAST_GRP, DEFAULT_MCAST_GRP)
            ): _TEXT,
            vol.Required(
                CONF_KNX_MCAST_PORT, default=values.get(CONF_KNX_MCAST_PORT, DEFAULT_MCAST_PORT)
            ): _int(1, 65535),
            vol.Optional(
                CONF_KNX_LOCAL_IP, description={"suggested_value": values.get(CONF_KNX_LOCAL_IP)}
            ): _TEXT,
        }
        return self.async_show_form(
            step_id="routing",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"routers": "\n".join(f"- {r}" for r in routers) or "-"},
        )


# ---------------------------------------------------------------------------------------------------
# Charger subentry flow
# ---------------------------------------------------------------------------------------------------

CONF_PROJECT_FILE: Final = "knxproj_file"
CONF_PASSWORD: Final = "password"
CONF_CHARGERS: Final = "chargers"
CONF_DROP_CLASHES: Final = "leave_out_dpt_clashes"
CONF_REVIEW: Final = "review_parameters"
CONF_INITIAL_POWER_LIMIT: Final = "initial_power_limit"
CONF_INITIAL_CURRENT_LIMIT: Final = "initial_current_limit"
CONF_EVSE_MAX: Final = "evse_max_{kind}_{n}"
"""Form field of EVSE n's maximum; kind is "current" (A, current control) or "power" (W)."""

Layout = dict[str | None, Sequence[str]]
"""Form layout: section name (None = top level) → parameter names, in the order of the ETS page."""

_STATUS_UNITS: Final = {group: unit for group, _threshold, unit in STATUS_GROUPS}
_SELECTORS: Final[dict[str, Any]] = {
    "delay_at_start": _number("s"),
    "ocpp_mode": _BOOL,
    "phase_connection": _select("phase_connection", PHASE_CONNECTIONS),
    "max_session_time": _number("min"),
    "auto_disconnect": _BOOL,
    "auto_start": _BOOL,
    "contracted_power": _number("W"),
    "max_user_current": _number("A"),
    "limit_by_power": _BOOL,
    CONF_INITIAL_POWER_LIMIT: _number("W"),
    CONF_INITIAL_CURRENT_LIMIT: _number("A"),
    "load_balancing": _BOOL,
    "charging_status_sending": _select("sending_mode", SENDING_MODES),
    "charging_status_period": _number("s"),
    **{f"{group}_sending": _select("sending_mode", SENDING_MODES) for group in _STATUS_UNITS},
    **{f"{group}_change": _number(unit, 0.1) for group, unit in _STATUS_UNITS.items()},
    **{f"{group}_period": _number("s") for group in _STATUS_UNITS},
    "rfid_objects": _BOOL,
    "reset_object": _BOOL,
    "error_objects": _BOOL,
    "session_objects": _BOOL,
    "block_object": _BOOL,
    "fail_safe": _BOOL,
    "fail_safe_timeout": _number("s"),
    "fail_safe_objects": _BOOL,
    "send_status_at_init": _BOOL,
    "ocpp_state": _BOOL,
    "pilot_state": _BOOL,
    "individual_status": _BOOL,
    "charging_time_objects": _BOOL,
    "balancing_after_init": _select("balancing_after_init", BALANCING_AFTER_INIT),
    "balancing_period": _number("s"),
    "balancing_current_control": _BOOL,
    "balancing_margin": _number("%"),
    "balancing_evse_count": _number(),
    "balancing_protection_device": _number("A"),
    "balancing_contracted_power": _number("W"),
}

_STATUS_LAYOUT: Final[Layout] = {
    **{group: (f"{group}_sending", f"{group}_change", f"{group}_period") for group in _STATUS_UNITS},
    "charging_status": ("charging_status_sending", "charging_status_period"),
}
_ADVANCED_LAYOUT: Final[Layout] = {
    None: ("rfid_objects", "reset_object", "error_objects", "session_objects", "block_object"),
    "fail_safe": ("fail_safe", "fail_safe_timeout", "fail_safe_objects"),
}
_CONNECTOR_LAYOUT: Final[Layout] = {
    "limits": (CONF_INITIAL_POWER_LIMIT,),
    "charging_status": ("send_status_at_init", "ocpp_state", "pilot_state", "individual_status"),
    "enable_objects": ("charging_time_objects", "block_object"),
}
_BALANCING_LAYOUT: Final[Layout] = {
    None: ("balancing_after_init", "balancing_period"),
    "limits": ("balancing_current_control", "balancing_margin"),
    "evse_to_balance": ("balancing_evse_count",),
}

# Parameter (as ``ChargerParameters`` names it) → error key when it fails validation.
_ERROR_KEYS: Final[dict[str, str]] = {
    "delay_at_start": "delay_out_of_range",
    "phase_connection": "phase_connection_not_applicable",
    "max_session_time": "session_time_out_of_range",
    "max_user_current": "current_out_of_range",
    "initial_limit": "initial_limit_out_of_range",
    "conn1_initial_power_limit": "power_out_of_range",
    "conn2_initial_power_limit": "power_out_of_range",
    "load_balancing": "balancing_three_phase",
    "balancing_margin": "margin_out_of_range",
    "balancing_evse_count": "evse_count_out_of_range",
    "balancing_evse_max": "evse_max_out_of_range",
}


def _layout_schema(layout: Layout, values: Mapping[str, Any]) -> vol.Schema:
    """Form schema of ``layout`` with ``values`` as defaults; sections stay expanded like ETS pages."""
    schema: dict[Any, Any] = {}
    for name, keys in layout.items():
        fields = {vol.Required(key, default=values[key]): _SELECTORS.get(key, _number()) for key in keys}
        if name is None:
            schema.update(fields)
        else:
            schema[vol.Required(name)] = section(vol.Schema(fields), {"collapsed": False})
    return vol.Schema(schema)


def _flatten(layout: Layout, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """User input of a sectioned form as one flat dict."""
    flat: dict[str, Any] = {}
    for name, value in user_input.items():
        if name in layout and name is not None and isinstance(value, Mapping):
            flat.update(value)
        else:
            flat[name] = value
    return flat


def _location(layout: Layout, field: str) -> str:
    """Where an error on ``field`` is shown: the field itself, its section, or "base"."""
    for name, keys in layout.items():
        if field in keys:
            return field if name is None else name
    return "base"


def repair_parameters(stored: Mapping[str, Any]) -> dict[str, Any]:
    """Validate stored parameters, resetting every value that no longer validates to its default.

    Lets reconfigure open a charger whose stored parameters a stricter version of the schema rejects;
    the user sees the defaults on those fields and can correct them.
    """
    data = dict(stored)
    while True:
        try:
            return ChargerParameters.from_dict(data).as_dict()
        except vol.Invalid as err:
            errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
            bad = {str(error.path[0]) for error in errors if error.path} & data.keys()
            if not bad:  # a rule the defaults of the dropped values still break
                return ChargerParameters.from_dict({}).as_dict()
            for key in bad:
                del data[key]


class ChargerSubentryFlow(ConfigSubentryFlow):
    """Add or reconfigure one charger, by hand or from an ETS project (see the module docstring)."""

    def __init__(self) -> None:
        """Start from the manual's defaults."""
        self._device: dict[str, Any] = {}
        self._params: dict[str, Any] = ChargerParameters.from_dict({}).as_dict()
        self._group_addresses: dict[int, list[str]] = {}
        self._project_file: Path | None = None
        self._project_dpts: dict[int, Mapping[str, Any]] = {}
        self._found: dict[str, ProjectCharger] = {}
        self._queue: list[ProjectCharger] = []
        self._summary_model: str | None = None
        self._done: list[dict[str, Any]] = []

    # -- helpers ----------------------------------------------------------------------------

    def _reconfiguring(self) -> ConfigSubentry | None:
        return self._get_reconfigure_subentry() if self.source == SOURCE_RECONFIGURE else None

    def _taken_addresses(self) -> set[str]:
        """Individual addresses of the other chargers of this hub and of this import."""
        own = self._reconfiguring()
        taken = {
            sub.unique_id
            for sub in self._get_entry().subentries.values()
            if sub.subentry_type == SUBENTRY_CHARGER and sub.unique_id and sub is not own
        }
        return taken | {done[CONF_CHARGER_IA] for done in self._done}

    def _other_chargers(self) -> dict[str, dict[int, list[str]]]:
        """Group addresses of the hub's other chargers and of the chargers imported before in this flow."""
        own = self._reconfiguring()
        others: dict[str, dict[int, list[str]]] = {}
        for sub in self._get_entry().subentries.values():
            if sub.subentry_type == SUBENTRY_CHARGER and sub is not own:
                stored = sub.data.get(CONF_GROUP_ADDRESSES) or {}
                others[sub.title] = {int(n): list(gas) for n, gas in stored.items() if int(n) in OBJECTS}
        for done in self._done:
            others[done[CONF_NAME]] = {int(n): list(gas) for n, gas in done[CONF_GROUP_ADDRESSES].items()}
        return others

    def _validate(
        self, updates: Mapping[str, Any], layout: Layout, aliases: Mapping[str, str]
    ) -> dict[str, str]:
        """Merge ``updates`` into the parameters if they validate; else the errors by form location.

        ``aliases`` maps a parameter name to the form field that edits it (e.g. initial_limit →
        initial_current_limit).
        """
        try:
            params = ChargerParameters.from_dict({**self._params, **updates})
        except vol.Invalid as err:
            errors: dict[str, str] = {}
            for error in err.errors if isinstance(err, vol.MultipleInvalid) else [err]:
                parameter = str(error.path[0]) if error.path else ""
                field = aliases.get(parameter, parameter)
                if parameter == "balancing_evse_max" and len(error.path) > 1:
                    kind = "current" if self._params["balancing_current_control"] else "power"
                    field = CONF_EVSE_MAX.format(kind=kind, n=int(str(error.path[1])) + 1)
                errors.setdefault(_location(layout, field), _ERROR_KEYS.get(parameter, "value_out_of_range"))
            return errors
        self._params = params.as_dict()
        return {}

    def _show(
        self,
        step_id: str,
        layout: Layout,
        values: Mapping[str, Any],
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=_layout_schema(layout, values),
            errors=errors,
            description_placeholders={"name": str(self._device.get(CONF_NAME, ""))},
        )

    # -- entry points -----------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Enter the ETS parameters by hand, or import chargers from an ETS project."""
        return self.async_show_menu(step_id="user", menu_options=["charger", "knxproj"])

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change any parameter or address of an existing charger; its device is kept."""
        subentry = self._get_reconfigure_subentry()
        data = subentry.data
        self._device = {key: data[key] for key in (CONF_NAME, CONF_CHARGER_IA, CONF_MODEL)}
        self._params = repair_parameters(data.get(CONF_PARAMETERS) or {})
        self._group_addresses = {
            int(n): list(gas) for n, gas in (data.get(CONF_GROUP_ADDRESSES) or {}).items()
        }
        return await self.async_step_charger()

    # -- General ----------------------------------------------------------------------------

    async def async_step_charger(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, individual address, model (phase number and connectors), phase connection, OCPP mode."""
        errors: dict[str, str] = {}
        values = {**self._params, **self._device, **(user_input or {})}
        if user_input is not None:
            try:
                address = str(IndividualAddress(user_input[CONF_CHARGER_IA]))
            except CouldNotParseAddress:
                errors[CONF_CHARGER_IA] = "invalid_individual_address"
            else:
                if address in self._taken_addresses():
                    errors[CONF_CHARGER_IA] = "already_configured"
            model = user_input[CONF_MODEL]
            updates = {
                **MODEL_DEFAULTS[model],
                "phase_connection": user_input["phase_connection"],
                "ocpp_mode": user_input["ocpp_mode"],
            }
            if MODEL_DEFAULTS[model]["phases"] == 3:
                updates["load_balancing"] = False  # not available on three-phase models (ETS hides it)
            layout: Layout = {None: (CONF_MODEL, "phase_connection", "ocpp_mode")}
            errors = (
                self._validate(updates, layout, {"phases": CONF_MODEL, "connectors": CONF_MODEL}) | errors
            )
            if not errors:
                self._device = {
                    CONF_NAME: user_input[CONF_NAME].strip(),
                    CONF_CHARGER_IA: address,
                    CONF_MODEL: model,
                }
                return await self.async_step_general()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values.get(CONF_NAME) or vol.UNDEFINED): _TEXT,
                vol.Required(CONF_CHARGER_IA, default=values.get(CONF_CHARGER_IA) or vol.UNDEFINED): _TEXT,
                vol.Required(CONF_MODEL, default=values.get(CONF_MODEL) or vol.UNDEFINED): _select(
                    "model", MODELS
                ),
                vol.Required("phase_connection", default=values["phase_connection"]): _SELECTORS[
                    "phase_connection"
                ],
                vol.Required("ocpp_mode", default=values["ocpp_mode"]): _BOOL,
            }
        )
        return self.async_show_form(step_id="charger", data_schema=schema, errors=errors)

    def _general_layout(self) -> Layout:
        layout: Layout = {None: ("delay_at_start",)}
        if not self._params["ocpp_mode"]:  # OCPP mode hides these pages' sections, as in ETS
            layout |= {
                "charging_session": ("max_session_time", "auto_disconnect", "auto_start"),
                "installation": ("contracted_power", "max_user_current"),
                "limits": ("limit_by_power", CONF_INITIAL_POWER_LIMIT, CONF_INITIAL_CURRENT_LIMIT),
            }
            if self._params["phases"] == 1:  # ETS offers load balancing on single-phase models only
                layout["dynamic_load_balancing"] = ("load_balancing",)
        return layout

    async def async_step_general(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "General": delay at start, charging session time, installation, limits, balancing."""
        layout = self._general_layout()
        by_power = self._params["limit_by_power"]
        values = {
            **self._params,
            CONF_INITIAL_POWER_LIMIT: self._params["initial_limit"] if by_power else 7400.0,
            CONF_INITIAL_CURRENT_LIMIT: self._params["max_user_current"]
            if by_power
            else self._params["initial_limit"],
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = _flatten(layout, user_input)
            values |= updates
            if "limit_by_power" in updates:
                by_power = updates["limit_by_power"]
                updates["initial_limit"] = updates.pop(
                    CONF_INITIAL_POWER_LIMIT if by_power else CONF_INITIAL_CURRENT_LIMIT
                )
                updates.pop(CONF_INITIAL_CURRENT_LIMIT if by_power else CONF_INITIAL_POWER_LIMIT)
            alias = {"initial_limit": CONF_INITIAL_POWER_LIMIT if by_power else CONF_INITIAL_CURRENT_LIMIT}
            if not (errors := self._validate(updates, layout, alias)):
                return await self.async_step_status_sending()
        return self._show("general", layout, values, errors)

    async def async_step_status_sending(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Status Sending": mode, value change and period per status group."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := self._validate(_flatten(_STATUS_LAYOUT, user_input), _STATUS_LAYOUT, {})
        ):
            return await self.async_step_advanced()
        return self._show(
            "status_sending",
            _STATUS_LAYOUT,
            {**self._params, **_flatten(_STATUS_LAYOUT, user_input or {})},
            errors,
        )

    async def async_step_advanced(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Advanced": RFIDTag, reset, error, session and block objects; fail-safe."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := self._validate(_flatten(_ADVANCED_LAYOUT, user_input), _ADVANCED_LAYOUT, {})
        ):
            return await self.async_step_connector_1()
        return self._show(
            "advanced",
            _ADVANCED_LAYOUT,
            {**self._params, **_flatten(_ADVANCED_LAYOUT, user_input or {})},
            errors,
        )

    async def _connector(self, n: int, user_input: dict[str, Any] | None) -> SubentryFlowResult:
        prefix = f"conn{n}_"
        values = {
            key.removeprefix(prefix): value for key, value in self._params.items() if key.startswith(prefix)
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = _flatten(_CONNECTOR_LAYOUT, user_input)
            values |= updates
            aliases = {prefix + key: key for key in updates}
            if not (
                errors := self._validate(
                    {prefix + k: v for k, v in updates.items()}, _CONNECTOR_LAYOUT, aliases
                )
            ):
                if n == 1 and self._params["connectors"] == 2:
                    return await self.async_step_connector_2()
                if ChargerParameters.from_dict(self._params).balancing_enabled:
                    return await self.async_step_load_balancing()
                return await self.async_step_group_addresses()
        return self._show(f"connector_{n}", _CONNECTOR_LAYOUT, values, errors)

    async def async_step_connector_1(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Connector 1": initial active power limit, charging status and enabled objects."""
        return await self._connector(1, user_input)

    async def async_step_connector_2(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Connector 2" (two-connector models)."""
        return await self._connector(2, user_input)

    async def async_step_load_balancing(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Load balancing": after bus init, period, current control, margin, EVSEs (1-6)."""
        errors: dict[str, str] = {}
        values = {**self._params, **_flatten(_BALANCING_LAYOUT, user_input or {})}
        if user_input is not None and not (
            errors := self._validate(_flatten(_BALANCING_LAYOUT, user_input), _BALANCING_LAYOUT, {})
        ):
            return await self.async_step_load_balancing_limits()
        return self._show("load_balancing", _BALANCING_LAYOUT, values, errors)

    async def async_step_load_balancing_limits(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Overcurrent protection device (A) or contracted power (W); maximum per EVSE (A or W)."""
        current = self._params["balancing_current_control"]
        count = self._params["balancing_evse_count"]
        maxima = [
            CONF_EVSE_MAX.format(kind="current" if current else "power", n=n) for n in range(1, count + 1)
        ]
        layout: Layout = {
            None: ("balancing_protection_device" if current else "balancing_contracted_power", *maxima)
        }
        stored = list(self._params["balancing_evse_max"]) + [32.0] * MAX_BALANCED_EVSES
        values = {**self._params, **{key: stored[i] for i, key in enumerate(maxima)}, **(user_input or {})}
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {k: v for k, v in user_input.items() if k not in maxima}
            updates["balancing_evse_max"] = [user_input[key] for key in maxima] + stored[
                count:MAX_BALANCED_EVSES
            ]
            if not (errors := self._validate(updates, layout, {})):
                return await self.async_step_group_addresses()
        return self.async_show_form(
            step_id="load_balancing_limits",
            data_schema=vol.Schema(
                {
                    vol.Required(key, default=values[key]): _number("A" if current else "W")
                    for key in layout[None]
                }
            ),
            errors=errors,
            description_placeholders={"name": str(self._device.get(CONF_NAME, ""))},
        )

    # -- Group addresses --------------------------------------------------------------------

    async def async_step_group_addresses(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One or more group addresses per enabled object, the first being the sending address."""
        enabled = sorted(ChargerParameters.from_dict(self._params).enabled_objects())
        typed = {OBJECTS[n].key: ", ".join(self._group_addresses.get(n, [])) for n in enabled}
        errors: dict[str, str] = {}
        details = ""
        if user_input is not None:
            typed = {key: user_input.get(key, "") for key in typed}
            raw = {str(OBJECTS_BY_KEY[key].number): text for key, text in typed.items()}
            try:
                addresses = validate_group_addresses(raw, enabled)
            except GroupAddressError as err:
                errors[OBJECTS[err.object_number].key] = err.reason
                details = str(err)
            else:
                clashes = find_dpt_clashes(addresses, self._project_dpts)
                for number, _address, _other, _manual in clashes:
                    errors.setdefault(OBJECTS[number].key, "dpt_clash")
                details = "; ".join(
                    f"{address}: DPT {other} ≠ {manual} ({OBJECTS[number].name})"
                    for number, address, other, manual in clashes
                )
                shared = status_address_clashes(addresses, self._other_chargers())
                for number, _address, _charger, _theirs in shared:
                    errors.setdefault(OBJECTS[number].key, "status_address_shared")
                details = "; ".join(
                    [details] * bool(details)
                    + [
                        f"{address}: {OBJECTS[number].name} here, {theirs} {OBJECTS[theirs].name} of {charger}"
                        for number, address, charger, theirs in shared
                    ]
                )
                if not errors:
                    self._group_addresses = addresses
                    return await self._async_save()
        schema = vol.Schema(
            {vol.Optional(key, description={"suggested_value": text}): _TEXT for key, text in typed.items()}
        )
        return self.async_show_form(
            step_id="group_addresses",
            data_schema=schema,
            errors=errors,
            description_placeholders={
                "name": str(self._device.get(CONF_NAME, "")),
                "details": details,
            },
        )

    async def _async_save(self) -> SubentryFlowResult:
        """Store the charger: update when reconfiguring, else create (with the rest of an import batch)."""
        data = {
            **self._device,
            CONF_PARAMETERS: self._params,
            CONF_GROUP_ADDRESSES: {str(n): gas for n, gas in sorted(self._group_addresses.items())},
        }
        entry = self._get_entry()
        if (subentry := self._reconfiguring()) is not None:
            update = (
                self.async_update_and_abort if entry.update_listeners else self.async_update_reload_and_abort
            )
            return update(entry, subentry, title=data[CONF_NAME], data=data, unique_id=data[CONF_CHARGER_IA])
        self._done.append(data)
        if self._queue:
            return await self.async_step_knxproj_summary()
        *others, last = self._done
        for done in others:
            self.hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(done),
                    subentry_type=SUBENTRY_CHARGER,
                    title=done[CONF_NAME],
                    unique_id=done[CONF_CHARGER_IA],
                ),
            )
        return self.async_create_entry(title=last[CONF_NAME], data=last, unique_id=last[CONF_CHARGER_IA])

    # -- Import from ETS --------------------------------------------------------------------

    @callback
    def async_remove(self) -> None:
        """Delete a project copy left behind when the flow ends early."""
        self._discard_project()

    def _discard_project(self) -> None:
        if self._project_file is not None:
            shutil.rmtree(self._project_file.parent, ignore_errors=True)
            self._project_file = None

    def _upload_form(self, errors: dict[str, str]) -> SubentryFlowResult:
        return self.async_show_form(
            step_id="knxproj",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PROJECT_FILE): selector.FileSelector(
                        selector.FileSelectorConfig(accept=".knxproj")
                    ),
                    vol.Optional(CONF_PASSWORD): _PASSWORD,
                }
            ),
            errors=errors,
            description_placeholders={"searched_for": SEARCHED_FOR},
        )

    async def async_step_knxproj(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Upload an ETS project (.knxproj) and give its password if it has one."""
        if user_input is None:
            return self._upload_form({})

        def take_upload(file_id: str) -> Path:
            """Move the upload out of file_upload's folder so a wrong password needs no new upload."""
            with process_uploaded_file(self.hass, file_id) as path:
                target = Path(tempfile.mkdtemp(prefix="knx_evse_")) / "project.knxproj"
                shutil.move(path, target)
            return target

        self._discard_project()
        try:
            self._project_file = await self.hass.async_add_executor_job(
                take_upload, user_input[CONF_PROJECT_FILE]
            )
        except ValueError:  # unknown or expired upload
            return self._upload_form({CONF_PROJECT_FILE: "invalid_project"})
        return await self._async_parse(user_input.get(CONF_PASSWORD))

    async def async_step_knxproj_password(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask (again) for the password of a protected project; the upload is kept meanwhile."""
        return await self._async_parse(user_input[CONF_PASSWORD] if user_input else None)

    async def _async_parse(self, password: str | None) -> SubentryFlowResult:
        assert self._project_file is not None
        try:
            project = await self.hass.async_add_executor_job(parse_project, self._project_file, password)
        except ProjectError as err:
            if err.reason == "invalid_password":
                return self.async_show_form(
                    step_id="knxproj_password",
                    data_schema=vol.Schema({vol.Required(CONF_PASSWORD): _PASSWORD}),
                    errors={CONF_PASSWORD: "invalid_password"} if password else {},
                )
            await self.hass.async_add_executor_job(self._discard_project)
            return self._upload_form({CONF_PROJECT_FILE: "invalid_project"})
        await self.hass.async_add_executor_job(self._discard_project)
        chargers = find_chargers(project)
        if not chargers:
            return self._upload_form({CONF_PROJECT_FILE: "no_charger_found"})
        self._found = {charger.individual_address: charger for charger in chargers}
        self._project_dpts = project_dpts(project)
        return await self.async_step_knxproj_select()

    async def async_step_knxproj_select(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick one or several of the chargers found in the project."""
        errors: dict[str, str] = {}
        taken = self._taken_addresses()
        if user_input is not None:
            chosen = user_input[CONF_CHARGERS]
            if not chosen:
                errors[CONF_CHARGERS] = "no_charger_selected"
            elif any(address in taken for address in chosen):
                errors[CONF_CHARGERS] = "already_configured"
            else:
                self._queue = [self._found[address] for address in chosen]
                return await self.async_step_knxproj_summary()
        options = [
            selector.SelectOptionDict(
                value=address,
                label=f"{address} – {charger.name} ({charger.model or charger.product or '?'})"
                f"{' ✔' if address in taken else ''}",
            )
            for address, charger in self._found.items()
        ]
        return self.async_show_form(
            step_id="knxproj_select",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_CHARGERS, default=[a for a in self._found if a not in taken][:1]
                    ): selector.SelectSelector(
                        selector.SelectSelectorConfig(
                            options=options, multiple=True, mode=selector.SelectSelectorMode.LIST
                        )
                    )
                }
            ),
            errors=errors,
            description_placeholders={"count": str(len(self._found))},
        )

    async def async_step_knxproj_summary(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show what the project maps for the next charger; confirm its name and (derived) model."""
        charger = self._queue[0]
        model: str | None = user_input[CONF_MODEL] if user_input else self._summary_model or charger.model
        errors: dict[str, str] = {}
        placeholders = {
            "name": charger.name,
            "address": charger.individual_address,
            "matched": charger.order_number or charger.product
            if charger.matched_by == "product"
            else "object names",
            "derived": charger.model or "-",
            "mapped": "-",
            "not_linked": "-",
            "ignored": "-",
            "clashes": "-",
        }
        params: ChargerParameters | None = None
        if model is not None:
            derived = {**ChargerParameters.from_dict({}).as_dict(), **derive_parameters(charger.links, model)}
            try:
                params = ChargerParameters.from_dict(derived)
            except vol.Invalid as err:
                errors[CONF_MODEL] = _ERROR_KEYS.get(
                    str(err.path[0]) if err.path else "", "value_out_of_range"
                )
        summary = None
        if params is not None:
            summary = summarize(charger.links, params, self._project_dpts)

            def names(numbers: Iterable[int]) -> str:
                return ", ".join(f"{n} {OBJECTS[n].name}" for n in numbers) or "-"

            placeholders |= {
                "mapped": "\n".join(
                    f"- {n} {OBJECTS[n].name}: {', '.join(charger.links[n])}" for n in summary.mapped
                )
                or "-",
                "not_linked": names(summary.not_linked),
                "ignored": names(summary.ignored),
                "clashes": "; ".join(
                    f"{address} (DPT {other}) on {n} {OBJECTS[n].name} (DPT {manual})"
                    for n, address, other, manual in summary.dpt_clashes
                )
                or "-",
            }
        placeholders["details"] = placeholders["clashes"]
        if (
            user_input is not None
            and model == self._summary_model
            and summary is not None
            and params is not None
        ):
            if summary.dpt_clashes and not user_input[CONF_DROP_CLASHES]:
                errors[CONF_DROP_CLASHES] = "dpt_clash"
            else:
                clashing = {(n, address) for n, address, _other, _manual in summary.dpt_clashes}
                self._queue.pop(0)
                self._summary_model = None
                self._device = {
                    CONF_NAME: user_input[CONF_NAME].strip(),
                    CONF_CHARGER_IA: charger.individual_address,
                    CONF_MODEL: model,
                }
                self._params = params.as_dict()
                self._group_addresses = {
                    n: kept
                    for n in summary.mapped
                    if (kept := [a for a in charger.links[n] if (n, a) not in clashing])
                }
                if user_input[CONF_REVIEW]:
                    return await self.async_step_charger()
                return await self.async_step_group_addresses()
        self._summary_model = model
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=(user_input or {}).get(CONF_NAME, charger.name)): _TEXT,
                vol.Required(CONF_MODEL, default=model or vol.UNDEFINED): _select("model", MODELS),
                vol.Required(CONF_DROP_CLASHES, default=False): _BOOL,
                vol.Required(CONF_REVIEW, default=False): _BOOL,
            }
        )
        return self.async_show_form(
            step_id="knxproj_summary",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )


SUBENTRY_FLOWS: dict[str, type[ConfigSubentryFlow]] = {
    SUBENTRY_CHARGER: ChargerSubentryFlow,
    SUBENTRY_BALANCING: BalancingGroupSubentryFlow,  # balancing_flow.py
}
"""Subentry type → flow. The balancing-group flow registers here too (``SUBENTRY_BALANCING``)."""
