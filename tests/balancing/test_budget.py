"""Budget rules: the manual's formula and worked example, power mode, per-phase meters.

Rule (docs/balancing.md): "Available for EVSEs = limit × (1 − margin) − (meter − Σ measured EVSE currents)";
"Per-phase meters: a three-phase EVSE is limited by its most loaded phase; a single-phase EVSE only
by its own phase". Manual, "Dynamic Load Balancing" → "Limits" (63 A, 10 % → 56.7 A).
"""

from __future__ import annotations

import dataclasses

import pytest

from custom_components.knx_evse.balancing import Balancer, EvseConfig, EvseReading, MeterReading

from .helpers import Driver, config, evse


def test_manual_worked_example_two_evses_share_56_7a() -> None:
    # The manual's example: 63 A breaker, 10 % margin, EVSE1 and EVSE2 with 32 A maxima.
    drv = Driver(config(evse(32.0), evse(32.0)))
    d = drv.step()
    assert d.available == pytest.approx(56.7)
    # One start per round; EVSE1 is not given the share that EVSE2 waits for.
    assert d.limits == (28.0, 0.0)
    d = drv.step()
    assert d.available == pytest.approx(56.7)
    assert d.limits == (28.0, 28.0)  # 56.7 / 2 = 28.35, rounded down to 1 A
    assert d.reason == ("fast", "fast")


def test_available_subtracts_only_the_non_ev_load() -> None:
    b = Balancer(config(evse(32.0)))
    # Meter 40 A = 20 A house + 20 A EV: the EV's own 20 A is not "other load".
    d = b.update(10.0, MeterReading(40.0, 10.0), [EvseReading(20.0, True)])
    assert d.available == pytest.approx(36.7)
    assert d.limits == (32.0,)  # house 20 A + EV 32 A = 52 A ≤ 56.7 A
    d = b.update(11.0, MeterReading(52.0, 11.0), [EvseReading(32.0, True)])
    assert d.available == pytest.approx(36.7)
    assert d.limits == (32.0,)


def test_house_load_reduces_the_limit() -> None:
    drv = Driver(config(evse(32.0)))
    d = drv.run(2, house=40.0)
    assert d.available == pytest.approx(16.7)
    assert d.limits == (16.0,)


def test_power_mode_converts_watts_with_voltage_single_phase() -> None:
    # Contracted power 9200 W, no margin; 2300 W of other load → (9200 − 2300) / 230 = 30 A.
    cfg = config(evse(32.0), limit=9200.0, margin=0.0, current_control=False)
    b = Balancer(cfg)
    d = b.update(0.0, MeterReading(2300.0, 0.0), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(30.0)
    assert d.limits == (30.0,)
    # The EV now draws 30 A = 6900 W; the meter shows 9200 W; nothing changes.
    d = b.update(1.0, MeterReading(9200.0, 1.0), [EvseReading(30.0, True)])
    assert d.available == pytest.approx(30.0)
    assert d.limits == (30.0,)


def test_power_mode_three_phase_supply_and_evse() -> None:
    # 11040 W over three phases at 230 V = 16 A per phase for a three-phase EVSE.
    cfg = config(evse(32.0, phases=3), limit=11040.0, margin=0.0, current_control=False, phases=3)
    b = Balancer(cfg)
    d = b.update(0.0, MeterReading(0.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(16.0)
    assert d.limits == (16.0,)


def test_power_mode_single_phase_evse_on_three_phase_supply_uses_a_third() -> None:
    # Power counts in total: a single-phase EVSE at 32 A uses 7360 W of 11040 W.
    cfg = config(evse(32.0, phase=2), limit=11040.0, margin=0.0, current_control=False, phases=3)
    d = Balancer(cfg).update(0.0, MeterReading(0.0, 0.0), [EvseReading(0.0, True)])
    assert d.limits == (32.0,)


def test_meter_unit_can_differ_from_limit_unit() -> None:
    # Current control (A) with a W meter: 4600 W on one phase = 20 A of other load.
    b = Balancer(config(evse(32.0), limit=40.0, margin=0.0))
    d = b.update(0.0, MeterReading(4600.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(20.0)
    assert d.limits == (20.0,)


def test_three_phase_evse_limited_by_most_loaded_phase() -> None:
    cfg = config(evse(32.0, phases=3), limit=40.0, margin=0.0, phases=3)
    d = Balancer(cfg).update(0.0, MeterReading((10.0, 30.0, 5.0), 0.0), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(10.0)
    assert d.limits == (10.0,)


def test_single_phase_evse_limited_only_by_its_own_phase() -> None:
    cfg = config(evse(32.0, phase=2), evse(32.0, phase=3), limit=40.0, margin=0.0, phases=3)
    drv = Driver(cfg)
    d = drv.run(3, house=(10.0, 30.0, 5.0))
    assert d.limits == (10.0, 32.0)  # L2 has 10 A left; L3 has 35 A, capped by the 32 A maximum


def test_three_phase_evse_current_tuple_is_per_phase() -> None:
    cfg = config(evse(32.0, phases=3), limit=40.0, margin=0.0, phases=3)
    b = Balancer(cfg)
    # The EV draws (10, 12, 8); the meter shows the house (5, 5, 5) on top.
    d = b.update(0.0, MeterReading((15.0, 17.0, 13.0), 0.0), [EvseReading((10.0, 12.0, 8.0), True)])
    assert d.available == pytest.approx(35.0)


def test_scalar_current_on_three_phase_supply_is_conservative() -> None:
    # One current value for a three-phase supply is taken as every phase's current, and only the
    # smallest per-phase EV draw is subtracted: a single-phase EV on L1 drawing 10 A is not
    # subtracted from L2/L3, which may carry the 30 A.
    cfg = config(evse(32.0, phase=1), evse(32.0, phase=2), limit=40.0, margin=0.0, phases=3)
    b = Balancer(cfg)
    d = b.update(0.0, MeterReading(30.0, 0.0), [EvseReading(10.0, True), EvseReading(0.0, True)])
    assert d.available == pytest.approx(10.0)


def test_export_increases_the_room_for_fast_evses() -> None:
    # Manual, "with solar generation": negative power adds to what can be assigned.
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0))
    d = drv.run(2, house=-10.0)
    assert d.available == pytest.approx(35.0)
    assert d.limits == (32.0,)
    assert d.surplus == pytest.approx(10.0)


def test_other_load_above_budget_gives_negative_available_and_pauses() -> None:
    drv = Driver(config(evse(32.0)))
    drv.run(2)
    d = drv.step(house=70.0)
    assert d.available == pytest.approx(-13.3)
    assert d.limits == (0.0,)
    assert d.reason == ("over_budget_cut",)


def test_max_power_evse_never_above_its_converted_maximum() -> None:
    drv = Driver(config(EvseConfig(max_power=3680.0), limit=100.0))
    assert drv.run(2).limits == (16.0,)


def test_single_total_meter_on_three_phases_assumes_the_other_load_on_one_phase() -> None:
    # House L1/L2/L3 = 10/6/20 A on 3 × 32 A, read by one W meter (8280 W), a three-phase car.
    # Spread evenly that is 12 A a phase and the car would get 20 A: L3 would carry 40 A. The
    # single value allows only one safe reading: all 36 A may sit on one phase.
    cfg = config(evse(32.0, phases=3), limit=32.0, margin=0.0, phases=3)
    d = Balancer(cfg).update(0.0, MeterReading(36.0 * 230.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.limits == (0.0,)
    assert d.available == pytest.approx(32.0 - 36.0)
    # A light load: 6 A in all; the car gets 26 A, and no phase can exceed 32 A wherever it sits.
    d = Balancer(cfg).update(0.0, MeterReading(6.0 * 230.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.limits == (26.0,)
    assert d.limits[0] + 6.0 <= 32.0


def test_single_total_meter_counts_the_cars_own_draw_off_before_the_worst_case() -> None:
    # The car draws 16 A on each phase (11040 W) and the meter shows 12420 W: 6 A of other load.
    cfg = config(evse(32.0, phases=3), limit=32.0, margin=0.0, phases=3)
    d = Balancer(cfg).update(0.0, MeterReading(12420.0, 0.0, unit="W"), [EvseReading((16.0, 16.0, 16.0), True)])
    assert d.available == pytest.approx(26.0)


def test_export_on_a_single_total_meter_makes_no_room_per_phase_but_is_solar_surplus() -> None:
    # 30 A exported in total: it may all be on one phase, so the others get no extra room, but
    # solar modes see the whole export.
    cfg = config(evse(32.0, phases=3), limit=25.0, margin=0.0, phases=3)
    d = Balancer(cfg).update(0.0, MeterReading(-30.0 * 230.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(25.0)
    assert d.surplus == pytest.approx(10.0)  # per supply phase: 30 A / 3


def test_a_balanced_supply_spreads_the_total_evenly() -> None:
    cfg = config(evse(32.0, phases=3), limit=32.0, margin=0.0, phases=3)
    cfg = dataclasses.replace(cfg, balanced_supply=True)
    d = Balancer(cfg).update(0.0, MeterReading(36.0 * 230.0, 0.0, unit="W"), [EvseReading(0.0, True)])
    assert d.available == pytest.approx(20.0)
    assert d.limits == (20.0,)
