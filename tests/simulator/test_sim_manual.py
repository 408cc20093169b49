"""The simulated charger against the manual's own sentences (each test quotes its section)."""

from __future__ import annotations

from simhelpers import car, make_entry, run, started, write

from custom_components.knx_evse.knx.dpt import EvseErrorCode
from simulator.charger import ConnectorState

# --- unblocking -------------------------------------------------------------------------------


def test_unblocking_the_charger_starts_a_car_plugged_while_blocked() -> None:
    """Manual, "Advanced" → "Block object": "sending 0 unblocks it and allows charging again
    according to the remaining configured conditions" (auto-start is one of them)."""
    charger, _cap = started(make_entry("VE 742"))
    write(charger, 25, True)
    charger.plug_in(1, car("a"))
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.UNAVAILABLE
    write(charger, 25, False)
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.CHARGING
    assert charger.connector(1).current > 0


def test_unblocking_a_connector_starts_a_car_plugged_while_blocked() -> None:
    """Manual, object table, 73 "[Conn1] Block": "Allows to block (1) or unblock (0) the
    connector 1"; as for object 25, unblocking allows charging per the remaining conditions."""
    charger, _cap = started(make_entry("VE 742"))
    write(charger, 73, True)
    charger.plug_in(1, car("a"))
    write(charger, 73, False)
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.CHARGING


def test_without_auto_start_unblocking_leaves_the_car_waiting() -> None:
    """Manual, "Auto charging init after connect": off, a session needs a start (RFID or object 33)."""
    charger, _cap = started(make_entry("VE 742", auto_start=False))
    write(charger, 25, True)
    charger.plug_in(1, car("a"))
    write(charger, 25, False)
    run(charger, 3)
    assert charger.connector_state(charger.connector(1)) is ConnectorState.CONNECTED


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
