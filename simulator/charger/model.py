"""The simulated charger's model: connectors and sessions, limits and physics, timers, fail-safe, errors."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from xknx.exceptions import CouldNotParseAddress
from xknx.telegram import Telegram
from xknx.telegram.address import GroupAddress, IndividualAddress

from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
)
from custom_components.knx_evse.knx.dpt import EvseErrorCode
from custom_components.knx_evse.knx.group_addresses import validate_group_addresses
from custom_components.knx_evse.knx.objects import OBJECTS, CommObject
from custom_components.knx_evse.knx.parameters import ChargerParameters
from simulator.ev import MIN_PILOT_CURRENT, ElectricVehicle
from simulator.master import BuiltinMaster

from .limits import ChargerLimits
from .state import ChargingWindow, Connector, ConnectorState, _Reporter

_LOGGER = logging.getLogger(__name__)

SendFn = Callable[[Telegram], None]
"""Callable that puts one outgoing telegram on the bus."""


class ChargerModel(ChargerLimits, ABC):
    """The charger without its bus side: state machine, physics, timers (`SimulatedCharger` adds it)."""

    def __init__(
        self,
        entry: Mapping[str, Any],
        *,
        send: SendFn | None = None,
        charging_times: Iterable[ChargingWindow | None] = (),
        phase: int = 1,
        clamp: bool = False,
    ) -> None:
        """Build the charger; call ``start()`` to run its initialisation.

        ``clamp``: the variant has a current clamp on the supply line (``clamp_reading``).
        """
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
        self.clamp = clamp
        self.clamp_household_w: float | None = None
        """W the clamp saw on the supply line less this charger's own draw (None: no reading yet)."""
        self.ignores_limit = False

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
                power_limit=min(float(p.connector(n, "initial_power_limit")), p.max_power),
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
        """Return the connector's state (mapping to pilot and OCPP: docs/simulator.md, "States")."""
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

    def retry_starts(self) -> None:
        """Start waiting cars as auto-start says once nothing blocks them (unblock, error cleared).

        Manual, object table, "Block charging": 0 "allows charging again according to the remaining
        configured conditions". A finished session stays finished (the driver unplugs first).
        """
        for conn in self.connectors:
            if conn.ev is not None and not conn.session_active and not conn.finished:
                self._try_start(conn, None)

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

    def _refresh(self) -> None:
        for conn in self.connectors:
            conn.offered = self.offered_current(conn)
        self.publish()

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
    # Fault injection
    # ------------------------------------------------------------------------------------------
    def inject_error(self, code: EvseErrorCode | int) -> None:
        """Report error ``code`` (DPT 20.1221; 7 = no error clears it): charging stops, 19 and 44 sent."""
        self.error_code = EvseErrorCode(code)
        if self.error_code is not EvseErrorCode.NO_ERROR:
            for conn in self.connectors:
                if conn.ev is not None:
                    conn.ev.current = 0.0
        else:
            self.retry_starts()
        self.publish()

    def clear_error(self) -> None:
        """Clear the error code (as if the fault went away)."""
        self.inject_error(EvseErrorCode.NO_ERROR)

    def set_communication_error(self, active: bool) -> None:
        """Set object 20 (communication error with the EVSE)."""
        self.communication_error = active
        self.publish()

    # ------------------------------------------------------------------------------------------
    # The telegram side (`SimulatedCharger` in objects.py)
    # ------------------------------------------------------------------------------------------
    @abstractmethod
    def publish(self) -> None:
        """Send every status object whose sending rule fires now."""

    @abstractmethod
    def _finish_init_if_due(self) -> None:
        """End "Delay at start" when it has passed: send the status at init."""

    @abstractmethod
    def _transmit(self, number: int, value: Any) -> None:
        """Send object ``number`` with ``value`` on its sending address."""
