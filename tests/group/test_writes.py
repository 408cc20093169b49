"""Manual writes to a managed charger: its Current limit and Charge become the override, others are refused."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from tests.group.harness import CARPORT_MEMBER, CONN1, FAST, plug, sent, set_meter, setup_group, state
from tests.knx_harness import KnxTestKit

LIMIT_1 = "number.garage_connector_1_current_limit"
CHARGE_1 = "switch.garage_connector_1_charge"
MODE_1 = "select.garage_connector_1_charge_mode"
ASSIGNED_1 = "sensor.garage_connector_1_balancing_limit"
REASON_1 = "sensor.garage_connector_1_balancing_reason"
GARAGE_WHOLE = {"charger": "CHG1", "connector": 0, "max_current": 16, "name": "Garage"}


async def _set(hass: HomeAssistant, entity: str, value: float) -> None:
    await hass.services.async_call(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity, ATTR_VALUE: value}, blocking=True)


async def _switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    service = SERVICE_TURN_ON if on else SERVICE_TURN_OFF
    await hass.services.async_call(SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: entity}, blocking=True)


def _override(hass: HomeAssistant, select: str = MODE_1) -> Any:
    found = hass.states.get(select)
    assert found is not None
    return found.attributes["override"]


async def _conn1(hass: HomeAssistant, knx: KnxTestKit, meter: float, amps: float, **member: Any) -> BalancingGroup:
    """Garage connector 1 alone on a 20 A supply, plugged in and drawing ``amps``; start-up writes taken."""
    set_meter(hass, meter)
    _, group = await setup_group(hass, knx, [{**CONN1, **member}], limit=20, carport=True, **FAST)
    await plug(knx, 1, 1, amps)
    telegrams = await sent(knx)
    assert ("1/0/33", True) in telegrams
    return group


async def test_a_raise_is_the_override_written_within_the_budget(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # Min+Solar without export: 6 A. 14 A on the meter, 6 A of it the car: 8 A of other load on 20 A.
    group = await _conn1(hass, knx, 14 * 230, 6.0, mode="min_solar")
    assert group.members[0].limit == 6.0
    await _set(hass, LIMIT_1, 16)
    given = group.members[0].limit
    assert 6.0 < given < 16.0 and group.available is not None and given <= group.available
    assert await sent(knx) == [("1/0/31", given)]  # the group's write, within the budget; no raw 16 A
    assert _override(hass) == 16.0
    assert state(hass, ASSIGNED_1) == str(given)
    assert state(hass, LIMIT_1) == str(given)  # the number shows what the charger was given
    assert state(hass, REASON_1) == "override"
    assert state(hass, MODE_1) == "min_solar"


async def test_a_lower_limit_is_the_override(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _conn1(hass, knx, 460, 0.0)  # 2 A of other load: the member's maximum, 16 A
    assert group.members[0].limit == 16.0
    await _set(hass, LIMIT_1, 10)
    assert await sent(knx) == [("1/0/31", 10.0)]
    assert _override(hass) == 10.0
    assert state(hass, ASSIGNED_1) == "10.0"
    assert state(hass, LIMIT_1) == "10.0"
    # the next rounds keep it: no silent raise back to 16 A
    set_meter(hass, 461)
    assert await sent(knx) == []
    assert group.members[0].limit == 10.0


async def test_charge_off_pauses_and_on_returns_to_the_mode(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _conn1(hass, knx, 460, 0.0)
    await _switch(hass, CHARGE_1, False)
    assert await sent(knx) == [("1/0/33", False)]
    assert _override(hass) == 0.0
    assert state(hass, ASSIGNED_1) == "0.0"
    assert state(hass, CHARGE_1) == "off"
    set_meter(hass, 460)  # reported again, as a meter does: a start counts on a reading after the last one
    await _switch(hass, CHARGE_1, True)
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]
    assert _override(hass) is None
    assert group.mode_of(0) == "fast" and state(hass, ASSIGNED_1) == "16.0"
    assert state(hass, CHARGE_1) == "on"


async def test_charge_on_keeps_a_limit_set_just_before(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # The solar and tariff blueprints set the Current limit, then turn Charge on.
    await _conn1(hass, knx, 460, 0.0)
    await _set(hass, LIMIT_1, 10)
    assert await sent(knx) == [("1/0/31", 10.0)]
    await _switch(hass, CHARGE_1, True)
    assert await sent(knx) == []
    assert _override(hass) == 10.0 and state(hass, ASSIGNED_1) == "10.0"


async def test_charge_on_in_mode_off_stays_paused(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await _conn1(hass, knx, 1000, 0.0)
    await _set(hass, LIMIT_1, 8)
    assert await sent(knx) == [("1/0/31", 8.0)]
    await hass.services.async_call(DOMAIN, "set_charge_mode", {"entity_id": MODE_1, "mode": "off"}, blocking=True)
    assert await sent(knx) == [("1/0/33", False)]
    await _switch(hass, CHARGE_1, True)  # back to the mode: off
    assert await sent(knx) == []
    assert state(hass, ASSIGNED_1) == "0.0"


@pytest.mark.parametrize(("value", "maximum"), [(5, 16), (1, 16), (12, 10)])
async def test_a_limit_outside_the_member_range_is_refused(
    hass: HomeAssistant, knx: KnxTestKit, value: float, maximum: float
) -> None:
    group = await _conn1(hass, knx, 1000, 0.0, max_current=maximum)
    with pytest.raises(ServiceValidationError) as raised:
        await _set(hass, LIMIT_1, value)
    assert raised.value.translation_key == "override_out_of_range"
    assert raised.value.translation_placeholders["max"] == f"{maximum:g}"
    assert await sent(knx) == []
    assert group.members[0].override is None


@pytest.mark.parametrize(
    ("members", "entity", "value", "member"),
    [
        # a connector is the member: the charger's limit, power limit and pause act on it too
        ([CONN1], "number.garage_current_limit", 10, "Garage connector 1"),
        ([CONN1], "number.garage_active_power_limit", 2300, "Garage connector 1"),
        ([CONN1], "number.garage_connector_1_active_power_limit", 2300, "Garage connector 1"),
        ([CONN1], "switch.garage_charging_allowed", False, "Garage connector 1"),
        # the whole two-connector charger is the member: it splits its limit between the cars
        ([GARAGE_WHOLE], "number.garage_connector_1_current_limit", 10, "Garage"),
        ([GARAGE_WHOLE], "number.garage_connector_2_active_power_limit", 2300, "Garage"),
        ([GARAGE_WHOLE], "switch.garage_connector_2_charge", False, "Garage"),
        ([GARAGE_WHOLE], "switch.garage_charging_allowed", True, "Garage"),
        # a one-connector charger: its connector's limit is not the one the group writes (object 1)
        ([CARPORT_MEMBER], "number.carport_connector_1_current_limit", 10, "Carport"),
        ([CARPORT_MEMBER], "switch.carport_charging_allowed", False, "Carport"),
    ],
)
async def test_a_write_the_group_cannot_represent_is_refused(
    hass: HomeAssistant, knx: KnxTestKit, members: list[dict[str, Any]], entity: str, value: Any, member: str
) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, members, carport=True, **FAST)
    await plug(knx, 1, 1, 0.0)
    await plug(knx, 2, 1, 0.0)
    await sent(knx)
    with pytest.raises(ServiceValidationError) as raised:
        if entity.startswith("switch."):
            await _switch(hass, entity, value)
        else:
            await _set(hass, entity, value)
    assert raised.value.translation_domain == DOMAIN
    assert raised.value.translation_key == "managed_by_balancing_group"
    assert raised.value.translation_placeholders["group"] == "House"
    assert raised.value.translation_placeholders["member"] == member
    assert await sent(knx) == []
    assert group.members[0].override is None


async def test_a_whole_charger_member_routes_its_own_limit_and_charge(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CARPORT_MEMBER], carport=True, **FAST)
    await plug(knx, 2, 1, 0.0)
    assert ("2/0/33", True) in await sent(knx)
    await _set(hass, "number.carport_current_limit", 10)
    assert await sent(knx) == [("2/0/1", 10.0)]
    assert group.members[0].override == 10.0
    await _switch(hass, "switch.carport_connector_1_charge", False)
    assert await sent(knx) == [("2/0/33", False)]
    assert group.members[0].override == 0.0
    assert state(hass, "sensor.carport_balancing_limit") == "0.0"


async def test_chargers_outside_the_group_are_written_directly(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _conn1(hass, knx, 1000, 0.0)
    await _set(hass, "number.carport_current_limit", 10)  # another charger
    assert await sent(knx) == [("2/0/1", 10.0)]
    await _set(hass, "number.garage_connector_2_current_limit", 10)  # the member's neighbour
    assert await sent(knx) == [("1/0/80", 10.0)]
    await _switch(hass, "switch.garage_connector_2_charge", False)
    assert await sent(knx) == [("1/0/82", False)]
    assert group.members[0].override is None


async def test_a_group_that_is_off_leaves_writes_to_the_charger(hass: HomeAssistant, knx: KnxTestKit) -> None:
    group = await _conn1(hass, knx, 1000, 0.0)
    await _switch(hass, "switch.house_balancing", False)
    await _set(hass, LIMIT_1, 10)
    await _set(hass, "number.garage_current_limit", 12)
    assert await sent(knx) == [("1/0/31", 10.0), ("1/0/1", 12.0)]
    assert group.members[0].override is None
