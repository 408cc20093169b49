"""Balancing-group subentry flow: every step, its translated errors, bridge mode and reconfigure."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.config_flow import SUBENTRY_FLOWS
from custom_components.knx_evse.config_flow.balancing import BalancingGroupSubentryFlow
from custom_components.knx_evse.const import SUBENTRY_BALANCING
from custom_components.knx_evse.group.data import validate_group
from tests.config_flow.helpers import check_translations, config_dir, form_values, hub_entry, mock_setup
from tests.group.harness import CARPORT, GARAGE
from tests.knx_harness import all_group_addresses, charger_subentry

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]

THREE_PHASE = {"phases": 3, "connectors": 1, "max_user_current": 16, "fail_safe": True, "fail_safe_timeout": 30}


def _add(hass: HomeAssistant, entry: MockConfigEntry, data: Any) -> ConfigSubentry:
    subentry = ConfigSubentry(
        data=MappingProxyType(dict(data["data"])),
        subentry_type=data["subentry_type"],
        title=data["title"],
        unique_id=data["unique_id"],
        subentry_id=data["subentry_id"],
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    return subentry


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    """A hub with Garage (CHG1, 2 connectors, 16 A), Carport (CHG2, 32 A) and Barn (CHG3, three-phase)."""
    entry = hub_entry(hass)
    _add(hass, entry, charger_subentry("CHG1", "Garage", GARAGE))
    _add(hass, entry, charger_subentry("CHG2", "Carport", CARPORT, main=2))
    _add(hass, entry, charger_subentry("CHG3", "Barn", THREE_PHASE, main=3))
    hass.states.async_set("sensor.grid", "1200", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.grid_kw", "1.2", {"unit_of_measurement": "kW"})
    for n in (1, 2, 3):
        hass.states.async_set(f"sensor.l{n}", "5", {"unit_of_measurement": "A"})
    hass.states.async_set("sensor.temperature", "20", {"unit_of_measurement": "°C"})
    return entry


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_BALANCING), context={"source": SOURCE_USER}
    )


async def _next(hass: HomeAssistant, result: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """Submit the form with ``changes``; the circuits menu that follows is passed with Done (no circuits).

    The circuit steps have their own tests (test_balancing_circuits.py).
    """
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form_values(result, **changes))
    if result["type"] is FlowResultType.MENU and result["step_id"] == "circuits":
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": "circuits_done"})
    return result


async def _to_members(hass: HomeAssistant, entry: MockConfigEntry, **limits: Any) -> dict[str, Any]:
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    result = await _next(hass, result, meter_entities=["sensor.grid"], invert=False)
    assert result["step_id"] == "limits"
    result = await _next(hass, result, **{"limit": 25, "phases": "1", **limits})
    assert result["step_id"] == "site"
    result = await _next(hass, result)  # no price, no battery
    assert result["step_id"] == "members"
    return result


def _default(result: dict[str, Any], name: str) -> Any:
    key = next(k for k in result["data_schema"].schema if k == name)
    return key.default()


@pytest.mark.parametrize("option", ["balanced_supply", "drawn_phases"])
async def test_supply_options_are_off_by_default_and_stored_when_chosen(
    hass: HomeAssistant, entry: MockConfigEntry, option: str
) -> None:
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    result = await _next(hass, result, meter_entities=["sensor.grid"], invert=False)
    assert _default(result, "balanced_supply") is False
    assert _default(result, "drawn_phases") is False
    result = await _next(hass, result, limit=25, phases="3", **{option: True})
    result = await _next(hass, result)
    result = await _next(hass, result, members=["CHG1:1"])
    result = await _next(hass, result, priority=1, max_current=16, phase="1", mode="fast")
    result = await _next(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {name: result["data"][name] for name in ("balanced_supply", "drawn_phases")} == {
        "balanced_supply": option == "balanced_supply", "drawn_phases": option == "drawn_phases"}


def test_the_flow_is_registered() -> None:
    assert SUBENTRY_FLOWS[SUBENTRY_BALANCING] is BalancingGroupSubentryFlow


async def test_balance_group_from_start_to_end(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_members(hass, entry, phases="3", limit=25, reserve_margin=10, fallback_current=6)
    options = [o["label"] for o in result["data_schema"].schema["members"].config["options"]]
    assert options == [
        "Garage (both connectors together)", "Garage connector 1", "Garage connector 2", "Carport", "Barn"
    ]
    result = await _next(hass, result, members=["CHG2:0", "CHG1:1"])
    # one step per member, in the order picked; Carport is asked for its supply phase
    assert result["step_id"] == "member"
    assert result["description_placeholders"]["member"] == "Carport"
    assert "phase" in result["data_schema"].schema
    result = await _next(hass, result, priority=2, max_current=20, phase="2", mode="solar")
    assert result["description_placeholders"]["member"] == "Garage connector 1"
    assert _default(result, "max_current") == 16  # its Maximum User Current
    result = await _next(hass, result, priority=1, max_current=16, mode="fast")
    assert result["step_id"] == "timing"
    result = await _next(hass, result, ramp_up_delay=5, keepalive=0)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert result["title"] == "House" and result["unique_id"] == "House"
    assert data == validate_group(data)  # stored as the schema fills it
    assert [(m["charger"], m["connector"], m["max_current"], m["mode"]) for m in data["members"]] == [
        ("CHG1", 1, 16.0, "fast"),  # priority 1 first
        ("CHG2", 0, 20.0, "solar"),
    ]
    assert data["members"][1]["phase"] == 2
    assert (data["phases"], data["limit"], data["reserve_margin"], data["fallback_current"]) == (3, 25.0, 10.0, 6.0)
    assert data["ramp_up_delay"] == 5 and data["mode"] == "balance" and data["bridge_charger"] is None
    assert data["balanced_supply"] is False  # a single total meter counts all other load on every phase
    assert data["drawn_phases"] is False  # every three-phase charger on all its phases


async def test_name_and_meter_errors(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _add(hass, entry, {"data": {"name": "House", "meter_entities": ["sensor.grid"]}, "subentry_type": SUBENTRY_BALANCING,
                       "title": "House", "unique_id": "House", "subentry_id": "GRP"})
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    assert result["errors"] == {"name": "name_taken"}
    result = await _next(hass, result, name="  ", mode="balance")
    assert result["errors"] == {"name": "name_missing"}
    result = await _next(hass, result, name="Flat", mode="balance")
    assert result["step_id"] == "meter"
    for entities, error in (
        (["sensor.grid", "sensor.l1"], "meter_count"),
        (["sensor.l1", "sensor.l1", "sensor.l2"], "meter_count"),
        (["sensor.nothing"], "meter_not_found"),
        (["sensor.temperature"], "meter_unit"),
        (["sensor.l1", "sensor.l2", "sensor.grid"], "meter_unit"),
    ):
        result = await _next(hass, result, meter_entities=entities)
        assert result["errors"] == {"meter_entities": error}, entities
    result = await _next(hass, result, meter_entities=["sensor.l1", "sensor.l2", "sensor.l3"])
    assert result["step_id"] == "limits"
    result = await _next(hass, result, phases="1")
    assert result["errors"] == {"phases": "phase_meters_need_three_phases"}


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"limit": 2}, {"limit": "limit_out_of_range"}),
        ({"limit_mode": "power", "limit": 25}, {"limit": "limit_out_of_range"}),
        ({"reserve_margin": 60}, {"reserve_margin": "value_out_of_range"}),
        ({"fallback_current": 3}, {"fallback_current": "fallback_out_of_range"}),
    ],
)
async def test_limit_errors(
    hass: HomeAssistant, entry: MockConfigEntry, changes: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    result = await _next(hass, result, meter_entities=["sensor.grid_kw"])
    result = await _next(hass, result, **changes)
    assert result["step_id"] == "limits" and result["errors"] == errors


async def test_member_errors(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _add(hass, entry, {"data": {"name": "Flat", "meter_entities": ["sensor.grid"], "members": [{"charger": "CHG2"}]},
                       "subentry_type": SUBENTRY_BALANCING, "title": "Flat", "unique_id": "Flat", "subentry_id": "GRP"})
    unlinked = charger_subentry("CHG4", "Shed", CARPORT, {"48": ["4/0/48"]}, main=4)
    _add(hass, entry, unlinked)
    result = await _to_members(hass, entry)
    for members, error, member in (
        ([], "no_members", ""),
        (["CHG1:0", "CHG1:2"], "member_overlap", "Garage connector 2"),
        (["CHG2:0"], "member_in_other_group", "Carport"),
        (["CHG3:0"], "three_phase_member_on_single_phase", "Barn"),
        (["CHG4:0"], "member_limit_not_linked", "Shed"),
    ):
        result = await _next(hass, result, members=members)
        assert result["errors"] == {"members": error}, members
        assert result["description_placeholders"]["member"] == member
    result = await _next(hass, result, members=["CHG1:1"])
    assert result["step_id"] == "member"
    for changes, error in (
        ({"max_current": 20}, {"max_current": "max_out_of_range"}),
        ({"max_current": 5}, {"max_current": "max_out_of_range"}),
        ({"max_current": 16, "priority": 2}, {"priority": "priority_out_of_range"}),
        ({"priority": 0.5}, {"priority": "priority_out_of_range"}),
    ):
        result = await _next(hass, result, **changes)
        assert result["errors"] == error, changes
    result = await _next(hass, result, priority=1)
    assert result["step_id"] == "timing"


async def test_first_member_error_is_shown_and_broken_chargers_are_not_offered(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    _add(hass, entry, charger_subentry("CHG4", "Broken", {"max_user_current": 99}, {}, main=4))
    result = await _to_members(hass, entry)
    labels = [o["label"] for o in result["data_schema"].schema["members"].config["options"]]
    assert "Broken" not in labels
    result = await _next(hass, result, members=["CHG3:0", "CHG1:1"])
    assert result["errors"] == {"members": "three_phase_member_on_single_phase"}
    assert result["description_placeholders"]["member"] == "Barn"


async def test_member_without_measurement(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _add(hass, entry, charger_subentry("CHG4", "Shed", CARPORT, {"1": ["4/0/1"], "33": ["4/0/33"]}, main=4))
    result = await _to_members(hass, entry)
    result = await _next(hass, result, members=["CHG4:0"])
    assert result["errors"] == {"members": "member_no_measurement"}


async def test_keep_alive_must_stay_below_the_fail_safe_timeout(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_members(hass, entry, phases="3")
    result = await _next(hass, result, members=["CHG3:0"])
    result = await _next(hass, result)
    assert result["step_id"] == "timing"
    result = await _next(hass, result, keepalive=30)  # Barn enters fail-safe after 30 s
    assert result["errors"] == {"keepalive": "keepalive_above_fail_safe"}
    assert result["description_placeholders"] == {"charger": "Barn", "timeout": "30"}
    result = await _next(hass, result, keepalive=0.5)
    assert result["errors"] == {"keepalive": "keepalive_out_of_range"}
    result = await _next(hass, result, update_interval=0)
    assert result["errors"] == {"update_interval": "value_out_of_range"}
    result = await _next(hass, result, keepalive=14, update_interval=5)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["keepalive"] == 14


async def test_no_chargers(hass: HomeAssistant) -> None:
    entry = hub_entry(hass)
    hass.states.async_set("sensor.grid", "1200", {"unit_of_measurement": "W"})
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    result = await _next(hass, result, meter_entities=["sensor.grid"])
    result = await _next(hass, result, limit=25)
    result = await _next(hass, result)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_chargers"


MASTER = {"connectors": 1, "load_balancing": True, "balancing_current_control": False}


async def test_bridge_group(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _start(hass, entry)
    result = await _next(hass, result, name="Bridge", mode="bridge")
    result = await _next(hass, result, meter_entities=["sensor.grid"])
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "no_bridge_master"
    _add(hass, entry, charger_subentry("CHG5", "Master", MASTER, main=5))
    _add(hass, entry, charger_subentry("CHG6", "Unlinked master", MASTER, {"1": ["6/0/1"]}, main=6))
    result = await _start(hass, entry)
    result = await _next(hass, result, name="Bridge", mode="bridge")
    result = await _next(hass, result, meter_entities=["sensor.grid"], invert=True)
    assert result["step_id"] == "bridge"
    assert [o["label"] for o in result["data_schema"].schema["bridge_charger"].config["options"]] == ["Master"]
    result = await _next(hass, result, bridge_period=0)
    assert result["errors"] == {"bridge_period": "value_out_of_range"}
    result = await _next(hass, result, bridge_period=5, phases="3")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert (data["mode"], data["bridge_charger"], data["bridge_period"], data["phases"], data["invert"]) == (
        "bridge", "CHG5", 5.0, 3, True
    )
    assert data["members"] == []


async def test_reconfigure_is_prefilled_and_updates(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    stored = validate_group(
        {
            "name": "House",
            "meter_entities": ["sensor.grid"],
            "limit": 40,
            "drawn_phases": True,
            "members": [
                {"charger": "CHG1", "connector": 2, "max_current": 10, "mode": "min_solar"},
                {"charger": "1.1.2", "connector": 0, "max_current": 20},  # by individual address
                {"charger": "GONE", "connector": 0},
            ],
        }
    )
    subentry = _add(hass, entry, {"data": stored, "subentry_type": SUBENTRY_BALANCING, "title": "House",
                                  "unique_id": "House", "subentry_id": "GRP"})
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["step_id"] == "user" and _default(result, "name") == "House"
    result = await _next(hass, result, name="Home")
    assert _default(result, "meter_entities") == ["sensor.grid"]
    result = await _next(hass, result)
    assert _default(result, "limit") == 40
    assert _default(result, "drawn_phases") is True
    result = await _next(hass, result)
    assert result["step_id"] == "site"
    result = await _next(hass, result)
    assert _default(result, "members") == ["CHG1:2", "CHG2:0"]  # the removed one is gone
    result = await _next(hass, result)
    assert _default(result, "max_current") == 10
    assert _default(result, "mode") == "min_solar"
    result = await _next(hass, result)
    assert _default(result, "max_current") == 20
    result = await _next(hass, result)
    result = await _next(hass, result)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    updated = entry.subentries["GRP"]
    assert updated.title == "Home" and updated.unique_id == "Home"
    assert [m["charger"] for m in updated.data["members"]] == ["CHG1", "CHG2"]
    assert updated.data["drawn_phases"] is True


async def test_reconfigure_of_unvalidated_data(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    subentry = _add(hass, entry, {"data": {"name": "Odd", "meter_entities": ["a", "b"], "mode": "balance"},
                                  "subentry_type": SUBENTRY_BALANCING, "title": "Odd", "unique_id": "Odd",
                                  "subentry_id": "GRP"})
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _next(hass, result)
    assert result["step_id"] == "meter"
    assert _default(result, "meter_entities") == ["a", "b"]


def test_all_group_addresses_helper_links_the_balancing_objects() -> None:
    assert "131" in all_group_addresses(MASTER)  # the master's meter input used by the bridge tests


TWO_PHASE = {**GARAGE, "phase_connection": "different"}


async def test_the_phase_is_asked_for_every_member_on_a_three_phase_supply(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    # Barn: its L1 on the supply's L2 (phase rotation); Yard: connector 1 on L3, connector 2 on L1.
    _add(hass, entry, charger_subentry("CHG4", "Yard", TWO_PHASE, main=4))
    result = await _to_members(hass, entry, phases="3")
    result = await _next(hass, result, members=["CHG3:0", "CHG4:0", "CHG1:1"])
    assert "l1_phase" in result["data_schema"].schema and "phase" not in result["data_schema"].schema
    result = await _next(hass, result, priority=1, l1_phase="2")
    assert "connector1_phase" in result["data_schema"].schema
    assert result["description_placeholders"]["min"] == "6"  # each connector up to the limit: no split
    result = await _next(hass, result, priority=2, max_current=6, connector1_phase="3")
    assert "phase" in result["data_schema"].schema
    result = await _next(hass, result, priority=3, phase="1")
    result = await _next(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert [(m["charger"], m["phase"]) for m in result["data"]["members"]] == [("CHG3", 2), ("CHG4", 3), ("CHG1", 1)]


async def test_a_previous_phase_of_a_three_phase_member_is_prefilled(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    stored = validate_group(
        {"name": "House", "meter_entities": ["sensor.grid"], "phases": 3,
         "members": [{"charger": "CHG3", "connector": 0, "max_current": 16, "phase": 3}]}
    )
    subentry = _add(hass, entry, {"data": stored, "subentry_type": SUBENTRY_BALANCING, "title": "House",
                                  "unique_id": "House", "subentry_id": "GRP"})
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    for _ in range(5):
        result = await _next(hass, result)
    assert result["step_id"] == "member" and _default(result, "l1_phase") == "3"


async def test_two_connector_members_that_cannot_be_balanced(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _add(hass, entry, charger_subentry("CHG4", "Yard", TWO_PHASE, main=4))
    _add(hass, entry, charger_subentry("CHG5", "Shed", {**GARAGE, "max_user_current": 10}, main=5))
    blind = {n: gas for n, gas in all_group_addresses(TWO_PHASE, 6).items() if n not in ("96", "97")}
    _add(hass, entry, charger_subentry("CHG6", "Barn 2", TWO_PHASE, blind, main=6))
    result = await _to_members(hass, entry)
    for members, error in (
        (["CHG4:0"], "two_phase_member_on_single_phase"),
        (["CHG5:0"], "max_below_two_vehicles"),  # 10 A split between two cars: 5 A each
    ):
        result = await _next(hass, result, members=members)
        assert result["errors"] == {"members": error}, members
    result = await _next(hass, result, members=["CHG5:1"])  # a connector alone is fine
    assert result["step_id"] == "member"
    result = await _to_members(hass, entry, phases="3")
    result = await _next(hass, result, members=["CHG6:0"])
    assert result["errors"] == {"members": "two_phase_member_no_measurement"}
    result = await _next(hass, result, members=["CHG1:0"])  # both connectors of Garage share 16 A
    assert result["description_placeholders"]["min"] == "12"
    result = await _next(hass, result, max_current=11, phase="1")
    assert result["errors"] == {"max_current": "max_out_of_range"}
    result = await _next(hass, result, max_current=12, phase="1")
    assert result["step_id"] == "timing"
