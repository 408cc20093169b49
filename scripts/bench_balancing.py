#!/usr/bin/env python3
"""Benchmark of load balancing on a real-data house: a table, not a timed test.

One summer and one winter day at 1 s resolution, the same input for every controller:

- ``HA fast`` / ``HA solar`` / ``HA min_solar``: this integration's pure core
  (``custom_components.knx_evse.balancing.Balancer``) with its default timing, both EVSEs in the
  named mode, run on every meter update;
- ``built-in 10 s``: the chargers' own master as the simulator models it
  (``simulator.master.BuiltinMaster``, transmission period 10 s);
- ``evcc-like now`` / ``pv`` / ``minpv``: a compact model of evcc's published rules (see
  :class:`EvccLike`): 30 s control interval, PV enable delay 1 min and disable delay 3 min at 0 W
  thresholds, and "circuit" load management (first come, first served, on the highest phase).

Installation (why the budget binds): a three-phase 3 x 25 A supply (the standard Dutch/Belgian
house connection) with the manual's 10 % reserve margin, so 22.5 A per phase for everything. The
house is the demo installation's (``simulator/installations/demo.yaml``: 4500 kWh/a, 3 occupants,
8 kWp, richardsonpy load and pvlib PV, load and PV spread evenly over the phases). The two cars are
the demo's "Garage" pair on the two single-phase connectors of one VE 742 on L1: a Leaf (29 A,
40 kWh, EVSE1 = highest priority) and an e-Golf (16 A, 35.8 kWh, EVSE2), both to 100 % SoC (taper
above 80 %). 29 + 16 A on one 22.5 A phase means the budget binds whenever both charge (every
evening), and house spikes (kettle, oven, washing machine: up to 4.9 kW, i.e. +7 A per phase) eat
into it. Their day (:data:`CARS`): both plugged in overnight until 07:00/07:45; the Leaf is home
again 09:00-15:30 (solar hours) and from 18:00; the e-Golf from 18:30. Both chargers use the EVSE
maximum of 32 A. The built-in master needs both EVSEs on the phase its single "current measured"
(object 130) watches; it does here.

The physical loop, per simulated second ``k`` (:func:`simulate`):

1. Physics ``k-1 -> k``: each EV follows the pilot its charger offered during the last second
   (``simulator.ev.ElectricVehicle``: first-order lag, 2 s time constant, taper above 80 % SoC, no
   current below a 6 A offer). The grid current per phase is house/3 - PV/3 + the EVs on that phase.
2. Measurements reach the controllers ``LATENCY`` = 1 s late: the grid meter publishes the per-phase
   currents (and their power) every ``--meter-period`` s (default 1 s: a DSMR 5 P1 port or a
   Shelly Pro 3EM); the chargers send their measured current (object 14) on a change of 0.5 A or
   every 30 s (the demo's "current_change"/"current_period"); evcc polls the chargers' actual
   current at its interval.
3. Controllers act and write limits / start / stop, which apply to the next second. A written
   telegram is counted per object written (limit, start/stop) including keep-alives; the meter's and
   the chargers' own telegrams are not counted.

The house load is 1-minute data. When inside its minute an appliance switches is unknown, so each
minute boundary of the load is moved by a seeded random 0-59 s: otherwise every step would land on
a multiple of 10 s and 30 s and alias with the periodic controllers' reaction times.

Metrics (:func:`metrics`; A per phase, W, kWh, s):

- ``>brk s`` / ``>brk As``: seconds and ampere-seconds any phase's current magnitude exceeds the
  breaker rating (25 A): trip risk.
- ``>bud s`` / ``>bud As``: the same above the budget with margin (22.5 A), the issue's "budget";
  ``ctl s``: those seconds of them not within 10 s of any rise of the house load, i.e. not the
  house's own step arriving before any controller could see it: controller-made excess. The goal
  line also gives those in the first ``LATENCY + 1`` = 2 s after a rise: the step itself and the
  second before a limit written on seeing it can be on the pilot, a floor for every controller
  that does not keep headroom for the step.
- ``EV kWh``; ``sol%``: share of it covered by PV surplus (PV after the house, second by second);
  ``sol kWh``: that energy.
- ``exp kWh``: PV exported while an EV was plugged in and not full.
- ``stops``: charging interruptions (pilot from >= 6 A to 0) of a car that is plugged in and not
  full: each one is a start/stop cycle of the contactor and the car.
- ``tg/h``: telegrams written by the controller per hour; ``rep/h``: those of them that changed
  nothing on the charger (keep-alives, the built-in master's periodic re-sends).
- ``hunts``: a raise of a limit undone by a lowering of the same EVSE within 5 s.
- ``react s``: mean time from a rise of the house load of at least ``--load-step`` W (default 1 kW,
  i.e. +1.45 A per phase) while an EV charges, to the first lower limit (or pause) on the bus;
  ``(n)`` is the number of such events that got one within 120 s, of all events.
- Ideal solar capture (hindsight): an upper bound on the PV surplus the cars could have taken given
  their plug-in windows, 6 A minimum and maximum currents, and their energy needs (min-cut over
  the visits, see :func:`ideal_solar`), with continuous currents and with whole amperes; the solar
  rows' ``sol kWh`` as a percentage of both. The goal uses the continuous one: the chargers take
  4-byte float limits (DPT 14.019), so whole amperes are the balancer's ``step``, not physics.

Goals: see :func:`evaluate_goals`. Sensitivity: ``--report-change`` (chargers' send-on-change),
``--meter-period``, ``--limit-step`` (the HA balancer's ``step``), ``--ha-margin`` (its reserve margin, %:
headroom for the house's own steps, against energy; the goals keep the 22.5 A budget).

Usage: scripts/bench [--days summer,winter] [--start HH:MM] [--duration S] [--meter-period S]
[--load-step W] [--report-change A] [--limit-step A] [--ha-margin PCT] [--controllers NAME,...]

The fault day (a disobedient charger, a reversed meter, blips, ...: one goal line per fault) is
``scripts/bench --faults``, in ``scripts/bench_faults.py``. On the whole summer day the report ends
with the home battery (``scripts/bench_battery.py``: a priority SoC, clear and with passing clouds,
its own table and goal lines); ``--no-battery`` leaves it out. The plan night (charging plans on real
day-ahead prices against charging at once, evcc-like plans and the hindsight optimum) is
``scripts/bench --plan``, in ``scripts/bench_plan.py``; a run without arguments prints it at the end.
The car-park day (40 chargers in 6 circuits on emobpy's mobility statistics, against evcc-like
circuits) is ``scripts/bench --carpark``, in ``scripts/bench_carpark.py``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from custom_components.knx_evse.balancing import (  # noqa: E402
    Balancer,
    BalancingConfig,
    Decision,
    EvseConfig,
    EvseReading,
    MeterReading,
)
from custom_components.knx_evse.knx.parameters import ChargerParameters  # noqa: E402
from simulator.ev import ElectricVehicle, EvSpec  # noqa: E402
from simulator.house import SUMMER_DAY, WINTER_DAY, HouseConfig, HouseModel  # noqa: E402
from simulator.master import BuiltinMaster  # noqa: E402

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

VOLTAGE = 230.0
"""V phase-to-neutral (simulator.house, simulator.ev)."""
MIN_CURRENT = 6.0
"""A: the lowest pilot current an EV charges at (IEC 61851-1)."""
BREAKER = 25.0
"""A per phase: the main breaker of a 3 x 25 A house connection."""
MARGIN = 10.0
"""% reserve margin (the manual's example), so the budget is 22.5 A per phase."""
BUDGET = BREAKER * (1.0 - MARGIN / 100.0)
EVSE_MAX = 32.0
"""A: each connector's maximum (VE 742, single-phase)."""
EVSE_PHASE = (1, 1)
"""Supply phase of EVSE1 and EVSE2: both connectors of the single-phase charger on L1."""
LATENCY = 1
"""s between a physical state and the controllers seeing it (meter and charger telegrams)."""
REPORT_CHANGE = 0.5
"""A: a charger sends its measured current (object 14) when it changed by this much ..."""
REPORT_PERIOD = 30
"""s: ... or this long after the last sending (demo installation: current_change/current_period)."""
MASTER_PERIOD = 10
"""s: the built-in master's "Balancing transmission period" (its default)."""
EVCC_INTERVAL = 30
"""s: evcc's control interval (docs.evcc.io reference/configuration/interval: ``interval: 30s``;
shorter intervals are discouraged there because the regulation may oscillate)."""
EVCC_ENABLE_DELAY = 60
"""s: evcc's PV ``enable.delay`` default (core/loadpoint.go: Enable{Delay: 1 min, Threshold: 0})."""
EVCC_DISABLE_DELAY = 180
"""s: evcc's PV ``disable.delay`` default (core/loadpoint.go: Disable{Delay: 3 min, Threshold: 0})."""
BLIND_WINDOW = LATENCY + 1
"""s after a rise of the house load that no controller can shorten: the meter shows the rise
``LATENCY`` s later, and a limit written then is on the pilot from the second after."""
TRANSIENT_WINDOW = 10
"""s after a house-load rise in which an excess is the house's own step, not yet seen or acted on."""
REACTION_WINDOW = 120
"""s: a lower limit later than this after a load step does not count as a reaction to it."""
HUNT_WINDOW = 5
"""s: a raise undone by a lowering of the same EVSE within this time counts as hunting."""

HOUSE = HouseConfig(annual_kwh=4500, occupants=3, kwp=8, tilt=30, azimuth=180, phases=3, seed=7)
"""The demo installation's house (simulator/installations/demo.yaml)."""
DAYS: dict[str, date] = {"summer": SUMMER_DAY, "winter": WINTER_DAY}


def hm(text: str) -> int:
    """Return seconds since midnight of ``"HH:MM"`` or ``"HH:MM:SS"``."""
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.append(0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


@dataclass(frozen=True, slots=True)
class Visit:
    """One stay of a car at its charger: [``arrive``, ``depart``) in s since midnight, SoC on arrival."""

    arrive: int
    depart: int
    soc: float


@dataclass(frozen=True, slots=True)
class Car:
    """A car on one EVSE: its spec (simulator.ev), target SoC and its visits that day."""

    name: str
    spec: EvSpec
    target_soc: float
    visits: tuple[Visit, ...]

    @property
    def max_power(self) -> float:
        """W the car can take at most on this charger: min(EVSE max, car max) x 230 V (one phase)."""
        return min(EVSE_MAX, self.spec.max_current) * VOLTAGE

    def need_wh(self, visit: Visit) -> float:
        """Wh drawn from the charger to bring the car from the visit's SoC to its target."""
        return max(0.0, self.target_soc - visit.soc) * self.spec.capacity_kwh * 1000.0 / self.spec.efficiency


CARS: tuple[Car, Car] = (
    Car("Leaf", EvSpec(capacity_kwh=40.0, phases=1, max_current=29.0), 1.0,
        (Visit(0, hm("07:45"), 0.55), Visit(hm("09:00"), hm("15:30"), 0.30),
         Visit(hm("18:00"), 86400, 0.45))),
    Car("e-Golf", EvSpec(capacity_kwh=35.8, phases=1, max_current=16.0), 1.0,
        (Visit(0, hm("07:00"), 0.60), Visit(hm("18:30"), 86400, 0.50))),
)
"""EVSE1 and EVSE2's cars (the demo's Garage pair), with a plausible weekday."""


# ----------------------------------------------------------------------------------- the input


@dataclass(frozen=True, slots=True)
class DayInput:
    """The same input for every controller: one window of one day at 1 s.

    ``load`` and ``pv``: W, shape (n,), second ``k`` is ``start + k`` s after midnight.
    ``visit``: shape (2, n), index into ``CARS[i].visits`` of the car plugged into EVSE i, -1 when
    none. A visit under way at the window's start begins there with its arrival SoC.
    """

    name: str
    day: date
    start: int
    load: FloatArray
    pv: FloatArray
    visit: npt.NDArray[np.int64]

    @property
    def n(self) -> int:
        """Number of seconds."""
        return len(self.load)


def day_input(name: str, house: HouseModel, start: int = 0, duration: int = 86400) -> DayInput:
    """Build the window [start, start + duration) s of day ``name`` ("summer"/"winter").

    Load and PV come from ``house`` (1-minute richardsonpy/pvlib values). The load's minute
    boundaries are moved by a seeded 0-59 s each (see the module docstring); PV keeps its minutes.
    """
    day = DAYS[name]
    duration = min(duration, 86400 - start)
    seconds = np.arange(start, start + duration)
    rng = np.random.default_rng(day.toordinal())
    bounds = np.arange(1, 1440) * 60 + rng.integers(0, 60, size=1439)
    load = house.load_minutes(day)[np.searchsorted(bounds, seconds, side="right")]
    pv = house.pv_minutes(day)[seconds // 60]
    visit = np.full((len(CARS), duration), -1, dtype=np.int64)
    for i, car in enumerate(CARS):
        for v, vis in enumerate(car.visits):
            a, d = max(vis.arrive - start, 0), min(vis.depart - start, duration)
            if a < d:
                visit[i, a:d] = v
    return DayInput(name, day, start, load.astype(np.float64), pv.astype(np.float64), visit)


# ----------------------------------------------------------------------------- the controllers


@dataclass(slots=True)
class Chargers:
    """What the chargers apply: limit (A) and running per EVSE, and the telegrams written to them."""

    limit: list[float] = field(default_factory=lambda: [0.0] * len(CARS))
    running: list[bool] = field(default_factory=lambda: [False] * len(CARS))
    telegrams: int = 0
    repeats: int = 0
    """Telegrams that changed nothing on the charger: keep-alives and periodic re-sends."""
    start_stop: int = 0
    """Start/stop telegrams among them."""

    def write_limit(self, i: int, amps: float) -> None:
        """A limit telegram (object 1 / the master's 135+15(n-1))."""
        self.telegrams += 1
        self.repeats += abs(self.limit[i] - amps) < 1e-9
        self.limit[i] = float(amps)

    def write_run(self, i: int, run: bool) -> None:
        """A start/stop telegram (object 33 / the master's pause-restart 137+15(n-1))."""
        self.telegrams += 1
        self.start_stop += 1
        self.repeats += self.running[i] == run
        self.running[i] = run

    def offered(self, i: int) -> float:
        """A on the pilot: the limit while running and at least 6 A, else 0."""
        lim = self.limit[i]
        return lim if self.running[i] and lim >= MIN_CURRENT else 0.0


@dataclass(slots=True)
class Reports:
    """The chargers' measured currents (object 14) as last sent, per connector (A).

    A charger sends on a change of more than ``change`` A or ``REPORT_PERIOD`` s after its last
    sending; ``value`` is shared with whoever reads the reports (``Obs.reported``).
    """

    value: list[float]
    change: float = REPORT_CHANGE
    at: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.at = [-math.inf] * len(self.value)

    def see(self, k: int, i: int, amps: float) -> bool:
        """Connector ``i`` measures ``amps`` at second ``k``; return True when it sends them."""
        if abs(amps - self.value[i]) > self.change or k - self.at[i] >= REPORT_PERIOD:
            self.value[i] = amps
            self.at[i] = k
            return True
        return False


@dataclass(slots=True)
class Obs:
    """What a controller can know at second ``k`` (measurements are ``LATENCY`` s old).

    ``meter``: per-phase grid currents (A, L1-L3, signed, + = import) last published, measured at
    ``meter_t``; ``fresh``: published this second. ``grid_w``: its power (W). ``reported``: each
    charger's last sent measured current (A); ``sent``: sent this second. ``actual``: the chargers'
    measured currents (A, what a poll returns, also ``LATENCY`` s old). ``wants``: a car is plugged
    in and not full (the charging status, known at once).
    """

    meter: tuple[float, float, float] | None = None
    meter_t: float = 0.0
    fresh: bool = False
    grid_w: float = 0.0
    reported: list[float] = field(default_factory=lambda: [0.0] * len(CARS))
    sent: list[bool] = field(default_factory=lambda: [False] * len(CARS))
    actual: list[float] = field(default_factory=lambda: [0.0] * len(CARS))
    wants: list[bool] = field(default_factory=lambda: [False] * len(CARS))


class HaBalancer:
    """This integration's balancer (defaults) on every meter update, both EVSEs in ``mode``.

    Meter: the three per-phase currents (MeterReading tuple), as from a P1 port. EVSE readings: the
    chargers' object 14 (send-on-change) and whether a car wants energy. Telegrams as
    ``Decision.writes`` documents: the limit when not paused, plus Start/Stop on a switch; a paused
    EVSE's write (switch or keep-alive) is one Stop. The demo's chargers have Fail-safe off (the
    ETS default), so they need no keep-alive (``keepalive=None``); everything else is the core's
    default, including ``raise_margin``. A start at the limit the charger already has is the Start
    alone: the demo's connectors send their "Current limit Status" (61/110, individual status on),
    so the integration knows it (``BalancingGroup._limit_in_force``).
    """

    def __init__(self, mode: str, step: float | None = None, margin: float | None = None) -> None:
        self.name = f"HA {mode}"
        self.mode = mode
        evses = tuple(EvseConfig(max_current=EVSE_MAX, phases=1, phase=p, mode=mode,  # type: ignore[arg-type]
                                 name=f"EVSE{i + 1}") for i, p in enumerate(EVSE_PHASE))
        extra: dict[str, Any] = {} if step is None else {"step": step}
        self.balancer = Balancer(BalancingConfig(
            limit=BREAKER, reserve_margin=MARGIN if margin is None else margin, phases=3, evses=evses,
            keepalive=None, **extra))
        self.last = -math.inf

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """Run a round on a fresh meter value (and at least every 5 s); write what it asks."""
        if obs.meter is None or not (obs.fresh or k - self.last >= 5):
            return
        self.last = k
        d = self.balancer.update(
            float(k), MeterReading(obs.meter, obs.meter_t),
            [EvseReading(obs.reported[i], obs.wants[i]) for i in range(len(CARS))],
        )
        apply_decision(d, ch)


def apply_decision(d: Decision, ch: Chargers) -> None:
    """Write what ``d`` asks, as ``Decision.writes`` documents (see :class:`HaBalancer`).

    Per EVSE in ``d.writes``: paused, one Stop; else the limit (left out on a start at the limit the
    charger already has), then Start when its pause state switched.
    """
    for i in d.writes:
        if d.paused[i]:
            ch.write_run(i, False)
        else:
            if i not in d.switches or ch.limit[i] != d.limits[i]:
                ch.write_limit(i, d.limits[i])
            if i in d.switches:
                ch.write_run(i, True)


class Builtin:
    """The charger's built-in master (simulator.master.BuiltinMaster), fed as on the bus.

    Object 130 gets the KNX meter's current (the highest phase, signed) on every meter update, 133/148
    the chargers' object 14 when they send it; every transmitted limit (135/150) and pause/restart
    (137/152) is a telegram that the chargers apply.
    """

    def __init__(self) -> None:
        self.name = f"built-in {MASTER_PERIOD} s"
        self.mode = "fast"
        params = ChargerParameters.from_dict({
            "load_balancing": True, "balancing_current_control": True,
            "balancing_protection_device": int(BREAKER), "balancing_margin": int(MARGIN),
            "balancing_evse_count": len(CARS), "balancing_evse_max": [EVSE_MAX] * len(CARS),
            "balancing_period": MASTER_PERIOD, "balancing_after_init": "on",
        })
        self._ch: Chargers | None = None
        self.master = BuiltinMaster(params, self._transmit)
        self._limit_obj = {self.master.limit_object(n + 1): n for n in range(len(CARS))}
        self._pause_obj = {self.master.pause_object(n + 1): n for n in range(len(CARS))}

    def _transmit(self, number: int, value: Any) -> None:
        assert self._ch is not None
        if number in self._limit_obj:
            self._ch.write_limit(self._limit_obj[number], float(value))
        elif number in self._pause_obj:
            self._ch.write_run(self._pause_obj[number], bool(value))

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """Feed the inputs that arrived this second, then advance the master by 1 s."""
        self._ch = ch
        if obs.fresh and obs.meter is not None:
            self.master.on_write(self.master.measured_object, max(obs.meter))
        for i in range(len(CARS)):
            if obs.sent[i]:
                self.master.on_write(self.master.input_object(i + 1), obs.reported[i])
        self.master.step(1.0)


class EvccLike:
    """A compact model of evcc's rules (evcc-io/evcc core/loadpoint.go, docs/design/loadmanagement.md).

    Every ``EVCC_INTERVAL`` s, loadpoints in priority order (EVSE1 first):

    - ``now``: target = the EVSE maximum.
    - ``pv`` / ``minpv`` (``pvMaxCurrent``): target = measured current - grid power / 230 V. ``minpv``
      never goes below 6 A. ``pv`` while charging and target < 6 A: at grid import >= 0 W (disable
      threshold) a 3 min disable timer runs, meanwhile 6 A; while not charging: target >= 6 A
      (enable threshold 0 W) for 1 min starts at 6 A. Timers only advance at the interval.
    - circuit load management ("first come, first serve", highest phase): at most the measured
      current + (22.5 A - the highest phase's current); below 6 A the loadpoint is disabled. The
      circuit's maxCurrent is the same 22.5 A budget as the others get.
    - currents are floored to whole A; a limit or an enable/disable is written only on a change (no
      keep-alive, which only lowers evcc's count). The next loadpoint sees the grid power and
      circuit room corrected by the previous one's change (kinder than evcc, which reuses the
      cycle's reading).
    """

    def __init__(self, mode: str) -> None:
        self.name = f"evcc-like {mode}"
        self.mode = {"now": "fast", "pv": "solar", "minpv": "min_solar"}[mode]
        self.evcc_mode = mode
        self.timer: list[float | None] = [None] * len(CARS)
        self.offset = 7  # the interval's phase; the house steps are jittered anyway

    def _pv_target(self, i: int, eff: float, site_w: float, enabled: bool, k: int) -> float:
        target = max(eff - site_w / VOLTAGE, 0.0)
        if self.evcc_mode == "minpv" and target < MIN_CURRENT:
            return MIN_CURRENT
        if enabled and target < MIN_CURRENT:
            if site_w >= 0.0:
                if self.timer[i] is None:
                    self.timer[i] = k
                if k - self.timer[i] >= EVCC_DISABLE_DELAY:  # type: ignore[operator]
                    self.timer[i] = None
                    return 0.0
            else:
                self.timer[i] = None
            return MIN_CURRENT
        if not enabled:
            if target >= MIN_CURRENT:
                if self.timer[i] is None:
                    self.timer[i] = k
                if k - self.timer[i] >= EVCC_ENABLE_DELAY:  # type: ignore[operator]
                    self.timer[i] = None
                    return MIN_CURRENT
            else:
                self.timer[i] = None
            return 0.0
        self.timer[i] = None
        return min(target, EVSE_MAX)

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """One evcc cycle every ``EVCC_INTERVAL`` s."""
        if k % EVCC_INTERVAL != self.offset or obs.meter is None:
            return
        site_w = obs.grid_w
        room = BUDGET - max(obs.meter)
        for i in range(len(CARS)):
            enabled = ch.running[i]
            if not obs.wants[i]:
                self.timer[i] = None
                if enabled:
                    ch.write_run(i, False)
                continue
            eff = obs.actual[i]
            target = EVSE_MAX if self.evcc_mode == "now" else self._pv_target(i, eff, site_w, enabled, k)
            target = math.floor(min(target, eff + room) + 1e-9)
            if target < MIN_CURRENT:
                target = 0
            if target == 0:
                if enabled:
                    ch.write_run(i, False)
            else:
                if ch.limit[i] != target:
                    ch.write_limit(i, target)
                if not enabled:
                    ch.write_run(i, True)
            # What the car will draw next (its own cap), as the next loadpoint should assume.
            new = min(target, CARS[i].spec.max_current) if target else 0.0
            room -= new - eff
            site_w += (new - eff) * VOLTAGE


Controller = HaBalancer | Builtin | EvccLike
CONTROLLERS: dict[str, Callable[[float | None, float | None], Controller]] = {
    "HA fast": lambda step, margin: HaBalancer("fast", step, margin),
    "HA solar": lambda step, margin: HaBalancer("solar", step, margin),
    "HA min_solar": lambda step, margin: HaBalancer("min_solar", step, margin),
    f"built-in {MASTER_PERIOD} s": lambda _step, _margin: Builtin(),
    "evcc-like now": lambda _step, _margin: EvccLike("now"),
    "evcc-like pv": lambda _step, _margin: EvccLike("pv"),
    "evcc-like minpv": lambda _step, _margin: EvccLike("minpv"),
}
"""Every controller of the table, by row name: a factory taking the HA balancer's ``step`` (A) and
reserve margin (%), None for the defaults (1 A, the bench's 10 %); the others ignore both. Each run
starts from scratch."""


# ---------------------------------------------------------------------------- the physical loop


@dataclass(frozen=True, slots=True)
class Trace:
    """One controller on one window, per second ``k`` (shapes (n,), (n, 2) per EVSE, (n, 3) per phase).

    ``current``: EV current (A) during second k; ``offered``: the pilot (A) in force from k to k+1;
    ``present``: a car is plugged in; ``wants``: plugged in and not full; ``grid``: phase currents
    (A, signed); ``telegrams``: total written, ``repeats`` of them changed nothing (keep-alives,
    periodic re-sends); ``runtime``: wall-clock s of the simulation.
    """

    current: FloatArray
    offered: FloatArray
    present: BoolArray
    wants: BoolArray
    grid: FloatArray
    telegrams: int
    repeats: int
    runtime: float


def simulate(inp: DayInput, controller: Controller, meter_period: int = 1,
             report_change: float = REPORT_CHANGE) -> Trace:
    """Run ``controller`` on ``inp``: EV physics, delayed measurements, writes (module docstring).

    ``meter_period``: s between meter updates; ``report_change``: A a charger's measured current
    must exceed to be sent before its ``REPORT_PERIOD``.
    """
    t0 = time.perf_counter()
    n = inp.n
    ncar = len(CARS)
    house_phase = (inp.load - inp.pv) / (3.0 * VOLTAGE)  # A per phase, house and PV spread evenly
    visits = inp.visit.tolist()
    cur = np.zeros((n, ncar))
    off = np.zeros((n, ncar))
    wants = np.zeros((n, ncar), dtype=bool)
    grid = np.repeat(house_phase[:, None], 3, axis=1)
    ch = Chargers()
    obs = Obs()
    evs: list[ElectricVehicle | None] = [None] * ncar
    now_visit = [-1] * ncar
    offered = [0.0] * ncar
    reports = Reports(obs.reported, report_change)
    lag_meter: list[tuple[float, float, float]] = []
    lag_cur: list[list[float]] = []
    for k in range(n):
        # 1. physics k-1 -> k
        amps = [0.0] * ncar
        for i in range(ncar):
            v = visits[i][k]
            if v != now_visit[i]:
                now_visit[i] = v
                car = CARS[i]
                evs[i] = (ElectricVehicle(car.name, car.spec, soc=car.visits[v].soc,
                                          target_soc=car.target_soc) if v >= 0 else None)
            ev = evs[i]
            if ev is not None:
                amps[i] = ev.step(offered[i], 1.0, 1)
                wants[k, i] = not ev.suspended
        cur[k] = amps
        row = grid[k]
        for i, p in enumerate(EVSE_PHASE):
            row[p - 1] += amps[i]
        lag_meter.append((float(row[0]), float(row[1]), float(row[2])))
        lag_cur.append(amps)
        # 2. what the controllers know (LATENCY s old)
        obs.wants = [bool(w) for w in wants[k]]
        obs.fresh = False
        obs.sent = [False] * ncar
        j = k - LATENCY
        if j >= 0:
            seen = lag_cur[j]
            obs.actual = seen
            obs.sent = [reports.see(k, i, seen[i]) for i in range(ncar)]
            if k % meter_period == 0:
                obs.meter = lag_meter[j]
                obs.meter_t = float(j)
                obs.grid_w = sum(obs.meter) * VOLTAGE
                obs.fresh = True
        # 3. the controller writes; the chargers apply it from k to k+1
        controller.act(k, obs, ch)
        offered = [ch.offered(i) for i in range(ncar)]
        off[k] = offered
    present = inp.visit.T >= 0
    return Trace(cur, off, present, wants, grid, ch.telegrams, ch.repeats, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------- metrics


def load_rises(load: FloatArray, threshold: float) -> npt.NDArray[np.int64]:
    """Seconds k at which the house load rose by at least ``threshold`` W from k-1."""
    return np.nonzero(np.diff(load) >= threshold)[0] + 1


def metrics(inp: DayInput, tr: Trace, step_w: float) -> dict[str, float]:
    """Compute one table row from a trace (units in the module docstring)."""
    n = inp.n
    mag = np.abs(tr.grid).max(axis=1)
    over_brk = np.clip(mag - BREAKER, 0.0, None)
    over_bud = np.clip(mag - BUDGET, 0.0, None)
    rising = np.zeros(n + TRANSIENT_WINDOW, dtype=bool)
    blind = np.zeros(n + BLIND_WINDOW, dtype=bool)
    for k in np.nonzero(np.diff(inp.load) > 0)[0] + 1:
        rising[k:k + TRANSIENT_WINDOW] = True
        blind[k:k + BLIND_WINDOW] = True
    ev_w = tr.current.sum(axis=1) * VOLTAGE
    surplus = np.clip(inp.pv - inp.load, 0.0, None)
    solar_w = np.minimum(ev_w, surplus)
    export_w = np.clip(surplus - ev_w, 0.0, None)
    waiting = tr.wants.any(axis=1)
    on = tr.offered >= MIN_CURRENT
    stops = int((on[:-1] & ~on[1:] & tr.present[1:] & tr.wants[1:]).sum())
    prev = tr.offered[:-1]
    lowered = np.zeros(n, dtype=bool)
    lowered[1:] = ((tr.offered[1:] < prev - 1e-9) & (prev >= MIN_CURRENT) & tr.wants[1:]).any(axis=1)
    low_at = np.nonzero(lowered)[0]
    hunts = 0
    for i in range(tr.offered.shape[1]):
        col, was = tr.offered[1:, i], tr.offered[:-1, i]
        ups = np.nonzero((col > was + 1e-9) & (was >= MIN_CURRENT))[0] + 1
        downs = np.nonzero((col < was - 1e-9) & (col >= MIN_CURRENT))[0] + 1
        if not len(downs):
            continue
        pos = np.searchsorted(downs, ups, side="right")
        nxt = np.where(pos < len(downs), downs[np.minimum(pos, len(downs) - 1)], n + HUNT_WINDOW + 1)
        hunts += int((nxt - ups <= HUNT_WINDOW).sum())
    reactions: list[int] = []
    events = 0
    for k in load_rises(inp.load, step_w):
        if not (on[k - 1] & tr.present[k - 1]).any():
            continue
        events += 1
        pos = np.searchsorted(low_at, k)
        if pos < len(low_at) and low_at[pos] - k <= REACTION_WINDOW:
            reactions.append(int(low_at[pos] - k))
    ev_kwh = float(ev_w.sum()) / 3.6e6
    solar_kwh = float(solar_w.sum()) / 3.6e6
    return {
        "brk_s": float((over_brk > 0).sum()),
        "brk_as": float(over_brk.sum()),
        "bud_s": float((over_bud > 0).sum()),
        "bud_as": float(over_bud.sum()),
        "ctl_s": float(((over_bud > 0) & ~rising[:n]).sum()),
        "blind_s": float(((over_bud > 0) & blind[:n]).sum()),
        "brk_blind_s": float(((over_brk > 0) & blind[:n]).sum()),
        "ev_kwh": ev_kwh,
        "solar_kwh": solar_kwh,
        "solar_pct": 100.0 * solar_kwh / ev_kwh if ev_kwh > 0 else 0.0,
        "export_kwh": float((export_w * waiting).sum()) / 3.6e6,
        "stops": float(stops),
        "tg_h": tr.telegrams / (n / 3600.0),
        "tg_kwh": tr.telegrams / ev_kwh if ev_kwh > 0 else math.nan,
        "rep_h": tr.repeats / (n / 3600.0),
        "hunts": float(hunts),
        "react_s": float(np.mean(reactions)) if reactions else math.nan,
        "react_n": float(len(reactions)),
        "react_events": float(events),
        "runtime": tr.runtime,
    }


def ideal_solar(inp: DayInput, resolution: float = 0.0) -> float:
    """Upper bound on the PV surplus (kWh) the cars could have taken, with hindsight.

    Per second the surplus is S = max(0, PV - house) W. A set of plugged-in cars can take any total
    in [k x 1380 W, sum of the k largest maxima] for k of them, so a set A of visits can take at most
    g_A(t) = the largest such total <= S(t); with ``resolution`` > 0 (A) that total is also rounded
    down to a multiple of ``resolution`` x 230 V (limits written in whole steps). A visit v takes at
    most its need N_v (Wh to its target). The bound is min over sets A of sum_t g_A(t) + sum of N_v
    for v not in A (a cut: energy to the visits in A is limited by their seconds, to the others by
    their needs). Ignores the taper (an upper bound) and the breaker, which does not bind for solar
    here.
    """
    s = np.clip(inp.pv - inp.load, 0.0, None)
    m = MIN_CURRENT * VOLTAGE
    vis = [(i, v) for i, car in enumerate(CARS) for v in range(len(car.visits))
           if (inp.visit[i] == v).any()]
    best = math.inf
    for r in range(len(vis) + 1):
        for subset in itertools.combinations(vis, r):
            caps = np.zeros((len(CARS), inp.n))
            for i, v in subset:
                caps[i][inp.visit[i] == v] = CARS[i].max_power
            single = np.max(np.where((caps > 0) & (s >= m), np.minimum(s, caps), 0.0), axis=0)
            both = np.where((caps > 0).all(axis=0) & (s >= 2 * m), np.minimum(s, caps.sum(axis=0)), 0.0)
            g = np.maximum(single, both)
            if resolution > 0:
                unit = resolution * VOLTAGE
                g = np.floor(g / unit + 1e-9) * unit
            rest_wh = sum(CARS[i].need_wh(CARS[i].visits[v]) for i, v in vis if (i, v) not in subset)
            best = min(best, float(g.sum()) / 3.6e6 + rest_wh / 1000.0)
    return best


# --------------------------------------------------------------------------------- the report


@dataclass(slots=True)
class BenchResult:
    """The benchmark's outcome.

    ``rows[(day, controller)]``: :func:`metrics`; ``ideal[day]`` / ``ideal_grid[day]``: kWh of
    :func:`ideal_solar`, continuous and on the 1 A grid; ``goals``: (text, passed, figures);
    ``text``: the printed report; ``seconds``: wall-clock run time.
    """

    rows: dict[tuple[str, str], dict[str, float]]
    ideal: dict[str, float]
    ideal_grid: dict[str, float]
    goals: list[tuple[str, bool, str]]
    text: str
    seconds: float


COLUMNS: tuple[tuple[str, str, str], ...] = (
    (">brk s", "brk_s", "{:.0f}"), (">brk As", "brk_as", "{:.1f}"),
    (">bud s", "bud_s", "{:.0f}"), (">bud As", "bud_as", "{:.1f}"), ("ctl s", "ctl_s", "{:.0f}"),
    ("EV kWh", "ev_kwh", "{:.2f}"), ("sol%", "solar_pct", "{:.0f}"), ("sol kWh", "solar_kwh", "{:.2f}"),
    ("exp kWh", "export_kwh", "{:.2f}"), ("stops", "stops", "{:.0f}"), ("tg/h", "tg_h", "{:.2f}"),
    ("rep/h", "rep_h", "{:.0f}"), ("hunts", "hunts", "{:.0f}"),
)
"""(header, metrics key, format) of the table's numeric columns; the reaction column follows."""
SOLAR_ROWS = ("HA solar", "evcc-like pv")
"""Rows whose solar capture is compared with the solar-only ideal."""
PAIRS = (("HA fast", "evcc-like now"), ("HA solar", "evcc-like pv"), ("HA min_solar", "evcc-like minpv"))
"""(this balancer, evcc-like) rows compared for start/stop cycles and telegrams."""


def _fmt_react(row: dict[str, float]) -> str:
    if math.isnan(row["react_s"]):
        return f"- (0/{row['react_events']:.0f})"
    return f"{row['react_s']:.1f} ({row['react_n']:.0f}/{row['react_events']:.0f})"


def table(day: str, names: Sequence[str], rows: dict[tuple[str, str], dict[str, float]]) -> list[str]:
    """Format one day's rows as a fixed-width table."""
    width = max(len(x) for x in names) + 1
    head = f"{'controller':<{width}}" + "".join(f"{c:>9}" for c, _, _ in COLUMNS) + f"{'react s (n)':>14}"
    lines = [head, "-" * len(head)]
    for name in names:
        row = rows[(day, name)]
        cells = "".join(f"{fmt.format(row[key]):>9}" for _, key, fmt in COLUMNS)
        lines.append(f"{name:<{width}}{cells}{_fmt_react(row):>14}")
    return lines


def evaluate_goals(days: Sequence[str], names: Sequence[str],
                   rows: dict[tuple[str, str], dict[str, float]],
                   ideal: dict[str, float]) -> list[tuple[str, bool, str]]:
    """The issue's goals for this balancer's rows, PASS/FAIL with the figures behind each.

    - 0 s above the budget, read two ways: above the breaker rating (trip risk) and above the
      budget with margin; both per HA row and day.
    - HA solar takes >= 95 % of the ideal (continuous, solar-only) solar capture, per day.
    - Each HA mode has fewer start/stop cycles (or both none) and fewer telegrams per hour than the
      evcc-like row of the same mode, per day.
    - HA fast's mean reaction is >= 5x faster than the built-in master's, over the load steps of
      all days together (the per-day means are in the table; with few steps a day, the master's
      mean depends on where the steps fall in its 10 s period).
    """
    goals: list[tuple[str, bool, str]] = []
    for day in days:
        for name in (x for x in names if x.startswith("HA ")):
            r = rows[(day, name)]
            goals.append((f"{day}: {name}: 0 s above the breaker rating ({BREAKER:.0f} A, trip risk)",
                          r["brk_s"] == 0, f"{r['brk_s']:.0f} s, {r['brk_as']:.1f} As; {r['brk_blind_s']:.0f} s "
                          f"of them in the first {BLIND_WINDOW} s after a rise of the house load"))
            goals.append((f"{day}: {name}: 0 s above the budget ({BUDGET:.1f} A)", r["bud_s"] == 0,
                          f"{r['bud_s']:.0f} s, {r['bud_as']:.1f} As; {r['blind_s']:.0f} s of them in the "
                          f"first {BLIND_WINDOW} s after a rise of the house load (before any controller's "
                          f"write can act), {r['ctl_s']:.0f} s more than {TRANSIENT_WINDOW} s after one"))
        if "HA solar" in names and ideal.get(day, 0.0) > 0:
            got = rows[(day, "HA solar")]["solar_kwh"]
            pct = 100.0 * got / ideal[day]
            goals.append((f"{day}: HA solar takes >= 95 % of the ideal solar capture", pct >= 95.0,
                          f"{got:.2f} of {ideal[day]:.2f} kWh = {pct:.1f} %"))
        for ours, theirs in PAIRS:
            if ours not in names or theirs not in names:
                continue
            a, b = rows[(day, ours)], rows[(day, theirs)]
            ok = a["stops"] < b["stops"] or a["stops"] == b["stops"] == 0
            goals.append((f"{day}: {ours}: fewer start/stop cycles than {theirs}", ok,
                          f"{a['stops']:.0f} vs {b['stops']:.0f}"))
            goals.append((f"{day}: {ours}: fewer telegrams than {theirs}", a["tg_h"] < b["tg_h"],
                          f"{a['tg_h']:.2f} vs {b['tg_h']:.2f} per hour, {a['tg_kwh']:.2f} vs {b['tg_kwh']:.2f} per kWh "
                          f"delivered ({a['rep_h']:.0f} vs "
                          f"{b['rep_h']:.0f} of them keep-alives/re-sends; HA raise->lower flips: "
                          f"{a['hunts']:.0f})"))
    builtin = f"built-in {MASTER_PERIOD} s"
    if "HA fast" in names and builtin in names:
        def pooled(name: str) -> tuple[float, float]:
            n = sum(rows[(d, name)]["react_n"] for d in days)
            total = sum(rows[(d, name)]["react_s"] * rows[(d, name)]["react_n"] for d in days
                        if rows[(d, name)]["react_n"])
            return (total / n if n else math.nan), n
        (fast_s, n_fast), (master_s, n_master) = pooled("HA fast"), pooled(builtin)
        if n_fast and n_master:
            ratio = master_s / fast_s if fast_s > 0 else math.inf
            goals.append(("all days: HA fast reacts >= 5x faster than the built-in master", ratio >= 5.0,
                          f"{fast_s:.2f} s ({n_fast:.0f} steps) vs {master_s:.2f} s ({n_master:.0f} "
                          f"steps) = {ratio:.1f}x"))
    return goals


def core_version() -> str:
    """The git commit of the balancing core, and whether the working tree changes it."""
    import subprocess  # noqa: PLC0415  (only for this line of the report)

    path = "custom_components/knx_evse/balancing"
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", path],
                               capture_output=True, text=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


def run_bench(days: Sequence[str] = ("summer", "winter"), start: int = 0, duration: int = 86400,
              names: Sequence[str] | None = None, meter_period: int = 1, load_step: float = 1000.0,
              report_change: float = REPORT_CHANGE, limit_step: float | None = None,
              ha_margin: float | None = None, battery: bool = True) -> BenchResult:
    """Simulate every controller on every day window and build the report.

    ``start``/``duration``: the window in s since midnight; ``names``: rows (default all);
    ``meter_period``: s; ``load_step``: W of a load rise that counts as a step; ``report_change``:
    A of the chargers' send-on-change; ``limit_step``: the HA balancer's ``step`` (None: default);
    ``ha_margin``: the HA balancer's reserve margin in % (None: the bench's; the goals' budget stays
    ``BUDGET``), to measure headroom for the house's steps against energy. ``battery``: on the whole
    summer day, also the home-battery day (``scripts/bench_battery.py``: clear, and with clouds).
    """
    t0 = time.perf_counter()
    names = list(names or CONTROLLERS)
    house = HouseModel(HOUSE)
    rows: dict[tuple[str, str], dict[str, float]] = {}
    ideal: dict[str, float] = {}
    ideal_grid: dict[str, float] = {}
    end = min(86400, start + duration)
    out = [
        f"Load-balancing benchmark: 3 x {BREAKER:.0f} A supply, {MARGIN:.0f} % margin -> budget "
        f"{BUDGET:.1f} A/phase; two single-phase EVSEs (max {EVSE_MAX:.0f} A) on L1: "
        + ", ".join(f"EVSE{i + 1} {c.name} ({c.spec.max_current:.0f} A, {c.spec.capacity_kwh:g} kWh)"
                    for i, c in enumerate(CARS)),
        f"House {HOUSE.annual_kwh:.0f} kWh/a, {HOUSE.kwp:.0f} kWp; meter every {meter_period} s, "
        f"measurements {LATENCY} s late; chargers send their current on a change > {report_change:g} A "
        f"or every {REPORT_PERIOD} s; HA step {'default' if limit_step is None else f'{limit_step:g} A'}; "
        f"HA margin {MARGIN if ha_margin is None else ha_margin:g} %; "
        f"load steps >= {load_step:.0f} W; window {start // 3600:02d}:{start % 3600 // 60:02d}-"
        f"{end // 3600:02d}:{end % 3600 // 60:02d}; balancing core {core_version()}",
    ]
    for day in days:
        inp = day_input(day, house, start, duration)
        ideal[day] = ideal_solar(inp)
        ideal_grid[day] = ideal_solar(inp, 1.0)
        for name in names:
            trace = simulate(inp, CONTROLLERS[name](limit_step, ha_margin), meter_period, report_change)
            rows[(day, name)] = metrics(inp, trace, load_step)
        out.append("")
        out.append(f"== {day} {inp.day.isoformat()}: house {inp.load.sum() / 3.6e6:.1f} kWh, "
                   f"PV {inp.pv.sum() / 3.6e6:.1f} kWh, surplus "
                   f"{np.clip(inp.pv - inp.load, 0, None).sum() / 3.6e6:.1f} kWh; load rises >= "
                   f"{load_step:.0f} W: {len(load_rises(inp.load, load_step))}; ideal solar capture "
                   f"(hindsight) {ideal[day]:.2f} kWh ({ideal_grid[day]:.2f} kWh in whole amperes)")
        out.extend(table(day, names, rows))
        for name in (x for x in names if x in SOLAR_ROWS):
            got = rows[(day, name)]["solar_kwh"]
            if ideal[day] > 0:
                out.append(f"  {name}: solar capture {got:.2f} kWh = {100 * got / ideal[day]:.1f} % of "
                           f"the ideal ({100 * got / ideal_grid[day]:.1f} % of the whole-ampere ideal)")
    goals = evaluate_goals(days, names, rows, ideal)
    if battery and "summer" in days and start == 0 and duration >= 86400:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_battery import battery_day  # noqa: PLC0415  (it imports this module)

        for clouds in (False, True):
            home = battery_day(clouds=clouds)
            out += ["", home.text]
            goals += home.goals
    out.append("")
    out.append("Goals")
    out.extend(f"  {'PASS' if ok else 'FAIL'}  {text}: {why}" for text, ok, why in goals)
    seconds = time.perf_counter() - t0
    out.append("")
    out.append(f"run time {seconds:.1f} s (simulation {sum(r['runtime'] for r in rows.values()):.1f} s)")
    return BenchResult(rows, ideal, ideal_grid, goals, "\n".join(out), seconds)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the benchmark and print the report; exit status 0.

    ``--faults`` runs the fault day instead (``scripts/bench_faults.py``, its own options and exit status).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    full = not argv
    if "--plan" in argv:
        argv.remove("--plan")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_plan import main as plan  # noqa: PLC0415  (the plan bench imports this module)

        return plan(argv)
    if "--carpark" in argv:
        argv.remove("--carpark")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_carpark import main as carpark  # noqa: PLC0415  (the car-park day imports this module)

        return carpark(argv)
    if "--faults" in argv:
        argv.remove("--faults")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_faults import main as faults  # noqa: PLC0415  (the fault day imports this module)

        return faults(argv)
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--faults", action="store_true",
                        help="run the fault day instead: one goal line per fault (scripts/bench_faults.py)")
    parser.add_argument("--plan", action="store_true",
                        help="run the plan night instead: plan cost on real prices (scripts/bench_plan.py)")
    parser.add_argument("--carpark", action="store_true",
                        help="run the car-park day instead: 40 chargers in 6 circuits (scripts/bench_carpark.py)")
    parser.add_argument("--days", default="summer,winter", help="comma-separated: summer, winter")
    parser.add_argument("--start", default="00:00", help="window start, HH:MM[:SS] (default 00:00)")
    parser.add_argument("--duration", type=int, default=86400, help="window length in s (default a day)")
    parser.add_argument("--meter-period", type=int, default=1, help="s between meter updates (default 1)")
    parser.add_argument("--load-step", type=float, default=1000.0,
                        help="W: a rise of the house load that counts as a step (default 1000)")
    parser.add_argument("--report-change", type=float, default=REPORT_CHANGE,
                        help=f"A: chargers send their current on a larger change (default {REPORT_CHANGE})")
    parser.add_argument("--limit-step", type=float, default=None,
                        help="A: the HA balancer's limit resolution (default: its own default)")
    parser.add_argument("--ha-margin", type=float, default=None,
                        help=f"%%: the HA balancer's reserve margin (default {MARGIN:g}, the budget's); "
                             "more keeps headroom for the house's steps, at the cost of energy")
    parser.add_argument("--controllers", default=",".join(CONTROLLERS),
                        help="comma-separated row names (default: all)")
    parser.add_argument("--no-battery", action="store_true",
                        help="leave out the home-battery day (scripts/bench_battery.py)")
    args = parser.parse_args(argv)
    days = [d.strip() for d in args.days.split(",") if d.strip()]
    names = [c.strip() for c in args.controllers.split(",") if c.strip()]
    for d in days:
        if d not in DAYS:
            parser.error(f"unknown day {d!r}; choose from {', '.join(DAYS)}")
    for c in names:
        if c not in CONTROLLERS:
            parser.error(f"unknown controller {c!r}; choose from {', '.join(CONTROLLERS)}")
    if not 0 <= hm(args.start) < 86400 or args.duration < 2:
        parser.error("the window must start within the day and last at least 2 s")
    result = run_bench(days, hm(args.start), args.duration, names, args.meter_period, args.load_step,
                       args.report_change, args.limit_step, args.ha_margin, not args.no_battery)
    print(result.text)
    if full:  # the plan night too (scripts/bench_plan.py), with its goal lines
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from bench_plan import run_plan_bench  # noqa: PLC0415

        print("\n" + run_plan_bench()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
