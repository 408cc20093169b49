"""A simulated KNX EV charger (VE 741/742/221/222) built on the integration's object table.

Source: ``charger-ets-manual.md`` (all sections; each behaviour below names its section). The
charger is configured from a charger subentry's data ``{name, individual_address, model, parameters,
group_addresses}`` (see ``custom_components.knx_evse.const``), the same dict that sets up Home
Assistant, so one installation file configures both sides.

Bus model
    The charger listens on every group address of its writable objects (GroupValueWrite) and answers
    GroupValueRead on the addresses of its readable objects with GroupValueResponse. It transmits only
    on the *first* (sending) address of a status object. A telegram it sends is also delivered to its
    own writable objects linked to the same address (as on a real device, where the built-in master's
    outputs reach the charger's own inputs). Payloads are encoded and decoded with
    ``custom_components.knx_evse.knx.dpt`` by object; a payload of the wrong length is ignored and counted
    in ``rejected``.

    Sending goes through a ``send(telegram)`` callable: inject one to capture telegrams in tests, or
    attach the charger to a `KnxHost` (one XKNX tunnel, shared by several simulated devices, or owned).

Time
    No real sleeps: ``step(dt)`` advances the model by ``dt`` simulated seconds (physics, timers,
    cyclic sending, fail-safe, the built-in master). ``simulator.runner`` drives ``step`` from asyncio
    at a configurable rate and time compression.

Choices where the manual is silent (all in one place)
    - Limits: current limits are A per phase of the charging current (the pilot current); power limits
      are W over all phases. Object 1/2 are the charger's totals, 31/32 and 80/81 each connector's.
      The offered current is the smallest of: Maximum User Current, the total current limit, total
      power limit / (230 V x phases in use), Contracted Power / (230 V x phases), each split 50/50 when
      two vehicles are connected ("no transfer of unused power"), then the connector's own limits. A
      single-phase two-connector charger wired to different phases ("Phase connection: different")
      does not split. An offer below 6 A means no charging ("suspended by EVSE").
    - Written limits are clamped to 0…Maximum User Current (A) and 0…the charger's maximum power (W);
      the status objects (3/4, 61/63, 110/112) report the clamped value, or the fail-safe value while
      fail-safe is active (object 3/4 only: "Fail-safe values are set as new limits").
    - Fail-safe: any write to a charger object (EVSE or connector scope, not the balancing inputs)
      counts as "a signal at the function block inputs". After ``fail_safe_timeout`` s without one,
      the charger applies the fail-safe current (and that current x 230 V x phases as power) and sends
      10 = 1, 62/64 (per connector: the fail-safe value now applied, 0 when inactive). The next write
      leaves fail-safe and restores the limits in force before it. 11/12 always report the configured
      fail-safe current and power.
    - Sessions: plugging in starts a session when auto-start is on (parameter, object 26), when the
      car presents an authorised RFID tag (object 67 then reports it; "" otherwise), or on a start
      command (33/82). A stop command suspends charging ("suspended by EVSE"); start resumes it. 18
      pauses/restarts all connectors. The session ends when the driver leaves (``end_session``), on
      ``max session time`` (parameter in minutes, object 6 in seconds, 0 = always on) or on unlock
      (65/114); the connector then shows "finished" and is unlocked when auto-disconnect is on
      (parameter, object 7), else stays locked until 65/114. Session time counts from the session's
      start; session time and energy are kept after unplugging until the next session starts.
    - Block: 25 prevents new sessions (running ones continue); idle connectors report "unavailable".
      73/122 block one connector: charging there is suspended and no session starts.
    - Reset (5 = 1) and ``restart()``: limits, overrides (6, 7, 26), start/stop, pause, blocks,
      fail-safe, errors and session values go back to the ETS parameters; RFID tags are kept; plugged
      cars stay plugged (auto-start applies again); "Delay at start" and "Send status at init" run
      again. Nothing (not even read responses) is sent during "Delay at start".
    - Charging-time objects (54/57/60, 103/106/109) enable the windows given in the simulator-only
      wiring (``charging_times``); the windows themselves are set in the manufacturer's app, not via
      KNX. An enabled window restricts charging to its hours; with none enabled there is no limit.
    - States (20.1219 pilot / 20.1220 OCPP): no car → Standby/Available; blocked → Unavailable;
      car waiting for a start → Vehicle detected/EVConnected; charging → Ready charging/Charging;
      suspended by the EVSE → Suspended_EV_SE/SuspendedEVSE; EV full → Suspended_EV/SuspendedEV;
      session over → Finished/Occupied; error → ERROR/Faulted. "Reserved" is never entered (no KNX
      object reserves a connector).
    - Status sending: "Upon change" sends when ``|new - last sent|`` exceeds the threshold (strictly);
      the baseline is the value at the end of the start-up delay. Current settings cover 14-17 and
      48-51/97-100, power 13 and 47/96, energy 46/95, time 45/94, charging status 34-44/83-93. All
      other status objects are sent on any change.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Final

from xknx import XKNX
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.exceptions import CouldNotParseAddress
from xknx.io import ConnectionConfig, ConnectionType
from xknx.io.tunnel import UDPTunnel
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress, IndividualAddress
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
)
from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.dpt import ControlPilotState, EvseErrorCode, OcppState
from custom_components.knx_evse.knx.group_addresses import validate_group_addresses
from custom_components.knx_evse.knx.objects import CONN2_OFFSET, OBJECTS, CommObject, Scope
from custom_components.knx_evse.knx.parameters import VOLTAGE, ChargerParameters

from .ev import MIN_PILOT_CURRENT, ElectricVehicle
from .master import BuiltinMaster

_LOGGER = logging.getLogger(__name__)

SendFn = Callable[[Telegram], None]
"""Callable that puts one outgoing telegram on the bus."""

MAX_SESSION_TIME_VALUE: Final = 65535
"""Largest value of DPT 7.005 (s); session time is clamped to it."""


class ConnectorState(enum.Enum):
    """What a connector is doing; pilot, OCPP and the individual objects derive from it."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    CONNECTED = "connected"
    CHARGING = "charging"
    SUSPENDED_EV = "suspended_ev"
    SUSPENDED_EVSE = "suspended_evse"
    FINISHED = "finished"
    FAULTED = "faulted"


PILOT_STATE: Final[dict[ConnectorState, ControlPilotState]] = {
    ConnectorState.AVAILABLE: ControlPilotState.STANDBY,
    ConnectorState.UNAVAILABLE: ControlPilotState.UNAVAILABLE,
    ConnectorState.CONNECTED: ControlPilotState.VEHICLE_DETECTED,
    ConnectorState.CHARGING: ControlPilotState.READY_CHARGING,
    ConnectorState.SUSPENDED_EV: ControlPilotState.SUSPENDED_EV,
    ConnectorState.SUSPENDED_EVSE: ControlPilotState.SUSPENDED_EV_SE,
    ConnectorState.FINISHED: ControlPilotState.FINISHED,
    ConnectorState.FAULTED: ControlPilotState.ERROR,
}
"""Connector state → DPT 20.1219 (manual, "Charger Pilot State")."""

OCPP_STATE: Final[dict[ConnectorState, OcppState]] = {
    ConnectorState.AVAILABLE: OcppState.AVAILABLE,
    ConnectorState.UNAVAILABLE: OcppState.UNAVAILABLE,
    ConnectorState.CONNECTED: OcppState.EV_CONNECTED,
    ConnectorState.CHARGING: OcppState.CHARGING,
    ConnectorState.SUSPENDED_EV: OcppState.SUSPENDED_EV,
    ConnectorState.SUSPENDED_EVSE: OcppState.SUSPENDED_EVSE,
    ConnectorState.FINISHED: OcppState.OCCUPIED,
    ConnectorState.FAULTED: OcppState.FAULTED,
}
"""Connector state → DPT 20.1220 (manual, "Charger OCPP State")."""

# Connector-1 object numbers (connector 2 = +49) and their status-sending group.
_MEASUREMENT_GROUP: Final[dict[int, str]] = {
    13: "power",
    14: "current",
    15: "current",
    16: "current",
    17: "current",
    45: "time",
    46: "energy",
    47: "power",
    48: "current",
    49: "current",
    50: "current",
    51: "current",
}
_CHARGING_STATUS: Final = frozenset(range(34, 45))
_CHARGING_TIME_OBJECTS: Final = (54, 57, 60)
_INDIVIDUAL_STATE: Final[dict[int, ConnectorState | None]] = {
    37: ConnectorState.CHARGING,
    38: ConnectorState.AVAILABLE,
    39: ConnectorState.SUSPENDED_EV,
    40: ConnectorState.SUSPENDED_EVSE,
    41: ConnectorState.FINISHED,
    42: None,  # "reserved" is never entered
    43: ConnectorState.UNAVAILABLE,
    44: ConnectorState.FAULTED,
}


@dataclass(frozen=True, slots=True)
class ChargingWindow:
    """A daily charging-time window (local time); ``end`` before ``start`` wraps past midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Return True when ``moment`` lies in [start, end)."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(slots=True)
class Connector:
    """Runtime state of one connector (1 or 2). Units: A per phase, W, Wh, s."""

    index: int
    current_limit: float
    power_limit: float
    ev: ElectricVehicle | None = None
    session_active: bool = False
    finished: bool = False
    stopped: bool = False
    blocked: bool = False
    locked: bool = False
    rfid_tag: str = ""
    session_time: float = 0.0
    session_energy: float = 0.0
    offered: float = 0.0
    charging_time_enabled: list[bool] = field(default_factory=lambda: [False, False, False])

    @property
    def current(self) -> float:
        """A per phase the EV draws now."""
        return 0.0 if self.ev is None else self.ev.current


@dataclass(slots=True)
class _Reporter:
    mode: str
    threshold: float
    period: float
    last: Any = None
    next_cycle: float = 0.0


@functools.lru_cache(maxsize=8192)
def encode_value(number: int, value: Any) -> DPTArray | DPTBinary:
    """``dpt.encode`` for object ``number``, memoised (xknx's DPT lookup costs about 1 ms a call).

    Raises ``dpt.EncodeError`` as ``dpt.encode`` does.
    """
    return dpt.encode(OBJECTS[number], value)


def _changed(value: Any, last: Any, threshold: float) -> bool:
    if last is None:
        return True
    if isinstance(value, bool) or not isinstance(value, int | float):
        return bool(value != last)
    return abs(float(value) - float(last)) > threshold


class SimulatedCharger:
    """A KNX EV charger configured from a charger subentry's data (see the module docstring).

    ``entry``: ``{"name", "individual_address", "model", "parameters", "group_addresses"}``;
    ``parameters`` goes through ``ChargerParameters.from_dict`` and ``group_addresses`` through
    ``validate_group_addresses`` (both raise on bad input). ``send`` receives every outgoing telegram;
    it can also be set later (`KnxHost.add`). ``charging_times`` are the simulator-only charging-time
    windows 1-3 (for objects 54/57/60); ``phase`` is the house phase (1-3) of connector 1 (meter).

    Telegrams carry ``individual_address`` as their source (xknx keeps a non-zero source).

    Public state: ``time`` (simulated s since creation), ``connectors``, ``rfid_tags``, ``error_code``,
    ``communication_error``, ``fail_safe_active``, ``master`` (None unless balancing is enabled),
    ``sent`` (count), ``rejected`` (list of (object number, reason)).
    """

    def __init__(
        self,
        entry: Mapping[str, Any],
        *,
        send: SendFn | None = None,
        charging_times: Iterable[ChargingWindow | None] = (),
        phase: int = 1,
    ) -> None:
        """Build the charger; call ``start()`` to run its initialisation."""
        self.name: str = str(entry[CONF_NAME])
        self.individual_address: str = str(entry.get(CONF_CHARGER_IA, ""))
        self.model: str = str(entry.get(CONF_MODEL, ""))
        try:
            self.source_address = IndividualAddress(self.individual_address or 0)
        except CouldNotParseAddress as err:
            raise ValueError(f"{self.name}: bad individual address {self.individual_address!r}") from err
        self.params = ChargerParameters.from_dict(entry.get(CONF_PARAMETERS) or {})
        self.enabled = self.params.enabled_objects()
        self.group_addresses = validate_group_addresses(entry.get(CONF_GROUP_ADDRESSES) or {}, self.enabled)
        self._send_fn = send
        windows = list(charging_times)[:3]
        self.charging_times: list[ChargingWindow | None] = windows + [None] * (3 - len(windows))
        if phase not in (1, 2, 3):
            raise ValueError(f"phase must be 1-3, got {phase!r}")
        self.phase = phase

        # Group address → objects.
        self._writers: dict[int, list[CommObject]] = {}
        self._readers: dict[int, list[CommObject]] = {}
        self._sending_ga: dict[int, GroupAddress] = {}
        for number, addresses in self.group_addresses.items():
            obj = OBJECTS[number]
            parsed = [GroupAddress(a) for a in addresses]
            for ga in parsed:
                if obj.writable:
                    self._writers.setdefault(ga.raw, []).append(obj)
                if obj.readable:
                    self._readers.setdefault(ga.raw, []).append(obj)
            if obj.flags.transmit:
                self._sending_ga[number] = parsed[0]

        self.time = 0.0
        self.local_time: datetime | None = None
        self.rfid_tags: set[str] = set()
        self.master: BuiltinMaster | None = (
            BuiltinMaster(self.params, self._transmit) if self.params.balancing_enabled else None
        )
        self.muted = False
        self.sent = 0
        self.rejected: list[tuple[int, str]] = []
        self.connectors: list[Connector] = []
        self._reporters: dict[int, _Reporter] = {}
        self._memo_states: dict[int, ConnectorState] | None = None
        self._reset_state()
        self._startup_until = 0.0
        self._init_pending = False
        self._started = False

    # ------------------------------------------------------------------------------------------
    # Configuration helpers
    # ------------------------------------------------------------------------------------------
    @property
    def group_address_set(self) -> frozenset[GroupAddress]:
        """Every group address the charger listens to (writes) or answers (reads)."""
        return frozenset(GroupAddress(raw) for raw in set(self._writers) | set(self._readers))

    def set_send(self, send: SendFn | None) -> None:
        """Set (or clear) the function that puts outgoing telegrams on the bus."""
        self._send_fn = send

    @property
    def max_power(self) -> float:
        """W at Maximum User Current on all phases."""
        return self.params.max_power

    def _reset_state(self) -> None:
        """ETS parameter values for every runtime state; keeps RFID tags, plugged cars and the clock."""
        p = self.params
        if p.limit_by_power:
            self.current_limit = float(p.max_user_current)
            self.power_limit = min(float(p.initial_limit), self.max_power)
        else:
            self.current_limit = min(float(p.initial_limit), float(p.max_user_current))
            self.power_limit = self.max_power
        self.max_session_override: int | None = None
        self.auto_disconnect_override: bool | None = None
        self.auto_start_override: bool | None = None
        self.paused = False
        self.blocked = False
        self.fail_safe_active = False
        self._last_command = self.time
        self.error_code = EvseErrorCode.NO_ERROR
        self.communication_error = False
        evs = [c.ev for c in self.connectors] if self.connectors else [None] * p.connectors
        self.connectors = [
            Connector(
                index=n,
                current_limit=float(p.max_user_current),
                power_limit=min(float(p.connector(n, "initial_power_limit")), self.max_power),
            )
            for n in range(1, p.connectors + 1)
        ]
        for conn, ev in zip(self.connectors, evs, strict=True):
            conn.ev = ev
            if ev is not None:
                self._try_start(conn, None)

    # ------------------------------------------------------------------------------------------
    # Life cycle
    # ------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Initialise as after bus power-up: wait "Delay at start", then send the status at init."""
        self._started = True
        self._startup_until = self.time + self.params.delay_at_start
        self._init_pending = True
        if self.master is not None:
            self.master.init()
        self._finish_init_if_due()

    def reset(self) -> None:
        """Object 5: restore internal states, session values and errors; keep parameters and RFID tags."""
        _LOGGER.info("%s: reset", self.name)
        self._reset_state()
        for conn in self.connectors:
            conn.session_time = 0.0
            conn.session_energy = 0.0
        self.start()

    def restart(self) -> None:
        """Fault injection: power cycle (as ``reset``, and the charger answers again if it was muted)."""
        self.muted = False
        self.reset()

    @property
    def initialising(self) -> bool:
        """True during "Delay at start" (nothing is sent)."""
        return self._init_pending

    def _finish_init_if_due(self) -> None:
        if not self._init_pending or self.time < self._startup_until:
            return
        self._init_pending = False
        for conn in self.connectors:
            conn.offered = self.offered_current(conn)
        for number in sorted(self._sending_ga):
            if OBJECTS[number].scope not in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
                continue  # the built-in master's outputs follow its own period
            mode, threshold, period = self._sending_mode(number)
            previous = self._reporters.get(number)
            rep = _Reporter(mode=mode, threshold=threshold, period=period, next_cycle=self.time + period)
            self._reporters[number] = rep
            obj = OBJECTS[number]
            conn_n = 2 if obj.scope is Scope.CONN2 else 1
            conn1_number = number - CONN2_OFFSET if obj.scope is Scope.CONN2 else number
            if conn1_number in _CHARGING_STATUS and self.params.connector(conn_n, "send_status_at_init"):
                self._transmit(number, self.value_of(number))
            elif previous is not None and mode != "cyclic" and conn1_number not in _MEASUREMENT_GROUP:
                # After a reset, a status that the reset changed (error cleared, limit restored) is
                # sent by the next publish: the baseline is what was sent before the reset.
                rep.last = previous.last
            else:
                rep.last = self.value_of(number)
        self.publish()

    def _sending_mode(self, number: int) -> tuple[str, float, float]:
        obj = OBJECTS[number]
        conn1_number = number - CONN2_OFFSET if obj.scope is Scope.CONN2 else number
        p = self.params
        group = _MEASUREMENT_GROUP.get(conn1_number)
        if group is not None:
            return (
                getattr(p, f"{group}_sending"),
                float(getattr(p, f"{group}_change")),
                float(getattr(p, f"{group}_period")),
            )
        if conn1_number in _CHARGING_STATUS:
            return p.charging_status_sending, 0.0, float(p.charging_status_period)
        return "change", 0.0, 0.0

    # ------------------------------------------------------------------------------------------
    # Physics
    # ------------------------------------------------------------------------------------------
    def step(self, dt: float, now: datetime | None = None) -> None:
        """Advance ``dt`` simulated seconds (``now``: local time of day, for charging-time windows).

        Order: clock, end of start-up delay, fail-safe timeout, EVs (offered current, ramp, energy,
        session time, maximum session time), built-in master, status sending. Raises ValueError for a
        negative ``dt``.
        """
        if dt < 0:
            raise ValueError(f"dt must be >= 0, got {dt!r}")
        self.time += dt
        if now is not None:
            self.local_time = now
        self._finish_init_if_due()
        p = self.params
        if (
            p.fail_safe
            and not self.fail_safe_active
            and self.time - self._last_command >= p.fail_safe_timeout
        ):
            self._enter_fail_safe()
        for conn in self.connectors:
            self._step_connector(conn, dt)
        if self.master is not None and not self._init_pending:
            self.master.step(dt)
        self.publish()

    def _step_connector(self, conn: Connector, dt: float) -> None:
        conn.offered = self.offered_current(conn)
        ev = conn.ev
        if ev is None:
            return
        allowed = self._charging_allowed(conn)
        offer = conn.offered if allowed else 0.0
        before = ev.energy_wh
        ev.step(offer, dt, self.params.phases)
        if conn.session_active:
            conn.session_energy += ev.energy_wh - before
            conn.session_time += dt
            limit = self.max_session_seconds
            if limit and conn.session_time >= limit:
                _LOGGER.info("%s conn%d: maximum session time reached", self.name, conn.index)
                self.end_session(conn.index)

    @property
    def max_session_seconds(self) -> int:
        """Maximum session time in s (object 6 if written, else the parameter); 0 = always on."""
        if self.max_session_override is not None:
            return self.max_session_override
        return self.params.max_session_time * 60

    @property
    def auto_start(self) -> bool:
        """Auto charging init after connect (object 26 if written, else the parameter)."""
        return self.params.auto_start if self.auto_start_override is None else self.auto_start_override

    @property
    def auto_disconnect(self) -> bool:
        """Auto disconnect after the session (object 7 if written, else the parameter)."""
        return (
            self.params.auto_disconnect
            if self.auto_disconnect_override is None
            else self.auto_disconnect_override
        )

    @property
    def effective_current_limit(self) -> float:
        """A: the total current limit in force (fail-safe current while fail-safe is active)."""
        return float(self.params.fail_safe_current) if self.fail_safe_active else self.current_limit

    @property
    def effective_power_limit(self) -> float:
        """W: the total power limit in force (fail-safe current x 230 V x phases while active)."""
        return self.fail_safe_power if self.fail_safe_active else self.power_limit

    @property
    def fail_safe_power(self) -> float:
        """W the fail-safe current means on all phases (no separate parameter exists)."""
        return float(self.params.fail_safe_current) * VOLTAGE * self.params.phases

    def _share(self) -> float:
        if len(self.connectors) < 2 or self.params.phase_connection == "different":
            return 1.0
        connected = sum(1 for c in self.connectors if c.ev is not None)
        return 0.5 if connected >= 2 else 1.0

    def offered_current(self, conn: Connector) -> float:
        """Return the A per phase the charger may offer on ``conn`` now (before start/stop, block, errors)."""
        p = self.params
        phases = conn.ev.phases_on(p.phases) if conn.ev is not None else p.phases
        volts = VOLTAGE * phases
        total = min(
            float(p.max_user_current),
            self.effective_current_limit,
            self.effective_power_limit / volts,
            float(p.contracted_power) / volts,
        )
        share = self._share()
        return max(
            0.0,
            min(total * share, conn.current_limit, conn.power_limit / volts, float(p.max_user_current)),
        )

    def _connector_window_allows(self, conn: Connector) -> bool:
        windows = [
            w for w, on in zip(self.charging_times, conn.charging_time_enabled, strict=True) if on and w
        ]
        if not windows or self.local_time is None:
            return True
        moment = self.local_time.time()
        return any(w.contains(moment) for w in windows)

    def _charging_allowed(self, conn: Connector) -> bool:
        return (
            conn.session_active
            and not conn.stopped
            and not self.paused
            and not conn.blocked
            and self.error_code is EvseErrorCode.NO_ERROR
            and conn.offered >= MIN_PILOT_CURRENT
            and self._connector_window_allows(conn)
        )

    def connector_state(self, conn: Connector) -> ConnectorState:
        """Return the connector's state (see the module docstring for the mapping)."""
        if self.error_code is not EvseErrorCode.NO_ERROR:
            return ConnectorState.FAULTED
        if conn.ev is None:
            return ConnectorState.UNAVAILABLE if conn.blocked or self.blocked else ConnectorState.AVAILABLE
        if not conn.session_active:
            if conn.finished:
                return ConnectorState.FINISHED
            if conn.blocked or self.blocked:
                return ConnectorState.UNAVAILABLE
            return ConnectorState.CONNECTED
        if not self._charging_allowed(conn):
            return ConnectorState.SUSPENDED_EVSE
        if conn.ev.suspended:
            return ConnectorState.SUSPENDED_EV
        return ConnectorState.CHARGING

    def phase_currents(self) -> tuple[float, float, float]:
        """Return the A drawn on the house's L1, L2, L3 (for the meter).

        Single-phase: connector 1 on house phase ``phase``, connector 2 on the same phase or, with
        "Phase connection: different", the next one. Three-phase: an EV's phases start at ``phase``.
        """
        out = [0.0, 0.0, 0.0]
        for conn in self.connectors:
            if conn.ev is None:
                continue
            if self.params.phases == 1:
                shift = 1 if conn.index == 2 and self.params.phase_connection == "different" else 0
                out[(self.phase - 1 + shift) % 3] += conn.current
            else:
                for k in range(conn.ev.phases_on(3)):
                    out[(self.phase - 1 + k) % 3] += conn.current
        return (out[0], out[1], out[2])

    def connector_power(self, conn: Connector) -> float:
        """W drawn on ``conn`` now."""
        return 0.0 if conn.ev is None else conn.ev.power(self.params.phases)

    # ------------------------------------------------------------------------------------------
    # Vehicles and sessions (the physical side, driven by the runner or tests)
    # ------------------------------------------------------------------------------------------
    def connector(self, n: int) -> Connector:
        """Connector ``n`` (1-based); raises ValueError if the model has no such connector."""
        if not 1 <= n <= len(self.connectors):
            raise ValueError(f"{self.name} has no connector {n}")
        return self.connectors[n - 1]

    def plug_in(self, n: int, ev: ElectricVehicle, rfid: str | None = None) -> None:
        """Plug car ``ev`` into connector ``n``; the driver may present an RFID tag.

        Raises ValueError if a car is already plugged in there.
        """
        conn = self.connector(n)
        if conn.ev is not None:
            raise ValueError(f"{self.name} connector {n} is occupied by {conn.ev.name}")
        conn.ev = ev
        conn.finished = False
        conn.session_active = False
        ev.current = 0.0
        self._try_start(conn, rfid)
        self._refresh()

    def present_rfid(self, n: int, tag: str) -> bool:
        """Hold ``tag`` to the reader of connector ``n``; return True when a session started."""
        conn = self.connector(n)
        if conn.ev is None or conn.session_active:
            return False
        started = self._try_start(conn, tag)
        self._refresh()
        return started

    def _can_start(self, conn: Connector) -> bool:
        return (
            conn.ev is not None
            and not conn.session_active
            and not conn.blocked
            and not self.blocked
            and self.error_code is EvseErrorCode.NO_ERROR
        )

    def _try_start(self, conn: Connector, rfid: str | None) -> bool:
        if not self._can_start(conn):
            return False
        if rfid is not None and rfid in self.rfid_tags:
            self._start_session(conn, rfid)
            return True
        if self.auto_start:
            self._start_session(conn, "")
            return True
        return False

    def _start_session(self, conn: Connector, tag: str) -> None:
        _LOGGER.info("%s conn%d: session started%s", self.name, conn.index, f" by {tag}" if tag else "")
        conn.session_active = True
        conn.finished = False
        conn.stopped = False
        conn.locked = True
        conn.rfid_tag = tag
        conn.session_time = 0.0
        conn.session_energy = 0.0

    def end_session(self, n: int) -> None:
        """End the session on connector ``n`` (driver stops it, max time, unlock): "finished"."""
        conn = self.connector(n)
        if not conn.session_active:
            return
        conn.session_active = False
        conn.finished = True
        if conn.ev is not None:
            conn.ev.current = 0.0
        if self.auto_disconnect:
            conn.locked = False
        self._refresh()

    def unplug(self, n: int, *, force: bool = False) -> bool:
        """Unplug the car from connector ``n``; return False (nothing happens) while it is locked.

        ``force`` unplugs anyway (ends a running session first).
        """
        conn = self.connector(n)
        if conn.ev is None:
            return True
        if conn.locked and not force:
            return False
        if conn.session_active:
            self.end_session(n)
        conn.ev.unplugged()
        conn.ev = None
        conn.session_active = False
        conn.finished = False
        conn.locked = False
        self._refresh()
        return True

    # ------------------------------------------------------------------------------------------
    # Fail-safe (manual, "Advanced → Enable Fail-safe")
    # ------------------------------------------------------------------------------------------
    def _enter_fail_safe(self) -> None:
        _LOGGER.info("%s: no command for %s s, entering fail-safe", self.name, self.params.fail_safe_timeout)
        self.fail_safe_active = True

    def _command_received(self) -> None:
        self._last_command = self.time
        if self.fail_safe_active:
            _LOGGER.info("%s: command received, leaving fail-safe", self.name)
            self.fail_safe_active = False

    # ------------------------------------------------------------------------------------------
    # Telegrams in
    # ------------------------------------------------------------------------------------------
    def handle_telegram(self, telegram: Telegram) -> None:
        """Process one telegram from the bus (GroupValueWrite to inputs, GroupValueRead of statuses)."""
        if self.muted or not isinstance(telegram.destination_address, GroupAddress):
            return
        raw = telegram.destination_address.raw
        payload = telegram.payload
        if isinstance(payload, GroupValueWrite):
            self._receive_write(raw, payload.value, skip=None)
        elif isinstance(payload, GroupValueRead):
            self._answer_read(telegram.destination_address)

    def _receive_write(self, raw: int, value: DPTArray | DPTBinary, skip: int | None) -> None:
        for obj in self._writers.get(raw, ()):
            if obj.number == skip:
                continue
            try:
                decoded = dpt.decode(obj, value)
            except dpt.ObjectValueError as err:
                _LOGGER.warning("%s: ignored telegram: %s", self.name, err)
                self.rejected.append((obj.number, str(err)))
                continue
            self.apply_write(obj.number, decoded)

    def _answer_read(self, address: GroupAddress) -> None:
        objs = self._readers.get(address.raw)
        if not objs or self._init_pending:
            return
        obj = objs[0]
        value = self.value_of(obj.number)
        self._send(
            Telegram(destination_address=address, payload=GroupValueResponse(encode_value(obj.number, value)))
        )

    def apply_write(self, number: int, value: Any) -> None:
        """Apply a decoded write to object ``number`` (what a GroupValueWrite does), then send statuses.

        Unknown or non-writable objects are ignored. Source: manual, object table and "Advanced".
        """
        obj = OBJECTS.get(number)
        if obj is None or not obj.writable:
            return
        if self._memo_states is not None:
            self._memo_states = {}  # a write in the middle of a publish changes the states
        if obj.scope in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
            self._command_received()
        if obj.scope is Scope.EVSE:
            self._write_evse(number, value)
        elif obj.scope in (Scope.CONN1, Scope.CONN2):
            n = 2 if obj.scope is Scope.CONN2 else 1
            self._write_connector(self.connector(n), number - CONN2_OFFSET * (n - 1), value)
        elif self.master is not None:
            self.master.on_write(number, value)
        for conn in self.connectors:
            conn.offered = self.offered_current(conn)
        if obj.status is not None and obj.status in self._reporters and not self._init_pending:
            # A command's status object answers every command, changed or not (KNX feedback).
            self._transmit(obj.status, self.value_of(obj.status))
        self.publish()

    def _clamp_current(self, value: float) -> float:
        return max(0.0, min(float(value), float(self.params.max_user_current)))

    def _clamp_power(self, value: float) -> float:
        return max(0.0, min(float(value), self.max_power))

    def _write_evse(self, number: int, value: Any) -> None:
        if number == 1:
            self.current_limit = self._clamp_current(value)
        elif number == 2:
            self.power_limit = self._clamp_power(value)
        elif number == 5:
            if value:
                self.reset()
        elif number == 6:
            self.max_session_override = int(value)
        elif number == 7:
            self.auto_disconnect_override = bool(value)
            if value:
                for conn in self.connectors:
                    if conn.finished:
                        conn.locked = False
        elif number == 8:
            tag = str(value).strip("\x00 ")
            if tag:
                self.rfid_tags.add(tag)
        elif number == 9:
            if value:
                self.rfid_tags.clear()
        elif number == 18:
            self.paused = not value
        elif number == 25:
            self.blocked = bool(value)
        elif number == 26:
            self.auto_start_override = bool(value)
            if value:
                for conn in self.connectors:
                    if conn.ev is not None and not conn.session_active and not conn.finished:
                        self._try_start(conn, None)

    def _write_connector(self, conn: Connector, number: int, value: Any) -> None:
        if number == 31:
            conn.current_limit = self._clamp_current(value)
        elif number == 32:
            conn.power_limit = self._clamp_power(value)
        elif number == 33:
            if value:
                conn.stopped = False
                if conn.ev is not None and not conn.session_active and self._can_start(conn):
                    self._start_session(conn, "")
            elif conn.session_active:
                conn.stopped = True
        elif number in _CHARGING_TIME_OBJECTS:
            conn.charging_time_enabled[_CHARGING_TIME_OBJECTS.index(number)] = bool(value)
        elif number == 65:
            if value:
                if conn.session_active:
                    self.end_session(conn.index)
                conn.locked = False
        elif number == 73:
            conn.blocked = bool(value)

    # ------------------------------------------------------------------------------------------
    # Status values
    # ------------------------------------------------------------------------------------------
    def value_of(self, number: int) -> Any:
        """Return readable object ``number``'s value as its DPT expects it (A, W, Wh, s, enums).

        Raises KeyError for an object the charger has no value for.
        """
        obj = OBJECTS[number]
        if obj.scope in (Scope.CONN1, Scope.CONN2):
            n = 2 if obj.scope is Scope.CONN2 else 1
            return self._connector_value(self.connector(n), number - CONN2_OFFSET * (n - 1))
        if obj.scope is Scope.EVSE:
            return self._evse_value(number)
        if self.master is not None:
            return self.master.value_of(number)
        raise KeyError(number)

    def _evse_value(self, number: int) -> Any:
        currents = [c.current for c in self.connectors]
        if number == 3:
            return round(self.effective_current_limit, 2)
        if number == 4:
            return round(self.effective_power_limit, 1)
        if number == 10:
            return self.fail_safe_active
        if number == 11:
            return round(float(self.params.fail_safe_current), 2)
        if number == 12:
            return round(self.fail_safe_power, 1)
        if number == 13:
            return round(sum(self.connector_power(c) for c in self.connectors), 1)
        if number == 14:
            return round(sum(currents), 2)
        if number in (15, 16, 17):
            k = number - 15
            total = 0.0
            for conn in self.connectors:
                if conn.ev is not None and k < conn.ev.phases_on(self.params.phases):
                    total += conn.current
            return round(total, 2)
        if number == 19:
            return self.error_code
        if number == 20:
            return self.communication_error
        raise KeyError(number)

    def _connector_value(self, conn: Connector, number: int) -> Any:
        if 34 <= number <= 44:
            state = self._memo_states.get(conn.index) if self._memo_states is not None else None
            if state is None:
                state = self.connector_state(conn)
                if self._memo_states is not None:
                    self._memo_states[conn.index] = state
            if number == 34:
                return PILOT_STATE[state]
            if number == 35:
                return OCPP_STATE[state]
            if number == 36:
                return conn.ev is not None
            return state is _INDIVIDUAL_STATE[number]
        if number == 45:
            return min(MAX_SESSION_TIME_VALUE, int(conn.session_time))
        if number == 46:
            return round(conn.session_energy)
        if number == 47:
            return round(self.connector_power(conn), 1)
        if number == 48:
            return round(conn.current, 2)
        if number in (49, 50, 51):
            used = conn.ev.phases_on(self.params.phases) if conn.ev is not None else 0
            return round(conn.current, 2) if number - 49 < used else 0.0
        if number == 61:
            return round(conn.current_limit, 2)
        if number == 62:
            return (
                round(float(self.params.fail_safe_current) * self._share(), 2)
                if self.fail_safe_active
                else 0.0
            )
        if number == 63:
            return round(conn.power_limit, 1)
        if number == 64:
            return round(self.fail_safe_power * self._share(), 1) if self.fail_safe_active else 0.0
        if number == 67:
            return conn.rfid_tag
        raise KeyError(number)

    # ------------------------------------------------------------------------------------------
    # Telegrams out
    # ------------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        for conn in self.connectors:
            conn.offered = self.offered_current(conn)
        self.publish()

    def publish(self) -> None:
        """Send every status object whose sending rule fires now (on change and/or cyclically)."""
        if self._init_pending or not self._started:
            return
        outer = self._memo_states is None
        if outer:
            self._memo_states = {}
        try:
            self._publish()
        finally:
            if outer:
                self._memo_states = None

    def _publish(self) -> None:
        for number, rep in self._reporters.items():
            value = self.value_of(number)
            due = False
            if rep.mode in ("change", "both") and _changed(value, rep.last, rep.threshold):
                due = True
            if rep.mode in ("cyclic", "both") and rep.period > 0 and self.time >= rep.next_cycle:
                due = True
                while rep.next_cycle <= self.time:
                    rep.next_cycle += rep.period
            if due:
                self._transmit(number, value)

    def _transmit(self, number: int, value: Any) -> None:
        """Send ``value`` on object ``number``'s sending address (if linked) as GroupValueWrite."""
        ga = self._sending_ga.get(number)
        rep = self._reporters.get(number)
        if rep is not None:
            rep.last = value
        if ga is None or self._init_pending:
            return
        payload = encode_value(number, value)
        self._send(Telegram(destination_address=ga, payload=GroupValueWrite(payload)))
        # A device's own objects on the same address see the value too (e.g. master → own object 1).
        if ga.raw in self._writers:
            self._memo_states = None if self._memo_states is None else {}
            self._receive_write(ga.raw, payload, skip=number)

    def _send(self, telegram: Telegram) -> None:
        if self.muted:
            return
        telegram.source_address = self.source_address
        self.sent += 1
        if self._send_fn is not None:
            self._send_fn(telegram)

    # ------------------------------------------------------------------------------------------
    # Bus attachment
    # ------------------------------------------------------------------------------------------
    async def connect(
        self, gateway_ip: str, gateway_port: int = 3671, local_ip: str | None = None
    ) -> KnxHost:
        """Open an XKNX tunnel of the charger's own and start it; returns the host (``await host.stop()``)."""
        host = KnxHost.tunnel(gateway_ip, gateway_port, local_ip)
        host.add(self)
        await host.start()
        return host

    async def attach(self, xknx: XKNX) -> KnxHost:
        """Share an existing (started or not) XKNX client; returns the host for more devices."""
        host = KnxHost(xknx)
        host.add(self)
        await host.start()
        return host

    # ------------------------------------------------------------------------------------------
    # Fault injection
    # ------------------------------------------------------------------------------------------
    def inject_error(self, code: EvseErrorCode | int) -> None:
        """Report error ``code`` (DPT 20.1221; 7 = no error clears it): charging stops, 19 and 44 sent."""
        self.error_code = EvseErrorCode(code)
        if self.error_code is not EvseErrorCode.NO_ERROR:
            for conn in self.connectors:
                if conn.ev is not None:
                    conn.ev.current = 0.0
        self.publish()

    def clear_error(self) -> None:
        """Clear the error code (as if the fault went away)."""
        self.inject_error(EvseErrorCode.NO_ERROR)

    def set_communication_error(self, active: bool) -> None:
        """Set object 20 (communication error with the EVSE)."""
        self.communication_error = active
        self.publish()

    def mute(self, muted: bool = True) -> None:
        """Stop (or resume) answering: no telegram is processed or sent; the physics keeps running."""
        self.muted = muted

    def send_malformed(self, number: int) -> Telegram:
        """Send a GroupValueWrite of the wrong length on object ``number``'s first group address.

        1-bit objects get a 2-byte array, others one byte more than their size. Returns the telegram;
        raises ValueError when the object has no group address.
        """
        addresses = self.group_addresses.get(number)
        if not addresses:
            raise ValueError(f"object {number} has no group address on {self.name}")
        obj = OBJECTS[number]
        payload = DPTArray((1, 2)) if obj.size_bits == 1 else DPTArray((0,) * (obj.size_bytes + 1))
        telegram = Telegram(destination_address=GroupAddress(addresses[0]), payload=GroupValueWrite(payload))
        self._send(telegram)
        return telegram


# ----------------------------------------------------------------------------------------------
# Bus attachment
# ----------------------------------------------------------------------------------------------
class DeviceTunnel(UDPTunnel):
    """xknx's UDP tunnel, except that a reconnect does not first disconnect the old channel.

    knxd (0.14) numbers tunnel channels from 1 again after a restart (the lowest free id) and acts
    on CONNECTIONSTATE_REQUEST, DISCONNECT_REQUEST and TUNNELLING_REQUEST by channel id alone,
    whoever sends them. A client that has not noticed the restart yet may hold an id that knxd has
    meanwhile given to a client that did reconnect: its heartbeat still succeeds, it receives
    nothing, and it notices only when a send goes unacknowledged (knxd acknowledges to the id's
    owner). xknx's reconnect then sends a DISCONNECT_REQUEST for that id, which closes the *other*
    client's new tunnel; the victim reconnects to the same lowest free id, and two xknx clients
    keep closing each other's tunnel for as long as both send (the soak's endless "KNX connection
    of KNX bus lost" loop after a knxd restart).

    A simulated charger stands for a device on the twisted pair, which has no tunnel that could
    close anyone else's: its tunnel reconnects without that DISCONNECT_REQUEST. A collision with
    Home Assistant's tunnel then ends after at most one round, the way it would with any client
    that does not disconnect stale channels. The old channel, if knxd still had it (acknowledgements
    lost without a restart), is dropped by knxd after its next unacknowledged send.
    """

    __slots__ = ()

    async def _reconnect(self) -> None:
        self.communication_channel = None  # nothing to disconnect: the id may be another client's now
        await super()._reconnect()


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

        An owned UDP tunnel becomes a `DeviceTunnel` (it reconnects without closing its old channel
        id, which knxd may have given to another client).
        """
        if self.owned:
            await self.xknx.start()
            tunnel = self.xknx.knxip_interface._interface  # built by xknx in start()
            if type(tunnel) is UDPTunnel:
                tunnel.__class__ = DeviceTunnel  # same slots: only _reconnect differs
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
