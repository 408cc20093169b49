"""The hub's one KNX connection: xknx ``ConnectionConfig`` from a hub config entry's data.

Mirrors ``homeassistant.components.knx.knx_module.KNXModule.connection_config`` so the six connection
types (automatic, UDP/TCP tunnelling, secure tunnelling, routing, secure routing) mean exactly what
they mean in core's ``knx`` integration. Auto-reconnect is always on. All chargers of a hub share this
one connection, so one hub uses one tunnel slot however many chargers it drives.

``authentication_failed`` tells a rejected KNX Secure handshake (wrong user password, user ID or device
authentication code) from other connection errors, for the reauthentication flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xknx.exceptions import IPSecureError
from xknx.io import ConnectionConfig, ConnectionType, SecureConfig

from ..const import (
    CONF_HOST,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
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
    DEFAULT_MCAST_GRP,
    DEFAULT_MCAST_PORT,
    DEFAULT_ROUTING_IA,
)

_AUTHENTICATION_FAILURES = ("authentication failed", "MAC verification failed")
"""What xknx's secure session says when the interface rejects us: the SessionStatus of a wrong user
password or user ID (``Secure session authentication failed: STATUS_AUTHENTICATION_FAILED``) and
the SessionResponse of a wrong device authentication code (``SessionResponse MAC verification
failed.``)."""

_TYPES = {
    CONF_KNX_AUTOMATIC: ConnectionType.AUTOMATIC,
    CONF_KNX_TUNNELING: ConnectionType.TUNNELING,
    CONF_KNX_TUNNELING_TCP: ConnectionType.TUNNELING_TCP,
    CONF_KNX_TUNNELING_TCP_SECURE: ConnectionType.TUNNELING_TCP_SECURE,
    CONF_KNX_ROUTING: ConnectionType.ROUTING,
    CONF_KNX_ROUTING_SECURE: ConnectionType.ROUTING_SECURE,
}


def connection_config(data: Mapping[str, Any], knxkeys_path: str | None = None) -> ConnectionConfig:
    """Build the xknx ``ConnectionConfig`` for a hub entry's ``data``.

    ``knxkeys_path`` is the absolute path of the stored ``.knxkeys`` file, if any. Raises KeyError
    when a key the connection type needs is missing and ValueError for an unknown connection type.
    Secrets are passed to xknx only; they are never logged here.
    """
    kind = data[CONF_KNX_CONNECTION_TYPE]
    if kind not in _TYPES:
        raise ValueError(f"unknown KNX connection type {kind!r}")
    secure = SecureConfig(
        user_id=data.get(CONF_KNX_SECURE_USER_ID),
        user_password=data.get(CONF_KNX_SECURE_USER_PASSWORD),
        device_authentication_password=data.get(CONF_KNX_SECURE_DEVICE_AUTHENTICATION),
        backbone_key=data.get(CONF_KNX_ROUTING_BACKBONE_KEY),
        latency_ms=data.get(CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE),
        knxkeys_password=data.get(CONF_KNX_KNXKEY_PASSWORD),
        knxkeys_file_path=knxkeys_path,
    )
    common: dict[str, Any] = {
        "connection_type": _TYPES[kind],
        "auto_reconnect": True,
        "secure_config": secure,
        "local_ip": data.get(CONF_KNX_LOCAL_IP),
    }
    if kind in (CONF_KNX_ROUTING, CONF_KNX_ROUTING_SECURE):
        return ConnectionConfig(
            **common,
            individual_address=data.get(CONF_KNX_INDIVIDUAL_ADDRESS, DEFAULT_ROUTING_IA),
            multicast_group=data.get(CONF_KNX_MCAST_GRP, DEFAULT_MCAST_GRP),
            multicast_port=data.get(CONF_KNX_MCAST_PORT, DEFAULT_MCAST_PORT),
        )
    if kind == CONF_KNX_TUNNELING:
        return ConnectionConfig(
            **common,
            gateway_ip=data[CONF_HOST],
            gateway_port=data[CONF_PORT],
            route_back=data.get(CONF_KNX_ROUTE_BACK, False),
        )
    if kind in (CONF_KNX_TUNNELING_TCP, CONF_KNX_TUNNELING_TCP_SECURE):
        return ConnectionConfig(
            **common,
            gateway_ip=data[CONF_HOST],
            gateway_port=data[CONF_PORT],
            individual_address=data.get(CONF_KNX_TUNNEL_ENDPOINT_IA),
        )
    return ConnectionConfig(**common)


def authentication_failed(err: BaseException) -> bool:
    """Tell whether a connection error is the KNX/IP interface rejecting our secure credentials.

    xknx raises ``IPSecureError`` in the secure session handshake and wraps it in a
    ``CommunicationError`` ("Tunnel connection could not be established"), so the causes are
    searched. Any other error (refused, timed out, no free tunnel) is not an authentication error.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, IPSecureError) and any(
            text in str(current) for text in _AUTHENTICATION_FAILURES
        ):
            return True
        current = current.__cause__ or current.__context__
    return False
