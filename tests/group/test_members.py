"""The group's members (group/members.py): resolution, readings through the charger interface, stale members."""

from __future__ import annotations

from typing import Any, cast

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

from custom_components.knx_evse import issues
from custom_components.knx_evse.balancing import EvseConfig, MeterReading
from custom_components.knx_evse.charger.liveness import (
    DEFAULT_ANSWER_TIMEOUT,
    DEFAULT_LIVENESS_AFTER,
    STALE_READS,
)
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.members import Member, reserve_stale
from tests.group.harness import (
    CARPORT,
    CARPORT_MEMBER,
    CONN1,
    CONN2,
    FAST,
    GROUP_ID,
    METER,
    advance,
    carport_charger,
    chargers,
    f4,
    group_issue,
    group_subentry,
    keep_alive_while,
    no_caps,
    no_idle_probe,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import (
    KnxTestKit,
    all_group_addresses,
    charger_subentry,
    ga,
    hub_entry,
    registered_device,
)

BARN = {"phases": 3, "connectors": 1, "max_user_current": 16, "conn1_individual_status": True}



async def test_member_the_charger_cannot_serve_is_left_out(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    unlinked = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k != "1"}  # no current limit
    set_meter(hass, 1000)
    group_data = group_subentry([CARPORT_MEMBER, CONN1], **FAST)
    entry = await knx.setup(hub_entry([*chargers(), carport_charger(unlinked), group_data]))
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



async def test_current_from_the_power_object(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k not in ("14", "48")}
    set_meter(hass, 1000 + 2300)
    group_data = group_subentry([CARPORT_MEMBER], limit=40, **FAST)
    await knx.setup(hub_entry([carport_charger(addresses), group_data]))
    await knx.receive_write(ga(36, 2), 1)
    await knx.receive_write(ga(47, 2), f4(2300.0))  # 2300 W: 10 A, taken as charging
    assert await sent(knx) == [("2/0/1", 32.0), ("2/0/33", True)]



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



@pytest.mark.parametrize(("drawn", "limit"), [(False, 10.0), (True, 16.0)])
async def test_a_single_phase_car_on_a_three_phase_member_is_counted_on_its_phase_only_when_chosen(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, drawn: bool, limit: float
) -> None:
    # 3 x 25 A, the house 2, 14 and 2 A; Barn (three-phase, 16 A, its L1 on L1) charges a car on L1
    # alone. Off: its limit is counted on L2 too, where 11 A are left (less the raise margin).
    # drawn_phases: seen on L1 alone for 10 s, it is counted there: its 16 A.
    house = {"sensor.l1": 2.0, "sensor.l2": 14.0, "sensor.l3": 2.0}
    member = {"charger": "CHG3", "connector": 1, "max_current": 16}
    group_data = group_subentry([member], meter_entities=list(house), phases=3, limit=25, drawn_phases=drawn, **FAST)
    with no_idle_probe(), no_caps():
        entry = await knx.setup(hub_entry([charger_subentry("CHG3", "Barn", BARN, main=3), group_data]))
        group = entry.runtime_data.groups[GROUP_ID]
        assert group.balancer.config.drawn_phases is drawn
        await knx.receive_write(ga(36, 3), 1)
        for k in range(30):
            await advance(hass, freezer, 1)
            car = group.members[0].limit  # the car draws its limit on L1
            for n, amps in enumerate((car, 0.0, 0.0)):
                await knx.receive_write(ga(49 + n, 3), f4(amps))
            for n, (entity_id, amps) in enumerate(house.items()):
                set_meter(hass, amps + (car if n == 0 else 0.0) + 0.01 * (k % 2), "A", entity_id)  # a new state every second
            await sent(knx)
    assert group.members[0].limit == limit


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
    with no_idle_probe(), no_caps():
        entry = await knx.setup(hub_entry([*chargers(carport=True), per_phase, total]))
        await plug(knx, 2, 1, 8.0)
        await plug(knx, 1, 1, 8.0)
        await sent(knx)
        groups = entry.runtime_data.groups
        group, flat = groups[GROUP_ID], groups["GRP2"]
        held = group.members[0].limit
        # the Carport goes silent, the Garage (in the other group) keeps reporting
        await keep_alive_while(
            hass, freezer, knx, DEFAULT_LIVENESS_AFTER + STALE_READS * DEFAULT_ANSWER_TIMEOUT + 5,
            currents=[(1, 1, 8.0)], meters={**phases, "sensor.total": (10.0, "A")},
        )
        assert group.members[0].stale and not flat.members[0].stale
        # its limit is added on its own phase (L2): 40 − (10 + held)
        assert group.available == pytest.approx(40 - 10 - held)
        # a single current for the supply: the held limit is added to it
        flat.members[0].stale, flat.members[0].pin = True, 6.0
        reading = reserve_stale(flat.members, flat.meter.read())
        assert reading is not None and reading.value == 16.0



def _held(pin: float, **evse: Any) -> Member:
    """A stale member holding ``pin`` A (``evse``: its EvseConfig's phases and phase)."""
    config = EvseConfig(max_current=16.0, **evse)
    return Member(0, "k", "m", cast("Any", None), 0, config, stale=True, pin=pin)


@pytest.mark.parametrize(
    ("evse", "expected"),
    [
        ({"phases": 1, "phase": 3}, (1.0, 2.0, 13.0)),
        ({"phases": 3, "phase": 2}, (11.0, 12.0, 13.0)),  # rotated: its L1 on L2, all three loaded
        ({"phases": 2, "phase": 3}, (11.0, 2.0, 13.0)),  # two-phase: connector 1 on L3, connector 2 on L1
        ({"phases": 2, "phase": 1}, (11.0, 12.0, 3.0)),
    ],
)
def test_a_stale_members_limit_is_held_on_the_supply_phases_it_loads(
    evse: dict[str, int], expected: tuple[float, ...]
) -> None:
    reading = reserve_stale([_held(10.0, **evse)], MeterReading((1.0, 2.0, 3.0), 0.0))
    assert reading is not None and reading.value == expected
    power = reserve_stale([_held(10.0, **evse)], MeterReading(500.0, 0.0, "W"))
    assert power is not None and power.value == 500.0 + 10.0 * 230 * evse["phases"]


async def test_silent_charger_keeps_its_budget_and_gets_nothing_until_it_answers(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    meter = 1000.0 + 24 * 230  # house 4.35 A, both cars draw 12 A
    with no_idle_probe(), no_caps():
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
        quiet = DEFAULT_LIVENESS_AFTER + STALE_READS * DEFAULT_ANSWER_TIMEOUT
        telegrams = await keep_alive_while(
            hass, freezer, knx, quiet - 5, currents=[(1, 1, 12.0)], meters={METER: (meter, "W")}
        )
        assert not carport.stale
        # the coordinator's liveness read, unanswered, then read once more
        assert [t[1] for t in telegrams if t[0].startswith("2/")] == ["read"] * STALE_READS
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



async def test_member_whose_charger_is_gone_raises_an_issue_and_the_rest_is_balanced(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    set_meter(hass, 1000)
    gone = {"charger": "1.1.9", "connector": 0, "max_current": 16, "name": "Shed"}
    _, group = await setup_group(hass, knx, [gone, CONN1], limit=20, **FAST)
    assert [m.name for m in group.members] == ["Garage connector 1"] and group.missing == ["Shed"]
    found = group_issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED)
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
    found = group_issue(hass, group, issues.ISSUE_BALANCING_MEMBER_REMOVED)
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
    assert group_issue(hass, entry.runtime_data.groups[GROUP_ID], issues.ISSUE_BALANCING_MEMBER_REMOVED) is None

