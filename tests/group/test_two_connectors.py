"""Two-connector chargers balanced as one member, and phase rotation, through the real group.

docs/balancing.md, "Two connectors, one limit" and "Phase rotation"; manual, "Dynamic balancing in
models with two connectors".
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.group.harness import (
    FAST,
    GARAGE,
    GROUP_ID,
    advance,
    f4,
    group_subentry,
    no_idle_probe,
    sent,
    set_meter,
)
from tests.knx_harness import KnxTestKit, charger_subentry, ga, hub_entry

VE_222: dict[str, Any] = {
    "phases": 3,
    "connectors": 2,
    "max_user_current": 16,
    "conn1_individual_status": True,
    "conn2_individual_status": True,
}
LIMIT = "2/0/1"  # the Carport's whole-charger current limit


PHASE_METERS = ("sensor.l1", "sensor.l2", "sensor.l3")
HOUSE = 2.0  # A of other load on every phase: the supply imports, no export


async def _carport(hass: HomeAssistant, knx: KnxTestKit, mode: str) -> MockConfigEntry:
    """The Carport (VE 222) as one member on a 3 × 25 A supply with per-phase meters."""
    for entity_id in PHASE_METERS:
        set_meter(hass, HOUSE, "A", entity_id)
    member = {"charger": "CHG2", "connector": 0, "max_current": 16, "mode": mode, "name": "Carport"}
    group = group_subentry([member], meter_entities=list(PHASE_METERS), phases=3, limit=25, **FAST)
    return await knx.setup(hub_entry([charger_subentry("CHG2", "Carport", VE_222, main=2, model="VE 222"), group]))


async def _report(
    hass: HomeAssistant, knx: KnxTestKit, first: float, second: float, plugged: tuple[bool, bool] = (True, True)
) -> None:
    """Both connectors report their plug state and A on L1-L3, the charger its totals, the meters the sum."""
    for entity_id in PHASE_METERS:
        set_meter(hass, HOUSE + first + second, "A", entity_id)
    for connector, amps, on in ((1, first, plugged[0]), (2, second, plugged[1])):
        offset = 0 if connector == 1 else 49
        await knx.receive_write(ga(36 + offset, 2), int(on))
        for number in (49, 50, 51):
            await knx.receive_write(ga(number + offset, 2), f4(amps))
    for number in (15, 16, 17):
        await knx.receive_write(ga(number, 2), f4(first + second))


def _limits(telegrams: list[tuple[str, Any]]) -> list[float]:
    return [value for address, value in telegrams if address == LIMIT]


async def _limits_over_a_minute(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, start: tuple[float, float], amps: tuple[float, float]
) -> list[float]:
    """The Carport's limits written while both cars draw ``start``, then ``amps`` every 5 s for 60 s."""
    await _report(hass, knx, *start)
    written = _limits(await sent(knx))
    for _ in range(12):
        await advance(hass, freezer, 5)
        await _report(hass, knx, *amps)
        written += _limits(await sent(knx))
    return written


async def test_min_solar_gives_two_plugged_cars_six_amperes_each(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # The demo's Carport in Min+Solar without export: 6 A for the whole charger was 3 A per car,
    # below what a car charges at, so both stopped. Its minimum is 12 A while two cars share it.
    with no_idle_probe():
        await _carport(hass, knx, "min_solar")
        written = await _limits_over_a_minute(hass, knx, freezer, (0.0, 0.0), (6.0, 6.0))
        assert written[0] == 12.0 and set(written) == {12.0}
        await _report(hass, knx, 6.0, 0.0, plugged=(True, False))  # the second car leaves: 6 A serves the first
        await advance(hass, freezer, 5)
        assert _limits(await sent(knx)) == [6.0]


async def test_a_car_below_its_half_does_not_cap_the_other(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # 16 A split 8/8: the first car takes its 8 A, the second only 3 A. The charger does not pass the
    # unused 5 A on, so the whole charger's 11 A is not "less than its share": the first car would
    # lose its 8 A under a cap near 11 A.
    with no_idle_probe():
        entry = await _carport(hass, knx, "fast")
        written = await _limits_over_a_minute(hass, knx, freezer, (8.0, 3.0), (8.0, 3.0))
        assert written[-1] == 16.0 and written.count(16.0) == 1  # raised to its maximum, never capped after
        assert entry.runtime_data.groups[GROUP_ID].members[0].reason == "fast"


async def test_a_two_phase_charger_is_counted_on_its_two_supply_phases(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # A VE 742 with "Phase connection: different", connector 1 on L3, connector 2 on L1 (the next
    # phase, cyclically). House load: 6 A on L1, 15 A on L2, 2 A on L3; connector 1 draws 4 A,
    # connector 2 10 A. Counted on L1 and L2, or on all three, it would be cut; counted on L3 alone,
    # raised with connector 2 overloading L1.
    meters = {"sensor.l1": 16.0, "sensor.l2": 15.0, "sensor.l3": 6.0}
    for entity_id, amps in meters.items():
        set_meter(hass, amps, "A", entity_id)
    member = {"charger": "CHG1", "connector": 0, "max_current": 16, "phase": 3}
    group = group_subentry([member], meter_entities=list(meters), phases=3, limit=16, **FAST)
    parameters = {**GARAGE, "phase_connection": "different"}
    with no_idle_probe():
        entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters), group]))
        await knx.receive_write(ga(36), 1)
        await knx.receive_write(ga(85), 1)
        written: list[tuple[str, Any]] = []
        for _ in range(6):
            await knx.receive_write(ga(48), f4(4.0))
            await knx.receive_write(ga(97), f4(10.0))
            for entity_id, amps in meters.items():
                set_meter(hass, amps, "A", entity_id)
            written += await sent(knx)
            await advance(hass, freezer, 5)
        member = entry.runtime_data.groups[GROUP_ID].members[0]
        # L1's 16 A less 6 A of house load, less the raise margin, on the 1 A grid
        assert (member.limit, member.paused) == (9.0, False)
        assert [value for address, value in written if address == "1/0/1"] == [9.0]
        assert member.evse.phases == 2
