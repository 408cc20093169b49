"""Push coordinator of one charger (one charger config subentry): address index, decode, state, listeners.

Source: manual, "Communication Objects" (numbers 1-212) and "ETS CONFIGURATION". There is no
polling: the charger sends its status objects on change and/or cyclically (manual, "Status
Sending"), the coordinator receives them through the hub and keeps, per communication object, the
last decoded value and when it arrived. Entities and the balancing engine read that state and
subscribe to changes of the objects they show.

Liveness, staleness and the start-up reads: ``liveness.ChargerLiveness``. Validated writes:
``commands.ChargerCommands``. Both are base classes of ``ChargerCoordinator``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from xknx.dpt.dpt import DPTEnumData
from xknx.exceptions import CouldNotParseAddress
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress, IndividualAddress
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from ..compat import vol
from ..const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    DOMAIN,
    MANUFACTURER,
)
from ..knx.dpt import (
    RESERVED_RAW,
    DecodeError,
    ObjectValueError,
    decode,
)
from ..knx.group_addresses import GroupAddressMap, validate_group_addresses
from ..knx.hub import KnxEvseHub
from ..knx.objects import (
    OBJECTS,
    CommObject,
)
from ..knx.parameters import load_parameters
from ..listeners import Listeners
from .commands import ChargerCommands
from .heard import HeardAddresses
from .liveness import ChargerLiveness
from .reset import RESET_OBJECT, reset_values

_LOGGER = logging.getLogger(__name__)

SOURCE_BUS: Final = "bus"
SOURCE_WRITTEN: Final = "written"
SOURCE_RESET: Final = "reset"

ObjectListener = Callable[[int | None], None]
"""Called with the number of the object that changed, or None when availability changed."""

def _individual_address(text: str | None) -> IndividualAddress | None:
    """Return the charger's individual address, None when none (or no valid one) is configured."""
    try:
        return IndividualAddress(text) if text else None
    except CouldNotParseAddress:
        return None


class InvalidChargerConfigError(ValueError):
    """The data of a charger subentry does not validate (parameters or group addresses)."""


@dataclass(slots=True, frozen=True)
class ObjectState:
    """Last value of a communication object and when it was received or written.

    ``value``: decoded value (bool, int s/Wh, float A/W, str, or a DPT 20.x enum member);
    ``monotonic``: ``time.monotonic()`` seconds; ``utc``: aware UTC datetime; ``source``:
    ``"bus"`` (telegram received), ``"written"`` (sent by this coordinator) or ``"reset"`` (what
    a write-only object returns to after a Reset, ``reset.reset_values``).
    """

    value: Any
    monotonic: float
    utc: datetime
    source: str


class ChargerCoordinator(ChargerLiveness, ChargerCommands):
    """State and commands of one charger, fed by telegrams from the hub.

    Read side: ``has_object``, ``state``, ``value``, ``age``, ``last_written`` (what the objects
    mean to the balancing: ``interface.ChargerInterface``). Changes:
    ``async_add_listener(listener, numbers)``. Write side: ``async_set_current_limit``,
    ``async_set_power_limit``, ``async_start_stop``, ``async_set_max_session_time``,
    ``async_add_rfid_tag``, ``async_write_object`` and ``validate_write``. Liveness: ``is_stale``,
    ``silence_limit``, ``last_heard`` (listeners get ``None`` when it changes, as for availability).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        hub: KnxEvseHub,
        entry: ConfigEntry,
        subentry: ConfigSubentry,
        heard: HeardAddresses,
    ) -> None:
        """Build from a charger subentry's data; ``heard``: whether its individual address was heard before.

        Raises InvalidChargerConfigError when the ETS parameters or the group-address map do not
        validate (see ``load_parameters`` and ``validate_group_addresses``).
        """
        self.hass = hass
        self.hub = hub
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        data: Mapping[str, Any] = subentry.data
        self.name: str = subentry.title or str(data.get(CONF_NAME, "KNX EV charger"))
        self.model: str | None = data.get(CONF_MODEL)
        self.individual_address: str | None = data.get(CONF_CHARGER_IA)
        try:
            self.params = load_parameters(data.get(CONF_PARAMETERS) or {})
            self.enabled_objects = self.params.enabled_objects()
            self.group_addresses: GroupAddressMap = validate_group_addresses(
                data.get(CONF_GROUP_ADDRESSES) or {}, self.enabled_objects
            )
        except (vol.Invalid, ValueError) as err:
            raise InvalidChargerConfigError(f"charger {self.name!r}: {err}") from err
        self.connectors: tuple[int, ...] = tuple(range(1, self.params.connectors + 1))
        objects_by_ga: dict[int, list[int]] = {}
        for number, addresses in self.group_addresses.items():
            for address in addresses:
                raw = GroupAddress(address).raw
                if number not in objects_by_ga.setdefault(raw, []):
                    objects_by_ga[raw].append(number)
        self._objects_by_ga: dict[int, tuple[CommObject, ...]] = {
            raw: tuple(OBJECTS[n] for n in numbers) for raw, numbers in objects_by_ga.items()
        }
        # The charger sends (and answers reads) on the first address of its status objects.
        self._status_gas = frozenset(
            GroupAddress(addresses[0]).raw
            for number, addresses in self.group_addresses.items()
            if OBJECTS[number].readable or OBJECTS[number].flags.transmit
        )
        self._states: dict[int, ObjectState] = {}
        self._written: dict[int, ObjectState] = {}
        self._listeners: dict[int | None, Listeners[int | None]] = {}
        """Object number (None: availability) → its listeners."""
        self._warned_gas: set[int] = set()
        self._address = _individual_address(self.individual_address)
        self._heard_addresses = heard
        self._address_heard = self._address is not None and heard.was_heard(
            entry.entry_id, self.subentry_id, str(self._address)
        )
        self._warned_sources: set[str] = set()
        self._unsubs: list[CALLBACK_TYPE] = []
        self.telegrams_received = 0
        self.telegrams_decoded = 0
        self.telegrams_invalid = 0
        self.telegrams_foreign = 0
        self.telegrams_sent = 0
        self.reads_sent = 0
        self._init_liveness()

    # -- lifecycle --------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Subscribe to every mapped group address and start the start-up reads if connected."""
        if self._objects_by_ga:
            self._unsubs.append(self.hub.async_subscribe(self.group_address_objects(), self._handle_telegram))
        self._unsubs.append(self.hub.async_add_connection_listener(self._connection_changed))
        self.last_heard = time.monotonic()
        self._unsubs.append(
            async_track_time_interval(
                self.hass,
                self._async_check_alive,
                timedelta(seconds=self.stale_check_interval),
                name=f"{DOMAIN} liveness of {self.name}",
                cancel_on_shutdown=True,
            )
        )
        if self.hub.connected:
            self._start_reads()

    async def async_stop(self) -> None:
        """Unsubscribe and cancel pending reads; leaves no task behind."""
        while self._unsubs:
            self._unsubs.pop()()
        await self._cancel_reads()
        task, self._liveness_task = self._liveness_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def group_address_objects(self) -> list[str]:
        """Every group address this charger listens to (sending and listening addresses)."""
        return [address for addresses in self.group_addresses.values() for address in addresses]

    @property
    def available(self) -> bool:
        """True while the hub's KNX connection is up and the charger is not stale."""
        return self.hub.connected and not self._stale

    # -- device registry --------------------------------------------------------------------

    @property
    def device_identifier(self) -> tuple[str, str]:
        """Device registry identifier of the charger."""
        return (DOMAIN, self.subentry_id)

    def connector_identifier(self, connector: int) -> tuple[str, str]:
        """Device registry identifier of connector ``connector`` (1 or 2)."""
        return (DOMAIN, f"{self.subentry_id}_connector_{connector}")

    def device_info(self, connector: int | None = None) -> DeviceInfo:
        """DeviceInfo of the charger (``connector`` None) or of one of its connectors.

        A connector is a sub-device of its charger: ``__init__._async_register_devices`` links it
        to the charger's device (``via_device_id``) when the hub is set up. Its name is translated
        (``device.connector`` in translations/en.json: "Garage connector 1"); the entity ids follow
        the name in the language the system had when the device was created.
        """
        if connector is None:
            return DeviceInfo(
                identifiers={self.device_identifier},
                name=self.name,
                manufacturer=MANUFACTURER,
                model=self.model,
            )
        return DeviceInfo(
            identifiers={self.connector_identifier(connector)},
            translation_key="connector",
            translation_placeholders={"charger": self.name, "connector": str(connector)},
            manufacturer=MANUFACTURER,
            model=self.model,
        )

    # -- incoming ---------------------------------------------------------------------------

    def _handle_telegram(self, telegram: Telegram) -> None:
        """Hub handler: decode a write/response for every object on its group address.

        Bad payloads (wrong length, NaN, reserved enum value) and services other than GroupValueWrite/
        Response/Read (a memory or property service has no business on a group address) are logged
        once per group address and ignored; the last good state is kept. A telegram on one of the
        charger's sending addresses from another device is not the charger's (``_from_charger``).
        Never raises.
        """
        destination = telegram.destination_address
        payload = telegram.payload
        if not isinstance(destination, GroupAddress):
            return
        objects = self._objects_by_ga.get(destination.raw)
        if not objects:
            return
        if not isinstance(payload, GroupValueWrite | GroupValueResponse):
            if not isinstance(payload, GroupValueRead):
                self._bad_telegram(
                    destination.raw, telegram, ValueError(f"{type(payload).__name__} is not a group value service")
                )
            return
        self.telegrams_received += 1
        monotonic = time.monotonic()
        if destination.raw in self._status_gas and telegram.direction is TelegramDirection.INCOMING:
            if not self._from_charger(telegram):
                return
            self._heard(monotonic)
        utc = dt_util.utcnow()
        for obj in objects:
            try:
                value = decode(obj, payload.value)
                if isinstance(value, DPTEnumData) and value.value == RESERVED_RAW:
                    raise DecodeError(obj, f"reserved value in {payload.value!r}")
            except ObjectValueError as err:
                self._bad_telegram(destination.raw, telegram, err)
                continue
            except Exception as err:
                self._bad_telegram(destination.raw, telegram, err)
                continue
            self.telegrams_decoded += 1
            self._states[obj.number] = ObjectState(value, monotonic, utc, SOURCE_BUS)
            self._notify(obj.number)
            if obj.number == RESET_OBJECT and value and isinstance(payload, GroupValueWrite):
                self._charger_reset()

    def _from_charger(self, telegram: Telegram) -> bool:
        """Return False for a telegram on a sending address of the charger from another device.

        The charger sends its status objects on their first addresses, with its individual address
        as the source. Once a telegram from that address has been heard, another source there is a
        faulty or misprogrammed device: its values are not the charger's and do not prove it alive,
        so it is ignored, and each such source is logged once. Having been heard is remembered
        across reloads and restarts (``heard.HeardAddresses``). Before that (an individual address
        typed wrong, say) every source is taken, as the charger's own could not be told apart.
        """
        if self._address is None:
            return True
        if telegram.source_address == self._address:
            if not self._address_heard:
                self._address_heard = True
                self._heard_addresses.heard(self.entry.entry_id, self.subentry_id, str(self._address))
            return True
        if not self._address_heard:
            return True
        self.telegrams_foreign += 1
        source = str(telegram.source_address)
        if source not in self._warned_sources:
            self._warned_sources.add(source)
            _LOGGER.warning(
                "%s: ignoring telegrams from %s on its sending addresses (the charger is %s): another "
                "device sends there, so its values are not the charger's. Further telegrams from %s "
                "there are counted only",
                self.name,
                source,
                self._address,
                source,
            )
        return False

    def _bad_telegram(self, ga_raw: int, telegram: Telegram, err: Exception) -> None:
        self.telegrams_invalid += 1
        if ga_raw in self._warned_gas:
            _LOGGER.debug("%s: ignoring telegram %s: %s", self.name, telegram, err)
            return
        self._warned_gas.add(ga_raw)
        _LOGGER.warning(
            "%s: ignoring telegram to group address %s: %s. The last good value is kept; further "
            "problems on this group address are logged at debug level",
            self.name,
            telegram.destination_address,
            err,
        )

    def _notify(self, number: int | None) -> None:
        if listeners := self._listeners.get(number):
            listeners.notify(number)

    def _record_written(self, number: int, value: Any) -> None:
        """Keep ``value`` as written to ``number`` (``last_written`` and ``state``) and notify."""
        written = ObjectState(value, time.monotonic(), dt_util.utcnow(), SOURCE_WRITTEN)
        self._written[number] = written
        self._states[number] = written
        self._notify(number)
        if number == RESET_OBJECT and value:
            self._charger_reset()

    def ets_value(self, number: int) -> Any:
        """Return the value write-only object ``number`` has from the ETS parameters, None if none is known.

        What the charger holds after a Reset, and at start-up before any write (``reset.reset_values``).
        """
        return reset_values(self.params).get(number)

    def _charger_reset(self) -> None:
        """Set the write-only objects to what the charger returns to after a Reset (parameter values)."""
        monotonic, utc = time.monotonic(), dt_util.utcnow()
        for number, value in reset_values(self.params).items():
            if number in self.group_addresses:
                self._states[number] = ObjectState(value, monotonic, utc, SOURCE_RESET)
                self._notify(number)

    @callback
    def async_add_listener(self, listener: ObjectListener, numbers: Iterable[int]) -> CALLBACK_TYPE:
        """Call ``listener(number)`` when one of ``numbers`` changes.

        ``listener(None)`` is called when the connection (availability) changes. Returns the function
        removing the listener.
        """
        removers = [
            self._listeners.setdefault(n, Listeners(_LOGGER, self.name, f"listener of object {n}")).add(listener)
            for n in (*dict.fromkeys(numbers), None)
        ]

        @callback
        def remove() -> None:
            for remover in removers:
                remover()

        return remove

    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self._reset_liveness()
        self._update_reachable()
        if connected:
            self._start_reads()
        self._notify(None)

    # -- read side --------------------------------------------------------------------------

    def has_object(self, number: int) -> bool:
        """Return True when object ``number`` is enabled by the parameters and linked to a group address."""
        return number in self.group_addresses

    def state(self, number: int) -> ObjectState | None:
        """Last ``ObjectState`` of object ``number`` (received or written), None before any."""
        return self._states.get(number)

    def _answered(self, number: int) -> bool:
        state = self._states.get(number)
        return state is not None and state.source == SOURCE_BUS

    def value(self, number: int) -> Any:
        """Last value of object ``number``, None before any."""
        state = self._states.get(number)
        return None if state is None else state.value

    def age(self, number: int) -> float | None:
        """Seconds since object ``number`` was last received or written, None before any."""
        state = self._states.get(number)
        return None if state is None else time.monotonic() - state.monotonic

    def last_written(self, number: int) -> ObjectState | None:
        """Return what this coordinator last wrote to object ``number`` (and when), None if never."""
        return self._written.get(number)

