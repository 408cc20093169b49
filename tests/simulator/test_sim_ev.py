"""EV model: minimum current, charge curve with taper, suspension when full, ramp, energy and SoC."""

from __future__ import annotations

import pytest

from simulator.ev import MIN_PILOT_CURRENT, VOLTAGE, ElectricVehicle, EvSpec


def settle(ev: ElectricVehicle, offered: float, seconds: float = 30.0, phases: int = 3) -> float:
    for _ in range(int(seconds)):
        ev.step(offered, 1.0, phases)
    return ev.current


def test_follows_the_offer_up_to_its_maximum() -> None:
    ev = ElectricVehicle("car", EvSpec(max_current=16.0), soc=0.2)
    assert settle(ev, 10.0) == pytest.approx(10.0)
    assert settle(ev, 32.0) == pytest.approx(16.0)


@pytest.mark.parametrize("offered", [0.0, 3.0, 5.99])
def test_below_six_amps_it_does_not_charge(offered: float) -> None:
    ev = ElectricVehicle("car", soc=0.2)
    settle(ev, 16.0)
    assert settle(ev, offered) == 0.0
    assert MIN_PILOT_CURRENT == 6.0


def test_exactly_six_amps_charges() -> None:
    ev = ElectricVehicle("car", soc=0.2)
    assert settle(ev, 6.0) == pytest.approx(6.0)


def test_ramp_has_the_time_constant() -> None:
    ev = ElectricVehicle("car", EvSpec(response_time=2.0), soc=0.2)
    ev.step(16.0, 2.0)
    # one time constant: 63 % of the way
    assert ev.current == pytest.approx(16.0 * (1 - 2.718281828**-1), rel=1e-3)


def test_taper_above_80_percent() -> None:
    spec = EvSpec(max_current=32.0, end_current=2.0, taper_soc=0.8)
    assert ElectricVehicle("a", spec, soc=0.5).accepted_current() == 32.0
    assert ElectricVehicle("b", spec, soc=0.8).accepted_current() == 32.0
    assert ElectricVehicle("c", spec, soc=0.9).accepted_current() == pytest.approx(17.0)
    assert ElectricVehicle("d", spec, soc=0.99).accepted_current() == pytest.approx(3.5)


def test_suspends_when_full_and_resumes_for_a_higher_target() -> None:
    ev = ElectricVehicle("car", EvSpec(capacity_kwh=1.0, phases=1), soc=0.89, target_soc=0.9)
    for _ in range(600):
        ev.step(16.0, 1.0, 1)
    assert ev.suspended
    assert ev.soc >= 0.9
    assert ev.current == 0.0
    ev.set_target(1.0)
    assert not ev.suspended
    assert settle(ev, 16.0, phases=1) > 0.0


def test_energy_and_soc_integrate_power() -> None:
    spec = EvSpec(capacity_kwh=50.0, phases=3, efficiency=0.9, response_time=0.0)
    ev = ElectricVehicle("car", spec, soc=0.2)
    for _ in range(3600):
        ev.step(16.0, 1.0, 3)
    expected_wh = 16.0 * VOLTAGE * 3  # one hour
    assert ev.energy_wh == pytest.approx(expected_wh, rel=1e-3)
    assert ev.soc == pytest.approx(0.2 + expected_wh * 0.9 / 50_000, rel=1e-4)


def test_phases_are_capped_by_the_charger() -> None:
    ev = ElectricVehicle("car", EvSpec(phases=3, response_time=0.0), soc=0.2)
    ev.step(10.0, 1.0, charger_phases=1)
    assert ev.power(1) == pytest.approx(10.0 * VOLTAGE)
    assert ev.power(3) == pytest.approx(30.0 * VOLTAGE)


@pytest.mark.parametrize(
    "kwargs",
    [{"capacity_kwh": 0}, {"phases": 4}, {"max_current": 0}, {"taper_soc": 1.5}, {"end_current": 99}],
)
def test_spec_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        EvSpec(**kwargs)  # type: ignore[arg-type]


def test_soc_outside_range_is_rejected() -> None:
    with pytest.raises(ValueError):
        ElectricVehicle("car", soc=1.2)
