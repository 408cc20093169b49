"""The circuit steps of the balancing-group flow: add, edit, remove, each refusal, reconfigure."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.const import SUBENTRY_BALANCING
from custom_components.knx_evse.group.data import validate_group
from tests.config_flow.helpers import check_translations, config_dir, form_values, mock_setup
from tests.config_flow.test_balancing import _add, _default, _start, entry

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "entry", "mock_setup"]


async def _form(hass: HomeAssistant, result: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], form_values(result, **changes))


async def _menu(hass: HomeAssistant, result: dict[str, Any], option: str) -> dict[str, Any]:
    assert result["type"] is FlowResultType.MENU and result["step_id"] == "circuits"
    assert option in result["menu_options"]
    return await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": option})


async def _to_circuits(hass: HomeAssistant, entry: MockConfigEntry, phases: str = "1") -> dict[str, Any]:
    """House, 25 A: Garage connector 1 (priority 1) and Carport; then the circuits menu."""
    result = await _start(hass, entry)
    result = await _form(hass, result, name="House", mode="balance")
    result = await _form(hass, result, meter_entities=["sensor.grid"], invert=False)
    result = await _form(hass, result, limit=25, phases=phases)
    result = await _form(hass, result)
    result = await _form(hass, result, members=["CHG1:1", "CHG2:0"])
    result = await _form(hass, result, priority=1, max_current=16, mode="fast")
    result = await _form(hass, result, priority=2, max_current=32, mode="fast")
    assert result["type"] is FlowResultType.MENU and result["menu_options"] == ["circuit_add", "circuits_done"]
    return result


async def _circuit_ids(hass: HomeAssistant, result: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The circuits' ids by name, read from the edit step's choices; back to the menu unchanged."""
    result = await _menu(hass, result, "circuit_pick")
    options = {o["label"]: o["value"] for o in result["data_schema"].schema["circuit"].config["options"]}
    result = await _form(hass, result, circuit=next(iter(options.values())))
    return options, await _form(hass, result)


async def _add_circuit(hass: HomeAssistant, result: dict[str, Any], **values: Any) -> dict[str, Any]:
    result = await _menu(hass, result, "circuit_add")
    assert result["step_id"] == "circuit"
    return await _form(hass, result, **values)


async def test_circuits_added_with_their_members_are_stored(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, name="Garage board", limit=20, meter=["sensor.l1"], members=["CHG1:1"])
    assert result["menu_options"] == ["circuit_add", "circuit_pick", "circuit_remove", "circuits_done"]
    assert result["description_placeholders"] == {"circuits": "Garage board"}
    ids, result = await _circuit_ids(hass, result)
    gb = ids["Garage board"]
    result = await _add_circuit(hass, result, name="Row", limit=4000, unit="W", parent=gb, members=["CHG2:0"])
    result = await _menu(hass, result, "circuits_done")
    assert result["step_id"] == "timing"
    result = await _form(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data == validate_group(data)
    board, row = data["circuits"]
    assert (board["name"], board["limit"], board["unit"], board["parent"], board["meter"]) == (
        "Garage board", 20.0, "A", None, ["sensor.l1"]
    )
    assert (row["name"], row["limit"], row["unit"], row["parent"], row["meter"]) == ("Row", 4000.0, "W", gb, [])
    assert [m["circuit"] for m in data["members"]] == [gb, row["id"]]


async def test_without_circuits_the_members_hang_under_the_supply(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _menu(hass, await _to_circuits(hass, entry), "circuits_done")
    result = await _form(hass, result)
    assert result["data"]["circuits"] == [] and [m["circuit"] for m in result["data"]["members"]] == [None, None]


@pytest.mark.parametrize(
    ("values", "field", "error"),
    [
        ({"name": "  "}, "name", "name_missing"),
        ({"meter": ["sensor.temperature"]}, "meter", "meter_unit"),
        ({"meter": ["sensor.nowhere"]}, "meter", "meter_not_found"),
        ({"meter": ["sensor.l1", "sensor.l2"]}, "meter", "meter_count"),
        ({"meter": ["sensor.l1", "sensor.l2", "sensor.l3"]}, "meter", "phase_meters_need_three_phases"),
        ({"limit": 5}, "limit", "limit_out_of_range"),
        ({"limit": 900, "unit": "W"}, "limit", "limit_out_of_range"),
        ({"limit": 30}, "limit", "circuit_limit_above_parent"),  # the supply has 25 A
        ({"limit": 6000, "unit": "W"}, "limit", "circuit_limit_above_parent"),  # 26.1 A at 230 V
    ],
)
async def test_a_bad_circuit_is_refused_with_a_translated_error(
    hass: HomeAssistant, entry: MockConfigEntry, values: dict[str, Any], field: str, error: str
) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, **{"name": "Board", "limit": 16, "members": ["CHG1:1"], **values})
    assert result["step_id"] == "circuit" and result["errors"] == {field: error}
    result = await _form(hass, result, name="Board", limit=16, unit="A", meter=[])  # fixed: nothing lost
    assert result["type"] is FlowResultType.MENU


async def test_a_duplicate_name_a_loop_and_a_child_above_its_parent_are_refused(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, name="Board", limit=20)
    ids, result = await _circuit_ids(hass, result)
    board = ids["Board"]
    result = await _add_circuit(hass, result, name="Board", limit=10)
    assert result["errors"] == {"name": "circuit_name_taken"}
    result = await _form(hass, result, name="Row", parent=board, limit=25)
    assert result["errors"] == {"limit": "circuit_limit_above_parent"}
    assert result["description_placeholders"]["circuit"] == "Row"
    result = await _form(hass, result, name="Row", parent=board, limit=10, members=["CHG1:1"])
    # the Board hung in the Row: a loop
    result = await _menu(hass, result, "circuit_pick")
    options = {o["label"]: o["value"] for o in result["data_schema"].schema["circuit"].config["options"]}
    result = await _form(hass, result, circuit=options["Board"])
    assert _default(result, "name") == "Board" and _default(result, "limit") == 20
    result = await _form(hass, result, parent=options["Row"])
    assert result["errors"] == {"parent": "circuit_loop"}
    # a parent lowered below its child: the error names the child
    result = await _form(hass, result, parent="supply", limit=8)
    assert result["errors"] == {"limit": "circuit_limit_above_parent"}
    assert result["description_placeholders"]["circuit"] == "Row"


async def test_done_opens_an_empty_circuit_with_its_error(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, name="Board", limit=20, members=[])
    result = await _menu(hass, result, "circuits_done")
    assert result["step_id"] == "circuit" and result["errors"] == {"members": "circuit_empty"}
    assert result["description_placeholders"]["circuit"] == "Board"
    result = await _form(hass, result, members=["CHG2:0"])
    result = await _menu(hass, result, "circuits_done")
    assert result["step_id"] == "timing"


async def test_a_member_picked_for_a_circuit_leaves_its_old_one(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, name="A", limit=20, members=["CHG1:1", "CHG2:0"])
    result = await _add_circuit(hass, result, name="B", limit=20, members=["CHG2:0"])
    result = await _menu(hass, result, "circuit_pick")
    options = {o["label"]: o["value"] for o in result["data_schema"].schema["circuit"].config["options"]}
    result = await _form(hass, result, circuit=options["A"])
    assert _default(result, "members") == ["CHG1:1"]  # the Carport is in B now
    result = await _form(hass, result, members=[])  # and the Garage leaves A too
    result = await _menu(hass, result, "circuits_done")
    assert result["errors"] == {"members": "circuit_empty"}


async def test_removing_a_circuit_moves_its_members_and_circuits_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_circuits(hass, entry)
    result = await _add_circuit(hass, result, name="Board", limit=20, members=["CHG1:1"])
    ids, result = await _circuit_ids(hass, result)
    board = ids["Board"]
    result = await _add_circuit(hass, result, name="Row", limit=10, parent=board, members=["CHG2:0"])
    result = await _add_circuit(hass, result, name="Shed", limit=10, members=[])
    result = await _menu(hass, result, "circuit_remove")
    options = {o["label"]: o["value"] for o in result["data_schema"].schema["circuit"].config["options"]}
    result = await _form(hass, result, circuit=options["Shed"])  # no members: nothing moves
    result = await _menu(hass, result, "circuit_remove")
    result = await _form(hass, result, circuit=options["Board"])
    assert result["description_placeholders"] == {"circuits": "Row"}
    result = await _form(hass, await _menu(hass, result, "circuits_done"))
    (row,) = result["data"]["circuits"]
    assert row["parent"] is None
    assert [m["circuit"] for m in result["data"]["members"]] == [None, row["id"]]


async def test_reconfigure_keeps_the_circuits_and_the_members_in_them(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    stored = validate_group({
        "name": "House", "meter_entities": ["sensor.grid"], "limit": 25,
        "circuits": [{"id": "gb", "name": "Board", "limit": 20, "meter": ["sensor.l1"]},
                     {"id": "gone", "name": "Gone", "limit": 10}],
        "members": [{"charger": "CHG1", "connector": 1, "max_current": 16, "circuit": "gb"},
                    {"charger": "CHG2", "connector": 0, "max_current": 32, "circuit": "nowhere"}],
    })
    subentry = _add(hass, entry, {"data": stored, "subentry_type": SUBENTRY_BALANCING, "title": "House",
                                  "unique_id": "House", "subentry_id": "GRP"})
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _form(hass, result)  # name
    result = await _form(hass, result)  # meter
    result = await _form(hass, result, limit=10)  # the supply lowered below the Board's 20 A
    for _ in range(4):  # site, the same members, each member
        result = await _form(hass, result)
    assert result["description_placeholders"] == {"circuits": "Board, Gone"}
    result = await _menu(hass, result, "circuit_remove")
    result = await _form(hass, result, circuit="gone")
    result = await _menu(hass, result, "circuits_done")
    assert result["step_id"] == "circuit" and result["errors"] == {"limit": "circuit_limit_above_parent"}
    assert _default(result, "members") == ["CHG1:1"] and _default(result, "name") == "Board"
    result = await _form(hass, result, limit=10)
    result = await _form(hass, await _menu(hass, result, "circuits_done"))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    data = entry.subentries["GRP"].data
    assert [c["id"] for c in data["circuits"]] == ["gb"] and data["circuits"][0]["limit"] == 10.0
    assert [m["circuit"] for m in data["members"]] == ["gb", None]  # an unknown circuit is dropped
