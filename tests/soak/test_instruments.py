"""The soak's instruments without the soak: attribution windows, repeated conditions, budget events,
the assertions, the summary table and the seed list of scripts/soak.py (no bus, no Home Assistant)."""

from __future__ import annotations

import importlib.util
import logging
import random
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from custom_components.knx_evse.knx.parameters import VOLTAGE

from .attribution import LogLine, repeated_conditions, unexplained
from .budget import BudgetAccount
from .faults import DISOBEY_BOUND, FAULT_KINDS, KINDS, Fault, fault_kinds, fault_schedule
from .report import Figures, check, summary_table

_SPEC = importlib.util.spec_from_file_location("soak_script", Path(__file__).parents[2] / "scripts" / "soak.py")
assert _SPEC is not None and _SPEC.loader is not None
SCRIPT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(SCRIPT)

LIVENESS = "custom_components.knx_evse.charger.liveness"
MEMBERS = "custom_components.knx_evse.group.members"


def warn(at: float, name: str, message: str) -> LogLine:
    return LogLine(at, logging.WARNING, name, message)


def info(at: float, name: str, message: str) -> LogLine:
    return LogLine(at, logging.INFO, name, message)


def started(kind: str, at: float, duration: float = 0.0) -> Fault:
    return Fault(kind, at, duration, started=True, scheduled=at)


def test_a_warning_is_explained_only_within_its_faults_window() -> None:
    mute = started("charger_mute", 1000, 100)
    after = KINDS["charger_mute"].after
    silent = "Garage sent nothing for 80 s and did not answer 2 reads"
    lines = [warn(999, LIVENESS, silent), warn(1100 + after, LIVENESS, silent), warn(1101 + after, LIVENESS, silent)]
    assert unexplained(lines, [mute]) == [lines[2].text()]
    assert unexplained(lines[:1], []) == [lines[0].text()]


def test_the_teardown_may_find_a_dead_tunnel_but_only_after_the_day() -> None:
    line = "Tunnel disconnect failed (communication_channel: 1): ... E_CONNECTION_ID"
    lines = [warn(86_000, "xknx.log", line), warn(86_401, "xknx.log", line)]
    assert unexplained(lines, [], end=86_400) == [lines[0].text()]


def test_overlapping_faults_each_explain_their_own_warnings() -> None:
    """A knxd restart during a meter fault: each warning is explained by the fault that has a pattern for it."""
    faults = [started("meter_unavailable", 500, 60), started("knxd_restart", 520)]
    lines = [
        warn(530, "custom_components.knx_evse.group.meter", "House: meter sensor.x is unavailable; fallback applied"),
        warn(531, "xknx.log", "Tunnel heartbeat failed with status: E_CONNECTION_ID."),
        warn(532, "custom_components.knx_evse.charger.repairs", "Garage: no answer to the start-up read of objects [3]"),
    ]
    assert unexplained(lines, faults) == [lines[2].text()]


def test_a_condition_logged_again_while_it_lasts_is_a_repeat() -> None:
    lines = [
        warn(10, LIVENESS, "Garage sent nothing for 80 s and did not answer 2 reads: ..."),
        warn(20, LIVENESS, "Garage sent nothing for 90 s and did not answer 2 reads: ..."),
        info(30, LIVENESS, "Garage answers again"),
        info(31, LIVENESS, "Garage answers again"),
        warn(40, MEMBERS, "House: Garage connector 1 does not answer; its limit of 6 A stays reserved"),
        info(50, MEMBERS, "House: Garage connector 1 answers again"),
    ]
    repeats = repeated_conditions(lines, runtimes=[0])
    assert [r.split(":", 1)[0] for r in repeats] == ["started twice", "ended twice"]
    assert "t=20s" in repeats[0] and "t=31s" in repeats[1]


def test_a_new_runtime_may_log_a_condition_that_lasts_again() -> None:
    silent = "Garage sent nothing for 80 s and did not answer 2 reads"
    lines = [warn(10, LIVENESS, silent), warn(200, LIVENESS, silent)]
    assert repeated_conditions(lines, runtimes=[0, 150]) == []
    assert len(repeated_conditions(lines, runtimes=[0])) == 1


def account(budget: BudgetAccount, now: float, amps: float, faults: list[Fault], in_play: bool = True) -> None:
    """One step with ``amps`` per phase from the chargers and no other load."""
    budget.account(now, datetime(2025, 6, 19), 0.0, 0.0, (amps, amps, amps), faults, lambda _f: in_play)


def test_budget_seconds_go_to_the_controller_unless_a_fault_explains_them() -> None:
    figures = Figures()
    budget = BudgetAccount(figures, 14.4, 16.0, 1.0)
    budget.first_round = 0.0
    budget.reading(0.0, 0.0, 0.0)
    for second in range(100, 103):
        account(budget, second, 15.0, [])
    assert figures.over_controller_s == [3.0, 3.0, 3.0]
    disobeys = started("charger_disobeys", 200, 300)
    for second in range(200, 200 + int(DISOBEY_BOUND) + 5):
        account(budget, second, 15.0, [disobeys])
    for second in range(300, 310):
        account(budget, second, 15.0, [disobeys], in_play=False)  # within the tolerance: reported only
    assert figures.over_controller_s == [3.0, 3.0, 3.0]
    assert disobeys.events == [DISOBEY_BOUND + 5]
    assert figures.over_bounded_s[0] == DISOBEY_BOUND + 5 + 10
    report = {"bounded_events": {"charger_disobeys": {"longest_s": disobeys.events[0], "bound_s": DISOBEY_BOUND}}}
    assert any("charger_disobeys" in failure for failure in check(_passing(report)))


def test_a_house_step_is_the_house_s() -> None:
    figures = Figures()
    budget = BudgetAccount(figures, 14.4, 16.0, 1.0)
    budget.first_round = 0.0
    budget.reading(100.0, 3 * VOLTAGE * 2.0, 0.0)  # 2 A more on every phase
    account(budget, 101, 15.0, [])
    assert figures.over_house_s == [1.0, 1.0, 1.0] and figures.over_controller_s == [0.0, 0.0, 0.0]


def _passing(changes: dict[str, Any]) -> dict[str, Any]:
    base = {"tasks": 10, "objects": 100_000, "rss_mb": 300.0}
    report: dict[str, Any] = {
        "over_budget_controller_s": [0.0, 0.0, 0.0],
        "energy": {"Garage c1": {"simulator_wh": 100.0, "lifetime_wh": 100.0, "diff_pct": 0.0}},
        "energy_total": {"simulator_wh": 100.0, "lifetime_wh": 100.0, "diff_pct": 0.0},
        "resources_hour1": base, "resources_end": base, "objects_growth_by_type": {},
        "log_unexplained": [], "log_repeated": [], "bounded_events": {},
        "modes_not_restored": [], "burst_taken": [], "exceptions": [],
        "faults": dict.fromkeys(FAULT_KINDS, 1),
    }
    return {**report, **changes}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"log_repeated": ["started twice: ..."]}, ["1 conditions logged again"]),
        ({"modes_not_restored": ["t=5s Carport: fast"]}, ["charge modes not restored"]),
        ({"burst_taken": ["Garage object 46 = 9990000"]}, ["values taken from the faulty device"]),
        ({"faults": {"knxd_restart": 1}}, ["faults never injected"]),
        ({"over_budget_controller_s": [1.0, 0.0, 0.0]}, ["over the breaker budget"]),
    ],
)
def test_the_assertions(changes: dict[str, Any], expected: list[str]) -> None:
    failed = check(_passing(changes))
    assert [f for f in failed if not any(f.startswith(e) for e in expected)] == []
    assert len(failed) == len(expected)


def test_every_kind_is_scheduled_at_least_once_and_waits_only_when_it_must() -> None:
    faults = fault_schedule(random.Random(1), 2 * 3600.0, 0.5, ["Garage", "Carport"])
    assert {f.kind for f in faults} == set(FAULT_KINDS) - {"core_knx_reload"}
    assert all(600 <= f.at <= 2 * 3600 - 1500 for f in faults)
    assert all((f.target is not None) == KINDS[f.kind].on_charger for f in faults)


def test_the_summary_table_has_a_row_per_seed() -> None:
    report = _passing({"slowest_round_ms": 12.4, "failed": [], "resources_end": {"tasks": 10, "objects": 101_234}})
    table = summary_table([(1, report), (2, None)]).splitlines()
    assert table[0].startswith("| seed | over budget by the controller")
    assert table[2] == "| 1 | 0/0/0 | +0.000 % | 10 → 10 | 100,000 → 101,234 | 0 | 12 ms | pass |"
    assert table[3].endswith("no figures |")


def test_seed_lists() -> None:
    assert SCRIPT.seed_list("1-10") == list(range(1, 11))
    assert SCRIPT.seed_list("3") == [3]
    assert SCRIPT.seed_list("1,4,7-9") == [1, 4, 7, 8, 9]
    with pytest.raises(ValueError, match="empty range"):
        SCRIPT.seed_list("5-3")


def test_a_bounded_fault_combined_with_another_counts_no_event() -> None:
    """A sign flip during a meter fault cannot be recognised (no readings): its seconds are reported, not bounded."""
    figures = Figures()
    budget = BudgetAccount(figures, 14.4, 16.0, 1.0)
    budget.first_round = 0.0
    flip, stale = started("meter_sign_flip", 100, 600), started("meter_stale", 110, 100)
    for second in range(100, 130):
        account(budget, second, 17.0, [flip, stale])
    assert flip.events == [10.0]  # alone for 10 s, then combined
    assert figures.over_bounded_s[0] == 30.0


def test_the_core_knx_reload_is_injected_only_on_core_knxs_connection() -> None:
    """Reloading Home Assistant's KNX integration means something only when the hub uses its connection."""
    assert "core_knx_reload" not in fault_kinds("tunnel")
    assert set(fault_kinds("core_knx")) == set(FAULT_KINDS)
    faults = fault_schedule(random.Random(1), 2 * 3600.0, 0.5, ["Garage", "Carport"], "core_knx")
    assert [f.kind for f in faults].count("core_knx_reload") == 1
    tunnel_only = dict.fromkeys(fault_kinds("tunnel"), 1)
    assert check(_passing({"faults": tunnel_only})) == []
    assert check(_passing({"connection": "core_knx", "faults": tunnel_only})) == [
        "faults never injected: ['core_knx_reload']"
    ]
