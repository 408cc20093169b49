"""Sensors: state of every status object after injected telegrams, bad telegrams, availability."""

from __future__ import annotations

import logging

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.entity_descriptions import SENSORS
from custom_components.knx_evse.knx.objects import OBJECTS
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    THREE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    enable_all_entities,
    entity_id,
    ga,
    hub_entry,
)

# DPT → (payload as the charger sends it, Home Assistant state). Payloads worked out by hand from
# the KNX DPT definitions (IEEE 754 floats for 14.x, big-endian ints for 7.x/13.x, Latin-1 for 16.001).
SAMPLES: dict[str, tuple[tuple[int, ...], str]] = {
    "14.019": ((0x41, 0x48, 0x00, 0x00), "12.5"),
    "14.056": ((0x45, 0x66, 0x00, 0x00), "3680.0"),
    "13.010": ((0x00, 0x00, 0x04, 0xD2), "1234"),
    "7.005": ((0x02, 0x58), "600"),
    "16.001": ((*b"TAG123", *([0] * 8)), "TAG123"),
    "20.1219": ((3,), "charging_with_ventilation"),
    "20.1220": ((3,), "suspended_evse"),
    "20.1221": ((4,), "high_temperature"),
}


@pytest.mark.parametrize("parameters", [SINGLE_PHASE_FULL, THREE_PHASE_FULL], ids=["single_phase", "three_phase"])
async def test_every_status_sensor_shows_injected_value(
    hass: HomeAssistant, knx: KnxTestKit, parameters: dict[str, object]
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters)]))
    await enable_all_entities(hass, knx, entry)
    coordinator = entry.runtime_data.chargers["CHG1"]
    present = [d for d in SENSORS if coordinator.has_object(d.object_number)]
    assert len(present) >= 30
    for description in present:
        state = hass.states.get(entity_id(hass, "sensor", f"CHG1_{description.key}"))
        assert state is not None and state.state == STATE_UNKNOWN, description.key
    for description in present:
        payload, expected = SAMPLES[OBJECTS[description.object_number].dpt]
        await knx.receive_write(ga(description.object_number), payload)
        state = hass.states.get(entity_id(hass, "sensor", f"CHG1_{description.key}"))
        assert state is not None and state.state == expected, (description.key, state)
    await knx.assert_no_telegram()


async def test_model_decides_which_current_sensors_exist(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(
        hub_entry(
            [
                charger_subentry("ONE", "Single", SINGLE_PHASE_FULL),
                charger_subentry("THREE", "Triple", THREE_PHASE_FULL, main=2),
            ]
        )
    )
    registry = er.async_get(hass)
    for key in ("evse_single_phase_current", "conn1_single_phase_current", "conn2_single_phase_current"):
        assert registry.async_get_entity_id("sensor", DOMAIN, f"ONE_{key}") is not None
        assert registry.async_get_entity_id("sensor", DOMAIN, f"THREE_{key}") is None
    for key in ("evse_l1_current", "conn1_l2_current", "conn2_l3_current"):
        assert registry.async_get_entity_id("sensor", DOMAIN, f"ONE_{key}") is None
        assert registry.async_get_entity_id("sensor", DOMAIN, f"THREE_{key}") is not None
    # balancing master only on the single-phase model with load balancing, disabled by default
    balancing = registry.async_get(entity_id(hass, "sensor", "ONE_balancing_evse6_current_limit"))
    assert balancing is not None and balancing.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert registry.async_get_entity_id("sensor", DOMAIN, "THREE_balancing_evse1_current_limit") is None
    rfid = registry.async_get(entity_id(hass, "sensor", "ONE_conn1_rfid_tag_started"))
    assert rfid is not None and rfid.disabled_by is er.RegistryEntryDisabler.INTEGRATION


async def test_attributes_names_and_enum_options(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    power = hass.states.get(entity_id(hass, "sensor", "CHG1_conn1_active_power"))
    assert power is not None
    assert power.entity_id == "sensor.garage_connector_1_active_power"
    assert power.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.POWER
    assert power.attributes[ATTR_UNIT_OF_MEASUREMENT] == "W"
    assert power.attributes[ATTR_STATE_CLASS] == SensorStateClass.MEASUREMENT
    current = hass.states.get(entity_id(hass, "sensor", "CHG1_evse_single_phase_current"))
    assert current is not None and current.attributes[ATTR_STATE_CLASS] == SensorStateClass.MEASUREMENT
    assert current.attributes[ATTR_UNIT_OF_MEASUREMENT] == "A"
    session_time = hass.states.get(entity_id(hass, "sensor", "CHG1_conn2_session_time"))
    assert session_time is not None and session_time.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.DURATION
    session_energy = hass.states.get(entity_id(hass, "sensor", "CHG1_conn1_session_energy"))
    assert session_energy is not None and ATTR_STATE_CLASS not in session_energy.attributes
    pilot = hass.states.get(entity_id(hass, "sensor", "CHG1_conn1_pilot_state"))
    assert pilot is not None and pilot.entity_id == "sensor.garage_connector_1_pilot_state"
    assert pilot.attributes["options"][0] == "standby" and "reserved" not in pilot.attributes["options"]
    ocpp = hass.states.get(entity_id(hass, "sensor", "CHG1_conn2_ocpp_state"))
    assert ocpp is not None and "reserved" in ocpp.attributes["options"]  # OCPP 7 is a real state
    error = hass.states.get(entity_id(hass, "sensor", "CHG1_evse_error_code"))
    assert error is not None and error.attributes["options"][-1] == "no_error"
    assert er.async_get(hass).async_get(error.entity_id).entity_category == "diagnostic"  # type: ignore[union-attr]


async def test_listening_address_and_response_update_state(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {"13": ["1/0/13", "5/5/13"]}
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", {"phases": 1}, addresses)]))
    power = entity_id(hass, "sensor", "CHG1_evse_active_power")
    await knx.receive_write("5/5/13", (0x45, 0x66, 0x00, 0x00))
    assert hass.states.get(power).state == "3680.0"  # type: ignore[union-attr]
    await knx.receive_response("1/0/13", (0x00, 0x00, 0x00, 0x00))
    assert hass.states.get(power).state == "0.0"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("number", "bad_payload"),
    [
        (13, (0x45, 0x66, 0x00)),  # 3 bytes for a 4-byte float
        (13, 1),  # a 1-bit payload
        (13, (0x7F, 0xC0, 0x00, 0x00)),  # NaN
        (34, (200,)),  # reserved Control Pilot State
        (19, (0,)),  # reserved error code (0)
        (45, (0x01,)),  # 1 byte for 7.005
    ],
)
async def test_bad_telegrams_ignored_last_value_kept_logged_once(
    hass: HomeAssistant,
    knx: KnxTestKit,
    caplog: pytest.LogCaptureFixture,
    number: int,
    bad_payload: int | tuple[int, ...],
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    description = next(d for d in SENSORS if d.object_number == number)
    good_payload, good_state = SAMPLES[OBJECTS[number].dpt]
    sensor = entity_id(hass, "sensor", f"CHG1_{description.key}")
    await knx.receive_write(ga(number), good_payload)
    with caplog.at_level(logging.DEBUG, logger="custom_components.knx_evse"):
        caplog.clear()
        for _ in range(3):
            await knx.receive_write(ga(number), bad_payload)
    assert hass.states.get(sensor).state == good_state  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and ga(number) in r.getMessage()]
    assert len(warnings) == 1
    assert f"object {number}" in warnings[0].getMessage()
    coordinator = entry.runtime_data.chargers["CHG1"]
    assert coordinator.telegrams_invalid == 3
    await knx.receive_write(ga(number), good_payload)
    assert hass.states.get(sensor).state == good_state  # type: ignore[union-attr]


async def test_group_value_read_from_bus_is_never_answered(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(3), (0x41, 0x48, 0x00, 0x00))
    for number in (1, 3, 13, 33, 46):
        await knx.receive_read(ga(number))
    await knx.assert_no_telegram()
    assert entry.runtime_data.hub.reads_ignored == 5


async def test_entities_unavailable_while_connection_is_down(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(47), (0x45, 0x66, 0x00, 0x00))
    ids = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.disabled_by is None
    ]
    assert len(ids) > 50
    knx.set_connected(False)
    await knx.flush()
    assert {hass.states.get(i).state for i in ids} == {STATE_UNAVAILABLE}  # type: ignore[union-attr]
    knx.set_connected(True)
    await knx.flush()
    await knx.drain_reads()
    assert STATE_UNAVAILABLE not in {hass.states.get(i).state for i in ids}  # type: ignore[union-attr]
    assert hass.states.get(entity_id(hass, "sensor", "CHG1_conn1_active_power")).state == "3680.0"  # type: ignore[union-attr]
