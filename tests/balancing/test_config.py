"""Validation of BalancingConfig / EvseConfig (docs/balancing.md)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.knx_evse.balancing import BalancingConfig, EvseConfig, supply_phases

from .helpers import evse


def make(**kw: Any) -> BalancingConfig:
    base: dict[str, Any] = {"limit": 63.0, "reserve_margin": 10.0, "evses": (evse(),)}
    base.update(kw)
    return BalancingConfig(**base)


def test_manual_budget_63a_10_percent_is_56_7() -> None:
    # Manual, "Load reserve margin": 63 A with a 10 % margin reserves 6.3 A → 56.7 A.
    assert make().budget == pytest.approx(56.7)


def test_defaults_are_documented_values() -> None:
    cfg = make()
    assert (cfg.min_current, cfg.voltage, cfg.step) == (6.0, 230.0, 1.0)
    assert cfg.fallback == "pause"
    assert cfg.fallback_current is None
    timing = (cfg.ramp_up_delay, cfg.min_on_time, cfg.min_off_time, cfg.solar_stop_delay,
              cfg.meter_timeout, cfg.keepalive)
    assert timing == (10.0, 60.0, 60.0, 180.0, 30.0, None)  # no keep-alive unless asked for
    assert cfg.evses[0].keepalive is None and cfg.evse_keepalive(0) is None
    assert cfg.max_meter_power is None
    assert cfg.meter_power_bound == 200_000.0  # a 63 A house: 200 kW


def test_absurd_bound_scales_with_large_supplies() -> None:
    # A car park on 800 A per phase: 4 × 800 A × 230 V × 3 = 2.208 MW.
    assert make(limit=800.0, phases=3).meter_power_bound == 4 * 800.0 * 230.0 * 3
    assert make(limit=1_000_000.0, current_control=False).meter_power_bound == 4_000_000.0
    assert make(max_meter_power=50_000.0).meter_power_bound == 50_000.0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"limit": -1.0}, "limit"),
        ({"limit": 0.0}, "limit"),
        ({"limit": math.nan}, "limit"),
        ({"reserve_margin": -0.1}, "reserve_margin"),
        ({"reserve_margin": 100.0}, "reserve_margin"),
        ({"reserve_margin": 150.0}, "reserve_margin"),
        ({"min_current": 5.0}, "min_current"),
        ({"voltage": 0.0}, "voltage"),
        ({"step": 0.0}, "step"),
        ({"step": -1.0}, "step"),
        ({"keepalive": 0.0}, "keepalive"),
        ({"keepalive": math.inf}, "keepalive"),
        ({"ramp_up_delay": -1.0}, "ramp_up_delay"),
        ({"min_on_time": -1.0}, "min_on_time"),
        ({"min_off_time": math.inf}, "min_off_time"),
        ({"meter_timeout": -5.0}, "meter_timeout"),
        ({"solar_stop_delay": -5.0}, "solar_stop_delay"),
        ({"fallback": 3.0}, "fallback"),
        ({"fallback": "resume"}, "fallback"),
        ({"fallback": math.nan}, "fallback"),
        ({"phases": 2}, "phases"),
        ({"evses": (evse(phases=3),)}, "on 3 phases needs a three-phase supply"),
        ({"evses": (evse(phases=2),)}, "on 2 phases needs a three-phase supply"),
        ({"evses": (evse(phase=2),)}, "phase must be 1"),
        ({"evses": (evse(5.0),)}, "below min_current"),
        ({"evses": (EvseConfig(max_power=1000.0),)}, "below min_current"),
    ],
)
def test_invalid_config_raises_clear_value_error(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({}, "exactly one"),
        ({"max_current": 16.0, "max_power": 3680.0}, "exactly one"),
        ({"max_current": -16.0}, "max_current"),
        ({"max_current": math.inf}, "max_current"),
        ({"max_power": 0.0}, "max_power"),
        ({"max_current": 16.0, "phases": 4}, "phases"),
        ({"max_current": 16.0, "phases": 0}, "phases"),
        ({"max_current": 16.0, "phase": 4}, "phase"),
        ({"max_current": 16.0, "mode": "turbo"}, "mode"),
        ({"max_current": 16.0, "keepalive": 0.0}, "keepalive"),
        ({"max_current": 16.0, "keepalive": -5.0}, "keepalive"),
        ({"max_current": 16.0, "keepalive": math.nan}, "keepalive"),
        ({"max_current": 16.0, "keepalive": True}, "keepalive"),
    ],
)
def test_invalid_evse_raises(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EvseConfig(**kw)


def test_power_maximum_converted_with_voltage_and_phases() -> None:
    cfg = make(phases=3, evses=(EvseConfig(max_power=7360.0), EvseConfig(max_power=11040.0, phases=3)))
    assert cfg.evse_max_current(0) == pytest.approx(32.0)  # 7360 / 230
    assert cfg.evse_max_current(1) == pytest.approx(16.0)  # 11040 / (230 × 3)


def test_list_of_evses_becomes_tuple_and_config_is_frozen() -> None:
    cfg = make(evses=[evse(), evse(16.0)])
    assert isinstance(cfg.evses, tuple)
    with pytest.raises(AttributeError):
        cfg.limit = 10.0  # type: ignore[misc]


def test_fallback_current_accepted() -> None:
    assert make(fallback=10.0).fallback_current == 10.0


def test_evse_keepalive_is_its_own_or_the_group_default() -> None:
    cfg = make(keepalive=60.0, evses=(evse(keepalive=15.0), evse()))
    assert (cfg.evse_keepalive(0), cfg.evse_keepalive(1)) == (15.0, 60.0)
    cfg = make(evses=(evse(keepalive=15.0), evse()))
    assert (cfg.evse_keepalive(0), cfg.evse_keepalive(1)) == (15.0, None)
    with pytest.raises(IndexError):
        cfg.evse_keepalive(2)


@pytest.mark.parametrize(
    ("phases", "phase", "expected"),
    [(1, 2, (1,)), (3, 1, (0, 1, 2)), (3, 2, (1, 2, 0)), (3, 3, (2, 0, 1)), (2, 1, (0, 1)), (2, 3, (2, 0))],
)
def test_supply_phases_follow_the_first_phase_cyclically(phases: int, phase: int, expected: tuple[int, ...]) -> None:
    # docs/balancing.md, "Phase rotation": the EVSE's first phase on `phase`, the others follow.
    assert supply_phases(EvseConfig(max_current=16.0, phases=phases, phase=phase)) == expected
