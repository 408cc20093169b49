#!/usr/bin/env python3
"""Car-park benchmark: a weekday of 40 chargers in 6 circuits on real mobility data, one table.

The site (``scripts/carpark.yaml``, built with ``balancing.tree_from_dict``): a main of 3 x 100 A
(metered) with 24 flats on it, two doctors' spaces on the main, a fleet row (32 A), an office
board (63 A), a metered garage board (40 A, its ventilation besides) with two rows of 32 A, and
visitor spaces (32 A): 40 three-phase 32 A chargers, charger i's L1 on supply phase 1 + i mod 3.
Every budget is the limit less the 10 % reserve margin. The doctors' and the fleet's spaces are
the high-priority members (first in the group's order). The flats are the bench house's household
(``simulator.house``, richardsonpy, 2500 kWh/a, 2 occupants, no PV) on 24 consecutive winter days
from ``WINTER_DAY``, each on one phase, their minute steps moved by a seeded 0-59 s.

The sessions (arrivals, departures, energy needs, cars) are drawn from emobpy's German trip
statistics and EV specs with a seeded RNG (``scripts/carpark_mobility.py`` says how).

Physics and measurement as ``scripts/bench_balancing.py`` (its ``Chargers``, ``Reports``,
``apply_decision``): each car follows its pilot (``simulator.ev``: 2 s lag, nothing below 6 A) on
its own phases, from the charger's L1; the meters (the main's and the garage's, per phase) and the
chargers' currents reach the controllers 1 s late; the chargers send their current (per phase) on
a change of 0.5 A or every 30 s; every written limit and start/stop is a telegram.

Controllers:

- ``HA circuits``: this integration's core (``Balancer``, default timing, no keep-alive) with the
  circuits, every member in Fast, a round on every meter update (1 s), and ``drawn_phases`` as the
  site's YAML sets it (on: a single-phase car is counted on its phase only, docs/balancing.md,
  "Phases a vehicle draws").
- ``HA strict`` (information, no goal): the same core with ``drawn_phases`` off, the default: every
  charger counted on all three phases, so its ``lim s`` is 0.
- ``evcc-like``: evcc's circuits as its Load Management docs describe them, every 30 s: each
  charging loadpoint may have what it draws plus the least headroom of its circuits up to the main
  (a circuit's limit less its highest phase: metered ones from their meter, the others from their
  loadpoints' currents); loadpoints are served first come, first served (no priorities inside
  circuits), so a new session gets only what is left and nothing is shared again; whole amperes,
  below 6 A disabled, a write only on a change.

Metrics (A, kWh, s):

- ``>bud s`` / ``>bud As``: seconds (and ampere-seconds) some circuit's phase is over its budget.
  ``ctl s``: those seconds in which some circuit's phase is over its budget plus how far that
  circuit's non-EV load (the flats and the ventilation for the main, the ventilation for the
  garage, none for the others) rose over the last 10 s: excess beyond that rise is the controller's.
- ``lim s``: seconds the written limits of a circuit without a meter add up to more than its budget
  on some phase, every charger's limit counted on all three phases: what the circuit would carry if
  every car drew on all of them. ``HA circuits`` with ``drawn_phases`` and evcc-like count a
  single-phase car on its phase only, so this is not an overload while the cars keep their phases,
  only the room they rely on the cars' phases for; a car that adds a phase mid-session could take it.
- ``EV kWh``; ``hi kWh``: energy to the high-priority members.
- ``left``: sessions that leave within the window (the residents home for the night have not left
  at its end, nor has any session at the end of a shorter window). ``unserved``: those of them
  that leave with less than their need and less than their time allowed: short of min(need, the
  car's maximum power x its stay) by more than 1 % of it and 50 Wh (the car's lag and the first
  round). ``short kWh``: what those sessions lack.
- ``tg/h``: telegrams written per hour.

Goals (PASS/FAIL): ``HA circuits`` has 0 ``ctl s``, more ``hi kWh``, fewer unserved sessions, and
no more telegrams per hour than ``evcc-like``. Runtime: a whole day at 1 s takes about 85 s on the
2-core development machine (docs/development.md).

Usage: scripts/bench --carpark [--seed N] [--start HH:MM] [--duration S]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml  # type: ignore[import-untyped]

if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_balancing import (
    EVCC_INTERVAL,
    LATENCY,
    MIN_CURRENT,
    REPORT_CHANGE,
    TRANSIENT_WINDOW,
    VOLTAGE,
    Chargers,
    Reports,
    apply_decision,
    core_version,
    hm,
)
from carpark_mobility import TARGET_SOC, Mobility, Session, source

from custom_components.knx_evse.balancing import (
    Balancer,
    BalancingConfig,
    EvseReading,
    MeterReading,
    tree_from_dict,
)
from simulator.ev import ElectricVehicle, EvSpec
from simulator.house import WINTER_DAY, HouseConfig, HouseModel

FloatArray = npt.NDArray[np.float64]
SITE = Path(__file__).with_name("carpark.yaml")
SUPPLY = "supply"
SEED = 19
FLAT = HouseConfig(annual_kwh=2500, occupants=2, kwp=0, seed=23)
"""Every flat's household (one calibration, a different day each)."""
TOLERANCE = (0.01, 50.0)
"""A session short of what it could have had by more than this fraction and Wh is unserved."""
EVCC_OFFSET = 7
"""s: the phase of evcc's 30 s interval."""


@dataclass(frozen=True, slots=True)
class Site:
    """The car park: the core's configuration and what the bench needs beside it.

    Circuits by index, the supply first: ``names``, ``budget`` (A per phase), ``metered``; per EVSE:
    ``paths`` (its circuits from its own up to the supply), ``rotation`` (supply phase 0-2 of its L1),
    ``parking`` (who parks there) and ``high`` (a high-priority member); ``up``: per circuit, itself
    and the circuits above it; ``other`` the YAML's other loads per circuit id; ``flats`` on the main.
    """

    config: BalancingConfig
    names: tuple[str, ...]
    budget: tuple[float, ...]
    metered: tuple[bool, ...]
    paths: tuple[tuple[int, ...], ...]
    rotation: tuple[int, ...]
    parking: tuple[str, ...]
    high: tuple[bool, ...]
    up: tuple[tuple[int, ...], ...]
    other: dict[str, dict[str, Any]]
    flats: int


def load_site(path: Path = SITE) -> Site:
    """Read the site's YAML and build the core's configuration from its tree."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    circuits, evses = tree_from_dict(data["tree"])
    supply = data["supply"]
    config = BalancingConfig(limit=float(supply["limit"]), reserve_margin=float(supply["reserve_margin"]),
                             drawn_phases=bool(supply.get("drawn_phases", False)), phases=3, evses=tuple(e.__class__(**{**_fields(e), "phase": 1 + i % 3})
                                                   for i, e in enumerate(evses)),
                             circuits=circuits, keepalive=None)
    keep = 1.0 - config.reserve_margin / 100.0
    names = (SUPPLY, *(c.id for c in circuits))
    index = {name: n for n, name in enumerate(names)}
    parent = {c.id: c.parent or SUPPLY for c in circuits}

    def chain(at: str) -> tuple[int, ...]:
        out = [index[at]]
        while at != SUPPLY:
            at = parent[at]
            out.append(index[at])
        return tuple(out)

    own = [e.circuit or SUPPLY for e in config.evses]
    return Site(config, names, (config.limit * keep, *(c.limit * keep for c in circuits)),
                (True, *(c.metered for c in circuits)), tuple(chain(c) for c in own),
                tuple(e.phase - 1 for e in config.evses), tuple(data["parking"][c] for c in own),
                tuple(c in data["high_priority"] for c in own), tuple(chain(c) for c in names), dict(data.get("other_load") or {}),
                int(supply["flats"]))


def _fields(e: Any) -> dict[str, Any]:
    return {k: getattr(e, k) for k in e.__dataclass_fields__}


# ----------------------------------------------------------------------------------- the input


@dataclass(frozen=True, slots=True)
class DayInput:
    """The window [``start``, ``start`` + n) s of the day: non-EV load (A, shape (n, circuits, 3),
    each circuit's including those below it) and the sessions, their times from the window's start."""

    start: int
    other: FloatArray
    sessions: tuple[Session, ...]
    left: tuple[bool, ...]
    """Per session: it leaves within the window (one still at the charger at its end has not left)."""

    @property
    def n(self) -> int:
        """Number of seconds."""
        return int(self.other.shape[0])


def day_input(site: Site, seed: int = SEED, start: int = 0, duration: int = 86400,
              mobility: Mobility | None = None) -> DayInput:
    """Build the window: the flats and the circuits' own other loads, and the drawn sessions."""
    end = min(86400, start + duration)
    seconds = np.arange(start, end)
    other = np.zeros((len(seconds), len(site.names), 3))
    house = HouseModel(FLAT)
    rng = np.random.default_rng(seed)
    for j in range(site.flats):
        bounds = np.arange(1, 1440) * 60 + rng.integers(0, 60, size=1439)
        load = house.load_minutes(WINTER_DAY + timedelta(days=j))
        other[:, 0, j % 3] += load[np.searchsorted(bounds, seconds, side="right")] / VOLTAGE
    for name, spec in site.other.items():
        on = (seconds >= hm(spec["from"])) & (seconds < hm(spec["to"]))
        for c in site.up[site.names.index(name)]:
            other[:, c, :] += np.where(on, float(spec["amps"]), 0.0)[:, None]
    drawn = (mobility or Mobility()).sessions(list(site.parking), seed)
    kept = [s for s in drawn if s.arrive < end and s.depart > start]
    sessions = tuple(Session(s.evse, max(s.arrive - start, 0), min(s.depart, end) - start, s.need_wh, s.car)
                     for s in kept)
    return DayInput(start, other, sessions, tuple(s.depart <= end and s.depart < 86400 for s in kept))


# ----------------------------------------------------------------------------- the controllers


@dataclass(slots=True)
class Obs:
    """What a controller knows at second k (``LATENCY`` s old): per-phase currents of every metered
    circuit (``meters``, by circuit index, the supply's at 0) measured at ``meter_t``; per charger the
    current it last sent and what a poll returns (A per charger phase), whether a car wants energy,
    since when it is plugged in, and its car's maximum (A)."""

    meters: dict[int, tuple[float, float, float]]
    meter_t: float
    reported: list[tuple[float, float, float]]
    actual: list[tuple[float, float, float]]
    wants: list[bool]
    since: list[float]
    car_max: list[float]


class HaCircuits:
    """This integration's core with the site's circuits, every member in Fast, a round every meter update.

    ``strict``: with ``drawn_phases`` off whatever the site says (every charger on all its phases).
    """

    name = "HA circuits"

    def __init__(self, site: Site, strict: bool = False) -> None:
        self.site = site
        self.balancer = Balancer(replace(site.config, drawn_phases=False) if strict else site.config)

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """Run a round on the meters and write what it asks."""
        if not obs.meters:
            return
        site = self.site
        circuits = {site.names[c]: MeterReading(v, obs.meter_t) for c, v in obs.meters.items() if c}
        d = self.balancer.update(float(k), MeterReading(obs.meters[0], obs.meter_t),
                                 [EvseReading(obs.reported[i], obs.wants[i]) for i in range(len(obs.wants))],
                                 circuits=circuits)
        apply_decision(d, ch)


class EvccCircuits:
    """evcc's circuits as documented (module docstring): headroom only, first come, first served.

    A circuit without a meter counts its loadpoints' currents (in this site none has a metered
    circuit below it).
    """

    name = "evcc-like"

    def __init__(self, site: Site) -> None:
        self.site = site
        self.max = [e.max_current or 0.0 for e in site.config.evses]

    def act(self, k: int, obs: Obs, ch: Chargers) -> None:
        """One evcc cycle every ``EVCC_INTERVAL`` s."""
        if k % EVCC_INTERVAL != EVCC_OFFSET or not obs.meters:
            return
        site = self.site
        cur = [list(obs.meters.get(c, (0.0, 0.0, 0.0))) for c in range(len(site.names))]
        for i, path in enumerate(site.paths):
            for c in path:
                if not site.metered[c]:
                    for j, amps in enumerate(obs.actual[i]):
                        cur[c][(site.rotation[i] + j) % 3] += amps
        room = [b - max(v) for b, v in zip(site.budget, cur, strict=True)]
        for i, want in enumerate(obs.wants):
            if not want and ch.running[i]:
                ch.write_run(i, False)
        for i in sorted((i for i, w in enumerate(obs.wants) if w), key=lambda i: obs.since[i]):
            eff = max(obs.actual[i])
            head = min(room[c] for c in site.paths[i])
            target = math.floor(min(self.max[i], eff + head) + 1e-9)
            if target < MIN_CURRENT:
                if ch.running[i]:
                    ch.write_run(i, False)
                target = 0
            else:
                if ch.limit[i] != target:
                    ch.write_limit(i, target)
                if not ch.running[i]:
                    ch.write_run(i, True)
            delta = (min(target, obs.car_max[i]) if target else 0.0) - eff
            for c in site.paths[i]:
                room[c] -= delta


Controller = HaCircuits | EvccCircuits
CONTROLLERS: dict[str, Callable[[Site], Controller]] = {
    "HA circuits": HaCircuits, "HA strict": lambda site: HaCircuits(site, strict=True), "evcc-like": EvccCircuits}


# ---------------------------------------------------------------------------- the physical loop


@dataclass(frozen=True, slots=True)
class Trace:
    """One controller's window: per second the circuits' currents (A, shape (n, circuits, 3)) and
    each charger's pilot (A, (n, chargers)); the Wh each session drew; telegrams; wall-clock s."""

    circuits: FloatArray
    offered: FloatArray
    delivered: tuple[float, ...]
    telegrams: int
    runtime: float


def simulate(site: Site, inp: DayInput, controller: Controller) -> Trace:
    """Run ``controller`` on ``inp`` at 1 s: cars, delayed measurements, writes (module docstring)."""
    t0 = time.perf_counter()
    n, nc, ne = inp.n, len(site.names), len(site.paths)
    circ = inp.other.copy()
    off = np.zeros((n, ne))
    starts: dict[int, list[Session]] = {}
    ends: dict[int, list[Session]] = {}
    for s in inp.sessions:
        starts.setdefault(s.arrive, []).append(s)
        ends.setdefault(s.depart, []).append(s)
    number = {id(s): j for j, s in enumerate(inp.sessions)}
    zero = (0.0, 0.0, 0.0)
    ch = Chargers(limit=[0.0] * ne, running=[False] * ne)
    evs: dict[int, tuple[ElectricVehicle, int]] = {}
    delivered = [0.0] * len(inp.sessions)
    offered = [0.0] * ne
    draw = [zero] * ne
    reports = Reports([0.0] * ne, REPORT_CHANGE)
    obs = Obs({}, 0.0, [zero] * ne, [zero] * ne, [False] * ne, [0.0] * ne, [0.0] * ne)
    metered = [c for c in range(nc) if site.metered[c]]
    lag: list[tuple[dict[int, tuple[float, float, float]], list[tuple[float, float, float]]]] = []
    for k in range(n):
        for s in ends.get(k, ()):  # departures first: another car may arrive in the same second
            evs.pop(s.evse, None)
            draw[s.evse] = zero
            obs.wants[s.evse] = False
        for s in starts.get(k, ()):
            spec = EvSpec(capacity_kwh=s.car.capacity_kwh, phases=s.car.phases, max_current=s.car.max_current)
            evs[s.evse] = (ElectricVehicle(s.car.name, spec, soc=s.soc, target_soc=TARGET_SOC), number[id(s)])
            obs.since[s.evse] = float(k)
            obs.car_max[s.evse] = s.car.max_current
        sums = [[0.0, 0.0, 0.0] for _ in range(nc)]
        for i, (ev, j) in evs.items():
            a = ev.step(offered[i], 1.0, 3)
            ph = ev.spec.phases
            draw[i] = (a, a if ph > 1 else 0.0, a if ph > 2 else 0.0)
            delivered[j] += a * ph * VOLTAGE / 3600.0
            obs.wants[i] = not ev.suspended
            if a:
                r = site.rotation[i]
                for c in site.paths[i]:
                    sc = sums[c]
                    for q in range(ph):
                        sc[(r + q) % 3] += a
        row = circ[k]
        row += sums
        now = row.tolist()
        lag.append(({c: (now[c][0], now[c][1], now[c][2]) for c in metered}, list(draw)))
        if k >= LATENCY:
            obs.meters, seen = lag[k - LATENCY]
            lag[k - LATENCY] = ({}, [])
            obs.meter_t = float(k - LATENCY)
            obs.actual = seen
            for i in range(ne):
                if reports.see(k, i, max(seen[i])):
                    obs.reported[i] = seen[i]
        controller.act(k, obs, ch)
        offered = [ch.offered(i) for i in range(ne)]
        off[k] = offered
    return Trace(circ, off, tuple(delivered), ch.telegrams, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------- metrics


def metrics(site: Site, inp: DayInput, tr: Trace) -> dict[str, float]:
    """One table row (module docstring)."""
    budget = np.asarray(site.budget)
    over = tr.circuits - budget[None, :, None]
    floor = inp.other.copy()  # the least non-EV load of the last TRANSIENT_WINDOW s
    for back in range(1, TRANSIENT_WINDOW + 1):
        floor[back:] = np.minimum(floor[back:], inp.other[:-back])
    rise = inp.other - floor
    member = np.zeros((len(site.paths), len(site.names)))
    for i, path in enumerate(site.paths):
        member[i, list(path)] = 1.0  # every charger is three-phase: its limit counts on each phase
    unmetered = ~np.asarray(site.metered)
    lim = (tr.offered @ member)[:, unmetered] - budget[unmetered]
    unserved, short = 0, 0.0
    for s, got, left in zip(inp.sessions, tr.delivered, inp.left, strict=True):
        if not left:
            continue
        top = min(site.config.evses[s.evse].max_current or 0.0, s.car.max_current) * s.car.phases * VOLTAGE
        could = min(s.need_wh, top * (s.depart - s.arrive) / 3600.0)
        if could - got > max(TOLERANCE[0] * could, TOLERANCE[1]):
            unserved += 1
            short += could - got
    kwh = np.asarray(tr.delivered) / 1000.0
    high = np.asarray([site.high[s.evse] for s in inp.sessions], dtype=bool)
    return {
        "sessions": float(sum(inp.left)),
        "unserved": float(unserved),
        "short_kwh": short / 1000.0,
        "ev_kwh": float(kwh.sum()),
        "hi_kwh": float(kwh[high].sum()) if len(kwh) else 0.0,
        "bud_s": float((over > 1e-9).any(axis=(1, 2)).sum()),
        "bud_as": float(np.clip(over, 0.0, None).max(axis=2).sum()),
        "ctl_s": float((over - rise > 1e-9).any(axis=(1, 2)).sum()),
        "lim_s": float((lim > 1e-9).any(axis=1).sum()),
        "tg_h": tr.telegrams / (inp.n / 3600.0),
        "runtime": tr.runtime,
    }


def circuit_seconds(site: Site, tr: Trace) -> dict[str, int]:
    """Seconds each circuit is over its budget (by id)."""
    over = (tr.circuits - np.asarray(site.budget)[None, :, None] > 1e-9).any(axis=2).sum(axis=0)
    return {name: int(v) for name, v in zip(site.names, over, strict=True)}


# --------------------------------------------------------------------------------- the report


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("left", "sessions", "{:.0f}"), ("unserved", "unserved", "{:.0f}"), ("short kWh", "short_kwh", "{:.1f}"),
    ("EV kWh", "ev_kwh", "{:.1f}"), ("hi kWh", "hi_kwh", "{:.1f}"), (">bud s", "bud_s", "{:.0f}"),
    (">bud As", "bud_as", "{:.1f}"), ("ctl s", "ctl_s", "{:.0f}"), ("lim s", "lim_s", "{:.0f}"),
    ("tg/h", "tg_h", "{:.1f}"), ("sim s", "runtime", "{:.1f}"),
)
"""(header, metrics key, format) of the table's columns."""


def goals(rows: dict[str, dict[str, float]]) -> list[tuple[str, bool, str]]:
    """The goal lines: this core against the evcc-like rules (module docstring)."""
    a, b = rows["HA circuits"], rows["evcc-like"]
    return [
        ("car park: HA circuits: 0 s over any circuit's budget caused by the controller", a["ctl_s"] == 0,
         f"{a['ctl_s']:.0f} s ({a['bud_s']:.0f} s over a budget in all, the rest within the rise of the "
         f"non-EV load over the last {TRANSIENT_WINDOW} s; evcc-like {b['ctl_s']:.0f} s)"),
        ("car park: more energy to the high-priority members than evcc-like", a["hi_kwh"] > b["hi_kwh"],
         f"{a['hi_kwh']:.1f} vs {b['hi_kwh']:.1f} kWh"),
        ("car park: fewer unserved sessions than evcc-like", a["unserved"] < b["unserved"],
         f"{a['unserved']:.0f} vs {b['unserved']:.0f} of {a['sessions']:.0f} ({a['short_kwh']:.1f} vs "
         f"{b['short_kwh']:.1f} kWh short)"),
        ("car park: telegrams per hour no worse than evcc-like", a["tg_h"] <= b["tg_h"],
         f"{a['tg_h']:.1f} vs {b['tg_h']:.1f}"),
    ]


def run_carpark(seed: int = SEED, start: int = 0, duration: int = 86400) -> tuple[str, list[tuple[str, bool, str]],
                                                                                 dict[str, Trace], Site]:
    """Simulate both controllers on the window; return the report, the goal lines, the traces and the site."""
    t0 = time.perf_counter()
    site = load_site()
    inp = day_input(site, seed, start, duration)
    traces = {name: simulate(site, inp, make(site)) for name, make in CONTROLLERS.items()}
    rows = {name: metrics(site, inp, tr) for name, tr in traces.items()}
    end = start + inp.n
    cfg = site.config
    out = [
        f"Car-park benchmark: {len(cfg.evses)} chargers in {len(cfg.circuits)} circuits "
        f"({', '.join(f'{c.label} {c.limit:g} {c.unit}' + (' metered' if c.metered else '') for c in cfg.circuits)}) "
        f"under a metered 3 x {cfg.limit:g} A main with {site.flats} flats; budgets = limits less "
        f"{cfg.reserve_margin:g} %",
        f"Sessions: {source()}, seed {seed}: {len(inp.sessions)} sessions, "
        f"{sum(s.need_wh for s in inp.sessions) / 1000:.0f} kWh needed; window {start // 3600:02d}:"
        f"{start % 3600 // 60:02d}-{end // 3600:02d}:{end % 3600 // 60:02d} at 1 s; balancing core {core_version()}",
        "",
    ]
    width = max(len(x) for x in rows) + 1
    head = f"{'controller':<{width}}" + "".join(f"{c:>10}" for c, _, _ in COLUMNS)
    out += [head, "-" * len(head)]
    for name, row in rows.items():
        out.append(f"{name:<{width}}" + "".join(f"{fmt.format(row[key]):>10}" for _, key, fmt in COLUMNS))
    for name, tr in traces.items():
        over = ", ".join(f"{c} {v}" for c, v in circuit_seconds(site, tr).items())
        out.append(f"  {name}: s over each circuit's budget: {over}")
    result = goals(rows)
    out += ["", "Goals"] + [f"  {'PASS' if ok else 'FAIL'}  {text}: {why}" for text, ok, why in result]
    out += ["", f"run time {time.perf_counter() - t0:.1f} s"]
    return "\n".join(out), result, traces, site


def main(argv: Sequence[str] | None = None) -> int:
    """Run the car-park day and print it; exit status 1 when a goal fails."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"the sessions' and flats' seed (default {SEED})")
    parser.add_argument("--start", default="00:00", help="window start, HH:MM (default 00:00)")
    parser.add_argument("--duration", type=int, default=86400, help="window length in s (default a day)")
    args = parser.parse_args(argv)
    if not 0 <= hm(args.start) < 86400 or args.duration < 60:
        parser.error("the window must start within the day and last at least 60 s")
    text, result, _traces, _site = run_carpark(args.seed, hm(args.start), args.duration)
    print(text)
    return 0 if all(ok for _, ok, _ in result) else 1


if __name__ == "__main__":
    sys.exit(main())
