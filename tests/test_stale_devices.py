"""Stale devices: a deleted charger subentry takes its devices and entities along; manual removal."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.knx_evse import async_remove_config_entry_device
from custom_components.knx_evse.const import DOMAIN
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    entity_id,
    hub_entry,
    registered_device,
)

BASIC = {"phases": 1, "connectors": 1}


async def test_removing_a_charger_subentry_removes_its_devices_and_entities(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await knx.setup(
        hub_entry(
            [
                charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL),
                charger_subentry("CHG2", "Carport", BASIC, {"13": ["2/0/13"]}, main=2),
            ]
        )
    )
    entities = er.async_get(hass)
    garage_power = entity_id(hass, "sensor", "CHG1_evse_active_power")
    assert registered_device(hass, "CHG1_connector_2") is not None

    assert hass.config_entries.async_remove_subentry(entry, "CHG1")
    await knx.flush()
    await knx.drain_reads()

    for identifier in ("CHG1", "CHG1_connector_1", "CHG1_connector_2"):
        assert registered_device(hass, identifier) is None, identifier
    assert entities.async_get(garage_power) is None
    assert not [e for e in er.async_entries_for_config_entry(entities, entry.entry_id) if e.unique_id.startswith("CHG1_")]
    assert registered_device(hass, "CHG2") is not None
    assert list(entry.runtime_data.chargers) == ["CHG2"]
    assert hass.states.get(entity_id(hass, "sensor", "CHG2_evse_active_power")) is not None


async def test_only_devices_no_charger_uses_can_be_deleted(
    hass: HomeAssistant, knx: KnxTestKit, hass_ws_client: WebSocketGenerator
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC, {"13": ["1/0/13"]})]))
    charger = registered_device(hass, "CHG1")
    connector = registered_device(hass, "CHG1_connector_1")
    devices = dr.async_get(hass)
    leftover = devices.async_get_or_create(config_entry_id=entry.entry_id, identifiers={(DOMAIN, "OLD_connector_2")})
    assert charger is not None and connector is not None
    assert not await async_remove_config_entry_device(hass, entry, charger)
    assert not await async_remove_config_entry_device(hass, entry, connector)
    assert await async_remove_config_entry_device(hass, entry, leftover)

    # through the device registry's websocket command, as the UI's "Delete" does
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove_config_entry", "config_entry_id": entry.entry_id, "device_id": leftover.id}
    )
    response = await client.receive_json()
    assert response["success"], response
    assert devices.async_get(leftover.id) is None
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove_config_entry", "config_entry_id": entry.entry_id, "device_id": charger.id}
    )
    response = await client.receive_json()
    assert not response["success"]
    assert devices.async_get(charger.id) is not None
