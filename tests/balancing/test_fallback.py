"""Meter validation and fallback (rule, docs/balancing.md: "A meter reading older than meter_timeout,
unavailable, non-numeric or absurd (for example above 200 kW) triggers the fallback. The Decision
says so").
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.knx_evse.balancing import Balancer, EvseReading, MeterReading

from .helpers import Driver, config, evse


def running(n: int = 1, **kw: Any) -> Driver:
    drv = Driver(config(*(evse(16.0) for _ in range(n)), **kw))
    drv.run(n + 1)
    assert all(lim > 0 for lim in drv.limits)
    return drv


def test_stale_meter_pauses_and_says_so() -> None:
    drv = running()
    d = drv.step(meter=MeterReading(0.0, drv.t + 1.0 - 31.0))  # 31 s old, timeout 30 s
    assert d.fallback is True
    assert d.meter_state == "stale"
    assert d.limits == (0.0,)
    assert d.reason == ("fallback_meter_stale",)
    assert d.available is None


def test_meter_exactly_at_the_timeout_is_still_used() -> None:
    drv = running()
    d = drv.step(meter=MeterReading(16.0, drv.t + 1.0 - 30.0))
    assert d.fallback is False
    assert d.limits == (16.0,)


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (None, "unavailable"),
        (math.nan, "invalid"),
        (math.inf, "invalid"),
        (-math.inf, "invalid"),
        ("12.5", "invalid"),
        (True, "invalid"),
        ((1.0, 2.0), "invalid"),  # two phases on a single-phase supply
        ((math.nan,), "invalid"),
        (900.0, "absurd"),  # > 200 kW / 230 V ≈ 870 A
        (-900.0, "absurd"),
    ],
)
def test_unusable_meter_values_trigger_the_fallback(value: Any, state: str) -> None:
    drv = running()
    d = drv.step(meter=MeterReading(value, drv.t + 1.0))
    assert (d.fallback, d.meter_state, d.limits) == (True, state, (0.0,))
    assert d.reason == ("fallback_meter_invalid",)


def test_missing_reading_is_unavailable() -> None:
    drv = running()
    d = drv.step(meter=None)
    assert (d.fallback, d.meter_state) == (True, "unavailable")


def test_power_above_200_kw_is_absurd() -> None:
    cfg = config(evse(), limit=20000.0, margin=0.0, current_control=False, phases=3)
    b = Balancer(cfg)
    ok = b.update(0.0, MeterReading(199_000.0, 0.0), [EvseReading(0.0, True)])
    assert ok.meter_state == "ok"
    d = b.update(1.0, MeterReading(250_000.0, 1.0), [EvseReading(0.0, True)])
    assert (d.fallback, d.meter_state) == (True, "absurd")


def test_absurd_per_phase_current() -> None:
    cfg = config(evse(), limit=63.0, phases=3)
    b = Balancer(cfg)
    d = b.update(0.0, MeterReading((10.0, 400.0, 10.0), 0.0), [EvseReading(0.0, True)])
    assert d.meter_state == "absurd"
    d = b.update(1.0, MeterReading((10.0, 10.0, 10.0), 1.0, unit="W"), [EvseReading(0.0, True)])
    assert d.meter_state == "invalid"  # per-phase values are currents


def test_timestamp_far_in_the_future_is_invalid() -> None:
    drv = running()
    d = drv.step(meter=MeterReading(0.0, drv.t + 1.0 + 3600.0))
    assert d.meter_state == "invalid"


def test_fixed_fallback_current_in_priority_order_within_the_budget() -> None:
    drv = running(6, fallback=10.0)  # 56.7 / 6 → 9 A each
    assert drv.limits == [9.0] * 6
    d = drv.step(meter=MeterReading(math.nan, drv.t + 1.0))
    # 10 A each, as long as the sum fits 56.7 A with no other load assumed: EVSE6 pauses.
    assert d.limits == (10.0, 10.0, 10.0, 10.0, 10.0, 0.0)
    assert d.reason == ("fallback_meter_invalid",) * 6
    assert d.fallback


def test_fixed_fallback_pauses_solar_and_gives_min_solar_its_minimum() -> None:
    drv = Driver(config(evse(16.0), evse(16.0, mode="solar"), evse(16.0, mode="min_solar"),
                        fallback=10.0))
    drv.run(4, house=-30.0)
    assert all(lim > 0 for lim in drv.limits)
    d = drv.step(meter=None)
    assert d.limits == (10.0, 0.0, 6.0)


def test_recovery_from_fallback_raises_only_after_ramp_up_delay() -> None:
    drv = Driver(config(evse(32.0), fallback=10.0, ramp_up_delay=5.0))
    drv.run(20)
    assert drv.limits == [32.0]
    assert drv.step(meter=None).limits == (10.0,)  # fixed current, lowered at once
    held = [drv.step().limits[0] for _ in range(5)]
    assert held == [10.0] * 5
    assert drv.step().limits == (32.0,)


def test_meter_recovery_clears_the_fallback_flag() -> None:
    drv = running()
    assert drv.step(meter=None).fallback
    d = drv.run(3)
    assert not d.fallback
    assert d.meter_state == "ok"
    assert d.limits == (16.0,)


def test_bad_evse_readings_only_overestimate_the_other_load() -> None:
    b = Balancer(config(evse(32.0)))
    # NaN and negative EV currents count as 0 A: the whole 30 A is other load.
    d = b.update(0.0, MeterReading(30.0, 0.0), [EvseReading(math.nan, True)])
    assert d.available == pytest.approx(26.7)
    d = b.update(1.0, MeterReading(30.0, 1.0), [EvseReading(-5.0, True)])
    assert d.available == pytest.approx(26.7)
    # An absurd EV current is capped at the EVSE maximum (32 A).
    d = b.update(2.0, MeterReading(40.0, 2.0), [EvseReading(1000.0, True)])
    assert d.available == pytest.approx(56.7 - 8.0)


def test_evse_currents_of_every_shape_are_cleaned_and_capped() -> None:
    cfg = config(evse(32.0), evse(16.0, phases=3), limit=63.0, margin=0.0, phases=3)
    b = Balancer(cfg)
    # L1 carries both EVSEs and is the binding phase. An int beyond the maximum counts as 32 A;
    # a three-phase tuple with junk counts as (16, 0, 0): other load on L1 = 60 − 48 = 12 A.
    d = b.update(0.0, MeterReading((60.0, 0.0, 0.0), 0.0),
                 [EvseReading(1000, True), EvseReading((99.0, None, -3), True)])  # type: ignore[arg-type]
    assert d.available == pytest.approx(63.0 - 12.0)
    # None counts as 0 A; a tuple for a single-phase EVSE counts by its largest value, capped.
    d = b.update(1.0, MeterReading((60.0, 0.0, 0.0), 1.0),
                 [EvseReading((5.0, 70.0, 0.0), True), EvseReading(None, True)])
    assert d.available == pytest.approx(63.0 - (60.0 - 32.0))
