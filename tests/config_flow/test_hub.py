"""Hub config flow: every connection type, its errors, uniqueness and reconfigure."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.storage import STORAGE_DIR
from xknx.io.gateway_scanner import GatewayDescriptor
from xknx.telegram.address import IndividualAddress

from custom_components.knx_evse.config_flow import hub, hub_base
from custom_components.knx_evse.config_flow.hub import CONF_GATEWAY, CONF_TUNNELING_TYPE, OPTION_MANUAL
from custom_components.knx_evse.config_flow.hub_base import CONF_KEYRING_FILE, hub_title, hub_unique_id
from custom_components.knx_evse.const import (
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
    CONF_PORT,
    DOMAIN,
)
from tests.config_flow.helpers import (
    check_translations,
    config_dir,
    hub_entry,
    make_knxkeys,
    mock_setup,
    upload,
)

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]

BACKBONE = bytes(range(16))


def _gateway(
    ip: str,
    name: str,
    address: str,
    *,
    tcp: bool = False,
    secure: bool = False,
    routing: bool = False,
    tunnelling: bool = True,
) -> GatewayDescriptor:
    gateway = GatewayDescriptor(
        ip_addr=ip,
        port=3671,
        name=name,
        supports_tunnelling=tunnelling,
        supports_tunnelling_tcp=tcp,
        supports_routing=routing,
        individual_address=IndividualAddress(address),
    )
    gateway.tunnelling_requires_secure = secure
    gateway.routing_requires_secure = secure and routing
    return gateway


UDP_GW = _gateway("192.168.1.20", "Old IP interface", "1.0.1")
TCP_GW = _gateway("192.168.1.21", "IP interface", "1.0.2", tcp=True)
SECURE_GW = _gateway("192.168.1.22", "Secure interface", "1.0.0", tcp=True, secure=True)
ROUTER = _gateway("192.168.1.23", "Secure router", "1.0.3", routing=True, secure=True, tunnelling=False)


@pytest.fixture
def gateways() -> Generator[list[GatewayDescriptor]]:
    """What the gateway scan finds (empty unless a test adds gateways)."""
    found: list[GatewayDescriptor] = []
    with patch.object(hub, "GatewayScanner") as scanner:
        scanner.return_value.scan = AsyncMock(side_effect=lambda: list(found))
        yield found


@pytest.fixture
def connection() -> Generator[AsyncMock]:
    """The connection test; returns None (success) unless a test sets an error key."""
    with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)) as test:
        yield test


async def _start(hass: HomeAssistant) -> dict:
    return await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})


def _files(folder: Path, pattern: str = "*") -> list[Path]:
    return sorted(folder.glob(pattern))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _keyfile(hass: HomeAssistant, data: dict) -> Path:
    return Path(hass.config.path(STORAGE_DIR, data[CONF_KNX_KNXKEY_FILENAME]))


# -- plain tunnelling ----------------------------------------------------------------------------


async def test_manual_udp_tunnel_with_errors_then_created(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    result = await _start(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    options = result["data_schema"].schema[CONF_KNX_CONNECTION_TYPE].config["options"]
    assert options == [CONF_KNX_TUNNELING, CONF_KNX_ROUTING]  # no gateway answered: no automatic

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    assert result["step_id"] == "manual_tunnel"  # nothing discovered: straight to manual

    bad = {
        CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING,
        CONF_HOST: "224.0.23.12",
        CONF_PORT: 3671,
        CONF_KNX_ROUTE_BACK: True,
        CONF_KNX_LOCAL_IP: "999.1.1.1.1",
    }
    with patch.object(hub, "validate_ip", AsyncMock(side_effect=lambda text: text)):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["errors"] == {CONF_HOST: "invalid_ip_address", CONF_KNX_LOCAL_IP: "invalid_ip_address"}
    connection.assert_not_awaited()

    good = {**bad, CONF_HOST: "192.168.1.10", CONF_KNX_LOCAL_IP: "192.168.1.2"}
    connection.return_value = "cannot_connect"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["step_id"] == "manual_tunnel"
    assert result["errors"] == {"base": "cannot_connect"}

    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Tunneling UDP @ 192.168.1.10"
    data = result["data"]
    assert data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING
    assert data[CONF_HOST] == "192.168.1.10"
    assert data[CONF_PORT] == 3671
    assert data[CONF_KNX_ROUTE_BACK] is True
    assert data[CONF_KNX_LOCAL_IP] == "192.168.1.2"
    assert data[CONF_KNX_MCAST_GRP] == "224.0.23.12"  # defaults every hub carries
    assert result["result"].unique_id == "tunnel:192.168.1.10:3671"
    tested = connection.await_args.args[1]
    assert tested[CONF_HOST] == "192.168.1.10"


async def test_host_name_is_resolved(hass: HomeAssistant, gateways: list, connection: AsyncMock) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    with patch.object(hub, "validate_ip", AsyncMock(return_value="192.168.1.30")) as resolve:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING_TCP,
                CONF_HOST: "knx-gw.local",
                CONF_PORT: 3671,
                CONF_KNX_ROUTE_BACK: False,
            },
        )
    resolve.assert_awaited_with("knx-gw.local")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Tunneling TCP @ knx-gw.local"
    assert result["data"][CONF_KNX_LOCAL_IP] is None


async def test_unresolvable_host(hass: HomeAssistant, gateways: list, connection: AsyncMock) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    from xknx.exceptions import XKNXException

    with patch.object(hub, "validate_ip", AsyncMock(side_effect=XKNXException("no such host"))):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING,
                CONF_HOST: "nowhere",
                CONF_PORT: 3671,
                CONF_KNX_ROUTE_BACK: False,
            },
        )
    assert result["errors"] == {CONF_HOST: "invalid_ip_address"}


async def test_automatic_with_discovered_gateways(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    gateways.extend([TCP_GW, UDP_GW])
    result = await _start(hass)
    options = result["data_schema"].schema[CONF_KNX_CONNECTION_TYPE].config["options"]
    assert options == [CONF_KNX_AUTOMATIC, CONF_KNX_TUNNELING, CONF_KNX_ROUTING]
    assert str(TCP_GW) in result["description_placeholders"]["gateways"]

    connection.return_value = "no_tunnel_slot"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC}
    )
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "no_tunnel_slot"}

    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Automatic"
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_AUTOMATIC
    assert result["result"].unique_id == CONF_KNX_AUTOMATIC


async def test_discovered_tcp_tunnel(hass: HomeAssistant, gateways: list, connection: AsyncMock) -> None:
    gateways.extend([TCP_GW, UDP_GW, ROUTER])
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    assert result["step_id"] == "tunnel"
    values = [o["value"] for o in result["data_schema"].schema[CONF_GATEWAY].config["options"]]
    assert values == [str(UDP_GW), str(TCP_GW), OPTION_MANUAL]  # by individual address; no router

    connection.return_value = "cannot_connect"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(TCP_GW)})
    assert result["step_id"] == "tunnel"
    assert result["errors"] == {"base": "cannot_connect"}
    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(TCP_GW)})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING_TCP
    assert result["data"][CONF_HOST] == "192.168.1.21"
    assert result["title"] == "Tunneling TCP @ 192.168.1.21"


async def test_discovered_udp_tunnel(hass: HomeAssistant, gateways: list, connection: AsyncMock) -> None:
    gateways.append(UDP_GW)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(UDP_GW)})
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING


async def test_manual_entry_prefilled_from_discovery(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    gateways.append(SECURE_GW)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: OPTION_MANUAL})
    assert result["step_id"] == "manual_tunnel"
    defaults = {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}
    assert defaults[CONF_HOST] == "192.168.1.22"
    assert defaults[CONF_TUNNELING_TYPE] == CONF_KNX_TUNNELING_TCP_SECURE


# -- secure tunnelling ---------------------------------------------------------------------------


async def test_secure_tunnel_manual_credentials(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    gateways.append(SECURE_GW)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(SECURE_GW)})
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "secure_key_source_menu_tunnel"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_tunnel_manual"}
    )
    credentials = {
        CONF_KNX_SECURE_USER_ID: 3,
        CONF_KNX_SECURE_USER_PASSWORD: "user-pw",
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "auth-code",
    }
    connection.return_value = "invalid_secure_configuration"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials)
    assert result["errors"] == {"base": "invalid_secure_configuration"}
    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], credentials)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Secure Tunneling @ 192.168.1.22"
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING_TCP_SECURE
    assert result["data"][CONF_KNX_SECURE_USER_ID] == 3
    assert result["data"][CONF_KNX_SECURE_USER_PASSWORD] == "user-pw"
    assert result["data"][CONF_KNX_SECURE_DEVICE_AUTHENTICATION] == "auth-code"


async def test_secure_tunnel_keyring_errors_then_interface(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    gateways.append(SECURE_GW)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(SECURE_GW)})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    assert result["step_id"] == "secure_knxkeys"

    not_xml = tmp_path / "junk.knxkeys"
    not_xml.write_text("this is no keyring")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, not_xml), CONF_KNX_KNXKEY_PASSWORD: "pw"}
    )
    assert result["errors"] == {CONF_KEYRING_FILE: "invalid_keyfile"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: "0" * 32, CONF_KNX_KNXKEY_PASSWORD: "pw"}
    )
    assert result["errors"] == {CONF_KEYRING_FILE: "invalid_keyfile"}

    keys = make_knxkeys(tmp_path / "keys.knxkeys", "right")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "wrong"}
    )
    assert result["errors"] == {CONF_KNX_KNXKEY_PASSWORD: "invalid_keyfile_password"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "right"}
    )
    assert result["step_id"] == "knxkeys_tunnel_select"
    assert not result["errors"]
    values = [o["value"] for o in result["data_schema"].schema[CONF_KNX_TUNNEL_ENDPOINT_IA].config["options"]]
    assert values == [CONF_KNX_AUTOMATIC, "1.0.10", "1.0.11"]  # the keyring's interfaces of host 1.0.0

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.11"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data[CONF_KNX_TUNNEL_ENDPOINT_IA] == "1.0.11"
    assert data[CONF_KNX_KNXKEY_PASSWORD] == "right"
    stored = _keyfile(hass, data)
    assert stored.read_bytes() == keys.read_bytes()
    assert stored.parent.name == "knx_evse"
    assert data[CONF_KNX_SECURE_USER_ID] is None


async def test_keyring_without_interface_for_the_gateway(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    gateways.append(SECURE_GW)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_GATEWAY: str(SECURE_GW)})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    keys = make_knxkeys(tmp_path / "other.knxkeys", "pw", interfaces=(("2.0.10", "2.0.0", 2),))
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "pw"}
    )
    assert result["step_id"] == "knxkeys_tunnel_select"
    assert result["errors"] == {"base": "keyfile_no_tunnel"}
    assert result["description_placeholders"]["host"] == "1.0.0"
    connection.return_value = "cannot_connect"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: CONF_KNX_AUTOMATIC}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: CONF_KNX_AUTOMATIC}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_KNX_TUNNEL_ENDPOINT_IA] is None


async def test_abandoned_flow_deletes_its_keyring(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_HOST: "192.168.1.22",
            CONF_PORT: 3671,
            CONF_KNX_ROUTE_BACK: False,
        },
    )
    assert result["step_id"] == "secure_key_source_menu_tunnel"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    keys = make_knxkeys(tmp_path / "keys.knxkeys", "pw")
    first = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "pw"}
    )
    assert first["step_id"] == "knxkeys_tunnel_select"
    storage = Path(hass.config.path(STORAGE_DIR, "knx_evse"))
    assert len(_files(storage)) == 1
    hass.config_entries.flow.async_abort(result["flow_id"])
    assert _files(storage) == []


# -- routing -------------------------------------------------------------------------------------


async def test_routing_errors_then_created(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING}
    )
    assert result["step_id"] == "routing"
    bad = {
        CONF_KNX_INDIVIDUAL_ADDRESS: "1.2.300",
        CONF_KNX_ROUTING_SECURE: False,
        CONF_KNX_MCAST_GRP: "192.168.1.1",
        CONF_KNX_MCAST_PORT: 3671,
        CONF_KNX_LOCAL_IP: "224.1.1.1",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
    assert result["errors"] == {
        CONF_KNX_INDIVIDUAL_ADDRESS: "invalid_individual_address",
        CONF_KNX_MCAST_GRP: "invalid_ip_address",
        CONF_KNX_LOCAL_IP: "invalid_ip_address",
    }
    good = {
        **bad,
        CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.241",
        CONF_KNX_MCAST_GRP: "224.0.23.12",
        CONF_KNX_LOCAL_IP: "192.168.1.2",
    }
    connection.return_value = "cannot_connect"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["errors"] == {"base": "cannot_connect"}
    connection.return_value = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], good)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Routing as 0.0.241"
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_ROUTING
    assert result["data"][CONF_KNX_LOCAL_IP] == "192.168.1.2"
    assert result["result"].unique_id == "routing:224.0.23.12:3671"


async def test_secure_routing_manual_key(hass: HomeAssistant, gateways: list, connection: AsyncMock) -> None:
    gateways.append(ROUTER)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING}
    )
    secure_key = next(k for k in result["data_schema"].schema if str(k) == CONF_KNX_ROUTING_SECURE)
    assert secure_key.default() is True  # the discovered router requires secure routing
    assert str(ROUTER) in result["description_placeholders"]["routers"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240",
            CONF_KNX_ROUTING_SECURE: True,
            CONF_KNX_MCAST_GRP: "224.0.23.12",
            CONF_KNX_MCAST_PORT: 3671,
        },
    )
    assert result["step_id"] == "secure_key_source_menu_routing"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_routing_manual"}
    )
    for bad_key in ("not hex", "00" * 15):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_KNX_ROUTING_BACKBONE_KEY: bad_key, CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1000},
        )
        assert result["errors"] == {CONF_KNX_ROUTING_BACKBONE_KEY: "invalid_backbone_key"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_KNX_ROUTING_BACKBONE_KEY: BACKBONE.hex(), CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 2000},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Secure Routing as 0.0.240"
    assert result["data"][CONF_KNX_CONNECTION_TYPE] == CONF_KNX_ROUTING_SECURE
    assert result["data"][CONF_KNX_ROUTING_BACKBONE_KEY] == BACKBONE.hex()
    assert result["data"][CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE] == 2000


async def test_secure_routing_keyring(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240",
            CONF_KNX_ROUTING_SECURE: True,
            CONF_KNX_MCAST_GRP: "224.0.23.12",
            CONF_KNX_MCAST_PORT: 3671,
        },
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    no_backbone = make_knxkeys(tmp_path / "a.knxkeys", "pw")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_KEYRING_FILE: await upload(hass, no_backbone), CONF_KNX_KNXKEY_PASSWORD: "pw"},
    )
    assert result["errors"] == {CONF_KEYRING_FILE: "keyfile_no_backbone_key"}
    with_backbone = make_knxkeys(tmp_path / "b.knxkeys", "pw", backbone_key=BACKBONE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_KEYRING_FILE: await upload(hass, with_backbone), CONF_KNX_KNXKEY_PASSWORD: "pw"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = _keyfile(hass, result["data"])
    assert stored.read_bytes() == with_backbone.read_bytes()
    assert len(_files(stored.parent)) == 1  # the first, rejected keyring was deleted
    assert result["data"][CONF_KNX_ROUTING_BACKBONE_KEY] is None  # xknx reads it from the keyring


# -- uniqueness and reconfigure ------------------------------------------------------------------


async def test_second_hub_on_the_same_gateway_is_refused(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    hub_entry(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING_TCP,
            CONF_HOST: "192.168.1.10",
            CONF_PORT: 3671,
            CONF_KNX_ROUTE_BACK: False,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    connection.assert_not_awaited()


@pytest.mark.parametrize(
    ("kind", "menu"),
    [
        (CONF_KNX_AUTOMATIC, None),
        (CONF_KNX_TUNNELING_TCP, None),
        (CONF_KNX_ROUTING, None),
        (CONF_KNX_TUNNELING_TCP_SECURE, ["user", "secure_knxkeys"]),
        (CONF_KNX_ROUTING_SECURE, ["user", "secure_knxkeys"]),
    ],
)
async def test_reconfigure_offers_a_keyring_replacement_only_to_secure_hubs(
    hass: HomeAssistant, gateways: list, kind: str, menu: list[str] | None
) -> None:
    routing = {CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240", CONF_KNX_MCAST_GRP: "224.0.23.12", CONF_KNX_MCAST_PORT: 3671}
    entry = hub_entry(hass, **{CONF_KNX_CONNECTION_TYPE: kind, **(routing if "routing" in kind else {})})
    result = await entry.start_reconfigure_flow(hass)
    if menu is None:
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "user"
    else:
        assert result["type"] is FlowResultType.MENU
        assert result["menu_options"] == menu


async def test_reconfigure_to_routing(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, mock_setup: AsyncMock
) -> None:
    entry = hub_entry(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED

    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM  # a plain tunnel has no keyring to replace: no menu
    assert result["step_id"] == "user"
    default = next(k for k in result["data_schema"].schema if str(k) == CONF_KNX_CONNECTION_TYPE).default()
    assert default == CONF_KNX_TUNNELING  # the current connection type
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING}
    )
    routing = {
        CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.242",
        CONF_KNX_ROUTING_SECURE: False,
        CONF_KNX_MCAST_GRP: "224.0.23.13",
        CONF_KNX_MCAST_PORT: 3671,
    }
    connection.return_value = "cannot_connect"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], routing)
    assert result["errors"] == {"base": "cannot_connect"}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED  # unloaded for the test, reloaded after the failure
    assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING

    connection.return_value = None
    setups = mock_setup.await_count
    result = await hass.config_entries.flow.async_configure(result["flow_id"], routing)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_ROUTING
    assert entry.data[CONF_KNX_MCAST_GRP] == "224.0.23.13"
    assert entry.unique_id == "routing:224.0.23.13:3671"
    assert entry.title == "Routing as 0.0.242"  # a generated title follows the connection
    assert mock_setup.await_count == setups + 1  # reloaded with the new connection


async def test_reconfigure_keeps_a_custom_title_and_refuses_a_taken_connection(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    entry = hub_entry(hass)
    hass.config_entries.async_update_entry(entry, title="Garage KNX")
    hub_entry(hass, **{CONF_HOST: "192.168.1.11"})

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    defaults = {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}
    assert defaults[CONF_HOST] == "192.168.1.10"  # prefilled from the entry
    assert defaults[CONF_TUNNELING_TYPE] == CONF_KNX_TUNNELING
    taken = {
        CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING,
        CONF_HOST: "192.168.1.11",
        CONF_PORT: 3671,
        CONF_KNX_ROUTE_BACK: False,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], taken)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**taken, CONF_HOST: "192.168.1.12", CONF_KNX_ROUTE_BACK: True}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Garage KNX"
    assert entry.data[CONF_HOST] == "192.168.1.12"
    assert entry.data[CONF_KNX_ROUTE_BACK] is True


async def test_reconfigure_replaces_the_keyring(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    old = _write(Path(hass.config.path(STORAGE_DIR, "knx_evse", "old.knxkeys")), "old keyring")
    entry = hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_KNX_KNXKEY_FILENAME: "knx_evse/old.knxkeys",
            CONF_KNX_KNXKEY_PASSWORD: "old",
            CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.10",
        },
    )
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    keys = make_knxkeys(tmp_path / "new.knxkeys", "new")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["step_id"] == "knxkeys_tunnel_select"
    default = next(k for k in result["data_schema"].schema if str(k) == CONF_KNX_TUNNEL_ENDPOINT_IA).default()
    assert default == "1.0.10"  # the interface used so far
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.10"}
    )
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == "new"
    assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING_TCP_SECURE
    assert _keyfile(hass, dict(entry.data)).read_bytes() == keys.read_bytes()
    assert not _files(old.parent, old.name)  # the replaced keyring is deleted


async def test_reconfigure_keyring_with_unknown_interface_defaults_to_automatic(
    hass: HomeAssistant, gateways: list, connection: AsyncMock, tmp_path: Path
) -> None:
    entry = hub_entry(
        hass,
        **{CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE, CONF_KNX_TUNNEL_ENDPOINT_IA: "9.9.9"},
    )
    result = await entry.start_reconfigure_flow(hass)
    assert result["menu_options"] == ["user", "secure_knxkeys"]  # a secure tunnel may replace its keyring
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_knxkeys"}
    )
    keys = make_knxkeys(tmp_path / "k.knxkeys", "pw")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "pw"}
    )
    default = next(k for k in result["data_schema"].schema if str(k) == CONF_KNX_TUNNEL_ENDPOINT_IA).default()
    assert default == CONF_KNX_AUTOMATIC


async def test_reconfigure_routing_prefills_secure(
    hass: HomeAssistant, gateways: list, connection: AsyncMock
) -> None:
    entry = hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING_SECURE,
            CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.250",
            CONF_KNX_MCAST_GRP: "224.0.23.12",
            CONF_KNX_MCAST_PORT: 3671,
            CONF_KNX_ROUTING_BACKBONE_KEY: BACKBONE.hex(),
            CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1500,
        },
    )
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["user", "secure_knxkeys"]  # a secure hub may replace its keyring
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "user"})
    default = next(k for k in result["data_schema"].schema if str(k) == CONF_KNX_CONNECTION_TYPE).default()
    assert default == CONF_KNX_ROUTING
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING}
    )
    defaults = {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}
    assert defaults[CONF_KNX_ROUTING_SECURE] is True
    assert defaults[CONF_KNX_INDIVIDUAL_ADDRESS] == "0.0.250"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**{k: v for k, v in defaults.items()}}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "secure_routing_manual"}
    )
    defaults = {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}
    assert defaults[CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE] == 1500
    result = await hass.config_entries.flow.async_configure(result["flow_id"], defaults)
    assert result["reason"] == "reconfigure_successful"
    assert entry.title == "Secure Routing as 0.0.250"


# -- unique id and title ------------------------------------------------------------------------


def test_unique_ids_and_titles() -> None:
    tunnel = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE, CONF_HOST: "10.0.0.2", CONF_PORT: 3672}
    assert hub_unique_id(tunnel) == "tunnel:10.0.0.2:3672"
    assert hub_title(tunnel) == "Secure Tunneling @ 10.0.0.2"
    routing = {
        CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING,
        CONF_KNX_MCAST_GRP: "224.0.23.12",
        CONF_KNX_MCAST_PORT: 3671,
        CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240",
    }
    assert hub_unique_id(routing) == "routing:224.0.23.12:3671"
    assert hub_title(routing) == "Routing as 0.0.240"
    assert hub_unique_id({CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC}) == "automatic"
