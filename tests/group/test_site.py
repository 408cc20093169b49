"""The group's price and home-battery entities: read as the meter is, fed to the core, shown as entities."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant

from custom_components.knx_evse.group.data import validate_group
from custom_components.knx_evse.group.site import Site
from tests.group.harness import CONN1, FAST, METER, plug, sent, set_meter, setup_group, state
from tests.knx_harness import KnxTestKit

SOLAR = {**CONN1, "mode": "solar"}
PRICE = "sensor.price"
SOC = "sensor.battery_soc"
POWER = "sensor.battery_power"
SMART = {"price_entity": PRICE, "price_limit": 0.20}
REASON = "sensor.garage_connector_1_balancing_reason"
PRICE_STATE = "sensor.house_energy_price"


def set_price(hass: HomeAssistant, value: Any) -> None:
    hass.states.async_set(PRICE, str(value), {"unit_of_measurement": "EUR/kWh"})


def set_battery(hass: HomeAssistant, soc: Any, kw: Any) -> None:
    hass.states.async_set(SOC, str(soc), {"unit_of_measurement": "%"})
    hass.states.async_set(POWER, str(kw), {"unit_of_measurement": "kW"})


def site(hass: HomeAssistant, **data: Any) -> Site:
    return Site(hass, validate_group({"name": "House", "meter_entities": [METER], **data}), group="House")


async def test_a_cheap_price_charges_a_solar_member_as_fast(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)  # importing: no export for solar
    set_price(hass, 0.10)
    await setup_group(hass, knx, [SOLAR], **SMART, **FAST)
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]  # its maximum, within 20.65 A
    assert state(hass, REASON) == "cheap_price"
    assert state(hass, PRICE_STATE) == "cheap"
    set_price(hass, 0.30)  # the change alone runs a round
    await hass.async_block_till_done()
    assert await sent(knx) == [("1/0/31", 6.0)]  # solar again: its minimum while it lacks export
    assert state(hass, REASON) == "no_surplus_hold"
    assert state(hass, PRICE_STATE) == "expensive"


@pytest.mark.parametrize("price", ["unavailable", "unknown", "cheap", "nan"])
async def test_an_unusable_price_is_never_cheap_and_says_so(
    hass: HomeAssistant, knx: KnxTestKit, price: str
) -> None:
    set_meter(hass, 1000)
    set_price(hass, price)
    await setup_group(hass, knx, [SOLAR], **SMART, **FAST)
    await plug(knx, 1, 1, 0.0)
    assert ("1/0/33", True) not in await sent(knx)  # no fall back to Fast
    assert state(hass, REASON) == "price_unavailable"
    assert state(hass, PRICE_STATE) == "no_price"
    set_price(hass, 0.05)
    await hass.async_block_till_done()
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True)]
    assert state(hass, REASON) == "cheap_price"


async def test_a_missing_price_entity_is_never_cheap(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    await setup_group(hass, knx, [SOLAR], **SMART, **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    assert state(hass, REASON) == "price_unavailable"


async def test_the_price_sensor_exists_only_with_a_price_rule(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 1000)
    set_price(hass, 0.1)
    await setup_group(hass, knx, [SOLAR], price_entity=PRICE, **FAST)  # read, but no rule
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    assert hass.states.get(PRICE_STATE) is None
    assert state(hass, REASON) == "paused_no_surplus"


async def test_the_battery_charge_is_the_cars_above_the_priority_soc(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)  # the battery takes all the surplus: 2.3 kW
    set_battery(hass, 90, -2.3)
    _, group = await setup_group(
        hass, knx, [SOLAR], battery_soc_entity=SOC, battery_power_entity=POWER, priority_soc=50, **FAST
    )
    await plug(knx, 1, 1, 0.0)
    assert await sent(knx) == [("1/0/31", 9.0), ("1/0/33", True)]  # 10 A less the raise margin
    assert group.decision is not None and group.decision.battery == "car_first"
    assert group.diagnostics()["site"]["battery_power"] == -2300.0


async def test_below_the_priority_soc_the_surplus_is_the_batterys(hass: HomeAssistant, knx: KnxTestKit) -> None:
    set_meter(hass, 0)
    set_battery(hass, 30, 2.3)  # inverted: +2.3 kW is charging
    _, group = await setup_group(hass, knx, [SOLAR], battery_soc_entity=SOC, battery_power_entity=POWER,
                                 battery_invert=True, priority_soc=50, **FAST)
    await plug(knx, 1, 1, 0.0)
    assert ("1/0/33", True) not in await sent(knx)
    assert state(hass, REASON) == "paused_no_surplus"
    assert group.decision is not None and group.decision.battery == "battery_first"


async def test_reading_the_entities(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    reader = site(hass, **SMART, battery_soc_entity=SOC, battery_power_entity=POWER, battery_invert=True,
                  priority_soc=40, buffer_soc=80)
    set_price(hass, 0.123)
    set_battery(hass, 85, -1.5)
    now = hass.states.get(POWER).last_reported_timestamp  # type: ignore[union-attr]
    reading = reader.read(now, 30.0)
    assert (reading.price, reading.battery_soc, reading.battery_power) == (0.123, 85.0, 1500.0)
    assert (reading.price_limit, reading.priority_soc, reading.buffer_soc) == (0.20, 40.0, 80.0)
    assert reading.battery_state == "buffer" and reader.price_state == "cheap"
    assert reader.problems == {}
    assert reader.read(now + 31.0, 30.0).battery_power is None  # stale like a meter
    assert reader.problems == {POWER: "stale"}
    assert f"{POWER} is stale" in caplog.text
    assert reader.read(now + 31.0, 30.0).battery_soc == 85.0  # a SoC has no age limit
    hass.states.async_set(SOC, "85", {"unit_of_measurement": "kWh"})
    hass.states.async_set(POWER, "3", {"unit_of_measurement": "A"})
    set_price(hass, "n/a")
    now = hass.states.get(POWER).last_reported_timestamp  # type: ignore[union-attr]
    reading = reader.read(now, 30.0)
    assert (reading.price, reading.battery_soc, reading.battery_power) == (None, None, None)
    assert reader.problems == {PRICE: "invalid", SOC: "invalid", POWER: "invalid"}
    hass.states.async_remove(SOC)
    reader.read(now, 30.0)
    assert reader.problems[SOC] == "missing"
    set_battery(hass, 85, 0.5)
    set_price(hass, 0.3)
    assert reader.read(now, 30.0).battery_power == -500.0
    assert reader.problems == {}
    assert f"{SOC} is usable again" in caplog.text
