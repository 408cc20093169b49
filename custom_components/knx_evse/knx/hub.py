"""The hub: the one KNX connection shared by every charger of a hub config entry.

One hub config entry has exactly one link to the bus (``link``, see ``link.py``): either its own xknx
connection (``xknx_link.XknxLink``, built from ``connection.connection_config``: one tunnel slot,
however many chargers, with the idle probe), or, for connection type ``core_knx``, the connection of
Home Assistant's own ``knx`` integration (``core_link.CoreKnxLink``: no tunnel of its own). The hub,
whatever the link,

- tracks the connection state for entity availability, as the link reports it;
- dispatches incoming telegrams by destination group address (``GroupAddress.raw`` → handlers) to
  the chargers' coordinators: GroupValueWrite and GroupValueResponse, and any other service (a
  malformed telegram, which the handler reports). GroupValueRead telegrams from the bus are never
  answered nor dispatched: the charger owns its communication objects, and no xknx device is
  registered that could answer;
- sends GroupValueWrite/GroupValueRead telegrams for the coordinators through the link, refusing
  while disconnected;
- paces GroupValueRead telegrams hub-wide (``read_interval``) so start-up reads of several chargers
  do not flood a twisted-pair bus that carries about 50 telegrams/s;
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
from homeassistant.helpers.storage import STORAGE_DIR
from xknx import XKNX
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram import Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead, GroupValueWrite

from ..const import (
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_KNXKEY_FILENAME,
    DOMAIN,
    KNXKEYS_STORAGE_DIR,
)
from ..listeners import Listeners
from .connection import connection_config
from .core_link import CoreKnxLink
from .link import Link, LinkUnavailableError
from .xknx_link import XknxLink

_LOGGER = logging.getLogger(__name__)

TelegramHandler = Callable[[Telegram], None]
"""Called with every telegram to a subscribed address but GroupValueRead (writes, responses, and
other services, which are malformed on a group address)."""
ConnectionListener = Callable[[bool], None]
"""Called with True/False when the KNX connection comes up or goes down."""

DEFAULT_READ_INTERVAL: Final = 0.1
"""s between two GroupValueRead telegrams of the hub (≤ 10 reads/s, plus their responses)."""
DEFAULT_IDLE_PROBE_AFTER: Final = 30.0
"""s without any telegram from the bus before the hub's own xknx link probes the connection with one
GroupValueRead (``xknx_link``)."""


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

    - ``link``: the way to the bus; ``xknx``: the ``XKNX`` instance of the hub's own xknx link (None
      on core knx's connection); ``connected``: True while the connection is up.
    - ``async_start()`` / ``async_prepare_stop()`` / ``async_stop()``: connect (raises ``xknx.exceptions.XKNXException`` when the
      connection cannot start, ConfigEntryNotReady when core knx is not set up) and disconnect;
      stop leaves no task behind.
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
        """Create the link for ``entry.data``; nothing connects before ``async_start``.

        Raises KeyError or ValueError for connection data that is incomplete or of an unknown type.
        """
        self.hass = hass
        self.entry = entry
        self._handlers: dict[int, tuple[TelegramHandler, ...]] = {}
        self._connection_listeners: Listeners[bool] = Listeners(_LOGGER, entry.title, "KNX connection listener")
        self._connected = False
        self._was_connected = False
        self._read_lock = asyncio.Lock()
        self._closing = False
        self.telegrams_received = 0
        self.telegrams_sent = 0
        self.reads_ignored = 0
        self.probes_sent = 0
        self.link: Link
        if entry.data.get(CONF_KNX_CONNECTION_TYPE) == CONF_KNX_CORE:
            self.link = CoreKnxLink(hass, self, entry.title)
        else:
            self.link = XknxLink(
                hass,
                self,
                connection_config(entry.data, knxkeys_path(hass, entry.data.get(CONF_KNX_KNXKEY_FILENAME))),
                entry.title,
            )

    @property
    def xknx(self) -> XKNX | None:
        """The ``XKNX`` instance of the hub's own xknx link; None on core knx's connection."""
        return self.link.xknx if isinstance(self.link, XknxLink) else None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the KNX connection is established."""
        return self._connected

    @property
    def closing(self) -> bool:
        """True once the entry is unloading (``async_prepare_stop``): nothing more is sent."""
        return self._closing

    async def async_start(self) -> None:
        """Connect to the bus; raises ``XKNXException`` (e.g. CommunicationError) when it cannot.

        Later connection losses are handled by the link and reported through the connection listeners.
        """
        await self.link.async_start()

    @callback
    def async_prepare_stop(self) -> None:
        """Refuse further writes and reads (``not_connected``) while the entry unloads."""
        self._closing = True

    async def async_stop(self, _event: Event | None = None) -> None:
        """Disconnect and stop the link's tasks; safe to call twice and after a failed start."""
        self._closing = True
        await self.link.async_stop()
        self._handlers.clear()
        self.set_connected(False)
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
        self.link.addresses_changed()

        @callback
        def unsubscribe() -> None:
            for raw in raws:
                remaining = tuple(h for h in self._handlers.get(raw, ()) if h is not handler)
                if remaining:
                    self._handlers[raw] = remaining
                else:
                    self._handlers.pop(raw, None)
            self.link.addresses_changed()

        return unsubscribe

    def subscribed_addresses(self) -> Collection[int]:
        """Return the raw group addresses that have handlers (a live view)."""
        return self._handlers.keys()

    def telegram_received(self, telegram: Telegram) -> None:
        """Link callback: dispatch a telegram by destination group address; never answers reads."""
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

    def set_connected(self, connected: bool) -> None:
        """Link callback: record the connection state and tell the listeners when it changed.

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

    def _not_connected(self, address: GroupAddress) -> HomeAssistantError:
        return HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="not_connected",
            translation_placeholders={"group_address": str(address), "hub": self.entry.title},
        )

    def _require_connection(self, address: GroupAddress) -> None:
        if not self._connected or self._closing:
            raise self._not_connected(address)

    async def _async_send(self, address: GroupAddress, payload: GroupValueWrite | GroupValueRead) -> None:
        """Hand a telegram to the link; its refusal becomes ``not_connected``."""
        try:
            await self.link.async_send(Telegram(destination_address=address, payload=payload))
        except LinkUnavailableError as err:
            raise self._not_connected(address) from err

    async def async_write(self, address: str | GroupAddress, payload: DPTArray | DPTBinary) -> None:
        """Send a GroupValueWrite of ``payload`` (already encoded by ``dpt.encode``) to ``address``.

        Raises translated HomeAssistantError ``not_connected`` while the connection is down (nothing
        is queued then). The telegram is handed to the link; it is on the bus within milliseconds.
        """
        group_address = GroupAddress(address)
        self._require_connection(group_address)
        await self._async_send(group_address, GroupValueWrite(payload))
        self.telegrams_sent += 1

    async def async_read(self, address: str | GroupAddress) -> float:
        """Send a GroupValueRead to ``address``, paced hub-wide by ``read_interval``.

        The answer arrives as a GroupValueResponse through the subscribed handlers, often before this
        returns (after the pacing pause). Returns the ``time.monotonic()`` at which the read was
        handed to the link. Raises translated HomeAssistantError ``not_connected`` while the
        connection is down.
        """
        group_address = GroupAddress(address)
        async with self._read_lock:
            self._require_connection(group_address)
            await self._async_send(group_address, GroupValueRead())
            sent_at = time.monotonic()
            self.telegrams_sent += 1
            if self.read_interval > 0:
                await asyncio.sleep(self.read_interval)
        return sent_at

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
