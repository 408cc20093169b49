"""A paused EVSE that draws anyway: its draw is other load, and its Stop is sent again.

Source: the soak benchmark. The manual's "Auto charging init after connect" (object 26)
starts a session when a vehicle is plugged in, whatever Stop was written before; the simulated
charger did so and a car drew 29 A for an hour on an EVSE the balancer believed paused, while its
draw was subtracted from the meter as "EVSE current" and the room it took was handed out again.
"""

from __future__ import annotations

from custom_components.knx_evse.balancing.balancer import SETTLE_TIME

from .helpers import Driver, config, evse


def _two() -> Driver:
    # 63 A, 10 %: 56.7 A. EVSE1 fast (32 A max), EVSE2 off (paused by the user).
    drv = Driver(config(evse(32.0), evse(32.0, mode="off"), limit=63.0))
    drv.run(30, house=20.0)
    assert drv.limits == [32.0, 0.0]
    return drv


def test_a_paused_evse_drawing_is_other_load_and_gets_its_stop_again() -> None:
    drv = _two()
    d = drv.step(house=20.0, draw=[32.0, 29.0])  # EVSE2's car starts on its own at 29 A
    assert 1 in d.writes and d.limits[1] == 0.0  # the Stop, again
    # 56.7 - 20 (house) - 29 (EVSE2's draw, now other load) = 7.7 A left for EVSE1
    assert d.limits[0] == 7.0
    assert d.available is not None and abs(d.available - 7.7) < 1e-6
    d = drv.step(house=20.0, draw=[d.limits[0], 29.0])
    assert 1 not in d.writes  # not every round
    for _ in range(int(SETTLE_TIME) - 2):
        d = drv.step(house=20.0, draw=[d.limits[0], 29.0])
        assert 1 not in d.writes
    d = drv.step(house=20.0, draw=[d.limits[0], 29.0])
    assert 1 in d.writes  # once per SETTLE_TIME while it keeps drawing
    d = drv.step(house=20.0, draw=[d.limits[0], 0.0])  # it obeyed
    assert 1 not in d.writes
    assert d.limits[0] == 32.0  # the room is EVSE1's again


def test_a_car_slowing_down_after_its_stop_is_still_evse_current() -> None:
    # Paused just now (mode off): within SETTLE_TIME its current is the car following the
    # Stop; it is not counted as load and not written again.
    drv = Driver(config(evse(32.0), evse(32.0), limit=63.0))
    drv.run(30, house=10.0)
    assert drv.limits == [23.0, 23.0]
    drv.b.set_mode(1, "off")
    d = drv.step(house=10.0, draw=[23.0, 23.0])
    assert d.limits == (32.0, 0.0)  # EVSE2's 23 A counts as its own, about to stop
    for _ in range(int(SETTLE_TIME) - 1):
        d = drv.step(house=10.0, draw=[32.0, 5.0])
        assert 1 not in d.writes
        assert d.limits[0] == 32.0
