"""Binary sensors: every 1-bit status object after injected telegrams, device classes."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorDeviceClass
from homeassistant.const import ATTR_DEVICE_CLASS, STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant

from custom_components.knx_evse.entity_descriptions import BINARY_SENSORS
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    enable_all_entities,
    entity_id,
    ga,
    hub_entry,
)


async def test_every_binary_sensor_follows_its_object(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await enable_all_entities(hass, knx, entry)
    coordinator = entry.runtime_data.chargers["CHG1"]
    present = [d for d in BINARY_SENSORS if coordinator.has_object(d.object_number)]
    # 10, 20, 36-44, 85-93 and the six balancing outputs 137 … 212
    assert sorted(d.object_number for d in present) == sorted(
        [10, 20, *range(36, 45), *range(85, 94), *(137 + 15 * n for n in range(6))]
    )
    for description in present:
        entity = entity_id(hass, "binary_sensor", f"CHG1_{description.key}")
        assert hass.states.get(entity).state == STATE_UNKNOWN  # type: ignore[union-attr]
        await knx.receive_write(ga(description.object_number), 1)
        assert hass.states.get(entity).state == STATE_ON, description.key  # type: ignore[union-attr]
        await knx.receive_write(ga(description.object_number), 0)
        assert hass.states.get(entity).state == STATE_OFF, description.key  # type: ignore[union-attr]
    await knx.assert_no_telegram()


async def test_device_classes(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    expected = {
        "conn1_vehicle_connected": BinarySensorDeviceClass.PLUG,
        "conn2_charging": BinarySensorDeviceClass.BATTERY_CHARGING,
        "evse_communication_error": BinarySensorDeviceClass.PROBLEM,
        "evse_fail_safe_status": BinarySensorDeviceClass.PROBLEM,
        "conn1_fault": BinarySensorDeviceClass.PROBLEM,
    }
    for key, device_class in expected.items():
        state = hass.states.get(entity_id(hass, "binary_sensor", f"CHG1_{key}"))
        assert state is not None and state.attributes[ATTR_DEVICE_CLASS] == device_class, key
    comm = hass.states.get(entity_id(hass, "binary_sensor", "CHG1_evse_communication_error"))
    assert comm is not None and comm.entity_id == "binary_sensor.garage_communication_error"


async def test_communication_error_reports_problem(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", {"error_objects": True}, {"20": ["1/0/20"]})]))
    entity = entity_id(hass, "binary_sensor", "CHG1_evse_communication_error")
    await knx.receive_write("1/0/20", 1)
    assert hass.states.get(entity).state == STATE_ON  # type: ignore[union-attr]
    await knx.receive_write("1/0/20", (1,))  # a 1-byte payload is not DPT 1.005: ignored
    assert hass.states.get(entity).state == STATE_ON  # type: ignore[union-attr]
    await knx.receive_response("1/0/20", 0)
    assert hass.states.get(entity).state == STATE_OFF  # type: ignore[union-attr]
