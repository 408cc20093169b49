"""The hub's idle probe: a quiet KNX connection is checked with one GroupValueRead.

A tunnelling client that only listens does not notice that its KNX/IP interface restarted (found by
the end-to-end tests on knxd: about 70 s, until xknx's heartbeat). The hub therefore sends one read
after ``idle_probe_after`` seconds without a telegram from the bus; a dead tunnel does not
acknowledge it and xknx reconnects. These tests run on the faked interface with a short interval in
real time; tests/e2e/test_integration_e2e.py checks the reconnect on a real knxd.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from types import SimpleNamespace
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from xknx.telegram import Telegram
from xknx.telegram.apci import GroupValueRead

from custom_components.knx_evse.knx.hub import DEFAULT_IDLE_PROBE_AFTER, KnxEvseHub
from tests.knx_harness import KnxTestKit, charger_subentry, ga, hub_entry

IDLE = 0.1
BASIC = {"phases": 1, "connectors": 1}


@pytest.fixture(autouse=True)
def short_idle() -> Iterator[None]:
    """Probe after IDLE s of silence instead of the default."""
    with patch.object(KnxEvseHub, "idle_probe_after", IDLE):
        yield


async def _next_sent(knx: KnxTestKit, within: float) -> Telegram | None:
    """The next telegram the integration sends within ``within`` s, None if none."""
    try:
        return await asyncio.wait_for(knx.outgoing.get(), within)
    except TimeoutError:
        return None


def test_default_is_well_below_xknx_heartbeat() -> None:
    assert 0 < DEFAULT_IDLE_PROBE_AFTER <= 30


async def test_quiet_connection_is_probed_with_a_status_read(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC)]))
    hub: KnxEvseHub = entry.runtime_data.hub
    probe = await _next_sent(knx, 5 * IDLE)
    assert probe is not None, "no probe on a quiet connection"
    assert isinstance(probe.payload, GroupValueRead)
    # the first object the coordinator read: the current limit status, a readable status object
    assert str(probe.destination_address) == ga(3)
    # (on a loaded machine the next probe may already be out when this line runs: count what was sent)
    assert hub.probes_sent >= 1
    second = await _next_sent(knx, 5 * IDLE)  # and again while it stays quiet, IDLE s later
    assert second is not None and isinstance(second.payload, GroupValueRead)
    assert hub.probes_sent >= 2
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert hub.link._cancel_probe_timer is None  # the timer is cancelled with the hub, not just ignored
    await hass.async_block_till_done()
    assert await _next_sent(knx, 3 * IDLE) is None


async def test_busy_bus_is_not_probed(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # The link's clock is a fake one, so how long the loop really takes (a loaded machine) does not
    # matter: a telegram every IDLE/2 s of the link's time keeps the bus busy.
    clock = {"now": 1000.0}
    with patch("custom_components.knx_evse.knx.xknx_link.time", SimpleNamespace(monotonic=lambda: clock["now"])):
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC)]))
        hub: KnxEvseHub = entry.runtime_data.hub
        for _ in range(8):  # a telegram from the charger every IDLE/2 s for 4 IDLE
            await knx.receive_write(ga(3), (0x0C, 0x80))
            clock["now"] += IDLE / 2
            await asyncio.sleep(IDLE / 2)  # the probe timer runs meanwhile
        assert hub.probes_sent == 0
        assert knx.outgoing.empty()
        clock["now"] += IDLE  # silence again: probed
        probe = await _next_sent(knx, 50 * IDLE)
        assert probe is not None and isinstance(probe.payload, GroupValueRead)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_no_probe_while_disconnected_or_without_status_objects(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC)]))
    hub: KnxEvseHub = entry.runtime_data.hub
    knx.set_connected(False)  # xknx is reconnecting by itself: nothing to probe
    assert await _next_sent(knx, 4 * IDLE) is None
    assert hub.probes_sent == 0
    knx.set_connected(True)
    await knx.drain_reads()  # the coordinator reads its state again
    probe = await _next_sent(knx, 5 * IDLE)
    assert probe is not None and str(probe.destination_address) == ga(3)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    # a charger without any readable linked object: no address to probe, nothing sent
    entry = await knx.setup(hub_entry([charger_subentry("CHG2", "Shed", BASIC, {"1": [ga(1)]})]))
    assert await _next_sent(knx, 4 * IDLE) is None
    assert entry.runtime_data.hub.probes_sent == 0
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
