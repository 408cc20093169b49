"""Lowering when the supply is really over budget, and raises that do not count on stale reports.

Source: ``scripts/bench`` (goal: "seconds and ampere-seconds above the budget"). A car follows a
lower pilot with a lag of seconds, so a limit cut to exactly the room leaves the supply over budget
for that lag and a tail after it; when the meter shows the budget exceeded, the cut goes to where
a raise would have put the limit (``raise_margin`` below the room). And a charger reports its
current only on a change larger than its "Current value change" (0.5 A in the demo) or every 30 s:
after a lowering the last report can stay above the new limit, which made the room look larger
than it was and invited a raise that was lowered again seconds later.
"""

from __future__ import annotations

from custom_components.knx_evse.balancing import EvseReading, MeterReading
from custom_components.knx_evse.balancing.balancer import SETTLE_TIME

from .helpers import Driver, config, evse

BUDGET = 22.5  # A: a 25 A supply with the manual's 10 % margin


def test_a_cut_while_over_the_budget_keeps_the_raise_margin() -> None:
    drv = Driver(config(evse(), limit=25.0, raise_margin=0.5))
    assert drv.run(2, house=BUDGET - 21.0).limits == (20.0,)
    # A 2.8 A step: the car still draws 20 A, so the meter shows 22.5 + 1.8 A.
    d = drv.step(house=BUDGET - 18.2)
    assert d.limits == (17.0,)  # 18.2 - 0.5 rounded down; plain rounding would give 18 A
    assert d.writes == (0,)


def test_a_lowering_without_an_excess_is_plain_rounding() -> None:
    drv = Driver(config(evse(), limit=25.0, raise_margin=0.5))
    assert drv.run(2, house=BUDGET - 21.0).limits == (20.0,)
    # The car takes only 15 A of its 20 A: the room shrinks below 20 A but the meter is in budget.
    d = drv.step(house=BUDGET - 18.2, draw=[15.0])
    assert d.limits == (18.0,)


def test_a_raise_does_not_count_on_a_report_above_the_settled_limit() -> None:
    drv = Driver(config(evse(), limit=25.0, raise_margin=0.5, timing=True, min_on_time=0.0))
    drv.run(30, house=BUDGET - 21.0)
    assert drv.limits == [20.0]
    house = BUDGET - 15.6
    d = drv.step(house=house)  # lowered to 15 A (over budget: 15.6 - 0.5 -> 15)
    assert d.limits == (15.0,)
    # The car settles at 15 A but its last report stays at 16 A (a change of exactly 1 A from
    # 16.x was never sent): meter - report undercounts the house by 1 A, so the room looks like
    # 16.6 A, enough for a raise to 16 A with 0.5 A to spare. The true room is 15.6 A.
    limits = []
    for _ in range(int(SETTLE_TIME) + 60):
        drv.t += 1.0
        reading = MeterReading(house + 15.0, drv.t)
        d = drv.b.update(drv.t, reading, [EvseReading(16.0, True)])
        limits.append(d.limits[0])
    assert set(limits) == {15.0}


def test_a_car_still_slowing_down_does_not_hold_back_a_raise_of_another() -> None:
    # EVSE1 is cut from 21 A to make room for EVSE2's start; its current falls over a few seconds.
    # Within SETTLE_TIME that current is the car's lag, not a stale report: EVSE2 starts at its
    # share (the share it waited for), not at 6 A and then stepwise as the lag decays.
    drv = Driver(config(evse(), evse(), limit=25.0, raise_margin=0.5, timing=True, min_on_time=0.0,
                        min_off_time=0.0))
    drv.connected = [True, False]
    drv.run(30, house=BUDGET - 22.0)
    assert drv.limits == [21.0, 0.0]
    drv.connected = [True, True]
    seen = []
    lag = drv.limits[0]
    for _ in range(40):
        lag = drv.limits[0] + (lag - drv.limits[0]) * 0.6  # a first-order car, time constant ~2 s
        seen.append(drv.step(house=BUDGET - 22.0, draw=[lag, drv.limits[1]]).limits)
    ev2 = [lim[1] for lim in seen if lim[1] > 0]
    assert sorted(set(ev2)) == [10.0], seen
    # EVSE2's share is (22 - 2 × 0.5) / 2 → 10 A; EVSE1 keeps the 11 A it was cut to (it fits).
    assert seen[-1] == (11.0, 10.0)
