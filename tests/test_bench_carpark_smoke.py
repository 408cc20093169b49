"""Smoke test of the car-park day (scripts/bench_carpark.py): the site, emobpy's data, a short window.

Not a timing test: it checks that the site's description builds the core's circuits, that the
sessions come from emobpy's files, that a short evening window (residents coming home to the
garage rows) reports every row and every goal line, and what a broken controller would violate:
this core never writes more than a circuit without a meter may carry, in any second of the trace,
counting every car on the phases it draws (the site turns ``drawn_phases`` on) and, in the strict
row (the option off), every charger on all three phases (without its circuits the core gives garage
row A 1.2 A too much in this window).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_carpark.py"
if importlib.util.find_spec("emobpy") is None:
    pytest.skip("the car-park bench reads its sessions from the emobpy package", allow_module_level=True)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_carpark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_the_site_is_40_chargers_in_6_circuits_one_metered(bench: ModuleType) -> None:
    site = bench.load_site()
    assert len(site.config.evses) == 40 and len(site.config.circuits) == 6
    assert [c.id for c in site.config.circuits if c.metered] == ["garage"]
    assert site.budget[0] == pytest.approx(90.0)  # 3 x 100 A less 10 %
    assert site.high[:6] == (True,) * 6 and not any(site.high[6:])  # doctors and fleet first
    assert all(path[-1] == 0 for path in site.paths)  # every member up to the supply


def test_sessions_come_from_emobpys_statistics(bench: ModuleType) -> None:
    mobility = sys.modules["carpark_mobility"].Mobility()
    assert mobility.work_hours == (7.0, 8.0)  # rules.yml: a full-time worker's time at work
    first = mobility.sessions(["worker", "resident", "visitor"], 1)
    assert first == mobility.sessions(["worker", "resident", "visitor"], 1)  # seeded
    assert {s.evse for s in first} == {0, 1, 2}
    assert all(0 <= s.arrive < s.depart <= 86400 and s.need_wh > 0 and 0.05 <= s.soc < 0.8 for s in first)
    assert "emobpy" in sys.modules["carpark_mobility"].source()


def test_an_evening_window_reports_both_rows_and_every_goal(bench: ModuleType) -> None:
    text, goals, traces, site = bench.run_carpark(start=bench.hm("19:00"), duration=1800)
    assert site.config.drawn_phases  # the site's YAML turns the option on
    for name in ("HA circuits", "HA strict", "evcc-like"):
        assert re.search(rf"^{name} +\d+ +\d+ ", text, re.M), text
    assert [t for t, _ok, _why in goals] == [
        "car park: HA circuits: 0 s over any circuit's budget caused by the controller",
        "car park: more energy to the high-priority members than evcc-like",
        "car park: fewer unserved sessions than evcc-like",
        "car park: telegrams per hour no worse than evcc-like"]
    assert len(re.findall(r"^  (PASS|FAIL)  car park: ", text, re.M)) == 4
    ha = traces["HA circuits"]
    assert ha.offered.max() > 0 and sum(ha.delivered) > 0  # something charged
    # Every second, the limits in force in each circuit on each supply phase, every charger's
    # counted on the phases its car draws from (a single-phase car's on its own: "Phases a vehicle draws").
    inp = bench.day_input(site, bench.SEED, bench.hm("19:00"), 1800)
    drawn = np.zeros((inp.n, len(site.paths), 3))
    for sess in inp.sessions:
        for q in range(sess.car.phases):
            drawn[sess.arrive:sess.depart, sess.evse, (site.rotation[sess.evse] + q) % 3] = 1.0
    member = np.zeros((len(site.paths), len(site.names)))
    for i, path in enumerate(site.paths):
        member[i, list(path)] = 1.0
    budget = np.asarray(site.budget)
    unmetered = ~np.asarray(site.metered)
    limits = np.einsum("ke,kep,ec->kcp", ha.offered, drawn, member)
    assert (limits[:, unmetered, :] <= budget[unmetered, None] + 1e-9).all()
    assert (ha.circuits.max(axis=2) <= budget + 1e-9)[:, unmetered].all()
    strict = traces["HA strict"].offered @ member  # every charger's limit on all three phases
    assert (strict[:, unmetered] <= budget[unmetered] + 1e-9).all()
