"""Numbers: exact telegrams for current/power limits and session time, validation, status feedback."""

from __future__ import annotations

import math
from typing import Any

import pytest
from homeassistant.components.number import ATTR_MAX, ATTR_MIN, ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    entity_id,
    ga,
    hub_entry,
)

F16 = (0x41, 0x80, 0x00, 0x00)  # 16.0 (DPT 14, IEEE 754)
F6 = (0x40, 0xC0, 0x00, 0x00)  # 6.0
F0 = (0x00, 0x00, 0x00, 0x00)  # 0.0
F3680 = (0x45, 0x66, 0x00, 0x00)  # 3680.0
F12_5 = (0x41, 0x48, 0x00, 0x00)  # 12.5


async def _set(hass: HomeAssistant, entity: str, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity, ATTR_VALUE: value}, blocking=True
    )


@pytest.mark.parametrize(
    ("key", "number", "value", "payload"),
    [
        ("evse_current_limit", 1, 16, F16),
        ("evse_current_limit", 1, 0, F0),
        ("conn1_current_limit", 31, 6, F6),
        ("conn2_current_limit", 80, 16, F16),
        ("evse_active_power_limit", 2, 3680, F3680),
        ("conn1_active_power_limit", 32, 0, F0),
        ("conn2_active_power_limit", 81, 3680, F3680),
        ("evse_maximum_charging_session", 6, 3600, (0x0E, 0x10)),
        ("evse_maximum_charging_session", 6, 65535, (0xFF, 0xFF)),
    ],
)
async def test_set_value_writes_exact_telegram(
    hass: HomeAssistant, knx: KnxTestKit, key: str, number: int, value: float, payload: tuple[int, ...]
) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await _set(hass, entity_id(hass, "number", f"CHG1_{key}"), value)
    await knx.assert_write(ga(number), payload)
    await knx.assert_no_telegram()


async def test_ranges_follow_parameters(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    current = hass.states.get(entity_id(hass, "number", "CHG1_conn1_current_limit"))
    assert current is not None and current.attributes[ATTR_MIN] == 0 and current.attributes[ATTR_MAX] == 16
    power = hass.states.get(entity_id(hass, "number", "CHG1_evse_active_power_limit"))
    assert power is not None and power.attributes[ATTR_MAX] == 16 * 230
    session = hass.states.get(entity_id(hass, "number", "CHG1_evse_maximum_charging_session"))
    assert session is not None and session.attributes[ATTR_MAX] == 65535


@pytest.mark.parametrize(
    ("key", "value", "translation_key"),
    [
        ("evse_current_limit", 5, "current_out_of_range"),
        ("conn1_current_limit", 1, "current_out_of_range"),
        ("conn2_current_limit", 5.9, "current_out_of_range"),
        ("evse_maximum_charging_session", 1.5, "session_time_out_of_range"),
    ],
)
async def test_rejected_service_values_send_nothing(
    hass: HomeAssistant, knx: KnxTestKit, key: str, value: float, translation_key: str
) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, entity_id(hass, "number", f"CHG1_{key}"), value)
    assert err.value.translation_domain == "knx_evse"
    assert err.value.translation_key == translation_key
    await knx.assert_no_telegram()


@pytest.mark.parametrize(
    ("call", "translation_key"),
    [
        (("async_set_current_limit", None, 17), "current_above_user_maximum"),
        (("async_set_current_limit", 1, 32), "current_above_user_maximum"),
        (("async_set_current_limit", 2, 33), "current_out_of_range"),
        (("async_set_current_limit", None, -6), "current_out_of_range"),
        (("async_set_current_limit", None, math.nan), "invalid_number"),
        (("async_set_current_limit", None, True), "invalid_number"),
        (("async_set_current_limit", 3, 10), "invalid_connector"),
        (("async_set_power_limit", None, 3681), "power_out_of_range"),
        (("async_set_power_limit", 2, -1), "power_out_of_range"),
        (("async_set_power_limit", 1, math.inf), "invalid_number"),
        (("async_set_max_session_time", 65536), "session_time_out_of_range"),
        (("async_set_max_session_time", -1), "session_time_out_of_range"),
    ],
)
async def test_coordinator_rejects_out_of_range_before_sending(
    hass: HomeAssistant, knx: KnxTestKit, call: tuple[Any, ...], translation_key: str
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    coordinator = entry.runtime_data.chargers["CHG1"]
    method, *args = call
    with pytest.raises(ServiceValidationError) as err:
        await getattr(coordinator, method)(*args)
    assert err.value.translation_key == translation_key
    assert err.value.translation_placeholders["charger"] == "Garage"
    assert coordinator.telegrams_sent == 0
    await knx.assert_no_telegram()


async def test_limit_state_comes_from_status_object(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    limit = entity_id(hass, "number", "CHG1_conn1_current_limit")
    assert limit == "number.garage_connector_1_current_limit"
    assert hass.states.get(limit).state == STATE_UNKNOWN  # type: ignore[union-attr]
    await knx.receive_write(ga(61), F12_5)
    assert hass.states.get(limit).state == "12.5"  # type: ignore[union-attr]
    await _set(hass, limit, 16)
    await knx.assert_write(ga(31), F16)
    assert hass.states.get(limit).state == "12.5"  # type: ignore[union-attr]  # until the charger confirms
    await knx.receive_write(ga(61), F16)
    assert hass.states.get(limit).state == "16.0"  # type: ignore[union-attr]
    power = entity_id(hass, "number", "CHG1_conn2_active_power_limit")
    await knx.receive_response(ga(112), F3680)
    assert hass.states.get(power).state == "3680.0"  # type: ignore[union-attr]


async def test_limit_without_status_object_is_optimistic(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", {"phases": 1}, {"1": ["1/0/1"]})]))
    limit = entity_id(hass, "number", "CHG1_evse_current_limit")
    await _set(hass, limit, 6)
    await knx.assert_write("1/0/1", F6)
    assert hass.states.get(limit).state == "6.0"  # type: ignore[union-attr]


async def test_session_time_is_restored(hass: HomeAssistant, knx: KnxTestKit) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State("number.garage_maximum_charging_session", "1800"),
                {
                    "native_max_value": 65535,
                    "native_min_value": 0,
                    "native_step": 1,
                    "native_unit_of_measurement": "s",
                    "native_value": 1800,
                },
            )
        ],
    )
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", {"session_objects": True}, {"6": ["1/0/6"]})]))
    session = entity_id(hass, "number", "CHG1_evse_maximum_charging_session")
    assert session == "number.garage_maximum_charging_session"
    assert hass.states.get(session).state == "1800.0"  # type: ignore[union-attr]
    await knx.assert_no_telegram()  # restoring never writes to the charger
