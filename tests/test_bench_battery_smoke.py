"""Smoke test of the home-battery bench (scripts/bench_battery.py) on a short cloudy window.

Fifteen simulated minutes from 11:00 on the summer day with passing clouds: the Leaf is plugged in and
the battery charges. Not a timing test: the table has every row, the battery model keeps its limits,
and the figures obey invariants that a broken simulation or metric would violate.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    try:
        spec = importlib.util.spec_from_file_location("bench_battery", SCRIPTS / "bench_battery.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPTS))
    return module


@pytest.fixture(scope="module")
def result(bench: ModuleType) -> Any:
    return bench.battery_day(start=11 * 3600, duration=900, clouds=True)


def test_every_row_and_the_goal(bench: ModuleType, result: Any) -> None:
    assert set(result.rows) == set(bench.ROWS)
    for name in bench.ROWS:
        assert sum(1 for line in result.text.splitlines() if line.startswith(name + " ")) == 1, name
    assert len(result.goals) == 1
    assert result.goals[0][0].startswith("battery, summer day with passing clouds:")


def test_figures_are_sane(result: Any) -> None:
    alone = result.rows["battery alone"]
    assert alone["ev_kwh"] == 0.0 and alone["taken_kwh"] == 0.0 and alone["tg_h"] == 0.0
    for name, row in result.rows.items():
        assert row["ev_kwh"] >= row["pv_kwh"] + row["bat_kwh"] - 1e-9, name
        assert row["pv_kwh"] >= 0 and row["bat_kwh"] >= 0 and row["taken_kwh"] >= 0, name
        assert 5.0 - 1e-9 <= row["soc_leaf"] <= 100.0 + 1e-9, name
    assert result.rows["HA solar, priority (SoC + power)"]["ev_kwh"] > 0  # the Leaf charges from PV


def test_the_battery_keeps_its_limits(bench: ModuleType) -> None:
    spec = bench.Battery(capacity_wh=1.0, max_w=3000.0, soc0=0.5)
    battery = bench.HomeBattery(spec)
    assert battery.step(-10_000.0) < 0 and battery.step(-10_000.0) >= -3000.0
    for _ in range(10):
        battery.step(-10_000.0)
    assert battery.soc == pytest.approx(spec.max_soc)  # full: it takes nothing more
    assert battery.step(-10_000.0) == pytest.approx(0.0, abs=1e-6)
    for _ in range(10):
        assert 0.0 <= battery.step(10_000.0) <= 3000.0
    assert battery.soc == pytest.approx(spec.min_soc)
