"""Balancing group runtime: a test meter entity drives the group; the telegrams on the faked bus are asserted."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.knx_evse import issues
from custom_components.knx_evse.charger.liveness import DEFAULT_ANSWER_TIMEOUT, DEFAULT_LIVENESS_AFTER
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from custom_components.knx_evse.issues import ISSUE_METER_UNUSABLE
from tests.group.harness import (
    CARPORT_MEMBER,
    CONN1,
    CONN2,
    FAST,
    GARAGE,
    GROUP_ID,
    METER,
    advance,
    chargers,
    current,
    f4,
    group_subentry,
    keep_alive_while,
    no_idle_probe,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import KnxTestKit, charger_subentry, ga, hub_entry, registered_device


async def test_meter_in_watts_starts_members_in_priority_order_and_shares_the_budget(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)  # 4.35 A of house load on a 25 A supply
    _, group = await setup_group(hass, knx, [CONN1, CONN2], **FAST)
    assert await sent(knx) == []  # waits for the chargers' currents
    await plug(knx, 1, 1, 0.0)
    await plug(knx, 1, 2, 0.0)
    # one start per round: EVSE1 first, at its share of the 20.65 A with EVSE2, which waits for
    # the next round (no Stop before that start): (20.65 - 2 x 0.5 raise margin) / 2 = 9.8 -> 9 A
    assert await sent(knx) == [("1/0/31", 9.0), ("1/0/33", True)]
    assert state(hass, "sensor.garage_connector_1_assigned_limit") == "9.0"
    assert state(hass, "sensor.garage_connector_2_balancing_reason") == "start_queue"
    assert state(hass, "sensor.house_available_current") == "20.65"
    set_meter(hass, 1001)
    # next round: EVSE2 starts at the same share; EVSE1's limit stands, so it gets no telegram
    telegrams = await sent(knx)
    decision = group.decision
    assert decision is not None and decision.limits == (9.0, 9.0)
    assert sum(decision.limits) <= decision.available <= 20.65
    assert telegrams == [("1/0/80", 9.0), ("1/0/82", True)]
    set_meter(hass, 1002)
    assert await sent(knx) == []  # nothing changed: no repeated identical writes
    assert state(hass, "sensor.house_state") == "balancing"
    assert group.state == "balancing"


# -- the meter ------------------------------------------------------------------------------------


async def _one_member_at(hass: HomeAssistant, knx: KnxTestKit, meter: float, amps: float, **data: object) -> BalancingGroup:
    """Conn 1 of Garage alone on a 20 A supply, plugged in and drawing ``amps``."""
    set_meter(hass, meter)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **{**FAST, **data})
    await plug(knx, 1, 1, amps)
    return group


async def test_units_are_converted_also_when_they_change(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # 4680 W = 20.35 A of which 16 A is the car: 4.35 A of house load leaves 15.65 A
    await _one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    set_meter(hass, 4.68, "kW")  # the same power in kW: nothing to change (misread as W it would be 16 A)
    assert await sent(knx) == []
    set_meter(hass, 6.0, "kW")  # 26.09 A: 10.09 A of other load leaves 9.9 A
    assert await sent(knx) == [("1/0/31", 9.0)]
    set_meter(hass, 25.2, "A")  # a current meter: 9.2 A of other load leaves 10.8 A
    assert await sent(knx) == [("1/0/31", 10.0)]
    set_meter(hass, 25200, "mA")
    assert await sent(knx) == []
    set_meter(hass, 0.00468, "MW")
    assert await sent(knx) == [("1/0/31", 15.0)]


async def _pause_and_resume(hass: HomeAssistant, knx: KnxTestKit, group: BalancingGroup) -> list[tuple[str, Any]]:
    """Pause member 0 (mode off), let the car stop, resume it (fast); return the resume's telegrams."""
    group.async_set_mode(0, "off")
    assert await sent(knx) == [("1/0/33", False)]
    await current(knx, 1, 1, 0.0)
    set_meter(hass, 1000)  # 4.35 A of other load on the 20 A supply: 15 A again on resuming
    await sent(knx)
    group.async_set_mode(0, "fast")
    return await sent(knx)


async def test_resume_at_the_limit_the_charger_reports_sends_only_start(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await _one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    await knx.receive_write(ga(61), f4(15.0))  # [Conn1] Current limit Status, after the write
    assert await _pause_and_resume(hass, knx, group) == [("1/0/33", True)]
    assert group.members[0].written == 15.0


@pytest.mark.parametrize("status", [None, 16.0, "stale"])
async def test_resume_writes_the_limit_unless_the_charger_confirms_it(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, status: float | str | None
) -> None:
    # No status, a different one, or one older than the last limit written: limit, then Start.
    group = await _one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    if isinstance(status, float):
        await knx.receive_write(ga(61), f4(status))
    elif status == "stale":
        await knx.receive_write(ga(61), f4(15.0))
        freezer.tick(0.5)
        set_meter(hass, 6000)  # 10.09 A of other load: lowered to 9 A, not yet confirmed
        assert await sent(knx) == [("1/0/31", 9.0)]
    assert await _pause_and_resume(hass, knx, group) == [("1/0/31", 15.0), ("1/0/33", True)]


async def test_resume_with_a_keep_alive_always_writes_the_limit(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await _one_member_at(hass, knx, 4680, 16.0, keepalive=60)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    await knx.receive_write(ga(61), f4(15.0))
    assert await _pause_and_resume(hass, knx, group) == [("1/0/31", 15.0), ("1/0/33", True)]


async def test_inverted_meter(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await _one_member_at(hass, knx, -4680, 16.0, invert=True)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    assert state(hass, "sensor.house_available_current") == "15.65"


FAULTS = {
    "unavailable": ("unavailable", "W", "unavailable", ISSUE_METER_UNUSABLE),
    "unknown": ("unknown", "W", "unavailable", ISSUE_METER_UNUSABLE),
    "non_numeric": ("abc", "W", "invalid", ISSUE_METER_UNUSABLE),
    "not_finite": ("nan", "W", "invalid", ISSUE_METER_UNUSABLE),
    "unknown_unit": ("1000", "VA", "invalid", ISSUE_METER_UNUSABLE),
    "no_unit": ("1000", None, "invalid", ISSUE_METER_UNUSABLE),
    "absurd": ("250000", "W", "absurd", ISSUE_METER_UNUSABLE),
    "missing": (None, None, "unavailable", issues.ISSUE_METER_ENTITY_MISSING),
}


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_meter_fault_falls_back_raises_issue_and_recovers(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, fault: str
) -> None:
    value, unit, verdict, issue_key = FAULTS[fault]
    with no_idle_probe():
        group = await _one_member_at(hass, knx, 1000, 0.0)
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        assert state(hass, "binary_sensor.house_meter_problem") == "off"
        if value is None:
            hass.states.async_remove(METER)
        else:
            set_meter(hass, value, unit)
        await knx.flush()
        # fallback at once: pause (the default fallback)
        assert await sent(knx) == [("1/0/33", False)]
        assert state(hass, "binary_sensor.house_meter_problem") == "on"
        assert hass.states.get("binary_sensor.house_meter_problem").attributes["meter_state"] == (  # type: ignore[union-attr]
            "missing" if value is None else verdict
        )
        assert state(hass, "sensor.house_state") == "fallback"
        assert state(hass, "sensor.house_available_current") == "unknown"
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "fallback_meter_invalid"
        assert _issue(hass, group, issue_key) is None  # a short glitch raises no repair issue
        for _ in range(7):  # the meter timeout (30 s) passes, the problem persists
            if value is not None:
                set_meter(hass, value, unit)
            await advance(hass, freezer, 5)
        found = _issue(hass, group, issue_key)
        assert found is not None
        placeholders = found.translation_placeholders or {}
        assert placeholders["group"] == "House" and placeholders["entity_id"] == METER
        if issue_key == ISSUE_METER_UNUSABLE:
            assert placeholders["problem"] == verdict
        assert await sent(knx) == []  # no repeated Stop within the keep-alive
        # valid readings return: normal again, the issue is deleted, charging resumes
        set_meter(hass, 1000)
        await knx.flush()
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        assert state(hass, "binary_sensor.house_meter_problem") == "off"
        assert _issue(hass, group, issue_key) is None
        assert group.state == "balancing"


def _issue(hass: HomeAssistant, group: BalancingGroup, key: str) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issues.issue_id(key, group.entry.entry_id, GROUP_ID))


async def test_stale_meter_falls_back_but_a_reported_unchanged_value_is_not_stale(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        group = await _one_member_at(hass, knx, 1000, 0.0)
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        for _ in range(12):  # 60 s of the same value, reported every 5 s (last_reported advances)
            await advance(hass, freezer, 5)
            set_meter(hass, 1000)
        await knx.flush()
        assert await sent(knx) == []  # no fail-safe: no keep-alive, nothing repeated
        assert state(hass, "binary_sensor.house_meter_problem") == "off"
        for _ in range(7):  # no longer reported: stale after the 30 s meter timeout
            await advance(hass, freezer, 5)
        assert await sent(knx) == [("1/0/33", False)]
        assert state(hass, "binary_sensor.house_meter_problem") == "on"
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "fallback_meter_stale"
        found = _issue(hass, group, ISSUE_METER_UNUSABLE)
        assert found is not None and (found.translation_placeholders or {})["problem"] == "stale"
        set_meter(hass, 1000)  # reported again (unchanged value): recovers at once
        await knx.flush()
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        assert _issue(hass, group, ISSUE_METER_UNUSABLE) is None


async def test_fixed_fallback_current(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await _one_member_at(hass, knx, 1000, 0.0, fallback_current=10)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    set_meter(hass, "abc")
    assert await sent(knx) == [("1/0/31", 10.0)]
    assert state(hass, "sensor.garage_connector_1_assigned_limit") == "10.0"


# -- load steps ----------------------------------------------------------------------------------


async def test_washing_machine_step_is_cut_on_the_bus_within_one_meter_update(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    house = 1000.0
    set_meter(hass, house + 32 * 230)  # two cars at 16 A on a 40 A supply
    _, group = await setup_group(hass, knx, [CONN1, CONN2], limit=40, **FAST)
    await plug(knx, 1, 1, 16.0)
    await plug(knx, 1, 2, 16.0)
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True), ("1/0/80", 16.0), ("1/0/82", True)]
    house += 3500  # the washing machine heats
    set_meter(hass, house + 32 * 230)
    telegrams = await sent(knx)  # right after this one meter update
    decision = group.decision
    assert decision is not None
    assert telegrams == [("1/0/31", decision.limits[0]), ("1/0/80", decision.limits[1])]
    assert house / 230 + sum(decision.limits) <= 40.0
    assert min(decision.limits) >= 6


async def test_budget_overrun_pauses_the_lowest_priority(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000 + 32 * 230)
    await setup_group(hass, knx, [CONN1, CONN2], limit=40, **FAST)
    await plug(knx, 1, 1, 16.0)
    await plug(knx, 1, 2, 16.0)
    await sent(knx)
    set_meter(hass, 7000 + 32 * 230)  # 30.4 A of other load: 9.6 A left, room for one car only
    assert await sent(knx) == [("1/0/82", False), ("1/0/31", 9.0)]
    assert state(hass, "sensor.garage_connector_2_balancing_reason") == "over_budget_cut"


# -- the chargers ---------------------------------------------------------------------------------


async def test_silent_charger_keeps_its_budget_and_gets_nothing_until_it_answers(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    meter = 1000.0 + 24 * 230  # house 4.35 A, both cars draw 12 A
    with no_idle_probe():
        set_meter(hass, meter)
        _, group = await setup_group(hass, knx, [CONN1, CARPORT_MEMBER], carport=True, limit=40, **FAST)
        await plug(knx, 1, 1, 12.0)
        await plug(knx, 2, 1, 12.0)
        garage, carport = group.members
        assert await sent(knx) == [
            ("1/0/31", garage.limit), ("1/0/33", True), ("2/0/1", carport.limit), ("2/0/33", True)
        ]
        held = carport.limit
        assert garage.limit >= 6 and held >= 6
        # the Carport stops sending anything (its car keeps charging); the Garage and the meter go on
        quiet = DEFAULT_LIVENESS_AFTER + DEFAULT_ANSWER_TIMEOUT
        telegrams = await keep_alive_while(
            hass, freezer, knx, quiet - 5, currents=[(1, 1, 12.0)], meters={METER: (meter, "W")}
        )
        assert not carport.stale
        assert [t[1] for t in telegrams if t[0].startswith("2/")] == ["read"]  # the coordinator's liveness read
        telegrams = await keep_alive_while(
            hass, freezer, knx, 10, currents=[(1, 1, 12.0)], meters={METER: (meter, "W")}
        )
        # stale: its last limit is reserved on top of what the meter shows, nothing is sent to it
        assert carport.stale and carport.pin == held
        assert not [t for t in telegrams if t[0].startswith("2/")]
        assert ("1/0/33", False) in telegrams  # 5.65 A left: the Garage cannot keep its 6 A minimum
        assert state(hass, "sensor.carport_balancing_reason") == "charger_stale"
        other = meter / 230 - 12.0  # the Carport's real draw counts as other load
        assert group.available is not None and abs(group.available - (40 - other - held)) < 0.01
        assert garage.paused and garage.limit + held + other <= 40
        # it answers again: balanced from its live values
        await plug(knx, 2, 1, 12.0)
        telegrams = await sent(knx)
        assert not carport.stale
        assert state(hass, "sensor.carport_balancing_reason") != "charger_stale"
        assert [t for t in telegrams if t[0].startswith("2/")]  # written again


async def test_member_without_reported_current_is_held_after_the_start_up_grace(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        set_meter(hass, 1000)
        _, group = await setup_group(hass, knx, [CONN1, CONN2], **FAST)
        await plug(knx, 1, 1, 0.0)  # connector 2 never reports its current
        assert await sent(knx) == []  # waits for it
        await advance(hass, freezer, 16)
        assert group.members[1].stale
        assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]
        assert state(hass, "sensor.garage_connector_2_balancing_reason") == "charger_stale"


async def test_a_paused_member_that_draws_anyway_gets_its_stop_again(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # Connector 2 is paused by its Off mode; its car starts on its own (auto-start on plug-in)
    # and draws 10 A: the Stop goes out again, and connector 1 is limited around that draw.
    with no_idle_probe():
        set_meter(hass, 230)  # 1 A of house load
        await setup_group(hass, knx, [CONN1, {**CONN2, "mode": "off"}], **FAST)
        await plug(knx, 1, 1, 0.0)
        await plug(knx, 1, 2, 0.0)
        assert ("1/0/82", False) in await sent(knx)
        await advance(hass, freezer, 11)
        await sent(knx)
        set_meter(hass, 230 * (1 + 16 + 10))
        await current(knx, 1, 1, 16.0)
        await current(knx, 1, 2, 10.0)
        telegrams = await sent(knx)
        assert ("1/0/82", False) in telegrams  # the Stop, again
        limits = [value for address, value in telegrams if address == "1/0/31"]
        assert limits and limits[-1] <= 14.0  # 25 - 1 - 10 = 14 A left for connector 1
        assert float(state(hass, "sensor.house_available_current")) == 14.0


async def test_a_member_drawing_over_its_limit_gets_the_limit_again(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # The charger does not apply the lower limit (it lost the telegram, or restarted at its
    # Initial current limit): the car keeps drawing 16 A on a 9 A limit.
    with no_idle_probe():
        group = await _one_member_at(hass, knx, 4680, 16.0)
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        set_meter(hass, 6000)  # 10.09 A of other load besides the car's 16 A: 9 A
        assert await sent(knx) == [("1/0/31", 9.0)]
        await advance(hass, freezer, 5)
        assert await sent(knx) == []  # within 10 s of the lowering: the car may still follow
        await advance(hass, freezer, 6)
        assert await sent(knx) == [("1/0/31", 9.0)]  # the same limit, written again
        await advance(hass, freezer, 5)
        assert await sent(knx) == []  # at most once per 10 s
        assert group.members[0].limit == 9.0


async def test_connection_loss_holds_the_fallback_and_rewrites_everyone_after_reconnect(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    knx.set_connected(False)
    await knx.flush()
    assert group.state == "fallback"
    assert state(hass, "sensor.garage_connector_1_balancing_reason") == "connection_lost"
    assert state(hass, "binary_sensor.house_meter_problem") == "off"  # the meter is fine
    set_meter(hass, 1300)
    assert await sent(knx) == []  # nothing can be sent meanwhile
    knx.set_connected(True)
    telegrams = [t for t in await sent(knx) if t[1] != "read"]  # the coordinator reads its state again
    assert telegrams == [("1/0/31", 13.0), ("1/0/33", True)]  # from the live meter (5.65 A other load), once
    assert group.state == "balancing"


async def test_failed_write_is_retried_on_the_next_round(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    coordinator = group.members[0].charger.coordinator
    with patch.object(
        coordinator, "async_write_object", side_effect=HomeAssistantError("bus busy")
    ):
        await plug(knx, 1, 1, 0.0)
        assert await sent(knx) == []
    set_meter(hass, 1001)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]


# -- fail-safe and keep-alive ----------------------------------------------------------------------


FAIL_SAFE_20 = {**GARAGE, "fail_safe": True, "fail_safe_timeout": 20}


async def test_keep_alive_is_sent_within_the_fail_safe_timeout(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with no_idle_probe():
        set_meter(hass, 1000)
        group_data = group_subentry([CONN1, CONN2], limit=20, keepalive=45, **FAST)
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", FAIL_SAFE_20), group_data]))
        group = entry.runtime_data.groups[GROUP_ID]
        # 45 s would let the 20 s fail-safe fire: shortened to half the timeout, with a warning
        assert group.keepalive == 10.0 and group.interval == 5.0
        assert [m.evse.keepalive for m in group.members] == [10.0, 10.0]
        assert "keep-alive of Garage connector 1 shortened from 45 s to 10 s" in caplog.text
        await plug(knx, 1, 1, 0.0)
        await plug(knx, 1, 2, 0.0, connected=False)
        assert await sent(knx) == [("1/0/82", False), ("1/0/31", 15.0), ("1/0/33", True)]
        written_at = {}
        for second in range(5, 65, 5):
            await advance(hass, freezer, 5)
            set_meter(hass, 1000)
            for address, _value in await sent(knx):
                written_at.setdefault(address, []).append(second)
        # the same limit and the same Stop again every 10 s: never 20 s without a telegram
        assert written_at["1/0/31"] == [10, 20, 30, 40, 50, 60]
        assert written_at["1/0/82"] == [10, 20, 30, 40, 50, 60]
        assert "1/0/33" not in written_at  # Start is not repeated


@pytest.mark.parametrize("fail_safe", [False, True])
async def test_automatic_keep_alive_only_for_chargers_with_fail_safe(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, fail_safe: bool
) -> None:
    with no_idle_probe():
        set_meter(hass, 1000)
        parameters = FAIL_SAFE_20 if fail_safe else GARAGE
        group_data = group_subentry([CONN1], limit=20, **FAST)  # keepalive 0: automatic
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters), group_data]))
        group = entry.runtime_data.groups[GROUP_ID]
        assert group.keepalive == (10.0 if fail_safe else None)
        await plug(knx, 1, 1, 0.0)
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        repeats = 0
        for _ in range(24):  # two minutes
            await advance(hass, freezer, 5)
            set_meter(hass, 1000)
            repeats += len([t for t in await sent(knx) if t[1] != "read"])  # the coordinator may check liveness
        assert repeats == (12 if fail_safe else 0)  # without fail-safe: no repeated identical writes


async def test_explicit_keep_alive_repeats_for_every_member(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        set_meter(hass, 1000)
        _, group = await setup_group(hass, knx, [CONN1], limit=20, keepalive=30, **FAST)
        assert group.keepalive == 30.0 and group.interval == 5.0
        await plug(knx, 1, 1, 0.0)
        await sent(knx)
        written_at = []
        for second in range(5, 95, 5):
            await advance(hass, freezer, 5)
            set_meter(hass, 1000)
            written_at += [second for _ in await sent(knx)]
        assert written_at == [30, 60, 90]


# -- members removed, bridge mode, per-phase meters, set-up --------------------------------------


async def test_member_whose_charger_is_gone_raises_an_issue_and_the_rest_is_balanced(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)
    gone = {"charger": "1.1.9", "connector": 0, "max_current": 16, "name": "Shed"}
    _, group = await setup_group(hass, knx, [gone, CONN1], limit=20, **FAST)
    assert [m.name for m in group.members] == ["Garage connector 1"] and group.missing == ["Shed"]
    found = _issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED)
    assert found is not None and found.translation_placeholders == {"group": "House", "charger": "Shed"}
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]


async def test_removing_a_member_charger_at_runtime(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    entry, group = await setup_group(hass, knx, [CONN1, CARPORT_MEMBER], carport=True, **FAST)
    entities = er.async_get(hass)
    carport_select = entities.async_get_entity_id("select", DOMAIN, f"{GROUP_ID}_CHG2_0_charge_mode")
    assert carport_select == "select.carport_charge_mode"
    hass.config_entries.async_remove_subentry(entry, "CHG2")
    await knx.flush()
    await knx.drain_reads()
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.missing == ["Carport"] and [m.name for m in group.members] == ["Garage connector 1"]
    found = _issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED)
    assert found is not None and (found.translation_placeholders or {})["charger"] == "Carport"
    # the group's entities of the removed member and the charger's device are gone
    assert entities.async_get(carport_select) is None
    assert registered_device(hass, "CHG2") is None
    assert entities.async_get_entity_id("select", DOMAIN, f"{GROUP_ID}_CHG1_1_charge_mode") is not None
    # reconfigured without it: the issue is deleted
    subentry = entry.subentries[GROUP_ID]
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, "members": [CONN1]})
    await knx.flush()
    await knx.drain_reads()
    assert _issue(hass, entry.runtime_data.groups[GROUP_ID], issues.ISSUE_BALANCING_MEMBER_REMOVED) is None


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
        assert state(hass, "sensor.house_state") == "bridge"
        set_meter(hass, 2300)
        assert await sent(knx) == []  # unchanged: not again before the period
        await advance(hass, freezer, 10)
        set_meter(hass, 2300)
        assert await sent(knx) == [("1/0/130", 10.0)]  # the period (10 s) passed
        set_meter(hass, 3.45, "kW")
        assert await sent(knx) == [("1/0/130", 15.0)]
        set_meter(hass, "unavailable")
        assert await sent(knx) == [("1/0/130", 63.0)]  # no meter: the protection device, no headroom
        assert state(hass, "sensor.house_state") == "fallback"
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
    assert group.missing == ["GONE"] and state(hass, "sensor.house_state") == "fallback"
    assert _issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED) is not None
    assert await sent(knx) == []


PHASES = ["sensor.l1", "sensor.l2", "sensor.l3"]


async def test_per_phase_meters_limit_a_single_phase_member_by_its_own_phase(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    for entity_id, amps in zip(PHASES, (20.0, 5.0, 12.0), strict=True):
        set_meter(hass, amps, "A", entity_id)
    member = {**CARPORT_MEMBER, "phase": 2}
    _, group = await setup_group(
        hass, knx, [member], carport=True, meter_entities=PHASES, phases=3, limit=25, **FAST
    )
    await plug(knx, 2, 1, 0.0)
    # L2 carries 5 A of a 25 A breaker: 20 A for the Carport (L1 at 20 A does not matter)
    assert await sent(knx) == [("2/0/1", 19.0), ("2/0/33", True)]
    assert group.available == 5.0  # the available current shown is the smallest phase's (L1)
    set_meter(hass, 1500, "W", "sensor.l3")  # one phase not in A: unusable
    assert await sent(knx) == [("2/0/33", False)]
    assert group.meter.state == "invalid"


async def test_invalid_group_data_is_logged_and_skipped(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    entry = await knx.setup(hub_entry([*chargers(), group_subentry([CONN1], meter_entities=["sensor.a", "sensor.b"])]))
    assert entry.runtime_data.groups == {}
    assert "Balancing group House is not set up" in caplog.text
    assert entry.runtime_data.chargers  # the chargers work


async def test_unload_stops_the_group(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    entry, _group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    assert await hass.config_entries.async_unload(entry.entry_id)
    set_meter(hass, 5000)
    assert await sent(knx) == []
