"""A faulty device sends on the charger's sending addresses: its telegrams are not the charger's.

The charger sends its status objects on their first group addresses with its individual address as
the source (coordinator.py, ``_from_charger``). Once that address has been heard, 500 telegrams from
another device there (plausible values and malformed ones, as the soak's ``telegram_burst`` sends)
change no value, do not prove a silent charger alive, and are logged once. Having been heard is
remembered across reloads and restarts (heard.py). Before the charger's own address has been heard
(an individual address typed wrong), every source is taken.
"""

from __future__ import annotations

import logging
import struct
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.charger.heard import DATA_HEARD, SAVE_DELAY, HeardAddresses
from custom_components.knx_evse.charger.liveness import DEFAULT_ANSWER_TIMEOUT, DEFAULT_LIVENESS_AFTER
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, ga, hub_entry

FAULTY = "1.1.250"
BURST = 500


def amps(value: float) -> tuple[int, ...]:
    """DPT 14.019 payload."""
    return tuple(struct.pack(">f", value))


def wh(value: int) -> tuple[int, ...]:
    """DPT 13.010 payload."""
    return tuple(value.to_bytes(4, "big", signed=True))


async def burst(knx: KnxTestKit, source: str) -> None:
    """500 telegrams from ``source``: currents, session energies, plug states and malformed ones."""
    for index in range(BURST):
        kind = index % 5
        if kind == 0:
            await knx.receive_write(ga(48), amps(float(index % 40)), source=source)
        elif kind == 1:
            await knx.receive_write(ga(46), wh(100_000 + index), source=source)
        elif kind == 2:
            await knx.receive_write(ga(36), index % 2, source=source)
        elif kind == 3:
            await knx.receive_write(ga(14), amps(40.0), source=source)
        else:
            await knx.receive_write(ga(48), (1, 2, 3), source=source)  # wrong length


async def setup(knx: KnxTestKit) -> ChargerCoordinator:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    coordinator: ChargerCoordinator = entry.runtime_data.chargers["CHG1"]
    return coordinator


async def test_a_faulty_device_on_the_sending_addresses_changes_nothing(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = await setup(knx)
    await knx.receive_write(ga(48), amps(10.0))  # the charger itself
    await knx.receive_write(ga(46), wh(1200))
    await knx.receive_write(ga(36), 1)
    caplog.clear()
    await burst(knx, FAULTY)
    assert (coordinator.value(48), coordinator.value(46), coordinator.value(36)) == (10.0, 1200, True)
    assert coordinator.value(14) is None
    assert coordinator.telegrams_foreign == BURST
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("custom_")]
    assert len(warnings) == 1 and FAULTY in warnings[0] and "1.1.1" in warnings[0]
    await knx.receive_write(ga(48), amps(12.0))  # the charger's own values still count
    assert coordinator.value(48) == 12.0


async def test_a_faulty_device_does_not_keep_a_silent_charger_alive(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(KnxEvseHub, "idle_probe_after", 1e9)
        coordinator = await setup(knx)
        await knx.receive_write(ga(48), amps(10.0))
        waited = 0.0
        while waited < DEFAULT_LIVENESS_AFTER + DEFAULT_ANSWER_TIMEOUT + 10:
            freezer.tick(timedelta(seconds=5))
            waited += 5
            async_fire_time_changed(hass)
            await knx.receive_write(ga(48), amps(20.0), source=FAULTY)  # only the faulty device sends
            await knx.drain_reads()
        assert coordinator.is_stale
        assert coordinator.value(48) == 10.0


async def test_before_the_charger_is_heard_every_source_counts(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """An individual address typed wrong must not make the charger deaf: until its own address is
    heard, the values of any source are taken."""
    coordinator = await setup(knx)
    await knx.receive_write(ga(48), amps(7.0), source="1.1.9")
    assert coordinator.value(48) == 7.0 and coordinator.telegrams_foreign == 0


async def test_after_a_reload_the_faulty_device_is_not_taken_before_the_charger_speaks(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    """The charger was heard before the reload: its new runtime ignores another source at once
    (the soak: a burst a second after a reload went into the lifetime energy)."""
    coordinator = await setup(knx)
    await knx.receive_write(ga(46), wh(1200))  # the charger itself, 1.1.1
    await hass.config_entries.async_reload(coordinator.entry.entry_id)
    await knx.flush()
    await knx.drain_reads()  # the start-up reads, unanswered so far
    coordinator = coordinator.entry.runtime_data.chargers["CHG1"]
    await burst(knx, FAULTY)
    assert (coordinator.value(46), coordinator.value(48), coordinator.value(14)) == (None, None, None)
    assert coordinator.telegrams_foreign == BURST


async def test_what_was_heard_is_stored_for_a_restart(
    hass: HomeAssistant, knx: KnxTestKit, hass_storage: dict[str, Any], freezer: FrozenDateTimeFactory
) -> None:
    coordinator = await setup(knx)
    await knx.receive_write(ga(48), amps(10.0))
    freezer.tick(timedelta(seconds=SAVE_DELAY + 1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    entry_id = coordinator.entry.entry_id
    assert hass_storage["knx_evse.heard_addresses"]["data"] == {entry_id: {"CHG1": "1.1.1"}}


async def test_a_stored_address_counts_from_the_start_unless_reconfigured(
    hass: HomeAssistant, knx: KnxTestKit, hass_storage: dict[str, Any]
) -> None:
    """After a restart the stored address holds before the charger speaks; a charger whose address
    was changed since (another one stored) takes every source until its own is heard."""
    entry = hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)])
    hass_storage["knx_evse.heard_addresses"] = {
        "version": 1, "minor_version": 1, "key": "knx_evse.heard_addresses", "data": {entry.entry_id: {"CHG1": "1.1.1"}}
    }
    coordinator: ChargerCoordinator = (await knx.setup(entry)).runtime_data.chargers["CHG1"]
    await knx.receive_write(ga(48), amps(20.0), source=FAULTY)
    assert coordinator.value(48) is None and coordinator.telegrams_foreign == 1
    heard = hass.data[DATA_HEARD]
    heard.heard(entry.entry_id, "CHG1", "1.1.7")  # as stored for an earlier address of the charger
    await hass.config_entries.async_reload(entry.entry_id)
    await knx.flush()
    await knx.drain_reads()
    coordinator = entry.runtime_data.chargers["CHG1"]
    await knx.receive_write(ga(48), amps(20.0), source=FAULTY)
    assert coordinator.value(48) == 20.0


async def test_a_removed_hub_or_charger_is_forgotten(hass: HomeAssistant, knx: KnxTestKit) -> None:
    heard = HeardAddresses(hass)
    heard.heard("E1", "CHG1", "1.1.1")
    heard.heard("E1", "CHG2", "1.1.2")
    heard.heard("E2", "CHG3", "1.1.3")
    heard.retain("E1", {"CHG2"})
    assert (heard.was_heard("E1", "CHG1", "1.1.1"), heard.was_heard("E1", "CHG2", "1.1.2")) == (False, True)
    heard.retain("E2", set())
    assert not heard.was_heard("E2", "CHG3", "1.1.3")
    coordinator = await setup(knx)
    await knx.receive_write(ga(48), amps(10.0))
    entry_id = coordinator.entry.entry_id
    assert hass.data[DATA_HEARD].was_heard(entry_id, "CHG1", "1.1.1")
    assert await hass.config_entries.async_remove(entry_id)
    await hass.async_block_till_done()
    assert not hass.data[DATA_HEARD].was_heard(entry_id, "CHG1", "1.1.1")
