"""LifetimeEnergy: session-energy readings (objects 46/95) → a never-decreasing lifetime total."""

from __future__ import annotations

import math

import pytest

from custom_components.knx_evse.charger.energy import DROPOUT_WINDOW_S, MAX_SESSION_WH, LifetimeEnergy


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
