"""Snapshots of every platform's entities, as peblar has them: what a user's registry and states hold.

A VE 742 with every object (built-in master included), a VE 222 with every optional object, and a
balancing group over both, the VE 742's connectors in a circuit. Each platform's entities are written as a version-independent record
(entity id, unique id, device, subentry, category, enabled, translation key, device class, unit,
state and attributes) to ``snapshots/test_platform_snapshots/*.json``. A refactor that changes
any of it shows as a snapshot diff. Update with ``scripts/test tests/test_platform_snapshots.py
--snapshot-update`` after checking the diff.
"""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.group.harness import FAST, GROUP_ID, group_subentry, set_meter
from tests.knx_harness import SINGLE_PHASE_FULL, THREE_PHASE_FULL, KnxTestKit, charger_subentry, hub_entry

PLATFORMS = ("binary_sensor", "button", "number", "select", "sensor", "switch", "text", "time")
MEMBERS = [
    {"charger": "CHG1", "connector": 1, "max_current": 16, "phase": 1, "circuit": "gb"},
    {"charger": "CHG1", "connector": 2, "max_current": 16, "phase": 2, "circuit": "gb"},
    {"charger": "CHG2", "connector": 0, "max_current": 32},
]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """JSON snapshots: readable diffs, and the same file on every syrupy version."""
    return snapshot.use_extension(JSONSnapshotExtension)


def _record(hass: HomeAssistant, entity: er.RegistryEntry) -> dict[str, Any]:
    device = dr.async_get(hass).async_get(entity.device_id) if entity.device_id else None
    state = hass.states.get(entity.entity_id)
    return {
        "entity_id": entity.entity_id,
        "unique_id": entity.unique_id,
        "device": device.name if device else None,
        "subentry": entity.config_subentry_id,
        "category": entity.entity_category.value if entity.entity_category else None,
        "enabled": entity.disabled_by is None,
        "translation_key": entity.translation_key,
        "device_class": entity.original_device_class,
        "unit": entity.unit_of_measurement,
        "state": state.state if state else None,
        "attributes": {k: v for k, v in sorted(state.attributes.items()) if k != "friendly_name"}
        if state
        else None,
        "friendly_name": state.attributes.get("friendly_name") if state else None,
    }


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_platform_entities(
    hass: HomeAssistant, knx: KnxTestKit, snapshot: SnapshotAssertion, platform: str
) -> None:
    set_meter(hass, 1000)
    entry = await knx.setup(
        hub_entry(
            [
                charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL),
                charger_subentry("CHG2", "Carport", THREE_PHASE_FULL, main=2, model="VE 222"),
                group_subentry(MEMBERS, phases=3, limit=32, price_entity="sensor.price", price_limit=0.2,
                               circuits=[{"id": "gb", "name": "Garage board", "limit": 20}], **FAST),
            ]
        )
    )
    group = entry.runtime_data.groups[GROUP_ID]
    assert [m.name for m in group.members] == ["Garage connector 1", "Garage connector 2", "Carport"]
    entities = sorted(
        (e for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id) if e.domain == platform),
        key=lambda e: e.entity_id,
    )
    assert entities, platform
    assert [_record(hass, e) for e in entities] == snapshot
