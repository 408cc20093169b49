"""Balancing-group controls: services (targets, validation, nothing sent on bad data), select, switch, restore."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.components.select import SERVICE_SELECT_OPTION
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import area_registry as ar
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import floor_registry as fr
from homeassistant.helpers import label_registry as lr
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from tests.group.harness import CARPORT_MEMBER, CONN1, CONN2, FAST, plug, sent, set_meter, setup_group, state
from tests.knx_harness import KnxTestKit, registered_device

MODE_1 = "select.garage_connector_1_charge_mode"
MODE_2 = "select.garage_connector_2_charge_mode"
LIMIT_1 = "sensor.garage_connector_1_balancing_limit"
SWITCH = "switch.house_balancing"


async def _two_members(hass: HomeAssistant, knx: KnxTestKit, **data: Any) -> BalancingGroup:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1, CONN2], limit=40, carport=True, **{**FAST, **data})
    await plug(knx, 1, 1, 0.0)
    await plug(knx, 1, 2, 0.0)
    set_meter(hass, 1001)
    telegrams = await sent(knx)
    assert ("1/0/33", True) in telegrams and ("1/0/82", True) in telegrams
    return group


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> None:
    await hass.services.async_call(DOMAIN, service, data, blocking=True)


def _device(hass: HomeAssistant, identifier: str) -> str:
    device = registered_device(hass, identifier)
    assert device is not None
    return device.id


async def test_set_charge_mode_by_entity_and_by_device(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx, solar_stop_delay=0)
    await _call(hass, "set_charge_mode", {"entity_id": MODE_2, "mode": "solar"})
    assert await sent(knx) == [("1/0/82", False)]  # importing: no export for the solar car
    assert state(hass, MODE_2) == "solar"
    assert state(hass, "sensor.garage_connector_2_balancing_reason") == "paused_no_surplus"
    # a connector's device targets that member; the charger's device targets both connectors
    await _call(hass, "set_charge_mode", {"device_id": _device(hass, "CHG1_connector_1"), "mode": "off"})
    assert await sent(knx) == [("1/0/33", False)]
    await _call(hass, "set_charge_mode", {"device_id": [_device(hass, "CHG1")], "mode": "fast"})
    assert [group.mode_of(0), group.mode_of(1)] == ["fast", "fast"]
    assert state(hass, MODE_1) == "fast"
    await sent(knx)


async def test_an_area_targets_its_members_and_passes_over_other_devices(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    garage = ar.async_get(hass).async_create("Garage")
    devices = dr.async_get(hass)
    for identifier in ("CHG1_connector_1", "CHG1_connector_2", "CHG2"):  # CHG2 is not in the group
        devices.async_update_device(_device(hass, identifier), area_id=garage.id)
    await _call(hass, "set_current_limit", {"area_id": garage.id, "current": 10})
    assert [m.override for m in group.members] == [10.0, 10.0]
    await _call(hass, "set_charge_mode", {"area_id": garage.id, "mode": "off"})
    assert [group.mode_of(0), group.mode_of(1)] == ["off", "off"]
    assert await sent(knx) == [("1/0/31", 10.0), ("1/0/80", 10.0), ("1/0/33", False), ("1/0/82", False)]


async def test_a_floor_targets_the_members_in_its_areas(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    ground = fr.async_get(hass).async_create("Ground floor")
    garage = ar.async_get(hass).async_create("Garage", floor_id=ground.floor_id)
    dr.async_get(hass).async_update_device(_device(hass, "CHG1"), area_id=garage.id)
    await _call(hass, "set_charge_mode", {"floor_id": ground.floor_id, "mode": "solar"})
    assert [group.mode_of(0), group.mode_of(1)] == ["solar", "solar"]
    await sent(knx)


async def test_a_label_on_an_entity_targets_that_member_only(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    label = lr.async_get(hass).async_create("Second car")
    er.async_get(hass).async_update_entity(MODE_2, labels={label.label_id})
    await _call(hass, "set_charge_mode", {"label_id": label.label_id, "mode": "off"})
    assert [group.mode_of(0), group.mode_of(1)] == ["fast", "off"]
    assert await sent(knx) == [("1/0/82", False)]


async def test_an_area_without_members_is_refused(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    carport = ar.async_get(hass).async_create("Carport")
    dr.async_get(hass).async_update_device(_device(hass, "CHG2"), area_id=carport.id)  # not in the group
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, "set_charge_mode", {"area_id": carport.id, "entity_id": MODE_1, "mode": "off"})
    assert raised.value.translation_key == "not_a_balancing_member"
    assert raised.value.translation_placeholders == {"target": carport.id}
    assert group.mode_of(0) == "fast"
    assert await sent(knx) == []


async def test_set_current_limit_override_pause_and_clear(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    assert group.members[0].limit == 16.0
    await _call(hass, "set_current_limit", {"entity_id": LIMIT_1, "current": 10})
    assert await sent(knx) == [("1/0/31", 10.0)]
    assert hass.states.get(MODE_1).attributes["override"] == 10.0  # type: ignore[union-attr]
    assert state(hass, "sensor.garage_connector_1_balancing_reason") == "override"
    await _call(hass, "set_current_limit", {"entity_id": MODE_1, "current": 0})
    assert await sent(knx) == [("1/0/33", False)]
    set_meter(hass, 1001)  # reported again, as a meter does: a start counts on a reading after the last start (docs/balancing.md, "Timing")
    await _call(hass, "set_current_limit", {"entity_id": MODE_1, "clear": True})
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]
    assert hass.states.get(MODE_1).attributes["override"] is None  # type: ignore[union-attr]


async def test_override_never_exceeds_the_breaker_budget(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    set_meter(hass, 1000 + 5000)  # 26 A of other load on 40 A: 14 A left for both
    await sent(knx)
    await _call(hass, "set_current_limit", {"entity_id": MODE_1, "current": 16})
    await sent(knx)
    decision = group.decision
    assert decision is not None and sum(decision.limits) <= decision.available  # type: ignore[operator]
    assert group.members[0].limit < 16


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("set_current_limit", {"entity_id": MODE_1, "current": 5}, "override_out_of_range"),
        ("set_current_limit", {"entity_id": MODE_1, "current": 100}, "override_out_of_range"),
        ("set_current_limit", {"entity_id": MODE_1, "current": -1}, "override_out_of_range"),
        ("set_current_limit", {"entity_id": MODE_1, "current": 20}, "override_out_of_range"),  # member max 16
        ("set_current_limit", {"entity_id": MODE_1, "current": "abc"}, "invalid_current"),
        ("set_current_limit", {"entity_id": MODE_1, "current": "nan"}, "invalid_current"),
        ("set_current_limit", {"entity_id": MODE_1, "current": 10, "clear": True}, "current_or_clear"),
        ("set_current_limit", {"entity_id": MODE_1}, "current_or_clear"),
        ("set_charge_mode", {"entity_id": MODE_1, "mode": "turbo"}, "invalid_charge_mode"),
        ("set_charge_mode", {"entity_id": "sensor.garage_connector_1_current", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"entity_id": "sensor.unknown", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"device_id": "carport", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"device_id": "nonexistent", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"area_id": "nowhere", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"label_id": "nothing", "mode": "fast"}, "not_a_balancing_member"),
        ("set_charge_mode", {"area_id": [], "mode": "fast"}, "no_target"),
        ("set_charge_mode", {"mode": "fast"}, "no_target"),
    ],
)
async def test_bad_service_data_raises_a_translated_error_and_sends_nothing(
    hass: HomeAssistant, knx: KnxTestKit, service: str, data: dict[str, Any], key: str
) -> None:
    group = await _two_members(hass, knx)
    if data.get("device_id") == "carport":  # a knx_evse charger that is not in the group
        data = {**data, "device_id": _device(hass, "CHG2")}
    modes = [group.mode_of(0), group.mode_of(1)]
    with pytest.raises(ServiceValidationError) as raised:
        await _call(hass, service, data)
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == key
    assert await sent(knx) == []
    assert [group.mode_of(0), group.mode_of(1)] == modes
    assert [m.override for m in group.members] == [None, None]


async def test_a_bad_target_among_good_ones_changes_nothing(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    with pytest.raises(ServiceValidationError):
        await _call(hass, "set_charge_mode", {"entity_id": [MODE_1, "sensor.garage_connector_1_current"], "mode": "off"})
    assert group.mode_of(0) == "fast"
    assert await sent(knx) == []


async def test_select_and_switch(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _two_members(hass, knx)
    await hass.services.async_call(
        SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: MODE_1, "option": "off"}, blocking=True
    )
    assert await sent(knx) == [("1/0/33", False)]
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: SWITCH}, blocking=True)
    assert state(hass, SWITCH) == "off"
    assert state(hass, "sensor.house_balancing_state") == "disabled"
    assert state(hass, "sensor.garage_connector_2_balancing_reason") == "group_disabled"
    set_meter(hass, 8000)
    assert await sent(knx) == []  # off: nothing is sent
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: SWITCH}, blocking=True)
    telegrams = await sent(knx)
    assert group.enabled and state(hass, "sensor.house_balancing_state") == "balancing"
    # every member is written again: 5.2 A are left (34.8 A of other load), so both are paused
    assert telegrams == [("1/0/33", False), ("1/0/82", False)]


async def test_modes_overrides_and_switch_are_restored(hass: HomeAssistant, knx: KnxTestKit) -> None:
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(SWITCH, "off"), {}),
            (State(MODE_2, "min_solar"), {"override": None}),
            (State(MODE_1, "solar"), {"override": 10.0}),
        ],
    )
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1, CONN2], limit=40, **FAST)
    assert not group.enabled
    assert [group.mode_of(0), group.mode_of(1)] == ["solar", "min_solar"]
    assert group.members[0].override == 10.0
    assert state(hass, MODE_1) == "solar" and state(hass, SWITCH) == "off"
    await plug(knx, 1, 1, 0.0)
    await plug(knx, 1, 2, 0.0)
    assert await sent(knx) == []  # the group is off
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: SWITCH}, blocking=True)
    assert ("1/0/31", 10.0) in await sent(knx)  # the restored override, whatever the solar mode


async def test_restored_override_above_a_lowered_maximum_is_dropped(hass: HomeAssistant, knx: KnxTestKit) -> None:
    mock_restore_cache_with_extra_data(hass, [(State(MODE_1, "fast"), {"override": 30.0})])
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], **FAST)
    assert group.members[0].override is None


async def test_charging_car_is_adopted_after_a_restart(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000 + 16 * 230)
    await setup_group(hass, knx, [CONN1, CARPORT_MEMBER], carport=True, limit=40, **FAST)
    await plug(knx, 1, 1, 16.0)
    await plug(knx, 2, 1, 0.0, connected=False)
    telegrams = await sent(knx)
    # The charging car is not stopped, only written its limit; the charger without a car is left alone.
    assert telegrams == [("1/0/31", 16.0), ("1/0/33", True)]
