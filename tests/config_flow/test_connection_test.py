"""Connection test of the hub flow: xknx errors become translated error keys; the stored keyring is used."""

from __future__ import annotations

from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import STORAGE_DIR
from xknx.exceptions import CommunicationError, InvalidSecureConfiguration
from xknx.knxip import ErrorCode

from custom_components.knx_evse.config_flow import connection_test
from custom_components.knx_evse.config_flow.connection_test import async_test_connection
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP,
    CONF_PORT,
)

_UDP = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING, CONF_HOST: "192.168.1.10", CONF_PORT: 3671}


def _no_slot_v4() -> CommunicationError:
    """xknx 4: the KNXnet/IP status is the cause's error_code."""
    try:
        from xknx.exceptions import RequestResponseError
    except ImportError:  # xknx 3.14
        cause = CommunicationError("ConnectRequest failed. Status code: ErrorCode.E_NO_MORE_CONNECTIONS")
    else:
        cause = RequestResponseError("error in ConnectResponse", error_code=ErrorCode.E_NO_MORE_CONNECTIONS)
    err = CommunicationError("Tunnel connection could not be established")
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, None),
        (_no_slot_v4(), "no_tunnel_slot"),
        (
            CommunicationError("ConnectRequest failed. Status code: ErrorCode.E_NO_MORE_CONNECTIONS"),
            "no_tunnel_slot",
        ),
        (CommunicationError("Tunnel connection could not be established"), "cannot_connect"),
        (InvalidSecureConfiguration("bad"), "invalid_secure_configuration"),
        (OSError("network unreachable"), "cannot_connect"),
        (TimeoutError(), "cannot_connect"),
    ],
)
async def test_connection_test_results(
    hass: HomeAssistant, error: Exception | None, expected: str | None
) -> None:
    with (
        patch("xknx.XKNX.start", AsyncMock(side_effect=error)) as start,
        patch("xknx.XKNX.stop", AsyncMock()) as stop,
    ):
        assert await async_test_connection(hass, _UDP) == expected
    start.assert_awaited_once()
    stop.assert_awaited_once()  # always disconnects


async def test_connection_test_uses_the_stored_keyring(hass: HomeAssistant) -> None:
    data = {**_UDP, CONF_KNX_KNXKEY_FILENAME: "knx_evse/k.knxkeys", CONF_KNX_KNXKEY_PASSWORD: "pw"}
    with (
        patch.object(connection_test, "XKNX") as xknx_class,
    ):
        xknx_class.return_value.start = AsyncMock()
        xknx_class.return_value.stop = AsyncMock()
        assert await async_test_connection(hass, data) is None
    config = xknx_class.call_args.kwargs["connection_config"]
    assert config.auto_reconnect is False
    assert config.secure_config.knxkeys_file_path == hass.config.path(STORAGE_DIR, "knx_evse", "k.knxkeys")
    assert config.secure_config.knxkeys_password == "pw"


@pytest.mark.usefixtures("socket_enabled")
async def test_connection_test_against_nothing(hass: HomeAssistant) -> None:
    """A real xknx connection attempt to a closed local port fails as cannot_connect."""
    tcp = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP, CONF_HOST: "127.0.0.1", CONF_PORT: 9}
    assert await async_test_connection(hass, tcp) == "cannot_connect"
