"""A meter whose sign is reversed (balancing/meter_sign.py; docs/balancing.md, "Reversed meter").

Evidence: the chargers' own current steps that the meter answers the opposite way, three in a row,
or more export on a phase than the fuse carries, in two readings in a row. A correct meter with a
noisy house, lags either way and thousands of steps is never flagged.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from custom_components.knx_evse.balancing import Balancer, EvseReading, MeterReading
from custom_components.knx_evse.balancing.meter_sign import MeterSign, phase_amperes

from .helpers import Driver, config, evse

# --------------------------------------------------------------------------- a meter and its chargers


def feed(ev: Sequence[float], house: Sequence[float], *, invert: bool = False, lag: int = 0,
         fuse: float | None = None, sign: MeterSign | None = None, start: int = 0) -> list[bool]:
    """Feed one reading a second from second ``start``: the verdict per second.

    ``ev``: the EVSEs' true total per second, ``house``: the other load (A, single phase, so
    phase-amperes). ``lag`` > 0: the meter shows the state ``lag`` seconds late; < 0: the EVSEs
    report theirs that late (the meter leads). ``sign``: go on with this detector.
    """
    sign = sign or MeterSign()
    verdicts = []
    for k in range(len(ev)):
        seen = max(0, k - max(lag, 0))
        true = house[seen] + ev[seen]
        meter = -true if invert else true
        reported = ev[max(0, k + min(lag, 0))]
        t = float(start + k)
        verdicts.append(sign.update(t, t, meter, reported, export=-meter, fuse=fuse))
    return verdicts


def levels(*amps: float, hold: int = 20) -> list[float]:
    """An EV total that holds each level ``hold`` seconds."""
    return [a for a in amps for _ in range(hold)]


def first(verdicts: list[bool]) -> int | None:
    """The second of the first reversed verdict, None when there is none."""
    return verdicts.index(True) if True in verdicts else None


# --------------------------------------------------------------------------- steps


@pytest.mark.parametrize("lag", [0, 1, -1])
def test_three_steps_against_the_meter_mark_it_reversed(lag: int) -> None:
    ev = levels(0, 16, 6, 16, 6)  # steps at 20, 40, 60 and 80 s
    house = [5.0] * len(ev)
    verdicts = feed(ev, house, invert=True, lag=lag)
    found = first(verdicts)
    assert found is not None and 60 < found <= 64, found  # the third step, judged 2-3 s after
    assert all(verdicts[found:])  # latched
    assert first(feed(ev, house, lag=lag)) is None  # the same steps on a correct meter


def test_a_step_the_meter_follows_resets_the_count() -> None:
    ev = levels(0, 16, 6, 16, 6, 16, 6)
    house = [5.0] * len(ev)
    sign = MeterSign()
    # Inverted for the first two steps, correct for the third, inverted again.
    verdicts = feed(ev[:50], house, invert=True, sign=sign)
    verdicts += feed(ev[50:70], house, sign=sign, start=50)
    verdicts += feed(ev[70:], house, invert=True, sign=sign, start=70)
    # Opposite steps at 20 and 40 s, agreeing at 60, opposite at 80, 100 and 120: reversed at 120.
    found = first(verdicts)
    assert found is not None and 120 < found <= 124, found


def test_a_step_the_meter_barely_shows_counts_neither_way() -> None:
    sign = MeterSign()
    ev = levels(0, 16, 6, 16, 6)
    house = [5.0] * len(ev)
    verdicts = feed(ev[:50], house, invert=True, sign=sign)
    # 50-70 s: the house falls by 7 A as the EV rises by 10 A at 60 s: the inverted meter moves
    # 3 A the opposite way, less than half the step, and that counts for nothing.
    verdicts += feed(ev[50:70], [5.0] * 10 + [-2.0] * 10, invert=True, sign=sign, start=50)
    assert first(verdicts) is None
    verdicts += feed(ev[70:], [-2.0] * len(ev), invert=True, sign=sign, start=70)
    found = first(verdicts)
    assert found is not None and 80 < found <= 84, found  # the two before still count


def test_only_steps_of_four_amperes_count() -> None:
    ev = levels(0, 3.5, 0, 3.5, 0, 3.5, 0, 3.5)
    assert first(feed(ev, [5.0] * len(ev), invert=True)) is None


def test_a_step_waits_for_a_meter_reading_after_it() -> None:
    sign = MeterSign()
    sign.update(0.0, 0.0, -5.0, 0.0)
    t = 0.0
    for ev in (10.0, 0.0, 10.0, 0.0, 10.0, 0.0):  # six steps, the meter never reports again
        for _ in range(20):
            t += 1.0
            assert sign.update(t, 0.0, -5.0 - ev, ev) is False


# --------------------------------------------------------------------------- the fuse


def test_export_beyond_the_fuse_in_two_readings_is_reversed() -> None:
    sign = MeterSign()
    assert sign.update(0.0, 0.0, -26.0, 0.0, export=26.0, fuse=25.0) is False  # one reading: a spike?
    assert sign.update(1.0, 1.0, -10.0, 0.0, export=10.0, fuse=25.0) is False
    assert sign.update(2.0, 2.0, -26.0, 0.0, export=26.0, fuse=25.0) is False
    assert sign.update(3.0, 2.0, -26.0, 0.0, export=26.0, fuse=25.0) is False  # the same reading again
    assert sign.update(4.0, 4.0, -25.0, 0.0, export=25.0, fuse=25.0) is False  # the fuse itself: possible
    assert sign.update(5.0, 5.0, -26.0, 0.0, export=26.0, fuse=25.0) is False
    assert sign.update(6.0, 6.0, -26.0, 0.0, export=26.0, fuse=25.0) is True


def test_a_power_limit_has_no_fuse_to_exceed() -> None:
    sign = MeterSign()
    assert not any(sign.update(float(t), float(t), -200.0, 0.0, export=200.0, fuse=None) for t in range(10))


@pytest.mark.parametrize(
    ("value", "unit", "phases", "expected"),
    [
        ((5.0, -26.0, 3.0), "A", 3, (-18.0, 26.0)),  # per phase: the most exporting phase
        ((-4.0,), "A", 1, (-4.0, 4.0)),
        (-10.0, "A", 3, (-30.0, 10.0)),  # one current: every phase's
        (-23000.0, "W", 1, (-100.0, 100.0)),
        (-23000.0, "W", 3, (-100.0, 100.0 / 3)),  # a total proves only its average per phase
    ],
)
def test_meter_values_in_phase_amperes(value: float | tuple[float, ...], unit: str, phases: int,
                                       expected: tuple[float, float]) -> None:
    assert phase_amperes(value, unit, phases, 230.0) == pytest.approx(expected)


# --------------------------------------------------------------------------- a noisy house


def day(seed: int, seconds: int) -> tuple[list[float], list[float]]:
    """A house and its chargers: (EV total, house load) per second.

    The house drifts around a base load, with appliances (a kettle, an oven, a heat pump) that run
    for seconds to minutes, motor starts of 1-2 s and measurement noise. The EV total changes every
    10-120 s to a new level (a start, a stop, a new limit, a second car), ramping at 2 A/s in
    0.5 A reports, or moves by a few tenths (a car's own wobble).
    """
    rng = random.Random(seed)
    base, running, house = 3.0, [], []
    for t in range(seconds):
        base = min(10.0, max(0.3, base + rng.gauss(0.0, 0.05)))
        if rng.random() < 1 / 120:
            running.append((t + rng.choice([1, 2, rng.randint(5, 600)]), rng.choice([2.0, 4.0, 9.0, 15.0, 20.0])))
        running = [(end, amps) for end, amps in running if end > t]
        house.append(base + sum(amps for _, amps in running) + rng.gauss(0.0, 0.3))
    ev, level, target, change = [], 0.0, 0.0, 0
    for t in range(seconds):
        if t >= change:
            target = rng.choice([0.0, 6.0, 10.0, 16.0, 20.0, 26.0, 32.0, level + rng.uniform(-3, 3)])
            target = max(0.0, target)
            change = t + rng.randint(10, 120)
        if abs(target - level) >= 0.5:
            level += max(-2.0, min(2.0, target - level))
            level = round(level * 2) / 2
        ev.append(level + rng.gauss(0.0, 0.2))
    return ev, house


@pytest.mark.parametrize("lag", [0, 1, -1])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_correct_meter_in_a_noisy_house_is_never_reversed(seed: int, lag: int) -> None:
    ev, house = day(seed, 6 * 3600)
    assert first(feed(ev, house, lag=lag, fuse=25.0)) is None
    # The same day on an inverted meter is caught within minutes: the day's steps are conclusive.
    found = first(feed(ev, house, invert=True, lag=lag))
    assert found is not None and found < 600, found


# --------------------------------------------------------------------------- the balancer


def inverted(drv: Driver, house: float, draw: float) -> MeterReading:
    """The meter of ``drv`` with its sign reversed: import shown as export."""
    return MeterReading(-(house + draw), drv.t + 1.0)


def test_inverted_meter_on_a_25_a_fuse_falls_back_instead_of_giving_32_a() -> None:
    # Before: the inverted meter made the house look like export and the car got 32 A on 25 A.
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0, timing=True, ramp_up_delay=2.0))
    draws, states = [], []
    for _ in range(20):
        draw = drv.limits[0]
        d = drv.step(draw=[draw], meter=inverted(drv, 5.0, draw))
        draws.append(draw)
        states.append(d.meter_state)
    # The start at 30 A overloads the fuse for two readings (shown as 35 A of export); then it pauses.
    assert [k for k, draw in enumerate(draws) if 5.0 + draw > 25.0] == [3, 4], draws
    assert states.index("reversed") == 4 and states[-1] == "reversed"
    assert d.fallback and d.limits == (0.0,) and d.reason == ("fallback_meter_reversed",)


def test_inverted_meter_on_a_big_fuse_is_caught_by_the_cars_steps() -> None:
    # 63 A: even 32 A + the house shows as less export than the fuse carries. The car's own steps
    # (it draws less than its limit as it fills) give it away.
    drv = Driver(config(evse(32.0), limit=63.0, timing=True, ramp_up_delay=2.0))
    wants = levels(32.0, 16.0, 32.0, 10.0, 32.0, hold=30)
    states = []
    for car in wants:
        draw = min(drv.limits[0], car)
        d = drv.step(draw=[draw], meter=inverted(drv, 5.0, draw))
        states.append(d.meter_state)
    found = states.index("reversed")
    # the start (~3 s), 32 → 16 A at 30 s, 16 → 32 A at 60 s; at 16 A the car is capped near its
    # draw, so the last step waits for the cap to lift and a ramp-up delay
    assert 60 < found <= 60 + 2 + 4, found
    assert drv.limits == [0.0] and d.reason == ("fallback_meter_reversed",)


def test_a_fixed_fallback_clears_after_three_agreeing_steps() -> None:
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0, fallback=10.0))
    for _ in range(10):  # 26 A of house load shown as export: beyond the fuse
        draw = drv.limits[0]
        d = drv.step(draw=[draw], meter=MeterReading(-(26.0 + draw), drv.t + 1.0))
    assert d.meter_state == "reversed" and d.limits == (10.0,)  # the fixed fallback current
    # The meter's sign is fixed upstream; the car, on its fixed 10 A, pauses and resumes itself.
    states = []
    for car in levels(10.0, 0.0, 10.0, 0.0):  # steps at 20, 40 and 60 s
        draw = min(car, drv.limits[0])
        states.append(drv.step(draw=[draw], meter=MeterReading(5.0 + draw, drv.t + 1.0)).meter_state)
    found = states.index("ok")
    assert 60 < found <= 64, states
    assert set(states[found:]) == {"ok"}


def test_meter_and_chargers_in_one_round_feed_the_detector_once() -> None:
    # A round without a new meter reading (a charger's report) moves no count on its own.
    drv = Driver(config(evse(32.0), limit=25.0, margin=0.0))
    reading = MeterReading(-30.0, drv.t + 1.0)
    for _ in range(5):
        d = drv.b.update(drv.t + 1.0, reading, [EvseReading(0.0, True)])
        drv.t += 1.0
    assert d.meter_state == "ok"  # one reading beyond the fuse, seen five times


def test_the_verdict_survives_reconfigure_but_not_a_new_balancer() -> None:
    cfg = config(evse(32.0), limit=25.0, margin=0.0)
    drv = Driver(cfg)
    for _ in range(2):
        d = drv.step(draw=[0.0], meter=MeterReading(-30.0, drv.t + 1.0))
    assert d.meter_state == "reversed"
    drv.b.reconfigure(config(evse(16.0), limit=25.0, margin=0.0))  # the sign is not in the config
    assert drv.step(draw=[0.0], meter=MeterReading(5.0, drv.t + 1.0)).meter_state == "reversed"
    drv.b = Balancer(cfg)  # what the group does when it is reconfigured: it reloads
    assert drv.step(draw=[0.0], meter=MeterReading(5.0, drv.t + 1.0)).meter_state == "ok"
