"""Timing rules: lower at once, raise after sustained headroom, min on/off time, pre-emption.

Rule (docs/balancing.md): "Lower at once. Raise only after ramp_up_delay of sustained headroom. Small
decreases must not restart that clock forever"; "Start and stop respect min_on_time and
min_off_time, except when the budget is exceeded, which cuts at once"; "A higher priority pre-empts
a lower one".
"""

from __future__ import annotations

from custom_components.knx_evse.balancing import Balancer, EvseReading, MeterReading

from .helpers import Driver, config, evse

BUDGET_63 = 63.0 * 0.9
"""A: the budget of the helpers' default group (63 A, 10 % margin)."""


def test_lower_at_once_even_with_long_timers() -> None:
    drv = Driver(config(evse(), timing=True, ramp_up_delay=10.0))
    drv.b = Balancer(drv.cfg)
    # Adopted as already charging at 32 A on the first round (no ramp wait).
    d = drv.step(draw=[32.0])
    assert d.limits == (32.0,)
    d = drv.step(house=30.0)  # 26.7 A left
    assert d.limits == (26.0,)
    d = drv.step(house=45.0)  # 11.7 A left
    assert d.limits == (11.0,)


def test_raise_only_after_ramp_up_delay_of_sustained_headroom() -> None:
    drv = Driver(config(evse(), ramp_up_delay=10.0))
    drv.run(25, house=40.0)  # start after 10 s, raise from 6 A 10 s later
    assert drv.limits == [16.0]
    # Headroom comes back at t1; the limit stays until t1 + 10 s.
    held = [drv.step(house=20.0).limits[0] for _ in range(10)]
    assert held == [16.0] * 10
    assert drv.step(house=20.0).limits == (32.0,)


def test_a_short_dip_delays_the_raise_by_at_most_ramp_up_delay() -> None:
    drv = Driver(config(evse(), ramp_up_delay=10.0))
    drv.run(25, house=40.0)  # start after 10 s, raise from 6 A 10 s later
    for _ in range(5):
        drv.step(house=20.0)
    drv.step(house=40.0)  # a 1 s dip: 16.7 A left → stays 16 A
    # The room is back from the next round; the raise comes 10 s after that, not later.
    held = [drv.step(house=20.0).limits[0] for _ in range(10)]
    assert held == [16.0] * 10
    assert drv.step(house=20.0).limits == (32.0,)


def test_small_decreases_do_not_restart_the_clock_forever() -> None:
    drv = Driver(config(evse(), ramp_up_delay=10.0))
    drv.run(25, house=40.0)  # start after 10 s, raise from 6 A 10 s later
    assert drv.limits == [16.0]
    # The other load wobbles every second between 26.0 and 26.5 A: the room dips by 0.5 A each
    # time. A clock restarted on every decrease would keep the limit at 16 A forever; the limit
    # must rise to the smallest room of the window (30.2 A → 30 A).
    seen = []
    for k in range(30):
        seen.append(drv.step(house=26.0 if k % 2 else 26.5).limits[0])
    assert seen[:10] == [16.0] * 10
    assert seen[-1] == 30.0
    assert max(seen) == 30.0


def test_start_waits_for_sustained_headroom_then_starts_at_its_share() -> None:
    drv = Driver(config(evse(), ramp_up_delay=10.0))
    decisions = [drv.step() for _ in range(25)]
    reasons = [d.reason[0] for d in decisions]
    limits = [d.limits[0] for d in decisions]
    start = next(k for k, lim in enumerate(limits) if lim > 0)
    assert set(reasons[:start]) == {"ramp_wait"}
    assert set(limits[:start]) == {0.0}
    assert start == 10  # fits from the first round; starts 10 s later
    assert limits[start:] == [32.0] * (25 - start)  # one telegram: no 6 A first
    # One write: the start (the first Stop is held while the start is due, see test_writes).
    assert [k for k, d in enumerate(decisions) if d.writes] == [start]


def test_start_limit_is_the_smallest_share_of_the_wait() -> None:
    # 20 A of room, but for 3 s of the 10 s wait only 12 A: the start is at 12 A (what was
    # sustained), and the raise to 20 A comes once 20 A has lasted ramp_up_delay.
    drv = Driver(config(evse(), ramp_up_delay=10.0))
    free = BUDGET_63 - 20.0
    drv.run(4, house=free)
    drv.run(3, house=BUDGET_63 - 12.0)
    limits = [drv.step(house=free).limits[0] for _ in range(15)]
    start = next(k for k, lim in enumerate(limits) if lim > 0)
    assert limits[start] == 12.0
    assert 20.0 in limits[start:]
    assert max(limits) == 20.0



def test_min_on_time_protects_a_lower_priority_evse_from_preemption() -> None:
    cfg = config(evse(), evse(), limit=10.0, margin=0.0, timing=True, ramp_up_delay=0.0)
    drv = Driver(cfg)
    drv.connected = [False, True]
    d = drv.step()
    assert d.limits == (0.0, 10.0)
    t_start = drv.t
    drv.step(dt=10.0)
    drv.connected = [True, True]  # EVSE1 arrives; only one fits (2 × 6 A > 10 A)
    d = drv.step()
    assert d.limits == (0.0, 10.0)
    assert d.reason == ("wait_preempt", "min_on_hold")
    while drv.t < t_start + 59.0:
        d = drv.step()
        assert d.limits == (0.0, 10.0)
    d = drv.step()  # t_start + 60: EVSE2 may now stop; EVSE1 pre-empts it
    assert drv.t == t_start + 60.0
    assert d.limits == (10.0, 0.0)
    assert d.reason == ("fast", "paused_priority")


def test_min_off_time_keeps_a_paused_evse_paused() -> None:
    cfg = config(evse(), evse(), limit=10.0, margin=0.0, timing=True, ramp_up_delay=0.0,
                 min_on_time=0.0)
    drv = Driver(cfg)
    drv.connected = [False, True]
    drv.step()
    drv.connected = [True, True]
    d = drv.step()  # pre-emption at once (min_on_time 0)
    assert d.limits == (10.0, 0.0)
    t_stop = drv.t
    drv.step(dt=5.0)
    drv.connected = [False, True]  # EVSE1 leaves after 5 s
    d = drv.step()
    assert d.limits == (0.0, 0.0)
    assert d.reason == ("not_connected", "paused_min_off")
    while drv.t < t_stop + 59.0:
        assert drv.step().limits == (0.0, 0.0)
    d = drv.step()
    assert drv.t == t_stop + 60.0
    assert d.limits == (0.0, 10.0)


def test_budget_overrun_cuts_at_once_despite_min_on_time() -> None:
    cfg = config(evse(), evse(), evse(), timing=True, ramp_up_delay=0.0, min_on_time=600.0)
    drv = Driver(cfg)
    d = drv.run(3)
    assert d.limits == (18.0, 18.0, 18.0)
    d = drv.step(house=40.0)  # 16.7 A left: only two fit at 6 A
    assert d.limits == (8.0, 8.0, 0.0)
    assert d.reason == ("fast", "fast", "over_budget_cut")


def test_unplugging_or_mode_off_pauses_at_once_despite_min_on_time() -> None:
    cfg = config(evse(), evse(), timing=True, ramp_up_delay=0.0, min_on_time=600.0)
    drv = Driver(cfg)
    drv.run(2)
    drv.connected = [False, True]
    d = drv.step()
    assert d.limits[0] == 0.0
    assert d.reason[0] == "not_connected"
    drv.b.set_mode(1, "off")
    d = drv.step()
    assert d.limits == (0.0, 0.0)
    assert d.reason == ("not_connected", "off")


def test_higher_priority_evse_with_pending_start_blocks_lower_starts() -> None:
    # EVSE1 waits for its min_off_time; EVSE2 must not grab the single slot meanwhile.
    cfg = config(evse(), evse(), limit=10.0, margin=0.0, timing=True, ramp_up_delay=0.0,
                 min_on_time=0.0, min_off_time=30.0)
    drv = Driver(cfg)
    drv.connected = [True, False]
    drv.step()
    drv.connected = [False, False]
    drv.step()  # EVSE1 stops (unplugged) → its min_off_time runs
    drv.connected = [True, True]
    d = drv.step()
    assert d.limits == (0.0, 0.0)
    assert d.reason == ("paused_min_off", "paused_priority")


def test_first_round_adopts_evses_that_are_already_charging() -> None:
    # After a Home Assistant restart, charging cars must not be stopped and restarted.
    b = Balancer(config(evse(), evse(), timing=True))
    d = b.update(0.0, MeterReading(30.0, 0.0), [EvseReading(16.0, True), EvseReading(0.2, True)])
    assert d.limits == (16.0, 0.0)
    assert d.reason == ("fast", "ramp_wait")


def test_clock_going_backwards_is_tolerated() -> None:
    b = Balancer(config(evse(), ramp_up_delay=10.0))
    b.update(100.0, MeterReading(0.0, 100.0), [EvseReading(0.0, True)])
    d = b.update(50.0, MeterReading(0.0, 50.0), [EvseReading(0.0, True)])
    assert d.limits == (0.0,)
    assert d.reason == ("ramp_wait",)


def test_a_meter_reading_older_than_the_last_limit_change_raises_nothing() -> None:
    """A meter that stopped reporting before a start still holds the draw from before it, so
    "meter − Σ EVSE" would count the new car's current as room (the soak saw a 9 A start raised to
    16 A that way, 3 × 19 A on a 3 × 16 A supply). Nothing is raised on such a reading; fresh
    readings raise again after the ramp-up delay."""
    drv = Driver(config(evse(), limit=25.0, margin=0.0, ramp_up_delay=10.0))
    drv.run(3, house=16.0)  # waiting to start: 9 A of room
    stale = MeterReading(16.0, drv.t)  # the meter's last report: the house alone
    limits = [drv.step(house=16.0, meter=stale).limits[0] for _ in range(25)]
    assert limits[-1] == 9.0  # started on it: nothing had changed since it was taken
    assert max(limits) == 9.0  # and never raised on it
    d = drv.run(11, house=4.0)  # fresh readings, 21 A of room
    assert d.limits == (21.0,)


def test_no_second_start_on_a_reading_older_than_the_first() -> None:
    """The first start was made on a reading that stopped coming: the second waits for a fresh one."""
    drv = Driver(config(evse(), evse(), limit=25.0, margin=0.0, ramp_up_delay=10.0))
    drv.connected = [True, False]
    drv.run(3, house=4.0)
    stale = MeterReading(4.0, drv.t)  # the meter's last report before the first start
    for _ in range(12):
        drv.step(house=4.0, meter=stale)
    assert drv.limits[0] == 21.0  # started on it: nothing had changed since it was taken
    drv.connected = [True, True]  # a second car plugs in
    limits = [drv.step(house=4.0, meter=stale, draw=[21.0, 0.0]).limits[1] for _ in range(15)]
    assert max(limits) == 0.0  # "meter − Σ EVSE" shows 21 A more room than there is: no start on it


def test_no_second_start_on_the_reading_of_the_first_starts_round() -> None:
    """The reading a car was started on was taken before its draw: if the meter stops there, a second
    car waits for a later reading (the soak: a start 11 s later on that reading put 19.9 A on a 16 A
    breaker until the meter timed out)."""
    drv = Driver(config(evse(), evse(), limit=25.0, margin=0.0, ramp_up_delay=10.0))
    drv.connected = [True, False]
    for _ in range(30):  # fresh readings until the first car starts
        if drv.step(house=4.0).limits[0] > 0.0:
            break
    assert drv.limits[0] == 21.0
    last = MeterReading(4.0, drv.t)  # that round's reading: the house alone, the meter's last report
    drv.connected = [True, True]  # a second car plugs in
    limits = [drv.step(house=4.0, meter=last, draw=[21.0, 0.0]).limits[1] for _ in range(15)]
    assert max(limits) == 0.0
