"""Property test: whatever the price and the battery say, every safety invariant of a round holds.

Random groups and rounds (``test_properties``: meters in every form, plug events, mode changes,
overrides) with a random ``SiteReading`` each round: prices cheap, expensive, unknown; SoC and
battery power in and out of range, unknown. Each decision is checked as in ``test_properties``
(limits 0 or within the grid and the maximum, the budget per phase, the fallback's room), except the
export check for solar limits, which the battery moves on purpose; and the price and battery states
are the reading's.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.knx_evse.balancing import Balancer, EvseReading, SiteReading

from .test_properties import EXAMPLES, SETTINGS, check_round, configs, meter_for, rounds

MAYBE = st.one_of(st.none(), st.just(math.nan))


@st.composite
def sites(draw: st.DrawFn) -> SiteReading:
    priority = draw(st.none() | st.floats(0.0, 100.0))
    buffer = draw(st.none() | st.floats(priority or 0.0, 100.0))
    return SiteReading(
        price=draw(MAYBE | st.floats(-0.5, 0.8)),
        price_limit=draw(st.none() | st.floats(-0.2, 0.5)),
        negative_price=draw(st.booleans()),
        battery_soc=draw(MAYBE | st.floats(-10.0, 110.0)),
        battery_power=draw(MAYBE | st.floats(-30_000.0, 30_000.0)),
        priority_soc=priority,
        buffer_soc=buffer,
    )


@settings(max_examples=max(100, EXAMPLES // 3), **SETTINGS)
@given(data=st.data())
def test_the_site_never_breaks_a_safety_invariant(data: st.DataObject) -> None:
    cfg = data.draw(configs())
    script = data.draw(rounds(cfg))
    n = len(cfg.evses)
    b = Balancer(cfg)
    t = 0.0
    limits = [0.0] * n
    overrides: list[float | None] = [None] * n
    for r in script:
        t += r.dt
        if r.action is not None and n:
            kind, idx, arg = r.action
            if kind == "mode":
                b.set_mode(idx, arg)
                overrides[idx] = None
            else:
                b.set_override(idx, arg)
                overrides[idx] = arg
        for i in range(n):
            if not r.connected[i]:
                overrides[i] = None
        draws: list[Any] = list(limits)  # obedient cars
        meter, value, unit = meter_for(cfg, r, draws, t)
        site = data.draw(sites())
        d = b.update(t, meter, [EvseReading(draws[i], r.connected[i]) for i in range(n)], site)
        assert (d.price, d.battery) == (site.price_state, site.battery_state)
        wanting = [r.connected[i] and (overrides[i] != 0.0 if overrides[i] is not None
                                       else b.config.evses[i].mode != "off") for i in range(n)]
        check_round(cfg, b, d, value, unit, draws, wanting, overrides, solar=False)
        limits = list(d.limits)
