"""The hub's link through Home Assistant's own ``knx`` integration ("core knx"): no tunnel of our own.

Only core knx's public interface is used (docs/architecture.md says why):

- ``knx.event_register`` without a type, for every address the hub subscribes: core knx then fires
  a ``knx_event`` for each telegram to it, with the raw payload (``data``: an int for DPTBinary, a
  tuple for DPTArray). The link turns it back into an xknx ``Telegram`` for the hub's dispatch.
  Core knx fires it for the telegrams it sends too (direction "Outgoing"): those are ignored, so
  writes that core knx itself sends to a charger's address are not seen. Destinations are printed
  in the address format of core knx's project (3-level, 2-level or free); any parses.
- ``knx.send`` (raw payload: int → DPTBinary, list → DPTArray) and ``knx.read``.
- The connection state: core knx's system sensor "connected_since" (unique id
  ``_<entry id>_connected_since``) is available exactly while core knx's xknx is connected. If the
  user disabled it, core knx counts as connected while its config entry is loaded.

Core knx keeps event registrations in memory only: when it has loaded again (a reload, or a
restart of its entry) the link registers the addresses again before it reports the connection up,
and the coordinators then read their state again. While it is not loaded the connection is down.
The idle probe belongs to whoever owns the tunnel: core knx (xknx's heartbeat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

from homeassistant.config_entries import SIGNAL_CONFIG_ENTRY_CHANGED, ConfigEntry, ConfigEntryChange
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady, HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_state_change_event
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.exceptions import XKNXException
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress, IndividualAddress
from xknx.telegram.apci import APCI, GroupValueRead, GroupValueResponse, GroupValueWrite

from ..const import CORE_KNX_DOMAIN, DOMAIN
from .link import LinkOwner, LinkUnavailableError

_LOGGER = logging.getLogger(__name__)

KNX_EVENT: Final = "knx_event"
CONNECTED_SINCE: Final = "connected_since"
"""Key of core knx's system sensor that is available exactly while its connection is up."""
_VALUE_SERVICES: Final = {cls.__name__: cls for cls in (GroupValueWrite, GroupValueResponse)}


def core_knx_entry(hass: HomeAssistant) -> ConfigEntry | None:
    """Return core knx's loaded config entry, None while it is not loaded (it allows only one)."""
    loaded = hass.config_entries.async_loaded_entries(CORE_KNX_DOMAIN)
    return loaded[0] if loaded else None


@lru_cache(maxsize=4096)
def _group_address(text: str) -> GroupAddress:
    """Parse a destination as core knx printed it (any address format); cached: a bus has few."""
    return GroupAddress(text)


@lru_cache(maxsize=1024)
def _individual_address(text: str) -> IndividualAddress:
    return IndividualAddress(text)


def event_telegram(data: Mapping[str, Any]) -> Telegram | None:
    """Rebuild the telegram of an incoming ``knx_event``; None for an outgoing or unusable one.

    GroupValueWrite/Response get a DPTBinary (``data`` an int) or DPTArray (a sequence of bytes);
    GroupValueRead none. Any other service carries no payload in the event and gives None.
    """
    if data.get("direction") != TelegramDirection.INCOMING.value:
        return None
    kind, raw = data.get("telegramtype"), data.get("data")
    try:
        payload: APCI
        if kind == GroupValueRead.__name__:
            payload = GroupValueRead()
        elif kind in _VALUE_SERVICES and raw is not None:
            payload = _VALUE_SERVICES[kind](DPTBinary(raw) if isinstance(raw, int) else DPTArray(raw))
        else:
            return None
        return Telegram(
            destination_address=_group_address(data["destination"]),
            direction=TelegramDirection.INCOMING,
            payload=payload,
            source_address=_individual_address(data["source"]),
        )
    except (XKNXException, KeyError, TypeError, ValueError):
        return None


class CoreKnxLink:
    """The hub's link through core knx (``Link``)."""

    def __init__(self, hass: HomeAssistant, owner: LinkOwner, title: str) -> None:
        """Nothing is registered before ``async_start``."""
        self.hass = hass
        self._owner = owner
        self._title = title
        self._entry_id: str | None = None
        """Core knx's loaded entry; None while it is not loaded."""
        self._last_entry_id: str | None = None
        self._generation = 0
        """Counts core knx's loads and unloads: a registration answered after one is void."""
        self._registered: set[int] = set()
        """Raw addresses registered with core knx's current load."""
        self._ready = False
        """All the hub's addresses are registered with core knx's current load."""
        self._dirty = True
        self._sync_lock = asyncio.Lock()
        self._sync_task: asyncio.Task[bool] | None = None
        self._sensor: str | None = None
        self._unsub_sensor: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []
        self._stopped = False

    # -- lifecycle --------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Follow core knx; raises ConfigEntryNotReady (``core_knx_missing``) when it is not set up.

        Core knx set up but not loaded yet (e.g. while Home Assistant starts) is no error: the
        connection is reported up once it has loaded.
        """
        if not self.hass.config_entries.async_entries(CORE_KNX_DOMAIN, include_ignore=False, include_disabled=False):
            raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="core_knx_missing")
        self._unsubs = [
            self.hass.bus.async_listen(KNX_EVENT, self._async_knx_event),
            async_dispatcher_connect(self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._async_entry_changed),
            self.hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, self._async_registry_updated),
        ]
        self._async_core_changed()
        await self._async_sync()

    async def async_stop(self) -> None:
        """Stop following core knx and remove our event registrations; safe to call twice."""
        self._stopped = True
        while self._unsubs:
            self._unsubs.pop()()
        if self._unsub_sensor is not None:
            self._unsub_sensor()
            self._unsub_sensor = None
        if (task := self._sync_task) is not None:
            await task
        async with self._sync_lock:
            if self._registered and self._entry_id is not None:
                try:
                    await self._async_event_register(self._registered, remove=True)
                except HomeAssistantError as err:
                    _LOGGER.debug("%s: could not remove the knx_event registrations: %s", self._title, err)
            self._registered.clear()

    def diagnostics(self) -> dict[str, Any]:
        """Return the route, core knx's entry id and where the connection state comes from."""
        return {
            "route": "core_knx",
            "core_knx_entry_id": self._entry_id or self._last_entry_id,
            "core_knx_loaded": self._entry_id is not None,
            "connection_state_from": self._sensor or "core knx's config entry being loaded",
            "registered_addresses": len(self._registered),
        }

    # -- outgoing ---------------------------------------------------------------------------

    async def async_send(self, telegram: Telegram) -> None:
        """Send a GroupValueWrite through ``knx.send`` (raw payload) or a GroupValueRead through ``knx.read``.

        Registers pending addresses first, so a response cannot arrive unheard. Raises
        ``LinkUnavailableError`` when core knx is not loaded or refuses the call.
        """
        if (self._dirty or not self._ready) and not await self._async_sync():
            raise LinkUnavailableError("Home Assistant's KNX integration is not loaded")
        address = str(telegram.destination_address)
        payload = telegram.payload
        if isinstance(payload, GroupValueWrite):
            value = payload.value
            raw: int | list[int] = value.value if isinstance(value, DPTBinary) else list(value.value)
            service, data = "send", {"address": address, "payload": raw}
        else:
            service, data = "read", {"address": address}
        try:
            await self.hass.services.async_call(CORE_KNX_DOMAIN, service, data, blocking=True)
        except HomeAssistantError as err:
            raise LinkUnavailableError(str(err)) from err

    # -- incoming ---------------------------------------------------------------------------

    @callback
    def _async_knx_event(self, event: Event) -> None:
        """Hand a telegram to a subscribed address to the hub; ignore outgoing and unusable events."""
        telegram = event_telegram(event.data)
        if telegram is not None:
            self._owner.telegram_received(telegram)

    # -- event registrations ----------------------------------------------------------------

    @callback
    def addresses_changed(self) -> None:
        """Register (or remove) the hub's changed addresses with core knx soon."""
        self._dirty = True
        if self._entry_id is not None and self._sync_task is None and not self._stopped:
            self._sync_task = self.hass.async_create_task(
                self._async_sync_soon(), f"{DOMAIN} knx_event registration", eager_start=False
            )

    async def _async_sync_soon(self) -> bool:
        try:
            return await self._async_sync()
        finally:
            self._sync_task = None

    async def _async_sync(self) -> bool:
        """Make core knx's registrations match the hub's addresses; True when they do.

        False while core knx is not loaded, after a stop, or when core knx refused a registration
        (logged; the next send tries again).
        """
        async with self._sync_lock:
            while self._entry_id is not None and not self._stopped:
                generation = self._generation
                self._dirty = False
                wanted = set(self._owner.subscribed_addresses())
                add, remove = wanted - self._registered, self._registered - wanted
                if not add and not remove:
                    if not self._ready:
                        self._ready = True
                        self._async_update_connected()
                    return True
                try:
                    if add:
                        await self._async_event_register(add, remove=False)
                    if remove:
                        await self._async_event_register(remove, remove=True)
                except HomeAssistantError as err:
                    if generation == self._generation:
                        _LOGGER.warning("%s: Home Assistant's KNX integration refused the event registration: %s", self._title, err)
                        self._dirty = True  # tried again before the next send
                        return False
                    continue  # core knx was unloaded meanwhile
                if generation == self._generation:
                    self._registered = (self._registered | add) - remove
            return False

    async def _async_event_register(self, raws: Iterable[int], *, remove: bool) -> None:
        addresses = [str(GroupAddress(raw)) for raw in sorted(raws)]
        data: dict[str, Any] = {"address": addresses}
        if remove:
            data["remove"] = True
        await self.hass.services.async_call(CORE_KNX_DOMAIN, "event_register", data, blocking=True)

    # -- core knx's state -------------------------------------------------------------------

    @callback
    def _async_entry_changed(self, _change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if entry.domain == CORE_KNX_DOMAIN:
            self._async_core_changed()

    @callback
    def _async_core_changed(self) -> None:
        """Core knx's entry was added, removed, loaded or unloaded: follow it."""
        loaded = core_knx_entry(self.hass)
        entry_id = loaded.entry_id if loaded is not None else None
        if entry_id != self._entry_id:
            self._generation += 1
            self._entry_id = entry_id
            self._last_entry_id = entry_id or self._last_entry_id
            self._registered = set()  # core knx's registrations went with its previous load
            self._ready = False
            if entry_id is not None:
                self.addresses_changed()
        self._async_update_connected()

    @callback
    def _async_registry_updated(self, _event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        """Look again at the connected-since sensor: it may have been enabled, disabled, renamed or removed."""
        self._async_update_connected()

    @callback
    def _async_sensor_changed(self, _event: Event[EventStateChangedData]) -> None:
        self._async_update_connected()

    @callback
    def _async_update_connected(self) -> None:
        """Report connected while core knx is loaded, our addresses are registered and its sensor is available."""
        if self._stopped:
            return
        self._async_track_sensor()
        connected = self._entry_id is not None and self._ready
        if connected and self._sensor is not None:
            state = self.hass.states.get(self._sensor)
            connected = state is None or state.state != STATE_UNAVAILABLE
        self._owner.set_connected(connected)

    @callback
    def _async_track_sensor(self) -> None:
        """Follow the state of core knx's enabled connected-since sensor, if it has one."""
        sensor = None
        if self._entry_id is not None:
            registry = er.async_get(self.hass)
            unique_id = f"_{self._entry_id}_{CONNECTED_SINCE}"
            found = registry.async_get_entity_id("sensor", CORE_KNX_DOMAIN, unique_id)
            if found is not None and (registered := registry.async_get(found)) is not None and not registered.disabled:
                sensor = found
        if sensor == self._sensor:
            return
        if self._unsub_sensor is not None:
            self._unsub_sensor()
            self._unsub_sensor = None
        self._sensor = sensor
        if sensor is not None:
            self._unsub_sensor = async_track_state_change_event(self.hass, sensor, self._async_sensor_changed)
