"""Solar modes (rule, docs/balancing.md: "solar uses only export: the EVSE may draw what the house would
otherwise feed into the grid. min_solar gives min_current plus the surplus. Both stay within the
breaker budget"; manual, "Dynamic load balancing with solar generation").
"""

from __future__ import annotations

import pytest

from .helpers import Driver, config, evse


def test_solar_draws_exactly_the_export_and_stays_stable() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    seen = [drv.step(house=-10.0) for _ in range(5)]
    # The meter includes the EV's own draw; subtracting it keeps the surplus at 10 A.
    assert [d.limits for d in seen] == [(10.0,)] * 5
    assert seen[-1].reason == ("solar",)
    assert seen[-1].surplus == pytest.approx(10.0)


def test_solar_is_capped_by_the_evse_maximum() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    assert drv.run(3, house=-25.0).limits == (16.0,)


def test_solar_without_enough_export_stays_paused() -> None:
    drv = Driver(config(evse(16.0, mode="solar")))
    d = drv.run(3, house=-4.0)
    assert d.limits == (0.0,)
    assert d.reason == ("paused_no_surplus",)
    d = drv.run(3, house=5.0)  # importing: no surplus at all
    assert d.limits == (0.0,)
    assert d.surplus == 0.0


def test_three_phase_solar_needs_three_times_min_current_of_export() -> None:
    cfg = config(evse(16.0, phases=3, mode="solar"), phases=3)
    drv = Driver(cfg)
    assert drv.run(3, house=(-5.0, -5.0, -5.0)).limits == (0.0,)  # 15 phase-A < 18
    assert drv.run(3, house=(-7.0, -7.0, -7.0)).limits == (7.0,)  # 21 phase-A → 7 A each


def test_fast_evse_takes_the_export_before_solar() -> None:
    drv = Driver(config(evse(32.0), evse(32.0, mode="solar"), limit=63.0, margin=0.0))
    d = drv.run(3, house=-40.0)
    assert d.limits == (32.0, 8.0)  # 40 A export − 32 A for the fast EVSE = 8 A
    d = drv.run(3, house=-36.0)  # 4 A left after the fast EVSE
    assert d.limits == (32.0, 0.0)
    assert d.reason == ("fast", "paused_no_surplus")


def test_min_solar_gives_min_current_plus_surplus() -> None:
    drv = Driver(config(evse(16.0, mode="min_solar")))
    assert drv.run(3, house=10.0).limits == (6.0,)  # no export: min_current from the grid
    assert drv.run(3, house=-10.0).limits == (10.0,)  # the 6 A are covered by the export
    assert drv.run(3, house=-20.0).limits == (16.0,)  # capped by the EVSE maximum
    assert drv.last is not None
    assert drv.last.reason == ("min_solar",)


def test_min_solar_minimum_respects_the_breaker() -> None:
    drv = Driver(config(evse(16.0, mode="min_solar"), limit=20.0, margin=0.0))
    assert drv.run(3, house=15.0).limits == (0.0,)  # 5 A left < 6 A


def test_solar_stays_within_the_breaker_of_its_own_phase() -> None:
    # Three-phase inverter exports on L2/L3, but L1 (where the EVSE is) is nearly full.
    cfg = config(evse(32.0, phase=1, mode="solar"), limit=25.0, margin=0.0, phases=3)
    drv = Driver(cfg)
    d = drv.run(3, house=(20.0, -20.0, -20.0))
    assert d.limits == (0.0,)
    assert d.reason == ("paused_priority",)  # the breaker, not the export, is short
    d = drv.run(3, house=(15.0, -20.0, -20.0))
    assert d.limits == (10.0,)  # L1 has 10 A left; 25 A exported in total


def test_solar_evse_holds_min_current_through_a_cloud_then_pauses() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=10.0,
                 solar_stop_delay=20.0)
    drv = Driver(cfg)
    assert drv.step(house=-10.0).limits == (10.0,)
    t_start = drv.t
    d = drv.step(house=0.0)  # a cloud: no export
    t_cloud = drv.t
    reasons = []
    while drv.t < t_cloud + 19.0:
        assert d.limits == (6.0,)  # min_current from the grid while waiting
        reasons.append((drv.t - t_start, d.reason[0]))
        d = drv.step(house=0.0)
    assert d.limits == (6.0,)
    assert reasons[0] == (1.0, "min_on_hold")
    assert (9.0, "min_on_hold") in reasons
    assert (10.0, "no_surplus_hold") in reasons
    d = drv.step(house=0.0)
    assert drv.t == t_cloud + 20.0
    assert d.limits == (0.0,)
    assert d.reason == ("paused_no_surplus",)


def test_solar_pause_waits_for_min_on_time_when_it_is_longer() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=30.0,
                 solar_stop_delay=5.0)
    drv = Driver(cfg)
    drv.step(house=-10.0)
    t_start = drv.t
    while drv.t < t_start + 29.0:
        assert drv.step(house=0.0).limits == (6.0,)
    assert drv.step(house=0.0).limits == (0.0,)


def test_one_export_sample_does_not_clear_the_solar_import_count() -> None:
    # Net import is counted, and export beyond min_current pays it back: 10 s of 6 A import (60
    # of the 120 A·s that solar_stop_delay allows), then 1 s of export 4 A above min_current, then
    # import again: the pause comes 11 s later, not a fresh 20 s later.
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 solar_stop_delay=20.0)
    drv = Driver(cfg)
    drv.step(house=-10.0)
    for _ in range(10):
        assert drv.step(house=0.0).limits == (6.0,)
    assert drv.step(house=-10.0).limits == (10.0,)
    limits = [drv.step(house=0.0).limits[0] for _ in range(15)]
    assert limits == [6.0] * 11 + [0.0] * 4


def test_a_long_enough_export_pays_the_import_back_and_a_new_cloud_gets_the_full_delay() -> None:
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 solar_stop_delay=20.0)
    drv = Driver(cfg)
    drv.step(house=-10.0)
    for _ in range(10):
        assert drv.step(house=0.0).limits == (6.0,)
    for _ in range(20):  # 20 s of 4 A beyond min_current: 80 A·s, more than the 60 imported
        assert drv.step(house=-10.0).limits == (10.0,)
    limits = [drv.step(house=0.0).limits[0] for _ in range(22)]
    assert limits == [6.0] * 20 + [0.0] * 2


def test_solar_yields_the_grid_budget_to_a_fast_evse() -> None:
    # A lower-priority fast EVSE still beats a solar one for the breaker budget.
    drv = Driver(config(evse(16.0, mode="solar"), evse(32.0), limit=20.0, margin=0.0))
    drv.connected = [True, False]
    assert drv.run(2, house=-10.0).limits == (10.0, 0.0)
    drv.connected = [True, True]
    d = drv.run(3, house=-10.0)
    # 30 A of room: the fast EVSE takes it all, so nothing is exported any more.
    assert d.limits == (0.0, 30.0)


def test_solar_thin_cloud_is_ridden_as_long_as_its_import_allows() -> None:
    # Export of 3 A against a 6 A minimum: the EVSE imports 3 A, half of min_current, so the
    # solar_stop_delay of 20 s of min_current lasts 40 s of this cloud (rule: solar uses
    # export; the import a cloud may cost is bounded, not its length).
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 solar_stop_delay=20.0)
    drv = Driver(cfg)
    assert drv.step(house=-10.0).limits == (10.0,)
    d = drv.step(house=-3.0)
    t_cloud = drv.t
    while drv.t < t_cloud + 39.0:
        assert d.limits == (6.0,), drv.t - t_cloud
        assert d.reason == ("no_surplus_hold",)
        d = drv.step(house=-3.0)
    assert d.limits == (6.0,)
    d = drv.step(house=-3.0)
    assert drv.t == t_cloud + 40.0
    assert d.limits == (0.0,)
    assert d.reason == ("paused_no_surplus",)


def test_solar_deficit_adds_up_the_import_of_a_changing_cloud() -> None:
    # 11 s without export (6 A imported; a round's rate holds until the next round, so the first
    # second of the thinner cloud still counts 6 A), then 4.5 A of export (1.5 A imported):
    # 66 + 1.5 x 36 reaches 6 A x 20 s = 120 A s 47 s into the cloud.
    cfg = config(evse(16.0, mode="solar"), timing=True, ramp_up_delay=0.0, min_on_time=0.0,
                 solar_stop_delay=20.0)
    drv = Driver(cfg)
    drv.step(house=-10.0)
    drv.step(house=0.0)
    t_cloud = drv.t
    while drv.t < t_cloud + 10.0:
        assert drv.step(house=0.0).limits == (6.0,)
    while drv.t < t_cloud + 46.0:
        assert drv.step(house=-4.5).limits == (6.0,), drv.t - t_cloud
    d = drv.step(house=-4.5)
    assert drv.t == t_cloud + 47.0
    assert d.limits == (0.0,)
