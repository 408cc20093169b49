"""A charging EVSE that draws more than its limit gets the limit written again.

A charger that restarts comes back at its "Initial current limit" parameter (often 32 A) and may
not send its "Current limit Status"; one that dropped a telegram keeps an older, higher limit. The
balancer would otherwise never write an unchanged limit again (no keep-alive by default), so the
car would draw the higher current while the other EVSEs are held around it as load.
"""

from __future__ import annotations

from itertools import pairwise

from custom_components.knx_evse.balancing.balancer import OVER_LIMIT_TOLERANCE, SETTLE_TIME

from .helpers import Driver, config, evse


def _charging_at_ten() -> Driver:
    # 25 A, no margin, 15 A of house: 10 A for the one EVSE.
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0))
    drv.run(30, house=15.0)
    assert drv.limits == [10.0]
    return drv


def test_a_draw_over_the_limit_gets_the_limit_again_once_per_settle_time() -> None:
    drv = _charging_at_ten()
    writes = [drv.step(house=15.0, draw=[16.0]).writes for _ in range(int(3 * SETTLE_TIME))]
    rewrites = [k for k, w in enumerate(writes) if w == (0,)]
    assert rewrites[0] == 0  # the limit was set more than SETTLE_TIME ago: at once
    assert [b - a for a, b in pairwise(rewrites)] == [int(SETTLE_TIME)] * 2
    assert drv.limits == [10.0]  # the same limit, written again, never raised on the excess
    d = drv.step(house=15.0, draw=[10.0])  # it obeys
    assert d.writes == ()


def test_a_draw_within_the_tolerance_is_not_rewritten() -> None:
    drv = _charging_at_ten()
    draw = 10.0 + OVER_LIMIT_TOLERANCE
    assert [drv.step(house=15.0, draw=[draw]).writes for _ in range(int(3 * SETTLE_TIME))] == [()] * 30


def test_a_car_still_slowing_down_after_a_lowering_is_not_rewritten() -> None:
    drv = _charging_at_ten()
    d = drv.step(house=19.0, draw=[10.0])  # 4 A more house load: lowered to 6 A
    assert d.limits == (6.0,) and d.writes == (0,)
    for _ in range(int(SETTLE_TIME) - 1):
        assert drv.step(house=19.0, draw=[9.0]).writes == ()  # the car follows within SETTLE_TIME
    assert drv.step(house=19.0, draw=[6.0]).writes == ()
