"""The charger as the balancing sees it: one member (a connector or the whole charger), read and driven.

Source: manual, "Communication Objects". The objects are named by their key in the object table
(``knx/objects.py``), scoped to the whole charger or to connector 1/2:

- currents: ``single_phase_current`` or ``l1``-``l3_current`` (A), else ``active_power`` (W) ÷ 230 V
  ÷ phases; a whole charger without totals sums its connectors; a whole two-phase charger
  (``ChargerParameters.two_phase``) reads each connector;
- a whole charger that splits its limit between two vehicles (``ChargerParameters.splits_limit``):
  how many connectors share it and the busiest connector's draw;
- vehicle connected / charging: ``vehicle_connected`` / ``charging``, else derived from the pilot
  (``pilot_state``) or OCPP (``ocpp_state``) state;
- the limit: ``current_limit`` (written) and ``current_limit_status`` (what the charger confirms);
- start/stop: the connectors' ``start_stop``, else the charger's ``pause_restart``; none linked:
  a pause is a 0 A limit;
- bridge mode: the built-in master's ``current_measured`` (A) or ``active_power_measured`` (W);
- what a manual write is to a member (``write_role``): its limit, its one start/stop object, or
  another object that limits, pauses or starts it (current and power limits, start/stop, pause).

Only this module and the object table know which object plays which part; the balancing group
reads and acts through ``ChargerInterface`` alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache
from typing import Final, Literal

from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.device_registry import DeviceInfo

from ..knx.dpt import ControlPilotState, OcppState
from ..knx.objects import OBJECTS_BY_KEY, scoped_object
from ..knx.parameters import VOLTAGE, ChargerParameters
from .coordinator import SOURCE_BUS, ChargerCoordinator

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
_PHASE_KEYS: Final = {1: ("single_phase_current",), 3: ("l1_current", "l2_current", "l3_current")}
_PLUG_KEYS: Final = ("vehicle_connected", "pilot_state", "ocpp_state")

Currents = float | tuple[float, ...]
"""A a member draws: a float on a single-phase charger, L1-L3 on a three-phase one, (connector 1,
connector 2) for a whole two-phase charger."""
WriteRole = Literal["limit", "stop", "other"]
"""What a written object is to a member (``ChargerInterface.write_role``)."""


@cache
def _number(key: str, connector: int | None) -> int:
    """Return the number of object ``key`` of the charger (None) or of connector 1/2 (looked up once)."""
    return scoped_object(key, connector).number


def limit_object(connector: int | None) -> int:
    """Return the current-limit object of the whole charger (None) or of connector 1/2."""
    return _number("current_limit", connector)


def control_objects(connector: int | None) -> tuple[int, ...]:
    """Objects of the whole charger (None) or of connector 1/2 that limit, pause or start its charging."""
    stop = "pause_restart" if connector is None else "start_stop"
    return tuple(_number(key, connector) for key in ("current_limit", "active_power_limit", stop))


def measurement_objects(params: ChargerParameters, connector: int | None) -> tuple[int, ...]:
    """Objects giving the measured current (single-phase, or L1-L3) or power of a member."""
    return tuple(_number(key, connector) for key in (*_PHASE_KEYS[params.phases], "active_power"))


def _either(states: list[bool | None]) -> bool | None:
    """Return True when any connector says so, None when one is unknown, else False."""
    if any(states):
        return True
    return None if any(s is None for s in states) else False


class ChargerInterface:
    """One balanced member of a charger: ``connector`` 1/2, or None for the whole charger.

    Reads: ``currents``, ``phase_currents``, ``measured_power``, ``measured_current``,
    ``sharing_connectors``, ``busiest_current``, ``vehicle_connected``, ``charging``,
    ``limit_status``, ``confirmed_limit``, ``last_written_limit``, ``is_stale``, ``write_role``. Acts:
    ``async_apply_limit``, ``async_resume``, ``async_pause`` (and ``async_feed_meter`` for bridge
    mode). ``async_add_listener`` calls back when anything the balancing reads changes. Writes raise
    HomeAssistantError when they cannot be sent.
    """

    def __init__(self, coordinator: ChargerCoordinator, connector: int | None = None) -> None:
        """Wrap ``coordinator``'s ``connector`` (None: the whole charger)."""
        self.coordinator = coordinator
        self.connector = connector
        self.params: ChargerParameters = coordinator.params
        """The charger's ETS parameters."""
        self._connectors: tuple[int, ...] = coordinator.connectors if connector is None else (connector,)
        self.connectors = self._connectors
        """The connectors (1, 2) the member is made of."""
        starts = tuple(n for c in self._connectors if coordinator.has_object(n := _number("start_stop", c)))
        if not starts and connector is None and coordinator.has_object(pause := _number("pause_restart", None)):
            starts = (pause,)
        self._limit = limit_object(connector)
        self.stop_objects: tuple[int, ...] = starts
        """Objects that pause/resume the member; () when none is linked (a pause is then a 0 A limit)."""
        self.control_objects: frozenset[int] = frozenset(
            n for scope in (None, *self._connectors) for n in control_objects(scope)
        )
        """Objects that limit, pause or start the member: the charger's and its connectors' (``control_objects``)."""

    # -- identity ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The charger's name."""
        return self.coordinator.name

    @property
    def subentry_id(self) -> str:
        """The charger's subentry id."""
        return self.coordinator.subentry_id

    @property
    def is_stale(self) -> bool:
        """True while the charger does not answer (``ChargerCoordinator.is_stale``)."""
        return self.coordinator.is_stale

    def device_info(self) -> DeviceInfo:
        """Return the device of the member's entities: the charger, or its connector sub-device."""
        return self.coordinator.device_info(self.connector)

    def write_role(self, number: int) -> WriteRole | None:
        """Return what a write to object ``number`` is to the member, None when it does not act on it.

        ``"limit"``: the member's current limit (the one the balancing writes); ``"stop"``: its one
        start/stop object (the one the balancing pauses it with); ``"other"``: any other of its
        ``control_objects`` (a connector's limit or start/stop of a whole two-connector charger,
        the charger's limit or pause of a connector, any power limit).
        """
        if number == self._limit:
            return "limit"
        if self.stop_objects == (number,):
            return "stop"
        return "other" if number in self.control_objects else None

    # -- reads ---------------------------------------------------------------------------------

    def _phases(self, scope: int | None) -> tuple[float | None, ...]:
        keys = _PHASE_KEYS[self.params.phases]
        return tuple(None if (v := self.coordinator.value(_number(key, scope))) is None else float(v) for key in keys)

    def _power(self, scope: int | None) -> float | None:
        value = self.coordinator.value(_number("active_power", scope))
        return None if value is None else float(value)

    def phase_currents(self) -> tuple[float | None, ...]:
        """Return the A per phase of the member's own objects: ``(I,)`` or ``(L1, L2, L3)``; unknown is None."""
        return self._phases(self.connector)

    def measured_power(self) -> float | None:
        """W: the member's active power, None when unknown."""
        return self._power(self.connector)

    def measured_current(self) -> float | None:
        """Return the highest known phase current (A) of the member, None when none is known."""
        known = [c for c in self.phase_currents() if c is not None]
        return max(known) if known else None

    def _draw(self, connector: int) -> float | None:
        """Return the A per phase ``connector`` draws: its highest known phase, else power ÷ 230 V ÷ phases."""
        known = [v for v in self._phases(connector) if v is not None]
        if known:
            return max(known)
        power = self._power(connector)
        if power is None or not math.isfinite(power):
            return None
        return max(0.0, power) / (VOLTAGE * self.params.phases)

    def currents(self) -> Currents | None:
        """Return the A the member draws (``Currents``), from its currents or else its power; None if unknown.

        A whole charger without its own totals sums its connectors; an unknown phase next to known
        ones counts as the highest known one. A whole two-phase charger gives each connector's draw
        (an unknown one next to a known one counts as that one).
        """
        if self.connector is None and self.params.two_phase:
            draws = [self._draw(c) for c in self._connectors]
            known = [d for d in draws if d is not None]
            return tuple(max(known) if d is None else d for d in draws) if known else None
        values = list(self._phases(self.connector))
        if self.connector is None and all(v is None for v in values):
            per_connector = [self._phases(c) for c in self._connectors]
            if any(v is not None for currents in per_connector for v in currents):
                values = [sum(v or 0.0 for v in phase) for phase in zip(*per_connector, strict=True)]
        if all(v is None for v in values):
            power = self._power(self.connector)
            if power is None and self.connector is None:
                powers = [p for c in self._connectors if (p := self._power(c)) is not None]
                power = sum(powers) if powers else None
            if power is None or not math.isfinite(power):
                return None
            values = [max(0.0, power) / (VOLTAGE * self.params.phases)] * len(values)
        known = [v for v in values if v is not None]
        if self.params.phases == 1:
            return known[0]
        return tuple(max(known) if v is None else v for v in values)

    def _plugged(self, connector: int) -> bool | None:
        direct = self.coordinator.value(_number("vehicle_connected", connector))
        if direct is not None:
            return bool(direct)
        pilot = self.coordinator.value(_number("pilot_state", connector))
        if pilot is not None and pilot in _PILOT_CONNECTED:
            return _PILOT_CONNECTED[pilot]
        ocpp = self.coordinator.value(_number("ocpp_state", connector))
        if ocpp is not None and ocpp in _OCPP_CONNECTED:
            return _OCPP_CONNECTED[ocpp]
        return None

    def _charging(self, connector: int) -> bool | None:
        direct = self.coordinator.value(_number("charging", connector))
        if direct is not None:
            return bool(direct)
        pilot = self.coordinator.value(_number("pilot_state", connector))
        if pilot is not None:
            return pilot in _PILOT_CHARGING
        ocpp = self.coordinator.value(_number("ocpp_state", connector))
        if ocpp is not None:
            return bool(ocpp is OcppState.CHARGING)
        return None

    def sharing_connectors(self) -> int:
        """Return how many vehicles share the member's limit: 1, or 2 (see below).

        2 for a whole charger that splits its limit (``ChargerParameters.splits_limit``) while no
        connector is known to be unplugged. An unknown plug state counts as plugged: the member's
        minimum is then 12 A, so two vehicles never get 3 A each; a lone vehicle at most waits for
        12 A instead of 6 A.
        """
        if self.connector is not None or not self.params.splits_limit:
            return 1
        return 2 if all(self._plugged(c) is not False for c in self._connectors) else 1

    def busiest_current(self) -> float | None:
        """Return the A per phase of the connector that draws most, for a whole charger that splits its limit.

        None for any other member, or while a connector's draw (current, else power) is unknown.
        """
        if self.connector is not None or not self.params.splits_limit:
            return None
        draws = [d for c in self._connectors if (d := self._draw(c)) is not None]
        return max(draws) if len(draws) == len(self._connectors) else None

    def vehicle_connected(self) -> bool | None:
        """Whether a vehicle is plugged in (a whole charger: into any connector), None when unknown."""
        if self.connector is not None:
            return self._plugged(self.connector)
        return _either([self._plugged(c) for c in self._connectors])

    def charging(self) -> bool | None:
        """Whether the member charges (a whole charger: any connector), None when unknown."""
        if self.connector is not None:
            return self._charging(self.connector)
        return _either([self._charging(c) for c in self._connectors])

    def limit_status(self) -> float | None:
        """Return the current limit (A) the charger reports for the member, None when unknown."""
        value = self.coordinator.value(_number("current_limit_status", self.connector))
        return None if value is None else float(value)

    def confirmed_limit(self) -> float | None:
        """Return the limit (A) the charger reports when received after our last write of it, else None."""
        status = self.coordinator.state(_number("current_limit_status", self.connector))
        if status is None or status.source != SOURCE_BUS:
            return None
        written = self.coordinator.last_written(self._limit)
        if written is not None and status.monotonic <= written.monotonic:
            return None
        return float(status.value)

    def last_written_limit(self) -> float | None:
        """Return the current limit (A) last written for the member, None if never."""
        written = self.coordinator.last_written(self._limit)
        return None if written is None else float(written.value)

    @property
    def has_start_stop(self) -> bool:
        """True when a pause is a Stop (a start/stop object is linked), False when it is a 0 A limit."""
        return bool(self.stop_objects)

    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Call ``listener()`` when the member's plug state or currents change; return the remover."""
        coordinator = self.coordinator
        numbers = [_number(key, c) for key in _PLUG_KEYS for c in coordinator.connectors]
        scopes: list[int | None] = [None, *coordinator.connectors] if self.connector is None else [self.connector]
        numbers += [n for scope in scopes for n in measurement_objects(self.params, scope) if coordinator.has_object(n)]
        return coordinator.async_add_listener(lambda _number: listener(), numbers)

    # -- acts ----------------------------------------------------------------------------------

    async def async_apply_limit(self, amps: float) -> None:
        """Write the member's current limit (A; 0 pauses)."""
        await self.coordinator.async_write_object(self._limit, amps)

    async def async_resume(self) -> None:
        """Send Start on every start/stop object of the member (none linked: nothing to send)."""
        for number in self.stop_objects:
            await self.coordinator.async_write_object(number, True)

    async def async_pause(self) -> None:
        """Send Stop on the member's start/stop objects, or a 0 A limit when none is linked."""
        if not self.stop_objects:
            await self.async_apply_limit(0)
        for number in self.stop_objects:
            await self.coordinator.async_write_object(number, False)

    async def async_feed_meter(self, value: float) -> None:
        """Bridge mode: write the meter to the built-in master (A with current control, else W)."""
        key = "current_measured" if self.params.balancing_current_control else "active_power_measured"
        await self.coordinator.async_write_object(OBJECTS_BY_KEY[f"balancing_{key}"].number, round(value, 2))
