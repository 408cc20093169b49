"""The hub's own KNX connection: one xknx instance (tunnelling or routing) and its idle probe.

Built from ``connection.connection_config``; one tunnel slot however many chargers. It

- reports xknx's connection state to the hub (as core's ``knx`` integration does);
- registers ONE telegram callback with xknx and hands every telegram to the hub's dispatch;
- queues the hub's telegrams to xknx;
- probes a quiet connection (the hub's ``idle_probe_after``): a tunnelling client that only listens
  does not notice that its KNX/IP interface restarted and forgot the tunnel (xknx's heartbeat runs
  every 70 s), so after that many seconds without a telegram from the bus the link sends one
  GroupValueRead (to the first status object the hub ever read). On a dead tunnel the interface
  does not acknowledge it, xknx reconnects within about 2 s, entities go unavailable and come back,
  and the coordinators read their state again. A busy bus is never probed.
- reconnects a UDP tunnel without a DISCONNECT_REQUEST for its old channel id (`ChannelSafeTunnel`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from xknx import XKNX
from xknx.core.connection_state import XknxConnectionState
from xknx.io import ConnectionConfig
from xknx.io.tunnel import UDPTunnel
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead

from .link import LinkOwner

_LOGGER = logging.getLogger(__name__)


class ChannelSafeTunnel(UDPTunnel):
    """xknx's UDP tunnel, except that a reconnect does not first disconnect the old channel id.

    After the KNX/IP interface restarts, the old id may have been given to another client (core
    ``knx``, ETS, a visualisation): knxd, for one, acts on DISCONNECT_REQUEST by id alone, so
    disconnecting it would close that client's new tunnel. The cost: when only our side lost the
    tunnel, its slot stays taken until the interface's own timeout (docs/architecture.md,
    "Reconnecting without closing another client's tunnel").
    """

    __slots__ = ()

    async def _reconnect(self) -> None:
        self.communication_channel = None  # nothing to disconnect: the id may be another client's now
        await super()._reconnect()


def use_channel_safe_tunnel(xknx: XKNX) -> None:
    """Make a started ``xknx``'s plain UDP tunnel a `ChannelSafeTunnel`; other interfaces stay as they are."""
    tunnel = xknx.knxip_interface._interface  # built by xknx in start()
    if type(tunnel) is UDPTunnel:
        tunnel.__class__ = ChannelSafeTunnel  # same slots: only _reconnect differs


class XknxLink:
    """An xknx connection of the hub's own (``Link``); ``xknx`` is the ``XKNX`` instance."""

    def __init__(self, hass: HomeAssistant, owner: LinkOwner, config: ConnectionConfig, title: str) -> None:
        """Create the xknx instance for ``config``; nothing connects before ``async_start``."""
        self.hass = hass
        self._owner = owner
        self._title = title
        self.xknx = XKNX(connection_config=config)
        self._telegram_cb = self.xknx.telegram_queue.register_telegram_received_cb(
            self._telegram_received, address_filters=None, group_addresses=None
        )
        self._unsubs: list[CALLBACK_TYPE] = [
            self.xknx.connection_manager.register_connection_state_changed_cb(self._connection_state_changed)
        ]
        self._started = False
        self._stopped = False
        self._probe_address: GroupAddress | None = None
        self._last_heard = time.monotonic()
        self._cancel_probe_timer: CALLBACK_TYPE | None = None

    async def async_start(self) -> None:
        """Connect to the bus; raises ``XKNXException`` (e.g. CommunicationError) when it cannot.

        With auto-reconnect on, later connection losses are handled by xknx and reported to the hub.
        """
        self._started = True
        await self.xknx.start()
        use_channel_safe_tunnel(self.xknx)
        self._last_heard = time.monotonic()
        self._schedule_probe(self._owner.idle_probe_after)

    async def async_stop(self) -> None:
        """Disconnect and stop xknx's tasks; safe to call twice and after a failed start."""
        self._stopped = True
        if self._cancel_probe_timer is not None:
            self._cancel_probe_timer()
            self._cancel_probe_timer = None
        while self._unsubs:
            self._unsubs.pop()()
        if self._telegram_cb in self.xknx.telegram_queue.telegram_received_cbs:
            self.xknx.telegram_queue.unregister_telegram_received_cb(self._telegram_cb)
        if self._started:
            self._started = False
            await self.xknx.stop()

    async def async_send(self, telegram: Telegram) -> None:
        """Queue ``telegram`` to xknx; it is on the bus within milliseconds.

        The first GroupValueRead the hub sends sets the address of the idle probe.
        """
        if self._probe_address is None and isinstance(telegram.payload, GroupValueRead):
            destination = telegram.destination_address
            if isinstance(destination, GroupAddress):
                self._probe_address = destination
        self.xknx.telegrams.put_nowait(telegram)

    def addresses_changed(self) -> None:
        """Do nothing: xknx hands every telegram to the hub, which filters by address."""

    def diagnostics(self) -> dict[str, Any]:
        """Return the connection type and version of xknx and our individual address on the bus."""
        return {
            "route": "xknx",
            "xknx_connection_type": self.xknx.connection_manager.connection_type.value,
            "xknx_version": self.xknx.version,
            "current_address": str(self.xknx.current_address),
        }

    def _telegram_received(self, telegram: Telegram) -> None:
        """Xknx telegram callback: note when the bus was last heard, then let the hub dispatch."""
        if telegram.direction is TelegramDirection.INCOMING:
            self._last_heard = time.monotonic()
        self._owner.telegram_received(telegram)

    def _connection_state_changed(self, state: XknxConnectionState) -> None:
        self._owner.set_connected(state == XknxConnectionState.CONNECTED)

    # -- idle probe -------------------------------------------------------------------------

    def _schedule_probe(self, delay: float) -> None:
        self._cancel_probe_timer = async_call_later(self.hass, max(delay, 0.0), self._async_probe_if_idle)

    @callback
    def _async_probe_if_idle(self, _now: object = None) -> None:
        """Timer: send one GroupValueRead when nothing came from the bus for ``idle_probe_after`` s.

        Without a status object read so far (no charger with a readable linked object) or while
        xknx is reconnecting, nothing is sent. Re-arms itself until the hub stops.
        """
        self._cancel_probe_timer = None
        if self._stopped or self._owner.closing or not self._started:
            return
        idle_after = self._owner.idle_probe_after
        quiet = time.monotonic() - self._last_heard
        if quiet < idle_after:
            self._schedule_probe(idle_after - quiet)
            return
        if self._owner.connected and self._probe_address is not None:
            _LOGGER.debug("%s: nothing heard for %.0f s, probing with a read", self._title, quiet)
            self.xknx.telegrams.put_nowait(Telegram(destination_address=self._probe_address, payload=GroupValueRead()))
            self._owner.telegrams_sent += 1
            self._owner.probes_sent += 1
        self._last_heard = time.monotonic()
        self._schedule_probe(idle_after)
