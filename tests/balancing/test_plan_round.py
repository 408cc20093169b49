"""A planned slot in the round (``Balancer.set_plan``): as in Fast up to the planned current, within the budget.

Rule (docs/balancing.md, "Plans"): in a planned slot a member in Solar or Min+Solar charges as in
Fast up to its planned current and takes export above it; Off, Fast and an override are not
changed by it; the breaker budget and every rule of the round still hold.
"""

from __future__ import annotations

import math

import pytest

from custom_components.knx_evse.balancing import EvseReading, MeterReading, SiteReading

from .helpers import Driver, config, evse


def test_a_solar_member_in_a_planned_slot_charges_from_the_grid() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    assert drv.run(3, house=5.0).limits == (0.0,)  # no export: Solar waits
    drv.b.set_plan(0, 10.0)
    d = drv.run(3, house=5.0)
    assert d.limits == (10.0,)
    assert d.reason == ("planned",)
    drv.b.set_plan(0, None)  # the slot is over: back to Solar
    assert drv.run(3, house=5.0).limits == (0.0,)


def test_the_export_covers_the_planned_current_first_and_more_is_taken() -> None:
    drv = Driver(config(evse(32.0, mode="solar")))
    drv.b.set_plan(0, 8.0)
    assert drv.run(3, house=-5.0).limits == (8.0,)  # 5 A of export, 3 A from the grid
    assert drv.run(3, house=-20.0).limits == (20.0,)  # more export than planned: all of it
    assert drv.run(3, house=10.0).limits == (8.0,)  # the export gone: the planned current stays


def test_a_planned_slot_never_exceeds_the_budget() -> None:
    # 63 A with 10 % → 56.7 A; the house takes 50 A: 6.7 A are left, the plan asks 16 A.
    drv = Driver(config(evse(32.0, mode="min_solar"), evse(32.0, mode="fast")))
    drv.b.set_plan(0, 16.0)
    d = drv.run(3, house=50.0)
    assert d.limits[0] + d.limits[1] <= 6.7 + 1e-9
    assert d.limits[0] == 6.0


def test_planned_and_fast_members_share_the_budget_fairly_up_to_the_plan() -> None:
    drv = Driver(config(evse(32.0, mode="solar"), evse(32.0, mode="fast"), limit=40.0, margin=0.0))
    drv.b.set_plan(0, 10.0)
    assert drv.run(3).limits == (10.0, 30.0)  # the plan caps the first; the fast one takes the rest
    drv.b.set_plan(0, 32.0)
    assert drv.run(3).limits == (20.0, 20.0)  # equal shares, as two Fast members


def test_with_more_planned_members_share_what_is_left_above_their_plans() -> None:
    cfg = config(evse(32.0, mode="solar"), evse(32.0, mode="solar"), limit=30.0, margin=0.0)
    drv = Driver(cfg)
    drv.b.set_plan(0, 16.0)
    drv.b.set_plan(1, 6.0)
    assert drv.run(3).limits == (16.0, 6.0)  # 8 A stay unused
    drv.b.set_plan(1, 6.0, more=True)
    assert drv.run(3).limits == (16.0, 14.0)  # the second takes them; the first keeps its planned 16 A
    drv.b.set_plan(0, 16.0, more=True)
    assert drv.run(3).limits == (20.0, 10.0)  # the 8 A left shared out equally above both plans
    drv.b.set_plan(0, None, more=True)  # more without a planned current is no plan
    assert drv.run(3).limits[0] == 0.0


def test_off_fast_and_override_are_not_changed_by_a_plan() -> None:
    drv = Driver(config(evse(32.0, mode="off"), evse(32.0, mode="fast"), evse(32.0, mode="solar"), limit=100.0,
                        margin=0.0))
    for i in range(3):
        drv.b.set_plan(i, 10.0)
    drv.b.set_override(2, 12.0)
    d = drv.run(3)
    assert d.limits == (0.0, 32.0, 12.0)
    assert d.reason == ("off", "fast", "override")


def test_a_planned_member_gets_the_fixed_fallback_current_like_fast() -> None:
    drv = Driver(config(evse(32.0, mode="solar"), evse(32.0, mode="solar"), fallback=10.0))
    drv.b.set_plan(0, 16.0)
    drv.run(2)
    d = drv.step(meter=None)
    assert d.fallback
    assert d.limits == (10.0, 0.0)  # Solar pauses in the fallback; the planned one charges


def test_a_cheap_price_makes_a_planned_member_fast_for_the_round() -> None:
    drv = Driver(config(evse(32.0, mode="solar"), limit=40.0, margin=0.0))
    drv.b.set_plan(0, 10.0)
    assert drv.run(3, house=5.0).limits == (10.0,)
    cheap = SiteReading(price=0.05, price_limit=0.10)
    for _ in range(3):
        drv.t += 1.0
        d = drv.b.update(drv.t, MeterReading(5.0 + drv.limits[0], drv.t), [EvseReading(drv.limits[0], True)], cheap)
        drv.limits = list(d.limits)
    assert d.limits == (32.0,)  # smart cost: as Fast, beyond the planned current
    assert d.reason == ("cheap_price",)


@pytest.mark.parametrize("bad", [-1.0, 0.0, 5.9, math.nan, math.inf, True, "8"])
def test_set_plan_refuses_currents_below_min_current_and_non_numbers(bad: object) -> None:
    drv = Driver(config(evse(32.0, mode="solar")))
    with pytest.raises(ValueError, match="planned current"):
        drv.b.set_plan(0, bad)  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        drv.b.set_plan(1, 10.0)
