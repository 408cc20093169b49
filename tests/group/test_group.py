"""Balancing group runtime: a test meter entity drives the group; the telegrams on the faked bus are asserted."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.knx_evse.group.entities import ChargeModeExtraData
from custom_components.knx_evse.group.group import BalancingGroup
from tests.group.harness import (
    CONN1,
    CONN2,
    FAST,
    GARAGE,
    GROUP_ID,
    advance,
    chargers,
    group_subentry,
    no_caps,
    no_idle_probe,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import KnxTestKit, charger_subentry, hub_entry


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
    assert state(hass, "sensor.garage_connector_1_balancing_limit") == "9.0"
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
    assert state(hass, "sensor.house_balancing_state") == "balancing"
    assert group.state == "balancing"
    # Shown as "9 A" and "20.7 A", not "9.00 A": the frontend's precision comes from the registry.
    registry = er.async_get(hass)
    for entity_id, digits in (
        ("sensor.garage_connector_1_balancing_limit", 0),
        ("sensor.house_available_current", 1),
    ):
        entry = registry.async_get(entity_id)
        assert entry is not None and entry.options["sensor"]["suggested_display_precision"] == digits



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



FAIL_SAFE_20 = {**GARAGE, "fail_safe": True, "fail_safe_timeout": 20}



async def test_keep_alive_is_sent_within_the_fail_safe_timeout(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with no_idle_probe(), no_caps():
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
    with no_idle_probe(), no_caps():
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
    with no_idle_probe(), no_caps():
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



async def test_send_errors_listener_errors_and_round_errors_are_logged(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)

    def broken() -> None:
        raise RuntimeError("listener broke")

    group.async_add_listener(broken)
    await plug(knx, 1, 1, 0.0)
    assert "error in listener" in caplog.text
    await sent(knx)
    with patch.object(group.meter, "read", side_effect=RuntimeError("meter broke")):
        set_meter(hass, 1001)
        await knx.flush()
    assert "balancing round failed" in caplog.text
    assert await sent(knx) == []



async def test_a_round_requested_during_a_round_runs_after_it(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    rounds: list[str | None] = []
    group.async_add_listener(lambda: rounds.append(group.state))
    original = group.async_run_round

    async def slow_round() -> None:
        await asyncio.sleep(0)
        await original()

    with patch.object(group, "async_run_round", side_effect=slow_round):
        group.async_request_round()
        group.async_request_round()  # while the first one runs
        await knx.flush()
    assert len(rounds) == 2



async def test_stop_cancels_a_running_round(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    started = asyncio.Event()

    async def hanging_round() -> None:
        started.set()
        await asyncio.Event().wait()

    with patch.object(group, "async_run_round", side_effect=hanging_round):
        group.async_request_round()
        await started.wait()
        await group.async_stop()
    assert group._task is None



def test_control_errors(hass: HomeAssistant) -> None:
    assert ChargeModeExtraData.from_dict({"override": "x"}) is None
    assert ChargeModeExtraData.from_dict({"override": True}) is None
    assert ChargeModeExtraData.from_dict({}) == ChargeModeExtraData(None)



async def test_group_controls_refuse_bad_values(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    with pytest.raises(ValueError, match="mode must be one of"):
        group.async_set_mode(0, "turbo")
    for amps in (5, -1, 17, float("nan")):
        with pytest.raises(ValueError, match="override must be 0 or 6-16 A"):
            group.async_set_override(0, amps)
    group.async_set_enabled(True)  # already on: nothing happens
    assert group.enabled



async def test_core_refusing_the_configuration(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    with patch("custom_components.knx_evse.group.group.balancing_config", side_effect=ValueError("no")):
        entry = await knx.setup(hub_entry([*chargers(), group_subentry([CONN1])]))
    assert entry.runtime_data.groups == {}
    assert "Balancing group House is not set up: balancing group 'House': no" in caplog.text



async def test_stop_that_is_itself_cancelled_stays_cancelled(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    started = asyncio.Event()

    async def stubborn_round() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # still cleaning up when the stop is cancelled
            raise

    with patch.object(group, "async_run_round", side_effect=stubborn_round):
        group.async_request_round()
        await started.wait()
        stopping = asyncio.create_task(group.async_stop())
        await asyncio.sleep(0)
        stopping.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopping



async def test_diagnostics_of_a_real_group(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)
    entry, _group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    group = diagnostics["groups"][GROUP_ID]
    assert group["runtime"] == "BalancingGroup" and group["state"] == "balancing"
    assert group["meter"] == {"entities": ["sensor.grid"], "state": "ok", "value": 1000.0, "unit": "W", "issue": None}
    assert group["members"][0]["name"] == "Garage connector 1" and group["members"][0]["limit"] == 15.0
    assert group["last_decision"]["limits"] == [15.0]
    assert group["recent_decisions"][-1]["writes"] == [0]
    assert group["config"]["limit"] == 20.0



GRACE = {**FAST, "meter_grace": 10}


async def _charging_with_grace(hass: HomeAssistant, knx: KnxTestKit) -> BalancingGroup:
    """Connector 1 alone on 20 A with the 10 s grace, started at 15 A."""
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **GRACE)
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    return group


async def test_a_meter_blip_keeps_the_limits_in_force(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # The meter is unavailable for one update (2 s): no Stop, and no Start afterwards.
    with no_idle_probe():
        group = await _charging_with_grace(hass, knx)
        set_meter(hass, "unavailable")
        await advance(hass, freezer, 2)
        assert await sent(knx) == []
        assert group.state == "balancing"
        set_meter(hass, 1000)
        await advance(hass, freezer, 1)
        assert await sent(knx) == []
        # the first valid reading may cut at once: 17.4 A of house load leaves less than 6 A
        set_meter(hass, 4000)
        assert await sent(knx) == [("1/0/33", False)]


async def test_the_fallback_begins_after_the_grace(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        group = await _charging_with_grace(hass, knx)
        set_meter(hass, "unavailable")
        seconds: dict[int, list[tuple[str, object]]] = {}
        for second in range(1, 31):
            await advance(hass, freezer, 1)
            if telegrams := await sent(knx):
                seconds[second] = telegrams
        # the fallback (pause) at a round after the 10 s grace, not before
        assert list(seconds.values()) == [[("1/0/33", False)]]
        assert 10 <= next(iter(seconds)) <= 10 + 2 * group.interval
        assert group.state == "fallback"


async def test_a_short_disconnect_sends_no_stop_and_no_start(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe():
        group = await _charging_with_grace(hass, knx)
        knx.set_connected(False)
        await advance(hass, freezer, 1)
        knx.set_connected(True)
        await advance(hass, freezer, 1)
        assert [t for t in await sent(knx) if t[1] != "read"] == []
        assert group.state == "balancing"
