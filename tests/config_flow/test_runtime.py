"""A charger made by the subentry flow drives the runtime: coordinator, entities, reconfigure, import.

The hub runs on the faked KNX interface of ``tests/knx_harness.py`` (no network).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.config_flow.knxproj_import import CONF_CHARGERS, CONF_PROJECT_FILE
from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.entity_descriptions import expected_unique_ids
from custom_components.knx_evse.knx.objects import OBJECTS, OBJECTS_BY_KEY
from custom_components.knx_evse.knx.parameters import ChargerParameters
from tests.config_flow.helpers import check_translations, config_dir, form_values, nest, suggested, upload
from tests.fixtures import make_charger_knxproj as gen
from tests.knx_harness import KnxTestKit, hub_entry, registered_device

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir")
__all__ = ["check_translations", "config_dir"]

PLAIN = Path(__file__).parents[1] / "fixtures" / "charger_project.knxproj"


@pytest.fixture
async def hub(hass: HomeAssistant) -> AsyncGenerator[tuple[KnxTestKit, MockConfigEntry]]:
    kit = KnxTestKit(hass)
    with kit.patched():
        entry = await kit.setup(hub_entry())
        yield kit, entry
        await hass.config_entries.async_unload(entry.entry_id)


def _key(number: int) -> str:
    return OBJECTS[number].key


async def _configure(hass: HomeAssistant, result: dict, data: dict[str, Any]) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def _through_pages(hass: HomeAssistant, result: dict, changes: dict[str, dict[str, Any]]) -> dict:
    """Submit every page up to the group addresses, with ``changes`` per step id."""
    while result["step_id"] != "group_addresses":
        result = await _configure(hass, result, form_values(result, **changes.get(result["step_id"], {})))
    return result


def _object_entities(hass: HomeAssistant, entry: MockConfigEntry, subentry_id: str) -> dict[str, str]:
    """Entity unique id → entity id of one charger."""
    return {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.config_subentry_id == subentry_id
    }


def _objects_of(unique_ids: set[str], subentry_id: str) -> set[int]:
    keys = {uid.removeprefix(f"{subentry_id}_") for uid in unique_ids}
    return {OBJECTS_BY_KEY[key].number for key in keys if key in OBJECTS_BY_KEY}


async def test_created_charger_drives_the_coordinator_and_its_entities(
    hass: HomeAssistant, hub: tuple[KnxTestKit, MockConfigEntry]
) -> None:
    kit, entry = hub
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    result = await _configure(hass, result, {"next_step_id": "charger"})
    result = await _configure(
        hass,
        result,
        {
            CONF_NAME: "Garage",
            CONF_CHARGER_IA: "1.1.30",
            CONF_MODEL: "VE 742",
            "phase_connection": "same",
            "ocpp_mode": False,
        },
    )
    result = await _through_pages(
        hass, result, {"general": {"max_user_current": 20}, "connector_1": {"individual_status": True}}
    )
    addresses = {1: "4/0/1", 3: "4/0/3", 33: "4/1/1", 37: "4/1/7", 46: "4/1/16", 47: "4/1/17", 82: "4/2/1"}
    result = await _configure(hass, result, nest(result, {_key(n): ga for n, ga in addresses.items()}))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await kit.flush()
    reads = await kit.drain_reads()  # the reloaded hub reads the new charger's status objects
    assert "4/0/3" in reads

    subentry = next(iter(entry.subentries.values()))
    coordinator = entry.runtime_data.chargers[subentry.subentry_id]
    assert coordinator.individual_address == "1.1.30"
    assert coordinator.params == ChargerParameters.from_dict(subentry.data["parameters"])
    assert coordinator.params.max_user_current == 20
    assert {n: gas for n, gas in coordinator.group_addresses.items()} == {
        n: [ga] for n, ga in addresses.items()
    }

    entities = _object_entities(hass, entry, subentry.subentry_id)
    assert set(entities) == expected_unique_ids(coordinator)
    # One entity per linked object that has a platform, nothing for enabled-but-unlinked objects.
    assert _objects_of(set(entities), subentry.subentry_id) == {n for n in addresses if OBJECTS[n].platform}
    assert coordinator.enabled_objects >= set(addresses)

    # The charger reports its current limit: the status entity follows.
    status = entities[f"{subentry.subentry_id}_{_key(3)}"]
    await kit.receive_write("4/0/3", (0x41, 0x80, 0x00, 0x00))  # 16.0 A (DPT 14.019, float32)
    assert float(hass.states.get(status).state) == 16.0
    # And a command entity writes to its sending address.
    switch = entities[f"{subentry.subentry_id}_{_key(33)}"]
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await kit.assert_write("4/1/1", 1)

    # Reconfigure: one connector (VE 741), no individual status. The device stays, stale entities go.
    device = registered_device(hass, coordinator.subentry_id)
    assert device is not None
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _configure(hass, result, form_values(result, **{CONF_MODEL: "VE 741"}))
    result = await _through_pages(hass, result, {"connector_1": {"individual_status": False}})
    assert _key(82) not in suggested(result)
    assert _key(37) not in suggested(result)
    result = await _configure(hass, result, nest(result, suggested(result)))
    assert result["reason"] == "reconfigure_successful"
    await kit.flush()
    await kit.drain_reads()

    coordinator = entry.runtime_data.chargers[subentry.subentry_id]
    assert coordinator.params.connectors == 1
    entities = _object_entities(hass, entry, subentry.subentry_id)
    assert set(entities) == expected_unique_ids(coordinator)
    assert _objects_of(set(entities), subentry.subentry_id) == {1, 3, 33, 46, 47}
    assert registered_device(hass, coordinator.subentry_id).id == device.id
    assert entry.subentries[subentry.subentry_id].data[CONF_GROUP_ADDRESSES] == {
        str(n): [addresses[n]] for n in (1, 3, 33, 46, 47)
    }


async def test_imported_chargers_run(hass: HomeAssistant, hub: tuple[KnxTestKit, MockConfigEntry]) -> None:
    kit, entry = hub
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    result = await _configure(hass, result, {"next_step_id": "knxproj"})
    result = await _configure(hass, result, {CONF_PROJECT_FILE: await upload(hass, PLAIN)})
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10", "1.1.11"]})
    result = await _configure(hass, result, form_values(result))
    result = await _configure(hass, result, nest(result, suggested(result)))
    result = await _configure(hass, result, form_values(result, leave_out_dpt_clashes=True))
    result = await _configure(hass, result, nest(result, suggested(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await kit.flush()
    await kit.drain_reads()

    chargers = {c.individual_address: c for c in entry.runtime_data.chargers.values()}
    assert set(chargers) == {"1.1.10", "1.1.11"}
    garage = chargers["1.1.10"]
    assert garage.group_addresses == gen.GARAGE_LINKS
    assert garage.params.balancing_enabled
    for coordinator in chargers.values():
        entities = _object_entities(hass, entry, coordinator.subentry_id)
        assert set(entities) == expected_unique_ids(coordinator)
        assert entities  # each imported charger has entities
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert {d.name for d in devices if d.via_device_id is None} >= {"Cargador VE Maestro", "Yard wallbox"}
