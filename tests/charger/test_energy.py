"""Lifetime energy (charger/energy.py): the accumulator, and the sensor built on it (from session energy 46/95, restored, never decreasing)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data

from custom_components.knx_evse.charger.energy import DROPOUT_WINDOW_S, MAX_SESSION_WH, LifetimeEnergy
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, entity_id, ga, hub_entry

CONN1 = "sensor.garage_connector_1_lifetime_energy"


def feed(energy: LifetimeEnergy, readings: list[float], start: float = 0.0, step: float = 10.0) -> list[float]:
    """Feed readings ``step`` seconds apart; return the total after each one."""
    totals = []
    for i, wh in enumerate(readings):
        energy.session_energy(wh, start + i * step)
        totals.append(energy.total_wh)
    return totals


def test_first_reading_counts_and_growth_adds_the_difference() -> None:
    energy = LifetimeEnergy()
    assert feed(energy, [100, 250, 250, 400]) == [100, 250, 250, 400]
    assert energy.last_session_wh == 400


def test_session_reset_adds_the_finished_session_once() -> None:
    energy = LifetimeEnergy()
    totals = feed(energy, [0, 500, 895, 0, 120, 300])
    # 895 counted while it grew; the reset to 0 adds nothing; the new session adds 120 then 180.
    assert totals == [0, 500, 895, 895, 1015, 1195]


def test_dropout_within_one_session_is_not_counted_twice() -> None:
    energy = LifetimeEnergy()
    totals = feed(energy, [800, 895, 0, 897])
    assert totals == [800, 895, 895, 897]


def test_a_small_step_back_is_jitter_not_a_new_session() -> None:
    # Without session time linked: 5000 -> 4999 -> 5000 Wh is one session of 5000 Wh, not two.
    energy = LifetimeEnergy()
    assert feed(energy, [4000, 5000, 4999, 5000, 5100]) == [4000, 5000, 5000, 5000, 5100]
    assert not energy.drop_pending
    # The band is max(50 Wh, 1 %): 1 % of 20000 Wh is 200 Wh.
    energy = LifetimeEnergy()
    assert feed(energy, [20000, 19810, 20050]) == [20000, 20000, 20050]


def test_a_larger_step_back_or_one_with_new_session_evidence_is_still_a_new_session() -> None:
    energy = LifetimeEnergy()
    assert feed(energy, [5000, 4900, 5000]) == [5000, 5000, 10000]  # 100 Wh > 50 Wh: a new session
    energy = LifetimeEnergy()
    energy.session_energy(5000, 0.0)
    energy.vehicle_connected(False, 1.0)
    energy.vehicle_connected(True, 2.0)
    energy.session_energy(4990, 3.0)  # small, but the car was plugged in again: a new session
    energy.session_energy(5000, 4.0)
    assert energy.total_wh == 10000


def test_repeated_dropout_value_keeps_waiting() -> None:
    energy = LifetimeEnergy()
    totals = feed(energy, [895, 0, 0, 897])
    assert totals == [895, 895, 895, 897]
    assert not energy.drop_pending


def test_total_never_decreases_during_a_drop() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0)
    energy.session_energy(0, 10)
    assert energy.total_wh == 895
    assert energy.drop_pending


def test_late_recovery_without_other_signals_is_a_new_session() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0)
    energy.session_energy(0, 10)
    energy.session_energy(1000, 10 + DROPOUT_WINDOW_S + 1)
    assert energy.total_wh == 895 + 1000


def test_session_time_that_kept_running_marks_a_late_recovery_as_dropout() -> None:
    energy = LifetimeEnergy()
    energy.session_time(3600, 0)
    energy.session_energy(895, 0)
    energy.session_energy(0, 10)
    energy.session_time(3600 + 900, 900)
    energy.session_energy(1000, 10 + DROPOUT_WINDOW_S + 600)
    assert energy.total_wh == 1000


def test_session_time_restart_marks_a_quick_recovery_as_new_session() -> None:
    energy = LifetimeEnergy()
    energy.session_time(3600, 0)
    energy.session_energy(895, 0)
    energy.session_time(0, 5)
    energy.session_energy(0, 6)
    energy.session_time(30, 35)
    energy.session_energy(900, 36)
    assert energy.total_wh == 895 + 900


def test_session_time_and_energy_dropping_out_together_is_a_dropout() -> None:
    energy = LifetimeEnergy()
    energy.session_time(3600, 0)
    energy.session_energy(895, 0)
    energy.session_time(0, 5)
    energy.session_energy(0, 5)
    energy.session_time(3630, 30)
    energy.session_energy(897, 30)
    assert energy.total_wh == 897


def test_session_time_restart_without_seen_reset_counts_whole_new_session() -> None:
    energy = LifetimeEnergy()
    energy.session_time(3600, 0)
    energy.session_energy(895, 0)
    energy.session_time(60, 100)
    energy.session_energy(1200, 100)
    assert energy.total_wh == 895 + 1200


def test_unplug_makes_a_recovery_a_new_session() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0)
    energy.vehicle_connected(False, 5)
    energy.session_energy(0, 6)
    energy.vehicle_connected(True, 7)
    energy.session_energy(900, 8)
    assert energy.total_wh == 895 + 900


def test_unplug_with_held_value_does_not_recount_it() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0)
    energy.vehicle_connected(False, 5)
    energy.session_energy(895, 60)  # cyclic sending repeats the finished session
    assert energy.total_wh == 895
    energy.session_energy(0, 120)
    energy.session_energy(100, 180)
    assert energy.total_wh == 995


def test_continuous_charging_marks_a_late_recovery_as_dropout() -> None:
    energy = LifetimeEnergy()
    energy.charging(True, 0)
    energy.session_energy(895, 0)
    energy.session_energy(0, 10)
    energy.session_energy(1000, 10 + DROPOUT_WINDOW_S + 1)
    assert energy.total_wh == 1000


def test_charging_pause_removes_continuity_evidence() -> None:
    energy = LifetimeEnergy()
    energy.charging(True, 0)
    energy.session_energy(895, 0)
    energy.charging(False, 5)
    energy.charging(True, 6)
    energy.session_energy(0, 10)
    energy.session_energy(1000, 10 + DROPOUT_WINDOW_S + 1)
    assert energy.total_wh == 895 + 1000


@pytest.mark.parametrize("bad", [-1, math.nan, math.inf, MAX_SESSION_WH + 1])
def test_invalid_readings_are_ignored(bad: float) -> None:
    energy = LifetimeEnergy()
    energy.session_energy(500, 0)
    assert energy.session_energy(bad, 1) is False
    assert energy.total_wh == 500
    assert energy.last_session_wh == 500
    assert not energy.drop_pending


def test_restore_round_trip_keeps_counting_without_double_count() -> None:
    energy = LifetimeEnergy()
    feed(energy, [0, 895, 0, 400])
    stored = energy.as_dict()
    restored = LifetimeEnergy.from_dict(stored)
    assert restored.total_wh == 895 + 400
    assert restored.last_session_wh == 400
    restored.session_energy(400, 0)  # the value re-read after a restart
    assert restored.total_wh == 1295
    restored.session_energy(450, 10)
    assert restored.total_wh == 1345


def test_restore_after_restart_during_dropout() -> None:
    energy = LifetimeEnergy()
    feed(energy, [895, 0])
    restored = LifetimeEnergy.from_dict(energy.as_dict())
    restored.session_energy(897, 0)
    assert restored.total_wh == 897


@pytest.mark.parametrize(
    "data",
    [{}, {"total_wh": -5}, {"total_wh": "x"}, {"total_wh": 1.0, "last_session_wh": math.nan},
     {"total_wh": 1.0, "session_time_at_last": -1}],
)
def test_restore_rejects_invalid_data(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LifetimeEnergy.from_dict(data)


def test_one_reading_session_between_two_sessions_is_counted() -> None:
    # Session B is seen once (300 Wh, held as a drop below 895); C's first reading 100 is below it,
    # so B ended unseen: both count.
    energy = LifetimeEnergy()
    assert feed(energy, [800, 895, 300, 100, 150]) == [800, 895, 895, 1295, 1345]


def test_a_reading_after_the_unplug_ends_the_held_session() -> None:
    # B (300 Wh) is held below A's 895; the car leaves and B's last reading (400) follows the
    # unplug: it is B's end, not a new session.
    energy = LifetimeEnergy()
    feed(energy, [895, 300])
    energy.vehicle_connected(False, 25.0)
    energy.session_energy(400, 30.0)
    assert energy.total_wh == 895 + 400


def test_unplug_and_plug_in_after_the_held_reading_count_it_as_its_own_session() -> None:
    energy = LifetimeEnergy()
    feed(energy, [895, 300])
    energy.vehicle_connected(False, 25.0)
    energy.vehicle_connected(True, 26.0)
    energy.session_energy(400, 30.0)  # C, above B's 300 but below A's 895
    assert energy.total_wh == 895 + 300 + 400


def test_unplug_before_the_held_reading_is_the_same_session() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0.0)
    energy.vehicle_connected(False, 5.0)
    energy.vehicle_connected(True, 6.0)
    energy.session_energy(300, 10.0)  # B starts
    energy.session_energy(400, 20.0)  # B goes on
    assert energy.total_wh == 895 + 400
    energy.session_energy(1000, 30.0)  # B passes A's last reading
    assert energy.total_wh == 895 + 1000


def test_a_non_zero_drop_then_a_reading_above_the_old_one_is_a_new_session() -> None:
    energy = LifetimeEnergy()
    feed(energy, [895, 300])
    energy.vehicle_connected(False, 25.0)
    energy.session_energy(1000, 30.0)  # B's end, after the unplug, above A's 895
    assert energy.total_wh == 895 + 1000


def test_a_dropout_to_zero_then_the_unplug_and_the_last_reading() -> None:
    energy = LifetimeEnergy()
    feed(energy, [800, 895, 0])
    energy.vehicle_connected(False, 35.0)
    energy.session_energy(897, 40.0)
    assert energy.total_wh == 897


def test_the_last_reading_after_the_unplug_is_not_a_new_session() -> None:
    # The soak's order (Garage connector 2): 95 = 27, 85 = False, 94 = 181 (not restarted), 95 = 50.
    energy = LifetimeEnergy()
    energy.session_time(120, 0.0)
    energy.session_energy(27, 0.0)
    energy.vehicle_connected(False, 1.0)
    energy.session_time(181, 1.0)
    energy.session_energy(50, 1.0)
    assert energy.total_wh == 50
    # The next car: plugged in, its session starts again from 0.
    energy.vehicle_connected(True, 100.0)
    energy.session_time(0, 100.0)
    energy.session_energy(5, 110.0)
    assert energy.total_wh == 50 and energy.drop_pending  # below the last: held until the next
    energy.session_energy(60, 120.0)  # above the old 50, a new session: counted from its start
    assert energy.total_wh == 110


def test_unplug_and_plug_in_without_a_seen_reset_is_a_new_session() -> None:
    energy = LifetimeEnergy()
    energy.session_energy(895, 0.0)
    energy.vehicle_connected(False, 5.0)
    energy.vehicle_connected(True, 6.0)
    energy.session_energy(1200, 100.0)
    assert energy.total_wh == 895 + 1200


def test_session_time_restart_after_the_held_reading_ends_its_session() -> None:
    energy = LifetimeEnergy()
    energy.session_time(3600, 0.0)
    energy.session_energy(895, 0.0)
    energy.session_energy(300, 10.0)  # B
    energy.session_time(100, 10.0)  # B, 100 s into it (a time seen before the drop is A's)
    energy.session_time(50, 20.0)  # C started
    energy.session_energy(400, 20.0)
    assert energy.total_wh == 895 + 300 + 400


def test_restart_with_a_held_reading_loses_nothing() -> None:
    energy = LifetimeEnergy()
    feed(energy, [895, 300])
    stored = energy.as_dict()
    assert stored["pending_drop_wh"] == 300
    restored = LifetimeEnergy.from_dict(stored)
    assert restored.drop_pending
    restored.session_energy(100, 0.0)  # C after a restart: B's 300 still counts
    assert restored.total_wh == 895 + 300 + 100
    # A held dropout restored and recovered: its age is unknown, treated as a dropout.
    dropout = LifetimeEnergy()
    feed(dropout, [895, 0])
    again = LifetimeEnergy.from_dict(dropout.as_dict())
    again.session_energy(897, 0.0)
    assert again.total_wh == 897


def test_older_stored_data_without_drop_keys_restores() -> None:
    restored = LifetimeEnergy.from_dict({"version": 1, "total_wh": 10.0, "last_session_wh": 5.0})
    assert restored.total_wh == 10.0
    assert not restored.drop_pending


@pytest.mark.parametrize(
    "data",
    [
        {"total_wh": 1.0, "last_session_wh": 5.0, "pending_drop_wh": 5.0},
        {"total_wh": 1.0, "last_session_wh": 5.0, "pending_drop_wh": -1.0},
        {"total_wh": 1.0, "pending_drop_wh": 1.0},
        {"total_wh": 1.0, "last_session_wh": 5.0, "pending_drop_wh": 1.0, "pending_drop_session_time": -3},
    ],
)
def test_restore_rejects_an_invalid_held_drop(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="pending drop"):
        LifetimeEnergy.from_dict(data)


# -- the lifetime-energy sensor -------------------------------------------------------------------



def wh(value: int) -> tuple[int, ...]:
    """DPT 13.010 payload (4-byte signed big-endian Wh)."""
    return tuple(value.to_bytes(4, "big", signed=True))


async def _state(hass: HomeAssistant) -> str:
    state = hass.states.get(CONN1)
    assert state is not None
    return state.state


async def test_dropout_and_session_reset(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert entity_id(hass, "sensor", "CHG1_conn1_lifetime_energy") == CONN1
    state = hass.states.get(CONN1)
    assert state is not None and state.state == STATE_UNKNOWN
    assert state.attributes[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert state.attributes[ATTR_STATE_CLASS] == SensorStateClass.TOTAL_INCREASING
    assert state.attributes[ATTR_UNIT_OF_MEASUREMENT] == "kWh"
    steps = [(800, "0.8"), (895, "0.895"), (0, "0.895"), (897, "0.897"), (0, "0.897"), (120, "1.017")]
    for value, expected in steps:
        await knx.receive_write(ga(46), wh(value))
        assert float(await _state(hass)) == float(expected), value
    # connector 2 counts on its own
    await knx.receive_write(ga(95), wh(500))
    conn2 = hass.states.get(entity_id(hass, "sensor", "CHG1_conn2_lifetime_energy"))
    assert conn2 is not None and float(conn2.state) == 0.5
    assert float(await _state(hass)) == 1.017


async def test_unplug_between_sessions_counts_new_session(hass: HomeAssistant, knx: KnxTestKit) -> None:
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(46), wh(895))
    await knx.receive_write(ga(36), 0)  # vehicle unplugged
    await knx.receive_write(ga(46), wh(0))
    await knx.receive_write(ga(36), 1)
    await knx.receive_write(ga(46), wh(900))  # first report of the new session already above 895
    assert float(await _state(hass)) == 1.795


async def test_restore_continues_without_double_count(hass: HomeAssistant, knx: KnxTestKit) -> None:
    stored: dict[str, Any] = {
        "native_value": 10000.0,
        "native_unit_of_measurement": "Wh",
        "lifetime": {"version": 1, "total_wh": 10000.0, "last_session_wh": 895.0, "session_time_at_last": None},
    }
    mock_restore_cache_with_extra_data(hass, [(State(CONN1, "10.0"), stored)])
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert float(await _state(hass)) == 10.0
    await knx.receive_response(ga(46), wh(895))  # answer to the start-up read
    assert float(await _state(hass)) == 10.0
    await knx.receive_write(ga(46), wh(897))
    assert float(await _state(hass)) == 10.002
    # what will be stored at shutdown
    platform = hass.data["entity_components"]["sensor"]
    entity = platform.get_entity(CONN1)
    data = entity.extra_restore_state_data.as_dict()
    assert data["lifetime"]["total_wh"] == 10002.0
    assert data["lifetime"]["last_session_wh"] == 897.0
    assert entry.runtime_data.chargers["CHG1"].value(46) == 897


async def test_restore_from_plain_sensor_data(hass: HomeAssistant, knx: KnxTestKit) -> None:
    mock_restore_cache_with_extra_data(
        hass, [(State(CONN1, "2.0"), {"native_value": 2000.0, "native_unit_of_measurement": "Wh"})]
    )
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert float(await _state(hass)) == 2.0
    await knx.receive_write(ga(46), wh(300))  # unknown session baseline: the reading counts
    assert float(await _state(hass)) == 2.3


async def test_invalid_stored_data_starts_fresh(hass: HomeAssistant, knx: KnxTestKit) -> None:
    stored = {"native_value": 5.0, "native_unit_of_measurement": "Wh", "lifetime": {"total_wh": -3}}
    mock_restore_cache_with_extra_data(hass, [(State(CONN1, "0.005"), stored)])
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert await _state(hass) == STATE_UNKNOWN
    await knx.receive_write(ga(46), wh(100))
    assert float(await _state(hass)) == 0.1


def test_a_session_that_began_just_before_a_restart_is_counted_once() -> None:
    """Home Assistant saw the new session's 0 Wh (a drop, held), then restarted; the start-up read
    gives 2 Wh and the session time arrives after it: the restored session time is the old
    session's, so the first new one must not look like yet another session (2 Wh counted twice)."""
    energy = LifetimeEnergy(total_wh=1011, last_session_wh=1011, session_time_at_last=3000)
    energy.session_energy(0, 0)
    energy = LifetimeEnergy.from_dict(energy.as_dict())  # the restart
    energy.session_energy(2, 10)
    energy.session_time(60, 11)
    energy.session_energy(18, 70)
    assert energy.total_wh == 1011 + 18


def test_a_plug_in_before_a_restart_still_marks_the_new_session() -> None:
    """Unplugged, plugged in again, then Home Assistant restarted before the new session's first
    reading: the plug-in is still new-session evidence (the new session's 1 Wh is below the last
    session's 7 Wh, its time already above that session's time at its last reading)."""
    energy = LifetimeEnergy()
    energy.session_time(62, 0)
    energy.session_energy(7, 0)
    energy.vehicle_connected(False, 1)
    energy.vehicle_connected(True, 2)
    energy = LifetimeEnergy.from_dict(energy.as_dict())  # the restart
    energy.vehicle_connected(True, 3)
    energy.session_time(90, 4)
    energy.session_energy(1, 5)
    energy.session_time(150, 6)
    energy.session_energy(19, 7)
    assert energy.total_wh == 7 + 19
