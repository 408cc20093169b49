#!/usr/bin/env python3
"""Print the time per Balancer.update for 6, 100 and 1000 EVSEs (rule: "Scales to at least 100
EVSEs ... in well under 10 ms per update"), and for 1000 EVSEs in 50 circuits on three levels (goal:
< 10 ms mean, < 20 ms p99). A measurement to read, not a timed test.

The scenario is deliberately busy: a three-phase supply with a per-phase meter, a mix of single- and
three-phase EVSEs in all four modes, a house load and solar export that change every second, cars
that plug in and out, and a breaker sized so that some EVSEs are always paused. Default timing.

The circuits: 5 metered boards under the supply, 3 sub-boards without a meter in each, 2 metered rows
in each of those (50 circuits), built with ``tree_from_dict`` from a plain description; members hang
at every level, most in the rows. Every metered circuit's meter shows its own other load (wandering)
and the EVSEs below it.

Usage: python scripts/bench_balancer.py [--rounds N] [--seed S] [--sizes 6,100,1000] [--tree 1000]

The core is loaded straight from custom_components/knx_evse/balancing/ as a stand-alone package, so
this runs on plain Python without Home Assistant installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "custom_components" / "knx_evse" / "balancing"


def load_core() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "knx_evse_balancing", PACKAGE / "__init__.py", submodule_search_locations=[str(PACKAGE)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def scenario(core: Any, n: int, rng: random.Random) -> tuple[Any, list[Any]]:
    modes = ["fast", "fast", "fast", "solar", "min_solar", "off"]
    evses = []
    for i in range(n):
        three = rng.random() < 0.4
        evses.append(core.EvseConfig(
            max_current=rng.choice([16.0, 20.0, 32.0]),
            phases=3 if three else 1,
            phase=1 + i % 3,
            mode=rng.choice(modes),
            name=f"EVSE{i + 1}",
        ))
    # Roughly 12 A per EVSE per phase on average: enough contention that some always pause.
    cfg = core.BalancingConfig(limit=max(40.0, 6.0 * n), reserve_margin=10.0, evses=tuple(evses),
                               phases=3)
    return cfg, evses


def tree(core: Any, n: int, rng: random.Random) -> tuple[Any, list[Any]]:
    """``n`` EVSEs in 50 circuits on three levels (see the module docstring)."""
    modes = ["fast", "fast", "fast", "solar", "min_solar", "off"]
    count = 0

    def members(k: int) -> list[dict[str, Any]]:
        nonlocal count
        out = []
        for _ in range(k):
            three = rng.random() < 0.4
            out.append({"max_current": rng.choice([16.0, 20.0, 32.0]), "phases": 3 if three else 1,
                        "phase": 1 + count % 3, "mode": rng.choice(modes)})
            count += 1
        return out

    per_row = (n - 5 * 5 - 15 * 5) // 30
    boards = []
    for b in range(5):
        subs = []
        for s in range(3):
            rows = [{"id": f"row{b}.{s}.{r}", "limit": 3.0 * per_row, "meter": True,
                     "evses": members(per_row)} for r in range(2)]
            subs.append({"id": f"sub{b}.{s}", "limit": 7.0 * per_row, "evses": members(5), "circuits": rows})
        boards.append({"id": f"board{b}", "limit": 18.0 * per_row, "meter": True, "evses": members(5),
                       "circuits": subs})
    rest = members(n - count)
    circuits, evses = core.tree_from_dict({"evses": rest, "circuits": boards})
    cfg = core.BalancingConfig(limit=max(40.0, 6.0 * n), reserve_margin=10.0, evses=evses, circuits=circuits,
                               phases=3)
    return cfg, list(evses)


def bench(core: Any, n: int, rounds: int, seed: int, *, circuits: bool = False) -> dict[str, float]:
    rng = random.Random(seed)
    cfg, evses = (tree if circuits else scenario)(core, n, rng)
    balancer = core.Balancer(cfg)
    parent = {c.id: c.parent for c in cfg.circuits}
    metered = [c.id for c in cfg.circuits if c.metered]
    inside = {c: [0.0, 0.0, 0.0] for c in metered}  # other load in each metered circuit, wandering

    def above(at: str | None) -> list[str]:
        out = []
        while at is not None:
            out.append(at)
            at = parent[at]
        return [c for c in out if c in inside]

    paths = [above(e.circuit) for e in evses]
    phases = [tuple(range(3)) if e.phases == 3 else (e.phase - 1,) for e in evses]
    connected = [rng.random() < 0.8 for _ in range(n)]
    limits = [0.0] * n
    times: list[float] = []
    writes = 0
    base = [0.15 * cfg.limit, 0.2 * cfg.limit, 0.1 * cfg.limit]  # other load, mean-reverting
    house = list(base)
    t = 0.0
    for k in range(rounds):
        t += 1.0
        # Other load wanders; a 3 kW kettle every 5 minutes for a minute; a midday solar hump.
        house = [max(0.0, h + 0.05 * (b - h) + rng.gauss(0.0, 1.0))
                 for h, b in zip(house, base, strict=True)]
        kettle = 13.0 if (k // 60) % 5 == 0 else 0.0
        solar = max(0.0, 30.0 * (1.0 - abs((k % 3600) - 1800) / 1800.0)) * max(1, n // 6)
        per = [house[0] + kettle - solar / 3, house[1] - solar / 3, house[2] - solar / 3]
        if rng.random() < 0.02 and n:
            i = rng.randrange(n)
            connected[i] = not connected[i]
        seen = {c: [0.0, 0.0, 0.0] for c in inside}  # what each circuit's meter shows
        for c, v in inside.items():
            inside[c] = [max(0.0, x + rng.gauss(0.0, 0.3)) for x in v]
            for c2 in above(c):  # its own meter and the metered ones above it
                seen[c2] = [a + b for a, b in zip(seen[c2], inside[c], strict=True)]
            per = [a + b for a, b in zip(per, inside[c], strict=True)]
        for i in range(n):
            for p in phases[i]:
                per[p] += limits[i]
                for c in paths[i]:
                    seen[c][p] += limits[i]
        readings = [core.EvseReading(limits[i], connected[i]) for i in range(n)]
        meter = core.MeterReading(tuple(per), t)
        meters = {c: core.MeterReading(tuple(v), t) for c, v in seen.items()}
        start = time.perf_counter()
        d = balancer.update(t, meter, readings, circuits=meters or None)
        times.append(time.perf_counter() - start)
        limits = list(d.limits)
        writes += len(d.writes)
    times.sort()
    return {
        "mean": statistics.fmean(times) * 1e3,
        "median": times[len(times) // 2] * 1e3,
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3,
        "max": times[-1] * 1e3,
        "running": sum(1 for x in limits if x > 0),
        "writes_per_round": writes / rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=0, help="rounds per size (default: by size)")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--sizes", default="6,100,1000")
    parser.add_argument("--tree", default="1000", help="EVSEs in 50 circuits; empty for none")
    args = parser.parse_args()
    core = load_core()
    print(f"Python {sys.version.split()[0]}; one update = one balancing round (default timing)")
    print(f"{'EVSEs':>6} {'rounds':>7} {'mean ms':>9} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} "
          f"{'charging':>9} {'writes/round':>13}")
    for n in (int(x) for x in args.sizes.split(",")):
        rounds = args.rounds or (3000 if n <= 100 else 600)
        r = bench(core, n, rounds, args.seed)
        print(f"{n:>6} {rounds:>7} {r['mean']:>9.3f} {r['median']:>10.3f} {r['p99']:>8.3f} "
              f"{r['max']:>8.3f} {r['running']:>9} {r['writes_per_round']:>13.2f}")
    for n in (int(x) for x in args.tree.split(",") if x):
        rounds = args.rounds or 600
        r = bench(core, n, rounds, args.seed, circuits=True)
        print(f"{n:>6} {rounds:>7} {r['mean']:>9.3f} {r['median']:>10.3f} {r['p99']:>8.3f} "
              f"{r['max']:>8.3f} {r['running']:>9} {r['writes_per_round']:>13.2f}  in 50 circuits")


if __name__ == "__main__":
    main()
