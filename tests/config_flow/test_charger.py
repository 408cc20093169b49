"""Charger subentry flow: the ETS pages, their validation, group addresses, duplicates and reconfigure."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any
from unittest.mock import AsyncMock

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.config_flow import SUBENTRY_FLOWS, ChargerSubentryFlow, KnxEvseConfigFlow
from custom_components.knx_evse.config_flow.ga_form import ga_layout, ga_schema
from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.knx.objects import OBJECTS
from custom_components.knx_evse.knx.parameters import ChargerParameters
from tests.config_flow.helpers import (
    check_translations,
    config_dir,
    field_names,
    form_values,
    hub_entry,
    mock_setup,
    nest,
    strings,
    suggested,
)

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    return hub_entry(hass)


def _key(number: int) -> str:
    return OBJECTS[number].key


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> dict:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["charger", "knxproj"]
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "charger"}
    )


async def _submit(hass: HomeAssistant, result: dict, **changes: Any) -> dict:
    return await hass.config_entries.subentries.async_configure(
        result["flow_id"], form_values(result, **changes)
    )


CHARGER = {
    CONF_NAME: "Garage",
    CONF_CHARGER_IA: "1.1.10",
    CONF_MODEL: "VE 742",
    "phase_connection": "same",
    "ocpp_mode": False,
}


def _existing(
    entry: MockConfigEntry, hass: HomeAssistant, address: str = "1.1.20", **data: Any
) -> ConfigSubentry:
    subentry = ConfigSubentry(
        data=MappingProxyType(
            {
                CONF_NAME: "Carport",
                CONF_CHARGER_IA: address,
                CONF_MODEL: "VE 741",
                CONF_PARAMETERS: {},
                CONF_GROUP_ADDRESSES: {"33": ["5/0/1"]},
                **data,
            }
        ),
        subentry_type=SUBENTRY_CHARGER,
        title=data.get(CONF_NAME, "Carport"),
        unique_id=address,
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    return subentry


def test_subentry_types_are_a_registry() -> None:
    assert SUBENTRY_FLOWS[SUBENTRY_CHARGER] is ChargerSubentryFlow
    types = KnxEvseConfigFlow.async_get_supported_subentry_types(MockConfigEntry(domain="knx_evse"))
    assert types[SUBENTRY_CHARGER] is ChargerSubentryFlow
    assert types == SUBENTRY_FLOWS  # every registered type (the balancing group registers there too)
    assert types is not SUBENTRY_FLOWS  # callers cannot change the registry by accident


async def test_two_connector_charger_with_load_balancing(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Every ETS page of a VE 742 with the built-in balancing master, then its group addresses."""
    result = await _start(hass, entry)
    assert result["step_id"] == "charger"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**CHARGER, CONF_NAME: " Garage ", CONF_CHARGER_IA: "1.1.10"}
    )

    assert result["step_id"] == "general"
    assert field_names(result) == [
        "delay_at_start",
        "max_session_time",
        "auto_disconnect",
        "auto_start",
        "contracted_power",
        "max_user_current",
        "limit_by_power",
        "initial_power_limit",
        "initial_current_limit",
        "load_balancing",
    ]
    result = await _submit(
        hass,
        result,
        delay_at_start=5,
        max_session_time=120,
        auto_start=True,
        contracted_power=5750,
        max_user_current=25,
        limit_by_power=False,
        initial_current_limit=16,
        load_balancing=True,
    )

    assert result["step_id"] == "status_sending"
    result = await _submit(
        hass, result, current_sending="both", current_change=0.5, current_period=30, time_sending="cyclic"
    )

    assert result["step_id"] == "advanced"
    result = await _submit(
        hass,
        result,
        reset_object=True,
        error_objects=True,
        fail_safe=True,
        fail_safe_timeout=120,
        fail_safe_objects=True,
    )

    assert result["step_id"] == "connector_1"
    assert field_names(result) == [
        "initial_power_limit",
        "send_status_at_init",
        "ocpp_state",
        "pilot_state",
        "individual_status",
        "charging_time_objects",
        "block_object",
    ]
    result = await _submit(hass, result, initial_power_limit=3700, pilot_state=True, individual_status=True)
    assert result["step_id"] == "connector_2"
    result = await _submit(hass, result, ocpp_state=False, block_object=True)

    assert result["step_id"] == "load_balancing"
    result = await _submit(
        hass, result, balancing_after_init="last", balancing_margin=10, balancing_evse_count=2
    )
    assert result["step_id"] == "load_balancing_limits"
    assert field_names(result) == ["balancing_protection_device", "evse_max_current_1", "evse_max_current_2"]
    result = await _submit(
        hass, result, balancing_protection_device=40, evse_max_current_1=32, evse_max_current_2=16
    )

    assert result["step_id"] == "group_addresses"
    params = ChargerParameters.from_dict(
        {
            "phases": 1,
            "connectors": 2,
            "load_balancing": True,
            "balancing_evse_count": 2,
            "reset_object": True,
            "error_objects": True,
            "fail_safe": True,
            "fail_safe_objects": True,
            "conn1_pilot_state": True,
            "conn1_individual_status": True,
            "conn2_ocpp_state": False,
            "conn2_block_object": True,
            "limit_by_power": False,
            "initial_limit": 16,
        }
    )
    assert sorted(field_names(result)) == sorted(_key(n) for n in params.enabled_objects())
    assert _key(84) not in field_names(result)  # connector 2 OCPP state switched off
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        nest(
            result,
            {
                _key(1): "1/0/1",
                _key(3): "1/0/2, 1/0/3",
                _key(33): "1/515",  # 2-level style
                _key(82): "2564",  # free style
                _key(130): "0/0/1",
                _key(133): "0/0/2",
                _key(14): "0/0/2",
            },
        ),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Garage"
    assert result["unique_id"] == "1.1.10"

    subentry = next(iter(entry.subentries.values()))
    assert subentry.unique_id == "1.1.10"
    assert subentry.title == "Garage"
    data = subentry.data
    assert data[CONF_NAME] == "Garage"
    assert data[CONF_MODEL] == "VE 742"
    assert data[CONF_GROUP_ADDRESSES] == {
        "1": ["1/0/1"],
        "3": ["1/0/2", "1/0/3"],
        "14": ["0/0/2"],
        "33": ["1/515"],
        "82": ["2564"],
        "130": ["0/0/1"],
        "133": ["0/0/2"],
    }
    stored = ChargerParameters.from_dict(data[CONF_PARAMETERS])
    assert stored.as_dict() == data[CONF_PARAMETERS]  # stored in the validated, complete form
    assert (stored.phases, stored.connectors) == (1, 2)
    assert stored.delay_at_start == 5
    assert stored.max_session_time == 120
    assert stored.auto_start is True
    assert stored.contracted_power == 5750
    assert stored.max_user_current == 25
    assert stored.limit_by_power is False
    assert stored.initial_limit == 16
    assert stored.current_sending == "both"
    assert stored.current_change == 0.5
    assert stored.current_period == 30
    assert stored.time_sending == "cyclic"
    assert stored.fail_safe_timeout == 120
    assert stored.conn1_initial_power_limit == 3700
    assert stored.conn1_pilot_state is True
    assert stored.conn2_ocpp_state is False
    assert stored.conn2_block_object is True
    assert stored.balancing_after_init == "last"
    assert stored.balancing_protection_device == 40
    assert stored.balancing_evse_count == 2
    assert stored.balancing_evse_max[:2] == (32, 16)


async def test_charger_step_errors(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    _existing(entry, hass, "1.1.20")
    result = await _start(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**CHARGER, CONF_CHARGER_IA: "1.1.300", CONF_MODEL: "VE 741", "phase_connection": "different"},
    )
    assert result["step_id"] == "charger"
    assert result["errors"] == {
        CONF_CHARGER_IA: "invalid_individual_address",
        "phase_connection": "phase_connection_not_applicable",
    }
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**CHARGER, CONF_CHARGER_IA: "1.1.20", CONF_MODEL: "VE 222", "phase_connection": "different"},
    )
    assert result["errors"] == {
        CONF_CHARGER_IA: "already_configured",
        "phase_connection": "phase_connection_not_applicable",  # three-phase: no phase connection
    }
    defaults = form_values(result)
    assert defaults[CONF_MODEL] == "VE 222"  # the form keeps what was typed
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {**CHARGER, CONF_CHARGER_IA: "1.1.21", CONF_MODEL: "VE 742", "phase_connection": "different"},
    )
    assert result["step_id"] == "general"


async def _to_general(hass: HomeAssistant, entry: MockConfigEntry, **charger: Any) -> dict:
    result = await _start(hass, entry)
    return await hass.config_entries.subentries.async_configure(result["flow_id"], {**CHARGER, **charger})


async def _finish(hass: HomeAssistant, result: dict, addresses: dict[str, str] | None = None) -> dict:
    """Accept the defaults of every remaining page, then the given group addresses."""
    while result["type"] is FlowResultType.FORM and result["step_id"] != "group_addresses":
        result = await _submit(hass, result)
    assert result["step_id"] == "group_addresses", result
    return await hass.config_entries.subentries.async_configure(result["flow_id"], nest(result, addresses or {}))


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"max_user_current": 40}, {"installation": "current_out_of_range"}),
        ({"max_user_current": 5}, {"installation": "current_out_of_range"}),
        (
            {"limit_by_power": False, "max_user_current": 16, "initial_current_limit": 20},
            {"limits": "initial_limit_out_of_range"},
        ),
        ({"limit_by_power": True, "initial_power_limit": 30000}, {"limits": "initial_limit_out_of_range"}),
        ({"max_session_time": 361}, {"charging_session": "session_time_out_of_range"}),
        ({"delay_at_start": 300}, {"delay_at_start": "delay_out_of_range"}),
        ({"contracted_power": -1}, {"installation": "value_out_of_range"}),
    ],
)
async def test_general_page_ranges(
    hass: HomeAssistant, entry: MockConfigEntry, changes: dict, errors: dict
) -> None:
    result = await _to_general(hass, entry)
    failed = await _submit(hass, result, **changes)
    assert failed["step_id"] == "general"
    assert failed["errors"] == errors
    assert form_values(failed) == form_values(result, **changes)  # the page keeps the typed values
    recovered = await _submit(
        hass,
        failed,
        max_user_current=32,
        initial_current_limit=16,
        initial_power_limit=7400,
        max_session_time=0,
        delay_at_start=2,
        contracted_power=9200,
    )
    assert recovered["step_id"] == "status_sending"
    done = await _finish(hass, recovered)
    assert done["type"] is FlowResultType.CREATE_ENTRY


async def test_ocpp_mode_hides_general_sections_and_three_phase_hides_balancing(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    result = await _to_general(hass, entry, ocpp_mode=True)
    assert field_names(result) == ["delay_at_start"]  # session, installation, limits, balancing hidden
    result = await _submit(hass, result)
    assert result["step_id"] == "status_sending"

    other = await _to_general(hass, entry, **{CONF_CHARGER_IA: "1.1.11", CONF_MODEL: "VE 222"})
    assert "load_balancing" not in field_names(other)
    assert "max_user_current_l3" in field_names(other)  # three-phase: per phase
    other = await _submit(hass, other)
    other = await _submit(hass, other)  # status sending
    other = await _submit(hass, other)  # advanced
    assert other["step_id"] == "connector_1"
    other = await _submit(hass, other)
    assert other["step_id"] == "connector_2"
    other = await _submit(hass, other)
    assert other["step_id"] == "group_addresses"  # no balancing pages
    assert _key(15) in field_names(other)  # L1 current of a three-phase model
    assert _key(14) not in field_names(other)
    other = await hass.config_entries.subentries.async_configure(other["flow_id"], nest(other, {_key(15): "3/0/1"}))
    assert other["type"] is FlowResultType.CREATE_ENTRY
    params = ChargerParameters.from_dict(entry.subentries[next(iter(entry.subentries))].data[CONF_PARAMETERS])
    assert params.phases == 3

    result = await _finish(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    ocpp = next(s for s in entry.subentries.values() if s.unique_id == "1.1.10")
    assert ocpp.data[CONF_PARAMETERS]["ocpp_mode"] is True


async def test_other_pages_ranges(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry)
    result = await _submit(hass, result, load_balancing=True)

    failed = await _submit(hass, result, current_period=0, energy_change=-5)
    assert failed["errors"] == {"current": "value_out_of_range", "energy": "value_out_of_range"}
    result = await _submit(hass, failed, current_period=60, energy_change=100)
    assert result["step_id"] == "advanced"

    failed = await _submit(hass, result, fail_safe=True, fail_safe_timeout=0)
    assert failed["errors"] == {"fail_safe": "value_out_of_range"}
    result = await _submit(hass, failed, fail_safe_timeout=30)
    assert result["step_id"] == "connector_1"

    failed = await _submit(hass, result, initial_power_limit=30000)
    assert failed["errors"] == {"limits": "power_out_of_range"}
    result = await _submit(hass, failed, initial_power_limit=3500)
    result = await _submit(hass, result)
    assert result["step_id"] == "load_balancing"

    failed = await _submit(hass, result, balancing_margin=150, balancing_evse_count=7)
    assert failed["errors"] == {"limits": "margin_out_of_range", "evse_to_balance": "evse_count_out_of_range"}
    result = await _submit(
        hass, failed, balancing_margin=100, balancing_evse_count=3, balancing_current_control=False
    )
    assert result["step_id"] == "load_balancing_limits"
    assert field_names(result) == [
        "balancing_contracted_power",
        "evse_max_power_1",
        "evse_max_power_2",
        "evse_max_power_3",
    ]

    failed = await _submit(hass, result, evse_max_power_2=30000)
    assert failed["errors"] == {"evse_max_power_2": "evse_max_out_of_range"}
    result = await _submit(hass, failed, evse_max_power_2=3700, balancing_contracted_power=11000)
    assert result["step_id"] == "group_addresses"
    assert _key(131) in field_names(result)  # power control: active power measured
    assert _key(130) not in field_names(result)
    assert _key(164) in field_names(result)  # EVSE3 objects
    assert _key(179) not in field_names(result)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], nest(result, {_key(131): "0/0/9"}))
    params = ChargerParameters.from_dict(next(iter(entry.subentries.values())).data[CONF_PARAMETERS])
    assert params.balancing_current_control is False
    assert params.balancing_contracted_power == 11000
    assert params.balancing_evse_max[:3] == (7360, 3700, 7360)  # power control: the rated power, not 32 W
    assert params.balancing_margin == 100


async def test_three_phase_installation_and_limits_per_phase(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry, **{CONF_MODEL: "VE 221"})
    values = form_values(result)
    assert values["installation"] == {
        "contracted_power": 9200,
        "max_user_current_l1": 32,
        "max_user_current_l2": 32,
        "max_user_current_l3": 32,
    }
    failed = await _submit(
        hass, result, limit_by_power=False, max_user_current_l2=16, initial_current_limit_l2=20
    )
    assert failed["errors"] == {"limits": "initial_limit_out_of_range"}
    failed = await _submit(hass, failed, max_user_current_l3=5, initial_current_limit_l2=10)
    assert failed["errors"] == {"installation": "current_out_of_range"}
    result = await _submit(
        hass, failed, max_user_current_l3=25, initial_current_limit_l1=20, initial_current_limit_l3=25
    )
    assert result["step_id"] == "status_sending"
    await _finish(hass, result)
    params = ChargerParameters.from_dict(next(iter(entry.subentries.values())).data[CONF_PARAMETERS])
    assert params.max_user_current_phases == (32, 16, 25)
    assert params.initial_limit_phases == (20.0, 10.0, 25.0)
    assert (params.max_user_current, params.initial_limit) == (16, 10.0)  # the lowest phase


async def test_connector_limit_must_reach_six_amps_a_phase(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry, **{CONF_MODEL: "VE 222"})
    for _ in range(3):  # general, status sending, advanced
        result = await _submit(hass, result)
    assert result["step_id"] == "connector_1"
    assert form_values(result)["limits"]["initial_power_limit"] == 11040.0  # 16 A a phase
    failed = await _submit(hass, result, initial_power_limit=3500)  # 5.07 A a phase: never charges
    assert failed["errors"] == {"limits": "power_out_of_range"}
    result = await _submit(hass, failed, initial_power_limit=4140)
    assert result["step_id"] == "connector_2"


async def test_fail_safe_current_on_the_advanced_page(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry)
    result = await _submit(hass, result, max_user_current=16)
    result = await _submit(hass, result)
    assert result["step_id"] == "advanced"
    assert form_values(result)["fail_safe"]["fail_safe_current"] == 12.0  # 6 A for each of two connectors
    failed = await _submit(hass, result, fail_safe=True, fail_safe_current=32)
    assert failed["errors"] == {"fail_safe": "fail_safe_current_out_of_range"}
    failed = await _submit(hass, failed, fail_safe_current=3)
    assert failed["errors"] == {"fail_safe": "fail_safe_current_out_of_range"}
    result = await _submit(hass, failed, fail_safe_current=16)
    assert result["step_id"] == "connector_1"
    await _finish(hass, result)
    params = ChargerParameters.from_dict(next(iter(entry.subentries.values())).data[CONF_PARAMETERS])
    assert (params.fail_safe, params.fail_safe_current, params.fail_safe_power) == (True, 16.0, 3680.0)


async def test_evse_maximum_power_at_least_one_six_amp_phase(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry, **{CONF_MODEL: "VE 741"})
    result = await _submit(hass, result, load_balancing=True)
    for _ in range(3):  # status sending, advanced, connector 1
        result = await _submit(hass, result)
    result = await _submit(hass, result, balancing_evse_count=2, balancing_current_control=False)
    assert form_values(result)["evse_max_power_2"] == 7360.0  # the rated power, not 32 W
    failed = await _submit(hass, result, evse_max_power_2=32)
    assert failed["errors"] == {"evse_max_power_2": "evse_max_out_of_range"}
    result = await _submit(hass, failed, evse_max_power_2=1380)
    assert result["step_id"] == "group_addresses"


async def test_evse_maximum_current_range(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await _to_general(hass, entry)
    result = await _submit(hass, result, load_balancing=True)
    for _ in range(4):  # status sending, advanced, connector 1, connector 2
        result = await _submit(hass, result)
    result = await _submit(hass, result, balancing_evse_count=2)
    failed = await _submit(hass, result, evse_max_current_2=40)
    assert failed["errors"] == {"evse_max_current_2": "evse_max_out_of_range"}
    failed = await _submit(hass, failed, evse_max_current_2=5)
    assert failed["errors"] == {"evse_max_current_2": "evse_max_out_of_range"}
    result = await _submit(hass, failed, evse_max_current_2=6)
    assert result["step_id"] == "group_addresses"


@pytest.mark.parametrize(
    ("addresses", "field", "error"),
    [
        ({_key(1): "1/2/3/4"}, _key(1), "invalid_group_address"),
        ({_key(1): "0/0/0"}, _key(1), "invalid_group_address"),
        ({_key(1): "1/0/1", _key(31): "1/0/1"}, _key(31), "duplicate_sending_address"),
        ({_key(3): "1/0/3", _key(4): "1/0/3"}, _key(4), "dpt_clash"),  # A and W status on one address
        ({_key(33): "1/1/1", _key(45): "3/3/3, 1/1/1"}, _key(45), "dpt_clash"),
    ],
)
async def test_group_address_errors(
    hass: HomeAssistant, entry: MockConfigEntry, addresses: dict, field: str, error: str
) -> None:
    result = await _to_general(hass, entry)
    for _ in range(5):  # general, status sending, advanced, connector 1, connector 2
        result = await _submit(hass, result)
    assert result["step_id"] == "group_addresses"
    failed = await hass.config_entries.subentries.async_configure(result["flow_id"], nest(result, addresses))
    assert failed["step_id"] == "group_addresses"
    assert failed["errors"] == {field: error}
    assert failed["description_placeholders"]["details"]  # says which address and why
    assert suggested(failed) == addresses  # what was typed is kept
    fixed = {**addresses, field: "7/7/7"}
    done = await hass.config_entries.subentries.async_configure(result["flow_id"], nest(failed, fixed))
    assert done["type"] is FlowResultType.CREATE_ENTRY
    assert next(iter(entry.subentries.values())).data[CONF_GROUP_ADDRESSES][
        str(OBJECTS_BY_KEY_NUM[field])
    ] == ["7/7/7"]


OBJECTS_BY_KEY_NUM = {obj.key: number for number, obj in OBJECTS.items()}


def _sections(result: dict) -> dict[str, bool]:
    """Section name → collapsed, in form order."""
    return {str(key): value.options["collapsed"] for key, value in result["data_schema"].schema.items()}


async def test_group_addresses_are_in_sections_by_scope(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Always-present objects expanded, optional ones collapsed; an error expands its section."""
    result = await _to_general(hass, entry)
    for _ in range(5):  # general, status sending, advanced, connector 1, connector 2
        result = await _submit(hass, result)
    assert result["step_id"] == "group_addresses"
    assert _sections(result) == {
        "charger": False,
        "connector_1": False,
        "connector_1_optional": True,
        "connector_2": False,
        "connector_2_optional": True,
    }
    inner = {str(k): [str(f) for f in v.schema.schema] for k, v in result["data_schema"].schema.items()}
    assert inner["connector_2"][0] == _key(80) and _key(1) in inner["charger"]
    assert all(OBJECTS[OBJECTS_BY_KEY_NUM[key]].enabled_by for key in inner["connector_2_optional"])
    field = inner["connector_2_optional"][0]
    failed = await hass.config_entries.subentries.async_configure(
        result["flow_id"], nest(result, {_key(1): "1/0/1", field: "1/2/3/4"})
    )
    assert failed["errors"] == {field: "invalid_group_address"}  # on the field, not its section
    assert _sections(failed) == {**_sections(result), "connector_2_optional": False}
    assert suggested(failed) == {_key(1): "1/0/1", field: "1/2/3/4"}


def test_one_connector_master_sections_come_last_and_collapsed() -> None:
    params = ChargerParameters.from_dict(
        {"phases": 1, "connectors": 1, "load_balancing": True, "balancing_evse_count": 2, "rfid_objects": True}
    )
    layout = ga_layout(params.enabled_objects())
    assert list(layout) == ["charger", "charger_optional", "connector_1", "connector_1_optional", "master"]
    assert _key(8) in layout["charger_optional"] and _key(1) in layout["charger"]
    assert {OBJECTS[OBJECTS_BY_KEY_NUM[key]].scope.value[:9] for key in layout["master"]} == {"Balancing"}
    schema = ga_schema(layout, {k: "" for keys in layout.values() for k in keys}, {})
    assert [value.options["collapsed"] for value in schema.schema.values()] == [False, True, False, True, True]


async def test_reconfigure_changes_parameters_and_addresses(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    subentry = _existing(
        entry,
        hass,
        "1.1.20",
        **{
            CONF_MODEL: "VE 742",
            CONF_PARAMETERS: {
                "connectors": 2,
                "load_balancing": True,
                "phase_connection": "different",
                "conn2_pilot_state": True,
            },
            CONF_GROUP_ADDRESSES: {"33": ["5/0/1"], "82": ["5/0/2"], "83": ["5/0/3"], "132": ["5/0/4"]},
        },
    )
    _existing(entry, hass, "1.1.21")
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    assert result["step_id"] == "charger"
    values = form_values(result)
    assert values[CONF_NAME] == "Carport"
    assert values[CONF_CHARGER_IA] == "1.1.20"
    assert values[CONF_MODEL] == "VE 742"
    assert values["phase_connection"] == "different"

    taken = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**values, CONF_CHARGER_IA: "1.1.21"}
    )
    assert taken["errors"] == {CONF_CHARGER_IA: "already_configured"}
    # Its own address is fine; switch to a one-connector three-phase charger on a new address.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            **values,
            CONF_NAME: "Carport 22 kW",
            CONF_CHARGER_IA: "1.1.22",
            CONF_MODEL: "VE 221",
            "phase_connection": "same",
        },
    )
    assert result["step_id"] == "general"
    assert "load_balancing" not in field_names(result)
    result = await _submit(hass, result)
    result = await _submit(hass, result)
    result = await _submit(hass, result)
    assert result["step_id"] == "connector_1"
    result = await _submit(hass, result)
    assert result["step_id"] == "group_addresses"  # no connector 2, no balancing pages
    assert suggested(result) == {_key(33): "5/0/1"}  # connector-2 and balancing objects are gone
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], nest(result, {_key(33): "5/0/1", _key(15): "5/1/1"})
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"

    updated = entry.subentries[subentry.subentry_id]  # same subentry: its device is kept
    assert updated.unique_id == "1.1.22"
    assert updated.title == "Carport 22 kW"
    assert updated.data[CONF_MODEL] == "VE 221"
    assert updated.data[CONF_GROUP_ADDRESSES] == {"15": ["5/1/1"], "33": ["5/0/1"]}
    params = ChargerParameters.from_dict(updated.data[CONF_PARAMETERS])
    assert (params.phases, params.connectors, params.load_balancing) == (3, 1, False)
    assert params.conn1_initial_power_limit == 22080.0  # the default followed the model (was 3680 W)
    assert 82 not in params.enabled_objects()


async def test_reconfigure_of_a_loaded_hub_lets_its_update_listener_reload(
    hass: HomeAssistant, entry: MockConfigEntry, mock_setup: AsyncMock
) -> None:
    subentry = _existing(entry, hass, "1.1.20")
    await hass.config_entries.async_setup(entry.entry_id)
    reloads: list[str] = []

    async def listener(hass: HomeAssistant, changed: Any) -> None:
        reloads.append(changed.entry_id)

    entry.add_update_listener(listener)
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _submit(hass, result, **{CONF_NAME: "Renamed"})
    result = await _finish(hass, result, {_key(33): "5/0/9"})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert reloads == [entry.entry_id]
    assert entry.subentries[subentry.subentry_id].title == "Renamed"
    assert entry.subentries[subentry.subentry_id].data[CONF_GROUP_ADDRESSES] == {"33": ["5/0/9"]}


def test_every_object_has_a_group_address_label() -> None:
    sections = strings()["config_subentries"]["charger"]["step"]["group_addresses"]["sections"]
    labels = {key: label for section in sections.values() for key, label in section["data"].items()}
    assert labels == {obj.key: f"{number} {obj.name}" for number, obj in OBJECTS.items()}


def test_errors_of_fields_outside_the_page_go_to_base() -> None:
    from custom_components.knx_evse.config_flow.ets_forms import error_location

    assert error_location({None: ("a",), "sec": ("b",)}, "b") == "sec"
    assert error_location({None: ("a",), "sec": ("b",)}, "a") == "a"
    assert error_location({None: ("a",)}, "other") == "base"


async def test_reconfigure_opens_a_charger_with_invalid_stored_parameters(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    subentry = _existing(
        entry, hass, "1.1.20", **{CONF_PARAMETERS: {"max_user_current": 40, "auto_start": True}}
    )
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _submit(hass, result)
    assert form_values(result)["installation"]["max_user_current"] == 32
    assert form_values(result)["charging_session"]["auto_start"] is True
    result = await _finish(hass, result, {_key(33): "5/0/1"})
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[subentry.subentry_id].data[CONF_PARAMETERS]["max_user_current"] == 32


def test_every_select_option_is_translated() -> None:
    from custom_components.knx_evse.const import CONNECTION_TYPES, MODELS
    from custom_components.knx_evse.knx.parameters import (
        BALANCING_AFTER_INIT,
        PHASE_CONNECTIONS,
        SENDING_MODES,
    )

    selectors = strings()["selector"]
    expected = {
        "connection_type": {"core_knx", "automatic", "tunneling", "routing"},
        "tunneling_type": {"tunneling", "tunneling_tcp", "tunneling_tcp_secure"},
        "model": set(MODELS),
        "phase_connection": set(PHASE_CONNECTIONS),
        "sending_mode": set(SENDING_MODES),
        "balancing_after_init": set(BALANCING_AFTER_INIT),
    }
    for key, options in expected.items():
        assert set(selectors[key]["options"]) == options, key
    assert expected["tunneling_type"] <= set(CONNECTION_TYPES)
