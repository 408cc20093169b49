"""Charging plans in a running group: the action and the entities, the cheapest hours on the bus, progress, issues, restore."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import DOMAIN as NUMBER_DOMAIN
from homeassistant.components.number import SERVICE_SET_VALUE
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.components.select import SERVICE_SELECT_OPTION
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.components.time import DOMAIN as TIME_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from custom_components.knx_evse import issues
from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.group.harness import CONN1, FAST, GROUP_ID, advance, plug, sent, set_meter, setup_group, state
from tests.knx_harness import KnxTestKit, ga

PRICE = "sensor.price"
STATE = "sensor.garage_connector_1_plan_state"
PLANNED = "sensor.garage_connector_1_planned_energy"
NEXT = "sensor.garage_connector_1_plan_next_start"
FEASIBLE = "binary_sensor.garage_connector_1_plan_will_be_met"
ENERGY = "number.garage_connector_1_plan_energy"
DEPARTURE = "time.garage_connector_1_plan_departure"
REPEAT = "select.garage_connector_1_plan_repeat"
ENABLED = "switch.garage_connector_1_plan"
PRICES = [0.30, 0.10, 0.20, 0.25, 0.28, 0.40]
"""EUR/kWh per hour from 17:00: the cheapest hour is 18:00, then 19:00."""


@pytest.fixture(autouse=True)
def quiet_chargers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time passes: no idle probe, no liveness reads (the faked charger answers none)."""
    monkeypatch.setattr(KnxEvseHub, "idle_probe_after", 1e9, raising=False)
    monkeypatch.setattr(ChargerCoordinator, "liveness_after", 1e9)
    monkeypatch.setattr(ChargerCoordinator, "answer_timeout", 1e9)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 9, 14, hour, minute, tzinfo=dt_util.get_default_time_zone())


def set_prices(hass: HomeAssistant, prices: list[float] = PRICES, unit: str = "EUR/kWh") -> None:
    entries = [{"start": (at(17) + timedelta(hours=h)).isoformat(), "end": (at(18) + timedelta(hours=h)).isoformat(),
                "value": p} for h, p in enumerate(prices)]
    hass.states.async_set(PRICE, str(prices[0]), {"unit_of_measurement": unit, "raw_today": entries})


def wh(value: int) -> tuple[int, ...]:
    return tuple(value.to_bytes(4, "big"))


async def solar_member(hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory) -> BalancingGroup:
    """Garage connector 1 (16 A) in Solar on a 20 A supply, plugged in at 17:00, the price entity with its hours.

    The meter shows 200 W of import throughout (no export: Solar alone never charges; a meter that
    does not follow the car is no problem for these tests, the supply has room).
    """
    freezer.move_to(at(17))
    set_meter(hass, 200)
    set_prices(hass)
    _, group = await setup_group(hass, knx, [{**CONN1, "mode": "solar"}], limit=20, price_entity=PRICE,
                                 meter_timeout=3600, solar_stop_delay=0, **FAST)
    await plug(knx, 1, 1, 0.0)
    await advance(hass, freezer, 1)
    await sent(knx)
    return group


async def later(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Let ``seconds`` pass, the meter (200 W of house) reporting at the end."""
    await advance(hass, freezer, seconds)
    set_meter(hass, 200)
    await hass.async_block_till_done(wait_background_tasks=True)


async def call_plan(hass: HomeAssistant, **data: Any) -> None:
    await hass.services.async_call(DOMAIN, "set_plan", {ATTR_ENTITY_ID: STATE, **data}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_plan_charges_in_the_cheapest_hours_and_stops_at_its_energy(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    assert state(hass, STATE) == "off"
    await call_plan(hass, energy=5, departure="20:00")
    assert (state(hass, ENERGY), state(hass, DEPARTURE), state(hass, REPEAT), state(hass, ENABLED)) == (
        "5.0", "20:00:00", "once", "on")
    assert state(hass, STATE) == "waiting"
    assert state(hass, FEASIBLE) == "on"
    assert dt_util.parse_datetime(state(hass, NEXT)) == at(18)
    assert float(state(hass, PLANNED)) == pytest.approx(5.0, abs=0.01)
    attributes = hass.states.get(STATE).attributes  # type: ignore[union-attr]
    assert [dt_util.parse_datetime(s["start"]) for s in attributes["slots"]] == [at(18), at(19)]
    assert attributes["slots"][0]["current"] == 16.0 and attributes["slots"][0]["price"] == 0.10
    assert (attributes["target"], attributes["reason"], attributes["forecast"]) == (5.0, "met", None)
    # 17:00-18:00 is dear: nothing is sent (Solar, no export)
    for _ in range(6):
        await later(hass, freezer, 600 - 1)
    assert ("1/0/33", True) not in await sent(knx)
    await later(hass, freezer, 10)  # 18:00: the planned hour
    telegrams = await sent(knx)
    assert ("1/0/31", 16.0) in telegrams and ("1/0/33", True) in telegrams
    assert state(hass, "sensor.garage_connector_1_balancing_reason") == "planned"
    assert state(hass, STATE) == "charging"
    # the charger counts the session's energy; a dropout to 0 is no new session
    for energy in (2000, 0, 3000, 5000):
        await knx.receive_write(ga(46), wh(energy))
    await later(hass, freezer, 5)
    assert group.planner.members[0].charged_wh == pytest.approx(5000.0)
    await later(hass, freezer, 5)
    assert ("1/0/33", False) in await sent(knx)  # the target has arrived: the plan lets go
    assert state(hass, STATE) == "reached"
    assert state(hass, FEASIBLE) == "on"


async def test_a_plan_that_cannot_be_met_raises_a_repair_issue(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    await call_plan(hass, energy=40, departure="20:00")  # 3 h at 16 A are 11 kWh
    assert state(hass, STATE) == "unreachable"
    assert state(hass, FEASIBLE) == "off"
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, issues.issue_id("plan_unreachable", group.entry.entry_id, f"{GROUP_ID}_CHG1_1"))
    assert issue is not None and issue.translation_placeholders is not None
    assert issue.translation_placeholders["reachable"] == "11.0"
    assert issue.translation_placeholders["target"] == "40"
    await later(hass, freezer, 5)
    assert ("1/0/33", True) in await sent(knx)  # it charges now, as all hours are needed
    await hass.services.async_call(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: ENERGY, "value": 6},
                                   blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, STATE) == "waiting"
    assert ir.async_get(hass).async_get_issue(
        DOMAIN, issues.issue_id("plan_unreachable", group.entry.entry_id, f"{GROUP_ID}_CHG1_1")) is None
    await later(hass, freezer, 5)
    assert ("1/0/33", False) in await sent(knx)  # 17:00 is no longer needed


async def test_entities_set_the_plan_and_bad_values_change_nothing(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    await call_plan(hass, energy=5, departure="20:00", repeat="mon_fri")
    await hass.services.async_call(TIME_DOMAIN, "set_value", {ATTR_ENTITY_ID: DEPARTURE, "time": "19:30"},
                                   blocking=True)
    await hass.services.async_call(SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: REPEAT, "option": "daily"},
                                   blocking=True)
    settings = group.planner.settings_of(0)
    assert (settings.departure.isoformat(), settings.repeat) == ("19:30:00", "daily")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: REPEAT, "option": "custom"},
                                       blocking=True)
    assert err.value.translation_key == "plan_custom_days"
    for data, key in (({"energy": -2}, "plan_energy_out_of_range"), ({"departure": "2026-09-14 16:00"}, "plan_in_past"),
                      ({"departure": "2026-09-30 07:00"}, "plan_too_far"), ({"repeat": "often"}, "invalid_repeat")):
        with pytest.raises(ServiceValidationError) as err:
            await call_plan(hass, **data)
        assert err.value.translation_key == key
    assert group.planner.settings_of(0) == settings  # nothing changed
    await hass.services.async_call(SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: ENABLED}, blocking=True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state(hass, STATE) == "off"
    assert state(hass, FEASIBLE) == "unknown"


async def test_a_one_off_plan_switches_off_when_it_has_left(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    await solar_member(hass, knx, freezer)
    await call_plan(hass, energy=1, departure="17:30")
    assert state(hass, STATE) in ("charging", "waiting")
    for _ in range(4):
        await later(hass, freezer, 600)
    assert state(hass, ENABLED) == "off"
    assert state(hass, STATE) == "off"
    await sent(knx)


async def test_plans_and_their_progress_survive_a_reload(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    await call_plan(hass, energy=7.5, departure="20:00", repeat=["mon", "wed"])
    await knx.receive_write(ga(46), wh(1200))
    await later(hass, freezer, 5)
    assert await hass.config_entries.async_reload(group.entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    reloaded = group.entry.runtime_data.groups[GROUP_ID]
    assert reloaded is not group
    settings = reloaded.planner.settings_of(0)
    assert (settings.energy_kwh, settings.repeat, sorted(settings.days), settings.enabled) == (7.5, "custom", [0, 2], True)
    assert reloaded.planner.members[0].charged_wh == pytest.approx(1200.0)
    assert state(hass, ENERGY) == "7.5" and state(hass, REPEAT) == "custom"
    await sent(knx)


async def test_a_forecast_in_another_unit_is_shown_and_the_latest_hours_are_planned(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    set_prices(hass, unit="EUR")
    group.planner._forecast_at = -1e18  # the next plan fetches again
    await call_plan(hass, energy=3, departure="20:00")
    attributes = hass.states.get(STATE).attributes  # type: ignore[union-attr]
    assert attributes["forecast"] == "forecast_unit"
    assert dt_util.parse_datetime(attributes["slots"][0]["start"]) >= at(19)  # no prices: the latest slots
    assert attributes["slots"][0]["price"] is None
    await sent(knx)


async def test_a_plan_does_not_steer_fast_and_sees_a_vehicle_that_takes_nothing(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await solar_member(hass, knx, freezer)
    await call_plan(hass, energy=10, departure="20:00")
    await hass.services.async_call(DOMAIN, "set_charge_mode", {ATTR_ENTITY_ID: STATE, "mode": "fast"}, blocking=True)
    await later(hass, freezer, 5)
    assert state(hass, STATE) == "not_steering"
    assert state(hass, FEASIBLE) == "unknown"
    await hass.services.async_call(DOMAIN, "set_charge_mode", {ATTR_ENTITY_ID: STATE, "mode": "solar"}, blocking=True)
    await later(hass, freezer, 5)
    assert state(hass, STATE) == "charging"  # 10 kWh need 17:00 too
    for _ in range(12):  # the car is offered 16 A and reports 0 A for 11 minutes
        await later(hass, freezer, 55)
    assert state(hass, STATE) == "vehicle_full"
    assert state(hass, FEASIBLE) == "off"
    assert group.planner.members[0].need_wh == 10000.0
    await sent(knx)
