"""Installation files: subentry data for both sides, generated addresses, links, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from custom_components.knx_evse.const import CONF_GROUP_ADDRESSES, CONF_PARAMETERS
from custom_components.knx_evse.knx.group_addresses import validate_group_addresses
from custom_components.knx_evse.knx.parameters import ChargerParameters
from simulator.installation import (
    INSTALLATIONS_DIR,
    InstallationError,
    default_group_addresses,
    load_installation,
    parse_installation,
)

SUBENTRY_KEYS = {"name", "individual_address", "model", "parameters", "group_addresses"}


def test_demo_has_a_ve742_and_a_ve222() -> None:
    demo = load_installation(INSTALLATIONS_DIR / "demo.yaml")
    assert [(c["name"], c["model"]) for c in demo.chargers] == [("Garage", "VE 742"), ("Carport", "VE 222")]
    garage, carport = demo.chargers
    assert (garage[CONF_PARAMETERS]["phases"], garage[CONF_PARAMETERS]["connectors"]) == (1, 2)
    assert (carport[CONF_PARAMETERS]["phases"], carport[CONF_PARAMETERS]["connectors"]) == (3, 2)
    assert len(demo.evs) >= 3
    assert demo.meter.current_ga == "0/1/1"
    assert demo.simulation["Garage"].rfid_tags == ("CARD-0001", "CARD-0002")


@pytest.mark.parametrize("name", ["demo", "builtin_master"])
def test_charger_entries_are_exactly_subentry_data(name: str) -> None:
    installation = load_installation(name)
    for entry in installation.chargers:
        assert set(entry) == SUBENTRY_KEYS
        params = ChargerParameters.from_dict(entry[CONF_PARAMETERS])
        assert params.as_dict() == entry[CONF_PARAMETERS]  # complete, round-trips unchanged
        assert validate_group_addresses(entry[CONF_GROUP_ADDRESSES], params.enabled_objects())
        assert all(isinstance(k, str) for k in entry[CONF_GROUP_ADDRESSES])
        yaml.safe_dump(entry)  # plain data only


def test_default_group_addresses() -> None:
    params = ChargerParameters.from_dict({"connectors": 2, "conn2_pilot_state": True})
    gas = default_group_addresses(params, 4)
    assert gas["31"] == ["4/0/31"]
    assert gas["83"] == ["4/0/83"]
    assert set(gas) == {str(n) for n in params.enabled_objects()}
    assert default_group_addresses(params, 4) == gas
    with pytest.raises(ValueError):
        default_group_addresses(params, 0)


def test_chargers_get_their_own_main_group() -> None:
    demo = load_installation("demo")
    assert demo.charger("Garage")[CONF_GROUP_ADDRESSES]["31"] == ["1/0/31"]
    assert demo.charger("Carport")[CONF_GROUP_ADDRESSES]["31"] == ["2/0/31"]
    with pytest.raises(KeyError):
        demo.charger("nope")


def test_builtin_master_is_linked_like_the_manuals_example() -> None:
    gas = load_installation("builtin_master").charger("EVSE1")[CONF_GROUP_ADDRESSES]
    assert gas["130"] == ["0/1/1"]  # the meter
    assert gas["133"] == ["1/0/14"]  # EVSE1 reading: its own object 14
    assert gas["135"] == ["1/0/1"]  # EVSE1 limit: its own object 1
    assert gas["148"] == ["2/0/14"]
    assert gas["150"] == ["2/0/1"]
    assert gas["152"] == ["2/0/18"]
    assert gas["167"] == ["3/0/18"]


def base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "chargers": [{"name": "A", "model": "VE 741"}],
        "evs": [{"name": "car", "charger": "A", "arrive": "17:00", "depart": "07:00"}],
    }
    data.update(overrides)
    return data


def test_minimal_installation_gets_defaults() -> None:
    installation = parse_installation(base())
    assert installation.chargers[0]["individual_address"] == "1.1.1"
    assert installation.house.annual_kwh == 4000
    assert installation.meter.update_period == 2.0
    assert installation.evs[0].arrive.hour == 17
    assert installation.builtin_balancing is None


def test_unquoted_yaml_times_are_understood(tmp_path: Path) -> None:
    file = tmp_path / "inst.yaml"
    file.write_text(
        "chargers: [{name: A, model: VE 741}]\nevs: [{name: c, charger: A, arrive: 17:30, depart: 07:15}]\n",
        encoding="utf-8",
    )
    plan = load_installation(file).evs[0]
    assert (plan.arrive.hour, plan.arrive.minute, plan.depart.hour, plan.depart.minute) == (17, 30, 7, 15)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (base(chargers=[]), "at least one charger"),
        (base(chargers=[{"name": "A", "model": "VE 999"}]), "unknown model"),
        (base(chargers=[{"name": "A", "model": "VE 741", "parameters": {"phases": 3}}]), "phases=1"),
        (
            base(chargers=[{"name": "A", "model": "VE 741", "parameters": {"max_user_current": 3}}]),
            "parameters",
        ),
        (base(chargers=[{"name": "A"}, {"name": "A"}]), "duplicate name"),
        (base(chargers=[{"name": "A", "group_addresses": {"80": ["1/0/80"]}}]), "80"),
        (base(chargers=[{"name": "A", "group_addresses": {"31": ["nonsense"]}}]), "group_addresses"),
        (base(evs=[{"name": "car", "charger": "B"}]), "no charger 'B'"),
        (base(evs=[{"name": "car", "charger": "A", "connector": 2}]), "no connector 2"),
        (base(evs=[{"name": "car", "charger": "A", "soc": 3}]), "0-1"),
        (base(evs=[{"name": "car", "charger": "A", "arrive": "late"}]), "not a time"),
        (base(house={"occupants": 9}), "house"),
        (base(meter={"update_period": 0}), "update_period"),
        (base(builtin_balancing={"master": "A", "evses": ["A"]}), "load_balancing"),
        (base(start="yesterday"), "ISO"),
    ],
)
def test_errors_name_the_entry(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InstallationError, match=message):
        parse_installation(data)


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_installation(tmp_path / "missing.yaml")
