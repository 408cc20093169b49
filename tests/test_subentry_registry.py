"""Devices and entities across subentries: every entity sits under the subentry that owns its device.

Since Home Assistant 2026.8 a device belongs to exactly one subentry; an entity added under another
subentry moves the device and deletes that subentry's entities. A balancing group's member entities
(charge mode, assigned limit, reason) sit on the charger's or connector's device, so they belong to
the charger's subentry, the group-wide ones to the group's. Adding, reconfiguring and removing a
group or a charger keeps every entity that should exist and leaves no orphan.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from tests.group.harness import (
    CARPORT_MEMBER,
    CONN1,
    CONN2,
    FAST,
    GROUP_ID,
    group_subentry,
    set_meter,
    setup_group,
)
from tests.knx_harness import KnxTestKit, device_subentries, registered_device

MEMBER_KEYS = ("charge_mode", "assigned_limit", "balancing_reason")


def _ours(hass: HomeAssistant, entry_id: str) -> dict[str, er.RegistryEntry]:
    """The entry's registry entities by unique id."""
    return {e.unique_id: e for e in er.async_entries_for_config_entry(er.async_get(hass), entry_id)}


def _member_ids(member: str) -> set[str]:
    return {f"{GROUP_ID}_{member}_{key}" for key in MEMBER_KEYS}


def _assert_every_entity_under_its_device_subentry(hass: HomeAssistant, entry_id: str) -> None:
    devices = dr.async_get(hass)
    for entity in _ours(hass, entry_id).values():
        assert entity.device_id is not None, entity.entity_id
        device = devices.async_get(entity.device_id)
        assert device is not None, entity.entity_id
        assert device_subentries(device, entry_id) == {entity.config_subentry_id}, entity.entity_id


async def _reload(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await hass.async_block_till_done()
    await knx.flush()
    await knx.drain_reads()


async def test_member_entities_belong_to_the_charger_subentry(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    entry, _ = await setup_group(hass, knx, [CONN1, CONN2, CARPORT_MEMBER], carport=True, **FAST)
    entities = _ours(hass, entry.entry_id)
    for member, charger in (("CHG1_1", "CHG1"), ("CHG1_2", "CHG1"), ("CHG2_0", "CHG2")):
        for unique_id in _member_ids(member):
            assert entities[unique_id].config_subentry_id == charger, unique_id
    assert entities[f"{GROUP_ID}_state"].config_subentry_id == GROUP_ID
    connector = registered_device(hass, "CHG1_connector_1")
    charger_device = registered_device(hass, "CHG1")
    assert connector is not None and charger_device is not None
    assert device_subentries(connector, entry.entry_id) == {"CHG1"}
    assert connector.via_device_id == charger_device.id
    group_device = registered_device(hass, GROUP_ID)
    assert group_device is not None and device_subentries(group_device, entry.entry_id) == {GROUP_ID}
    _assert_every_entity_under_its_device_subentry(hass, entry.entry_id)

    # a reload (any subentry change does one) keeps all of it where it is
    before = {unique_id: (e.entity_id, e.config_subentry_id) for unique_id, e in entities.items()}
    assert await hass.config_entries.async_reload(entry.entry_id)
    await _reload(hass, knx)
    after = {u: (e.entity_id, e.config_subentry_id) for u, e in _ours(hass, entry.entry_id).items()}
    assert after == before


async def test_reconfiguring_and_removing_a_group_leaves_no_orphan(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    entry, _ = await setup_group(hass, knx, [CONN1, CONN2, CARPORT_MEMBER], carport=True, **FAST)
    charger_entities = {u for u, e in _ours(hass, entry.entry_id).items() if not u.startswith(f"{GROUP_ID}_")}
    assert charger_entities

    # reconfigured without connector 2: its member entities go, the others stay
    subentry: ConfigSubentry = entry.subentries[GROUP_ID]
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, "members": [CONN1, CARPORT_MEMBER]})
    await _reload(hass, knx)
    ours = _ours(hass, entry.entry_id)
    assert not _member_ids("CHG1_2") & set(ours)
    assert _member_ids("CHG1_1") | _member_ids("CHG2_0") <= set(ours)
    assert charger_entities <= set(ours)
    _assert_every_entity_under_its_device_subentry(hass, entry.entry_id)

    # the group removed: its device and all its entities go, every charger entity stays
    hass.config_entries.async_remove_subentry(entry, GROUP_ID)
    await _reload(hass, knx)
    ours = _ours(hass, entry.entry_id)
    assert not [u for u in ours if u.startswith(f"{GROUP_ID}_")]
    assert registered_device(hass, GROUP_ID) is None
    assert set(ours) == charger_entities
    assert registered_device(hass, "CHG1_connector_2") is not None

    # added again: the member entities come back under the chargers' subentries
    hass.config_entries.async_add_subentry(entry, ConfigSubentry(**_subentry_kwargs([CONN2], **FAST)))
    await _reload(hass, knx)
    ours = _ours(hass, entry.entry_id)
    assert {ours[u].config_subentry_id for u in _member_ids("CHG1_2")} == {"CHG1"}
    _assert_every_entity_under_its_device_subentry(hass, entry.entry_id)


async def test_removing_a_charger_removes_only_its_devices_and_entities(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)
    entry, _ = await setup_group(hass, knx, [CONN1, CARPORT_MEMBER], carport=True, **FAST)
    hass.config_entries.async_remove_subentry(entry, "CHG2")
    await _reload(hass, knx)
    ours = _ours(hass, entry.entry_id)
    assert not [u for u in ours if u.startswith("CHG2_") or u.startswith(f"{GROUP_ID}_CHG2_")]
    assert registered_device(hass, "CHG2") is None
    assert _member_ids("CHG1_1") <= set(ours)
    assert f"{GROUP_ID}_state" in ours
    devices = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
        assert er.async_entries_for_device(er.async_get(hass), device.id), device.name  # no empty device
    _assert_every_entity_under_its_device_subentry(hass, entry.entry_id)


def _subentry_kwargs(members: list[dict[str, object]], **data: object) -> dict[str, object]:
    sub = group_subentry(members, **data)
    return {
        "data": sub["data"],
        "subentry_id": sub["subentry_id"],
        "subentry_type": sub["subentry_type"],
        "title": sub["title"],
        "unique_id": sub["unique_id"],
    }
