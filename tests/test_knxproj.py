"""knxproj.py: reading chargers out of ETS projects (fixture built by tests/fixtures/make_charger_knxproj.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from custom_components.knx_evse.knx.knxproj import (
    SEARCHED_FOR,
    ProjectError,
    derive_model,
    derive_parameters,
    dpt_compatible,
    find_chargers,
    find_dpt_clashes,
    parse_project,
    project_dpts,
    summarize,
)
from custom_components.knx_evse.knx.parameters import ChargerParameters
from tests.fixtures import make_charger_knxproj as gen

FIXTURES = Path(__file__).parent / "fixtures"
PLAIN = FIXTURES / "charger_project.knxproj"
PROTECTED = FIXTURES / "charger_project_protected.knxproj"
REAL_PROJECT = Path("/work/shared/data/knxproj/xknx_test_project_no_password.knxproj")


@pytest.fixture(scope="module")
def project() -> dict:
    return parse_project(PLAIN)


def test_committed_fixtures_match_the_generator(tmp_path: Path) -> None:
    """The committed .knxproj holds exactly what the generator writes today."""
    rebuilt = gen.build_plain(tmp_path / "p.knxproj")
    with zipfile.ZipFile(PLAIN) as old, zipfile.ZipFile(rebuilt) as new:
        assert sorted(old.namelist()) == sorted(new.namelist())
        for name in old.namelist():
            assert old.read(name) == new.read(name), name


def test_finds_the_chargers_and_not_the_actuator(project: dict) -> None:
    chargers = {c.individual_address: c for c in find_chargers(project)}
    assert set(chargers) == {"1.1.10", "1.1.11", "1.1.12"}  # 1.1.1 is a switch actuator

    garage = chargers["1.1.10"]
    assert garage.matched_by == "product"
    assert garage.model == "VE 742"
    assert garage.name == "Cargador VE Maestro"
    assert garage.order_number == "VE 742 M05"
    assert garage.links == gen.GARAGE_LINKS
    assert garage.links[33] == ["1/1/1", "1/1/10"]  # first link = sending address

    yard = chargers["1.1.11"]
    assert yard.matched_by == "object_names"
    assert yard.model == "VE 222"  # L1-L3 currents and connector 2 objects
    assert yard.links == gen.YARD_LINKS

    barn = chargers["1.1.12"]
    assert barn.model is None  # L1 current (three-phase) and balancing (single-phase): ambiguous
    assert barn.name == "Wallbox 22 KNX"  # no name in ETS: the product name


def test_protected_project_needs_its_password() -> None:
    with pytest.raises(ProjectError) as err:
        parse_project(PROTECTED)
    assert err.value.reason == "invalid_password"
    with pytest.raises(ProjectError) as err:
        parse_project(PROTECTED, "wrong")
    assert err.value.reason == "invalid_password"
    chargers = find_chargers(parse_project(PROTECTED, gen.PROTECTED_PASSWORD))
    assert [c.individual_address for c in chargers] == ["1.1.10", "1.1.11", "1.1.12"]


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_not_a_project(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.knxproj"
    path.write_bytes(content)
    with pytest.raises(ProjectError) as err:
        parse_project(path)
    assert err.value.reason == "invalid_project"


def test_corrupt_project(tmp_path: Path) -> None:
    path = tmp_path / "broken.knxproj"
    with zipfile.ZipFile(PLAIN) as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name)[:200] if name.endswith("0.xml") else src.read(name))
    with pytest.raises(ProjectError) as err:
        parse_project(path)
    assert err.value.reason == "invalid_project"


def test_real_project_without_charger() -> None:
    if not REAL_PROJECT.exists():
        pytest.skip("real ETS project not available")
    project = parse_project(REAL_PROJECT)
    assert project["devices"]  # it has devices, just no charger
    assert find_chargers(project) == []
    assert "Dinuy" in SEARCHED_FOR
    assert "VE 742" in SEARCHED_FOR


def test_derive_model() -> None:
    assert derive_model([33, 48]) == "VE 741"
    assert derive_model([33, 48, 82]) == "VE 742"
    assert derive_model([15, 33]) == "VE 221"
    assert derive_model([49, 98]) == "VE 222"
    assert derive_model([130, 33]) == "VE 741"  # balancing exists on single-phase models only
    assert derive_model([33]) is None
    assert derive_model([15, 14]) is None


def test_derive_parameters_from_links() -> None:
    params = derive_parameters(gen.GARAGE_LINKS, "VE 742")
    assert params["phases"] == 1
    assert params["connectors"] == 2
    assert params["reset_object"] is True
    assert params["error_objects"] is True
    assert params["session_objects"] is False
    assert params["conn1_individual_status"] is True
    assert params["conn2_individual_status"] is False
    assert params["conn2_ocpp_state"] is True
    assert params["load_balancing"] is True
    assert params["balancing_current_control"] is True
    assert params["balancing_evse_count"] == 2

    power = derive_parameters({131: ["1/0/1"], 134: ["1/0/2"], 181: ["1/0/3"]}, "VE 741")
    assert power["balancing_current_control"] is False
    assert power["balancing_evse_count"] == 4
    fail_safe = derive_parameters({10: ["1/0/1"]}, "VE 741")
    assert fail_safe["fail_safe"] is True
    assert fail_safe["fail_safe_objects"] is True


def test_summary_of_the_garage_charger(project: dict) -> None:
    garage = next(c for c in find_chargers(project) if c.individual_address == "1.1.10")
    params = ChargerParameters.from_dict(derive_parameters(garage.links, "VE 742"))
    summary = summarize(garage.links, params, project_dpts(project))
    assert summary.mapped == sorted(gen.GARAGE_LINKS)
    assert summary.ignored == []
    assert summary.dpt_clashes == []
    assert 2 in summary.not_linked  # [EVSE] Active Power limit exists on every model but is not linked
    assert 34 not in summary.not_linked  # pilot state is off: no object 34 linked

    # The same links on a one-connector model: the connector-2 objects are left out.
    single = ChargerParameters.from_dict(derive_parameters(garage.links, "VE 741"))
    assert summarize(garage.links, single, {}).ignored == [82, 84, 94, 95]


def test_dpt_clash_of_the_yard_charger(project: dict) -> None:
    yard = next(c for c in find_chargers(project) if c.individual_address == "1.1.11")
    params = ChargerParameters.from_dict(derive_parameters(yard.links, "VE 222"))
    summary = summarize(yard.links, params, project_dpts(project))
    assert summary.dpt_clashes == [(45, "2/1/5", "1.001", "7.005")]


def test_dpt_compatibility() -> None:
    assert dpt_compatible(None, "14.019")
    assert dpt_compatible({"main": 14, "sub": 19}, "14.019")
    assert dpt_compatible({"main": 14, "sub": None}, "14.019")
    assert not dpt_compatible({"main": 14, "sub": 56}, "14.019")  # W on an A object
    assert not dpt_compatible({"main": 9, "sub": 1}, "14.019")
    assert dpt_compatible({"main": 1, "sub": 1}, "1.010")  # 1-bit flavours carry the same bit
    assert dpt_compatible({"main": 20, "sub": 1219}, "20.1219")
    assert not dpt_compatible({"main": 20, "sub": 102}, "20.1219")


def test_clash_between_two_objects_of_one_address() -> None:
    # 1/0/1 on "[EVSE] Current limit" (14.019) and "[EVSE] Active Power limit" (14.056): A vs W.
    assert find_dpt_clashes({1: ["1/0/1"], 2: ["1/0/1"]}, {}) == [(2, "1/0/1", "14.019", "14.056")]
    # 0/0/2 shared by objects 14 and 133 (both 14.019), as in the manual's worked example: fine.
    assert find_dpt_clashes({14: ["0/0/2"], 133: ["0/0/2"]}, {}) == []
    # Free-style and 2-level spellings of one address are the same address.
    assert find_dpt_clashes({1: ["2049"], 5: ["1/1"]}, {}) == [(5, "1/1", "14.019", "1.015")]
