"""The demo's car park (simulator/installations/carpark.yaml): its chargers, its circuits and its meters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.knx_evse.group.data import circuit_problem, validate_group
from simulator.group_tree import flatten_group, meter_entity
from simulator.installation import InstallationError, load_installation, parse_installation
from simulator.runner import Simulation, write_meter_file


@pytest.fixture(scope="module")
def carpark():
    return load_installation("carpark")


def test_twelve_chargers_of_the_four_models_with_their_own_addresses(carpark) -> None:
    assert len(carpark.chargers) == 12
    assert {c["model"] for c in carpark.chargers} == {"VE 741", "VE 742", "VE 221", "VE 222"}
    assert len({c["individual_address"] for c in carpark.chargers}) == 12
    addresses = [a for c in carpark.chargers for gas in c["group_addresses"].values() for a in gas]
    assert len(addresses) == len(set(addresses))


def test_two_circuits_every_member_in_one_and_the_group_data_accepted(carpark) -> None:
    (group,) = carpark.extra["balancing_groups"]
    data = validate_group(group)
    assert circuit_problem(data) is None
    circuits = {c["id"]: c for c in data["circuits"]}
    assert sorted(circuits) == ["garage", "row"]
    assert circuits["garage"]["meter"] == [meter_entity("Garage board", n) for n in (1, 2, 3)]
    assert circuits["row"]["meter"] == []
    assert all(m["circuit"] in circuits for m in data["members"])
    by_address = {c["individual_address"]: c for c in carpark.chargers}
    members = {(m["charger"], m["connector"]) for m in data["members"]}
    assert len(members) == len(data["members"])
    for address, charger in by_address.items():  # every charger (or each of its connectors) is a member
        connectors = int(charger["parameters"]["connectors"])
        assert members & {(address, 0), *((address, n) for n in range(1, connectors + 1))}
    for member in data["members"]:  # the member's phase is where the simulator wires the charger
        name = by_address[member["charger"]]["name"]
        assert member["phase"] == carpark.simulation[name].phase


def test_the_simulated_garage_meter_counts_its_chargers_and_other_load(carpark, tmp_path: Path) -> None:
    (meter,) = carpark.circuit_meters
    assert (meter.id, meter.other_load) == ("garage", 2.0)
    assert meter.chargers == ("Bay 1", "Bay 2", "Bay 3", "Bay 4", "Bay 5", "Bay 6")
    sim = Simulation(carpark)
    sim.step(60)
    expected = [2.0, 2.0, 2.0]
    for name in meter.chargers:
        for k, amps in enumerate(sim.chargers[name].phase_currents()):
            expected[k] += amps
    reading = sim.circuit_readings()["garage"]
    assert [reading[f"l{n}_a"] for n in (1, 2, 3)] == pytest.approx(expected, abs=0.01)
    assert max(expected) > 2.0  # cars are charging at 08:01
    assert sim.reading is not None
    write_meter_file(tmp_path / "m.json", sim.reading, sim.circuit_readings())
    assert json.loads((tmp_path / "m.json").read_text())["circuits"]["garage"] == reading


def test_a_tree_is_flattened_depth_first_with_parents() -> None:
    chargers = ({"name": "A", "individual_address": "1.1.1"}, {"name": "B", "individual_address": "1.1.2"})
    raw = {"name": "G", "tree": {"members": [{"charger": "A"}], "circuits": [
        {"id": "top", "limit": 40, "meter": "simulated",
         "circuits": [{"id": "sub", "limit": 20, "members": [{"charger": "1.1.2", "connector": 1}]}]}]}}
    data, meters = flatten_group(raw, chargers)
    assert [(c["id"], c["parent"]) for c in data["circuits"]] == [("top", None), ("sub", "top")]
    assert [(m["charger"], m["circuit"]) for m in data["members"]] == [("1.1.1", None), ("1.1.2", "sub")]
    assert meters[0].chargers == ("B",)
    assert "tree" not in data


def test_a_member_on_an_unknown_charger_is_refused() -> None:
    raw = {"chargers": [{"name": "A"}], "balancing_groups": [
        {"name": "G", "tree": {"circuits": [{"id": "c", "limit": 16, "members": [{"charger": "Nope"}]}]}}]}
    with pytest.raises(InstallationError, match=r"balancing_groups\[0\].*Nope"):
        parse_installation(raw)
