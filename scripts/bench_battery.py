#!/usr/bin/env python3
"""The home battery on the bench house: a summer day with a priority SoC, tables and goal lines.

The bench house (``scripts/bench_balancing.py``: 3 x 25 A, 10 % margin, 8 kWp, the Leaf on EVSE1 and
the e-Golf on EVSE2, both on L1, their summer day) gets a home battery (:data:`BATTERY`: 15 kWh, 3 kW
either way, 95 % each way, 5-100 % usable, 5 % at 05:00) that follows the grid to zero, as a hybrid
or AC-coupled inverter in self-consumption mode does: each second it charges with what the house
exported, or discharges what it imported, the second before (1 s behind, within its power and SoC).
It sits on the three phases evenly; the meter is per phase, as in the bench. The window is 05:00 to
16:00 (:data:`WINDOW`): sunrise, the Leaf's morning departure, its stay from 09:00 to 15:30. Two
variants: the bench's real summer day (clear), and the same day with passing clouds (:func:`cloudy`:
made up, seeded: from 09:00 to 15:30 a cloud every 15-30 min for 3-8 min, at 25 % of the PV), where
a car can take what the battery would charge.

Rows, both EVSEs in Solar and all else as in the bench (measurements 1 s late, reports on 0.5 A):

- ``battery alone``: no car charges; when the battery would reach the priority SoC and what it would
  leave to the grid: the reference;
- ``HA solar, no battery``: the balancer as before, unaware of the battery;
- ``HA solar, priority (SoC + power)``: ``SiteReading`` with the SoC, the battery's power and
  ``priority_soc`` :data:`PRIORITY` %, both 1 s late like the meter;
- ``HA solar, priority (SoC only)``: the same without the battery's power.

Figures per row: when the battery reaches the priority SoC and how much later than alone (``late
min``), ``taken kWh`` (what the battery could have charged below the priority SoC and did not, PV
after the house within its power less its charge, beyond what it missed alone: taken by a car), the
battery's SoC at 15:30 when the Leaf leaves, the cars' energy and how much of it came from PV (after
the house) and from the battery, the export while a car wanted energy, stops, telegrams per hour,
seconds over the budget and those caused by the controller (more than 10 s after a rise of the
house's load less its PV).

Goal (``priority (SoC + power)``), per variant: the battery reaches the priority SoC no more than
:data:`LATE_GOAL` s later than alone and the cars take no more than :data:`TAKEN_GOAL` kWh of its
charge below it, with 0 s over the budget caused by the controller; the figure also gives the cars'
solar (kWh, and % of what the battery alone exports while a car is plugged in) and the same for the
row without the battery settings. ``python scripts/bench_battery.py`` runs both variants alone.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "scripts"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from bench_balancing import (  # noqa: E402
    BUDGET,
    CARS,
    EVSE_PHASE,
    HOUSE,
    LATENCY,
    REPORT_CHANGE,
    TRANSIENT_WINDOW,
    VOLTAGE,
    Chargers,
    DayInput,
    HaBalancer,
    Obs,
    Reports,
    apply_decision,
    day_input,
)

from custom_components.knx_evse.balancing import EvseReading, MeterReading, SiteReading  # noqa: E402
from simulator.ev import ElectricVehicle  # noqa: E402
from simulator.house import HouseModel  # noqa: E402

PRIORITY = 80.0
"""% : the priority SoC of the scenario."""
LATE_GOAL = 300.0
"""s the battery may reach the priority SoC later than alone."""
TAKEN_GOAL = 0.1
"""kWh of the battery's charge below the priority SoC the cars may take."""
LEAF_LEAVES = "15:30"
WINDOW = (5 * 3600, 16 * 3600)
"""s since midnight: the day's window, from before sunrise to after the Leaf leaves."""
CLOUDS = (9 * 3600, 15 * 3600 + 1800)
"""s since midnight: when clouds pass on the cloudy variant."""


@dataclass(frozen=True, slots=True)
class Battery:
    """A home battery: usable capacity (Wh), power either way (W), efficiency each way, SoC range and start (0-1)."""

    capacity_wh: float = 15_000.0
    max_w: float = 3_000.0
    efficiency: float = 0.95
    min_soc: float = 0.05
    max_soc: float = 1.0
    soc0: float = 0.05


BATTERY = Battery()


class HomeBattery:
    """A battery that follows the grid to zero, 1 s behind: ``step(net_w)`` → its power (W, + discharging)."""

    def __init__(self, spec: Battery) -> None:
        self.spec = spec
        self.soc = spec.soc0
        self.power = 0.0

    def step(self, net_w: float) -> float:
        """Answer the last second's grid power without the battery (``net_w``, + import); advance 1 s."""
        s = self.spec
        want = max(-s.max_w, min(s.max_w, net_w))
        if want > 0:  # discharge: what the SoC above min_soc gives in 1 s
            want = min(want, (self.soc - s.min_soc) * s.capacity_wh * 3600.0 * s.efficiency)
            self.soc -= want / s.efficiency / (s.capacity_wh * 3600.0)
        else:
            want = max(want, -(s.max_soc - self.soc) * s.capacity_wh * 3600.0 / s.efficiency)
            self.soc -= want * s.efficiency / (s.capacity_wh * 3600.0)
        self.power = want
        return self.power


class BatteryAware(HaBalancer):
    """This integration's balancer in Solar, given the battery's SoC (and power) 1 s late each round."""

    def __init__(self, power: bool) -> None:
        super().__init__("solar")
        self.power = power
        self.seen: tuple[float, float] = (BATTERY.soc0 * 100.0, 0.0)  # (SoC %, power W), set by the loop

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """A round on a fresh meter value (and at least every 5 s), with the battery."""
        if obs.meter is None or not (obs.fresh or k - self.last >= 5):
            return
        self.last = k
        soc, power = self.seen
        site = SiteReading(battery_soc=soc, battery_power=power if self.power else None, priority_soc=PRIORITY)
        d = self.balancer.update(
            float(k), MeterReading(obs.meter, obs.meter_t),
            [EvseReading(obs.reported[i], obs.wants[i]) for i in range(len(CARS))], site,
        )
        apply_decision(d, ch)


class Idle:
    """No car charges: the battery alone."""

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """Write nothing."""


Controller = BatteryAware | HaBalancer | Idle
ROWS: dict[str, Callable[[], Controller]] = {
    "battery alone": Idle,
    "HA solar, no battery": lambda: HaBalancer("solar"),
    "HA solar, priority (SoC + power)": lambda: BatteryAware(power=True),
    "HA solar, priority (SoC only)": lambda: BatteryAware(power=False),
}


def simulate(inp: DayInput, controller: Controller) -> dict[str, Any]:
    """Run ``controller`` with the battery on ``inp`` (the bench's loop, with the battery); return the traces."""
    n, ncar = inp.n, len(CARS)
    house_w = inp.load - inp.pv
    ch, obs = Chargers(), Obs()
    reports = Reports(obs.reported, REPORT_CHANGE)
    battery = HomeBattery(BATTERY)
    evs: list[ElectricVehicle | None] = [None] * ncar
    now_visit = [-1] * ncar
    offered = [0.0] * ncar
    cur = np.zeros((n, ncar))
    wants = np.zeros((n, ncar), dtype=bool)
    grid = np.zeros((n, 3))
    bat_w = np.zeros(n)
    soc = np.zeros(n)
    off = np.zeros((n, ncar))
    lag: list[tuple[tuple[float, float, float], list[float], float, float]] = []
    net = 0.0
    for k in range(n):
        amps = [0.0] * ncar
        for i in range(ncar):
            v = int(inp.visit[i, k])
            if v != now_visit[i]:
                now_visit[i] = v
                car = CARS[i]
                evs[i] = ElectricVehicle(car.name, car.spec, soc=car.visits[v].soc, target_soc=car.target_soc) if v >= 0 else None
            ev = evs[i]
            if ev is not None:
                amps[i] = ev.step(offered[i], 1.0, 1)
                wants[k, i] = not ev.suspended
        b = battery.step(net)
        net = float(house_w[k]) + sum(amps) * VOLTAGE  # what the battery answers next second
        row = [(house_w[k] - b) / (3.0 * VOLTAGE)] * 3
        for i, p in enumerate(EVSE_PHASE):
            row[p - 1] += amps[i]
        cur[k], grid[k], bat_w[k], soc[k] = amps, row, b, battery.soc
        lag.append(((row[0], row[1], row[2]), amps, battery.soc * 100.0, b))
        obs.wants = [bool(w) for w in wants[k]]
        obs.fresh, obs.sent = False, [False] * ncar
        j = k - LATENCY
        if j >= 0:
            meter, seen, seen_soc, seen_b = lag[j]
            obs.actual = seen
            obs.sent = [reports.see(k, i, seen[i]) for i in range(ncar)]
            obs.meter, obs.meter_t, obs.grid_w, obs.fresh = meter, float(j), sum(meter) * VOLTAGE, True
            if isinstance(controller, BatteryAware):
                controller.seen = (seen_soc, seen_b)
        controller.act(k, obs, ch)
        offered = [ch.offered(i) for i in range(ncar)]
        off[k] = offered
    return {"current": cur, "offered": off, "wants": wants, "grid": grid, "battery": bat_w, "soc": soc,
            "telegrams": ch.telegrams}


def _clock(inp: DayInput, k: int | None) -> str:
    if k is None:
        return "never"
    t = inp.start + k
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}"


def _reached(tr: dict[str, Any]) -> int | None:
    """The first second the battery is at the priority SoC, None when never."""
    hits = np.nonzero(tr["soc"] * 100.0 >= PRIORITY - 1e-9)[0]
    return int(hits[0]) if len(hits) else None


def metrics(inp: DayInput, tr: dict[str, Any]) -> dict[str, float]:
    """One row's figures (module docstring): W and s per second, kWh and counts in total."""
    n = inp.n
    surplus = np.clip(inp.pv - inp.load, 0.0, None)
    charge = np.clip(-tr["battery"], 0.0, None)
    below = tr["soc"] * 100.0 < PRIORITY
    could = np.minimum(BATTERY.max_w, surplus)
    shortfall = float((np.clip(could - charge, 0.0, None) * below).sum()) / 3.6e6
    ev_w = tr["current"].sum(axis=1) * VOLTAGE
    from_pv = np.minimum(ev_w, surplus)
    from_battery = np.minimum(ev_w - from_pv, np.clip(tr["battery"], 0.0, None))
    export = np.clip(-tr["grid"].sum(axis=1), 0.0, None) * VOLTAGE
    present = (inp.visit >= 0).any(axis=0)
    on = tr["offered"] >= 6.0
    stops = int((on[:-1] & ~on[1:] & (inp.visit.T[1:] >= 0) & tr["wants"][1:]).sum())
    over = np.abs(tr["grid"]).max(axis=1) > BUDGET
    rising = np.zeros(n + TRANSIENT_WINDOW, dtype=bool)
    for k in np.nonzero(np.diff(inp.load - inp.pv) > 0)[0] + 1:
        rising[k:k + TRANSIENT_WINDOW] = True
    leaves = min(n - 1, max(0, (int(LEAF_LEAVES[:2]) * 3600 + int(LEAF_LEAVES[3:]) * 60) - inp.start))
    reached = _reached(tr)
    return {
        "reached": math.nan if reached is None else float(reached),
        "shortfall_kwh": shortfall,
        "soc_leaf": float(tr["soc"][leaves]) * 100.0,
        "ev_kwh": float(ev_w.sum()) / 3.6e6,
        "pv_kwh": float(from_pv.sum()) / 3.6e6,
        "bat_kwh": float(from_battery.sum()) / 3.6e6,
        "export_kwh": float((export * tr["wants"].any(axis=1)).sum()) / 3.6e6,
        "export_plugged_kwh": float((export * present).sum()) / 3.6e6,
        "stops": float(stops),
        "tg_h": tr["telegrams"] / (n / 3600.0),
        "bud_s": float(over.sum()),
        "ctl_s": float((over & ~rising[:n]).sum()),
    }


def late_text(row: dict[str, float]) -> str:
    """How much later than alone a row's battery reached the priority SoC, as text."""
    return "never at the priority SoC" if math.isnan(row["late_s"]) else f"{row['late_s'] / 60:+.1f} min"


@dataclass(slots=True)
class BatteryResult:
    """The battery day: ``rows`` (name → :func:`metrics`), ``goals`` ((text, passed, figures)), ``text``."""

    rows: dict[str, dict[str, float]]
    goals: list[tuple[str, bool, str]]
    text: str
    seconds: float


def cloudy(inp: DayInput, seed: int = 1) -> DayInput:
    """``inp`` with passing clouds: from 09:00 to 15:30, one every 15-30 min for 3-8 min, at 25 % of the PV."""
    rng = np.random.default_rng(seed)
    pv = inp.pv.copy()
    t = CLOUDS[0]
    while True:
        t += int(rng.integers(15 * 60, 30 * 60))
        length = int(rng.integers(3 * 60, 8 * 60))
        if t + length > CLOUDS[1]:
            break
        a, b = max(0, t - inp.start), max(0, t + length - inp.start)
        pv[a:b] *= 0.25
    return dataclasses.replace(inp, pv=pv)


def battery_day(start: int = WINDOW[0], duration: int = WINDOW[1] - WINDOW[0], clouds: bool = False) -> BatteryResult:
    """Run every row on the summer day's window (with passing clouds) and build the table and the goal."""
    t0 = time.perf_counter()
    inp = day_input("summer", HouseModel(HOUSE), start, duration)
    if clouds:
        inp = cloudy(inp)
    rows = {name: metrics(inp, simulate(inp, make())) for name, make in ROWS.items()}
    alone = rows["battery alone"]
    for row in rows.values():
        row["late_s"] = row["reached"] - alone["reached"]
        row["taken_kwh"] = max(0.0, row["shortfall_kwh"] - alone["shortfall_kwh"])
    b = BATTERY
    label = "summer day with passing clouds" if clouds else "summer day"
    out = [f"== battery, {label} {inp.day.isoformat()}: home battery {b.capacity_wh / 1000:g} kWh, "
           f"{b.max_w / 1000:g} kW, {100 * b.soc0:.0f} % at {_clock(inp, 0)}, following the grid to zero 1 s behind; "
           f"priority SoC {PRIORITY:.0f} %; both EVSEs in Solar"]
    head = (f"{'row':<34}{'prio at':>8}{'late min':>9}{'taken kWh':>10}{'SoC 15:30':>10}{'EV kWh':>8}"
            f"{'PV kWh':>8}{'bat kWh':>8}{'exp kWh':>8}{'stops':>6}{'tg/h':>6}{'>bud s':>7}{'ctl s':>6}")
    out += [head, "-" * len(head)]
    for name, r in rows.items():
        reached = None if math.isnan(r["reached"]) else int(r["reached"])
        late = "-" if math.isnan(r["late_s"]) else f"{r['late_s'] / 60:.1f}"
        out.append(f"{name:<34}{_clock(inp, reached):>8}{late:>9}{r['taken_kwh']:>10.2f}{r['soc_leaf']:>9.0f}%"
                   f"{r['ev_kwh']:>8.2f}{r['pv_kwh']:>8.2f}{r['bat_kwh']:>8.2f}{r['export_kwh']:>8.2f}"
                   f"{r['stops']:>6.0f}{r['tg_h']:>6.2f}{r['bud_s']:>7.0f}{r['ctl_s']:>6.0f}")
    ours = rows["HA solar, priority (SoC + power)"]
    share = 100.0 * ours["pv_kwh"] / alone["export_plugged_kwh"] if alone["export_plugged_kwh"] > 0 else math.nan
    late_ok = not math.isnan(ours["late_s"]) and ours["late_s"] <= LATE_GOAL
    ok = late_ok and ours["taken_kwh"] <= TAKEN_GOAL and ours["ctl_s"] == 0
    goals = [(
        f"battery, {label}: with the priority SoC the battery reaches {PRIORITY:.0f} % at most {LATE_GOAL / 60:.0f} min later "
        f"than alone and the cars take at most {TAKEN_GOAL:g} kWh of its charge below it, 0 s over the budget "
        "caused by the controller",
        ok,
        f"{late_text(ours)}, "
        f"{ours['taken_kwh']:.2f} kWh taken, {ours['ctl_s']:.0f} s over the budget; the cars still take "
        f"{ours['pv_kwh']:.2f} kWh of PV ({share:.0f} % of the {alone['export_plugged_kwh']:.2f} kWh the battery alone "
        f"exports while a car is plugged in); without the battery settings: "
        f"{late_text(rows['HA solar, no battery'])}, {rows['HA solar, no battery']['taken_kwh']:.2f} kWh taken",
    )]
    seconds = time.perf_counter() - t0
    return BatteryResult(rows, goals, "\n".join(out), seconds)


def main() -> int:
    """Print the battery days' tables and goals (the clear day, then with clouds); exit status 1 on a FAIL."""
    results = [battery_day(clouds=clouds) for clouds in (False, True)]
    for result in results:
        print(result.text)
        for text, ok, why in result.goals:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}: {why}")
    print(f"run time {sum(r.seconds for r in results):.1f} s")
    return 0 if all(ok for r in results for _, ok, _ in r.goals) else 1


if __name__ == "__main__":
    sys.exit(main())
