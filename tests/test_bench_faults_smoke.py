"""Smoke test of the benchmark's fault day (scripts/bench_faults.py) on half-length windows.

Not a timing test: it checks that every fault prints its goal line with a computed figure, that the
exit status follows the goals, and that a figure moves when the code behind it is switched off (the
core's obedience check, the group's grace, bridge mode's throttle). The faults whose core feature is
still being built are only checked for their line, so the test holds before and after it lands.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from custom_components.knx_evse.balancing import Balancer, BalancingConfig
from custom_components.knx_evse.group.bridge import Throttle
from custom_components.knx_evse.group.grace import Grace

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def faults() -> ModuleType:
    return _load("bench_faults")


@pytest.fixture(scope="module")
def day(faults: ModuleType) -> tuple[list[Any], str]:
    return faults.run_faults(scale=0.5)


def test_every_fault_prints_its_goal_line(faults: ModuleType, day: tuple[list[Any], str]) -> None:
    goals, text = day
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(("PASS", "FAIL"))]
    assert len(lines) == len(goals) == 11
    for goal, line in zip(goals, lines, strict=True):
        assert line == goal.line()
        assert line.startswith("PASS" if goal.ok else "FAIL")
        assert "(goal " in line and not math.isnan(goal.value)
    names = [g.fault for g in goals]
    for fault in ("disobedient charger", "unbalanced house", "reversed meter", "two-connector charger",
                  "meter and bus blips", "export blips", "capped car", "bridge mode"):
        assert any(name.startswith(fault) for name in names), fault
    assert "windows x 0.5" in text


def test_the_figures_behind_the_passing_lines(faults: ModuleType, day: tuple[list[Any], str]) -> None:
    goals = {g.fault: g for g in day[0]}
    unbalanced = goals["unbalanced house, one W meter"]
    assert unbalanced.ok and 0 < unbalanced.value <= faults.PER_EVENT  # L3 goes over until the cut
    blips = goals["meter and bus blips"]
    assert blips.ok and blips.value == 0
    export = goals["export blips under a solar car"]
    delay = BalancingConfig(limit=1.0).solar_stop_delay
    assert export.ok and delay <= export.value <= 2 * delay  # once the import adds up to the delay
    for climb in ("", " on a steady climb"):
        bridge = goals[f"bridge mode, noisy meter{climb}"]
        assert bridge.ok and 3600 / faults.BRIDGE_PERIOD <= bridge.value < 3600


def test_the_exit_status_follows_the_goals(faults: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    goals, _text = faults.run_faults(["capped", "bridge"], scale=0.5)
    assert faults.main(["--only", "capped,bridge", "--scale", "0.5"]) == (0 if all(g.ok for g in goals) else 1)
    assert "capped car" in capsys.readouterr().out
    bench = _load("bench_balancing")
    assert bench.main(["--faults", "--only", "bridge", "--scale", "0.5"]) == 0  # the ordinary bench dispatches
    assert capsys.readouterr().out.count("PASS  bridge mode") == 2


def test_a_disobedient_charger_overloads_without_the_core_s_obedience_check(
    faults: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_check = faults.disobedient(False, 1200)
    assert math.isfinite(with_check.value) and with_check.value > 0  # the 10 s before the excess counts
    monkeypatch.setattr(Balancer, "_check_obedience", lambda *_args: None)
    without = faults.disobedient(False, 1200)
    assert not without.ok and without.value > max(with_check.value, faults.PER_EVENT)


def test_blips_stop_and_start_the_cars_without_the_group_s_grace(
    faults: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Grace, "holding", lambda *_args: False)
    goal = faults.blips(1800)
    assert not goal.ok and goal.value > 0


def test_a_noisy_meter_sends_every_second_without_the_throttle(
    faults: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Throttle, "due", lambda *_args: True)
    goal = faults.bridge(False, 1800)
    assert not goal.ok and goal.value == 3600
