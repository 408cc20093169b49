"""Circuits as configuration: CircuitConfig, the tree checks in BalancingConfig, and tree_from_dict."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.knx_evse.balancing import (
    BalancingConfig,
    CircuitConfig,
    EvseConfig,
    tree_from_dict,
)
from custom_components.knx_evse.balancing.circuit_round import layout
from custom_components.knx_evse.balancing.circuits import CircuitTreeError

from .helpers import evse


def group(*circuits: CircuitConfig, evses: tuple[EvseConfig, ...] = (), **kw: Any) -> BalancingConfig:
    base: dict[str, Any] = {"limit": 100.0, "phases": 3, "evses": evses, "circuits": circuits}
    base.update(kw)
    return BalancingConfig(**base)


def test_a_tree_is_accepted_and_lists_become_tuples() -> None:
    cfg = BalancingConfig(limit=100.0, phases=3, circuits=[CircuitConfig("garage", 40.0), CircuitConfig(
        "row", 32.0, parent="garage")], evses=[evse(16.0, circuit="row"), evse(16.0, circuit="garage"), evse()])
    assert isinstance(cfg.circuits, tuple)
    assert [e.circuit for e in cfg.evses] == ["row", "garage", None]


def test_no_circuits_is_the_supply_alone() -> None:
    cfg = BalancingConfig(limit=63.0, evses=(evse(),))
    assert cfg.circuits == ()
    assert cfg.evses[0].circuit is None


@pytest.mark.parametrize(("kw", "message"), [
    ({"id": ""}, "non-empty string"),
    ({"limit": 0.0}, "positive number of A"),
    ({"limit": float("nan")}, "positive number"),
    ({"limit": True}, "positive number"),
    ({"unit": "kW"}, "unit must be 'A' or 'W'"),
    ({"parent": ""}, "parent must be None or a circuit id"),
    ({"metered": 1}, "metered must be True or False"),
])
def test_a_bad_circuit_is_refused(kw: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"id": "c", "limit": 32.0}
    base.update(kw)
    with pytest.raises(ValueError, match=message):
        CircuitConfig(**base)


def test_an_evse_circuit_must_be_an_id() -> None:
    with pytest.raises(ValueError, match="circuit must be None or a circuit id"):
        EvseConfig(max_current=16.0, circuit="")


def test_a_loop_is_refused_and_named() -> None:
    with pytest.raises(ValueError, match=r"loop \(a -> b -> a\)"):
        group(CircuitConfig("a", 32.0, parent="b"), CircuitConfig("b", 32.0, parent="a"),
              evses=(evse(16.0, circuit="a"),))
    with pytest.raises(ValueError, match="loop"):
        group(CircuitConfig("a", 32.0, parent="a"), evses=(evse(16.0, circuit="a"),))


def test_an_unknown_parent_is_refused() -> None:
    with pytest.raises(ValueError, match="its parent 'nowhere' is not a circuit"):
        group(CircuitConfig("a", 32.0, parent="nowhere"), evses=(evse(16.0, circuit="a"),))


def test_a_member_in_an_unknown_circuit_is_refused() -> None:
    with pytest.raises(ValueError, match="EVSE2: its circuit 'b' is not a circuit"):
        group(CircuitConfig("a", 32.0), evses=(evse(16.0, circuit="a"), evse(16.0, circuit="b")))
    with pytest.raises(ValueError, match="EVSE1: its circuit 'b' is not a circuit"):
        group(evses=(evse(16.0, circuit="b"),))  # no circuits at all


def test_a_duplicate_id_is_refused() -> None:
    with pytest.raises(ValueError, match="used twice"):
        group(CircuitConfig("a", 32.0), CircuitConfig("a", 20.0), evses=(evse(16.0, circuit="a"),))


def test_a_circuit_that_is_not_a_circuit_config_is_refused() -> None:
    with pytest.raises(ValueError, match="expected a CircuitConfig"):
        group({"id": "a"}, evses=(evse(16.0),))  # type: ignore[arg-type]


def test_a_circuit_without_members_or_children_is_refused() -> None:
    with pytest.raises(ValueError, match="'empty' has neither members nor circuits"):
        group(CircuitConfig("a", 32.0), CircuitConfig("empty", 32.0), evses=(evse(16.0, circuit="a"),))
    # a circuit with only a child circuit is fine
    group(CircuitConfig("a", 32.0), CircuitConfig("b", 20.0, parent="a"), evses=(evse(16.0, circuit="b"),))


@pytest.mark.parametrize(("circuits", "members", "problem", "circuit"), [
    ((CircuitConfig("a", 32.0), CircuitConfig("a", 20.0)), ("a",), "duplicate", "a"),
    ((CircuitConfig("a", 32.0, parent="x"),), ("a",), "parent", "a"),
    ((CircuitConfig("a", 32.0, parent="b"), CircuitConfig("b", 32.0, parent="a")), ("a",), "loop", "a"),
    ((CircuitConfig("a", 32.0),), ("a", "b"), "member", None),
    ((CircuitConfig("a", 32.0), CircuitConfig("b", 40.0, parent="a")), ("b",), "limit", "b"),
    ((CircuitConfig("a", 32.0), CircuitConfig("b", 20.0)), ("a",), "empty", "b"),
])
def test_each_refusal_names_its_problem_and_circuit(
    circuits: tuple[CircuitConfig, ...], members: tuple[str, ...], problem: str, circuit: str | None
) -> None:
    with pytest.raises(CircuitTreeError) as caught:
        group(*circuits, evses=tuple(evse(16.0, circuit=m) for m in members))
    assert (caught.value.problem, caught.value.circuit) == (problem, circuit)


def test_a_limit_above_the_parents_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'row': its limit \(50 A\) is above that of its parent 'garage' \(40 A\)"):
        group(CircuitConfig("garage", 40.0), CircuitConfig("row", 50.0, parent="garage"),
              evses=(evse(16.0, circuit="row"),))
    with pytest.raises(ValueError, match="above that of the supply"):
        group(CircuitConfig("garage", 101.0), evses=(evse(16.0, circuit="garage"),))
    group(CircuitConfig("garage", 100.0), evses=(evse(16.0, circuit="garage"),))  # equal is fine


def test_a_w_limit_is_compared_to_an_a_limit_with_voltage_and_phases() -> None:
    # 40 A × 230 V × 3 = 27,600 W
    ok = group(CircuitConfig("garage", 40.0), CircuitConfig("row", 27_600.0, unit="W", parent="garage"),
               evses=(evse(16.0, circuit="row"),))
    assert ok.circuits[1].unit == "W"
    with pytest.raises(ValueError, match="above that of its parent"):
        group(CircuitConfig("garage", 40.0), CircuitConfig("row", 27_700.0, unit="W", parent="garage"),
              evses=(evse(16.0, circuit="row"),))
    # an A child under a W parent; and a W supply (no current control) above an A circuit
    with pytest.raises(ValueError, match="above that of its parent"):
        group(CircuitConfig("garage", 11_000.0, unit="W"), CircuitConfig("row", 16.0, parent="garage"),
              evses=(evse(16.0, circuit="row"),))
    with pytest.raises(ValueError, match="above that of the supply"):
        group(CircuitConfig("garage", 16.0), evses=(evse(16.0, circuit="garage"),),
              limit=11_000.0, current_control=False)
    # W under W compares the numbers
    with pytest.raises(ValueError, match="above that of its parent"):
        group(CircuitConfig("a", 20_000.0, unit="W"), CircuitConfig("b", 20_001.0, unit="W", parent="a"),
              evses=(evse(16.0, circuit="b"),))


def test_layout_orders_parents_first_and_paths_go_up() -> None:
    cfg = group(CircuitConfig("row", 32.0, parent="garage"), CircuitConfig("garage", 40.0),
                CircuitConfig("office", 11_000.0, unit="W"),
                evses=(evse(16.0, circuit="row"), evse(), evse(16.0, circuit="office"), evse(16.0, circuit="garage")),
                reserve_margin=10.0)
    tree = layout(cfg, 3)
    assert [c.id for c in tree.circuits] == ["garage", "office", "row"]
    assert tree.base == (3, 6, 7) and tree.size == 7
    assert tree.path == ((2, 0), (), (1,), (0,))
    assert tree.budget[0] == pytest.approx(36.0)
    assert tree.budget[1] == pytest.approx(11_000.0 * 0.9 / 230.0)  # phase-amperes


def test_tree_from_dict_builds_circuits_and_members_in_priority_order() -> None:
    circuits, evses = tree_from_dict({
        "evses": [{"max_current": 32, "phases": 3}],
        "circuits": [{"id": "garage", "name": "Garage", "limit": 40, "meter": True,
                      "evses": [{"max_current": 16, "name": "G1"}],
                      "circuits": [{"id": "row", "limit": 11000, "unit": "W",
                                    "evses": [{"max_current": 16, "count": 3, "mode": "solar"}]}]}],
    })
    assert circuits == (CircuitConfig("garage", 40, metered=True, name="Garage"),
                        CircuitConfig("row", 11000, unit="W", parent="garage"))
    assert [(e.name, e.circuit, e.mode) for e in evses] == [
        ("supply 1", None, "fast"), ("G1", "garage", "fast"),
        ("row 3", "row", "solar"), ("row 4", "row", "solar"), ("row 5", "row", "solar")]
    cfg = BalancingConfig(limit=63.0, phases=3, circuits=circuits, evses=evses)
    assert len(cfg.evses) == 5


@pytest.mark.parametrize(("data", "message"), [
    ({"meters": []}, "unknown key"),
    ({"circuits": [{"id": "a", "limit": 10, "fuse": 3}]}, "unknown circuit key"),
    ({"circuits": [{"limit": 10}]}, "needs an id and a limit"),
    ({"circuits": {"id": "a"}}, "circuits must be a list"),
    ({"evses": [{"max_current": 16, "count": 0}]}, "count must be a whole number"),
    ({"evses": [{"max_current": 16, "amps": 3}]}, "unknown EVSE key"),
    ({"evses": [{"max_current": 16, "circuit": "a"}]}, "unknown EVSE key"),
    ({"evses": [{"max_current": -1}]}, "max_current must be a positive number"),
    ({"circuits": [{"id": "a", "limit": -3}]}, "positive number"),
])
def test_tree_from_dict_refuses_bad_input(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tree_from_dict(data)
