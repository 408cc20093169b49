"""Repair issues (issues.py): created and deleted with their data layout; removed subentries' and hubs' issues go."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.knx_evse import issues
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import KnxTestKit, charger_subentry, hub_entry

BASIC = {"phases": 1, "connectors": 1}


@pytest.fixture(autouse=True)
def no_idle_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the hub's idle-connection probe (if it has one) out of the telegrams."""
    monkeypatch.setattr(KnxEvseHub, "idle_probe_after", 1e9, raising=False)


async def test_balancing_hooks_create_translated_issues(hass: HomeAssistant) -> None:
    meter = issues.async_create_meter_entity_missing_issue(hass, "E1", "GRP1", "House", "sensor.grid")
    member = issues.async_create_balancing_member_removed_issue(hass, "E1", "GRP1", "House", "Carport")
    registry = ir.async_get(hass)
    found = registry.async_get_issue(DOMAIN, meter)
    assert found is not None and found.translation_key == "meter_entity_missing"
    assert found.translation_placeholders == {"group": "House", "entity_id": "sensor.grid"}
    assert found.severity is ir.IssueSeverity.ERROR and not found.is_fixable
    assert found.data == {"translation_key": "meter_entity_missing", "entry_id": "E1", "subentry_id": "GRP1"}
    found = registry.async_get_issue(DOMAIN, member)
    assert found is not None and found.translation_placeholders == {"group": "House", "charger": "Carport"}
    issues.async_delete_issue(hass, issues.ISSUE_METER_ENTITY_MISSING, entry_id="E1", subentry_id="GRP1")
    assert registry.async_get_issue(DOMAIN, meter) is None
    with pytest.raises(ValueError, match="unknown knx_evse issue"):
        issues.async_create_issue(hass, "no_such_issue", entry_id="E1")


async def test_issues_of_removed_subentries_and_hubs_are_deleted(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = hub_entry([charger_subentry("CHG1", "Garage", BASIC, {"13": ["1/0/13"]})])
    entry.add_to_hass(hass)
    gone = issues.async_create_balancing_member_removed_issue(hass, entry.entry_id, "GONE", "House", "Carport")
    kept = issues.async_create_issue(
        hass, issues.ISSUE_CHARGER_ERROR, entry_id=entry.entry_id, subentry_id="CHG1", placeholders={}
    )
    other = issues.async_create_meter_entity_missing_issue(hass, "OTHER", "GONE", "G", "sensor.x")
    await knx.setup(entry)
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, gone) is None
    assert registry.async_get_issue(DOMAIN, kept) is not None
    assert registry.async_get_issue(DOMAIN, other) is not None  # another hub's issue

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get_issue(DOMAIN, kept) is None
    assert registry.async_get_issue(DOMAIN, other) is not None
