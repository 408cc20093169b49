"""Lifetime-energy sensor: built from session energy (46/95), restored, never decreasing."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, entity_id, ga, hub_entry

CONN1 = "sensor.garage_connector_1_lifetime_energy"


def wh(value: int) -> tuple[int, ...]:
    """DPT 13.010 payload (4-byte signed big-endian Wh)."""
    return tuple(value.to_bytes(4, "big", signed=True))


async def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(CONN1)
    assert state is not None
    return state.state


async def test_dropout_and_session_reset(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert entity_id(hass, "sensor", "CHG1_conn1_lifetime_energy") == CONN1
    state = hass.states.get(CONN1)
    assert state is not None and state.state == STATE_UNKNOWN
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert state.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
    steps = [(800, "0.8"), (895, "0.895"), (0, "0.895"), (897, "0.897"), (0, "0.897"), (120, "1.017")]
    for value, expected in steps:
        await knx.receive_write(ga(46), wh(value))
        assert float(await _state(hass)) == float(expected), value
    # connector 2 counts on its own
    await knx.receive_write(ga(95), wh(500))
    conn2 = hass.states.get(entity_id(hass, "sensor", "CHG1_conn2_lifetime_energy"))
    assert conn2 is not None and float(conn2.state) == 0.5
    assert float(await _state(hass)) == 1.017


async def test_unplug_between_sessions_counts_new_session(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(46), wh(895))
    await knx.receive_write(ga(36), 0)  # vehicle unplugged
    await knx.receive_write(ga(46), wh(0))
    await knx.receive_write(ga(36), 1)
    await knx.receive_write(ga(46), wh(900))  # first report of the new session already above 895
    assert float(await _state(hass)) == 1.795


async def test_restore_continues_without_double_count(hass: HomeAssistant, knx: KnxTestKit) -> None:
    stored: dict[str, Any] = {
        "native_value": 10000.0,
        "native_unit_of_measurement": "Wh",
        "lifetime": {"version": 1, "total_wh": 10000.0, "last_session_wh": 895.0, "session_time_at_last": None},
    }
    mock_restore_cache_with_extra_data(hass, [(State(CONN1, "10.0"), stored)])
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert float(await _state(hass)) == 10.0
    await knx.receive_response(ga(46), wh(895))  # answer to the start-up read
    assert float(await _state(hass)) == 10.0
    await knx.receive_write(ga(46), wh(897))
    assert float(await _state(hass)) == 10.002
    # what will be stored at shutdown
    platform = hass.data["entity_components"]["sensor"]
    entity = platform.get_entity(CONN1)
    data = entity.extra_restore_state_data.as_dict()
    assert data["lifetime"]["total_wh"] == 10002.0
    assert data["lifetime"]["last_session_wh"] == 897.0
    assert entry.runtime_data.chargers["CHG1"].value(46) == 897


async def test_restore_from_plain_sensor_data(hass: HomeAssistant, knx: KnxTestKit) -> None:
    mock_restore_cache_with_extra_data(
        hass, [(State(CONN1, "2.0"), {"native_value": 2000.0, "native_unit_of_measurement": "Wh"})]
    )
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert float(await _state(hass)) == 2.0
    await knx.receive_write(ga(46), wh(300))  # unknown session baseline: the reading counts
    assert float(await _state(hass)) == 2.3


async def test_invalid_stored_data_starts_fresh(hass: HomeAssistant, knx: KnxTestKit) -> None:
    stored = {"native_value": 5.0, "native_unit_of_measurement": "Wh", "lifetime": {"total_wh": -3}}
    mock_restore_cache_with_extra_data(hass, [(State(CONN1, "0.005"), stored)])
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert await _state(hass) == STATE_UNKNOWN
    await knx.receive_write(ga(46), wh(100))
    assert float(await _state(hass)) == 0.1
