"""Helpers shared by the balancing tests: short constructors and a round driver."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custom_components.knx_evse.balancing import (
    Balancer,
    BalancingConfig,
    Decision,
    EvseConfig,
    EvseReading,
    MeterReading,
    SiteReading,
)

# Timing that gets out of the way: every rule about time is tested on its own.
NO_TIMING: dict[str, float] = {
    "ramp_up_delay": 0.0,
    "min_on_time": 0.0,
    "min_off_time": 0.0,
    "solar_stop_delay": 0.0,
}


def evse(max_current: float = 32.0, **kw: Any) -> EvseConfig:
    return EvseConfig(max_current=max_current, **kw)


# The exact-number tests (budget arithmetic, sharing, rounding, solar, timing) are written for
# plain rounding; the raise hysteresis (``raise_margin``, default 0.5 A) has its own tests
# (test_hysteresis.py) and runs with its default and other values in the property tests.
EXACT: dict[str, float] = {"raise_margin": 0.0, "min_raise": 0.0}


def config(*evses: EvseConfig, limit: float = 63.0, margin: float = 10.0, timing: bool = False,
           **kw: Any) -> BalancingConfig:
    """A group; without ``timing`` all delays are 0; ``raise_margin`` 0 unless given."""
    base: dict[str, Any] = dict(EXACT) if timing else {**NO_TIMING, **EXACT}
    base.update(kw)
    return BalancingConfig(limit=limit, reserve_margin=margin, evses=tuple(evses), **base)


def supply_phases(e: EvseConfig) -> list[int]:
    """0-based supply phases an EVSE draws from: ``phases`` of them from ``phase``, cyclically."""
    return [(e.phase - 1 + k) % 3 for k in range(e.phases)]


class Driver:
    """Feeds a Balancer with a meter that follows the EVSEs' own draw.

    ``house`` is the non-EV load (A, or a per-phase tuple; negative = export). The meter shows the
    house plus what each EVSE draws; by default an EVSE draws exactly its last limit, like an
    obedient car.
    """

    def __init__(self, cfg: BalancingConfig, t0: float = 1000.0) -> None:
        self.cfg = cfg
        self.b = Balancer(cfg)
        self.t = t0
        self.limits = [0.0] * len(cfg.evses)
        self.connected = [True] * len(cfg.evses)
        self.last: Decision | None = None
        self.site: SiteReading | None = None  # the price and battery of every round

    def meter_value(self, house: float | tuple[float, ...]) -> float | tuple[float, ...]:
        cfg = self.cfg
        if isinstance(house, tuple):
            per = list(house)
            for e, lim in zip(cfg.evses, self.limits, strict=True):
                for p in supply_phases(e):
                    per[p] += lim
            return tuple(per)
        if cfg.phases == 1:
            return house + sum(self.limits)
        # scalar A on a three-phase supply: the most loaded phase
        per = [house] * 3
        for e, lim in zip(cfg.evses, self.limits, strict=True):
            for p in supply_phases(e):
                per[p] += lim
        return max(per)

    def step(self, house: float | tuple[float, ...] = 0.0, dt: float = 1.0,
             draw: Sequence[float] | None = None, meter: Any = "follow") -> Decision:
        self.t += dt
        currents = list(draw) if draw is not None else list(self.limits)
        if meter == "follow":
            value = self.meter_value(house)
            if draw is not None:
                saved = self.limits
                self.limits = currents
                value = self.meter_value(house)
                self.limits = saved
            reading: MeterReading | None = MeterReading(value, self.t)
        else:
            reading = meter
        d = self.b.update(
            self.t,
            reading,
            [EvseReading(c, con) for c, con in zip(currents, self.connected, strict=True)],
            self.site,
        )
        self.limits = list(d.limits)
        self.last = d
        return d

    def run(self, rounds: int, house: float | tuple[float, ...] = 0.0, dt: float = 1.0) -> Decision:
        d = self.step(house, dt)
        for _ in range(rounds - 1):
            d = self.step(house, dt)
        return d
