"""What carries a plan into the rounds (balancing/plan_round.py): the driver, the vehicle's cap, the base load."""

from __future__ import annotations

import math

from custom_components.knx_evse.balancing.plan_round import VEHICLE_SETTLE, BaseLoad, PlanDriver, VehicleCap
from custom_components.knx_evse.balancing.schedule import MemberPlan, PlannedSlot

H = 3600.0


def test_the_driver_runs_a_planned_current_and_a_small_one_until_its_energy() -> None:
    small = PlannedSlot(0.0, H, current=3.0, solar=0.0, drive=6.0, energy=690.0, price=1.0, more=True)
    big = PlannedSlot(H, 2 * H, current=16.0, solar=0.0, drive=16.0, energy=3680.0, price=1.0, more=True)
    plan = MemberPlan(0, 4370.0, 4370.0, 9999.0, (small, big), 0.0)
    driver = PlanDriver(6.0)
    assert driver.steer(plan, 0.0, 100.0) == (6.0, False)  # below min_current: at it, no more than planned
    assert driver.steer(plan, 600.0, 700.0) == (6.0, False)
    assert driver.steer(plan, 1200.0, 790.0) == (None, False)  # the slot's 690 Wh have arrived
    assert driver.steer(plan, H, 800.0) == (16.0, True)
    assert driver.steer(plan, 2 * H, 900.0) == (None, False)
    assert driver.steer(None, 0.0, 0.0) == (None, False)


def test_a_vehicle_cap_is_learnt_from_a_draw_clearly_below_its_limit() -> None:
    cap = VehicleCap()
    cap.see(0.0, 32.0, 16.0)
    cap.see(VEHICLE_SETTLE - 1, 32.0, 16.0)
    assert cap.value is None  # not long enough (a car still following a raise)
    cap.see(VEHICLE_SETTLE, 32.0, 16.0)
    assert cap.value == 16.0
    cap.see(VEHICLE_SETTLE + 1, 32.0, 18.0)
    assert cap.value == 18.0  # it took more: that is what it takes
    cap.see(VEHICLE_SETTLE + 2, 17.0, 10.0)
    assert cap.value == 18.0  # a lower draw (a taper) does not lower it
    cap.reset()
    cap.see(0.0, 17.0, 16.0, capped=True)  # the round capped it near its draw
    assert cap.value == 16.0
    cap.reset()
    cap.see(0.0, 20.0, 19.0)
    cap.see(1000.0, 20.0, 19.0)
    assert cap.value is None  # it takes what it is given


def test_the_base_load_is_the_lowest_tenth_of_the_last_hour() -> None:
    base = BaseLoad()
    assert base.value() == 0.0
    for t in range(100):
        base.add(float(t), 10.0 if t % 10 == 0 else 2.0)  # an oven now and then on 2 A
    assert base.value() == 2.0
    base.add(100.0, math.nan)
    base.add(4000.0, 7.0)  # an hour later only the new sample counts
    assert base.value() == 7.0
    base.add(4001.0, -3.0)
    assert base.value() == 0.0  # export is no negative load for a plan
