"""Bridge mode (group/bridge.py): the meter fed to the built-in master."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from custom_components.knx_evse import issues
from custom_components.knx_evse.group.bridge import BRIDGE_CHANGE_A, BRIDGE_MIN_INTERVAL, Throttle
from tests.group.harness import (
    GROUP_ID,
    advance,
    current,
    group_issue,
    group_subentry,
    no_idle_probe,
    sent,
    set_meter,
    state,
)
from tests.knx_harness import KnxTestKit, charger_subentry, hub_entry

MASTER_BASIC = {"connectors": 1, "load_balancing": True}



MASTER = {"connectors": 1, "load_balancing": True, "balancing_evse_count": 2}



async def test_bridge_feeds_the_meter_into_the_built_in_master(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        set_meter(hass, 2300)
        bridge = group_subentry([], mode="bridge", bridge_charger="CHG1")
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", MASTER), bridge]), drain_reads=False)
        group = entry.runtime_data.groups[GROUP_ID]
        assert group.bridge and group.members == []
        assert [t for t in await sent(knx) if t[1] != "read"] == [("1/0/130", 10.0)]  # 2300 W, 1 phase: 10 A
        assert state(hass, "sensor.house_balancing_state") == "bridge"
        set_meter(hass, 2300)
        assert await sent(knx) == []  # unchanged: not again before the period
        await advance(hass, freezer, 10)
        set_meter(hass, 2300)
        # the period (10 s) passed; Master answered no start-up read: its first status object, once more
        assert await sent(knx) == [("1/0/3", "read"), ("1/0/130", 10.0)]
        set_meter(hass, 3.45, "kW")
        assert await sent(knx) == []  # changed, but within 2 s of the last value
        await advance(hass, freezer, 5)  # the next round
        assert await sent(knx) == [("1/0/130", 15.0)]
        await advance(hass, freezer, 2)
        set_meter(hass, "unavailable")
        assert await sent(knx) == [("1/0/130", 63.0)]  # no meter: the protection device, no headroom
        assert state(hass, "sensor.house_balancing_state") == "fallback"
        assert state(hass, "binary_sensor.house_meter_problem") == "on"
        assert hass.states.get("sensor.house_available_current") is None  # no own balancing



async def test_bridge_in_power_mode_writes_watts(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 12.5, "A")
    master = {**MASTER, "balancing_current_control": False}
    bridge = group_subentry([], mode="bridge", bridge_charger="1.1.1")
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", master), bridge]), drain_reads=False)
    assert [t for t in await sent(knx) if t[1] != "read"] == [("1/0/131", 2875.0)]



async def test_bridge_without_its_master_is_in_fallback(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 2300)
    bridge = group_subentry([], mode="bridge", bridge_charger="GONE")
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", MASTER), bridge]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.missing == ["GONE"] and state(hass, "sensor.house_balancing_state") == "fallback"
    assert group_issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED) is not None
    assert await sent(knx) == []



async def test_bridge_repeats_only_after_the_period_and_logs_write_errors(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    for n, amps in ((1, 4.0), (2, 9.0), (3, 6.0)):
        set_meter(hass, amps, "A", f"sensor.l{n}")
    bridge = group_subentry(
        [], mode="bridge", bridge_charger="CHG1", phases=3, meter_entities=["sensor.l1", "sensor.l2", "sensor.l3"],
    )
    with no_idle_probe():
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Master", MASTER_BASIC), bridge]), drain_reads=False)
        assert [t for t in await sent(knx) if t[1] != "read"] == [("1/0/130", 9.0)]  # the most loaded phase
        group = entry.runtime_data.groups[GROUP_ID]
        assert group.interval == 5.0
        await advance(hass, freezer, 5)
        for n, amps in ((1, 4.0), (2, 9.0), (3, 6.0)):
            set_meter(hass, amps, "A", f"sensor.l{n}")
        assert await sent(knx) == []  # unchanged, the period (10 s) has not passed
        knx.set_connected(False)
        await knx.flush()
        set_meter(hass, 12.0, "A", "sensor.l2")
        assert await sent(knx) == []  # not connected
        knx.set_connected(True)
        assert ("1/0/130", 12.0) in await sent(knx)
        master = group.bridge_master
        assert master is not None
        await advance(hass, freezer, 2)
        await sent(knx)
        with patch.object(master.coordinator, "async_write_object", side_effect=HomeAssistantError("busy")):
            set_meter(hass, 13.0, "A", "sensor.l2")
            await knx.flush()
            await advance(hass, freezer, 10)
        assert caplog.text.count("could not feed the meter to Master") == 1  # logged once while it fails
        await advance(hass, freezer, 10)
        assert ("1/0/130", 13.0) in await sent(knx)
        assert caplog.text.count("House: the meter reaches Master again") == 1
        assert state(hass, "sensor.house_balancing_state") == "bridge"
        await current(knx, 1, 1, 0.0)  # unrelated telegrams do not disturb the bridge
        assert await sent(knx) == []



async def test_bridge_sends_a_noisy_meter_on_real_changes_and_the_period_only(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # A meter updated every second: ±0.2 A of noise for a minute, then a climb of 1 A a second.
    with no_idle_probe():
        set_meter(hass, 2300)
        bridge = group_subentry([], mode="bridge", bridge_charger="CHG1")
        await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", MASTER), bridge]), drain_reads=False)
        assert [t for t in await sent(knx) if t[1] != "read"] == [("1/0/130", 10.0)]
        noise: list[tuple[str, object]] = []
        for second in range(60):
            set_meter(hass, 230 * (10.0 + (0.2 if second % 2 else -0.2)))
            await advance(hass, freezer, 1)
            noise += await sent(knx)
        # the period alone: once every 10 s, not 60 telegrams (and the silent Master's read once more)
        assert len([t for t in noise if t[1] != "read"]) == 6
        climb: list[tuple[str, object]] = []
        for second in range(20):
            set_meter(hass, 230 * (11.0 + second))
            await advance(hass, freezer, 1)
            climb += await sent(knx)
        assert 9 <= len(climb) <= 11  # a real change, at most once every 2 s
        assert climb[-1][1] >= 28.0  # and it follows the climb


def test_the_throttle_sends_changes_at_most_every_interval_and_repeats_every_period() -> None:
    throttle = Throttle(10.0)
    assert throttle.due(0.0, 10.0, BRIDGE_CHANGE_A)  # the first value
    throttle.sent(0.0, 10.0)
    assert not throttle.due(1.0, 12.0, BRIDGE_CHANGE_A)  # a change, but within the interval
    assert throttle.due(BRIDGE_MIN_INTERVAL, 12.0, BRIDGE_CHANGE_A)
    assert not throttle.due(9.9, 10.0 + 0.9 * BRIDGE_CHANGE_A, BRIDGE_CHANGE_A)  # a small change
    assert throttle.due(10.0, 10.0, BRIDGE_CHANGE_A)  # the period
    throttle.resend()
    assert throttle.due(0.5, 10.0, BRIDGE_CHANGE_A)
