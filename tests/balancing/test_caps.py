"""A car that takes less than its share is capped near its draw, and the rest goes to the others.

A car's on-board charger (or a full battery tapering) may take far less than the limit it is
given; its unused share would otherwise sit idle while another car is held back.
"""

from __future__ import annotations

from custom_components.knx_evse.balancing import Balancer, EvseReading, MeterReading
from custom_components.knx_evse.balancing.balancer import SETTLE_TIME
from custom_components.knx_evse.balancing.state import CAP_HEADROOM

from .helpers import Driver, config, evse

ON_BOARD = 10.0  # A: what the capped car's on-board charger takes


def _two_cars(**kw: float) -> Driver:
    # 40 A, no margin, one phase: both fast, 32 A maximum, default timing (ramp-up 10 s).
    return Driver(config(evse(32.0), evse(32.0), limit=40.0, margin=0.0, timing=True, **kw))


def _run(drv: Driver, seconds: int, on_board: float = ON_BOARD) -> list[tuple[float, float]]:
    seen = []
    for _ in range(seconds):
        d = drv.step(draw=[min(drv.limits[0], on_board), drv.limits[1]])
        assert sum(d.limits) <= 40.0  # within the budget throughout
        seen.append((d.limits[0], d.limits[1]))
    return seen


def test_the_unused_share_goes_to_the_other_car_within_a_minute() -> None:
    drv = _two_cars()
    seen = _run(drv, 40)
    shared = next(i for i, (a, b) in enumerate(seen) if a == b == 20.0)  # the fair share, 20 A each
    seen += _run(drv, 60)
    capped = next(i for i, (a, _b) in enumerate(seen) if i > shared and a < 20.0)
    # capped CAP_HEADROOM above its draw, on the whole-ampere grid: 10 + 1 = 11 A
    assert seen[capped][0] == 11.0 and drv.last is not None
    given = next(i for i, (_a, b) in enumerate(seen) if i > shared and b >= 40.0 - 11.0)
    assert given - shared <= 60  # the goal: the share goes to the other within 60 s
    assert seen[-1] == (11.0, 29.0)
    assert drv.last.reason == ("capped", "fast")


def test_a_car_that_draws_at_its_cap_gets_its_room_back() -> None:
    drv = _two_cars()
    _run(drv, 100)
    assert drv.limits == [11.0, 29.0]
    seen = _run(drv, 60, on_board=32.0)  # the battery warmed up: it takes what it gets
    assert seen[-1] == (20.0, 20.0)
    assert drv.last is not None and drv.last.reason == ("fast", "fast")


def test_a_car_at_its_limit_is_never_capped() -> None:
    drv = _two_cars()
    for _ in range(600):
        d = drv.step(draw=[max(0.0, drv.limits[0] - 1.0), drv.limits[1]])  # reports lag by 1 A
    assert d.limits == (20.0, 20.0)


def test_a_car_that_stops_drawing_is_capped_at_the_minimum_and_resumes() -> None:
    drv = _two_cars()
    _run(drv, 40)
    seen = _run(drv, 60, on_board=0.0)  # suspended by the car (full, or its own timer)
    assert seen[-1] == (6.0, 32.0)  # the minimum: it is not paused, so it can resume at once
    seen = _run(drv, 60, on_board=32.0)  # it charges again and takes its cap
    assert seen[-1] == (20.0, 20.0)


def test_capped_after_the_ramp_up_delay_and_settle_time_from_its_last_limit_change() -> None:
    drv = _two_cars()
    _run(drv, 40, on_board=32.0)
    assert drv.limits == [20.0, 20.0]
    b = drv.b
    changed = drv.t
    for _ in range(60):
        before = drv.limits[0]
        drv.step(draw=[min(drv.limits[0], 5.0), drv.limits[1]])
        if drv.limits[0] != before:
            break
    waited = drv.t - changed
    assert b.config.ramp_up_delay + SETTLE_TIME <= waited <= b.config.ramp_up_delay + SETTLE_TIME + 1
    assert drv.limits[0] == 5.0 + CAP_HEADROOM == 6.0


def test_a_car_alone_is_not_capped() -> None:
    # Nobody would take the room: a cap would only cost a telegram.
    b = Balancer(config(evse(32.0), limit=40.0, margin=0.0, timing=True))
    lim = 0.0
    writes = 0
    for t in range(200):
        draw = min(lim, 10.0)
        d = b.update(float(t), MeterReading(draw, float(t)), [EvseReading(draw, True)])
        lim = d.limits[0]
        writes += len(d.writes)
    assert lim == 32.0 and writes == 1  # its limit with its Start, nothing more
