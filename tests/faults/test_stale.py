"""A charger that stops answering becomes stale: its entities go unavailable within a bounded time.

The rule (liveness.py, "Staleness"): after ``silence_limit`` seconds without a telegram from the
charger (twice the shortest cyclic sending period + 10 s, or 120 s without cyclic sending) the
coordinator sends one GroupValueRead; a batch of reads (start-up, reconnect, liveness) that gets no
telegram at all within ``answer_timeout`` is followed by one more read of the first object of the read
plan, and when that too gets nothing within ``answer_timeout`` the charger is stale (``STALE_READS``
reads in a row unanswered). Any telegram from the charger on a status address ends it. Time is moved
with the freezer; the hub's own idle probe is switched off so only the coordinator's reads are on the
bus.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from xknx.dpt.payload import DPTArray
from xknx.telegram.apci import GroupValueResponse

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.charger.liveness import (
    DEFAULT_ANSWER_TIMEOUT,
    DEFAULT_LIVENESS_AFTER,
    STALE_GRACE,
    STALE_READS,
    STALE_WITHIN,
)
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    THREE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    entity_id,
    ga,
    hub_entry,
)

pytestmark = pytest.mark.usefixtures("no_unanswered_reads_check")

BASIC: dict[str, Any] = {"phases": 1, "connectors": 1}
CHECK = 5.0
"""s: the coordinator's check interval (DEFAULT_STALE_CHECK_INTERVAL)."""


@pytest.fixture(autouse=True)
def no_hub_probe() -> Iterator[None]:
    """Only the coordinator's liveness reads: the hub's idle probe (tests/test_hub_probe.py) is off."""
    with patch.object(KnxEvseHub, "idle_probe_after", 1e9):
        yield


def amps(value: float) -> tuple[int, ...]:
    """DPT 14.019 payload."""
    return tuple(struct.pack(">f", value))


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, knx: KnxTestKit, seconds: float) -> None:
    """Move the clock ``seconds`` forward in check-interval steps, firing timers at each step."""
    left = seconds
    while left > 0:
        step = min(CHECK, left)
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
        await knx.flush()
        left -= step


async def reads(knx: KnxTestKit) -> list[str]:
    """The group addresses read since the last call (fails on any other telegram)."""
    return await knx.drain_reads()


async def setup(knx: KnxTestKit, parameters: dict[str, Any], **kwargs: Any) -> ChargerCoordinator:
    """Set up one charger CHG1 and return its coordinator (start-up reads dropped)."""
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters, **kwargs)]))
    coordinator: ChargerCoordinator = entry.runtime_data.chargers["CHG1"]
    return coordinator


def test_defaults_are_bounded() -> None:
    """A silent charger is found within a few minutes at most, and a slow answer is not a fault."""
    assert DEFAULT_LIVENESS_AFTER + STALE_WITHIN <= 180
    assert DEFAULT_ANSWER_TIMEOUT >= 5


async def test_silence_limit_follows_the_cyclic_sending_parameters(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """Twice the shortest linked cyclic period + grace; change-only or unlinked groups don't count."""
    change_only = await setup(knx, BASIC)
    assert change_only.silence_limit == DEFAULT_LIVENESS_AFTER
    await hass.config_entries.async_unload(change_only.entry.entry_id)

    cyclic = {**BASIC, "power_sending": "cyclic", "power_period": 30, "time_sending": "both", "time_period": 20}
    both = await setup(knx, cyclic)
    assert both.silence_limit == 2 * 20 + STALE_GRACE
    await hass.config_entries.async_unload(both.entry.entry_id)

    # the time group's objects (45/94) are not linked: only the power period counts
    addresses = {"3": [ga(3)], "47": [ga(47)]}
    power_only = await setup(knx, cyclic, group_addresses=addresses)
    assert power_only.silence_limit == 2 * 30 + STALE_GRACE
    await hass.config_entries.async_unload(power_only.entry.entry_id)

    # connector 2's objects count as well; a very long period is capped by the liveness read
    two = {**THREE_PHASE_FULL, "current_sending": "cyclic", "current_period": 3600}
    conn2 = await setup(knx, two, group_addresses={"3": [ga(3)], "98": [ga(98)]})
    assert conn2.silence_limit == DEFAULT_LIVENESS_AFTER
    await hass.config_entries.async_unload(conn2.entry.entry_id)
    two["current_period"] = 5
    conn2 = await setup(knx, two, group_addresses={"3": [ga(3)], "98": [ga(98)]})
    assert conn2.silence_limit == 2 * 5 + STALE_GRACE
    await hass.config_entries.async_unload(conn2.entry.entry_id)


async def test_unanswered_startup_reads_make_the_charger_stale_until_it_sends(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """No answer to any start-up read nor to the read once more: unavailable after twice answer_timeout;
    the next telegram revives it."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    power = entity_id(hass, "sensor", "CHG1_evse_active_power")
    changes: list[int | None] = []
    coordinator.async_add_listener(changes.append, [13])
    await knx.receive_write(ga(13), (0x45, 0x1C, 0x40, 0x00))  # 2500 W, then the charger dies
    # the first telegram came after the reads: the reads are answered as far as staleness goes
    await advance(hass, freezer, knx, STALE_WITHIN)
    assert not coordinator.is_stale
    assert await reads(knx) == []

    await hass.config_entries.async_reload(coordinator.entry.entry_id)
    await knx.flush()
    assert await reads(knx)  # start-up reads again, never answered
    coordinator = coordinator.entry.runtime_data.chargers["CHG1"]
    changes = []
    coordinator.async_add_listener(changes.append, [13])
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT - CHECK)
    assert await reads(knx) == []
    await advance(hass, freezer, knx, CHECK)
    assert await reads(knx) == [ga(3)]  # unanswered: the first object of the read plan, once more
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT - CHECK)
    assert not coordinator.is_stale and hass.states.get(power).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    caplog.clear()
    await advance(hass, freezer, knx, CHECK)
    assert coordinator.is_stale and not coordinator.available
    assert changes == [None]  # listeners hear about it, as about availability
    for platform, key in (("sensor", "evse_active_power"), ("number", "evse_current_limit"),
                          ("binary_sensor", "conn1_vehicle_connected"), ("sensor", "conn1_lifetime_energy")):
        assert hass.states.get(entity_id(hass, platform, f"CHG1_{key}")).state == STATE_UNAVAILABLE, key  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "did not answer" in r.getMessage()]
    assert len(warnings) == 1 and "Garage" in warnings[0].getMessage()
    await advance(hass, freezer, knx, 3 * CHECK)  # logged once, not at every check
    assert len([r for r in caplog.records if "did not answer" in r.getMessage()]) == 1

    await knx.receive_write(ga(13), (0x45, 0x1C, 0x40, 0x00))
    assert not coordinator.is_stale and coordinator.available
    assert hass.states.get(power).state == "2500.0"  # type: ignore[union-attr]
    assert changes[-2:] == [None, 13]


def our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The integration's warnings (and worse) captured so far."""
    return [
        r.getMessage() for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("custom_components.knx_evse")
    ]


async def test_a_charger_that_answers_the_read_once_more_is_never_stale(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A read lost on the way (a lossy tunnel): the start-up reads, and later a liveness read, go
    unanswered but the read once more is answered. Never stale, nothing logged as a warning."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)  # the start-up reads are never answered
    changes: list[int | None] = []
    coordinator.async_add_listener(changes.append, [3])
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT)
    assert await reads(knx) == [ga(3)]  # read once more
    assert not coordinator.is_stale and coordinator.available
    await knx.receive_response(ga(3), amps(16))
    await advance(hass, freezer, knx, STALE_WITHIN)
    assert not coordinator.is_stale and await reads(knx) == []

    # later a liveness read is lost as well: the count of unanswered reads began afresh
    await advance(hass, freezer, knx, DEFAULT_LIVENESS_AFTER - STALE_WITHIN)
    assert await reads(knx) == [ga(3)]
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT)
    assert await reads(knx) == [ga(3)]
    assert not coordinator.is_stale
    await knx.receive_response(ga(3), amps(16))
    await advance(hass, freezer, knx, STALE_WITHIN)
    assert not coordinator.is_stale and coordinator.available and await reads(knx) == []
    assert changes == [3, 3]  # the two answers; availability never changed
    assert our_warnings(caplog) == []


async def test_a_silent_charger_is_stale_only_after_the_second_unanswered_read(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Change-only sending, then silence: the liveness read at 120 s and the read once more 10 s later
    go unanswered; stale 10 s after that, logged once as "did not answer 2 reads"."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    await knx.receive_response(ga(3), amps(16))  # answers the start-up reads, then falls silent
    await advance(hass, freezer, knx, DEFAULT_LIVENESS_AFTER)
    assert await reads(knx) == [ga(3)]  # the liveness read
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT)
    assert await reads(knx) == [ga(3)]  # unanswered: read once more
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT - CHECK)
    assert not coordinator.is_stale and coordinator.available
    assert our_warnings(caplog) == []
    await advance(hass, freezer, knx, CHECK)
    assert coordinator.is_stale and not coordinator.available
    warnings = our_warnings(caplog)
    assert len(warnings) == 1 and "Garage sent nothing for 140 s and did not answer 2 reads" in warnings[0]
    await advance(hass, freezer, knx, DEFAULT_LIVENESS_AFTER)
    assert await reads(knx) == [ga(3)]  # read every silence_limit while stale, not once more each time
    assert len(our_warnings(caplog)) == 1


async def test_a_quiet_charger_is_read_and_kept_when_it_answers(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """Change-only sending: one liveness read after 120 s of silence; an answer keeps it available."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    await knx.receive_response(ga(3), amps(16))  # answers the start-up reads
    for _ in range(3):
        await advance(hass, freezer, knx, DEFAULT_LIVENESS_AFTER - CHECK)
        assert await reads(knx) == []
        await advance(hass, freezer, knx, CHECK)
        assert await reads(knx) == [ga(3)]  # the first object of the read plan
        await advance(hass, freezer, knx, 1)
        await knx.receive_response(ga(3), amps(16))
        assert not coordinator.is_stale
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT + CHECK)
    assert not coordinator.is_stale


async def test_a_muted_charger_is_stale_within_the_bound_and_read_again(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """Cyclic sending every 10 s: silent 30 s → read; no answer 10 s → read again; no answer 10 s →
    stale; read every silence_limit while stale."""
    parameters = {**SINGLE_PHASE_FULL, "power_sending": "cyclic", "power_period": 10}
    coordinator = await setup(knx, parameters)
    assert coordinator.silence_limit == 30
    await knx.receive_response(ga(3), amps(16))
    elapsed = 0.0
    while not coordinator.is_stale:  # the charger is muted from now on
        await advance(hass, freezer, knx, CHECK)
        elapsed += CHECK
        assert elapsed <= 30 + CHECK + STALE_WITHIN, "not stale within the bound"
    assert elapsed >= 30 + STALE_READS * DEFAULT_ANSWER_TIMEOUT, "stale too early"
    assert await reads(knx) == [ga(3)] * STALE_READS
    await advance(hass, freezer, knx, 30)
    assert await reads(knx) == [ga(3)]  # while stale it is read every silence_limit
    assert coordinator.is_stale
    await knx.receive_response(ga(3), amps(16))
    assert not coordinator.is_stale


async def test_a_busy_charger_is_never_read(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """A telegram on any status address every 60 s (below 120 s): no liveness read in 10 minutes."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    for minute in range(10):
        await knx.receive_write(ga(46 if minute % 2 else 13), (0, 0, 0, minute))
        await advance(hass, freezer, knx, 60)
    assert await reads(knx) == []
    assert not coordinator.is_stale


async def test_commands_from_other_devices_are_not_the_charger(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """Writes to the charger's command addresses (by a visualisation, a master) do not prove it is alive."""
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT / 2)
    await knx.receive_write(ga(1), amps(10))  # object 1: the charger's current-limit input
    await knx.receive_write(ga(33), 1)  # a start command
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT / 2)
    assert await reads(knx) == [ga(3)]  # unanswered: read once more
    await knx.receive_write(ga(1), amps(12))
    await advance(hass, freezer, knx, DEFAULT_ANSWER_TIMEOUT)
    assert coordinator.is_stale
    assert coordinator.value(1) == 12.0  # the values are still recorded


async def test_partial_answers_are_not_staleness(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """A charger that answers its first read only (Read flags off in ETS: a repair issue) is alive.

    The answer arrives before the next read goes out, as on a bus paced at 0.1 s per read.
    """
    real_read = KnxEvseHub.async_read

    async def answered_first(hub: KnxEvseHub, address: str) -> float:
        sent_at = await real_read(hub, address)
        if str(address) == ga(3):  # answered during the hub's read pacing, before it returns
            await knx.receive(ga(3), GroupValueResponse(DPTArray(amps(16))), settle=False)
            assert knx.xknx is not None
            await knx.xknx.telegrams.join()
        return sent_at

    with patch.object(KnxEvseHub, "async_read", answered_first):
        coordinator = await setup(knx, SINGLE_PHASE_FULL)
    assert coordinator.value(3) == 16.0
    await advance(hass, freezer, knx, 3 * DEFAULT_ANSWER_TIMEOUT)
    assert not coordinator.is_stale


async def test_reconnect_keeps_a_silent_charger_stale_until_it_sends(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Stale, then the connection drops and returns: still stale (its silence began before) until it
    sends; the silence is logged once when it starts and once when it ends."""
    caplog.set_level(logging.INFO, logger="custom_components.knx_evse.charger.liveness")
    coordinator = await setup(knx, SINGLE_PHASE_FULL)
    await advance(hass, freezer, knx, STALE_WITHIN)
    assert coordinator.is_stale and coordinator.reachable_since is None
    assert await reads(knx) == [ga(3)]  # the read once more
    for _ in range(2):
        knx.set_connected(False)
        await advance(hass, freezer, knx, 600)  # no reads and no verdict while disconnected
        assert not coordinator.available
        knx.set_connected(True)
        await knx.flush()
        assert coordinator.is_stale and not coordinator.available
        assert await reads(knx)  # the reconnect reads
        await advance(hass, freezer, knx, STALE_WITHIN + DEFAULT_LIVENESS_AFTER)
        await reads(knx)  # liveness reads while stale
        assert coordinator.is_stale and coordinator.reachable_since is None
    await knx.receive_response(ga(3), amps(16))
    assert not coordinator.is_stale and coordinator.available
    assert coordinator.reachable_since is not None
    messages = [r.getMessage() for r in caplog.records if r.name.endswith("liveness")]
    assert [m.split(" ", 1)[1][:12] for m in messages] == ["sent nothing", "answers agai"]


async def test_stop_cancels_a_pending_liveness_read(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """Unloading while a liveness read waits for the hub (read pacing) leaves no task behind; an
    unanswered read meanwhile does not start a second one (the pending read is the read once more)."""
    coordinator = await setup(knx, BASIC)
    await knx.receive_response(ga(3), amps(16))
    gate = asyncio.Event()

    async def slow_read(_address: object) -> float:
        await gate.wait()
        return time.monotonic()

    with patch.object(coordinator.hub, "async_read", side_effect=slow_read):
        try:
            freezer.tick(timedelta(seconds=DEFAULT_LIVENESS_AFTER))
            coordinator._async_check_alive()
            await asyncio.sleep(0)
            task = coordinator._liveness_task
            assert task is not None and not task.done()
            coordinator._async_check_alive()  # one liveness read at a time
            assert coordinator._liveness_task is task
            coordinator._read_sent(time.monotonic(), True, coordinator._heard_count)  # a batch's read, unanswered
            freezer.tick(timedelta(seconds=DEFAULT_ANSWER_TIMEOUT))
            coordinator._async_check_alive()
            assert coordinator._liveness_task is task and not coordinator.is_stale
            await coordinator.async_stop()
        finally:
            gate.set()  # a read left behind (when this test fails) ends instead of holding the teardown
    assert task.cancelled()
    assert await hass.config_entries.async_unload(coordinator.entry.entry_id)
