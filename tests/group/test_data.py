"""Balancing-group data: the schema's defaults and cross-field errors, member checks, keep-alive rules."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from homeassistant.config_entries import ConfigSubentry
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.balancing import CircuitConfig, EvseConfig
from custom_components.knx_evse.compat import vol
from custom_components.knx_evse.group.data import (
    GroupDataError,
    balancing_config,
    circuit_configs,
    circuit_problem,
    validate_group,
)
from custom_components.knx_evse.group.members import (
    charger_parameters,
    evse_config,
    keepalive_conflict,
    member_keepalive,
    member_problem,
)
from custom_components.knx_evse.knx.parameters import ChargerParameters
from tests.group.harness import CARPORT, GARAGE
from tests.knx_harness import all_group_addresses, charger_subentry

BASE: dict[str, Any] = {"name": "House", "meter_entities": "sensor.grid"}


def test_defaults_are_filled() -> None:
    data = validate_group({**BASE, "unknown_key": 1})
    assert data["meter_entities"] == ["sensor.grid"]  # a single entity id becomes a list
    assert "unknown_key" not in data
    assert (data["mode"], data["limit_mode"], data["limit"], data["phases"], data["reserve_margin"]) == (
        "balance", "current", 25.0, 1, 10.0
    )
    assert (data["keepalive"], data["meter_timeout"], data["update_interval"]) == (0.0, 30.0, 5.0)
    member = validate_group({**BASE, "members": [{"charger": "X", "connector": None}]})["members"][0]
    assert member == {"charger": "X", "connector": 0, "max_current": 32.0, "phase": 1, "mode": "fast"}


@pytest.mark.parametrize(
    ("changes", "key", "path"),
    [
        ({"meter_entities": ["a.b", "c.d"]}, "meter_count", ["meter_entities"]),
        ({"meter_entities": ["a.b", "a.b", "c.d"], "phases": 3}, "meter_count", ["meter_entities"]),
        ({"meter_entities": ["a.b", "c.d", "e.f"]}, "phase_meters_need_three_phases", ["phases"]),
        ({"mode": "bridge"}, "bridge_charger_missing", ["bridge_charger"]),
        ({"limit": 5}, "limit_out_of_range", ["limit"]),
        ({"limit_mode": "power", "limit": 500}, "limit_out_of_range", ["limit"]),
        ({"fallback_current": 40}, "fallback_out_of_range", ["fallback_current"]),
        ({"keepalive": 0.5}, "keepalive_out_of_range", ["keepalive"]),
        ({"members": [{"charger": "A", "connector": 1}, {"charger": "A", "connector": 1}]}, "member_overlap", ["members", 1]),
        ({"members": [{"charger": "A", "connector": 0}, {"charger": "A", "connector": 2}]}, "member_overlap", ["members", 1]),
        ({"members": [{"charger": "A", "phase": 2}]}, "member_phase", ["members", 0]),
        ({"circuits": [{"id": "c", "name": "C", "limit": 5}]}, "limit_out_of_range", ["circuits", 0, "limit"]),
        ({"circuits": [{"id": "c", "name": "C", "limit": 32, "unit": "W"}]}, "limit_out_of_range",
         ["circuits", 0, "limit"]),
        ({"circuits": [{"id": "c", "name": "C", "limit": 32, "meter": ["a.b", "c.d"]}]}, "meter_count",
         ["circuits", 0, "meter"]),
        ({"circuits": [{"id": "c", "name": "C", "limit": 32, "meter": ["a.b", "c.d", "e.f"]}]},
         "phase_meters_need_three_phases", ["circuits", 0, "meter"]),
    ],
)
def test_cross_field_errors_name_their_field(changes: dict[str, Any], key: str, path: list[Any]) -> None:
    with pytest.raises(vol.Invalid) as raised:
        validate_group({**BASE, **changes})
    error = raised.value.errors[0] if isinstance(raised.value, vol.MultipleInvalid) else raised.value
    assert isinstance(error, GroupDataError)
    assert error.key == key and error.path == path


def test_data_without_circuits_loads_unchanged_and_circuits_get_their_defaults() -> None:
    old = {**BASE, "members": [{"charger": "X", "connector": 1}]}
    data = validate_group(old)
    assert "circuits" not in data and "circuit" not in data["members"][0]
    assert circuit_problem(data) is None
    data = validate_group({**BASE, "circuits": [{"id": "c", "name": " Garage ", "limit": 16, "meter": "sensor.g"}],
                           "members": [{"charger": "X", "circuit": "c"}]})
    assert data["circuits"] == [
        {"id": "c", "name": "Garage", "limit": 16.0, "unit": "A", "parent": None, "meter": ["sensor.g"], "invert": False}
    ]
    assert data["members"][0]["circuit"] == "c"
    assert circuit_configs(data["circuits"]) == (CircuitConfig("c", 16.0, metered=True, name="Garage"),)


@pytest.mark.parametrize(
    ("circuits", "members", "problem", "circuit"),
    [
        ([{"id": "a", "name": "A", "limit": 16}], ["a"], None, None),
        ([{"id": "a", "name": "A", "limit": 30}], ["a"], "limit", "a"),  # above the 25 A supply
        ([{"id": "a", "name": "A", "limit": 5000, "unit": "W"}], ["a"], None, None),  # 21.7 A on 230 V
        ([{"id": "a", "name": "A", "limit": 6000, "unit": "W"}], ["a"], "limit", "a"),  # 26.1 A
        ([{"id": "a", "name": "A", "limit": 16, "parent": "b"}, {"id": "b", "name": "B", "limit": 16, "parent": "a"}],
         ["a"], "loop", "a"),
        ([{"id": "a", "name": "A", "limit": 16}, {"id": "b", "name": "B", "limit": 16}], ["a"], "empty", "b"),
        ([], ["gone"], "member", None),
    ],
)
def test_circuit_problem_is_the_cores_check(
    circuits: list[dict[str, Any]], members: list[str], problem: str | None, circuit: str | None
) -> None:
    data = validate_group({**BASE, "circuits": circuits, "members": [{"charger": "X", "circuit": m} for m in members]})
    found = circuit_problem(data)
    assert (found and found.problem, found and found.circuit) == (problem, circuit)


def test_balancing_config_takes_the_circuits() -> None:
    data = validate_group({**BASE, "circuits": [{"id": "a", "name": "A", "limit": 16}]})
    evse = EvseConfig(max_current=16.0, circuit="a")
    assert balancing_config(data, (evse,), circuit_configs(data["circuits"])).circuits[0].limit == 16.0


@pytest.mark.parametrize(("stored", "drawn"), [({}, False), ({"drawn_phases": True}, True)])
def test_drawn_phases_reaches_the_core_and_older_data_loads_as_off(stored: dict[str, Any], drawn: bool) -> None:
    data = validate_group({**BASE, **stored})
    assert data["drawn_phases"] is drawn
    assert balancing_config(data, (EvseConfig(max_current=16.0),)).drawn_phases is drawn


@pytest.mark.parametrize("connector", [3, "x", -1])
def test_bad_connector(connector: Any) -> None:
    with pytest.raises(vol.Invalid):
        validate_group({**BASE, "members": [{"charger": "A", "connector": connector}]})


def _entry(*subentries: Any) -> MockConfigEntry:
    return MockConfigEntry(domain="knx_evse", subentries_data=list(subentries))


@pytest.mark.parametrize(
    ("member", "supply", "problem"),
    [
        ({"charger": "CHG2", "connector": 0, "max_current": 32}, 1, None),
        ({"charger": "1.1.2", "connector": 0, "max_current": 32}, 1, None),  # by individual address
        ({"charger": "CHG9", "connector": 0, "max_current": 16}, 1, "charger_missing"),
        ({"charger": "CHG2", "connector": 2, "max_current": 16}, 1, "connector_missing"),
        ({"charger": "CHG1", "connector": 1, "max_current": 20}, 1, "max_above_user_current"),
        ({"charger": "CHG3", "connector": 0, "max_current": 16}, 1, "charger_missing"),  # invalid parameters
    ],
)
def test_member_problem(member: dict[str, Any], supply: int, problem: str | None) -> None:
    broken = charger_subentry("CHG3", "Broken", {"max_user_current": 99}, {}, main=3)
    entry = _entry(charger_subentry("CHG1", "Garage", GARAGE), charger_subentry("CHG2", "Carport", CARPORT, main=2), broken)
    assert member_problem(entry, member, supply) == problem


TWO_PHASE: dict[str, Any] = {**GARAGE, "phase_connection": "different"}
VE_222: dict[str, Any] = {"phases": 3, "connectors": 2, "max_user_current": 16}


def _two_connector_entry() -> MockConfigEntry:
    """VE 222 (CHG1), two-phase VE 742 (CHG2), the same without connector 2's measurement (CHG3), a VE 742 of 10 A (CHG4)."""
    blind = {n: gas for n, gas in all_group_addresses(TWO_PHASE, 3).items() if n not in ("96", "97")}
    return _entry(
        charger_subentry("CHG1", "Carport", VE_222, model="VE 222"),
        charger_subentry("CHG2", "Garage", TWO_PHASE, main=2),
        charger_subentry("CHG3", "Barn", TWO_PHASE, blind, main=3),
        charger_subentry("CHG4", "Shed", {**GARAGE, "max_user_current": 10}, main=4),
    )


@pytest.mark.parametrize(
    ("member", "supply", "problem"),
    [
        ({"charger": "CHG1", "connector": 0, "max_current": 12}, 3, None),
        ({"charger": "CHG1", "connector": 0, "max_current": 11}, 3, "max_below_two_vehicles"),
        ({"charger": "CHG1", "connector": 1, "max_current": 6}, 3, None),  # one connector: one vehicle
        ({"charger": "CHG2", "connector": 0, "max_current": 6}, 3, None),  # two phases: no split
        ({"charger": "CHG2", "connector": 0, "max_current": 16}, 1, "two_phase_member_on_single_phase"),
        ({"charger": "CHG2", "connector": 2, "max_current": 16}, 1, None),
        ({"charger": "CHG3", "connector": 0, "max_current": 16}, 3, "two_phase_member_no_measurement"),
        ({"charger": "CHG3", "connector": 1, "max_current": 16}, 3, None),
        ({"charger": "CHG4", "connector": 0, "max_current": 10}, 1, "max_below_two_vehicles"),
        ({"charger": "CHG4", "connector": 2, "max_current": 10}, 1, None),
    ],
)
def test_member_problem_of_two_connector_chargers(member: dict[str, Any], supply: int, problem: str | None) -> None:
    assert member_problem(_two_connector_entry(), member, supply) == problem


@pytest.mark.parametrize(
    ("parameters", "connector", "supply", "phases", "phase"),
    [
        (GARAGE, 1, 3, 1, 3),  # a single-phase member on its supply phase
        (GARAGE, 0, 3, 1, 3),  # both connectors on one phase, one limit split between them
        (VE_222, 0, 3, 3, 3),  # phase rotation: the charger's L1 on the supply's L3
        (TWO_PHASE, 0, 3, 2, 3),  # connector 1 on L3, connector 2 on L1
        (TWO_PHASE, 2, 3, 1, 3),
        (GARAGE, 1, 1, 1, 1),  # a single-phase supply has only L1
    ],
)
def test_evse_config_phases_and_first_phase(
    parameters: dict[str, Any], connector: int, supply: int, phases: int, phase: int
) -> None:
    member = {"charger": "CHG1", "connector": connector, "max_current": 16, "phase": 3, "mode": "fast"}
    evse = evse_config(member, ChargerParameters.from_dict(parameters), supply, "m", None)
    assert evse == EvseConfig(max_current=16.0, phases=phases, phase=phase, mode="fast", name="m")
    evse = evse_config({**member, "circuit": "row"}, ChargerParameters.from_dict(parameters), supply, "m", None)
    assert evse.circuit == "row"


def test_invalid_parameters_are_none() -> None:
    subentry = ConfigSubentry(
        data=MappingProxyType({"parameters": {"phases": 7}}), subentry_type="charger", title="x", unique_id=None
    )
    assert charger_parameters(subentry) is None


def test_keep_alive_rules() -> None:
    assert member_keepalive(0, None) is None  # automatic, no fail-safe: no repeated identical writes
    assert member_keepalive(30, None) == 30
    assert member_keepalive(0, 20) == 10  # half the fail-safe timeout
    assert member_keepalive(45, 20) == 10
    assert member_keepalive(5, 20) == 5
    assert member_keepalive(0, 1) == 1.0  # never below 1 s
    assert keepalive_conflict(0, {"Garage": 20}) is None  # automatic is always in time
    assert keepalive_conflict(19, {"Garage": 20}) is None
    assert keepalive_conflict(20, {"Garage": 20, "Carport": 60}) == ("Garage", 20)
    assert keepalive_conflict(45, {"Garage": 60, "Carport": 30}) == ("Carport", 30)


def test_the_demo_installation_group_is_valid_and_its_members_resolve() -> None:
    from pathlib import Path

    from simulator.installation import load_installation

    demo = load_installation(Path(__file__).parents[2] / "simulator" / "installations" / "demo.yaml")
    entry = _entry(
        *(
            charger_subentry(f"CHG{n}", charger["name"], charger["parameters"], charger["group_addresses"], main=n)
            for n, charger in enumerate(demo.chargers, start=1)
        )
    )
    for n, charger in enumerate(demo.chargers, start=1):  # charger_subentry numbers the addresses 1.1.n
        assert charger["individual_address"] == f"1.1.{n}"
    (group,) = demo.extra["balancing_groups"]
    data = validate_group(group)
    assert data["meter_entities"] == ["sensor.grid_l1_current", "sensor.grid_l2_current", "sensor.grid_l3_current"]
    assert data["phases"] == 3
    assert [member_problem(entry, m, data["phases"]) for m in data["members"]] == [None, None, None]
    assert "solar" in [m["mode"] for m in data["members"]]
