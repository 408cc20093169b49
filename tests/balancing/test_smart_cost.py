"""Smart cost (docs/balancing.md, "Smart cost"): while the price is at or below the limit (or, with the
negative-price rule, below zero), Solar and Min+Solar EVSEs charge as in Fast, within the breaker
budget and every rule of Fast; an unknown price ends the cheap state and the reason says so.
"""

from __future__ import annotations

import math

import pytest

from custom_components.knx_evse.balancing import SiteReading

from .helpers import Driver, config, evse

LIMIT = 0.20  # €/kWh


def cheap(price: float | None, **kw: object) -> SiteReading:
    return SiteReading(price=price, price_limit=LIMIT, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("site", "state"),
    [
        (SiteReading(), None),
        (SiteReading(price=0.1), None),  # a price without a rule is no smart cost
        (cheap(0.20), "cheap"),  # at the limit
        (cheap(0.19), "cheap"),
        (cheap(0.21), "expensive"),
        (cheap(None), "no_price"),
        (cheap(math.nan), "no_price"),
        (cheap(math.inf), "no_price"),
        (SiteReading(price=-0.01, negative_price=True), "cheap"),
        (SiteReading(price=0.0, negative_price=True), "expensive"),  # zero is not negative
        (SiteReading(price=0.25, price_limit=LIMIT, negative_price=True), "expensive"),
    ],
)
def test_price_state(site: SiteReading, state: str | None) -> None:
    assert site.price_state == state


@pytest.mark.parametrize("limit", [math.nan, math.inf, "0.2", True])
def test_a_price_limit_that_is_not_a_number_is_refused(limit: object) -> None:
    with pytest.raises(ValueError, match="price_limit"):
        SiteReading(price_limit=limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["solar", "min_solar"])
def test_a_cheap_price_makes_solar_modes_charge_as_fast(mode: str) -> None:
    drv = Driver(config(evse(32.0, mode=mode)))
    drv.site = cheap(0.15)
    d = drv.run(3, house=20.0)  # importing: no export at all
    assert d.limits == (32.0,)
    assert d.reason == ("cheap_price",)
    assert d.price == "cheap"


def test_above_the_limit_solar_modes_keep_their_own_rules() -> None:
    drv = Driver(config(evse(32.0, mode="solar"), evse(32.0, mode="min_solar")))
    drv.site = cheap(0.25)
    d = drv.run(3, house=20.0)
    assert d.limits == (0.0, 6.0)
    assert d.reason == ("paused_no_surplus", "min_solar")
    assert d.price == "expensive"


def test_the_negative_price_rule_without_a_limit() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    drv.site = SiteReading(price=-0.02, negative_price=True)
    assert drv.run(3, house=5.0).limits == (16.0,)
    drv.site = SiteReading(price=0.02, negative_price=True)
    d = drv.run(3, house=5.0)
    assert d.limits == (0.0,)  # solar_stop_delay 0: paused at once without export


def test_cheap_charging_stays_within_the_breaker_budget() -> None:
    # 63 A with 10 %: 56.7 A; the house takes 45 A, so 11.7 A are left: 11 A (whole amperes).
    drv = Driver(config(evse(32.0, mode="solar")))
    drv.site = cheap(0.0)
    d = drv.run(3, house=45.0)
    assert d.limits == (11.0,)
    assert d.available == pytest.approx(11.7)
    d = drv.run(3, house=52.0)  # 4.7 A left: below min_current, paused like a fast EVSE
    assert d.limits == (0.0,)
    assert d.reason == ("paused_priority",)


def test_cheap_solar_shares_the_budget_with_fast_by_priority() -> None:
    drv = Driver(config(evse(32.0), evse(32.0, mode="solar"), evse(32.0, mode="min_solar")))
    drv.site = cheap(0.1)
    d = drv.run(5, house=20.7)  # 36 A for three EVSEs: 12 A each (water-filling, as all-fast)
    assert d.limits == (12.0, 12.0, 12.0)
    assert d.reason == ("fast", "cheap_price", "cheap_price")


def test_an_override_wins_over_the_cheap_price() -> None:
    drv = Driver(config(evse(32.0, mode="solar")))
    drv.site = cheap(0.1)
    drv.b.set_override(0, 10.0)
    d = drv.run(3, house=0.0)
    assert d.limits == (10.0,)
    assert d.reason == ("override",)


def test_an_unknown_price_ends_the_cheap_state_and_says_so() -> None:
    cfg = config(evse(32.0, mode="solar"), evse(32.0, mode="min_solar"), evse(32.0), timing=True,
                 ramp_up_delay=0.0, min_on_time=0.0, min_off_time=0.0, solar_stop_delay=10.0)
    drv = Driver(cfg)
    drv.site = cheap(0.1)
    d = drv.run(3, house=5.0)
    assert d.reason == ("cheap_price", "cheap_price", "fast")
    drv.site = cheap(None)  # the price entity became unavailable
    d = drv.step(house=5.0)
    # Never Fast: the Solar EVSE has no export, so it holds its minimum for solar_stop_delay, then
    # pauses; Min+Solar goes back to its minimum; the Fast EVSE is not concerned.
    assert d.limits[0] == 6.0
    assert d.limits[1] == 6.0
    assert d.price == "no_price"
    assert d.reason[1:] == ("price_unavailable", "fast")
    for _ in range(12):
        d = drv.step(house=5.0)
    assert d.limits[:2] == (0.0, 6.0)
    assert d.reason == ("price_unavailable", "price_unavailable", "fast")


def test_an_unknown_price_keeps_the_safety_reasons() -> None:
    drv = Driver(config(evse(32.0, mode="min_solar"), limit=20.0, margin=0.0))
    drv.site = cheap(None)
    d = drv.run(3, house=18.0)  # 2 A left: not even the minimum fits
    assert d.reason == ("paused_priority",)


def test_without_smart_cost_an_unknown_price_changes_nothing() -> None:
    drv = Driver(config(evse(32.0, mode="solar")))
    drv.site = SiteReading(price=None)
    d = drv.run(3, house=5.0)
    assert d.reason == ("paused_no_surplus",)
    assert d.price is None


def test_when_the_price_rises_a_cheap_solar_evse_follows_the_solar_rules_again() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 min_off_time=0.0, solar_stop_delay=20.0)
    drv = Driver(cfg)
    drv.site = cheap(0.1)
    assert drv.run(3, house=5.0).limits == (16.0,)
    drv.site = cheap(0.3)
    d = drv.step(house=5.0)
    assert d.limits == (6.0,)  # lowered at once to its minimum, no export to draw more
    assert d.reason == ("no_surplus_hold",)
    limits = [drv.step(house=5.0).limits[0] for _ in range(21)]
    assert limits[18] == 6.0
    assert limits[-1] == 0.0


def test_a_cheap_solar_evse_gets_the_fixed_fallback_current_like_fast() -> None:
    cfg = config(evse(16.0, mode="solar"), evse(16.0, mode="solar"), fallback=10.0)
    drv = Driver(cfg)
    drv.site = cheap(0.1)
    d = drv.step(house=0.0, meter=None)
    assert d.fallback
    assert d.limits == (10.0, 0.0)  # one start per round, as for Fast
    d = drv.step(house=0.0, meter=None)
    assert d.limits == (10.0, 10.0)
    drv.site = cheap(0.3)
    assert drv.step(house=0.0, meter=None).limits == (0.0, 0.0)  # Solar pauses in the fallback
