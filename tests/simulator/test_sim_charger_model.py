"""The simulated charger's model (simulator/charger/model.py), driven by telegrams to a fake send (no bus)."""

from __future__ import annotations

from datetime import datetime, time

import pytest
from simhelpers import car, make_entry, read, run, started, write

from custom_components.knx_evse.knx.dpt import ControlPilotState, EvseErrorCode, OcppState
from simulator.charger import ChargingWindow, ConnectorState

# --- limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "status", "value"), [(1, 3, 20.0), (31, 61, 16.0), (80, 110, 10.0)])
def test_current_limits_report_their_status(command: int, status: int, value: float) -> None:
    charger, cap = started(make_entry("VE 742"))
    write(charger, command, value)
    assert cap.writes(status) == [value]
    assert read(charger, cap, status) == value


@pytest.mark.parametrize(("command", "status"), [(2, 4), (32, 63), (81, 112)])
def test_power_limits_report_their_status(command: int, status: int) -> None:
    charger, cap = started(make_entry("VE 742"))
    write(charger, command, 2300.0)
    assert cap.writes(status) == [2300.0]


def test_status_answers_every_command_even_unchanged() -> None:
    charger, cap = started(make_entry())
    write(charger, 31, 16.0)
    write(charger, 31, 16.0)
    assert cap.writes(61) == [16.0, 16.0]
    assert cap.writes(63) == []  # an unrelated status stays quiet


def test_limits_are_clamped_to_the_model() -> None:
    charger, cap = started(make_entry(max_user_current=16, initial_limit=16))
    write(charger, 31, 40.0)
    write(charger, 2, 99999.0)
    assert cap.last(61) == 16.0
    assert cap.last(4) == 16 * 230.0


def test_current_limit_reaches_the_car() -> None:
    charger, _cap = started(make_entry())
    charger.plug_in(1, car())
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(32.0)
    write(charger, 31, 10.0)
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(10.0)
    write(charger, 2, 1840.0)  # 8 A on one phase
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(8.0)


def test_a_charger_that_ignores_its_limit_offers_its_maximum_but_obeys_stop() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car())
    write(charger, 31, 10.0)
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(10.0)
    charger.ignores_limit = True
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(32.0)
    assert cap.last(61) == 10.0  # it reports the limit it was given
    write(charger, 33, False)  # Stop still stops it
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(0.0)
    charger.ignores_limit = False
    write(charger, 33, True)
    run(charger, 5)
    assert charger.connector(1).current == pytest.approx(10.0)


def test_limit_below_six_amps_suspends_charging() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car())
    run(charger, 3)
    write(charger, 31, 4.0)
    run(charger, 3)
    conn = charger.connector(1)
    assert conn.current == 0.0
    assert charger.connector_state(conn) is ConnectorState.SUSPENDED_EVSE
    assert cap.last(35) is OcppState.SUSPENDED_EVSE
    assert cap.last(34) is ControlPilotState.SUSPENDED_EV_SE
    assert cap.last(40) is True


# --- 50/50 split ------------------------------------------------------------------------------


def test_two_cars_split_50_50_without_transfer() -> None:
    charger, _cap = started(make_entry("VE 742"))
    charger.plug_in(1, car("a"))
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(32.0)
    charger.plug_in(2, car("b", max_current=10.0))
    run(charger, 3)
    # 16 A each; car b only takes 10 A and its unused 6 A do not go to car a
    assert charger.connector(1).current == pytest.approx(16.0)
    assert charger.connector(2).current == pytest.approx(10.0)
    charger.unplug(2, force=True)
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(32.0)


def test_split_respects_each_connectors_own_limit() -> None:
    charger, _cap = started(make_entry("VE 742"))
    charger.plug_in(1, car("a"))
    charger.plug_in(2, car("b"))
    write(charger, 80, 8.0)
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(16.0)
    assert charger.connector(2).current == pytest.approx(8.0)


def test_different_phases_do_not_split() -> None:
    charger, _cap = started(make_entry("VE 742", phase_connection="different"))
    charger.plug_in(1, car("a"))
    charger.plug_in(2, car("b"))
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(32.0)
    assert charger.connector(2).current == pytest.approx(32.0)
    assert charger.phase_currents() == pytest.approx((32.0, 32.0, 0.0))


# --- three-phase ------------------------------------------------------------------------------


def test_three_phase_reports_l1_l3() -> None:
    charger, cap = started(make_entry("VE 222", max_user_current=16, initial_limit=16))
    charger.plug_in(1, car("three", phases=3))
    charger.plug_in(2, car("one", phases=1))
    run(charger, 3)
    assert read(charger, cap, 49) == 8.0  # 16 A shared 50/50
    assert read(charger, cap, 50) == 8.0
    assert read(charger, cap, 51) == 8.0
    assert read(charger, cap, 98) == 8.0
    assert read(charger, cap, 99) == 0.0
    assert read(charger, cap, 15) == 16.0
    assert read(charger, cap, 16) == 8.0
    assert read(charger, cap, 47) == pytest.approx(8.0 * 230 * 3)
    assert read(charger, cap, 13) == pytest.approx(8.0 * 230 * 4)
    assert charger.phase_currents() == pytest.approx((16.0, 8.0, 8.0))


def test_three_phase_power_limit_uses_the_cars_phases() -> None:
    charger, _cap = started(make_entry("VE 221", limit_by_power=True, initial_limit=6900))
    charger.plug_in(1, car(phases=3))
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(10.0)  # 6900 W / (230 V x 3)


# --- sessions ---------------------------------------------------------------------------------


def test_session_time_and_energy() -> None:
    charger, cap = started(make_entry(energy_sending="change", energy_change=100))
    charger.plug_in(1, car())
    run(charger, 3600)
    conn = charger.connector(1)
    assert conn.session_time == pytest.approx(3600.0)
    assert conn.session_energy == pytest.approx(32 * 230.0, rel=1e-3)
    assert read(charger, cap, 45) == 3600
    assert read(charger, cap, 46) == pytest.approx(32 * 230.0, abs=2)  # the first second ramps up
    energies = cap.writes(46)
    assert all(b - a > 100 for a, b in zip([0, *energies], energies, strict=False))
    assert len(energies) == pytest.approx(32 * 230 / 101, abs=2)


def test_session_values_stay_after_unplug_until_the_next_session() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car())
    run(charger, 60)
    charger.end_session(1)
    assert charger.unplug(1)
    energy = read(charger, cap, 46)
    assert energy > 0
    run(charger, 60)
    assert read(charger, cap, 46) == energy
    charger.plug_in(1, car("next"))
    assert read(charger, cap, 46) == 0


def test_without_auto_start_the_car_waits_for_a_start_command() -> None:
    charger, cap = started(make_entry(auto_start=False))
    charger.plug_in(1, car())
    run(charger, 3)
    conn = charger.connector(1)
    assert charger.connector_state(conn) is ConnectorState.CONNECTED
    assert cap.last(34) is ControlPilotState.VEHICLE_DETECTED
    assert cap.last(35) is OcppState.EV_CONNECTED
    assert conn.current == 0.0
    write(charger, 33, True)
    run(charger, 3)
    assert conn.current == pytest.approx(32.0)
    assert cap.last(37) is True


def test_auto_start_object_overrides_the_parameter() -> None:
    charger, _cap = started(make_entry(auto_start=False))
    write(charger, 26, True)
    charger.plug_in(1, car())
    assert charger.connector(1).session_active
    write(charger, 26, False)
    charger.unplug(1, force=True)
    charger.plug_in(1, car())
    assert not charger.connector(1).session_active


def test_stop_and_start_charging() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car())
    run(charger, 3)
    write(charger, 33, False)
    run(charger, 3)
    assert charger.connector(1).current == 0.0
    assert cap.last(37) is False
    assert cap.last(40) is True
    write(charger, 33, True)
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(32.0)
    assert cap.last(37) is True


def test_pause_restart_any_charging_acts_on_both_connectors() -> None:
    charger, _cap = started(make_entry("VE 742"))
    charger.plug_in(1, car("a"))
    charger.plug_in(2, car("b"))
    write(charger, 18, False)
    run(charger, 3)
    assert [c.current for c in charger.connectors] == [0.0, 0.0]
    write(charger, 18, True)
    run(charger, 3)
    assert [c.current for c in charger.connectors] == pytest.approx([16.0, 16.0])


def test_ev_full_is_suspended_by_ev() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car(soc=0.999, capacity_kwh=10.0))
    run(charger, 120)
    conn = charger.connector(1)
    assert charger.connector_state(conn) is ConnectorState.SUSPENDED_EV
    assert cap.last(39) is True
    assert cap.last(34) is ControlPilotState.SUSPENDED_EV
    assert cap.last(35) is OcppState.SUSPENDED_EV


def test_maximum_session_time_finishes_and_auto_disconnect_unlocks() -> None:
    charger, cap = started(make_entry(max_session_time=1))  # minutes
    charger.plug_in(1, car())
    conn = charger.connector(1)
    assert conn.locked
    assert not charger.unplug(1)
    run(charger, 59)
    assert conn.current > 0
    run(charger, 2)
    assert conn.current == 0.0
    assert charger.connector_state(conn) is ConnectorState.FINISHED
    assert cap.last(41) is True
    assert cap.last(34) is ControlPilotState.FINISHED
    assert not conn.locked
    assert charger.unplug(1)


def test_maximum_session_object_in_seconds() -> None:
    charger, _cap = started(make_entry())
    write(charger, 6, 30)
    charger.plug_in(1, car())
    run(charger, 31)
    assert charger.connector(1).finished


def test_without_auto_disconnect_the_connector_stays_locked_until_unlock() -> None:
    charger, _cap = started(make_entry(auto_disconnect=False))
    charger.plug_in(1, car())
    run(charger, 10)
    charger.end_session(1)
    assert not charger.unplug(1)
    write(charger, 65, True)
    assert charger.unplug(1)


def test_auto_disconnect_object_overrides_the_parameter() -> None:
    charger, _cap = started(make_entry(auto_disconnect=True))
    write(charger, 7, False)
    charger.plug_in(1, car())
    charger.end_session(1)
    assert charger.connector(1).locked


def test_unlock_ends_a_running_session() -> None:
    charger, _cap = started(make_entry("VE 742", auto_disconnect=False))
    charger.plug_in(2, car())
    run(charger, 5)
    write(charger, 114, True)
    conn = charger.connector(2)
    assert conn.finished
    assert not conn.locked


# --- RFID -------------------------------------------------------------------------------------


def test_rfid_add_start_and_erase() -> None:
    charger, cap = started(make_entry(auto_start=False))
    write(charger, 8, "CARD-42")
    assert charger.rfid_tags == {"CARD-42"}
    charger.plug_in(1, car(), rfid="CARD-42")
    assert charger.connector(1).session_active
    assert cap.last(67) == "CARD-42"
    charger.unplug(1, force=True)
    write(charger, 9, True)
    assert charger.rfid_tags == set()
    charger.plug_in(1, car(), rfid="CARD-42")
    assert not charger.connector(1).session_active


def test_unknown_tag_does_not_start() -> None:
    charger, _cap = started(make_entry(auto_start=False))
    write(charger, 8, "GOOD")
    charger.plug_in(1, car())
    assert not charger.present_rfid(1, "BAD")
    assert charger.present_rfid(1, "GOOD")
    assert charger.connector(1).rfid_tag == "GOOD"


# --- block ------------------------------------------------------------------------------------


def test_charger_block_prevents_new_sessions_only() -> None:
    charger, cap = started(make_entry("VE 742"))
    charger.plug_in(1, car("a"))
    write(charger, 25, True)
    run(charger, 3)
    assert charger.connector(1).current > 0  # running session continues
    assert cap.last(87) is False
    assert cap.last(92) is True  # idle connector 2 unavailable
    charger.plug_in(2, car("b"))
    assert not charger.connector(2).session_active
    write(charger, 25, False)
    assert charger.connector(2).session_active  # auto-start: unblocking starts the waiting car


def test_connector_block_suspends_that_connector() -> None:
    charger, cap = started(make_entry("VE 742"))
    charger.plug_in(1, car("a"))
    charger.plug_in(2, car("b"))
    write(charger, 122, True)
    run(charger, 3)
    assert charger.connector(2).current == 0.0
    assert charger.connector(1).current == pytest.approx(16.0)
    assert cap.last(89) is True
    write(charger, 122, False)
    run(charger, 3)
    assert charger.connector(2).current == pytest.approx(16.0)


# --- charging-time enables --------------------------------------------------------------------


def test_enabled_charging_window_restricts_charging() -> None:
    windows = [ChargingWindow(time(22, 0), time(6, 0))]
    charger, _cap = started(make_entry(), charging_times=windows)
    charger.plug_in(1, car())
    charger.step(1.0, datetime(2025, 6, 19, 12, 0))
    assert charger.connector(1).current > 0  # window defined but not enabled
    write(charger, 54, True)
    charger.step(1.0, datetime(2025, 6, 19, 12, 0, 1))
    assert charger.connector(1).current == 0.0
    charger.step(1.0, datetime(2025, 6, 19, 23, 0))
    assert charger.connector(1).current > 0
    write(charger, 54, False)
    charger.step(1.0, datetime(2025, 6, 20, 12, 0))
    assert charger.connector(1).current > 0


# --- errors and reset -------------------------------------------------------------------------


def test_error_code_stops_charging_and_reports_fault() -> None:
    charger, cap = started(make_entry())
    charger.plug_in(1, car())
    run(charger, 3)
    charger.inject_error(EvseErrorCode.HIGH_TEMPERATURE)
    run(charger, 3)
    assert charger.connector(1).current == 0.0
    assert cap.last(19) is EvseErrorCode.HIGH_TEMPERATURE
    assert cap.last(44) is True
    assert cap.last(34) is ControlPilotState.ERROR
    assert cap.last(35) is OcppState.FAULTED
    assert read(charger, cap, 19) is EvseErrorCode.HIGH_TEMPERATURE


def test_communication_error_flag() -> None:
    charger, cap = started(make_entry())
    charger.set_communication_error(True)
    assert cap.last(20) is True
    charger.set_communication_error(False)
    assert cap.writes(20) == [True, False]


def test_reset_keeps_parameters_and_rfid_tags() -> None:
    charger, cap = started(make_entry(conn1_send_status_at_init=True))
    write(charger, 8, "KEEP-ME")
    write(charger, 31, 10.0)
    write(charger, 26, False)
    charger.plug_in(1, car())
    run(charger, 60)
    charger.inject_error(EvseErrorCode.GROUND_FAILURE)
    cap.clear()
    write(charger, 5, True)
    assert charger.rfid_tags == {"KEEP-ME"}
    assert charger.error_code is EvseErrorCode.NO_ERROR
    assert charger.connector(1).current_limit == 32.0
    assert charger.auto_start  # back to the parameter
    assert charger.connector(1).session_energy == 0.0
    assert read(charger, cap, 61) == 32.0
    # status at init was sent again
    assert cap.writes(35) == [OcppState.CHARGING]
    # statuses the reset changed are sent once the charger is up again
    assert cap.writes(19) == [EvseErrorCode.NO_ERROR]
    assert cap.writes(61) == [32.0]


def test_reset_zero_does_nothing() -> None:
    charger, _cap = started(make_entry())
    write(charger, 31, 10.0)
    write(charger, 5, False)
    assert charger.connector(1).current_limit == 10.0


# --- fail-safe --------------------------------------------------------------------------------


def test_fail_safe_after_timeout_and_left_on_a_command() -> None:
    entry = make_entry(fail_safe=True, fail_safe_timeout=60, fail_safe_current=8, fail_safe_objects=True)
    charger, cap = started(entry)
    charger.plug_in(1, car())
    write(charger, 1, 20.0)
    run(charger, 59)
    assert not charger.fail_safe_active
    assert charger.connector(1).current == pytest.approx(20.0)
    run(charger, 1)
    assert charger.fail_safe_active
    assert cap.last(10) is True
    assert cap.last(3) == 8.0
    assert cap.last(62) == 8.0
    assert cap.last(64) == pytest.approx(8 * 230.0)
    assert read(charger, cap, 11) == 8.0
    assert read(charger, cap, 12) == pytest.approx(8 * 230.0)
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(8.0)
    write(charger, 33, True)  # any command leaves fail-safe
    assert not charger.fail_safe_active
    assert cap.last(10) is False
    assert cap.last(3) == 20.0
    assert cap.last(62) == 0.0
    run(charger, 3)
    assert charger.connector(1).current == pytest.approx(20.0)


def test_commands_keep_fail_safe_away() -> None:
    charger, _cap = started(make_entry(fail_safe=True, fail_safe_timeout=30, fail_safe_objects=True))
    for _ in range(5):
        run(charger, 25)
        write(charger, 31, 16.0)
    assert not charger.fail_safe_active
