"""The simulated charger's objects and telegrams: which object answers what, encoding, sending."""

from __future__ import annotations

import functools
import logging
from typing import Any, Final

from xknx import XKNX
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram import Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.dpt import ControlPilotState, OcppState
from custom_components.knx_evse.knx.objects import CONN2_OFFSET, OBJECTS, Scope

from .host import KnxHost
from .model import ChargerModel, SendFn
from .state import Connector, ConnectorState, _Reporter

_LOGGER = logging.getLogger(__name__)

MAX_SESSION_TIME_VALUE: Final = 65535
"""Largest value of DPT 7.005 (s); session time is clamped to it."""

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


class SimulatedCharger(ChargerModel):
    """A KNX EV charger configured from a charger subentry's data (behaviour: docs/simulator.md).

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

    # ------------------------------------------------------------------------------------------
    # Life cycle: the end of "Delay at start"
    # ------------------------------------------------------------------------------------------
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

    def _clamp_power(self, value: float, limit: float) -> float:
        return max(0.0, min(float(value), limit))

    def _write_evse(self, number: int, value: Any) -> None:
        if number == 1:
            self.current_limit = self._clamp_current(value)
        elif number == 2:
            self.power_limit = self._clamp_power(value, self.max_power)
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
            if not value:
                self.retry_starts()
        elif number == 26:
            self.auto_start_override = bool(value)
            if value:
                self.retry_starts()

    def _write_connector(self, conn: Connector, number: int, value: Any) -> None:
        if number == 31:
            conn.current_limit = self._clamp_current(value)
        elif number == 32:
            conn.power_limit = self._clamp_power(value, self.params.max_power)
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
            if not value:
                self.retry_starts()

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
            share = 0.5 if self.different_phases else self._share()
            return round(self.fail_safe_power * share, 1) if self.fail_safe_active else 0.0
        if number == 67:
            return conn.rfid_tag
        raise KeyError(number)

    # ------------------------------------------------------------------------------------------
    # Telegrams out
    # ------------------------------------------------------------------------------------------
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
    # Fault injection on the bus
    # ------------------------------------------------------------------------------------------
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
