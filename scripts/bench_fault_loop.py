"""The fault day's physical loop: the pure core (and the group's grace) against chargers and meters that fail.

The loop of ``scripts/bench_balancing.py`` (its measurement model, charger bookkeeping and helpers,
imported) generalised to the fault day's installations (``scripts/bench_faults.py``): any supply,
members of one or three phases and one or two connectors, chargers that ignore their limit or their
Stop, a meter in W or per phase that may be gone, reversed or late, a KNX connection that may drop.
Per second ``k``: physics ``k-1 -> k`` (``simulator.ev``), then what the group knows (``LATENCY`` s
late, nothing while the bus is down), then a round, whose writes are on the pilots from ``k`` to
``k+1``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_balancing import BREAKER, EVSE_MAX, LATENCY, MARGIN, VOLTAGE, Chargers, Reports, apply_decision

from custom_components.knx_evse.balancing import (
    Balancer,
    BalancingConfig,
    EvseConfig,
    EvseReading,
    MeterReading,
    Mode,
)
from custom_components.knx_evse.group.data import CONF_UPDATE_INTERVAL, TIMING
from custom_components.knx_evse.group.grace import Grace
from simulator.ev import ElectricVehicle, EvSpec

FloatArray = npt.NDArray[np.float64]

EPISODE_GAP = 30
"""s: seconds over the budget closer together than this are one event."""
UPDATE_INTERVAL = TIMING[CONF_UPDATE_INTERVAL][0]
"""s between the group's rounds without a meter update (its default)."""
HAS_CONNECTORS = "connectors" in EvseReading.__dataclass_fields__
"""The core's EvseReading knows a member with two connectors."""


@dataclass(frozen=True, slots=True)
class Charger:
    """One member of the group and what its charger does.

    ``phase``/``phases``/``max_current``/``mode``: its EvseConfig. ``connectors``: 2 for a charger that
    splits its limit 50/50 between plugged cars. ``pilot``: A it offers whenever it runs, whatever its
    limit (None: its limit); ``ignores_stop``: once started, it offers ``pilot`` while paused too.
    """

    phase: int = 1
    phases: int = 1
    max_current: float = EVSE_MAX
    mode: Mode = "fast"
    connectors: int = 1
    pilot: float | None = None
    ignores_stop: bool = False


@dataclass(frozen=True, slots=True)
class Plug:
    """A car on a connector of charger ``charger`` (index), plugged in during [arrive, depart) s."""

    charger: int
    spec: EvSpec
    soc: float = 0.4
    arrive: int = 0
    depart: int = 1 << 30


@dataclass(frozen=True, slots=True)
class Fault:
    """One run. ``house``: (n, supply phases) A, signed (+ import), the load less PV, per second.

    ``limit`` A per phase and ``margin`` %; ``meter_w``: one total meter in W instead of per-phase
    currents; ``balanced``: the core's ``balanced_supply``; ``reversed_from``: second from which the
    meter shows import as export; ``meter_gone``/``bus_gone``: seconds the meter update is None / the
    KNX connection is down; ``grace``: the group's grace in s around the core, None for the core alone.
    """

    house: FloatArray
    chargers: tuple[Charger, ...]
    cars: tuple[Plug, ...]
    limit: float = BREAKER
    margin: float = MARGIN
    meter_w: bool = False
    balanced: bool = False
    reversed_from: int | None = None
    meter_gone: frozenset[int] = frozenset()
    bus_gone: frozenset[int] = frozenset()
    grace: float | None = None

    @property
    def budget(self) -> float:
        """A per phase for everything: the limit less the margin."""
        return self.limit * (1.0 - self.margin / 100.0)


@dataclass(frozen=True, slots=True)
class Run:
    """A fault's trace: ``grid`` (n, phases) A; ``limit`` (n, chargers) A in force, 0 while paused;
    ``offer`` (n, cars) A on each car's pilot; ``energy`` Wh per car; ``start_stop`` telegrams;
    ``states``: (second, meter state) each time the core's verdict on the meter changed."""

    grid: FloatArray
    limit: FloatArray
    offer: FloatArray
    energy: list[float]
    start_stop: int
    states: list[tuple[int, str]] = field(default_factory=list)

    def states_since(self, k: int) -> list[str]:
        """The meter states the core reported from second ``k`` on, in order."""
        before = [x for t, x in self.states if t <= k][-1:]
        return before + [x for t, x in self.states if t > k]

    def events(self, budget: float) -> list[int]:
        """Seconds over ``budget`` per event (runs less than ``EPISODE_GAP`` s apart are one)."""
        over = np.nonzero(np.abs(self.grid).max(axis=1) > budget + 1e-9)[0]
        if not len(over):
            return []
        return [len(g) for g in np.split(over, np.nonzero(np.diff(over) >= EPISODE_GAP)[0] + 1)]


def _phases(charger: Charger, spec: EvSpec, supply: int) -> list[int]:
    """Supply phase indices a car draws on."""
    if supply == 1:
        return [0]
    if charger.phases == 1:
        return [charger.phase - 1]
    return list(range(min(spec.phases, 3)))


def simulate(f: Fault) -> Run:
    """Run the core (with the group's grace when ``f.grace``) on ``f``, second by second."""
    n, nph = f.house.shape
    ncs, ncar = len(f.chargers), len(f.cars)
    balancer = Balancer(BalancingConfig(
        limit=f.limit, reserve_margin=f.margin, phases=nph, balanced_supply=f.balanced,
        evses=tuple(EvseConfig(max_current=c.max_current, phases=c.phases, phase=c.phase, mode=c.mode,
                               name=f"EVSE{i + 1}") for i, c in enumerate(f.chargers))))
    grace = None if f.grace is None else Grace(f.grace)
    ch = Chargers([0.0] * ncs, [False] * ncs)
    reports = Reports([0.0] * ncar)
    known = [0.0] * ncar  # the reports that reached the group
    evs: list[ElectricVehicle | None] = [None] * ncar
    energy = [0.0] * ncar
    pilot = [0.0] * ncar
    draws = [_phases(f.chargers[p.charger], p.spec, nph) for p in f.cars]
    grid = np.array(f.house, dtype=np.float64)
    limit, offer = np.zeros((n, ncs)), np.zeros((n, ncar))
    lag: list[tuple[list[float], tuple[float, ...]]] = []
    meter: MeterReading | None = None
    states: list[tuple[int, str]] = []
    started = [False] * ncs  # a charger that ignores its Stop charges on once started
    last_round = -np.inf
    for k in range(n):
        amps = [0.0] * ncar
        for j, plug in enumerate(f.cars):  # physics k-1 -> k
            here = plug.arrive <= k < plug.depart
            if here and evs[j] is None:
                evs[j] = ElectricVehicle(f"car {j + 1}", plug.spec, soc=plug.soc)
            elif not here:
                evs[j] = None
            ev = evs[j]
            if ev is not None:
                before = ev.energy_wh
                amps[j] = ev.step(pilot[j], 1.0, f.chargers[plug.charger].phases)
                energy[j] += ev.energy_wh - before
                for p in draws[j]:
                    grid[k, p] += amps[j]
        lag.append((amps, tuple(float(x) for x in grid[k])))
        up = k not in f.bus_gone
        fresh = False
        if k >= LATENCY:  # what the group knows, LATENCY s late; nothing while the bus is down
            seen, phases = lag[k - LATENCY]
            for j in range(ncar):
                if reports.see(k, j, seen[j]) and up:
                    known[j] = seen[j]
            if up:
                sign = -1.0 if f.reversed_from is not None and k >= f.reversed_from else 1.0
                value: float | tuple[float, ...] | None = (
                    None if k in f.meter_gone else sign * sum(phases) * VOLTAGE if f.meter_w
                    else tuple(sign * x for x in phases))
                meter = MeterReading(value, float(k - LATENCY), "W" if f.meter_w else None)
                fresh = True
        if meter is not None and (fresh or not up or k - last_round >= UPDATE_INTERVAL):
            last_round = k
            readings = [_reading(f, c, evs, known) for c in range(ncs)]
            if grace is None or not grace.holding(float(k), up, meter):
                d = balancer.update(float(k), meter if up else None, readings)
                if not states or states[-1][1] != d.meter_state:
                    states.append((k, d.meter_state))
                if up:
                    apply_decision(d, ch)
                else:
                    balancer.force_write()  # as the group: everyone again after the reconnect
        for c, charger in enumerate(f.chargers):  # the pilots from k to k+1
            limit[k, c] = ch.limit[c] if ch.running[c] else 0.0
            cars = [j for j, p in enumerate(f.cars) if p.charger == c and evs[j] is not None]
            started[c] = bool(cars) and (started[c] or ch.running[c])
            if charger.pilot is None:
                amps_c = ch.offered(c)
            else:
                amps_c = charger.pilot if ch.running[c] or (charger.ignores_stop and started[c]) else 0.0
            share = 0.5 if charger.connectors > 1 and len(cars) >= 2 else 1.0
            for j in cars:
                pilot[j] = min(amps_c * share, charger.max_current)
        for j in range(ncar):
            if evs[j] is None:
                pilot[j] = 0.0
            offer[k, j] = pilot[j]
    return Run(grid, limit, offer, energy, ch.start_stop, states)


def _reading(f: Fault, c: int, evs: Sequence[ElectricVehicle | None], known: Sequence[float]) -> EvseReading:
    """What member ``c`` reports: its connectors' currents summed, and whether a car wants energy."""
    cars = [(j, ev) for j, (p, ev) in enumerate(zip(f.cars, evs, strict=True)) if p.charger == c and ev is not None]
    current = sum(known[j] for j, _ev in cars)
    wants = any(not ev.suspended for _j, ev in cars)
    if f.chargers[c].connectors > 1 and HAS_CONNECTORS:
        extra: dict[str, Any] = {"connectors": f.chargers[c].connectors,
                                 "busiest": max((known[j] for j, _ev in cars), default=0.0)}
        return EvseReading(current, wants, **extra)  # the core's API for such a member, when it has it
    return EvseReading(current, wants)
