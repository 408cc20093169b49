"""Hub flow steps: choose the KNX connection, or reconfigure it.

Modelled on core ``knx``'s config flow, with the same connection types and data keys: automatic
(offered when a gateway answers the scan), UDP/TCP tunnelling to a discovered or typed gateway, and
routing; secure tunnelling and secure routing continue in ``secure.py``. When core ``knx`` is loaded,
the hub may instead share its connection (``core_knx``, offered first): no gateway, no keyring, and
at most one such hub.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import (
    ConfigFlowResult,
)
from homeassistant.helpers import selector
from xknx import XKNX
from xknx.exceptions.exception import CouldNotParseAddress, XKNXException
from xknx.io.gateway_scanner import GatewayDescriptor, GatewayScanner
from xknx.io.util import validate_ip
from xknx.telegram.address import IndividualAddress

from ..compat import vol
from ..const import (
    CONF_HOST,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_MCAST_GRP,
    CONF_KNX_MCAST_PORT,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DEFAULT_MCAST_GRP,
    DEFAULT_MCAST_PORT,
    DEFAULT_ROUTING_IA,
)
from ..knx.core_link import core_knx_entry
from .hub_base import NO_CREDENTIALS, ROUTING_TYPES, TUNNEL_TYPES
from .reauth import ReauthSteps
from .secure import SecureSteps
from .selectors import BOOLEAN, TEXT, int_box, option_list, select

CONF_GATEWAY: Final = "gateway"
SECURE_TYPES: Final = (CONF_KNX_TUNNELING_TCP_SECURE, CONF_KNX_ROUTING_SECURE)
"""Connection types that use KNX Secure keys: only their hubs are offered a keyring replacement."""
CONF_TUNNELING_TYPE: Final = "tunneling_type"
OPTION_MANUAL: Final = "manual"
SCAN_TIMEOUT: Final = 2.0
"""s the gateway scan of the first step waits for KNXnet/IP search responses."""


async def _async_ip(text: str, multicast: bool = False) -> str | None:
    """Return the IPv4 address ``text`` (address, adapter or host name) resolves to; None when invalid."""
    try:
        address = ipaddress.IPv4Address(await validate_ip(text))
    except (XKNXException, ValueError):
        return None
    return str(address) if address.is_multicast == multicast else None


async def _async_local_ip(user_input: Mapping[str, Any], errors: dict[str, str]) -> str | None:
    """Return the form's optional local IP; sets the field's error when it does not resolve to IPv4."""
    local: str | None = user_input.get(CONF_KNX_LOCAL_IP)
    if local and await _async_ip(local) is None:
        errors[CONF_KNX_LOCAL_IP] = "invalid_ip_address"
    return local


def _tunnel_type(gateway: GatewayDescriptor) -> str:
    """Return the connection type of tunnelling to a discovered gateway: secure TCP, TCP or UDP."""
    if gateway.tunnelling_requires_secure:
        return CONF_KNX_TUNNELING_TCP_SECURE
    return CONF_KNX_TUNNELING_TCP if gateway.supports_tunnelling_tcp else CONF_KNX_TUNNELING


class HubFlow(ReauthSteps, SecureSteps):
    """Connection steps of the hub flow: user → tunnel / manual_tunnel / routing (→ secure steps)."""

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the connection; a secure hub may instead only replace its keyring file."""
        self._initial = dict(self._get_reconfigure_entry().data)
        if self._initial.get(CONF_KNX_CONNECTION_TYPE) not in SECURE_TYPES:
            return await self.async_step_user()
        return self.async_show_menu(step_id="reconfigure", menu_options=["user", "secure_knxkeys"])

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose core knx's connection (when it is loaded), automatic (when a gateway answered the scan), tunnelling or routing."""
        errors: dict[str, str] = {}
        if user_input is not None:
            kind = user_input[CONF_KNX_CONNECTION_TYPE]
            if kind == CONF_KNX_TUNNELING:
                return await self.async_step_tunnel()
            if kind == CONF_KNX_ROUTING:
                return await self.async_step_routing()
            if kind == CONF_KNX_CORE:
                if self._core_knx_hub_exists():
                    return self.async_abort(reason="core_knx_in_use")
                self._data = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE}
            else:
                self._data = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC, **NO_CREDENTIALS}
            if (result := await self._async_finish(errors)) is not None:
                return result
        else:
            self._gateways = await GatewayScanner(XKNX(), timeout_in_seconds=SCAN_TIMEOUT).scan()
        options = [CONF_KNX_CORE] if core_knx_entry(self.hass) is not None else []
        options += [CONF_KNX_AUTOMATIC] if self._gateways else []
        options += [CONF_KNX_TUNNELING, CONF_KNX_ROUTING]
        current = self._initial.get(CONF_KNX_CONNECTION_TYPE)
        default = (
            CONF_KNX_TUNNELING
            if current in TUNNEL_TYPES
            else CONF_KNX_ROUTING
            if current in ROUTING_TYPES
            else current
            if current in options
            else options[0]
        )
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {vol.Required(CONF_KNX_CONNECTION_TYPE, default=default): select("connection_type", options)}
            ),
            errors=errors,
            description_placeholders={
                "gateways": "\n".join(f"- {gateway}" for gateway in self._gateways) or "-",
            },
        )

    def _core_knx_hub_exists(self) -> bool:
        """Tell whether another hub already uses core knx's connection (one per Home Assistant)."""
        entry = self._existing_entry()
        return any(
            other.data.get(CONF_KNX_CONNECTION_TYPE) == CONF_KNX_CORE and other is not entry
            for other in self._async_current_entries(include_ignore=False)
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
            kind = _tunnel_type(gateway)
            self._data = {
                CONF_KNX_CONNECTION_TYPE: kind,
                CONF_HOST: gateway.ip_addr,
                CONF_PORT: gateway.port,
                CONF_KNX_ROUTE_BACK: False,
                CONF_KNX_LOCAL_IP: None,
                **NO_CREDENTIALS,
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
                    vol.Required(CONF_GATEWAY, default=default): option_list(options)
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
            local = await _async_local_ip(user_input, errors)
            if not errors:
                kind = user_input[CONF_TUNNELING_TYPE]
                self._data = {
                    CONF_KNX_CONNECTION_TYPE: kind,
                    CONF_HOST: user_input[CONF_HOST],
                    CONF_PORT: user_input[CONF_PORT],
                    CONF_KNX_ROUTE_BACK: user_input[CONF_KNX_ROUTE_BACK],
                    CONF_KNX_LOCAL_IP: local or None,
                    **NO_CREDENTIALS,
                }
                if kind == CONF_KNX_TUNNELING_TCP_SECURE:
                    return await self.async_step_secure_key_source_menu_tunnel()
                if (result := await self._async_finish(errors)) is not None:
                    return result
        elif self._selected is not None and self._initial.get(CONF_KNX_CONNECTION_TYPE) not in TUNNEL_TYPES:
            gateway = self._selected
            values = {
                CONF_HOST: gateway.ip_addr,
                CONF_PORT: gateway.port,
                CONF_TUNNELING_TYPE: _tunnel_type(gateway),
            }
        else:
            values = {**self._initial}
            if self._initial.get(CONF_KNX_CONNECTION_TYPE) in TUNNEL_TYPES:
                values[CONF_TUNNELING_TYPE] = self._initial[CONF_KNX_CONNECTION_TYPE]
        fields = {
            vol.Required(
                CONF_TUNNELING_TYPE, default=values.get(CONF_TUNNELING_TYPE, CONF_KNX_TUNNELING)
            ): select("tunneling_type", TUNNEL_TYPES),
            vol.Required(CONF_HOST, default=values.get(CONF_HOST) or vol.UNDEFINED): TEXT,
            vol.Required(CONF_PORT, default=values.get(CONF_PORT, DEFAULT_MCAST_PORT)): int_box(1, 65535),
            vol.Required(CONF_KNX_ROUTE_BACK, default=bool(values.get(CONF_KNX_ROUTE_BACK, False))): BOOLEAN,
            vol.Optional(
                CONF_KNX_LOCAL_IP, description={"suggested_value": values.get(CONF_KNX_LOCAL_IP)}
            ): TEXT,
        }
        return self.async_show_form(step_id="manual_tunnel", data_schema=vol.Schema(fields), errors=errors)

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
            local = await _async_local_ip(user_input, errors)
            if not errors:
                secure = user_input[CONF_KNX_ROUTING_SECURE]
                self._data = {
                    CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING_SECURE if secure else CONF_KNX_ROUTING,
                    CONF_KNX_INDIVIDUAL_ADDRESS: user_input[CONF_KNX_INDIVIDUAL_ADDRESS],
                    CONF_KNX_MCAST_GRP: user_input[CONF_KNX_MCAST_GRP],
                    CONF_KNX_MCAST_PORT: user_input[CONF_KNX_MCAST_PORT],
                    CONF_KNX_LOCAL_IP: local or None,
                    **NO_CREDENTIALS,
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
            ): TEXT,
            vol.Required(CONF_KNX_ROUTING_SECURE, default=bool(secure_default)): BOOLEAN,
            vol.Required(
                CONF_KNX_MCAST_GRP, default=values.get(CONF_KNX_MCAST_GRP, DEFAULT_MCAST_GRP)
            ): TEXT,
            vol.Required(
                CONF_KNX_MCAST_PORT, default=values.get(CONF_KNX_MCAST_PORT, DEFAULT_MCAST_PORT)
            ): int_box(1, 65535),
            vol.Optional(
                CONF_KNX_LOCAL_IP, description={"suggested_value": values.get(CONF_KNX_LOCAL_IP)}
            ): TEXT,
        }
        return self.async_show_form(
            step_id="routing",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"routers": "\n".join(f"- {r}" for r in routers) or "-"},
        )
