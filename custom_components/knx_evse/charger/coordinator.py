"""Push coordinator of one charger (one charger config subentry).

Source: manual, "Communication Objects" (numbers 1-212) and "ETS CONFIGURATION". There is no
polling: the charger sends its status objects on change and/or cyclically (manual, "Status
Sending"), the coordinator receives them through the hub and keeps, per communication object, the
last decoded value and when it arrived. Entities and the balancing engine read that state and
subscribe to changes of the objects they show.

At start (and after every reconnect) the coordinator sends GroupValueRead to the readable status
objects linked to a group address, essentials first (limits, states, session energy, power,
currents), at most ``MAX_STARTUP_READS``, paced by the hub. Everything else arrives through the
charger's own status sending.

Staleness: a KNX device that stops answering is only visible through its silence. The coordinator
expects to hear from the charger (any telegram on the sending address of one of its status objects)
at least every ``silence_limit`` seconds: twice the shortest period of the status objects the
charger sends cyclically (parameters "Status Sending", only groups with a linked object) plus
``STALE_GRACE``, or ``DEFAULT_LIVENESS_AFTER`` when nothing is sent cyclically. After that much
silence it sends ONE GroupValueRead to its first readable status object (a liveness read). When a
batch of reads (start-up, reconnect or liveness) gets no telegram at all within ``answer_timeout``,
the charger is stale: ``is_stale`` is True and its entities are unavailable. While stale, the read
is repeated every ``silence_limit`` seconds. Any telegram from the charger ends it. A busy charger
is never read; an idle one costs one read (and its answer) every ``silence_limit`` seconds.

Writes go through typed methods that validate BEFORE anything is sent and raise a translated
``ServiceValidationError`` (nothing is sent then): current limits 0 or 6-32 A and at most the
"Maximum User Current" parameter; power limits 0 up to what the model can draw; session time
0-65535 s; RFID tags 1-14 ISO 8859-1 characters; a command object without a group address is
refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util
from xknx.dpt.dpt import DPTEnumData
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress
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
    ControlPilotState,
    DecodeError,
    EncodeError,
    ObjectValueError,
    OcppState,
    decode,
    encode,
)
from ..knx.group_addresses import GroupAddressMap, validate_group_addresses
from ..knx.hub import KnxEvseHub
from ..knx.objects import (
    CONN2_OFFSET,
    OBJECTS,
    CommObject,
    Scope,
    UnknownObjectError,
    connector_object,
    get_object,
)
from ..knx.parameters import MAX_CURRENT, MIN_CURRENT, ChargerParameters

_LOGGER = logging.getLogger(__name__)

MAX_STARTUP_READS: Final = 30
"""GroupValueRead telegrams sent per charger at start and after a reconnect."""
MAX_SESSION_SECONDS: Final = 65535
"""s: largest value of object 6 (DPT 7.005, 2 bytes)."""
RFID_MAX_LENGTH: Final = 14
"""Characters of an RFID tag (object 8, DPT 16.001, 14 bytes ISO 8859-1)."""

STALE_GRACE: Final = 10.0
"""s added to twice the shortest cyclic sending period before a silent charger is read."""
DEFAULT_LIVENESS_AFTER: Final = 120.0
"""s of silence before a liveness read when the charger sends nothing cyclically."""
DEFAULT_ANSWER_TIMEOUT: Final = 10.0
"""s within which a charger must send something after a batch of reads, else it is stale."""
DEFAULT_STALE_CHECK_INTERVAL: Final = 5.0
"""s between two checks of the charger's silence."""
# Manual, "Status Sending": the connector-1 objects each sending group covers (connector 2: +49).
_CYCLIC_GROUPS: Final[dict[str, tuple[int, ...]]] = {
    "current": (48, 49, 50, 51),
    "power": (47,),
    "energy": (46,),
    "time": (45,),
    "charging_status": tuple(range(34, 45)),
}

SOURCE_BUS: Final = "bus"
SOURCE_WRITTEN: Final = "written"

ObjectListener = Callable[[int | None], None]
"""Called with the number of the object that changed, or None when availability changed."""

# Essentials first (manual objects, by ``CommObject.base_key`` outside the balancing scopes).
_READ_PRIORITY: Final[dict[str, int]] = {
    "current_limit_status": 0,
    "active_power_limit_status": 0,
    "charging": 1,
    "vehicle_connected": 1,
    "pilot_state": 1,
    "ocpp_state": 1,
    "communication_error": 1,
    "error_code": 1,
    "fail_safe_status": 1,
    "session_energy": 2,
    "active_power": 3,
    "single_phase_current": 4,
    "l1_current": 4,
    "l2_current": 4,
    "l3_current": 4,
    "session_time": 5,
}
_BALANCING_SCOPES: Final = frozenset(
    scope for scope in Scope if scope.value.startswith("Balancing")
)

_PILOT_CONNECTED: Final[dict[ControlPilotState, bool]] = {
    ControlPilotState.STANDBY: False,
    ControlPilotState.VEHICLE_DETECTED: True,
    ControlPilotState.READY_CHARGING: True,
    ControlPilotState.CHARGING_WITH_VENTILATION: True,
    ControlPilotState.FINISHED: True,
    ControlPilotState.SUSPENDED_EV_SE: True,
    ControlPilotState.SUSPENDED_EV: True,
}
_OCPP_CONNECTED: Final[dict[OcppState, bool]] = {
    OcppState.CHARGING: True,
    OcppState.EV_CONNECTED: True,
    OcppState.SUSPENDED_EV: True,
    OcppState.SUSPENDED_EVSE: True,
    OcppState.OCCUPIED: True,
    OcppState.IDLE: False,
    OcppState.AVAILABLE: False,
}
_PILOT_CHARGING: Final = frozenset({ControlPilotState.READY_CHARGING, ControlPilotState.CHARGING_WITH_VENTILATION})


class InvalidChargerConfigError(ValueError):
    """The data of a charger subentry does not validate (parameters or group addresses)."""


@dataclass(slots=True, frozen=True)
class ObjectState:
    """Last value of a communication object and when it was received or written.

    ``value``: decoded value (bool, int s/Wh, float A/W, str, or a DPT 20.x enum member);
    ``monotonic``: ``time.monotonic()`` seconds; ``utc``: aware UTC datetime; ``source``:
    ``"bus"`` (telegram received) or ``"written"`` (sent by this coordinator).
    """

    value: Any
    monotonic: float
    utc: datetime
    source: str


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class ChargerCoordinator:
    """State and commands of one charger, fed by telegrams from the hub.

    Read side: ``has_object``, ``state``, ``value``, ``age``, ``last_written``, and the balancing
    helpers ``measured_power``, ``phase_currents``, ``measured_current``, ``vehicle_connected``,
    ``is_charging``, ``current_limit_status``, ``last_written_current_limit``. Changes:
    ``async_add_listener(listener, numbers)``. Write side: ``async_set_current_limit``,
    ``async_set_power_limit``, ``async_start_stop``, ``async_set_max_session_time``,
    ``async_add_rfid_tag``, ``async_write_object`` and ``validate_write``. Liveness: ``is_stale``,
    ``silence_limit``, ``last_heard`` (listeners get ``None`` when it changes, as for availability).
    """

    answer_timeout: float = DEFAULT_ANSWER_TIMEOUT
    liveness_after: float = DEFAULT_LIVENESS_AFTER
    stale_check_interval: float = DEFAULT_STALE_CHECK_INTERVAL

    def __init__(
        self, hass: HomeAssistant, hub: KnxEvseHub, entry: ConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Build from a charger subentry's data.

        Raises InvalidChargerConfigError when the ETS parameters or the group-address map do not
        validate (see ``ChargerParameters.from_dict`` and ``validate_group_addresses``).
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
            self.params = ChargerParameters.from_dict(data.get(CONF_PARAMETERS) or {})
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
        self.silence_limit: float = self._silence_limit()
        """s of silence after which the charger is checked with a liveness read."""
        self.last_heard: float = time.monotonic()
        """``time.monotonic()`` of the last telegram from the charger (or of the last (re)connect)."""
        self._unanswered_since: float | None = None
        self._heard_count = 0
        self._last_read_at = 0.0
        self._stale = False
        self._liveness_task: asyncio.Task[None] | None = None
        self._states: dict[int, ObjectState] = {}
        self._written: dict[int, ObjectState] = {}
        self._listeners: dict[int, list[ObjectListener]] = {}
        self._all_listeners: list[ObjectListener] = []
        self._reads_done_listeners: list[Callable[[list[int]], None]] = []
        self.last_read_plan: list[int] = []
        """The objects of the last read plan whose reads were all sent (empty before)."""
        self._warned_gas: set[int] = set()
        self._unsubs: list[CALLBACK_TYPE] = []
        self._read_task: asyncio.Task[None] | None = None
        self.telegrams_received = 0
        self.telegrams_decoded = 0
        self.telegrams_invalid = 0
        self.telegrams_sent = 0
        self.reads_sent = 0

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

    @property
    def is_stale(self) -> bool:
        """True while the charger does not answer (see the module docstring, "Staleness").

        Its last values are kept but are not current; listeners are called with ``None`` when this
        changes.
        """
        return self._stale

    def _silence_limit(self) -> float:
        """Twice the shortest linked cyclic sending period plus ``STALE_GRACE``, else ``liveness_after``."""
        periods = [
            float(getattr(self.params, f"{group}_period"))
            for group, numbers in _CYCLIC_GROUPS.items()
            if getattr(self.params, f"{group}_sending") in ("cyclic", "both")
            and any(n + CONN2_OFFSET * (c - 1) in self.group_addresses for n in numbers for c in self.connectors)
        ]
        if not periods:
            return self.liveness_after
        return min(2 * min(periods) + STALE_GRACE, self.liveness_after)

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
        to the charger's device (``via_device_id``) when the hub is set up.
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
            name=f"{self.name} connector {connector}",
            manufacturer=MANUFACTURER,
            model=self.model,
        )

    # -- incoming ---------------------------------------------------------------------------

    def _handle_telegram(self, telegram: Telegram) -> None:
        """Hub handler: decode a write/response for every object on its group address.

        Bad payloads (wrong length, NaN, reserved enum value) and services other than GroupValueWrite/
        Response/Read (a memory or property service has no business on a group address) are logged
        once per group address and ignored; the last good state is kept. Never raises.
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
        listeners = self._all_listeners if number is None else self._listeners.get(number)
        if not listeners:
            return
        for listener in tuple(listeners):
            try:
                listener(number)
            except Exception:
                _LOGGER.exception("%s: error in listener of object %s", self.name, number)

    @callback
    def async_add_listener(self, listener: ObjectListener, numbers: Iterable[int]) -> CALLBACK_TYPE:
        """Call ``listener(number)`` when one of ``numbers`` changes.

        ``listener(None)`` is called when the connection (availability) changes. Returns the function
        removing the listener.
        """
        wanted = tuple(dict.fromkeys(numbers))
        for number in wanted:
            self._listeners.setdefault(number, []).append(listener)
        self._all_listeners.append(listener)

        @callback
        def remove() -> None:
            for number in wanted:
                listeners = self._listeners.get(number)
                if listeners and listener in listeners:
                    listeners.remove(listener)
            if listener in self._all_listeners:
                self._all_listeners.remove(listener)

        return remove

    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self._reset_liveness()
            self._start_reads()
        self._notify(None)

    # -- liveness ---------------------------------------------------------------------------

    def _heard(self, now: float) -> None:
        """Record a telegram from the charger: it is alive (ends staleness)."""
        self.last_heard = now
        self._heard_count += 1
        self._unanswered_since = None
        if self._stale:
            self._stale = False
            _LOGGER.info("%s answers again", self.name)
            self._notify(None)

    def _reset_liveness(self) -> None:
        """Start counting silence afresh (set-up, reconnect): nothing could be heard before."""
        self.last_heard = time.monotonic()
        self._unanswered_since = None
        self._stale = False

    def _read_sent(self, sent_at: float, first: bool, heard_before: int) -> None:
        """Record a read sent at ``sent_at``; the first of a batch waits for an answer.

        ``heard_before`` is ``_heard_count`` before the read was handed to the hub: a telegram heard
        since then (often the answer, during the hub's read pacing) already answers it.
        """
        self._last_read_at = sent_at
        if first and self._unanswered_since is None and self._heard_count == heard_before:
            self._unanswered_since = sent_at

    @callback
    def _async_check_alive(self, _now: datetime | None = None) -> None:
        """Timer: mark the charger stale when a read went unanswered; read it when silent too long."""
        if not self.hub.connected:
            return
        now = time.monotonic()
        if (
            not self._stale
            and self._unanswered_since is not None
            and now - self._unanswered_since >= self.answer_timeout
        ):
            self._stale = True
            _LOGGER.warning(
                "%s sent nothing for %.0f s and did not answer a read: its entities are unavailable "
                "until it sends again",
                self.name,
                now - self.last_heard,
            )
            self._notify(None)
        if (
            now - max(self.last_heard, self._last_read_at) >= self.silence_limit
            and self.startup_reads_done
            and (self._liveness_task is None or self._liveness_task.done())
            and (plan := self.read_plan())
        ):
            self._liveness_task = self.entry.async_create_background_task(
                self.hass, self._async_liveness_read(plan[0]), f"{DOMAIN} liveness read of {self.name}"
            )

    async def _async_liveness_read(self, number: int) -> None:
        heard_before = self._heard_count
        try:
            sent_at = await self.hub.async_read(self.group_addresses[number][0])
        except HomeAssistantError:
            return
        self.reads_sent += 1
        self._read_sent(sent_at, True, heard_before)

    # -- start-up reads ---------------------------------------------------------------------

    def read_plan(self) -> list[int]:
        """Object numbers read at start, in order: readable, linked, essentials first, at most 30."""
        candidates = [
            obj
            for number, obj in OBJECTS.items()
            if obj.readable and number in self.group_addresses
        ]

        def priority(obj: CommObject) -> tuple[int, int]:
            if obj.scope in _BALANCING_SCOPES:
                return (99, obj.number)
            return (_READ_PRIORITY.get(obj.base_key, 50), obj.number)

        return [obj.number for obj in sorted(candidates, key=priority)[:MAX_STARTUP_READS]]

    @callback
    def async_add_reads_done_listener(self, listener: Callable[[list[int]], None]) -> CALLBACK_TYPE:
        """Call ``listener(plan)`` each time all reads of a plan were sent; return the remover.

        Used by the repairs (``repairs.ChargerRepairs``) to find status objects that never answer.
        """
        self._reads_done_listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._reads_done_listeners:
                self._reads_done_listeners.remove(listener)

        return remove

    @callback
    def async_request_reads(self, numbers: Iterable[int]) -> None:
        """Send GroupValueRead to the readable, linked objects among ``numbers`` (in the background)."""
        self._start_reads([n for n in numbers if n in self.group_addresses and OBJECTS[n].readable])

    def _start_reads(self, plan: list[int] | None = None) -> None:
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
        plan = self.read_plan() if plan is None else plan
        if not plan:
            return
        self._read_task = self.entry.async_create_background_task(
            self.hass, self._async_read(plan), f"{DOMAIN} start-up reads of {self.name}"
        )

    @property
    def startup_reads_done(self) -> bool:
        """Return True when no start-up (or reconnect) GroupValueRead is still waiting to be sent."""
        return self._read_task is None or self._read_task.done()

    async def _async_read(self, plan: list[int]) -> None:
        for index, number in enumerate(plan):
            if not self.hub.connected:
                return
            heard_before = self._heard_count
            try:
                sent_at = await self.hub.async_read(self.group_addresses[number][0])
            except HomeAssistantError:
                return
            self.reads_sent += 1
            self._read_sent(sent_at, index == 0, heard_before)
        self.last_read_plan = plan
        for listener in tuple(self._reads_done_listeners):
            try:
                listener(plan)
            except Exception:
                _LOGGER.exception("%s: error in start-up reads listener", self.name)

    async def _cancel_reads(self) -> None:
        task, self._read_task = self._read_task, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if (current := asyncio.current_task()) is not None and current.cancelling():
                raise

    # -- read side --------------------------------------------------------------------------

    def has_object(self, number: int) -> bool:
        """Return True when object ``number`` is enabled by the parameters and linked to a group address."""
        return number in self.group_addresses

    def state(self, number: int) -> ObjectState | None:
        """Last ``ObjectState`` of object ``number`` (received or written), None before any."""
        return self._states.get(number)

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

    def _scope_number(self, evse_number: int, conn1_number: int, connector: int | None) -> int:
        if connector is None:
            return evse_number
        return connector_object(conn1_number, connector).number

    def measured_power(self, connector: int | None = None) -> float | None:
        """W: instantaneous active power of the charger (13) or a connector (47/96)."""
        value = self.value(self._scope_number(13, 47, connector))
        return None if value is None else float(value)

    def phase_currents(self, connector: int | None = None) -> tuple[float | None, ...]:
        """Return the instantaneous currents in A of the charger or a connector.

        ``(I,)`` on single-phase (14/48/97), ``(L1, L2, L3)`` on three-phase (15-17/49-51/98-100).
        Unknown phases are None.
        """
        if self.params.phases == 1:
            numbers = [self._scope_number(14, 48, connector)]
        else:
            numbers = [self._scope_number(e, c, connector) for e, c in ((15, 49), (16, 50), (17, 51))]
        return tuple(None if (v := self.value(n)) is None else float(v) for n in numbers)

    def measured_current(self, connector: int | None = None) -> float | None:
        """Return the highest known phase current (A) of the charger or a connector, None if none is known."""
        known = [c for c in self.phase_currents(connector) if c is not None]
        return max(known) if known else None

    def vehicle_connected(self, connector: int) -> bool | None:
        """Return whether a vehicle is plugged into ``connector``, None when unknown.

        Object 36/85, else derived from the pilot (34/83) or OCPP (35/84) state.
        """
        direct = self.value(connector_object(36, connector).number)
        if direct is not None:
            return bool(direct)
        pilot = self.value(connector_object(34, connector).number)
        if pilot is not None and pilot in _PILOT_CONNECTED:
            return _PILOT_CONNECTED[pilot]
        ocpp = self.value(connector_object(35, connector).number)
        if ocpp is not None and ocpp in _OCPP_CONNECTED:
            return _OCPP_CONNECTED[ocpp]
        return None

    def is_charging(self, connector: int) -> bool | None:
        """Return whether ``connector`` is charging, None when unknown.

        Object 37/86, else derived from the pilot (34/83) or OCPP (35/84) state.
        """
        direct = self.value(connector_object(37, connector).number)
        if direct is not None:
            return bool(direct)
        pilot = self.value(connector_object(34, connector).number)
        if pilot is not None:
            return pilot in _PILOT_CHARGING
        ocpp = self.value(connector_object(35, connector).number)
        if ocpp is not None:
            return bool(ocpp is OcppState.CHARGING)
        return None

    def current_limit_status(self, connector: int | None = None) -> float | None:
        """Return the current limit (A) the charger reports (3, or 61/110 for a connector), None if unknown."""
        value = self.value(self._scope_number(3, 61, connector))
        return None if value is None else float(value)

    def confirmed_current_limit(self, connector: int | None = None) -> float | None:
        """Return the charger's reported current limit (A), when it is newer than our last write.

        Object 3 (61/110 for a connector), received after this coordinator's last write of the
        limit object 1 (31/80); None when unknown or not newer than that write.
        """
        status = self.state(self._scope_number(3, 61, connector))
        if status is None or status.source != SOURCE_BUS:
            return None
        written = self.last_written(self._scope_number(1, 31, connector))
        if written is not None and status.monotonic <= written.monotonic:
            return None
        return float(status.value)

    def last_written_current_limit(self, connector: int | None = None) -> float | None:
        """Return the current limit (A) this coordinator last wrote (1, or 31/80), None if never."""
        written = self.last_written(self._scope_number(1, 31, connector))
        return None if written is None else float(written.value)

    def max_power(self, connector: int | None = None) -> float:
        """Return the highest power limit (W) that may be written for the charger or a connector.

        Maximum User Current × 230 V × phases; twice that for the charger total of a two-connector
        single-phase model whose connectors are on different phases.
        """
        limit = self.params.max_power
        if (
            connector is None
            and self.params.connectors == 2
            and self.params.phases == 1
            and self.params.phase_connection == "different"
        ):
            limit *= 2
        return limit

    # -- write side -------------------------------------------------------------------------

    def _error(self, key: str, **placeholders: Any) -> ServiceValidationError:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"charger": self.name, **{k: _fmt(v) for k, v in placeholders.items()}},
        )

    def _check_connector(self, connector: int | None) -> None:
        if connector is not None and connector not in self.connectors:
            raise self._error("invalid_connector", connector=connector, connectors=len(self.connectors))

    def _command_object(self, number: int) -> CommObject:
        try:
            obj = get_object(number)
        except UnknownObjectError:
            raise self._error("unknown_object", object=number) from None
        label = f"{obj.number} {obj.name}"
        if not obj.writable:
            raise self._error("object_not_writable", object=label)
        if number not in self.enabled_objects:
            raise self._error("object_not_enabled", object=label)
        if number not in self.group_addresses:
            raise self._error("object_not_linked", object=label)
        return obj

    def validate_write(self, number: int, value: Any) -> tuple[CommObject, Any]:
        """Check that ``value`` may be written to object ``number``; return the object and the value.

        The value returned is normalised (float A/W, int s, bool, str).

        Raises translated ServiceValidationError: ``unknown_object``, ``object_not_writable``,
        ``object_not_enabled``, ``object_not_linked``, ``invalid_number``, ``current_out_of_range``,
        ``current_above_user_maximum``, ``power_out_of_range``, ``session_time_out_of_range``,
        ``rfid_invalid``, ``invalid_bool``.
        """
        obj = self._command_object(number)
        label = f"{obj.number} {obj.name}"
        if obj.size_bits == 1:
            if isinstance(value, bool):
                return obj, value
            if isinstance(value, int) and value in (0, 1):
                return obj, bool(value)
            raise self._error("invalid_bool", object=label, value=value)
        if obj.dpt == "16.001":
            return obj, self._validate_rfid(value)
        number_value = self._finite(value, label)
        if obj.base_key == "current_limit" and obj.scope in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
            return obj, self._validate_current(number_value)
        if obj.base_key == "active_power_limit" and obj.scope in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
            connector = None if obj.scope is Scope.EVSE else (1 if obj.scope is Scope.CONN1 else 2)
            return obj, self._validate_power(number_value, connector)
        if obj.dpt == "7.005":
            if number_value != int(number_value) or not 0 <= number_value <= MAX_SESSION_SECONDS:
                raise self._error("session_time_out_of_range", value=number_value, max=MAX_SESSION_SECONDS)
            return obj, int(number_value)
        return obj, number_value

    def _finite(self, value: Any, label: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self._error("invalid_number", object=label, value=value)
        return float(value)

    def _validate_current(self, amps: float) -> float:
        if amps != 0 and not MIN_CURRENT <= amps <= MAX_CURRENT:
            raise self._error("current_out_of_range", value=amps, min=MIN_CURRENT, max=MAX_CURRENT)
        if amps > self.params.max_user_current:
            raise self._error("current_above_user_maximum", value=amps, max=self.params.max_user_current)
        return amps

    def _validate_power(self, watts: float, connector: int | None) -> float:
        limit = self.max_power(connector)
        if not 0 <= watts <= limit:
            raise self._error("power_out_of_range", value=watts, max=limit)
        return watts

    def _validate_rfid(self, tag: Any) -> str:
        if not isinstance(tag, str) or not 1 <= len(tag) <= RFID_MAX_LENGTH:
            raise self._error("rfid_invalid", value=tag, max=RFID_MAX_LENGTH)
        try:
            tag.encode("latin-1")
        except UnicodeEncodeError:
            raise self._error("rfid_invalid", value=tag, max=RFID_MAX_LENGTH) from None
        return tag

    async def async_write_object(self, number: int, value: Any) -> None:
        """Validate, encode and send ``value`` to command object ``number`` (its sending group address).

        Raises ServiceValidationError (see ``validate_write``; ``invalid_value`` when the DPT cannot
        encode it) before anything is sent, and HomeAssistantError ``not_connected`` while the KNX
        connection is down. Afterwards ``last_written(number)`` and ``state(number)`` hold the value.
        """
        obj, checked = self.validate_write(number, value)
        try:
            payload: DPTArray | DPTBinary = encode(obj, checked)
        except EncodeError as err:
            raise self._error("invalid_value", object=f"{obj.number} {obj.name}", value=checked, error=err) from err
        await self.hub.async_write(self.group_addresses[number][0], payload)
        self.telegrams_sent += 1
        written = ObjectState(checked, time.monotonic(), dt_util.utcnow(), SOURCE_WRITTEN)
        self._written[number] = written
        self._states[number] = written
        self._notify(number)

    async def async_set_current_limit(self, connector: int | None, amps: float) -> None:
        """Write a current limit (A): charger total (object 1) or connector 1/2 (31/80).

        0 pauses; otherwise 6-32 A and at most Maximum User Current. Raises ServiceValidationError
        before sending for anything else, or for a connector the model does not have.
        """
        self._check_connector(connector)
        await self.async_write_object(self._scope_number(1, 31, connector), amps)

    async def async_set_power_limit(self, connector: int | None, watts: float) -> None:
        """Write an active-power limit (W): charger total (object 2) or connector 1/2 (32/81).

        0 up to ``max_power(connector)``; raises ServiceValidationError before sending otherwise.
        """
        self._check_connector(connector)
        await self.async_write_object(self._scope_number(2, 32, connector), watts)

    async def async_start_stop(self, connector: int | None, start: bool) -> None:
        """Start (True) or stop (False) charging.

        Connector 1/2: objects 33/82 (DPT 1.010); ``connector`` None: restart/pause all charging of the
        charger (object 18).
        """
        self._check_connector(connector)
        await self.async_write_object(18 if connector is None else connector_object(33, connector).number, start)

    async def async_set_max_session_time(self, seconds: float) -> None:
        """Write the maximum charging session (object 6, whole seconds 0-65535)."""
        await self.async_write_object(6, seconds)

    async def async_add_rfid_tag(self, tag: str) -> None:
        """Authorise an RFID tag (object 8, 1-14 ISO 8859-1 characters)."""
        await self.async_write_object(8, tag)
