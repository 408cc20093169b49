"""The simulated charger against the manual's own sentences (each test quotes its section)."""

from __future__ import annotations

import pytest
from simhelpers import car, make_entry, run, started, write
from test_sim_runner import FlatHouse

from custom_components.knx_evse.charger.commands import ChargerCommands
from custom_components.knx_evse.charger.reset import reset_values
from custom_components.knx_evse.knx.dpt import EvseErrorCode
from simulator.charger import ConnectorState
from simulator.installation import InstallationError, parse_installation
from simulator.runner import Simulation

# --- unblocking -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "auto_start", "after"),
    [
        (25, True, ConnectorState.CHARGING),
        (73, True, ConnectorState.CHARGING),
        (25, False, ConnectorState.CONNECTED),
    ],
)
def test_unblocking_starts_a_car_plugged_while_blocked(block: int, auto_start: bool, after: ConnectorState) -> None:
    """Manual, "Advanced" → "Block object": "sending 0 unblocks it and allows charging again
    according to the remaining configured conditions"; object table, 73 "[Conn1] Block": "Allows
    to block (1) or unblock (0) the connector 1". Auto-start ("Auto charging init after connect")
    is one of the conditions: without it the car waits for a start (RFID or object 33)."""
    charger, _cap = started(make_entry("VE 742", auto_start=auto_start))
    write(charger, block, True)
    charger.plug_in(1, car("a"))
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.UNAVAILABLE
    write(charger, block, False)
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is after


def test_a_cleared_error_starts_a_car_plugged_during_it() -> None:
    """Manual, "Block object": charging resumes "according to the remaining configured conditions";
    an error that clears (object 19 back to 7, no error) removes the last one."""
    charger, _cap = started(make_entry())
    charger.inject_error(EvseErrorCode.HIGH_TEMPERATURE)
    charger.plug_in(1, car())
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.FAULTED
    charger.clear_error()
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.CHARGING


# --- reset ------------------------------------------------------------------------------------


def test_reset_returns_every_write_only_object_to_its_parameter() -> None:
    """Manual, "Advanced" → "EVSE Reset object": a 1 on object 5 "restarts the charger and restores
    its internal operating states, session values and active errors. It does not delete the ETS
    parameterization or the authorized RFIDTags." The integration assumes the same values
    (custom_components/knx_evse/charger/reset.py)."""
    entry = make_entry("VE 742", auto_start=True, auto_disconnect=False, max_session_time=90)
    charger, _cap = started(entry)
    for number, value in {6: 600, 7: True, 18: False, 25: True, 26: False, 54: True, 73: True, 122: True}.items():
        write(charger, number, value)
    write(charger, 5, True)
    expected = reset_values(charger.params)
    state = {
        6: charger.max_session_seconds,
        7: charger.auto_disconnect,
        18: not charger.paused,
        25: charger.blocked,
        26: charger.auto_start,
        54: charger.connector(1).charging_time_enabled[0],
        73: charger.connector(1).blocked,
        122: charger.connector(2).blocked,
    }
    assert state == {n: expected[n] for n in state}
    assert state[6] == 5400 and state[7] is False and state[26] is True


# --- object 2 with "Phase connection: different" ------------------------------------------------


def test_object_2_is_the_chargers_total_on_different_phases() -> None:
    """Manual, object table, 2 "[EVSE] Active Power limit", "Total Watts": "the upper active power
    limit of the charge point"; "Dynamic balancing in models with two connectors", special case:
    on two phases "allowing the charger to supply up to 7.4 kW to each connector simultaneously".
    So object 2 bounds both connectors together, up to 2 x 7,360 W, and status 4 confirms it."""
    charger, cap = started(make_entry("VE 742", phase_connection="different"))
    charger.plug_in(1, car("a"))
    charger.plug_in(2, car("b"))
    write(charger, 2, 3680.0)
    run(charger, 5)
    assert cap.last(4) == 3680.0
    drawn = sum(charger.connector_power(c) for c in charger.connectors)
    assert drawn <= 3680.0 + 1e-6
    assert charger.connector(1).current == charger.connector(2).current == 8.0
    write(charger, 2, 14720.0)
    run(charger, 5)
    assert cap.last(4) == 14720.0  # what the coordinator may write (charger/commands.py max_power)
    assert charger.phase_currents() == (32.0, 32.0, 0.0)  # 7.4 kW on each connector
    commands = ChargerCommands.__new__(ChargerCommands)
    commands.params = charger.params
    assert commands.max_power(None) == charger.max_power == 14720.0


def test_object_2_alone_on_different_phases_goes_to_the_one_car() -> None:
    """Manual, "Dynamic balancing in models with two connectors": "If only one vehicle is connected
    ... the charger will supply the maximum configured power"."""
    charger, _cap = started(make_entry("VE 742", phase_connection="different"))
    charger.plug_in(2, car("b"))
    write(charger, 2, 3680.0)
    run(charger, 5)
    assert charger.connector(2).current == 16.0


# --- the clamp models' own balancing ----------------------------------------------------------

WASHING_MACHINE_W = 2000.0
CLAMP_QUOTE = (
    "the charger will detect that only approximately 2.4 kW are available and will automatically "
    "reduce the charging power to avoid exceeding the contracted limit"
)


def test_the_clamp_leaves_the_car_what_the_house_does_not_use() -> None:
    """Manual, "Dynamic Load Balancing": "in an installation with a contracted power of 4.4 kW, if
    during the charging process an appliance with a consumption of up to 2 kW is connected (...),
    the charger will detect that only approximately 2.4 kW are available and will automatically
    reduce the charging power to avoid exceeding the contracted limit"."""
    charger, _cap = started(make_entry(contracted_power=4400), clamp=True)
    charger.plug_in(1, car())
    for _ in range(20):
        charger.clamp_reading(charger.connector_power(charger.connector(1)))  # nothing else on
        charger.step(1.0)
    assert charger.connector_power(charger.connector(1)) == pytest.approx(4400.0, rel=0.01)
    for _ in range(20):
        charger.clamp_reading(WASHING_MACHINE_W + charger.connector_power(charger.connector(1)))
        charger.step(1.0)
    assert charger.connector_power(charger.connector(1)) == pytest.approx(2400.0, rel=0.01), CLAMP_QUOTE


def test_without_a_clamp_contracted_power_is_a_fixed_cap() -> None:
    """Manual, "Contracted Power": "the charger can account for the maximum power it can provide";
    without a clamp the charger sees nothing of the house."""
    charger, _cap = started(make_entry(contracted_power=4400))
    charger.plug_in(1, car())
    charger.clamp_reading(WASHING_MACHINE_W + 4400.0)
    run(charger, 20)
    assert charger.connector_power(charger.connector(1)) == pytest.approx(4400.0, rel=0.01)


def test_the_simulation_feeds_the_clamp_from_the_house() -> None:
    """The installation file's ``simulation: {clamp: true}`` and the house's load (runner)."""
    data = {
        "start": "2025-06-19T12:00:00",
        "house": {"kwp": 0, "phases": 1},
        "chargers": [
            {
                "name": "A",
                "model": "VE 741",
                "parameters": {"auto_start": True, "contracted_power": 4400, "conn1_initial_power_limit": 7400},
                "simulation": {"clamp": True},
            }
        ],
        "evs": [
            {"name": "car", "charger": "A", "max_current": 32, "arrive": "11:00", "depart": "23:00", "jitter_minutes": 0}
        ],
    }
    sim = Simulation(parse_installation(data), house=FlatHouse(load_w=0.0))
    sim.step(30)
    charger = sim.chargers["A"]
    assert charger.connector_power(charger.connector(1)) == pytest.approx(4400.0, rel=0.01)
    sim.extra_load_w = WASHING_MACHINE_W
    sim.step(30)
    assert charger.connector_power(charger.connector(1)) == pytest.approx(2400.0, rel=0.01), CLAMP_QUOTE
    with pytest.raises(InstallationError):
        parse_installation({**data, "chargers": [{**data["chargers"][0], "simulation": {"clamp": "yes"}}]})
