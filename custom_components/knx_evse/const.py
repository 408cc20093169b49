"""Constants of the knx_evse integration.

Hub (config entry) keys mirror Home Assistant core's ``knx`` integration so an integrator sees the same
connection options; charger and balancing-group settings live in config subentries.
"""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "knx_evse"

# Hub config entry: the one KNX connection (keys as in homeassistant.components.knx.const).
CONF_KNX_CONNECTION_TYPE: Final = "connection_type"
CONF_KNX_AUTOMATIC: Final = "automatic"
CONF_KNX_TUNNELING: Final = "tunneling"
CONF_KNX_TUNNELING_TCP: Final = "tunneling_tcp"
CONF_KNX_TUNNELING_TCP_SECURE: Final = "tunneling_tcp_secure"
CONF_KNX_ROUTING: Final = "routing"
CONF_KNX_ROUTING_SECURE: Final = "routing_secure"
CONF_KNX_CORE: Final = "core_knx"
"""Not a core knx type: the hub rides on Home Assistant's own ``knx`` integration's connection."""
CONNECTION_TYPES: Final = (
    CONF_KNX_AUTOMATIC,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_CORE,
)
CORE_KNX_DOMAIN: Final = "knx"
"""Home Assistant's own KNX integration ("core knx")."""
CONF_HOST: Final = "host"
CONF_PORT: Final = "port"
CONF_KNX_LOCAL_IP: Final = "local_ip"
CONF_KNX_ROUTE_BACK: Final = "route_back"
CONF_KNX_INDIVIDUAL_ADDRESS: Final = "individual_address"
CONF_KNX_MCAST_GRP: Final = "multicast_group"
CONF_KNX_MCAST_PORT: Final = "multicast_port"
CONF_KNX_TUNNEL_ENDPOINT_IA: Final = "tunnel_endpoint_ia"
CONF_KNX_KNXKEY_FILENAME: Final = "knxkeys_filename"
CONF_KNX_KNXKEY_PASSWORD: Final = "knxkeys_password"
CONF_KNX_SECURE_USER_ID: Final = "user_id"
CONF_KNX_SECURE_USER_PASSWORD: Final = "user_password"
CONF_KNX_SECURE_DEVICE_AUTHENTICATION: Final = "device_authentication"
CONF_KNX_ROUTING_BACKBONE_KEY: Final = "backbone_key"
CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: Final = "sync_latency_tolerance"
DEFAULT_MCAST_GRP: Final = "224.0.23.12"
DEFAULT_MCAST_PORT: Final = 3671
DEFAULT_ROUTING_IA: Final = "0.0.240"
KNXKEYS_STORAGE_DIR: Final = "knx_evse"
"""Folder under .storage where uploaded .knxkeys files are kept (as core knx does with "knx/")."""

# Subentry types.
SUBENTRY_CHARGER: Final = "charger"
SUBENTRY_BALANCING: Final = "balancing_group"

# Charger subentry data keys.
CONF_NAME: Final = "name"
CONF_CHARGER_IA: Final = "individual_address"
CONF_MODEL: Final = "model"
CONF_PARAMETERS: Final = "parameters"
CONF_GROUP_ADDRESSES: Final = "group_addresses"

MODELS: Final = ("VE 741", "VE 742", "VE 221", "VE 222")
"""Model families of the manual; VE 74x are single-phase 7.4 kW, VE 22x three-phase 22 kW."""
MODEL_DEFAULTS: Final[dict[str, dict[str, int]]] = {
    "VE 741": {"phases": 1, "connectors": 1},
    "VE 742": {"phases": 1, "connectors": 2},
    "VE 221": {"phases": 3, "connectors": 1},
    "VE 222": {"phases": 3, "connectors": 2},
}

MANUFACTURER: Final = "Dinuy"
