"""KNX Secure steps of the hub flow: a ``.knxkeys`` upload or credentials typed by hand.

Secure tunnelling needs a keyring (then pick its tunnel interface) or the user ID, user password and
device authentication code; secure routing needs a keyring with a backbone key or the key itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigFlowResult,
)
from homeassistant.helpers import selector
from xknx.secure.keyring import InterfaceType

from ..compat import vol
from ..const import (
    CONF_KNX_AUTOMATIC,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
)
from .hub_base import CONF_KEYRING_FILE, NO_CREDENTIALS, ROUTING_TYPES, HubFlowBase
from .selectors import PASSWORD, int_box, option_list


def backbone_key_update(user_input: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
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


class SecureSteps(HubFlowBase):
    """Secure tunnelling and secure routing steps of the hub flow."""

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
            ): int_box(1, 127),
            vol.Required(
                CONF_KNX_SECURE_USER_PASSWORD,
                default=self._initial.get(CONF_KNX_SECURE_USER_PASSWORD) or vol.UNDEFINED,
            ): PASSWORD,
            vol.Required(
                CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
                default=self._initial.get(CONF_KNX_SECURE_DEVICE_AUTHENTICATION) or vol.UNDEFINED,
            ): PASSWORD,
        }
        return self.async_show_form(
            step_id="secure_tunnel_manual", data_schema=vol.Schema(fields), errors=errors
        )

    async def async_step_secure_routing_manual(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Backbone key (32 hex digits) and latency tolerance of secure routing."""
        errors: dict[str, str] = {}
        if user_input is not None and (update := backbone_key_update(user_input, errors)) is not None:
            self._data |= {**update, CONF_KNX_KNXKEY_FILENAME: None, CONF_KNX_KNXKEY_PASSWORD: None}
            if (result := await self._async_finish(errors)) is not None:
                return result
        fields = {
            vol.Required(
                CONF_KNX_ROUTING_BACKBONE_KEY,
                default=self._initial.get(CONF_KNX_ROUTING_BACKBONE_KEY) or vol.UNDEFINED,
            ): PASSWORD,
            vol.Required(
                CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
                default=self._initial.get(CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE) or 1000,
            ): int_box(400, 4000, "ms"),
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
            if self._connection_type not in ROUTING_TYPES:
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
            ): PASSWORD,
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
                **NO_CREDENTIALS,
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
                    vol.Required(CONF_KNX_TUNNEL_ENDPOINT_IA, default=default): option_list(options)
                }
            ),
            errors=errors,
            description_placeholders={"host": str(host) if host else "-"},
        )
