"""The hub: one xknx connection shared by every charger of a hub config entry.

One hub config entry owns exactly one ``XKNX`` instance (one tunnel slot, however many chargers),
built from ``connection.connection_config``. The hub

- tracks the connection state for entity availability (xknx's connection-state callback, as core's
  ``knx`` integration does);
- registers ONE telegram callback with xknx and dispatches incoming telegrams by destination group
  address (``GroupAddress.raw`` → handlers) to the chargers' coordinators: GroupValueWrite and
  GroupValueResponse, and any other service (a malformed telegram, which the handler reports).
  GroupValueRead telegrams from the bus are never answered nor dispatched: the charger owns its
  communication objects, and no xknx device is registered that could answer;
- sends GroupValueWrite/GroupValueRead telegrams for the coordinators, refusing while disconnected;
- paces GroupValueRead telegrams hub-wide (``read_interval``) so start-up reads of several chargers
  do not flood a twisted-pair bus that carries about 50 telegrams/s;
- probes a quiet connection (``idle_probe_after``): a tunnelling client that only listens does not
  notice that its KNX/IP interface restarted and forgot the tunnel (xknx's heartbeat runs every 70 s),
  so after that many seconds without a telegram from the bus the hub sends one GroupValueRead (to the
  first status object it ever read). On a dead tunnel the interface does not acknowledge it, xknx
  reconnects within about 2 s, entities go unavailable and come back, and the coordinators read
  their state again. A busy bus is never probed;
- removes devices and entities of this entry that no longer belong to any configured charger.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import STORAGE_DIR
from xknx import XKNX
from xknx.core.connection_state import XknxConnectionState
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead, GroupValueWrite

from ..const import CONF_KNX_KNXKEY_FILENAME, DOMAIN, KNXKEYS_STORAGE_DIR
from ..listeners import Listeners
from .connection import connection_config

_LOGGER = logging.getLogger(__name__)

TelegramHandler = Callable[[Telegram], None]
"""Called with every telegram to a subscribed address but GroupValueRead (writes, responses, and
other services, which are malformed on a group address)."""
ConnectionListener = Callable[[bool], None]
"""Called with True/False when the KNX connection comes up or goes down."""

DEFAULT_READ_INTERVAL: Final = 0.1
"""s between two GroupValueRead telegrams of the hub (≤ 10 reads/s, plus their responses)."""
DEFAULT_IDLE_PROBE_AFTER: Final = 30.0
"""s without any telegram from the bus before the hub probes the connection with one GroupValueRead."""


def knxkeys_path(hass: HomeAssistant, filename: str | None) -> str | None:
    """Absolute path of a stored ``.knxkeys`` file: ``<config>/.storage/knx_evse/<file name>``.

    Only the file name of ``filename`` is used, so both ``"x.knxkeys"`` and ``"knx_evse/x.knxkeys"``
    resolve to the same file. None when no keyring is configured.
    """
    if not filename:
        return None
    return hass.config.path(STORAGE_DIR, KNXKEYS_STORAGE_DIR, Path(filename).name)


class KnxEvseHub:
    """The single KNX connection of a hub config entry.

    Public API (used by coordinators, balancing groups and tests):

    - ``xknx``: the ``XKNX`` instance; ``connected``: True while the connection is up.
    - ``async_start()`` / ``async_prepare_stop()`` / ``async_stop()``: connect (raises ``xknx.exceptions.XKNXException`` when the
      connection cannot start) and disconnect; stop leaves no task behind.
    - ``async_subscribe(addresses, handler) -> unsubscribe``: dispatch incoming telegrams.
    - ``async_add_connection_listener(listener) -> unsubscribe``.
    - ``async_write(address, payload)`` / ``async_read(address)``: send; raise translated
      ``HomeAssistantError`` (``not_connected``) while disconnected.
    - ``async_remove_stale_devices(keep, owned)`` / ``async_remove_stale_entities(keep, owned)``.
    - counters: ``telegrams_received`` (dispatched), ``telegrams_sent``, ``reads_ignored`` (bus
      GroupValueRead to subscribed addresses, never answered), ``probes_sent`` (idle probes).
    """

    read_interval: float = DEFAULT_READ_INTERVAL
    idle_probe_after: float = DEFAULT_IDLE_PROBE_AFTER

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Create the xknx instance for ``entry.data``; nothing connects before ``async_start``."""
        self.hass = hass
        self.entry = entry
        self.xknx = XKNX(
            connection_config=connection_config(
                entry.data, knxkeys_path(hass, entry.data.get(CONF_KNX_KNXKEY_FILENAME))
            ),
        )
        self._handlers: dict[int, tuple[TelegramHandler, ...]] = {}
        self._connection_listeners: Listeners[bool] = Listeners(_LOGGER, entry.title, "KNX connection listener")
        self._connected = False
        self._was_connected = False
        self._read_lock = asyncio.Lock()
        self._unsubs: list[Callable[[], None]] = []
        self._telegram_cb = self.xknx.telegram_queue.register_telegram_received_cb(
            self._telegram_received, address_filters=None, group_addresses=None
        )
        self._unsubs.append(
            self.xknx.connection_manager.register_connection_state_changed_cb(self._connection_state_changed)
        )
        self._started = False
        self._closing = False
        self.telegrams_received = 0
        self.telegrams_sent = 0
        self.reads_ignored = 0
        self.probes_sent = 0
        self._probe_address: GroupAddress | None = None
        self._last_heard = time.monotonic()
        self._cancel_probe_timer: CALLBACK_TYPE | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the KNX connection is established."""
        return self._connected

    async def async_start(self) -> None:
        """Connect to the bus; raises ``XKNXException`` (e.g. CommunicationError) when it cannot.

        With auto-reconnect on, later connection losses are handled by xknx and reported through the
        connection listeners.
        """
        self._started = True
        await self.xknx.start()
        self._last_heard = time.monotonic()
        self._schedule_probe(self.idle_probe_after)

    @callback
    def async_prepare_stop(self) -> None:
        """Refuse further writes and reads (``not_connected``) while the entry unloads."""
        self._closing = True

    async def async_stop(self, _event: Event | None = None) -> None:
        """Disconnect and stop xknx's tasks; safe to call twice and after a failed start."""
        self._closing = True
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
        self._handlers.clear()
        self._set_connected(False)
        self._connection_listeners.clear()

    # -- incoming ---------------------------------------------------------------------------

    @callback
    def async_subscribe(
        self, addresses: Iterable[str | GroupAddress], handler: TelegramHandler
    ) -> CALLBACK_TYPE:
        """Call ``handler(telegram)`` for telegrams (all but GroupValueRead) to any of ``addresses``.

        Returns the function that removes the subscription. Raises CouldNotParseAddress for a
        malformed address (before anything is registered).
        """
        raws = {GroupAddress(address).raw for address in addresses}
        for raw in raws:
            self._handlers[raw] = (*self._handlers.get(raw, ()), handler)

        @callback
        def unsubscribe() -> None:
            for raw in raws:
                remaining = tuple(h for h in self._handlers.get(raw, ()) if h is not handler)
                if remaining:
                    self._handlers[raw] = remaining
                else:
                    self._handlers.pop(raw, None)

        return unsubscribe

    def _telegram_received(self, telegram: Telegram) -> None:
        """Xknx telegram callback: dispatch by destination group address; never answers reads."""
        if telegram.direction is TelegramDirection.INCOMING:
            self._last_heard = time.monotonic()
        destination = telegram.destination_address
        if not isinstance(destination, GroupAddress):
            return
        handlers = self._handlers.get(destination.raw)
        if handlers is None:
            return
        if isinstance(telegram.payload, GroupValueRead):
            self.reads_ignored += 1
            return
        self.telegrams_received += 1
        for handler in handlers:
            try:
                handler(telegram)
            except Exception:
                _LOGGER.exception("Error while handling telegram %s", telegram)

    # -- connection state -------------------------------------------------------------------

    @callback
    def async_add_connection_listener(self, listener: ConnectionListener) -> CALLBACK_TYPE:
        """Call ``listener(connected)`` on every change of the connection state."""
        return self._connection_listeners.add(listener)

    def _connection_state_changed(self, state: XknxConnectionState) -> None:
        self._set_connected(state == XknxConnectionState.CONNECTED)

    def _set_connected(self, connected: bool) -> None:
        """Record the connection state and tell the listeners when it changed.

        A loss and its restoration are logged once each at info level (the chargers' entities turn
        unavailable and back, which says the rest); the first connection and the stop only at debug.
        """
        if connected == self._connected:
            return
        self._connected = connected
        if connected and not self._was_connected:
            self._was_connected = True
            _LOGGER.debug("KNX connection of %s established", self.entry.title)
        elif self._closing:
            _LOGGER.debug("KNX connection of %s closed", self.entry.title)
        else:
            _LOGGER.info("KNX connection of %s %s", self.entry.title, "restored" if connected else "lost")
        self._connection_listeners.notify(connected)

    # -- outgoing ---------------------------------------------------------------------------

    def _require_connection(self, address: GroupAddress) -> None:
        if not self._connected or self._closing:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="not_connected",
                translation_placeholders={"group_address": str(address), "hub": self.entry.title},
            )

    async def async_write(self, address: str | GroupAddress, payload: DPTArray | DPTBinary) -> None:
        """Send a GroupValueWrite of ``payload`` (already encoded by ``dpt.encode``) to ``address``.

        Raises translated HomeAssistantError ``not_connected`` while the connection is down (nothing
        is queued then). The telegram is queued to xknx; it is on the bus within milliseconds.
        """
        group_address = GroupAddress(address)
        self._require_connection(group_address)
        self.xknx.telegrams.put_nowait(
            Telegram(destination_address=group_address, payload=GroupValueWrite(payload))
        )
        self.telegrams_sent += 1

    async def async_read(self, address: str | GroupAddress) -> float:
        """Send a GroupValueRead to ``address``, paced hub-wide by ``read_interval``.

        The answer arrives as a GroupValueResponse through the subscribed handlers, often before this
        returns (after the pacing pause). Returns the ``time.monotonic()`` at which the read was
        queued to xknx. Raises translated HomeAssistantError ``not_connected`` while the connection
        is down.
        """
        group_address = GroupAddress(address)
        async with self._read_lock:
            self._require_connection(group_address)
            self.xknx.telegrams.put_nowait(Telegram(destination_address=group_address, payload=GroupValueRead()))
            sent_at = time.monotonic()
            self.telegrams_sent += 1
            if self._probe_address is None:
                self._probe_address = group_address
            if self.read_interval > 0:
                await asyncio.sleep(self.read_interval)
        return sent_at

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
        if self._closing or not self._started:
            return
        quiet = time.monotonic() - self._last_heard
        if quiet < self.idle_probe_after:
            self._schedule_probe(self.idle_probe_after - quiet)
            return
        if self._connected and self._probe_address is not None:
            _LOGGER.debug("%s: nothing heard for %.0f s, probing with a read", self.entry.title, quiet)
            self.xknx.telegrams.put_nowait(
                Telegram(destination_address=self._probe_address, payload=GroupValueRead())
            )
            self.telegrams_sent += 1
            self.probes_sent += 1
        self._last_heard = time.monotonic()
        self._schedule_probe(self.idle_probe_after)

    # -- registry cleanup -------------------------------------------------------------------

    @callback
    def async_remove_stale_devices(
        self,
        keep: Collection[tuple[str, str]],
        owned: Callable[[tuple[str, str]], bool] | None = None,
    ) -> int:
        """Remove this entry's devices that are no longer configured; return how many.

        A device of this entry is stale when it has an identifier the caller owns (``owned``, by
        default any ``(DOMAIN, ...)`` identifier) and none of its identifiers is in ``keep``; it is
        removed with its entities. Devices of other runtimes (e.g. balancing groups) are left alone by passing a narrower ``owned``.
        """
        is_owned = owned or (lambda identifier: identifier[0] == DOMAIN)
        removed = 0
        device_registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(device_registry, self.entry.entry_id):
            if not any(is_owned(identifier) for identifier in device.identifiers):
                continue
            if any(identifier in keep for identifier in device.identifiers):
                continue
            device_registry.async_remove_device(device.id)
            removed += 1
        return removed

    @callback
    def async_remove_stale_entities(self, keep: Collection[str], owned: Callable[[str], bool]) -> int:
        """Remove this entry's registry entities whose unique id is ``owned`` but not in ``keep``.

        Used after a charger's parameters or group addresses changed so that entities of objects
        that no longer exist do not linger as "unavailable". Returns how many were removed.
        """
        removed = 0
        entity_registry = er.async_get(self.hass)
        for entity in er.async_entries_for_config_entry(entity_registry, self.entry.entry_id):
            if owned(entity.unique_id) and entity.unique_id not in keep:
                entity_registry.async_remove(entity.entity_id)
                removed += 1
        return removed
