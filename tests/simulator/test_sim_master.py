"""The chargers' built-in balancing master (objects 130-212), alone and with three chargers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from simhelpers import Capture
from xknx import XKNX

from custom_components.knx_evse.knx.parameters import ChargerParameters
from simulator.charger import ConnectorState, KnxHost, SimulatedCharger
from simulator.ev import ElectricVehicle, EvSpec
from simulator.house import meter_reading
from simulator.installation import parse_installation
from simulator.master import BuiltinMaster, allocate, balancing_budget, evse_object, water_fill
from simulator.runner import SimulatedMeter

MANUAL_EXAMPLE = {
    "load_balancing": True,
    "balancing_current_control": True,
    "balancing_protection_device": 63,
    "balancing_margin": 10,
    "balancing_evse_count": 2,
    "balancing_evse_max": [32, 32],
    "balancing_period": 10,
    "balancing_after_init": "on",
}


def test_budget_is_the_manuals_example() -> None:
    assert balancing_budget(ChargerParameters.from_dict(MANUAL_EXAMPLE)) == pytest.approx(56.7)
    power = ChargerParameters.from_dict(
        {**MANUAL_EXAMPLE, "balancing_current_control": False, "balancing_contracted_power": 9200, "balancing_evse_max": [7360] * 2}
    )
    assert balancing_budget(power) == pytest.approx(8280.0)


def test_evse_object_numbers() -> None:
    assert [evse_object(135, n) for n in range(1, 7)] == [135, 150, 165, 180, 195, 210]
    with pytest.raises(ValueError):
        evse_object(135, 7)


def test_water_fill_shares_what_capped_consumers_leave() -> None:
    assert water_fill(30.0, [32, 32]) == [15.0, 15.0]
    assert water_fill(30.0, [10, 32]) == [10.0, 20.0]
    assert water_fill(100.0, [10, 20]) == [10.0, 20.0]
    assert water_fill(-5.0, [10, 20]) == [0.0, 0.0]


def test_idle_evses_take_no_share() -> None:
    """Manual, "Dynamic Load Balancing": the master "distributes this power among the electric
    vehicle chargers (EVSE) that are in operation". One car on EVSE2, EVSE1 idle."""
    alloc = allocate(46.7, [32.0, 32.0], 6.0, [False, True])
    assert alloc.limits[1] == 32.0  # not 23.35: the idle EVSE1 holds no share
    assert alloc.running == (True, True)  # the idle EVSE may start a car...
    assert alloc.limits[0] == pytest.approx(14.7)  # ...on what is left
    alloc = allocate(10.7, [32.0, 32.0], 6.0, [False, True])
    assert alloc.running[1] and alloc.limits[1] == pytest.approx(10.7)  # not paused for idle EVSE1
    assert alloc.limits[0] == 6.0  # the minimum, so that a car there can start and be counted
    assert allocate(4.0, [32.0, 32.0], 6.0, [False, False]).running == (False, False)


def test_the_manuals_example_with_priorities_in_operation() -> None:
    """Manual, "Load reserve margin": "with a 63 A protection device and a 10% margin, the system
    will reserve 6.3 A and calculate balancing on a maximum of 56.7 A"; "Dynamic balancing between
    multiple units": "the balancing system will sequentially disconnect chargers starting with
    EVSE6 (least priority), then EVSE5, EVSE4, etc., until the available power divided among all
    stations is sufficient". Three EVSEs in operation, EVSE4 idle."""
    out = Outputs()
    params = ChargerParameters.from_dict(
        {**MANUAL_EXAMPLE, "balancing_evse_count": 4, "balancing_evse_max": [32, 32, 32, 32]}
    )
    master = BuiltinMaster(params, out)
    for n in (1, 2, 3):
        master.on_write(evse_object(133, n), 10.0)
    master.on_write(130, 30.0 + 24.7)  # household 24.7 A → 56.7 - 24.7 = 32 A for three: 10.67 A
    master.step(10.0)
    assert out.values(135)[-1] == pytest.approx(10.67)
    assert out.values(180)[-1] == pytest.approx(6.0)  # idle EVSE4: the minimum, no share
    master.on_write(130, 30.0 + 40.7)  # 16 A left: EVSE3 paused (not idle EVSE4 first)
    master.step(10.0)
    assert [out.values(evse_object(137, n))[-1] for n in (1, 2, 3, 4)] == [True, True, False, True]
    assert out.values(135)[-1] == out.values(150)[-1] == 8.0
    master.on_write(evse_object(133, 3), 0.0)  # paused EVSE3 draws nothing: it still waits
    master.on_write(130, 20.0 + 40.7)
    master.step(10.0)
    assert out.values(165)[-1] == 0.0 and master.in_operation() == [True, True, True, False]
    master.on_write(130, 20.0 + 10.0)  # room again: EVSE3 restarts with its share
    master.step(10.0)
    assert out.values(167)[-1] is True
    assert out.values(165)[-1] == pytest.approx((56.7 - 10.0) / 3, abs=0.01)


def test_allocate_pauses_lowest_priority_first() -> None:
    three = [32.0, 32.0, 32.0]
    assert allocate(30.0, three, 6.0).running == (True, True, True)
    alloc = allocate(17.0, three, 6.0)  # 17 < 3 x 6: EVSE3 paused
    assert alloc.running == (True, True, False)
    assert alloc.limits == pytest.approx((8.5, 8.5, 0.0))
    assert allocate(11.0, three, 6.0).running == (True, False, False)
    assert allocate(5.0, three, 6.0).running == (False, False, False)
    assert sum(allocate(40.0, three, 6.0).limits) == pytest.approx(40.0)


class Outputs:
    def __init__(self) -> None:
        self.sent: list[tuple[int, Any]] = []

    def __call__(self, number: int, value: Any) -> None:
        self.sent.append((number, value))

    def values(self, number: int) -> list[Any]:
        return [v for n, v in self.sent if n == number]


def test_master_acts_only_once_per_transmission_period() -> None:
    out = Outputs()
    master = BuiltinMaster(ChargerParameters.from_dict(MANUAL_EXAMPLE), out)
    assert master.enabled  # "Balancing after initializing KNX Bus: On"
    master.step(20.0)
    assert out.sent == []  # no measured value yet
    master.on_write(130, 40.0)  # grid current, the EVSEs included
    master.on_write(133, 10.0)
    master.on_write(148, 10.0)
    master.step(9.0)
    assert out.sent == []
    master.step(1.0)
    # household = 40 - 20 = 20 A; available = 56.7 - 20 = 36.7 A; 18.35 A each
    assert out.values(135) == [18.35]
    assert out.values(150) == [18.35]
    assert out.values(137) == [True]
    assert out.values(152) == [True]
    master.on_write(130, 80.0)  # a big load appears...
    master.step(5.0)
    assert out.values(135) == [18.35]  # ...and the master notices only at its next period
    master.step(5.0)
    # household 60 A: nothing left (-3.3 A), both paused
    assert out.values(135)[-1] == 0.0
    assert out.values(137)[-1] is False
    assert master.value_of(150) == 0.0
    assert master.value_of(152) is False


def test_switching_off_releases_the_evses() -> None:
    out = Outputs()
    master = BuiltinMaster(ChargerParameters.from_dict(MANUAL_EXAMPLE), out)
    master.on_write(130, 70.0)
    master.step(10.0)
    assert out.values(135)[-1] == 0.0
    master.on_write(132, False)
    assert out.values(135)[-1] == 32.0
    assert out.values(137)[-1] is True
    count = len(out.sent)
    master.step(30.0)
    assert len(out.sent) == count  # off: no more rounds


def test_balancing_after_init_off_and_last() -> None:
    off = BuiltinMaster(
        ChargerParameters.from_dict({**MANUAL_EXAMPLE, "balancing_after_init": "off"}), Outputs()
    )
    assert not off.enabled
    last = BuiltinMaster(
        ChargerParameters.from_dict({**MANUAL_EXAMPLE, "balancing_after_init": "last"}), Outputs()
    )
    assert not last.enabled
    last.on_write(132, True)
    last.init()
    assert last.enabled


def test_power_control_uses_watts() -> None:
    params = ChargerParameters.from_dict(
        {
            **MANUAL_EXAMPLE,
            "balancing_current_control": False,
            "balancing_contracted_power": 10000,
            "balancing_evse_max": [7400, 3000],
        }
    )
    out = Outputs()
    master = BuiltinMaster(params, out)
    master.on_write(131, 4000.0)
    master.on_write(134, 1000.0)  # both EVSEs in operation
    master.on_write(149, 1000.0)
    master.step(10.0)
    # 9000 W budget - 2000 W household: EVSE2 capped at 3000 W, EVSE1 gets the rest up to 7400 W
    assert out.values(136) == [4000.0]
    assert out.values(151) == [3000.0]
    assert out.values(135) == []


def test_period_zero_sends_on_change_only() -> None:
    out = Outputs()
    master = BuiltinMaster(ChargerParameters.from_dict({**MANUAL_EXAMPLE, "balancing_period": 0}), out)
    master.on_write(133, 10.0)  # both EVSEs in operation
    master.on_write(148, 10.0)
    master.on_write(130, 40.0)
    master.step(0.5)
    master.step(0.5)
    assert out.values(135) == [18.35]
    master.on_write(130, 42.0)
    master.step(0.5)
    assert out.values(135) == [18.35, 17.35]


def test_master_without_balancing_is_refused() -> None:
    with pytest.raises(ValueError):
        BuiltinMaster(ChargerParameters.from_dict({}), Outputs())


# --- three chargers on one host, linked as in the manual's worked example ----------------------

INSTALLATION = {
    "house": {"kwp": 0, "phases": 1},
    "meter": {"group_addresses": {"current": "0/1/1", "power": "0/1/2"}},
    "chargers": [
        {
            "name": f"EVSE{n}",
            "model": "VE 741",
            "parameters": {
                "delay_at_start": 0,
                "auto_start": True,
                "limit_by_power": False,
                "initial_limit": 32,
                "conn1_initial_power_limit": 7400,
                **(
                    {
                        **MANUAL_EXAMPLE,
                        "balancing_evse_count": 3,
                        "balancing_evse_max": [32, 32, 32],
                        "balancing_protection_device": 40,
                    }
                    if n == 1
                    else {}
                ),
            },
        }
        for n in (1, 2, 3)
    ],
    "builtin_balancing": {"master": "EVSE1", "evses": ["EVSE1", "EVSE2", "EVSE3"]},
}


def test_master_balances_three_chargers_over_the_shared_host() -> None:
    installation = parse_installation(INSTALLATION)
    host = KnxHost(XKNX())  # never started: only the local delivery between devices is used
    wire = Capture()
    chargers = [SimulatedCharger(entry) for entry in installation.chargers]
    for charger in chargers:
        host.add(charger)
    meter = SimulatedMeter(installation.meter)
    host.add(meter)
    host.add(_Tap(wire))
    for charger in chargers:
        charger.start()
        charger.plug_in(1, ElectricVehicle(charger.name, EvSpec(phases=1, max_current=32.0), soc=0.2))

    def run(seconds: int, house_a: float) -> None:
        for _ in range(seconds):
            draw = sum(c.phase_currents()[0] for c in chargers)
            meter.update(
                meter_reading(datetime(2025, 1, 8, 18), house_a * 230, 0.0, (draw, 0.0, 0.0), phases=1)
            )
            for charger in chargers:
                charger.step(1.0)

    run(12, house_a=6.0)
    master = chargers[0].master
    assert master is not None
    assert master.rounds == 1
    # budget 40 A - 10 % = 36 A, household 6 A → 30 A for three EVSEs: 10 A each
    assert [c.current_limit for c in chargers] == pytest.approx([10.0, 10.0, 10.0])
    run(15, house_a=20.0)
    # household 20 A → about 16 A left: EVSE3 (lowest priority) paused, EVSE1 and EVSE2 share.
    # The EVSE readings the master uses are sent on change above 1 A, so the split is not exact.
    limits = [c.current_limit for c in chargers]
    assert limits[0] == limits[1] == pytest.approx(8.0, abs=1.0)
    assert limits[2] == 0.0
    assert chargers[2].paused
    assert chargers[2].connector_state(chargers[2].connector(1)) is ConnectorState.SUSPENDED_EVSE
    assert chargers[2].connector(1).current < 0.5  # ramping down with the EV's time constant
    assert chargers[0].connector(1).current == pytest.approx(limits[0], abs=0.1)
    # the limits travelled as telegrams on the slaves' object 1 addresses ("k/0/1")
    assert [wire.on(f"{k}/0/1", 1)[-1] for k in (1, 2, 3)] == pytest.approx(limits)
    assert wire.on("3/0/18", 18)[-1] is False  # 137 → EVSE3's "Pause / Restart any charging"


class _Tap:
    """A device on the host that only records what the others send."""

    def __init__(self, capture: Capture) -> None:
        self.capture = capture

    def set_send(self, send: Any) -> None:
        pass

    def handle_telegram(self, telegram: Any) -> None:
        self.capture(telegram)
