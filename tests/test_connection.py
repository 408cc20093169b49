"""The hub's xknx ConnectionConfig for each connection type, and the unusable-data errors at set-up."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from xknx.io import ConnectionType

from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DEFAULT_MCAST_GRP,
    DEFAULT_MCAST_PORT,
    DEFAULT_ROUTING_IA,
)
from custom_components.knx_evse.knx.connection import connection_config
from tests.knx_harness import KnxTestKit, hub_entry


def test_automatic() -> None:
    config = connection_config({CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC, CONF_KNX_LOCAL_IP: "10.0.0.5"})
    assert config.connection_type is ConnectionType.AUTOMATIC
    assert config.auto_reconnect is True
    assert config.local_ip == "10.0.0.5"


def test_routing_uses_knx_defaults() -> None:
    config = connection_config({CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING})
    assert config.connection_type is ConnectionType.ROUTING
    assert str(config.individual_address) == DEFAULT_ROUTING_IA
    assert (config.multicast_group, config.multicast_port) == (DEFAULT_MCAST_GRP, DEFAULT_MCAST_PORT)


def test_secure_routing_passes_the_backbone_key() -> None:
    config = connection_config(
        {
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING_SECURE,
            CONF_KNX_INDIVIDUAL_ADDRESS: "1.0.250",
            CONF_KNX_ROUTING_BACKBONE_KEY: "cafebabe00112233445566778899aabb",
            CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1500,
        }
    )
    assert config.connection_type is ConnectionType.ROUTING_SECURE
    assert str(config.individual_address) == "1.0.250"
    assert config.secure_config.backbone_key == bytes.fromhex("cafebabe00112233445566778899aabb")
    assert config.secure_config.latency_ms == 1500


def test_udp_tunnel_and_secure_tcp_tunnel() -> None:
    udp = connection_config(
        {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING, CONF_HOST: "192.168.1.10", CONF_PORT: 3671, CONF_KNX_ROUTE_BACK: True}
    )
    assert udp.connection_type is ConnectionType.TUNNELING
    assert (udp.gateway_ip, udp.gateway_port, udp.route_back) == ("192.168.1.10", 3671, True)
    tcp = connection_config(
        {
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_HOST: "192.168.1.10",
            CONF_PORT: 3671,
            CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.11",
            CONF_KNX_KNXKEY_PASSWORD: "pw",
        },
        "/config/.storage/knx_evse/site.knxkeys",
    )
    assert tcp.connection_type is ConnectionType.TUNNELING_TCP_SECURE
    assert str(tcp.individual_address) == "1.0.11"
    assert tcp.secure_config.knxkeys_file_path == "/config/.storage/knx_evse/site.knxkeys"
    assert tcp.secure_config.knxkeys_password == "pw"


def test_unknown_type_and_missing_host_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown KNX connection type 'usb'"):
        connection_config({CONF_KNX_CONNECTION_TYPE: "usb"})
    with pytest.raises(KeyError):
        connection_config({CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING})


async def test_unusable_hub_data_is_a_setup_error(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = hub_entry([], **{CONF_KNX_CONNECTION_TYPE: "usb"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None and "usb" in entry.reason
