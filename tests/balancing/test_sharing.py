"""Sharing rules: water-filling, priority, limit range, rounding, starts one at a time.

Rule (docs/balancing.md): "Every connected EVSE in fast gets an equal share (water-filling), capped by its own
maximum. What one cannot take goes to the others. ... EVSE6 pauses first, then EVSE5"; "A limit is
always 0 or between min_current and the EVSE maximum"; "EVSEs start one at a time in priority
order". Manual, "Dynamic balancing between multiple units".
"""

from __future__ import annotations

import pytest

from .helpers import Driver, config, evse


def test_water_filling_leftover_of_a_capped_evse_goes_to_the_others() -> None:
    drv = Driver(config(evse(10.0), evse(32.0), evse(32.0)))
    d = drv.run(4)
    # 56.7 A: EVSE1 takes its 10 A, the other two share 46.7 A → 23.35 → 23 A each.
    assert d.limits == (10.0, 23.0, 23.0)


def test_equal_shares_when_nobody_is_capped() -> None:
    drv = Driver(config(*(evse(32.0) for _ in range(6)), limit=63.0, margin=0.0))
    d = drv.run(7)
    assert d.limits == (10.0,) * 6  # 63 / 6 = 10.5


def test_lowest_priority_pauses_first_when_minimum_not_reached() -> None:
    drv = Driver(config(evse(), evse(), evse(), limit=11.0, margin=0.0))
    d = drv.run(4)
    assert d.limits == (11.0, 0.0, 0.0)  # 2 × 6 A do not fit in 11 A
    assert d.reason == ("fast", "paused_priority", "paused_priority")

    drv = Driver(config(evse(), evse(), evse(), limit=13.0, margin=0.0))
    d = drv.run(4)
    assert d.limits == (6.0, 6.0, 0.0)  # 2 × 6 A fit in 13 A, 3 × 6 A do not
    assert d.reason[2] == "paused_priority"


def test_budget_drop_cuts_evse6_then_evse5() -> None:
    drv = Driver(config(*(evse() for _ in range(6)), limit=63.0, margin=0.0))
    assert drv.run(7).limits == (10.0,) * 6
    d = drv.step(house=63.0 - 30.0)  # 30 A left: 5 × 6 A
    assert d.limits == (6.0, 6.0, 6.0, 6.0, 6.0, 0.0)
    d = drv.step(house=63.0 - 20.0)  # 20 A left: 3 × 6 A
    assert d.limits == (6.0, 6.0, 6.0, 0.0, 0.0, 0.0)
    assert d.paused == (False, False, False, True, True, True)


def test_a_disconnected_higher_priority_evse_leaves_room_to_lower_ones() -> None:
    drv = Driver(config(evse(), evse(), limit=15.0, margin=0.0))
    drv.connected = [False, True]
    d = drv.run(2)
    assert d.limits == (0.0, 15.0)
    assert d.reason == ("not_connected", "fast")


def test_limit_is_never_between_0_and_min_current() -> None:
    drv = Driver(config(evse(), limit=10.0, margin=0.0))
    assert drv.run(2, house=2.0).limits == (8.0,)
    d = drv.step(house=4.1)  # 5.9 A left
    assert d.limits == (0.0,)
    assert d.reason == ("over_budget_cut",)


@pytest.mark.parametrize(("step", "expected"), [(1.0, 27.0), (0.5, 27.5), (2.0, 26.0), (0.1, 27.5)])
def test_limits_round_down_to_step(step: float, expected: float) -> None:
    drv = Driver(config(evse(), evse(), limit=55.0, margin=0.0, step=step))
    d = drv.run(3)
    assert d.limits == (expected, expected)


def test_rounding_grid_starts_at_min_current() -> None:
    # With a 4 A step the limits are 6, 10, 14 A …: 7 A and 9 A of room give 6 A, 11 A gives 10 A.
    for room, expected in ((7.0, 6.0), (9.0, 6.0), (11.0, 10.0)):
        drv = Driver(config(evse(), limit=room, margin=0.0, step=4.0))
        assert drv.run(2).limits == (expected,)


def test_maximum_is_rounded_down_too() -> None:
    drv = Driver(config(evse(16.7), limit=100.0, margin=0.0))
    assert drv.run(2).limits == (16.0,)


def test_evses_start_one_at_a_time_in_priority_order() -> None:
    drv = Driver(config(evse(), evse(), evse(), limit=100.0, margin=0.0))
    d = drv.step()
    assert d.limits == (32.0, 0.0, 0.0)
    assert d.reason == ("fast", "start_queue", "start_queue")
    d = drv.step()
    assert d.limits == (32.0, 32.0, 0.0)
    d = drv.step()
    assert d.limits == (32.0, 32.0, 32.0)


def test_off_and_not_connected_evses_get_zero() -> None:
    drv = Driver(config(evse(), evse(mode="off"), evse(), limit=100.0))
    drv.connected = [True, True, False]
    d = drv.run(3)
    assert d.limits == (32.0, 0.0, 0.0)
    assert d.reason == ("fast", "off", "not_connected")
