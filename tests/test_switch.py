"""Switches: exact telegrams for every 1-bit command object, status feedback, optimistic + restore."""

from __future__ import annotations

from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_ASSUMED_STATE,
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import mock_restore_cache

from custom_components.knx_evse.entity_descriptions import SWITCHES
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    entity_id,
    ga,
    hub_entry,
)


async def _switch(hass: HomeAssistant, entity: str, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_ON if on else SERVICE_TURN_OFF, {ATTR_ENTITY_ID: entity}, blocking=True
    )


async def test_every_switch_writes_exact_telegrams(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    coordinator = entry.runtime_data.chargers["CHG1"]
    present = [d for d in SWITCHES if coordinator.has_object(d.object_number)]
    assert sorted(d.object_number for d in present) == [7, 18, 25, 26, 33, 54, 57, 60, 73, 82, 103, 106, 109, 122, 132]
    for description in present:
        entity = entity_id(hass, "switch", f"CHG1_{description.key}")
        await _switch(hass, entity, True)
        await knx.assert_write(ga(description.object_number), 1)
        await _switch(hass, entity, False)
        await knx.assert_write(ga(description.object_number), 0)
    await knx.assert_no_telegram()


async def test_write_only_switch_is_optimistic(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    block = entity_id(hass, "switch", "CHG1_evse_block")
    assert block == "switch.garage_block"
    state = hass.states.get(block)
    # before any write: what the charger starts with (unblocked), and says where that comes from
    assert state is not None and state.state == STATE_OFF and state.attributes[ATTR_ASSUMED_STATE]
    assert state.attributes["value_source"] == "parameters"
    await _switch(hass, block, True)
    await knx.assert_write(ga(25), 1)
    assert hass.states.get(block).state == STATE_ON  # type: ignore[union-attr]
    assert hass.states.get(block).attributes["value_source"] == "charger"  # type: ignore[union-attr]
    # another KNX device writes the same group address: the switch follows the bus
    await knx.receive_write(ga(25), 0)
    assert hass.states.get(block).state == STATE_OFF  # type: ignore[union-attr]


async def test_write_only_objects_show_their_ets_value_until_written(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # Auto start and auto disconnect are ETS parameters; the maximum session time too (minutes).
    params = {**SINGLE_PHASE_FULL, "auto_start": True, "auto_disconnect": False, "max_session_time": 120}
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", params)]))
    auto_start = hass.states.get(entity_id(hass, "switch", "CHG1_evse_auto_start"))
    auto_disconnect = hass.states.get(entity_id(hass, "switch", "CHG1_evse_auto_disconnect"))
    session = hass.states.get(entity_id(hass, "number", "CHG1_evse_maximum_charging_session"))
    assert auto_start is not None and auto_start.state == STATE_ON
    assert auto_disconnect is not None and auto_disconnect.state == STATE_OFF
    assert session is not None and float(session.state) == 7200.0
    assert {s.attributes["value_source"] for s in (auto_start, auto_disconnect, session)} == {"parameters"}


async def test_start_stop_state_comes_from_charging_object(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    charge = entity_id(hass, "switch", "CHG1_conn2_start_stop")
    assert charge == "switch.garage_connector_2_charge"
    assert not hass.states.get(charge).attributes.get(ATTR_ASSUMED_STATE)  # type: ignore[union-attr]
    await knx.receive_write(ga(86), 0)
    assert hass.states.get(charge).state == STATE_OFF  # type: ignore[union-attr]
    await _switch(hass, charge, True)
    await knx.assert_write(ga(82), 1)
    # the charger has not started charging yet: the switch shows "Charging" (86), not the command
    assert hass.states.get(charge).state == STATE_OFF  # type: ignore[union-attr]
    await knx.receive_write(ga(86), 1)
    assert hass.states.get(charge).state == STATE_ON  # type: ignore[union-attr]


async def test_start_stop_without_charging_object_is_optimistic_and_restored(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    mock_restore_cache(
        hass,
        [
            State("switch.garage_connector_1_charge", STATE_ON),
            State("switch.garage_auto_start_on_connect", STATE_OFF),
            State("switch.garage_charging_allowed", STATE_ON),
        ],
    )
    parameters = {"phases": 1, "connectors": 1, "session_objects": True}
    addresses = {"33": ["1/0/33"], "26": ["1/0/26"], "18": ["1/0/18"]}
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters, addresses)]))
    charge = entity_id(hass, "switch", "CHG1_conn1_start_stop")
    state = hass.states.get(charge)
    assert state is not None and state.state == STATE_ON and state.attributes[ATTR_ASSUMED_STATE]
    assert hass.states.get(entity_id(hass, "switch", "CHG1_evse_auto_start")).state == STATE_OFF  # type: ignore[union-attr]
    assert hass.states.get(entity_id(hass, "switch", "CHG1_evse_pause_restart")).state == STATE_ON  # type: ignore[union-attr]
    await _switch(hass, charge, False)
    await knx.assert_write("1/0/33", 0)
    assert hass.states.get(charge).state == STATE_OFF  # type: ignore[union-attr]
