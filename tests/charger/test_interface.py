"""ChargerInterface: a member's currents, plug and charging state as the balancing reads them."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.knx_evse.charger.interface import ChargerInterface
from custom_components.knx_evse.knx.dpt import ControlPilotState, OcppState
from tests.charger.test_coordinator import _coordinator, f32
from tests.knx_harness import SINGLE_PHASE_FULL, THREE_PHASE_FULL, KnxTestKit, all_group_addresses, ga


async def test_measurements_single_and_three_phase(hass: HomeAssistant, knx: KnxTestKit) -> None:
    one = await _coordinator(knx, SINGLE_PHASE_FULL)
    assert ChargerInterface(one, 1).measured_current() is None and ChargerInterface(one, 1).phase_currents() == (None,)
    await knx.receive_write(ga(48), f32(10.5))
    await knx.receive_write(ga(97), f32(7.0))
    await knx.receive_write(ga(96), f32(1610.0))
    assert ChargerInterface(one, 1).phase_currents() == (10.5,)
    assert ChargerInterface(one, 2).measured_current() == 7.0
    assert ChargerInterface(one, 2).measured_power() == 1610.0
    assert ChargerInterface(one, None).measured_power() is None


async def test_three_phase_currents(hass: HomeAssistant, knx: KnxTestKit) -> None:
    three = await _coordinator(knx, THREE_PHASE_FULL)
    await knx.receive_write(ga(15), f32(8.0))
    await knx.receive_write(ga(17), f32(9.5))
    assert ChargerInterface(three, None).phase_currents() == (8.0, None, 9.5)
    assert ChargerInterface(three, None).measured_current() == 9.5
    assert three.max_power(None) == 32 * 230 * 3


async def test_connected_and_charging_from_individual_objects_or_states(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)
    assert ChargerInterface(coordinator, 1).vehicle_connected() is None and ChargerInterface(coordinator, 1).charging() is None
    await knx.receive_write(ga(34), (ControlPilotState.CHARGING_WITH_VENTILATION.value,))
    assert ChargerInterface(coordinator, 1).vehicle_connected() is True and ChargerInterface(coordinator, 1).charging() is True
    await knx.receive_write(ga(34), (ControlPilotState.STANDBY.value,))
    assert ChargerInterface(coordinator, 1).vehicle_connected() is False and ChargerInterface(coordinator, 1).charging() is False
    await knx.receive_write(ga(84), (OcppState.SUSPENDED_EVSE.value,))
    assert ChargerInterface(coordinator, 2).vehicle_connected() is True and ChargerInterface(coordinator, 2).charging() is False
    await knx.receive_write(ga(84), (OcppState.CHARGING.value,))
    assert ChargerInterface(coordinator, 2).charging() is True
    # the individual objects win over the derived states
    await knx.receive_write(ga(86), 0)
    await knx.receive_write(ga(85), 0)
    assert ChargerInterface(coordinator, 2).charging() is False and ChargerInterface(coordinator, 2).vehicle_connected() is False


async def test_write_role_names_the_limit_the_stop_and_the_other_control_objects(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)
    roles = {
        connector: {n: ChargerInterface(coordinator, connector).write_role(n) for n in (1, 2, 18, 31, 32, 33, 80, 81, 82, 6, 25)}
        for connector in (None, 1)
    }
    # the whole charger: its limit is object 1; both connectors' Start/Stop pause it, so neither alone does
    assert roles[None] == {
        1: "limit", 2: "other", 18: "other", 31: "other", 32: "other", 33: "other",
        80: "other", 81: "other", 82: "other", 6: None, 25: None,
    }
    # connector 1: its limit and Start/Stop; the charger's objects act on it too, connector 2's do not
    assert roles[1] == {
        1: "other", 2: "other", 18: "other", 31: "limit", 32: "other", 33: "stop",
        80: None, 81: None, 82: None, 6: None, 25: None,
    }


async def test_a_whole_charger_without_start_stop_is_paused_by_pause_restart(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    addresses = {n: gas for n, gas in all_group_addresses(SINGLE_PHASE_FULL).items() if n not in ("33", "82")}
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL, addresses)
    whole = ChargerInterface(coordinator, None)
    assert whole.stop_objects == (18,)
    assert whole.write_role(18) == "stop" and whole.write_role(1) == "limit"


async def test_a_whole_charger_that_splits_its_limit_reports_its_vehicles_and_busiest_connector(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    # Manual, "Dynamic balancing in models with two connectors": 50/50 between two plugged vehicles.
    three = await _coordinator(knx, THREE_PHASE_FULL)
    whole = ChargerInterface(three, None)
    assert whole.sharing_connectors() == 2  # unknown plug states count as plugged: never 3 A per car
    await knx.receive_write(ga(36), 1)
    await knx.receive_write(ga(85), 0)
    assert whole.sharing_connectors() == 1
    await knx.receive_write(ga(85), 1)
    assert whole.sharing_connectors() == 2
    assert ChargerInterface(three, 1).sharing_connectors() == 1 and ChargerInterface(three, 1).busiest_current() is None
    for number, amps in ((49, 8.0), (50, 8.0), (51, 7.5)):
        await knx.receive_write(ga(number), f32(amps))
    assert whole.busiest_current() is None  # connector 2's draw is not known yet
    await knx.receive_write(ga(96), f32(2760.0))  # connector 2: 2760 W on three phases = 4 A
    assert whole.busiest_current() == 8.0
    await knx.receive_write(ga(98), f32(11.0))
    assert whole.busiest_current() == 11.0


async def test_a_two_phase_charger_reports_each_connector_and_does_not_split(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, {**SINGLE_PHASE_FULL, "phase_connection": "different"})
    whole = ChargerInterface(coordinator, None)
    assert whole.currents() is None
    await knx.receive_write(ga(14), f32(13.0))  # the charger's total says nothing about either phase
    assert whole.currents() is None
    await knx.receive_write(ga(48), f32(9.0))
    assert whole.currents() == (9.0, 9.0)  # the unknown connector counts as the known one
    await knx.receive_write(ga(96), f32(920.0))
    assert whole.currents() == (9.0, 4.0)
    await knx.receive_write(ga(36), 1)
    await knx.receive_write(ga(85), 1)
    assert whole.sharing_connectors() == 1 and whole.busiest_current() is None  # each connector up to the limit
