"""The charging planner (``balancing/schedule.py``): cheapest slots, solar first, the shared supply, early refusal.

Rules (docs/balancing.md, "Plans"): every member's slots lie before its departure; all members share
the budget less the other load in every slot; cheapest first (export, then price, the latest first
on a tie; unknown prices last); a plan that cannot be met says so with the energy it can reach.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.knx_evse.balancing import BalancingConfig, EvseConfig
from custom_components.knx_evse.balancing.schedule import (
    FILL_SLOT,
    MAX_HORIZON,
    MemberPlan,
    PlanRequest,
    Span,
    plan_charging,
)

H = 3600.0


def hours(prices: list[float], start: float = 0.0) -> list[Span]:
    return [Span(start + h * H, start + (h + 1) * H, p) for h, p in enumerate(prices)]


def house(*evses: EvseConfig, limit: float = 25.0, margin: float = 10.0, **kw: object) -> BalancingConfig:
    """3 x 25 A with 10 % (22.5 A per phase), raise_margin 0 so that the figures are round."""
    return BalancingConfig(limit=limit, reserve_margin=margin, phases=3, evses=evses,
                           raise_margin=kw.pop("raise_margin", 0.0), **kw)  # type: ignore[arg-type]


def hours_of(plan: MemberPlan) -> list[int]:
    return [int(s.start // H) for s in plan.slots]


def test_one_member_takes_the_cheapest_hours() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 3 * 16 * 230.0, 8 * H)], 0.0,
                            prices=hours([30, 25, 20, 10, 12, 15, 40, 50]))
    assert hours_of(plan) == [3, 4, 5]
    assert [s.drive for s in plan.slots] == [16.0] * 3
    assert plan.met and plan.reason == "met"
    assert plan.cost == pytest.approx(3 * 3.68 * 0 + 3.68 * (10 + 12 + 15))


def test_members_on_one_phase_share_the_cheap_hours_within_the_budget() -> None:
    # Both on L1: 22.5 A less 1 A of house load. Planned apart (as evcc does), each takes hours 3-5
    # at its maximum: 32 + 16 A on one 21.5 A phase.
    cfg = house(EvseConfig(max_current=32.0), EvseConfig(max_current=16.0))
    prices = hours([30, 25, 20, 10, 12, 15, 40, 50])
    requests = [PlanRequest(0, 15000.0, 8 * H), PlanRequest(1, 10000.0, 7 * H)]
    plans = plan_charging(cfg, requests, 0.0, prices=prices, other_load=1.0)
    assert all(p.met for p in plans)
    for h in range(8):
        total = sum(s.current for p in plans for s in p.slots if s.start == h * H)
        assert total <= 21.5 + 1e-6, h
    together = sum(p.cost or 0.0 for p in plans)
    # The cheapest possible: 21.5 A in the cheapest hours until 25 kWh are planned.
    ideal, left = 0.0, 25000.0
    for price in sorted([30, 25, 20, 10, 12, 15, 40]):
        wh = min(left, 21.5 * 230.0)
        ideal, left = ideal + price * wh / 1000.0, left - wh
    assert together <= ideal * 1.1
    # The earlier departure (EVSE2, 07:00) is served first: the cheapest hours at its maximum.
    assert [s.current for s in plans[1].slots[:2]] == [16.0, 16.0]


def test_without_prices_the_latest_grid_slots_are_planned() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 2 * 16 * 230.0, 10 * H)], 0.0)
    assert plan.slots[0].start == 8 * H and plan.slots[-1].end == 10 * H
    assert all(s.end - s.start <= FILL_SLOT for s in plan.slots)
    assert plan.cost is None  # no price known


def test_expected_export_first_then_the_latest_grid_slots() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    sun = [Span(10 * H, 12 * H, 10 * 230.0)]  # 10 A of export (in all phases), 10:00-12:00
    need = 2 * 10 * 230.0 + 1 * 16 * 230.0
    (plan,) = plan_charging(cfg, [PlanRequest(0, need, 18 * H)], 8 * H, solar=sun)
    assert plan.met
    solar = [s for s in plan.slots if s.solar > 0]
    assert (solar[0].start, solar[-1].end) == (10 * H, 12 * H)
    assert {(s.current, s.drive) for s in solar} == {(10.0, 0.0)}  # the member's Solar takes it
    grid = [s for s in plan.slots if s.solar == 0]
    assert (grid[0].start, grid[-1].end) == (17 * H, 18 * H)  # the last hour before departure
    assert {s.drive for s in grid} == {16.0}
    assert plan.drive(10.5 * H) is None
    assert plan.drive(17.5 * H) == (16.0, True)  # nothing expected from the export after it: it may take more
    assert not any(s.more for s in solar[:-1])  # more grid energy before the export would leave it unused


def test_negative_prices_come_before_the_export() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 16 * 230.0, 4 * H)], 0.0, prices=hours([5, -2, 5, 5]),
                            solar=[Span(2 * H, 3 * H, 20 * 230.0)])
    assert hours_of(plan) == [1]


def test_a_plan_that_cannot_be_met_alone_says_how_much_it_reaches() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 20000.0, 2 * H)], 0.0, prices=hours([10, 20]))
    assert not plan.met and plan.reason == "not_enough_time"
    assert plan.planned == pytest.approx(2 * 16 * 230.0)
    assert plan.alone == pytest.approx(plan.planned)


def test_a_plan_that_cannot_be_met_within_the_shared_limit_is_named() -> None:
    cfg = house(EvseConfig(max_current=16.0), EvseConfig(max_current=16.0))
    need = 3 * 16 * 230.0  # 3 h each at 16 A; together only 22.5 A for 3 h
    first, second = plan_charging(cfg, [PlanRequest(0, need, 3 * H), PlanRequest(1, need, 3 * H + 60)], 0.0)
    assert first.met  # the earlier departure first
    assert not second.met and second.reason == "shared_limit"
    # what the first leaves for 3 h, and the minute after its departure at 16 A
    assert second.planned == pytest.approx(3 * 6.5 * 230.0 + 16 * 230.0 / 60)


def test_a_three_phase_member_counts_on_every_phase() -> None:
    cfg = house(EvseConfig(max_current=16.0, phases=3), EvseConfig(max_current=16.0, phase=2))
    plans = plan_charging(cfg, [PlanRequest(0, 3 * 16 * 230.0, 2 * H), PlanRequest(1, 16 * 230.0, 2 * H)], 0.0,
                          prices=hours([1, 2]))
    for h in range(2):
        on_l2 = sum(s.current for p in plans for s in p.slots if s.start == h * H)
        assert on_l2 <= 22.5 + 1e-6


def test_a_small_need_gets_one_slot_at_the_lowest_current() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 500.0, 3 * H)], 0.0, prices=hours([3, 1, 2]))
    assert hours_of(plan) == [1]
    assert plan.slots[0].drive == 6.0
    assert plan.next_start(0.0) == 1 * H
    assert plan.next_start(1.5 * H) == 1 * H  # under way
    assert plan.next_start(2 * H) is None


def test_a_departure_now_or_past_plans_nothing() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 1000.0, 100.0)], 100.0)
    assert plan.slots == () and plan.reason == "not_enough_time"
    (done,) = plan_charging(cfg, [PlanRequest(0, 0.0, 50.0)], 100.0)
    assert done.met


def test_time_beyond_the_price_forecast_is_used_last() -> None:
    cfg = house(EvseConfig(max_current=16.0))
    (plan,) = plan_charging(cfg, [PlanRequest(0, 3 * 16 * 230.0, 6 * H)], 0.0, prices=hours([50, 60]))
    assert sorted(set(hours_of(plan))) == [0, 1, 5]  # both known hours, however dear, then the latest unknown
    assert plan.cost is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"requests": [PlanRequest(0, 1.0, MAX_HORIZON + 10.0)]}, "days ahead"),
        ({"requests": [PlanRequest(1, 1.0, 10.0)]}, "member index"),
        ({"requests": [PlanRequest(0, 1.0, 10.0), PlanRequest(0, 1.0, 20.0)]}, "member index"),
        ({"prices": [Span(0.0, 20.0, 1.0), Span(10.0, 30.0, 1.0)]}, "overlapping"),
        ({"solar": [Span(0.0, 20.0, -5.0)]}, "export"),
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, object], match: str) -> None:
    cfg = house(EvseConfig(max_current=16.0))
    args: dict[str, object] = {"requests": [PlanRequest(0, 1000.0, 3600.0)], **kwargs}
    with pytest.raises(ValueError, match=match):
        plan_charging(cfg, args.pop("requests"), 0.0, **args)  # type: ignore[arg-type]


def test_a_vehicle_that_takes_less_is_planned_at_what_it_takes() -> None:
    # A 16 A car on a 32 A member: planned at 32 A it would leave the other member out of the cheap hour.
    cfg = house(EvseConfig(max_current=32.0), EvseConfig(max_current=32.0))
    prices = hours([5, 20])
    need = [22 * 230.0, 6 * 230.0]
    blind = plan_charging(cfg, [PlanRequest(0, need[0], 2 * H), PlanRequest(1, need[1], 2 * H)], 0.0, prices=prices)
    known = plan_charging(cfg, [PlanRequest(0, need[0], 2 * H, vehicle=16.0), PlanRequest(1, need[1], 2 * H)],
                          0.0, prices=prices)
    assert sum(s.energy for s in blind[1].slots if s.start == 0) < 200  # the car's 32 A seemed to fill it
    assert known[0].slots[0].drive == 16.0 and hours_of(known[1]) == [0]  # both in the cheap hour
    with pytest.raises(ValueError, match="vehicle"):
        PlanRequest(0, 1.0, 10.0, vehicle=0.0)


@pytest.mark.parametrize("bad", [(-1.0, 10.0), (math.nan, 10.0), (1.0, math.inf)])
def test_bad_requests_and_spans_are_refused(bad: tuple[float, float]) -> None:
    with pytest.raises(ValueError):
        PlanRequest(0, *bad)
    with pytest.raises(ValueError):
        Span(10.0, 10.0, 1.0)
    with pytest.raises(ValueError):
        Span(0.0, 10.0, math.nan)


@settings(max_examples=150, deadline=None)
@given(
    prices=st.lists(st.integers(-5, 60), min_size=4, max_size=16),
    needs=st.lists(st.just(0.0) | st.floats(1500.0, 30000.0), min_size=1, max_size=3),
    departures=st.lists(st.integers(1, 16), min_size=3, max_size=3),
    maxes=st.lists(st.sampled_from([10.0, 16.0, 32.0]), min_size=3, max_size=3),
    other=st.floats(0.0, 8.0),
)
def test_random_plans_fit_the_supply_and_stay_near_the_cheapest(
    prices: list[int], needs: list[float], departures: list[int], maxes: list[float], other: float
) -> None:
    """Against the linear programme (scipy) for the same energies, where its optimum keeps the 6 A minimum: within 1 %."""
    linprog = pytest.importorskip("scipy.optimize").linprog
    n = len(needs)
    cfg = house(*(EvseConfig(max_current=m) for m in maxes[:n]))
    requests = [PlanRequest(i, needs[i], min(departures[i], len(prices)) * H) for i in range(n)]
    plans = plan_charging(cfg, requests, 0.0, prices=hours([float(p) for p in prices]), other_load=other)
    room = 22.5 - other
    for h in range(len(prices)):
        here = [s for p in plans for s in p.slots if s.start == h * H]
        assert sum(s.current for s in here) <= room + 1e-6
        if sum(1 for _ in here) == 1:
            assert here[0].current >= 6.0 - 1e-9 or here[0].drive == 6.0
    for r, p in zip(requests, plans, strict=True):
        assert all(s.end <= r.departure for s in p.slots)
        assert p.planned <= r.energy + 1e-6
        assert p.met == (p.planned >= r.energy - 1.0)
        assert p.alone >= p.planned - 1e-6
    if not all(p.met for p in plans) or room < 6.0:
        return
    # The same need at the least cost, as a linear programme: x[i][h] in Wh.
    hrs = len(prices)
    cost = [float(prices[h]) for _ in range(n) for h in range(hrs)]
    bounds = [(0.0, maxes[i] * 230.0 if h * H < requests[i].departure else 0.0) for i in range(n) for h in range(hrs)]
    a_eq = [[1.0 if k // hrs == i else 0.0 for k in range(n * hrs)] for i in range(n)]
    a_ub = [[1.0 if k % hrs == h else 0.0 for k in range(n * hrs)] for h in range(hrs)]
    lp = linprog(cost, A_ub=a_ub, b_ub=[room * 230.0] * hrs, A_eq=a_eq, b_eq=[p.planned for p in plans],
                 bounds=bounds)
    assert lp.status == 0
    # The programme's optimum bounds ours only where it keeps the 6 A minimum: a member below it in
    # an hour it shares cannot charge so (alone in an hour it could, at 6 A for part of the hour).
    x = [lp.x[i * hrs:(i + 1) * hrs] for i in range(n)]
    if any(1e-6 < x[i][h] < 6.0 * 230.0 - 1e-6 and any(x[j][h] > 1e-6 for j in range(n) if j != i)
           for i in range(n) for h in range(hrs)):
        return
    ours = sum((p.cost or 0.0) for p in plans) * 1000.0  # per kWh → per Wh like the programme
    assert ours <= lp.fun + 0.01 * abs(lp.fun) + max(prices) * 1.0  # (and 1 Wh at the dearest price)
