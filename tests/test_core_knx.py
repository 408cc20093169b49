"""A hub on the connection of Home Assistant's own KNX integration (core knx), both loaded for real.

Core knx runs on a faked KNX/IP interface (tests/core_knx_harness.py): what it sends is captured,
and telegrams "from the bus" enter its telegram queue. The hub has no xknx of its own: its reads
and writes must leave through core knx's ``knx.read``/``knx.send``, and what the chargers send must
reach the coordinators through ``knx_event``.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from xknx.telegram import TelegramDirection
from xknx.telegram.address import GroupAddress, GroupAddressType
from xknx.telegram.apci import GroupValueWrite

from custom_components.knx_evse.const import CORE_KNX_DOMAIN
from custom_components.knx_evse.diagnostics import async_get_config_entry_diagnostics
from custom_components.knx_evse.knx.core_link import event_telegram
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.core_knx_harness import CoreKnxTestKit, core_hub_entry
from tests.knx_harness import charger_subentry, entity_id, ga

BASIC = {"phases": 1, "connectors": 1, "block_object": True}
ADDRESSES = {"1": [ga(1)], "3": [ga(3)], "13": [ga(13)], "25": [ga(25)]}
"""Current limit (1, write), its status (3, read at start), charger state (13, read at start), block (25)."""
F16 = (0x41, 0x80, 0x00, 0x00)  # 16.0 A (DPT 14)
F32 = (0x42, 0x00, 0x00, 0x00)  # 32.0 A


def _charger(addresses: dict[str, list[str]] | None = None) -> list:
    return [charger_subentry("CHG1", "Garage", BASIC, ADDRESSES if addresses is None else addresses)]


def _state(hass: HomeAssistant, platform: str, key: str) -> str:
    state = hass.states.get(entity_id(hass, platform, f"CHG1_{key}"))
    assert state is not None
    return state.state


def _registered(kit: CoreKnxTestKit) -> set[str]:
    """The addresses event_register was asked to add since the last take."""
    return {a for data in kit.take_calls("event_register") if not data.get("remove") for a in data["address"]}


async def test_startup_registers_events_and_reads_through_knx_read(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    core_knx.take_calls()
    entry = await core_knx.setup(core_hub_entry(_charger()), drain_reads=False)
    hub: KnxEvseHub = entry.runtime_data.hub
    assert entry.state is ConfigEntryState.LOADED
    assert hub.connected and hub.xknx is None  # no xknx of our own
    calls, core_knx.calls = core_knx.calls, []
    registrations = [data for service, data in calls if service == "event_register"]
    assert registrations and "type" not in registrations[0]  # raw data in the events
    assert {a for data in registrations for a in data["address"]} == {ga(1), ga(3), ga(13), ga(25)}
    reads = [data["address"] for service, data in calls if service == "read"]
    assert entry.runtime_data.chargers["CHG1"].read_plan() == [3, 13]
    assert reads == [ga(3), ga(13)]
    # they left through core knx's xknx, in order
    assert await core_knx.drain_reads() == [ga(3), ga(13)]


async def test_writes_go_out_through_knx_send_with_the_raw_payload(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    core_knx.take_calls()
    limit = entity_id(hass, "number", "CHG1_evse_current_limit")
    await hass.services.async_call(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: limit, ATTR_VALUE: 16}, blocking=True)
    await core_knx.assert_write(ga(1), F16)
    block = entity_id(hass, "switch", "CHG1_evse_block")
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_ON, {ATTR_ENTITY_ID: block}, blocking=True)
    await core_knx.assert_write(ga(25), 1)
    assert core_knx.take_calls("send") == [
        {"address": ga(1), "payload": list(F16)},  # DPTArray: a list of bytes
        {"address": ga(25), "payload": 1},  # DPTBinary: an int
    ]
    assert entry.runtime_data.hub.telegrams_sent == 2 + 2  # and the two start-up reads


async def test_incoming_telegrams_reach_the_entities_and_echoes_and_reads_are_ignored(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    hub: KnxEvseHub = entry.runtime_data.hub
    coordinator = entry.runtime_data.chargers["CHG1"]
    await core_knx.receive_response(ga(3), F32)
    assert float(_state(hass, "sensor", "evse_current_limit_status")) == 32.0
    await core_knx.receive_write(ga(3), F16)
    assert float(_state(hass, "sensor", "evse_current_limit_status")) == 16.0
    assert (hub.telegrams_received, coordinator.telegrams_received) == (2, 2)

    # our own write comes back from core knx as an outgoing knx_event: not dispatched
    limit = entity_id(hass, "number", "CHG1_evse_current_limit")
    await hass.services.async_call(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: limit, ATTR_VALUE: 32}, blocking=True)
    await core_knx.assert_write(ga(1), F32)
    # nor is what core knx sends for someone else
    await hass.services.async_call(CORE_KNX_DOMAIN, "send", {"address": ga(3), "payload": list(F32)}, blocking=True)
    await core_knx.assert_write(ga(3), F32)
    assert float(_state(hass, "sensor", "evse_current_limit_status")) == 16.0
    assert (hub.telegrams_received, coordinator.telegrams_received) == (2, 2)

    # a read from the bus is counted and never answered
    await core_knx.receive_read(ga(3))
    assert hub.reads_ignored == 1
    await core_knx.assert_no_telegram()


@pytest.mark.parametrize("address_format", [GroupAddressType.SHORT, GroupAddressType.FREE])
async def test_addresses_in_the_format_of_core_knxs_project(
    hass: HomeAssistant, core_knx: CoreKnxTestKit, address_format: GroupAddressType
) -> None:
    # core knx sets xknx's address format from its project, for every GroupAddress printed
    with patch.object(GroupAddress, "address_format", address_format):
        printed = str(GroupAddress(ga(3)))
        assert printed != ga(3)
        core_knx.take_calls()
        await core_knx.setup(core_hub_entry(_charger()))
        assert printed in _registered(core_knx)
        events: list[Event] = []
        hass.bus.async_listen("knx_event", events.append)
        await core_knx.receive_write(ga(3), F16)
        assert events[-1].data["destination"] == printed
        assert float(_state(hass, "sensor", "evse_current_limit_status")) == 16.0


async def test_core_knx_connection_down_makes_entities_unavailable_and_up_reads_again(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    await core_knx.receive_response(ga(3), F32)
    assert _state(hass, "sensor", "evse_current_limit_status") != STATE_UNAVAILABLE
    core_knx.set_connected(False)  # core knx's tunnel is lost
    await core_knx.flush()
    assert not entry.runtime_data.hub.connected
    assert _state(hass, "sensor", "evse_current_limit_status") == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.chargers["CHG1"].async_write_object(1, 16)
    assert err.value.translation_key == "not_connected"
    core_knx.set_connected(True)
    assert await core_knx.drain_reads() == [ga(3), ga(13)]  # the coordinator reads its state again
    assert float(_state(hass, "sensor", "evse_current_limit_status")) == 32.0


async def test_core_knx_reload_registers_again_and_reads_again(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    hub: KnxEvseHub = entry.runtime_data.hub
    changes: list[bool] = []
    hub.async_add_connection_listener(changes.append)
    core_knx.take_calls()
    assert await hass.config_entries.async_reload(core_knx.core_entry.entry_id)
    await core_knx.flush()
    assert changes == [False, True]
    assert _registered(core_knx) == {ga(1), ga(3), ga(13), ga(25)}  # core knx forgot them
    assert await core_knx.drain_reads() == [ga(3), ga(13)]
    await core_knx.receive_write(ga(3), F16)  # heard through the new registration
    assert float(_state(hass, "sensor", "evse_current_limit_status")) == 16.0


async def test_core_knx_unloaded_refuses_writes_until_it_is_back(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    await core_knx.unload_core_knx()
    assert entry.state is ConfigEntryState.LOADED
    assert not entry.runtime_data.hub.connected
    assert _state(hass, "sensor", "evse_current_limit_status") == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.chargers["CHG1"].async_write_object(1, 16)
    assert err.value.translation_key == "not_connected"
    assert err.value.translation_placeholders == {"group_address": ga(1), "hub": entry.title}
    await core_knx.setup_core_knx()
    assert entry.runtime_data.hub.connected
    assert await core_knx.drain_reads() == [ga(3), ga(13)]


async def test_disabled_connected_since_sensor_falls_back_to_the_loaded_entry(
    hass: HomeAssistant, core_knx: CoreKnxTestKit
) -> None:
    registry = er.async_get(hass)
    sensor = registry.async_get_entity_id("sensor", CORE_KNX_DOMAIN, f"_{core_knx.core_entry.entry_id}_connected_since")
    assert sensor is not None
    registry.async_update_entity(sensor, disabled_by=er.RegistryEntryDisabler.USER)
    entry = await core_knx.setup(core_hub_entry(_charger()))
    hub: KnxEvseHub = entry.runtime_data.hub
    assert hub.connected
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["connection"]["connection_state_from"] == "core knx's config entry being loaded"
    core_knx.set_connected(False)  # nothing tells us: the documented limit of the fallback
    await core_knx.flush()
    assert hub.connected
    core_knx.set_connected(True)
    await core_knx.unload_core_knx()
    assert not hub.connected


async def test_hub_waits_for_core_knx_that_loads_later(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    await core_knx.unload_core_knx()  # set up, not loaded yet (e.g. while Home Assistant starts)
    entry = await core_knx.setup(core_hub_entry(_charger()), drain_reads=False)
    assert entry.state is ConfigEntryState.LOADED
    assert not entry.runtime_data.hub.connected
    await core_knx.setup_core_knx()
    assert entry.runtime_data.hub.connected
    assert await core_knx.drain_reads() == [ga(3), ga(13)]


async def test_without_core_knx_the_hub_retries_with_a_translated_reason(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    await core_knx.unload_core_knx()
    assert await hass.config_entries.async_remove(core_knx.core_entry.entry_id)
    entry = core_hub_entry(_charger())
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "core_knx_missing"
    assert not [e for e in hass.config_entries.async_entries(CORE_KNX_DOMAIN)]


async def test_unloading_the_hub_removes_its_registrations(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    core_knx.take_calls()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await core_knx.flush()
    removed = [data for data in core_knx.take_calls("event_register") if data.get("remove")]
    assert {a for data in removed for a in data["address"]} == {ga(1), ga(3), ga(13), ga(25)}
    events: list[Event] = []
    hass.bus.async_listen("knx_event", events.append)
    await core_knx.receive_write(ga(3), F16)
    assert events == []  # core knx no longer fires events for them


async def test_diagnostics_show_the_route_and_core_knxs_entry(hass: HomeAssistant, core_knx: CoreKnxTestKit) -> None:
    entry = await core_knx.setup(core_hub_entry(_charger()))
    connection = (await async_get_config_entry_diagnostics(hass, entry))["connection"]
    assert connection["type"] == "core_knx"
    assert connection["route"] == "core_knx"
    assert connection["core_knx_entry_id"] == core_knx.core_entry.entry_id
    assert connection["core_knx_loaded"] is True
    assert connection["connection_state_from"].startswith("sensor.")
    assert connection["registered_addresses"] == 4
    assert connection["connected"] is True
    assert "xknx_version" not in connection


def test_event_telegram_rebuilds_incoming_value_telegrams_only() -> None:
    base = {"destination": "1/0/3", "source": "1.1.1", "direction": "Incoming"}
    write = event_telegram({**base, "telegramtype": "GroupValueWrite", "data": (1, 2)})
    assert write is not None and write.direction is TelegramDirection.INCOMING
    assert isinstance(write.payload, GroupValueWrite) and write.payload.value.value == (1, 2)
    assert event_telegram({**base, "telegramtype": "GroupValueResponse", "data": 1}).payload.value.value == 1  # type: ignore[union-attr]
    assert event_telegram({**base, "direction": "Outgoing", "telegramtype": "GroupValueWrite", "data": 1}) is None
    assert event_telegram({**base, "telegramtype": "MemoryWrite", "data": None}) is None
    assert event_telegram({**base, "destination": "not an address", "telegramtype": "GroupValueRead", "data": None}) is None
