"""Balancing group runtime, less common paths: odd wiring, other meters, failures, listeners, stop."""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.knx_evse.charger.liveness import DEFAULT_ANSWER_TIMEOUT, DEFAULT_LIVENESS_AFTER
from custom_components.knx_evse.group.entities import ChargeModeExtraData
from custom_components.knx_evse.group.members import reserve_stale
from tests.group.harness import (
    CARPORT,
    CARPORT_MEMBER,
    CONN1,
    FAST,
    GROUP_ID,
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
from tests.knx_harness import KnxTestKit, all_group_addresses, charger_subentry, ga, hub_entry


def _carport(addresses: dict[str, list[str]], **parameters: Any) -> Any:
    return charger_subentry("CHG2", "Carport", {**CARPORT, **parameters}, addresses, main=2)


async def test_member_the_charger_cannot_serve_is_left_out(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    unlinked = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k != "1"}  # no current limit
    set_meter(hass, 1000)
    group_data = group_subentry([CARPORT_MEMBER, CONN1], **FAST)
    entry = await knx.setup(hub_entry([*chargers(), _carport(unlinked), group_data]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert [m.name for m in group.members] == ["Garage connector 1"]
    assert "member Carport is not balanced: member_limit_not_linked" in caplog.text


async def test_a_member_is_balanced_by_one_group_only(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    set_meter(hass, 1000)
    first = group_subentry([CONN1], **FAST)
    second = group_subentry([{**CONN1, "connector": 0}], name="Flat", subentry_id="GRP2", **FAST)
    entry = await knx.setup(hub_entry([*chargers(), first, second]))
    assert [m.name for m in entry.runtime_data.groups["GRP2"].members] == []
    assert "member Garage already belongs to another balancing group" in caplog.text


async def test_pause_by_object_18_or_by_a_zero_limit(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k != "33"}
    set_meter(hass, 1000)
    group_data = group_subentry([CARPORT_MEMBER], limit=20, **FAST)
    entry = await knx.setup(hub_entry([_carport(addresses), group_data]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.members[0].charger.stop_objects == (18,)  # "[EVSE] Pause / Restart any charging"
    await plug(knx, 2, 1, 0.0)
    assert await sent(knx) == [("2/0/1", 15.0), ("2/0/18", True)]
    await hass.config_entries.async_unload(entry.entry_id)
    without = {k: v for k, v in addresses.items() if k != "18"}
    entry = await knx.setup(hub_entry([_carport(without), group_data]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.members[0].charger.stop_objects == ()
    await plug(knx, 2, 1, 0.0, connected=False)
    assert await sent(knx) == [("2/0/1", 0.0)]  # paused with a 0 A limit


async def test_current_from_the_power_object(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k not in ("14", "48")}
    set_meter(hass, 1000 + 2300)
    group_data = group_subentry([CARPORT_MEMBER], limit=40, **FAST)
    await knx.setup(hub_entry([_carport(addresses), group_data]))
    await knx.receive_write(ga(36, 2), 1)
    await knx.receive_write(ga(47, 2), f4(2300.0))  # 2300 W: 10 A, taken as charging
    assert await sent(knx) == [("2/0/1", 32.0), ("2/0/33", True)]


BARN = {"phases": 3, "connectors": 1, "max_user_current": 16, "conn1_individual_status": True}


async def test_three_phase_member_with_one_phase_unknown(hass: HomeAssistant, knx: KnxTestKit) -> None:
    for n, amps in ((1, 10.0), (2, 10.0), (3, 10.0)):
        set_meter(hass, amps, "A", f"sensor.l{n}")
    member = {"charger": "CHG3", "connector": 1, "max_current": 16}
    group_data = group_subentry(
        [member], meter_entities=["sensor.l1", "sensor.l2", "sensor.l3"], phases=3, limit=25, **FAST
    )
    entry = await knx.setup(hub_entry([charger_subentry("CHG3", "Barn", BARN, main=3), group_data]))
    await knx.receive_write(ga(36, 3), 1)
    await knx.receive_write(ga(49, 3), f4(8.0))  # L1 only: the unknown phases count as 8 A too
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.decision is not None
    assert group.available == 23.0  # 25 A − (10 A − 8 A) on every phase
    assert ("3/0/31", 16.0) in await sent(knx)


async def test_stale_member_is_reserved_on_per_phase_and_current_meters(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    phases = {f"sensor.l{n}": (10.0 if n == 2 else 2.0, "A") for n in (1, 2, 3)}
    for entity_id, (value, unit) in phases.items():
        set_meter(hass, value, unit, entity_id)
    set_meter(hass, 10.0, "A", "sensor.total")
    member = {**CARPORT_MEMBER, "phase": 2}
    per_phase = group_subentry([member], meter_entities=list(phases), phases=3, limit=40, **FAST)
    total = group_subentry(
        [{**CONN1, "phase": 2}], meter_entities=["sensor.total"], phases=3, limit=40, name="Flat",
        subentry_id="GRP2", **FAST,
    )
    with no_idle_probe():
        entry = await knx.setup(hub_entry([*chargers(carport=True), per_phase, total]))
        await plug(knx, 2, 1, 8.0)
        await plug(knx, 1, 1, 8.0)
        await sent(knx)
        groups = entry.runtime_data.groups
        group, flat = groups[GROUP_ID], groups["GRP2"]
        held = group.members[0].limit
        # the Carport goes silent, the Garage (in the other group) keeps reporting
        await keep_alive_while(
            hass, freezer, knx, DEFAULT_LIVENESS_AFTER + DEFAULT_ANSWER_TIMEOUT + 5,
            currents=[(1, 1, 8.0)], meters={**phases, "sensor.total": (10.0, "A")},
        )
        assert group.members[0].stale and not flat.members[0].stale
        # its limit is added on its own phase (L2): 40 − (10 + held)
        assert group.available == pytest.approx(40 - 10 - held)
        # a single current for the supply: the held limit is added to it
        flat.members[0].stale, flat.members[0].pin = True, 6.0
        reading = reserve_stale(flat.members, flat.meter.read())
        assert reading is not None and reading.value == 16.0


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


MASTER = {"connectors": 1, "load_balancing": True}


async def test_bridge_repeats_only_after_the_period_and_logs_write_errors(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    for n, amps in ((1, 4.0), (2, 9.0), (3, 6.0)):
        set_meter(hass, amps, "A", f"sensor.l{n}")
    bridge = group_subentry(
        [], mode="bridge", bridge_charger="CHG1", phases=3, meter_entities=["sensor.l1", "sensor.l2", "sensor.l3"],
    )
    with no_idle_probe():
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Master", MASTER), bridge]), drain_reads=False)
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
        with patch.object(master.coordinator, "async_write_object", side_effect=HomeAssistantError("busy")):
            set_meter(hass, 13.0, "A", "sensor.l2")
            await knx.flush()
        assert "could not feed the meter to Master" in caplog.text
        assert state(hass, "sensor.house_state") == "bridge"
        await current(knx, 1, 1, 0.0)  # unrelated telegrams do not disturb the bridge
        assert await sent(knx) == []


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
