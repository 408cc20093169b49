"""Runs an installation: chargers, EVs on a daily schedule, the house and the grid meter.

`Simulation` owns everything built from an `Installation` and advances it with ``step(dt)`` in
simulated seconds (physics sub-steps of at most ``max_substep`` s). ``run()`` drives it from asyncio:
every ``tick`` real seconds it advances by the real time elapsed x ``speed`` (time compression),
never sleeping inside the model. ``connect()`` puts every charger and the meter on one KNX/IP tunnel
(`KnxHost`).

The meter is published two ways (the HA side picks one):

- **meter file** (``meter_file``): a small JSON object (`MeterReading.as_dict`: ``power_w``,
  ``current_a``, ``l1_a``..``l3_a``, ``house_w``, ``pv_w``, ``chargers_w``, ``time``, and with
  circuit meters ``circuits``: ``{id: {l1_a, l2_a, l3_a, power_w}}``, see `circuit_readings`) replaced
  atomically (write to a temporary file, then ``os.replace``) at every meter update, at most once
  per ``meter_file_min_interval`` real seconds. A reader never sees a half-written file. Home
  Assistant reads it e.g. with a ``command_line`` sensor (``command: cat FILE``,
  ``value_template: "{{ value_json.power_w }}"``, ``scan_interval: 2``), or a test reads it directly.
- **KNX meter** (``meter.group_addresses`` in the installation): GroupValueWrite of the current
  (DPT 14.019, encoded as object 130) and the power (DPT 14.056, as object 131) at every meter update;
  it answers GroupValueRead on both addresses. The built-in master's object 130 listens to it.

EV schedule: each `EvPlan` arrives and leaves daily (± ``jitter_minutes``, seeded per day), with an
arrival SoC of ``soc`` ± ``soc_jitter``. An EV due at the start time is plugged in at the start. On
departure the driver ends the session and unplugs; a connector still locked (auto-disconnect off)
keeps the car until it is unlocked (object 65/114) or ``max_departure_wait`` has passed, then the car
is unplugged by force. A car does not plug into an occupied connector.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from xknx.telegram import Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.const import CONF_NAME
from custom_components.knx_evse.knx.parameters import VOLTAGE

from .charger import ConnectorState, KnxHost, SendFn, SimulatedCharger, encode_value
from .ev import ElectricVehicle
from .house import HouseModel, MeterReading, meter_reading
from .installation import EvPlan, Installation, MeterConfig

_LOGGER = logging.getLogger(__name__)


class SimulatedMeter:
    """A KNX energy meter sending the grid current (A) and power (W) on two group addresses."""

    def __init__(self, config: MeterConfig, send: SendFn | None = None) -> None:
        """Build the meter for ``config``; ``send`` puts telegrams on the bus."""
        self.config = config
        self._send_fn = send
        self.reading: MeterReading | None = None
        self.muted = False
        self._targets: dict[int, tuple[GroupAddress, int]] = {}
        for ga, number in ((config.current_ga, 130), (config.power_ga, 131)):
            if ga is not None:
                address = GroupAddress(ga)
                self._targets[address.raw] = (address, number)

    def set_send(self, send: SendFn | None) -> None:
        """Set (or clear) the function that puts outgoing telegrams on the bus."""
        self._send_fn = send

    def _value(self, number: int) -> float:
        if self.reading is None:
            return 0.0
        return round(self.reading.current_a if number == 130 else self.reading.power_w, 2)

    def update(self, reading: MeterReading) -> None:
        """Store ``reading`` and send it on both addresses."""
        self.reading = reading
        for address, number in self._targets.values():
            self._emit(address, GroupValueWrite(encode_value(number, self._value(number))))

    def handle_telegram(self, telegram: Telegram) -> None:
        """Answer GroupValueRead on the meter's addresses."""
        if not isinstance(telegram.destination_address, GroupAddress) or self.reading is None:
            return
        target = self._targets.get(telegram.destination_address.raw)
        if target is not None and isinstance(telegram.payload, GroupValueRead):
            address, number = target
            self._emit(address, GroupValueResponse(encode_value(number, self._value(number))))

    def _emit(self, address: GroupAddress, payload: GroupValueWrite | GroupValueResponse) -> None:
        if self._send_fn is not None and not self.muted:
            self._send_fn(Telegram(destination_address=address, payload=payload))


def write_meter_file(path: Path, reading: MeterReading, circuits: dict[str, dict[str, float]] | None = None) -> None:
    """Replace ``path`` atomically with ``reading`` (and the ``circuits`` readings) as JSON (see the module docstring)."""
    tmp = path.with_name(f".{path.name}.tmp")
    content = reading.as_dict() | ({"circuits": circuits} if circuits else {})
    tmp.write_text(json.dumps(content) + "\n", encoding="utf-8")
    tmp.replace(path)


@dataclass(slots=True)
class _Visit:
    arrive: datetime
    depart: datetime
    soc: float


class ScheduledEv:
    """One `EvPlan` in motion: its car, its visits and whether it is plugged in now."""

    def __init__(self, plan: EvPlan, seed: int = 0) -> None:
        """Build the car for ``plan``; ``seed`` varies the jitter between runs."""
        self.plan = plan
        self.seed = seed
        self.ev = ElectricVehicle(plan.name, plan.spec, soc=plan.soc, target_soc=plan.target_soc)
        self.plugged = False
        self.departing_since: datetime | None = None
        self.visit: _Visit | None = None
        self._visits: dict[date, _Visit | None] = {}

    def visit_on(self, day: datetime) -> _Visit | None:
        """Return the visit that starts on ``day``'s date, or None when the car does not come that day."""
        key = day.date()
        if key not in self._visits:
            self._visits[key] = self._make_visit(day.replace(hour=0, minute=0, second=0, microsecond=0))
        return self._visits[key]

    def _make_visit(self, start: datetime) -> _Visit | None:
        if start.weekday() not in self.plan.weekdays:
            return None
        rng = random.Random(f"{self.seed}:{self.plan.name}:{start.date().isoformat()}")
        jitter = self.plan.jitter_minutes
        arrive = start + timedelta(
            hours=self.plan.arrive.hour, minutes=self.plan.arrive.minute + rng.uniform(-jitter, jitter)
        )
        depart = start + timedelta(
            hours=self.plan.depart.hour, minutes=self.plan.depart.minute + rng.uniform(-jitter, jitter)
        )
        if self.plan.depart <= self.plan.arrive:
            depart += timedelta(days=1)
        depart = max(depart, arrive + timedelta(minutes=10))
        soc = min(1.0, max(0.0, self.plan.soc + rng.uniform(-self.plan.soc_jitter, self.plan.soc_jitter)))
        return _Visit(arrive, depart, soc)

    def current_visit(self, now: datetime) -> _Visit | None:
        """Return the visit during which the car should be at home at ``now``, if any."""
        for offset in (-1, 0):
            visit = self.visit_on(now + timedelta(days=offset))
            if visit is not None and visit.arrive <= now < visit.depart:
                return visit
        return None


class Simulation:
    """Everything an installation describes, advanced in simulated time.

    ``speed``: simulated seconds per real second in ``run``; ``tick``: real seconds between steps;
    ``max_substep``: longest physics step (s); ``meter_file``: see the module docstring; ``seed``:
    varies the EV schedule; ``on_status``: called with a one-line status every ``status_every``
    real seconds.
    """

    def __init__(
        self,
        installation: Installation,
        *,
        speed: float = 1.0,
        tick: float = 0.25,
        max_substep: float = 1.0,
        start: datetime | None = None,
        meter_file: Path | None = None,
        meter_file_min_interval: float = 0.5,
        seed: int = 0,
        house: HouseModel | None = None,
    ) -> None:
        """Build chargers, meter, house and EV schedule; nothing runs until ``step`` or ``run``."""
        if speed <= 0 or tick <= 0 or max_substep <= 0:
            raise ValueError("speed, tick and max_substep must be > 0")
        self.installation = installation
        self.speed = speed
        self.tick = tick
        self.max_substep = max_substep
        self.now = start or installation.start
        self.elapsed = 0.0
        self.meter_file = meter_file
        self.meter_file_min_interval = meter_file_min_interval
        self._meter_file_written = -1e9
        self.house = house or HouseModel(installation.house)
        self.chargers: dict[str, SimulatedCharger] = {}
        for entry in installation.chargers:
            sim = installation.simulation[entry[CONF_NAME]]
            charger = SimulatedCharger(
                entry, charging_times=sim.charging_times, phase=sim.phase, clamp=sim.clamp
            )
            charger.rfid_tags.update(sim.rfid_tags)
            self.chargers[charger.name] = charger
        self.meter = SimulatedMeter(installation.meter)
        self.reading: MeterReading | None = None
        self.extra_load_w = 0.0
        """W added to the household load, spread over its phases (fault injection: an appliance step)."""
        self._since_meter = 0.0
        self.evs = [ScheduledEv(plan, seed) for plan in installation.evs]
        self.host: KnxHost | None = None
        self.events: list[str] = []
        self._started = False

    # ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Initialise every charger ("delay at start", status at init) and plug in the cars due now."""
        for charger in self.chargers.values():
            charger.start()
        self._started = True
        self._schedule()
        self._update_meter()

    def step(self, dt: float) -> None:
        """Advance everything by ``dt`` simulated seconds (in sub-steps of at most ``max_substep``)."""
        if not self._started:
            self.start()
        remaining = dt
        while remaining > 1e-9:
            sub = min(remaining, self.max_substep)
            remaining -= sub
            self.now += timedelta(seconds=sub)
            self.elapsed += sub
            self._schedule()
            self._feed_clamps()
            for charger in self.chargers.values():
                charger.step(sub, self.now)
            self._since_meter += sub
            if self._since_meter >= self.installation.meter.update_period:
                self._since_meter = 0.0
                self._update_meter()

    def charger_currents(self) -> tuple[float, float, float]:
        """Sum of every charger's draw on the house's L1-L3 (A)."""
        total = [0.0, 0.0, 0.0]
        for charger in self.chargers.values():
            for k, amps in enumerate(charger.phase_currents()):
                total[k] += amps
        return (total[0], total[1], total[2])

    def circuit_readings(self) -> dict[str, dict[str, float]]:
        """Each simulated circuit meter now: ``{id: {l1_a, l2_a, l3_a, power_w}}`` (A per phase, W).

        Its chargers' draw on each phase plus its ``other_load`` on every phase.
        """
        readings: dict[str, dict[str, float]] = {}
        for meter in self.installation.circuit_meters:
            phases = [meter.other_load] * 3
            for name in meter.chargers:
                for k, amps in enumerate(self.chargers[name].phase_currents()):
                    phases[k] += amps
            readings[meter.id] = {f"l{k + 1}_a": round(a, 2) for k, a in enumerate(phases)}
            readings[meter.id]["power_w"] = round(sum(phases) * VOLTAGE, 1)
        return readings

    def _feed_clamps(self) -> None:
        """Give every charger with a current clamp the supply line's power now (W, chargers included)."""
        clamped = [c for c in self.chargers.values() if c.clamp]
        if not clamped:
            return
        load, pv = self.house.sample(self.now)
        supply_w = load + self.extra_load_w - pv + sum(self.charger_currents()) * VOLTAGE
        for charger in clamped:
            charger.clamp_reading(supply_w)

    def _update_meter(self) -> None:
        load, pv = self.house.sample(self.now)
        self.reading = meter_reading(
            self.now, load + self.extra_load_w, pv, self.charger_currents(), self.house.config.phases
        )
        self.meter.update(self.reading)
        if self.meter_file is not None:
            real = _time.monotonic()
            if real - self._meter_file_written >= self.meter_file_min_interval:
                self._meter_file_written = real
                try:
                    write_meter_file(self.meter_file, self.reading, self.circuit_readings())
                except OSError as err:
                    _LOGGER.warning("cannot write meter file %s: %s", self.meter_file, err)

    def _log(self, text: str) -> None:
        _LOGGER.info("%s %s", self.now.strftime("%H:%M:%S"), text)
        self.events.append(f"{self.now.isoformat(timespec='seconds')} {text}")

    def _schedule(self) -> None:
        for sev in self.evs:
            charger = self.chargers[sev.plan.charger]
            visit = sev.current_visit(self.now)
            same = visit is not None and sev.visit is not None and visit.arrive == sev.visit.arrive
            if sev.plugged:
                if not same:
                    self._depart(sev, charger)
            elif visit is not None and not same:
                if charger.connector(sev.plan.connector).ev is not None:
                    continue  # occupied: try again on the next step
                sev.ev.soc = visit.soc
                sev.ev.set_target(sev.plan.target_soc)
                charger.plug_in(sev.plan.connector, sev.ev, sev.plan.rfid)
                sev.plugged = True
                sev.visit = visit
                sev.departing_since = None
                self._log(
                    f"{sev.plan.name} plugged into {charger.name} c{sev.plan.connector} at SoC {visit.soc:.0%}"
                )

    def _depart(self, sev: ScheduledEv, charger: SimulatedCharger, max_wait: float = 1800.0) -> None:
        n = sev.plan.connector
        if sev.departing_since is None:
            sev.departing_since = self.now
            charger.end_session(n)
        waited = (self.now - sev.departing_since).total_seconds()
        if charger.unplug(n, force=waited >= max_wait):
            sev.plugged = False
            self._log(
                f"{sev.plan.name} left {charger.name} c{n} at SoC {sev.ev.soc:.0%}"
                + (" (connector was locked, unplugged by force)" if waited >= max_wait else "")
            )

    # ----------------------------------------------------------------------------------------
    def status_line(self) -> str:
        """One line: simulated time, meter, and each connector's state, current and session energy."""
        parts = [self.now.strftime("%Y-%m-%d %H:%M:%S")]
        if self.reading is not None:
            r = self.reading
            parts.append(
                f"grid {r.power_w:+.0f} W ({r.current_a:+.1f} A) house {r.house_w:.0f} W pv {r.pv_w:.0f} W"
            )
        for charger in self.chargers.values():
            conns = []
            for conn in charger.connectors:
                state = charger.connector_state(conn)
                text = f"c{conn.index} {state.value}"
                if state is ConnectorState.CHARGING or conn.session_energy > 0:
                    text += f" {conn.current:.1f} A {conn.session_energy / 1000:.2f} kWh"
                conns.append(text)
            parts.append(f"{charger.name}: " + ", ".join(conns))
        return " | ".join(parts)

    async def connect(
        self,
        gateway_ip: str,
        gateway_port: int = 3671,
        local_ip: str | None = None,
        *,
        retry_for: float = 30.0,
    ) -> KnxHost:
        """Put every charger and the meter on one KNX/IP tunnel; retries for ``retry_for`` s.

        Raises the last connection error when the gateway does not answer in time.
        """
        deadline = _time.monotonic() + retry_for
        while True:
            host = KnxHost.tunnel(gateway_ip, gateway_port, local_ip)
            try:
                await host.start()
                break
            except Exception as err:
                with contextlib.suppress(Exception):
                    await host.stop()
                if _time.monotonic() >= deadline:
                    raise
                _LOGGER.warning(
                    "KNX/IP gateway %s:%s not reachable (%s), retrying", gateway_ip, gateway_port, err
                )
                await asyncio.sleep(1.0)
        for charger in self.chargers.values():
            host.add(charger)
        host.add(self.meter)
        self.host = host
        return host

    async def disconnect(self) -> None:
        """Leave the bus (no-op when not connected)."""
        if self.host is not None:
            await self.host.stop()
            self.host = None

    async def run(
        self,
        duration: float | None = None,
        stop: asyncio.Event | None = None,
        *,
        on_status: Callable[[str], Any] | None = None,
        status_every: float = 10.0,
    ) -> None:
        """Advance in real time x ``speed`` until ``duration`` real seconds passed or ``stop`` is set."""
        loop = asyncio.get_running_loop()
        begin = last = loop.time()
        next_status = begin
        if not self._started:
            self.start()
        while True:
            if stop is not None and stop.is_set():
                break
            now = loop.time()
            if duration is not None and now - begin >= duration:
                break
            self.step((now - last) * self.speed)
            last = now
            if on_status is not None and now >= next_status:
                on_status(self.status_line())
                next_status = now + status_every
            if stop is None:
                await asyncio.sleep(self.tick)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.tick)
