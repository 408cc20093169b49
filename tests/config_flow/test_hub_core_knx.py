"""Hub config flow with Home Assistant's KNX integration (core knx): share its connection, at most once."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.storage import STORAGE_DIR

from custom_components.knx_evse.config_flow import hub, hub_base
from custom_components.knx_evse.config_flow.hub import CONF_TUNNELING_TYPE
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DOMAIN,
)
from tests.config_flow.helpers import check_translations, hub_entry, mock_setup
from tests.core_knx_harness import CoreKnxTestKit

pytestmark = pytest.mark.usefixtures("check_translations", "mock_setup", "no_gateways")
__all__ = ["check_translations", "mock_setup"]


@pytest.fixture
def no_gateways() -> Generator[None]:
    """The gateway scan finds nothing."""
    with patch.object(hub, "GatewayScanner") as scanner:
        scanner.return_value.scan = AsyncMock(return_value=[])
        yield


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*"))


async def _start(hass: HomeAssistant) -> dict:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})


def _options(result: dict) -> list[str]:
    return list(result["data_schema"].schema[CONF_KNX_CONNECTION_TYPE].config["options"])


def _default(result: dict) -> str:
    return next(str(k.default()) for k in result["data_schema"].schema if str(k) == CONF_KNX_CONNECTION_TYPE)


async def test_offered_first_and_created_without_host_or_keyring(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    result = await _start(hass)
    assert _options(result) == [CONF_KNX_CORE, CONF_KNX_TUNNELING, CONF_KNX_ROUTING]
    assert _default(result) == CONF_KNX_CORE
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE}
    assert result["title"] == "KNX integration"
    assert result["result"].unique_id == CONF_KNX_CORE


async def test_not_offered_while_core_knx_is_not_loaded(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    await core_knx.unload_core_knx()
    result = await _start(hass)
    assert _options(result) == [CONF_KNX_TUNNELING, CONF_KNX_ROUTING]
    assert _default(result) == CONF_KNX_TUNNELING


async def test_core_knx_unloaded_before_submit_is_an_error(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    result = await _start(hass)
    await core_knx.unload_core_knx()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "core_knx_not_loaded"}
    assert CONF_KNX_CORE not in _options(result)


async def test_a_second_hub_on_core_knx_is_refused(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    hub_entry(hass, **{CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "core_knx_in_use"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_reconfigure_a_secure_tunnel_hub_onto_core_knx_drops_host_and_keyring(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    keyfile = _write(Path(hass.config.path(STORAGE_DIR, "knx_evse", "site.knxkeys")), "<Keyring/>")
    entry = hub_entry(
        hass,
        **{CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE, CONF_KNX_KNXKEY_FILENAME: "knx_evse/site.knxkeys"},
    )
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU  # a secure hub may also only replace its keyring
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "user"})
    assert CONF_KNX_CORE in _options(result)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE}
    assert entry.unique_id == CONF_KNX_CORE
    assert entry.title == "KNX integration"
    assert not _files(keyfile.parent)  # the keyring was the hub's secret


async def test_reconfigure_a_core_knx_hub(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    entry = hub_entry(hass, **{CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    # keeping core knx's connection is no second hub on it
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "user"
    assert _default(result) == CONF_KNX_CORE
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE})
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE}

    # onto a tunnel of its own: the usual defaults come back with the tunnel's settings
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING})
    assert result["step_id"] == "manual_tunnel"
    with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING, CONF_HOST: "192.168.1.30", CONF_PORT: 3671, CONF_KNX_ROUTE_BACK: False},
        )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING
    assert entry.data[CONF_HOST] == "192.168.1.30"
    assert entry.data[CONF_KNX_INDIVIDUAL_ADDRESS] == "0.0.240"
    assert entry.data[CONF_KNX_LOCAL_IP] is None
    assert entry.unique_id == "tunnel:192.168.1.30:3671"
