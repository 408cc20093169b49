"""Reauthentication of a hub whose KNX Secure credentials were rejected at set-up.

Home Assistant starts it when set-up raises ``ConfigEntryAuthFailed``. It asks only for the secrets the
hub uses (a new keyring and its password, the secure tunnel's credentials, or the backbone key), tests
the connection and reloads the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import (
    ConfigFlowResult,
)
from homeassistant.helpers import selector
from xknx.secure.keyring import InterfaceType

from ..compat import vol
from ..const import (
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING_TCP_SECURE,
)
from .hub_base import CONF_KEYRING_FILE, HubFlowBase
from .secure import backbone_key_update
from .selectors import PASSWORD, int_box

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


class ReauthSteps(HubFlowBase):
    """Reauthentication steps of the hub flow."""

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
                update = backbone_key_update(user_input, errors)
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
                vol.Required(CONF_KNX_KNXKEY_PASSWORD): PASSWORD,
            }
        elif kind == _ROUTING_KEY:
            fields = {
                vol.Required(CONF_KNX_ROUTING_BACKBONE_KEY): PASSWORD,
                vol.Required(
                    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
                    default=self._initial.get(CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE) or 1000,
                ): int_box(400, 4000, "ms"),
            }
        else:
            fields = {
                vol.Required(
                    CONF_KNX_SECURE_USER_ID, default=self._initial.get(CONF_KNX_SECURE_USER_ID) or 2
                ): int_box(1, 127),
                vol.Required(CONF_KNX_SECURE_USER_PASSWORD): PASSWORD,
                vol.Required(CONF_KNX_SECURE_DEVICE_AUTHENTICATION): PASSWORD,
            }
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={"hub": self._get_reauth_entry().title},
        )

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
