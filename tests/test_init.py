"""Hub config entry: set-up, start-up reads, unload, retry, reload on subentry changes, devices."""

from __future__ import annotations

import asyncio
import logging
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from xknx.exceptions import CommunicationError

from custom_components.knx_evse.charger.liveness import MAX_STARTUP_READS
from custom_components.knx_evse.const import CONF_GROUP_ADDRESSES, CONF_PARAMETERS
from custom_components.knx_evse.runtime import KnxEvseRuntime
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    THREE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    device_subentries,
    entity_id,
    ga,
    hub_entry,
    registered_device,
)

BASIC = {"phases": 1, "connectors": 1}


async def test_setup_creates_runtime_devices_and_unload_closes_connection(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert isinstance(runtime, KnxEvseRuntime)
    assert list(runtime.chargers) == ["CHG1"]
    assert runtime.groups == {}
    assert runtime.hub.connected

    charger = registered_device(hass, "CHG1")
    conn2 = registered_device(hass, "CHG1_connector_2")
    assert charger is not None and charger.name == "Garage"
    assert conn2 is not None and conn2.via_device_id == charger.id
    assert conn2.name == "Garage connector 2"
    assert device_subentries(conn2, entry.entry_id) == {"CHG1"}

    xknx = knx.xknx
    assert xknx is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not runtime.hub.connected
    assert not xknx.started.is_set()
    assert xknx.knxip_interface.stop.await_count == 1  # type: ignore[attr-defined]
    assert runtime.hub.xknx.telegram_queue.telegram_received_cbs == []
    pending = [t for t in asyncio.all_tasks() if "knx_evse" in t.get_name() or "xknx" in repr(t.get_coro())]
    assert pending == []


async def test_connection_failure_raises_not_ready(hass: HomeAssistant, knx: KnxTestKit) -> None:
    knx.start_error = CommunicationError("Tunnel connection could not be established")
    entry = hub_entry([charger_subentry("CHG1", "Garage", BASIC)])
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None and "Tunnel connection could not be established" in entry.reason


async def test_startup_reads_essentials_first_capped(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", THREE_PHASE_FULL)]), drain_reads=False)
    reads = await knx.drain_reads()
    assert len(reads) == MAX_STARTUP_READS
    # limits first, then states, session energy, power, currents.
    assert reads[:6] == [ga(n) for n in (3, 4, 61, 63, 110, 112)]
    assert reads[6:9] == [ga(n) for n in (10, 19, 20)]
    assert ga(46) in reads and ga(95) in reads
    assert reads.index(ga(46)) < reads.index(ga(13)) < reads.index(ga(15))
    # write-only objects are never read
    assert ga(1) not in reads and ga(33) not in reads


async def test_reads_only_linked_objects(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {"1": ["1/0/1"], "3": ["1/0/3", "1/0/203"], "46": ["1/0/46"]}
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC, addresses)]), drain_reads=False)
    assert await knx.drain_reads() == ["1/0/3", "1/0/46"]


async def test_reconnect_reads_again(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {"3": ["1/0/3"], "13": ["1/0/13"]}
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC, addresses)]))
    knx.set_connected(False)
    assert await knx.drain_reads() == []
    knx.set_connected(True)
    assert await knx.drain_reads() == ["1/0/3", "1/0/13"]


async def test_subentry_change_reloads_and_removes_stale_devices_and_entities(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    conn2_power = entity_id(hass, "sensor", "CHG1_conn2_active_power")
    old_runtime = entry.runtime_data
    subentry = entry.subentries["CHG1"]
    parameters = {**SINGLE_PHASE_FULL, "connectors": 1}
    data = dict(subentry.data)
    data[CONF_PARAMETERS] = parameters
    data[CONF_GROUP_ADDRESSES] = {k: v for k, v in data[CONF_GROUP_ADDRESSES].items() if int(k) < 80 or int(k) > 122}
    hass.config_entries.async_update_subentry(entry, subentry, data=data)
    await knx.flush()
    await knx.drain_reads()

    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_runtime
    assert entry.runtime_data.chargers["CHG1"].connectors == (1,)
    assert registered_device(hass, "CHG1_connector_2") is None
    assert registered_device(hass, "CHG1_connector_1") is not None
    assert er.async_get(hass).async_get(conn2_power) is None
    assert hass.states.get(entity_id(hass, "sensor", "CHG1_conn1_active_power")) is not None


async def test_adding_a_charger_subentry_reloads(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC, {"13": ["1/0/13"]})]))
    new = charger_subentry("CHG2", "Carport", BASIC, {"13": ["2/0/13"]}, main=2)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=new["data"],  # type: ignore[arg-type]
            subentry_id="CHG2",
            subentry_type=new["subentry_type"],
            title=new["title"],
            unique_id=new["unique_id"],
        ),
    )
    await knx.flush()
    assert sorted(await knx.drain_reads()) == ["1/0/13", "2/0/13"]
    assert sorted(entry.runtime_data.chargers) == ["CHG1", "CHG2"]
    # one connection for both chargers
    hubs = {id(c.hub) for c in entry.runtime_data.chargers.values()}
    assert len(hubs) == 1
    await knx.receive_write("2/0/13", (0x45, 0x3B, 0x80, 0x00))  # 3000 W
    assert hass.states.get(entity_id(hass, "sensor", "CHG2_evse_active_power")).state == "3000.0"
    assert hass.states.get(entity_id(hass, "sensor", "CHG1_evse_active_power")).state == "unknown"


async def test_invalid_charger_is_skipped_others_work(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    bad = charger_subentry("BAD", "Broken", BASIC, {"80": ["1/0/80"]})  # connector 2 on a 1-connector model
    good = charger_subentry("CHG2", "Carport", BASIC, {"13": ["2/0/13"]}, main=2)
    with caplog.at_level(logging.ERROR):
        entry = await knx.setup(hub_entry([bad, good]))
    assert entry.state is ConfigEntryState.LOADED
    assert list(entry.runtime_data.chargers) == ["CHG2"]
    assert "Broken" in caplog.text and "object 80" in caplog.text


async def test_knxkeys_path_is_under_storage(hass: HomeAssistant) -> None:
    from custom_components.knx_evse.knx.hub import knxkeys_path

    expected = hass.config.path(".storage", "knx_evse", "site.knxkeys")
    assert knxkeys_path(hass, "site.knxkeys") == expected
    assert knxkeys_path(hass, "knx_evse/site.knxkeys") == expected
    assert knxkeys_path(hass, None) is None


async def test_reads_are_paced_hub_wide_and_unload_cancels_them(
    hass: HomeAssistant, knx: KnxTestKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custom_components.knx_evse.knx.hub import KnxEvseHub

    monkeypatch.setattr(KnxEvseHub, "read_interval", 3600)
    entry = hub_entry(
        [
            charger_subentry("CHG1", "Garage", BASIC, {"3": ["1/0/3"], "13": ["1/0/13"]}),
            charger_subentry("CHG2", "Carport", BASIC, {"3": ["2/0/3"], "13": ["2/0/13"]}, main=2),
        ]
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert knx.xknx is not None
    await knx.xknx.telegrams.join()
    # one read on the bus; the next waits out the interval, the other charger waits for the hub
    sent = knx.sent_nowait()
    assert [str(t.destination_address) for t in sent] == ["1/0/3"]
    chargers = list(entry.runtime_data.chargers.values())
    assert not any(c.startup_reads_done for c in chargers)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert all(c.startup_reads_done for c in chargers)
    assert knx.sent_nowait() == []


async def test_connection_loss_and_restore_are_logged_once_each_at_info(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    garage = charger_subentry("CHG1", "Garage", BASIC)
    carport = charger_subentry("CHG2", "Carport", BASIC, main=2)
    caplog.set_level(logging.DEBUG, logger="custom_components.knx_evse")
    entry = await knx.setup(hub_entry([garage, carport]))
    caplog.clear()
    for connected in (False, False, True, True):  # xknx may report a state twice
        knx.set_connected(connected)
        await knx.flush()
    assert await knx.drain_reads()  # the chargers are read again after the reconnect
    ours = [r for r in caplog.records if r.name.startswith("custom_components.knx_evse") and r.levelno >= logging.INFO]
    assert [(r.levelno, r.getMessage()) for r in ours] == [
        (logging.INFO, f"KNX connection of {entry.title} lost"),
        (logging.INFO, f"KNX connection of {entry.title} restored"),
    ]
    caplog.clear()
    await hass.config_entries.async_unload(entry.entry_id)
    assert "lost" not in caplog.text


async def test_connector_device_name_is_translated(hass: HomeAssistant, knx: KnxTestKit) -> None:
    german = {"component.knx_evse.device.connector.name": "{charger} Anschluss {connector}"}
    with patch(
        "homeassistant.helpers.translation.async_get_cached_translations",
        side_effect=lambda _hass, _language, category, _domain=None: german if category == "device" else {},
    ):
        await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    connector = registered_device(hass, "CHG1_connector_2")
    assert connector is not None and connector.name == "Garage Anschluss 2"
