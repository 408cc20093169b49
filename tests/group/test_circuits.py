"""A group's circuits at run time (group/circuits.py): their limits and meters, fallback, repair issues."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir

from custom_components.knx_evse import async_remove_config_entry_device, issues
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from tests.group.harness import (
    CARPORT_MEMBER,
    CONN1,
    FAST,
    GROUP_ID,
    advance,
    group_issue,
    no_caps,
    no_idle_probe,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import KnxTestKit, registered_device

BOARD = "sensor.garage_board"


def board(limit: float = 12, **extra: Any) -> dict[str, Any]:
    """The circuit ``Garage board`` (id ``gb``) under the supply."""
    return {"id": "gb", "name": "Garage board", "limit": limit, **extra}


def meter_issue(hass: HomeAssistant, group: BalancingGroup) -> ir.IssueEntry | None:
    """The ``circuit_meter_problem`` issue of the Garage board."""
    key = issues.issue_id(issues.ISSUE_CIRCUIT_METER_PROBLEM, group.entry.entry_id, f"{GROUP_ID}_gb")
    return ir.async_get(hass).async_get_issue(DOMAIN, key)


async def test_a_circuit_without_a_meter_caps_its_members(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)
    members = [{**CONN1, "circuit": "gb"}, CARPORT_MEMBER]
    _, group = await setup_group(hass, knx, members, carport=True, limit=40, circuits=[board()], **FAST)
    await plug(knx, 1, 1, 0.0)
    await plug(knx, 2, 1, 0.0)
    set_meter(hass, 0)  # reported again, as a meter does: a start counts on a reading after the last one
    await group.async_run_round()  # one start per round
    telegrams = dict(await sent(knx))
    assert telegrams["1/0/31"] == 11.0  # within the board's 12 A (whole amps below it), though the supply has room
    assert telegrams["2/0/33"] is True  # the Carport, under the supply alone, starts as well
    (circuit,) = group.circuits.items
    assert (circuit.state, circuit.available) == ("ok", 12.0)
    assert group.diagnostics()["circuits"][0]["state"] == "ok"


async def test_a_metered_circuit_is_budgeted_from_its_meter(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)
    set_meter(hass, 5.0, "A", BOARD)  # 5 A of other load on the board, its member draws nothing
    _, group = await setup_group(
        hass, knx, [{**CONN1, "circuit": "gb"}], circuits=[board(16, meter=[BOARD])], **FAST
    )
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 10.0), ("1/0/33", True)]  # below 16 A - 5 A
    assert group.circuits.items[0].available == 11.0
    set_meter(hass, 1150, "W", BOARD)  # 5 A in W: the same
    assert await sent(knx) == []
    set_meter(hass, 14.0, "A", BOARD)  # the car does not draw yet, the board's other load rose: 2 A left
    assert await sent(knx) == [("1/0/33", False)]


async def test_a_failed_circuit_meter_pauses_its_members_only_and_raises_an_issue_naming_it(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe(), no_caps():
        set_meter(hass, 0)
        set_meter(hass, 0, "A", BOARD)
        members = [{**CONN1, "circuit": "gb"}, CARPORT_MEMBER]
        _, group = await setup_group(
            hass, knx, members, carport=True, limit=40, circuits=[board(16, meter=[BOARD])], **FAST
        )
        await plug(knx, 1, 1, 0.0)
        await plug(knx, 2, 1, 0.0)
        freezer.tick(1)
        set_meter(hass, 0)  # a reading taken after the first start: the second may count on it
        await group.async_run_round()  # one start per round
        await sent(knx)
        freezer.tick(1)
        set_meter(hass, 0)  # and one after the second: a raise may count on it
        set_meter(hass, "unavailable", "A", BOARD)
        await knx.flush()
        # the board's member pauses; the Carport charges on and gets the room back
        assert await sent(knx) == [("1/0/33", False), ("2/0/1", 32.0)]
        circuit = group.circuits.items[0]
        assert circuit.state == "meter_problem" and group.state == "balancing"
        assert group.members[0].reason == "fallback_meter_invalid"
        assert meter_issue(hass, group) is None  # a short glitch raises no issue
        for _ in range(7):  # the meter timeout (30 s) passes
            set_meter(hass, "unavailable", "A", BOARD)
            set_meter(hass, 0)
            await advance(hass, freezer, 5)
        found = meter_issue(hass, group)
        assert found is not None
        assert found.translation_placeholders == {
            "group": "House", "circuit": "Garage board", "entity_id": BOARD, "problem": "unavailable"
        }
        set_meter(hass, 0, "A", BOARD)
        await knx.flush()
        assert ("1/0/33", True) in await sent(knx)
        assert circuit.state == "ok" and meter_issue(hass, group) is None


async def test_a_circuit_above_the_supply_raises_an_issue_and_the_group_does_not_balance(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 0)
    entry, group = await setup_group(hass, knx, [{**CONN1, "circuit": "gb"}], circuits=[board(30)], **FAST)
    await plug(knx, 1, 1, 16.0)
    assert await sent(knx) == []  # nothing is written: the charger keeps its limit, as when the group is off
    assert group.state == "disabled" and group.members[0].reason == "group_disabled"
    assert group.circuits.items[0].state is None
    found = group_issue(hass, group, issues.ISSUE_CIRCUIT_CONFIG_INVALID)
    assert found is not None
    assert found.translation_placeholders == {
        "group": "House",
        "problem": "circuit 'Garage board': its limit (30 A) is above that of the supply (25 A)",
    }
    # fixed by reconfiguring: the hub reloads, the issue is deleted and the group balances
    subentry = entry.subentries[GROUP_ID]
    hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, "circuits": [board(10)]})
    await knx.flush()
    await knx.drain_reads()
    group = entry.runtime_data.groups[GROUP_ID]
    await plug(knx, 1, 1, 0.0)
    assert group_issue(hass, group, issues.ISSUE_CIRCUIT_CONFIG_INVALID) is None
    assert await sent(knx) == [("1/0/31", 9.0), ("1/0/33", True)]


async def test_a_circuit_whose_chargers_are_gone_is_left_out(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)
    members = [{"charger": "CHG9", "connector": 0, "max_current": 16, "circuit": "gb"}, CONN1]
    _, group = await setup_group(hass, knx, members, circuits=[board(10, meter=[BOARD])], **FAST)
    assert group.missing == ["CHG9"]
    assert group.config.circuits == () and group.circuits.entity_ids == []
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]  # balanced; the board's meter is not asked


async def test_a_stale_members_held_limit_counts_in_its_circuits_meter(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)
    set_meter(hass, 3.0, "A", BOARD)
    _, group = await setup_group(
        hass, knx, [{**CONN1, "circuit": "gb"}], circuits=[board(16, meter=[BOARD])], **FAST
    )
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    member = group.members[0]
    member.stale, member.pin = True, 13.0
    reading = group.circuits.read(group.members)["gb"]
    assert reading is not None and reading.value == 16.0  # 3 A measured + the 13 A held for it
    member.evse = type(member.evse)(max_current=16.0, circuit=None)
    assert group.circuits.read(group.members)["gb"].value == 3.0  # type: ignore[union-attr]


async def test_each_circuit_is_a_device_under_the_group_with_its_sensors(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    set_meter(hass, 0)
    set_meter(hass, 5.0, "A", BOARD)
    circuits = [board(16, meter=[BOARD]), {"id": "row", "name": "Row", "limit": 10, "parent": "gb"}]
    entry, group = await setup_group(hass, knx, [{**CONN1, "circuit": "row"}], circuits=circuits, **FAST)
    await plug(knx, 1, 1, 0.0)
    assert state(hass, "sensor.garage_board_available_current") == "11.0"
    assert state(hass, "sensor.row_available_current") == "10.0"
    assert (state(hass, "sensor.garage_board_state"), state(hass, "sensor.row_state")) == ("ok", "ok")
    set_meter(hass, "abc", "A", BOARD)
    await knx.flush()
    assert (state(hass, "sensor.garage_board_state"), state(hass, "sensor.row_state")) == ("meter_problem", "fallback")
    assert state(hass, "sensor.row_available_current") == "unknown"
    devices = dr.async_get(hass)
    house = registered_device(hass, GROUP_ID)
    row = registered_device(hass, f"{GROUP_ID}_circuit_row")
    assert house is not None and row is not None
    assert (row.name, row.via_device_id) == ("Row", house.id)
    sensor = er.async_get(hass).async_get("sensor.row_state")
    assert sensor is not None and (sensor.device_id, sensor.config_subentry_id) == (row.id, GROUP_ID)
    assert not await async_remove_config_entry_device(hass, entry, row)
    group.async_set_enabled(False)
    await knx.flush()
    assert state(hass, "sensor.row_state") == "unknown"
    # the Row removed by reconfiguring: its device and entities go
    subentry = entry.subentries[GROUP_ID]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "circuits": [board(16)], "members": [{**CONN1, "circuit": "gb"}]}
    )
    await knx.flush()
    assert devices.async_get(row.id) is None
    assert hass.states.get("sensor.row_state") is None
    assert er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{GROUP_ID}_circuit_row_state") is None
    assert state(hass, "sensor.garage_board_state") in ("ok", "unknown")
    await sent(knx)
