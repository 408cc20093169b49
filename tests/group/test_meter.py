"""The group's meter (group/meter.py): units, sign, faults and their issues, staleness, per-phase meters."""

from __future__ import annotations

import logging

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation

from custom_components.knx_evse import issues
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.issues import ISSUE_METER_UNUSABLE
from tests.group.harness import (
    CARPORT_MEMBER,
    CONN1,
    FAST,
    GROUP_ID,
    METER,
    advance,
    current,
    group_issue,
    no_caps,
    no_idle_probe,
    one_member_at,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import KnxTestKit

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



PHASES = ["sensor.l1", "sensor.l2", "sensor.l3"]



async def test_units_are_converted_also_when_they_change(hass: HomeAssistant, knx: KnxTestKit) -> None:
    # 4680 W = 20.35 A of which 16 A is the car: 4.35 A of house load leaves 15.65 A
    await one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    set_meter(hass, 4.68, "kW")  # the same power in kW: nothing to change (misread as W it would be 16 A)
    assert await sent(knx) == []
    set_meter(hass, 6.0, "kW")  # 26.09 A: 10.09 A of other load leaves 9.9 A
    assert await sent(knx) == [("1/0/31", 9.0)]
    set_meter(hass, 23.5, "A")  # a current meter: 7.5 A of other load leaves 12.5 A
    assert await sent(knx) == [("1/0/31", 12.0)]
    set_meter(hass, 23500, "mA")
    assert await sent(knx) == []
    set_meter(hass, 0.00468, "MW")
    assert await sent(knx) == [("1/0/31", 15.0)]



async def test_inverted_meter(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await one_member_at(hass, knx, -4680, 16.0, invert=True)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    assert state(hass, "sensor.house_available_current") == "15.65"



@pytest.mark.parametrize("fault", list(FAULTS))
async def test_meter_fault_falls_back_raises_issue_and_recovers(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, fault: str
) -> None:
    value, unit, verdict, issue_key = FAULTS[fault]
    with no_idle_probe():
        group = await one_member_at(hass, knx, 1000, 0.0)
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
        assert state(hass, "sensor.house_balancing_state") == "fallback"
        assert state(hass, "sensor.house_available_current") == "unknown"
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "fallback_meter_invalid"
        assert group_issue(hass, group, issue_key) is None  # a short glitch raises no repair issue
        for _ in range(7):  # the meter timeout (30 s) passes, the problem persists
            if value is not None:
                set_meter(hass, value, unit)
            await advance(hass, freezer, 5)
        found = group_issue(hass, group, issue_key)
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
        assert group_issue(hass, group, issue_key) is None
        assert group.state == "balancing"



async def test_an_unusable_meter_is_logged_once_whatever_its_problems_meanwhile(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Unavailable, then non-numeric, then unavailable again for several rounds: one line when it
    starts, one when it is usable again."""
    caplog.set_level(logging.INFO, logger="custom_components.knx_evse.group.meter")
    with no_idle_probe():
        await one_member_at(hass, knx, 1000, 0.0)
        await sent(knx)
        for value in ("unavailable", "abc", "unavailable", "abc"):
            set_meter(hass, value)
            await advance(hass, freezer, 5)
        set_meter(hass, 1000)
        await knx.flush()
        set_meter(hass, "unavailable")
        await knx.flush()
        await sent(knx)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name.endswith("group.meter")]
    assert lines == [
        (logging.WARNING, f"House: meter {METER} is unavailable; fallback applied"),
        (logging.INFO, "House: meter usable again, balancing resumes"),
        (logging.WARNING, f"House: meter {METER} is unavailable; fallback applied"),
    ]


async def test_stale_meter_falls_back_but_a_reported_unchanged_value_is_not_stale(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    with no_idle_probe(), no_caps():
        group = await one_member_at(hass, knx, 1000, 0.0)
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
        found = group_issue(hass, group, ISSUE_METER_UNUSABLE)
        assert found is not None and (found.translation_placeholders or {})["problem"] == "stale"
        set_meter(hass, 1000)  # reported again (unchanged value): recovers at once
        await knx.flush()
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        assert group_issue(hass, group, ISSUE_METER_UNUSABLE) is None



async def test_fixed_fallback_current(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await one_member_at(hass, knx, 1000, 0.0, fallback_current=10)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    set_meter(hass, "abc")
    assert await sent(knx) == [("1/0/31", 10.0)]
    assert state(hass, "sensor.garage_connector_1_balancing_limit") == "10.0"



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



@pytest.mark.parametrize(("balanced", "available"), [(False, "13.0"), (True, "21.0")])
async def test_one_total_meter_on_three_phases_counts_the_other_load_on_every_phase(
    hass: HomeAssistant, knx: KnxTestKit, balanced: bool, available: str
) -> None:
    # 3 × 25 A and one W meter showing 12 A of house load in all (2760 W). The load may all sit
    # on one phase, so each phase keeps 25 - 12 = 13 A; a balanced installation spreads it: 21 A.
    phase = {**CONN1, "phase": 1}
    set_meter(hass, 12 * 230)
    await setup_group(hass, knx, [phase], phases=3, balanced_supply=balanced, **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    assert state(hass, "sensor.house_available_current") == available


async def test_inverted_meter_falls_back_with_a_repair_issue_until_the_sign_is_inverted(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # The meter counts import as export and "Invert the sign" is off: 2 A of house load looks like
    # export, so the car gets its 16 A; 18 A of "export" is still within the 20 A supply.
    drawn, noise = [0.0], [0.0]

    async def second(car: float | None = None) -> None:
        """One second: the car reports a new current (when given), the meter a new reading."""
        await advance(hass, freezer, 1)
        if car is not None:
            drawn[0] = car
            await current(knx, 1, 1, car)
        noise[0] = 0.1 - noise[0]  # every reading a new state
        set_meter(hass, -(2.0 + noise[0] + drawn[0]) * 230)
        await knx.flush()

    with no_idle_probe():
        group = await one_member_at(hass, knx, -2.0 * 230, 0.0)
        assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]
        # The car's own steps: it starts at 16 A, falls to 8 A (its battery), rises again.
        for car in (16.0, 8.0):
            await second(car)
            for _ in range(5):
                await second()
        assert group.meter.state == "ok" and await sent(knx) == []  # two steps are no proof
        await second(16.0)
        for _ in range(3):  # judged two readings and 2 s after the step
            await second()
        assert group.meter.state == "reversed"
        assert await sent(knx) == [("1/0/33", False)]  # the fallback: pause
        assert state(hass, "binary_sensor.house_meter_problem") == "on"
        problem = hass.states.get("binary_sensor.house_meter_problem")
        assert problem is not None and problem.attributes["meter_state"] == "reversed"
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "fallback_meter_reversed"
        assert state(hass, "sensor.house_balancing_state") == "fallback"
        found = group_issue(hass, group, issues.ISSUE_METER_REVERSED)  # at once, not after the timeout
        assert found is not None and found.translation_placeholders == {"group": "House", "entity_id": METER}
        assert group_issue(hass, group, ISSUE_METER_UNUSABLE) is None
        texts = await translation.async_get_translations(hass, "en", "issues", [DOMAIN])
        key = f"component.{DOMAIN}.issues.{issues.ISSUE_METER_REVERSED}"
        assert texts[f"{key}.title"].format(**found.translation_placeholders) == (
            "Balancing group House: the meter's sign looks reversed"
        )
        assert '"Invert the sign"' in texts[f"{key}.description"]
        # Latched: readings that look right do not resume charging on this meter.
        await current(knx, 1, 1, 0.0)  # the car follows its Stop
        for k in range(40):
            await advance(hass, freezer, 1)
            set_meter(hass, 3 * 230 + k % 2)
        assert await sent(knx) == [] and group.meter.state == "reversed"
        # "Invert the sign" switched on (the subentry reconfigure reloads the group).
        set_meter(hass, -3 * 230)
        entry = group.entry
        subentry = entry.subentries[GROUP_ID]
        hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, "invert": True})
        await knx.flush()
        await knx.drain_reads()
        group = entry.runtime_data.groups[GROUP_ID]
        await plug(knx, 1, 1, 0.0)
        assert group.meter.state == "ok" and group.state == "balancing"
        assert group_issue(hass, group, issues.ISSUE_METER_REVERSED) is None
        assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]  # 17 A of room: its 16 A
