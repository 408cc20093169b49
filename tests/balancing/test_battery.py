"""The home battery (docs/balancing.md, "Home battery"), following evcc's prioritySoc/bufferSoc.

Below the priority SoC the export is the battery's: a charging battery is export that is not the
cars', and they leave ``BATTERY_RESIDUAL`` to the grid. At or above it a charging battery's power is
the cars' export; a discharging battery is always import. Above the buffer SoC a charging solar EVSE
is held at its minimum while the export is short. The breaker budget binds throughout.

The Driver's ``house`` is what the meter shows without the EVSEs, so it includes the battery.
"""

from __future__ import annotations

import math

import pytest

from custom_components.knx_evse.balancing import SiteReading
from custom_components.knx_evse.balancing.site import BATTERY_RESIDUAL

from .helpers import Driver, config, evse

V = 230.0
A10 = 10 * V  # W of 10 A


def battery(soc: float | None, power: float | None = None, priority: float | None = 50.0,
            buffer: float | None = None) -> SiteReading:
    return SiteReading(battery_soc=soc, battery_power=power, priority_soc=priority, buffer_soc=buffer)


@pytest.mark.parametrize(
    ("site", "state"),
    [
        (SiteReading(), None),
        (SiteReading(battery_soc=40, battery_power=-100), None),  # no thresholds: no state
        (battery(40), "battery_first"),
        (battery(50), "car_first"),  # at the priority SoC the cars come first
        (battery(None), "battery_first"),  # unknown: the battery's export stays the battery's
        (battery(math.nan), "battery_first"),
        (battery(120), "battery_first"),  # outside 0-100: unknown
        (battery(95, buffer=90), "buffer"),
        (battery(90, buffer=90), "car_first"),  # above the buffer SoC, not at it
        (battery(None, buffer=90), "battery_first"),
        (battery(None, priority=None, buffer=90), "car_first"),  # unknown: never the buffer
        (battery(10, priority=0), "car_first"),
    ],
)
def test_battery_state(site: SiteReading, state: str | None) -> None:
    assert site.battery_state == state


@pytest.mark.parametrize(
    ("priority", "buffer"), [(-1, None), (101, None), (None, 100.5), (math.nan, None), (60, 50)]
)
def test_bad_thresholds_are_refused(priority: float | None, buffer: float | None) -> None:
    with pytest.raises(ValueError, match="soc"):
        SiteReading(priority_soc=priority, buffer_soc=buffer)


def test_above_the_priority_soc_a_charging_battery_is_the_cars_export() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = battery(90, power=-A10)  # the battery takes all of 10 A; the grid shows nothing
    d = drv.step(house=0.0)
    assert d.limits == (10.0,)
    assert d.battery == "car_first"
    drv.site = battery(90, power=0.0)  # it gave its 10 A to the car: the grid still shows nothing
    assert drv.run(5, house=-10.0).limits == (10.0,)


def test_without_its_power_a_charging_battery_is_not_seen() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = battery(90)
    assert drv.run(3, house=0.0).limits == (0.0,)


def test_below_the_priority_soc_the_export_is_the_batterys() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = battery(30, power=-A10)
    d = drv.run(3, house=0.0)
    assert d.limits == (0.0,)
    assert d.reason == ("paused_no_surplus",)
    assert d.battery == "battery_first"
    # The battery charges at its most and 12 A go to the grid: the car takes them, less the residual.
    d = drv.run(3, house=-12.0)
    assert d.limits == (math.floor(12.0 - BATTERY_RESIDUAL / V),)


def test_a_discharging_battery_is_import() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = battery(90, power=0.0)
    assert drv.run(3, house=-10.0).limits == (10.0,)
    # A cloud takes 4 A; the battery covers them, so the grid still shows nothing.
    drv.site = battery(90, power=4 * V)
    assert drv.step(house=-10.0).limits == (6.0,)
    drv.site = battery(90)  # without its power the car would go on draining the battery
    assert drv.run(3, house=-10.0).limits == (10.0,)


def test_the_battery_power_alone_counts_too() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = SiteReading(battery_power=-A10)
    d = drv.step(house=0.0)
    assert d.limits == (10.0,)
    assert d.battery is None
    drv.site = SiteReading(battery_power=math.nan)  # unknown: nothing to count
    assert drv.run(3, house=0.0).limits == (0.0,)


def test_while_the_battery_could_take_more_a_solar_evse_does_not_ride_on_it() -> None:
    # The grid exports 0.2 A, less than the residual: the battery takes less than it could, because
    # the car at 6 A takes the rest. It is paused once min_on_time has passed, not after the
    # solar_stop_delay (180 s of 6 A; the 0.23 A of import alone would take some 4,700 s).
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=30.0,
                 min_off_time=0.0, solar_stop_delay=180.0)
    drv = Driver(cfg)
    drv.site = battery(30)
    assert drv.step(house=-12.0).limits == (11.0,)
    seen = [drv.step(house=-6.2) for _ in range(31)]
    assert [d.limits[0] for d in seen[:29]] == [6.0] * 29
    assert seen[0].reason == ("min_on_hold",)
    assert seen[-1].limits == (0.0,)
    assert seen[-1].reason == ("paused_no_surplus",)


def test_a_solar_evse_rides_out_the_residual_while_the_grid_exports_it() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 min_off_time=0.0, solar_stop_delay=20.0)
    drv = Driver(cfg)
    drv.site = battery(30)
    assert drv.step(house=-8.0).limits == (7.0,)
    limits = [drv.step(house=-8.0).limits[0] for _ in range(60)]
    assert set(limits) == {7.0}  # 1 A to the grid: the battery is full or at its most


def test_above_the_buffer_soc_the_battery_bridges_a_cloud() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 min_off_time=0.0, solar_stop_delay=10.0)
    drv = Driver(cfg)
    drv.site = battery(95, power=0.0, buffer=90)
    assert drv.run(2, house=-10.0).limits == (10.0,)
    drv.site = battery(95, power=A10, buffer=90)  # a cloud: the battery gives the car its 10 A
    reasons = set()
    for _ in range(60):
        d = drv.step(house=-10.0)
        assert d.limits == (6.0,)  # held at its minimum, not paused
        reasons.add(d.reason[0])
    assert reasons == {"battery_buffer"}
    assert d.battery == "buffer"
    drv.site = battery(85, power=A10, buffer=90)  # below the buffer SoC: the usual solar rules
    limits = [drv.step(house=-10.0).limits[0] for _ in range(12)]
    assert limits[-1] == 0.0


def test_the_buffer_never_starts_a_car() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = battery(95, power=A10, buffer=90)
    assert drv.run(5, house=0.0).limits == (0.0,)


def test_the_breaker_budget_binds_whatever_the_battery_gives() -> None:
    # 63 A with 10 %: 56.7 A; the house imports 50 A while the battery reports 60 A of charging, so
    # 10 A would be the car's export, but only 6.7 A fit the budget.
    drv = Driver(config(evse(32.0, mode="solar")))
    drv.site = battery(90, power=-60 * V)
    d = drv.run(3, house=50.0)
    assert d.limits == (6.0,)
    assert d.available == pytest.approx(6.7)


def test_min_solar_keeps_its_minimum_while_the_battery_comes_first() -> None:
    drv = Driver(config(evse(16.0, mode="min_solar")))
    drv.site = battery(30, power=-A10)
    d = drv.run(3, house=0.0)
    assert d.limits == (6.0,)
    assert d.reason == ("min_solar",)
