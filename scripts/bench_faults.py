#!/usr/bin/env python3
"""Fault day of the load-balancing benchmark: one goal line per fault, PASS or FAIL with its figure.

Each fault is its own short run at 1 s with the measurement model of ``scripts/bench_balancing.py``
(imported): the pure core with its default timing, a round on every meter update (and every
``update_interval``), the meter and the chargers' reports 1 s late, reports on a change of 0.5 A or
every 30 s. Unless a fault says otherwise: the bench's house on its winter evening from 18:00, 3 x
25 A with a 10 % margin (22.5 A per phase), the bench's Leaf (29 A) on EVSE1 and e-Golf (16 A) on
EVSE2, both single-phase on L1. Over the budget: any phase's current magnitude above it; seconds
over it less than 30 s apart are one event. Times below are at ``--scale 1``.

1. ``disobedient``: EVSE1's charger offers 16 A whatever its limit; the e-Golf arrives at 5 min and
   the fair share lowers EVSE1's limit to about 10 A. The core counts the excess as load, writes the
   limit again, then Stops it. Two runs: the charger obeys its Stop (and is started again after the
   minimum off time, to do it again), or, once started, ignores it (its whole draw then counts as
   load). Goal: <= 12 s over the budget per event.
2. ``unbalanced``: house L1/L2/L3 = 2/2/2 A, jumping to 10/6/20 A for 10 min twice, on 3 x 32 A; one
   total meter in W; one three-phase car (16 A). Goal: <= 12 s over the budget per event (L3); the
   figure also gives the same run with ``balanced_supply``, which spreads the load evenly.
3. ``reversed``: both cars charge; after 10 min the meter's sign is inverted (import shown as
   export). Goal: <= 12 s over the budget per event; passes once the core recognises the meter.
4. ``connectors``: one VE 222 (three-phase, two connectors on the same phases) as one member, two
   three-phase cars plugged; the charger splits its limit 50/50 between plugged cars and does not
   pass on what one leaves unused (``simulator.charger.model``). In ``min_solar``, and in ``fast``
   with a 10 A per phase load (a cooker) for 10 min. The readings carry ``connectors`` and
   ``busiest`` when the core's EvseReading has them. Goal: both cars charge: the member's limit is
   >= 2 x 6 A whenever it charges, and both cars' energy > 0.
5. ``blips``: both cars charge; every 5 min the meter is unavailable for one update, and 2.5 min
   later the KNX connection is down for 1 s (no meter value, the chargers' reports lost). The
   group's grace (``group/grace.py``, ``meter_grace`` default) runs around the core. Goal: 0 more
   Start/Stop telegrams than the same run without blips; the figure also gives the core alone.
6. ``export``: a solar-mode Leaf charges on 6 A per phase of export; at 5 min the export ends (1 A
   per phase import) but for a 1 s export blip of the same 6 A every 60 s. Goal: paused within 2 x
   ``solar_stop_delay`` of the import beginning; the figure also gives the run without the blips.
7. ``capped``: one phase of 40 A (no margin), 2 A of house load, two EVSEs (32 A): one car's
   on-board charger takes only 10 A while its share would be 19 A, the other car 32 A. Goal: the
   other's limit reaches, within 60 s of the capped car's start, what it gets when the capped car's
   maximum is set to its cap, less one step (the core's hysteresis applies to both).
8. ``bridge``: bridge mode's telegrams per hour to the built-in master (``group/bridge.py``
   ``Throttle``, default bridge period) from a 1 Hz meter at 10 A with +-0.2 A of noise, and from
   the same noise on a steady climb (5 -> 35 -> 5 A at 0.05 A/s). Goal: <= 3600 / period + 300.

Usage: scripts/bench --faults [--only NAME,...] [--scale X] (each window x X). Exit status 1 when a
goal fails (the ordinary bench always exits 0: its goals are a table to read).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_balancing import (
    BREAKER,
    CARS,
    HOUSE,
    LATENCY,
    MARGIN,
    MIN_CURRENT,
    VOLTAGE,
    core_version,
    day_input,
    hm,
)
from bench_fault_loop import HAS_CONNECTORS, Charger, Fault, FloatArray, Plug, Run, simulate

from custom_components.knx_evse.balancing import BalancingConfig, Mode
from custom_components.knx_evse.balancing.state import CAP_HEADROOM
from custom_components.knx_evse.group.bridge import BRIDGE_CHANGE_A, Throttle
from custom_components.knx_evse.group.data import CONF_BRIDGE_PERIOD, TIMING
from simulator.ev import EvSpec
from simulator.house import HouseModel

START = hm("18:00")
"""The winter evening's first second (both cars home, no PV)."""
PER_EVENT = 12.0
"""s over the budget per event, the goal of the faults that can overload the supply."""
GRACE = min(TIMING["meter_grace"][0], TIMING["meter_timeout"][0])
"""s: the group's default grace over a gone meter or connection."""
BRIDGE_PERIOD = TIMING[CONF_BRIDGE_PERIOD][0]
"""s: bridge mode's default period."""
LEAF, EGOLF = CARS[0].spec, CARS[1].spec
THREE_PHASE = EvSpec(capacity_kwh=60.0, phases=3, max_current=16.0)
"""An 11 kW car."""


# ------------------------------------------------------------------------------------ the faults


@dataclass(frozen=True, slots=True)
class Goal:
    """One line of the report: the fault, PASS or not, the figure (``value`` its number) and the goal."""

    fault: str
    ok: bool
    value: float
    figure: str
    goal: str

    def line(self) -> str:
        """``PASS|FAIL  <fault>: <figure> (goal ...)``."""
        return f"{'PASS' if self.ok else 'FAIL'}  {self.fault}: {self.figure} (goal {self.goal})"


@functools.cache
def _evening(n: int) -> FloatArray:
    inp = day_input("winter", HouseModel(HOUSE), START, n)
    per_phase = (inp.load - inp.pv) / (3.0 * VOLTAGE)
    return np.repeat(per_phase[:, None], 3, axis=1)


def evening(n: int) -> FloatArray:
    """The bench's winter evening from 18:00 for ``n`` s: (n, 3) A per phase (a copy to change)."""
    return _evening(n).copy()


PAIR = (Charger(), Charger())
"""EVSE1 and EVSE2 of the bench: single-phase on L1, 32 A, fast."""


def _per_event(name: str, run: Run, budget: float, more: str = "") -> Goal:
    events = run.events(budget)
    worst = max(events, default=0)
    return Goal(name, worst <= PER_EVENT, worst, f"{worst} s over the budget at worst (events: {len(events)}, "
                f"{sum(events)} s in all){more}", f"<= {PER_EVENT:g} s per event")


def disobedient(ignores_stop: bool, n: int = 2400) -> Goal:
    """Fault 1: EVSE1 offers 16 A when told 10 A; it obeys its Stop or not."""
    chargers = (Charger(pilot=16.0, ignores_stop=ignores_stop), Charger())
    f = Fault(evening(n), chargers, (Plug(0, LEAF, 0.45), Plug(1, EGOLF, 0.5, arrive=300)))
    return _per_event(f"disobedient charger, {'ignores' if ignores_stop else 'obeys'} its Stop", simulate(f), f.budget)


def unbalanced(n: int = 2400) -> Goal:
    """Fault 2: 10/6/20 A on one total W meter, a three-phase car."""
    house = np.full((n, 3), 2.0)
    for a in (n // 8, 5 * n // 8):
        house[a:a + n // 4] = (10.0, 6.0, 20.0)
    f = Fault(house, (Charger(phases=3),), (Plug(0, THREE_PHASE, 0.3),), limit=32.0, meter_w=True)
    even = sum(simulate(dataclasses.replace(f, balanced=True)).events(f.budget))
    run = simulate(f)
    return _per_event("unbalanced house, one W meter", run, f.budget,
                      f"; car {run.energy[0] / 1000:.2f} kWh; with balanced_supply {even} s in all")


def reversed_meter(n: int = 1800) -> Goal:
    """Fault 3: the meter's sign inverted after a third of the window."""
    f = Fault(evening(n), PAIR, (Plug(0, LEAF, 0.45), Plug(1, EGOLF, 0.5)), reversed_from=n // 3)
    run = simulate(f)
    seen = ", ".join(dict.fromkeys(run.states_since(n // 3)))
    return _per_event("reversed meter", run, f.budget, f"; the core's meter state after the swap: {seen}")


def connectors(mode: Mode, n: int = 2400) -> Goal:
    """Fault 4: a VE 222 with two cars as one member."""
    house = evening(n)
    if mode == "fast":
        house[3 * n // 8:5 * n // 8] += 10.0
    f = Fault(house, (Charger(phases=3, connectors=2, mode=mode),),
              (Plug(0, THREE_PHASE, 0.3), Plug(0, THREE_PHASE, 0.5)))
    run = simulate(f)
    on = run.limit[:, 0] > 0
    low = float(run.limit[on, 0].min()) if on.any() else 0.0
    ok = bool(on.any()) and low >= 2 * MIN_CURRENT and min(run.energy) > 0
    api = "" if HAS_CONNECTORS else "; EvseReading has no connectors yet"
    return Goal(f"two-connector charger, {mode}", ok, low,
                f"limit while charging >= {low:g} A, cars {run.energy[0] / 1000:.2f} and "
                f"{run.energy[1] / 1000:.2f} kWh{api}", f"limit >= {2 * MIN_CURRENT:g} A while charging, both cars > 0 kWh")


def blips(n: int = 3600) -> Goal:
    """Fault 5: a meter blip and a 1 s disconnect every 5 min, with the group's grace."""
    f = Fault(evening(n), PAIR, (Plug(0, LEAF, 0.45), Plug(1, EGOLF, 0.5)), grace=GRACE)
    blipped = dataclasses.replace(f, meter_gone=frozenset(range(150, n, 300)), bus_gone=frozenset(range(300, n, 300)))
    base = simulate(f).start_stop
    held = simulate(blipped).start_stop
    alone = simulate(dataclasses.replace(blipped, grace=None)).start_stop
    return Goal("meter and bus blips", held <= base, held - base,
                f"{held - base:+d} Start/Stop telegrams ({held} vs {base} without blips; the core alone "
                f"{alone - base:+d})", "0 more than without blips")


def export_blips(n: int = 1800) -> Goal:
    """Fault 6: a solar car without export but for a 1 s blip a minute."""
    t0 = n // 6
    house = np.full((n, 3), -6.0)
    house[t0:] = 1.0
    steady = simulate(Fault(house.copy(), (Charger(mode="solar"),), (Plug(0, LEAF, 0.3),)))
    house[t0 + 60::60] = -6.0
    run = simulate(Fault(house, (Charger(mode="solar"),), (Plug(0, LEAF, 0.3),)))

    def pause(r: Run) -> float:
        off = np.nonzero(r.offer[t0:, 0] < MIN_CURRENT)[0]
        return float(off[0]) if len(off) else math.inf

    after, without = pause(run), pause(steady)
    limit = 2 * BalancingConfig(limit=1.0).solar_stop_delay  # the core's default
    return Goal("export blips under a solar car", after <= limit, after,
                f"paused {after:g} s after the import began (without the blips {without:g} s)", f"<= {limit:g} s")


def capped(n: int = 900) -> Goal:
    """Fault 7: a car that takes 10 A next to one that wants 32 A, on 40 A.

    The reference is the same run with the capped car's EVSE configured at its cap (10 A + the core's
    ``CAP_HEADROOM``): the other's limit there is what "the unused share goes to the other" means
    once the core's own hysteresis (``raise_margin``, rounding, report lag) is applied, less one step.
    """
    house = np.full((n, 1), 2.0)
    cars = (Plug(0, dataclasses.replace(LEAF, max_current=10.0), 0.3), Plug(1, LEAF, 0.3))
    f = Fault(house, PAIR, cars, limit=40.0, margin=0.0)
    run = simulate(f)
    known = dataclasses.replace(f, chargers=(Charger(max_current=10.0 + CAP_HEADROOM), Charger()))
    # within one step of it: a raise waits for step + raise_margin of room, and a send-on-change report
    # that lags by up to its threshold can hold the last step back until its periodic resend
    target = float(simulate(known).limit[n // 2:, 1].min()) - BalancingConfig(limit=1.0).step
    start = int(np.argmax(run.offer[:, 0] >= MIN_CURRENT))
    reached = np.nonzero(run.limit[start:, 1] >= target)[0]
    after = float(reached[0]) if len(reached) else math.inf
    when = "never" if math.isinf(after) else f"{after:g} s after the capped car's start"
    return Goal("capped car", after <= 60, after,
                f"the other's limit reached {target:g} A {when} (as with the capped car's maximum set "
                f"to its cap; at most {run.limit[start:, 1].max():g} A)",
                f">= {target:g} A within 60 s")


def bridge(climb: bool, n: int = 3600) -> Goal:
    """Fault 8: telegrams per hour from bridge mode, a noisy 1 Hz meter flat or climbing."""
    rng = np.random.default_rng(8)
    t = np.arange(n)
    base = 35.0 - np.abs((0.05 * t) % 60.0 - 30.0) if climb else np.full(n, 10.0)
    values = base + rng.uniform(-0.2, 0.2, n)
    throttle = Throttle(BRIDGE_PERIOD)
    sent, off, last = 0, 0.0, float(values[0])
    for k, v in enumerate(values.tolist()):
        if throttle.due(float(k), v, BRIDGE_CHANGE_A):
            throttle.sent(float(k), v)
            sent, last = sent + 1, v
        off = max(off, abs(v - last))
    per_hour = sent * 3600.0 / n
    every = (1 + int(np.count_nonzero(np.diff(values)))) * 3600.0 / n
    limit = 3600.0 / BRIDGE_PERIOD + 300.0
    return Goal(f"bridge mode, noisy meter{' on a steady climb' if climb else ''}", per_hour <= limit, per_hour,
                f"{per_hour:.0f} telegrams/h (a value on every change: {every:.0f}/h); the master's value at "
                f"most {off:.1f} A off", f"<= {limit:.0f}/h")


FAULTS: dict[str, Callable[[Callable[[int], int]], list[Goal]]] = {
    "disobedient": lambda n: [disobedient(False, n(2400)), disobedient(True, n(2400))],
    "unbalanced": lambda n: [unbalanced(n(2400))],
    "reversed": lambda n: [reversed_meter(n(1800))],
    "connectors": lambda n: [connectors("min_solar", n(2400)), connectors("fast", n(2400))],
    "blips": lambda n: [blips(n(3600))],
    "export": lambda n: [export_blips(n(1800))],
    "capped": lambda n: [capped(n(900))],
    "bridge": lambda n: [bridge(False, n(3600)), bridge(True, n(3600))],
}
"""The faults by name: their goal lines, given how to scale a window's length in s."""


def run_faults(names: Sequence[str] | None = None, scale: float = 1.0) -> tuple[list[Goal], str]:
    """Run the named faults (default all), each window ``scale`` times its length; the goals and the report."""
    t0 = time.perf_counter()
    goals = [g for name in (names or FAULTS) for g in FAULTS[name](lambda n: round(n * scale))]
    out = [f"Fault day: the benchmark's house, 3 x {BREAKER:.0f} A with {MARGIN:.0f} % margin unless said; "
           f"measurements {LATENCY} s late; windows x {scale:g}; balancing core {core_version()}", ""]
    out += [f"  {g.line()}" for g in goals]
    out += ["", f"run time {time.perf_counter() - t0:.1f} s"]
    return goals, "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fault day and print it; exit status 1 when a goal fails."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default=",".join(FAULTS), help=f"comma-separated: {', '.join(FAULTS)}")
    parser.add_argument("--scale", type=float, default=1.0, help="each window's length x this (default 1)")
    args = parser.parse_args(argv)
    names = [x.strip() for x in args.only.split(",") if x.strip()]
    for name in names:
        if name not in FAULTS:
            parser.error(f"unknown fault {name!r}; choose from {', '.join(FAULTS)}")
    if not 0.25 <= args.scale <= 4:
        parser.error("--scale must be within 0.25-4")
    goals, text = run_faults(names, args.scale)
    print(text)
    return 0 if all(g.ok for g in goals) else 1


if __name__ == "__main__":
    sys.exit(main())
