"""Telegram bookkeeping (rule, docs/balancing.md: "Writes: limits only change when they change by at least
step. No repeated identical writes except a keep-alive inside the chargers' fail-safe timeout").
"""

from __future__ import annotations

import pytest

from .helpers import Driver, config, evse


def test_first_round_writes_every_charger_with_a_vehicle_but_one_about_to_start() -> None:
    drv = Driver(config(evse(), evse(), evse(), limit=100.0))
    drv.connected = [True, False, True]
    d = drv.step()
    # EVSE1 starts; EVSE2 (no vehicle) is left alone; EVSE3 waits for the next round's start,
    # so a Stop now would be undone by a Start one round later.
    assert d.writes == (0,)
    assert d.switches == (0,)
    assert d.paused[1] and d.reason[1] == "not_connected"
    assert d.paused[2] and d.reason[2] == "start_queue"
    d = drv.step()
    assert (d.writes, d.switches) == ((2,), (2,))
    assert not d.paused[2]


def test_a_charger_without_a_vehicle_is_not_written_until_one_is_plugged_in() -> None:
    # A Stop would not outlast a plug-in (the manual's "Auto charging init after connect" starts a
    # session whatever was written before): the first telegram is the session's start.
    drv = Driver(config(evse(), limit=100.0))
    drv.connected = [False]
    assert [drv.step().writes for _ in range(30)] == [()] * 30
    drv.connected = [True]
    d = drv.step()
    assert (d.writes, d.switches, d.limits) == ((0,), (0,), (32.0,))


def test_a_charger_without_a_vehicle_but_with_a_keepalive_gets_its_stop() -> None:
    # Fail-safe: silence would put the charger on its fail-safe current, so it is written at once.
    drv = Driver(config(evse(keepalive=60.0), limit=100.0))
    drv.connected = [False]
    d = drv.step()
    assert (d.writes, d.switches, d.paused) == ((0,), (0,), (True,))


def test_a_vehicle_plugged_in_later_starts_without_a_stop_before() -> None:
    # Its first Stop is held while its start timers run (ramp_up_delay 10 s), as after a restart.
    drv = Driver(config(evse(), limit=100.0, ramp_up_delay=10.0))
    drv.connected = [False]
    drv.run(100)
    drv.connected = [True]
    seen = [drv.step() for _ in range(12)]
    assert [(k, d.writes, d.switches) for k, d in enumerate(seen) if d.writes] == [(10, (0,), (0,))]
    assert not seen[10].paused[0]


def test_the_first_stop_is_not_held_for_an_evse_that_does_not_fit() -> None:
    drv = Driver(config(evse(), evse(), limit=10.0, margin=0.0))  # room for one car only
    d = drv.step()
    assert (d.writes, d.limits, d.reason[1]) == ((0, 1), (10.0, 0.0), "paused_priority")


def test_a_held_first_stop_is_sent_when_the_hold_ends() -> None:
    # Fifteen EVSEs start one per round; the hold lasts ramp_up_delay + SETTLE_TIME (0 + 10 s)
    # from the first round, so those still queued then get their Stop, and start later.
    drv = Driver(config(*[evse(6.0)] * 15, limit=200.0))
    stops: dict[int, float] = {}
    starts: dict[int, float] = {}
    t0 = drv.t + 1.0
    for _ in range(20):
        d = drv.step()
        for i in d.switches:
            (stops if d.paused[i] else starts)[i] = drv.t - t0
    assert sorted(starts) == list(range(15))
    assert all(starts[i] == float(i) for i in range(15))
    assert sorted(stops) == list(range(11, 15))
    assert set(stops.values()) == {10.0}


def test_no_writes_while_nothing_changes_then_keepalive() -> None:
    drv = Driver(config(evse(), limit=100.0, keepalive=60.0))
    drv.run(2)  # written at t0 + 1
    quiet = [drv.step().writes for _ in range(58)]  # t0 + 3 … t0 + 60
    assert quiet == [()] * 58
    d = drv.step()  # t0 + 61: 60 s after the last write
    assert d.writes == (0,)
    assert d.switches == ()
    assert drv.step().writes == ()


def test_by_default_an_unchanged_limit_is_never_written_again() -> None:
    # Chargers without Fail-safe need no keep-alive: an hour of steady state, no telegram after
    # the first round's.
    drv = Driver(config(evse(), evse(), limit=100.0))
    drv.connected = [True, False]
    assert drv.step().writes == (0,)
    assert [drv.step(dt=7.0).writes for _ in range(520)] == [()] * 520


def test_per_evse_keepalive_only_for_the_charger_that_has_one() -> None:
    # EVSE1 has Fail-safe (keep-alive 10 s), EVSE2 has none, the group no default.
    drv = Driver(config(evse(keepalive=10.0), evse(), limit=100.0))
    drv.run(2)  # EVSE1 starts (is written) at t0 + 1, EVSE2 at t0 + 2
    seen = [drv.step().writes for _ in range(30)]  # t0 + 3 … t0 + 32
    assert seen == [(0,) if k in (8, 18, 28) else () for k in range(30)]  # t0 + 11, 21, 31
    assert drv.last is not None and drv.last.switches == ()


def test_per_evse_keepalive_overrides_the_group_default() -> None:
    drv = Driver(config(evse(keepalive=5.0), evse(), limit=100.0, keepalive=20.0))
    drv.run(2)  # EVSE1 starts at t0 + 1, EVSE2 at t0 + 2 (one start per round)
    seen = [drv.step().writes for _ in range(20)]  # t0 + 3 … t0 + 22
    expected = [(0,) if k in (3, 8, 13, 18) else () for k in range(20)]  # t0 + 6, 11, 16, 21
    expected[19] = (1,)  # t0 + 22: EVSE2 on the group's 20 s
    assert seen == expected


@pytest.mark.parametrize("where", ["group", "evse"])
def test_keepalive_also_repeats_the_pause_per_evse(where: str) -> None:
    # A paused charger with Fail-safe gets its Stop again, from either setting.
    cfg = (config(evse(), limit=100.0, keepalive=10.0) if where == "group"
           else config(evse(keepalive=10.0), limit=100.0))
    drv = Driver(cfg)
    drv.connected = [False]
    drv.step()
    assert [drv.step().writes for _ in range(9)] == [()] * 9
    d = drv.step()
    assert (d.writes, d.switches, d.paused) == ((0,), (), (True,))


def test_keepalive_also_repeats_the_pause() -> None:
    drv = Driver(config(evse(), limit=100.0, keepalive=10.0))
    drv.connected = [False]
    drv.step()
    assert [drv.step().writes for _ in range(9)] == [()] * 9
    assert drv.step().writes == (0,)


def test_a_change_writes_only_the_evse_that_changed() -> None:
    drv = Driver(config(evse(10.0), evse(32.0), limit=40.0, margin=0.0))
    drv.run(3)
    assert drv.limits == [10.0, 30.0]
    d = drv.step(house=5.0)
    assert d.limits == (10.0, 25.0)
    assert d.writes == (1,)
    assert d.switches == ()


def test_pause_and_resume_are_switches() -> None:
    drv = Driver(config(evse(), limit=20.0, margin=0.0))
    drv.run(2)
    d = drv.step(house=16.0)
    assert d.paused == (True,)
    assert (d.writes, d.switches) == ((0,), (0,))
    d = drv.step(house=0.0)
    assert d.paused == (False,)
    assert (d.writes, d.switches) == ((0,), (0,))


def test_every_change_is_at_least_one_step() -> None:
    # min_current 7 A with a 2 A step: the limits are 7, 9, 11 A …, never 8 or 10 A.
    drv = Driver(config(evse(), limit=50.0, margin=0.0, min_current=7.0, step=2.0))
    assert drv.run(2, house=50.0 - 7.5).limits == (7.0,)
    d = drv.step(house=50.0 - 8.9)  # 8.9 A of room: still 7 A, nothing to send
    assert (d.limits, d.writes) == ((7.0,), ())
    d = drv.step(house=50.0 - 10.5)
    assert (d.limits, d.writes) == ((9.0,), (0,))
    d = drv.step(house=50.0 - 9.2)
    assert (d.limits, d.writes) == ((9.0,), ())
    d = drv.step(house=50.0 - 8.0)
    assert (d.limits, d.writes) == ((7.0,), (0,))


def test_force_write_resends_on_the_next_round() -> None:
    drv = Driver(config(evse(), evse(), limit=100.0))
    drv.run(3)
    drv.b.force_write(1)
    assert drv.step().writes == (1,)
    assert drv.step().writes == ()
    drv.b.force_write()
    assert drv.step().writes == (0, 1)
