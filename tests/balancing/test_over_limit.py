"""A charging EVSE that draws more than its limit: its excess is load, then a rewrite, then a Stop.

A charger that restarts comes back at its "Initial current limit" parameter (often 32 A) and may
not send its "Current limit Status"; one that dropped a telegram keeps an older, higher limit; and
some chargers ignore a limit altogether. ``SETTLE_TIME`` after its limit was set, a draw over the
limit plus the tolerance counts as other load in the same round (the others are cut at once) and
the limit is written again; still over ``SETTLE_TIME`` after that, the EVSE gets a Stop and stays
paused until it obeys; if it draws on, its whole draw is load and ``Decision.disobedient`` names it.
"""

from __future__ import annotations

import itertools

from custom_components.knx_evse.balancing.balancer import OVER_LIMIT_TOLERANCE, SETTLE_TIME
from custom_components.knx_evse.balancing.state import FOLLOW_TIME

from .helpers import Driver, config, evse


def _charging_at_ten() -> Driver:
    # 25 A, no margin, 15 A of house: 10 A for the one EVSE.
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0))
    drv.run(30, house=15.0)
    assert drv.limits == [10.0]
    return drv


def test_the_excess_is_load_at_once_then_the_limit_is_rewritten_then_a_stop() -> None:
    # Two EVSEs share 25 A at 12 A each; EVSE1 ignores its limit and draws 18 A.
    drv = Driver(config(evse(32.0), evse(32.0), limit=25.0, margin=0.0))
    drv.run(40, house=0.0)
    assert drv.limits == [12.0, 12.0]
    supply, writes, reasons, disobedient = [], [], [], []
    for _ in range(int(3 * SETTLE_TIME)):
        d = drv.step(house=0.0, draw=[18.0, drv.limits[1]])
        supply.append(18.0 + d.limits[1])
        writes.append(d.writes)
        reasons.append(d.reason[0])
        disobedient.append(d.disobedient)
    # the excess counts as load at once: EVSE2 is cut, the supply is back within 25 A in 3 s
    assert max(supply[2:]) <= 25.0
    assert 0 in writes[0]  # its limit is written again
    stop = reasons.index("over_limit_stop")
    assert stop == int(SETTLE_TIME)  # still over SETTLE_TIME after the rewrite: a Stop
    assert all(r == "over_limit_stop" for r in reasons[stop:])  # paused until it obeys
    # drawing on SETTLE_TIME after the Stop: named, and its Stop is sent again every SETTLE_TIME
    assert disobedient[stop + int(SETTLE_TIME) - 1] == ()
    assert disobedient[stop + int(SETTLE_TIME)] == (0,)
    assert 0 in writes[stop + int(SETTLE_TIME)]
    d = drv.step(house=0.0, draw=[0.0, drv.limits[1]])  # it obeys: no longer named
    assert d.disobedient == ()


def test_an_evse_whose_excess_breaks_the_budget_alone_is_cut_at_once() -> None:
    drv = _charging_at_ten()  # 25 A with 15 A of house: 10 A
    d = drv.step(house=15.0, draw=[16.0])  # 31 A on a 25 A supply
    assert d.limits == (0.0,) and d.reason == ("over_budget_cut",)
    for _ in range(int(SETTLE_TIME) - 1):
        d = drv.step(house=15.0, draw=[16.0])
        assert d.limits == (0.0,) and d.reason == ("over_limit_stop",)  # not started again
    d = drv.step(house=15.0, draw=[16.0])
    assert d.disobedient == (0,) and d.writes == (0,)  # the Stop again, and named
    d = drv.step(house=15.0, draw=[0.0])  # it obeys and may start again
    assert d.disobedient == ()
    assert d.limits == (10.0,)


def test_a_draw_within_the_tolerance_is_not_rewritten() -> None:
    drv = _charging_at_ten()
    draw = 10.0 + OVER_LIMIT_TOLERANCE
    assert [drv.step(house=15.0, draw=[draw]).writes for _ in range(int(3 * SETTLE_TIME))] == [()] * 30


def test_a_car_still_slowing_down_after_a_lowering_is_not_rewritten() -> None:
    drv = _charging_at_ten()
    d = drv.step(house=19.0, draw=[10.0])  # 4 A more house load: lowered to 6 A
    assert d.limits == (6.0,) and d.writes == (0,)
    for _ in range(int(FOLLOW_TIME) - 1):
        assert drv.step(house=19.0, draw=[9.0]).writes == ()  # the car follows within FOLLOW_TIME
    assert drv.step(house=19.0, draw=[6.0]).writes == ()


def test_a_charger_that_ignored_its_limit_restarts_only_where_its_draw_fits() -> None:
    # EVSE2's charger takes 18 A whatever its limit while it runs, but obeys a Stop.
    drv = Driver(config(evse(32.0), evse(32.0), limit=25.0, margin=0.0))

    def step(house: float) -> tuple[float, ...]:
        d = drv.step(house=house, draw=[drv.limits[0], 18.0 if drv.limits[1] else 0.0])
        assert d.limits[1] == 0.0 or d.limits[1] >= 18.0 or d.reason[1] == "fast"
        return d.limits

    drv.run(40, house=5.0)
    assert drv.limits == [10.0, 10.0]
    cycles = [step(5.0) for _ in range(int(2 * SETTLE_TIME) + 1)]
    assert drv.last is not None and drv.limits[1] == 0.0  # cut for its excess, twice at most
    assert sum(1 for a, b in itertools.pairwise(cycles) if a[1] == 0.0 and b[1] > 0.0) <= 1
    seen = [step(5.0) for _ in range(120)]  # 20 A of room less EVSE1's 6 A: not its 18 A
    assert all(limits[1] == 0.0 for limits in seen)
    assert drv.last.reason[1] == "paused_priority"
    seen = [step(0.0) for _ in range(30)]  # 25 A: 6 A for EVSE1 and its 18 A fit
    assert seen[-1] == (6.0, 18.0)  # started at the draw it takes, not stopped again
    assert all(limits[1] in (0.0, 18.0) and sum(limits) <= 25.0 for limits in seen)
    drv.connected[1] = False  # the session ends: the next one starts at the usual minimum again
    drv.step(house=0.0, draw=[drv.limits[0], 0.0])
    drv.connected[1] = True
    assert drv.run(30, house=0.0).limits == (12.0, 12.0)  # the fair share: 6 A would do again
