"""The headless demo's budget watch (scripts/demo_checks.py): limits summed per circuit and phase."""

from __future__ import annotations

from scripts.demo_checks import BudgetWatch, member_phases

THREE = {"parameters": {"phases": 3, "connectors": 1}}
SINGLE = {"parameters": {"phases": 1, "connectors": 2, "phase_connection": "same"}}
GROUP = {
    "name": "P", "limit": 63, "phases": 3, "reserve_margin": 10,
    "circuits": [{"id": "row", "name": "Row", "limit": 25, "meter": []},
                 {"id": "gar", "name": "Garage", "limit": 32, "meter": ["sensor.x"]}],
    "members": [{"charger": "1.1.1", "connector": 0, "circuit": "row"},
                {"charger": "1.1.2", "connector": 1, "phase": 2, "circuit": "row"},
                {"charger": "1.1.3", "connector": 0, "circuit": "gar"}],
}
CHARGERS = {"1.1.1": ("c1", THREE), "1.1.2": ("c2", SINGLE), "1.1.3": ("c3", THREE)}
IDS = {f"g_c{n}_{c}_assigned_limit": f"sensor.m{n}" for n, c in ((1, 0), (2, 1), (3, 0))}


def _states(m1: float, m2: float, m3: float) -> list[dict[str, str]]:
    return [{"entity_id": "sensor.m1", "state": str(m1)}, {"entity_id": "sensor.m2", "state": str(m2)},
            {"entity_id": "sensor.m3", "state": str(m3)}]


def test_limits_within_an_unmetered_circuits_budget_pass() -> None:
    watch = BudgetWatch("g", GROUP, CHARGERS)
    watch.sample(_states(16, 6, 40), IDS)  # row: 22 A on L2 of 22.5; the metered garage is only reported
    assert watch.over() == []
    assert watch.report()["circuits"]["Row"]["worst"] == [16.0, 22.0, 16.0]
    assert watch.report()["circuits"]["P (supply)"]["worst"] == [56.0, 62.0, 56.0]
    assert watch.highest_total == 62


def test_a_limit_above_an_unmetered_circuits_budget_is_caught_on_its_phase() -> None:
    watch = BudgetWatch("g", GROUP, CHARGERS)
    watch.sample(_states(16, 7, 0), IDS)  # 23 A on L2 of the row's 22.5
    watch.sample(_states(0, 0, 0), IDS)  # the worst stays
    assert watch.over() == ["Row"]


def test_unknown_values_are_skipped_and_phases_follow_the_wiring() -> None:
    watch = BudgetWatch("g", GROUP, CHARGERS)
    watch.sample([{"entity_id": "sensor.m1", "state": "unknown"}], IDS)
    assert (watch.samples, watch.highest_total) == (1, 0)
    shifted = {"parameters": {"phases": 1, "connectors": 2, "phase_connection": "different"}}
    assert member_phases({"phase": 3, "connector": 2}, shifted) == (0,)
    assert member_phases({"phase": 1, "connector": 0}, shifted) == (0, 1)
    assert member_phases({"phase": 2, "connector": 1}, SINGLE) == (1,)
