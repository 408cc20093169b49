"""Runtime API: set_mode, set_override, reconfigure, argument errors (the charge-mode
select and the set_current_limit one-shot override that "still respects the breaker").
"""

from __future__ import annotations

import dataclasses

import pytest

from custom_components.knx_evse.balancing import Balancer, EvseReading, MeterReading

from .helpers import Driver, config, evse


def test_set_mode_changes_behaviour_and_config() -> None:
    drv = Driver(config(evse(), limit=100.0))
    drv.run(2)
    drv.b.set_mode(0, "off")
    assert drv.b.config.evses[0].mode == "off"
    d = drv.step()
    assert (d.limits, d.reason) == ((0.0,), ("off",))
    drv.b.set_mode(0, "solar")
    d = drv.step(house=-12.0)
    assert (d.limits, d.reason) == ((12.0,), ("solar",))


def test_set_mode_rejects_unknown_mode_and_index() -> None:
    b = Balancer(config(evse()))
    with pytest.raises(ValueError, match="mode"):
        b.set_mode(0, "turbo")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        b.set_mode(1, "fast")
    with pytest.raises(IndexError):
        b.set_override(-1, 10.0)
    with pytest.raises(IndexError):
        b.force_write(5)


def test_override_sets_the_limit_within_the_breaker_budget() -> None:
    drv = Driver(config(evse(), evse(), limit=63.0, margin=10.0))
    drv.run(3)
    assert drv.limits == [28.0, 28.0]
    drv.b.set_override(0, 10.0)
    d = drv.step()
    assert d.limits == (10.0, 32.0)
    assert d.reason == ("override", "fast")
    drv.b.set_override(0, 40.0)  # above the EVSE maximum → its maximum, still shared
    assert drv.step().limits == (28.0, 28.0)
    d = drv.step(house=40.0)  # 16.7 A left: the override does not beat the breaker
    assert sum(d.limits) <= 16.7


def test_override_works_in_solar_mode_and_zero_pauses() -> None:
    drv = Driver(config(evse(mode="solar"), limit=63.0))
    d = drv.run(2)
    assert d.limits == (0.0,)
    drv.b.set_override(0, 16.0)
    assert drv.run(2).limits == (16.0,)
    drv.b.set_override(0, 0)
    d = drv.step()
    assert (d.limits, d.reason) == ((0.0,), ("off",))
    drv.b.set_override(0, None)
    assert drv.run(2).limits == (0.0,)


@pytest.mark.parametrize("amps", [-1.0, 3.0, 5.99, float("nan"), float("inf")])
def test_override_rejects_values_that_are_not_a_valid_limit(amps: float) -> None:
    with pytest.raises(ValueError, match="override"):
        Balancer(config(evse())).set_override(0, amps)


def test_override_ends_when_the_vehicle_disconnects_or_mode_changes() -> None:
    drv = Driver(config(evse(), limit=100.0))
    drv.b.set_override(0, 10.0)
    assert drv.run(2).limits == (10.0,)
    drv.connected = [False]
    drv.step()
    drv.connected = [True]
    assert drv.run(2).limits == (32.0,)
    drv.b.set_override(0, 10.0)
    assert drv.step().limits == (10.0,)
    drv.b.set_mode(0, "fast")
    assert drv.run(2).limits == (32.0,)


def test_update_rejects_wrong_number_of_readings() -> None:
    b = Balancer(config(evse(), evse()))
    with pytest.raises(ValueError, match="expected 2 EVSE readings"):
        b.update(0.0, MeterReading(0.0, 0.0), [EvseReading(0.0, True)])


def test_reconfigure_keeps_state_for_the_same_evses() -> None:
    drv = Driver(config(evse(), limit=100.0, margin=0.0))
    drv.run(2)
    new = dataclasses.replace(drv.cfg, limit=20.0)
    drv.b.reconfigure(new)
    d = drv.step()
    assert d.limits == (20.0,)
    assert d.switches == ()  # still running: no Start/Stop
    bigger = dataclasses.replace(new, evses=(*new.evses, evse()))
    drv.b.reconfigure(bigger)
    drv.cfg = bigger
    drv.limits.append(0.0)
    drv.connected.append(True)
    d = drv.step()
    assert d.writes == (0, 1)  # new state: everything is written again


def test_empty_group() -> None:
    d = Balancer(config()).update(0.0, MeterReading(10.0, 0.0), [])
    assert d.limits == ()
    assert d.available == pytest.approx(46.7)
