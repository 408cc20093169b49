"""The hub on the connection of Home Assistant's KNX integration (core knx), over a real knxd bus.

Two tunnel clients meet on knxd (knxbus/): core knx, set up in Home Assistant as a user would
(tunnelling to 127.0.0.1:3671 of the bus's namespace), and the simulated "Garage" charger on a
tunnel of its own. The knx_evse hub has no tunnel: its start-up reads leave through ``knx.read``,
its writes through ``knx.send``, and the charger's answers reach it as ``knx_event``. Nothing is
faked between them. Needs root (network namespace) and knxd; skipped with the reason otherwise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx.telegram.apci import GroupValueResponse

from custom_components.knx_evse.const import CONF_KNX_CONNECTION_TYPE, CONF_KNX_CORE
from custom_components.knx_evse.knx.hub import KnxEvseHub
from knxbus.knxd import KnxdBus
from simulator.charger import SimulatedCharger
from simulator.installation import load_installation
from tests.core_knx_harness import CORE_KNX_DATA
from tests.e2e.test_integration_e2e import CHARGER, SimClock, Stack, _record_sent, hub_with_charger, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("bus_netns", "sockets_enabled")]


@pytest.fixture
async def core_stack(hass: HomeAssistant, bus_netns: KnxdBus, tmp_path: Path) -> AsyncIterator[Stack]:
    """The charger on its tunnel, core knx on another, the hub on core knx; yields after the start-up reads."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "configuration.yaml").write_text("")  # core knx reads its YAML when set up
    hass.config.config_dir = str(config_dir)
    data = load_installation("demo").charger(CHARGER)
    charger = SimulatedCharger(data)
    charger.start()
    charger.step(float(charger.params.delay_at_start))
    host = await charger.connect(bus_netns.gateway_ip, bus_netns.port, "127.0.0.1")
    clock = SimClock(charger)
    core = MockConfigEntry(
        domain="knx",
        title="KNX",
        data={
            **CORE_KNX_DATA,
            "connection_type": "tunneling",
            "host": bus_netns.gateway_ip,
            "port": bus_netns.port,
            "local_ip": "127.0.0.1",
            "route_back": False,
        },
    )
    entry = hub_with_charger("KNX integration", {CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE}, data, CONF_KNX_CORE)
    stack = Stack(hass, bus_netns, charger, host, clock, entry)
    _record_sent(charger, stack.sent_by_charger)
    try:
        core.add_to_hass(hass)
        assert await hass.config_entries.async_setup(core.entry_id)
        await hass.async_block_till_done()
        assert core.state is ConfigEntryState.LOADED
        with patch.object(KnxEvseHub, "read_interval", 0.01):
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
            assert entry.state is ConfigEntryState.LOADED
            await wait_for(lambda: stack.hub.connected, 10, "core knx connected to knxd")
            await wait_for(
                lambda: stack.coordinator.startup_reads_done and stack.coordinator.reads_sent, 10, "start-up reads"
            )
            yield stack
    finally:
        for config_entry in (entry, core):
            if config_entry.state is ConfigEntryState.LOADED:
                assert await hass.config_entries.async_unload(config_entry.entry_id)
                await hass.async_block_till_done()
        await clock.stop()
        await stack.host.stop()


async def test_start_up_reads_are_answered_and_a_write_is_followed(core_stack: Stack) -> None:
    """Reads through knx.read reach the charger; its responses, through knx_event, fill the entities."""
    stack = core_stack
    assert stack.hub.xknx is None  # no tunnel of our own
    coordinator = stack.coordinator
    plan = coordinator.read_plan()
    await wait_for(lambda: len(stack.sent_by_charger) >= len(plan), 5, "a response to every read")
    assert all(isinstance(t.payload, GroupValueResponse) for t in stack.sent_by_charger)
    await wait_for(lambda: coordinator.telegrams_received >= len(plan), 3, "the responses at the coordinator")
    assert stack.number("number", "evse_current_limit") == 32.0  # from status object 3
    assert stack.number("sensor", "evse_current_limit_status") == 32.0
    assert stack.state("sensor", "conn1_ocpp_state") == "available"

    await stack.service("number", "set_value", "evse_current_limit", value=16)
    await wait_for(lambda: stack.charger.current_limit == 16.0, 3, "simulator limit 16 A")
    await wait_for(lambda: stack.number("sensor", "evse_current_limit_status") == 16.0, 3, "status 16 A")
    status = coordinator.state(3)
    assert status is not None and status.source == "bus" and status.value == 16.0
    assert stack.hub.reads_ignored == 0


async def test_core_knx_reload_is_followed_by_a_read_again(core_stack: Stack) -> None:
    """Core knx reloads (its tunnel closes and opens again): the hub goes down, comes back and reads again."""
    stack = core_stack
    coordinator = stack.coordinator
    changes: list[bool] = []
    stack.hub.async_add_connection_listener(changes.append)
    reads_before = coordinator.reads_sent
    with patch.object(KnxEvseHub, "read_interval", 0.01):
        (core,) = stack.hass.config_entries.async_entries("knx")
        assert await stack.hass.config_entries.async_reload(core.entry_id)
        await wait_for(lambda: changes[-1:] == [True], 10, "connected again")
        await wait_for(lambda: coordinator.startup_reads_done and coordinator.reads_sent > reads_before, 10, "reads again")
    assert changes[0] is False
    # core knx forgot the event registrations with its reload: heard again only if made again
    heard = coordinator.telegrams_received
    await stack.service("number", "set_value", "evse_current_limit", value=16)
    await wait_for(lambda: stack.charger.current_limit == 16.0, 3, "simulator limit 16 A")
    await wait_for(lambda: stack.number("sensor", "evse_current_limit_status") == 16.0, 3, "status 16 A")
    assert coordinator.telegrams_received > heard
