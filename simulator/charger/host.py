"""The XKNX side of the simulator: `KnxHost` carries simulated devices on one tunnel."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from xknx import XKNX
from xknx.io import ConnectionConfig, ConnectionType
from xknx.telegram import Telegram, TelegramDirection

from custom_components.knx_evse.knx.xknx_link import use_channel_safe_tunnel


class KnxHost:
    """One XKNX client carrying several simulated devices (chargers, the meter).

    A telegram one device sends goes to the KNX/IP tunnel and, as on a real bus, to the other devices
    of this host (a tunnel client does not receive its own telegrams back). Give it an existing
    ``xknx`` to share a client (it is then neither started nor stopped here), or build one with
    ``KnxHost.tunnel(gateway_ip, ...)``. Devices need ``handle_telegram(telegram)`` and
    ``set_send(fn)``.
    """

    def __init__(self, xknx: XKNX, *, owned: bool = False) -> None:
        """Wrap ``xknx``; ``owned`` makes ``start``/``stop`` start and stop it."""
        self.xknx = xknx
        self.owned = owned
        self.devices: list[Any] = []
        self._callback: Any = None
        self._queue: list[tuple[Any, Telegram]] = []
        self._pumping = False

    @classmethod
    def tunnel(cls, gateway_ip: str, gateway_port: int = 3671, local_ip: str | None = None) -> KnxHost:
        """Build a host with its own XKNX tunnelling client to ``gateway_ip:gateway_port`` (UDP)."""
        config = ConnectionConfig(
            connection_type=ConnectionType.TUNNELING,
            gateway_ip=gateway_ip,
            gateway_port=gateway_port,
            local_ip=local_ip,
        )
        return cls(XKNX(connection_config=config, rate_limit=0), owned=True)

    def add(self, device: Any) -> None:
        """Attach ``device``: its telegrams go out through this host."""
        self.devices.append(device)
        device.set_send(lambda telegram, _d=device: self._send_from(_d, telegram))

    async def start(self) -> None:
        """Connect (if owned) and start receiving telegrams.

        An owned UDP tunnel reconnects as the hub's does, without closing its old channel id, which
        knxd may have given to another client (`ChannelSafeTunnel`).
        """
        if self.owned:
            await self.xknx.start()
            use_channel_safe_tunnel(self.xknx)
        self._callback = self.xknx.telegram_queue.register_telegram_received_cb(self._received)

    async def stop(self) -> None:
        """Stop receiving; disconnect if owned."""
        if self._callback is not None:
            with contextlib.suppress(ValueError):
                self.xknx.telegram_queue.unregister_telegram_received_cb(self._callback)
            self._callback = None
        for device in self.devices:
            device.set_send(None)
        if self.owned:
            await self.xknx.stop()

    @property
    def connected(self) -> bool:
        """True while the KNX/IP connection is up."""
        return bool(self.xknx.connection_manager.connected.is_set())

    def _received(self, telegram: Telegram) -> None:
        if telegram.direction is not TelegramDirection.INCOMING:
            return
        self._queue.append((None, telegram))
        self._pump()

    def _send_from(self, sender: Any, telegram: Telegram) -> None:
        self.xknx.telegrams.put_nowait(telegram)
        local = Telegram(
            destination_address=telegram.destination_address,
            direction=TelegramDirection.INCOMING,
            payload=telegram.payload,
            source_address=telegram.source_address,
        )
        self._queue.append((sender, local))
        try:
            asyncio.get_running_loop().call_soon(self._pump)
        except RuntimeError:
            self._pump()

    def _pump(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._queue:
                sender, telegram = self._queue.pop(0)
                for device in self.devices:
                    if device is not sender:
                        device.handle_telegram(telegram)
        finally:
            self._pumping = False
