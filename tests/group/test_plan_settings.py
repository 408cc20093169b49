"""A member's plan settings (group/plan_settings.py) and the action's fields (group/plan_service.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from custom_components.knx_evse.group.plan_service import plan_changes
from custom_components.knx_evse.group.plan_settings import PRESETS, PlanSettings, days_of


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=dt_util.get_default_time_zone())  # type: ignore[misc]


async def test_a_one_off_plan_leaves_at_the_first_time_after_it_was_set(hass: HomeAssistant) -> None:
    set_at = local(2026, 9, 14, 22, 0)  # a Monday
    plan = PlanSettings(energy_kwh=20, departure=time(7, 0), enabled=True, since=set_at.timestamp())
    assert plan.next_departure(set_at + timedelta(hours=1)) == local(2026, 9, 15, 7, 0)
    assert plan.next_departure(local(2026, 9, 15, 7, 0)) is None  # it has left: the plan is over
    early = plan.with_(since=local(2026, 9, 15, 6, 0).timestamp())
    assert early.next_departure(local(2026, 9, 15, 6, 30)) == local(2026, 9, 15, 7, 0)


async def test_a_dated_plan_and_repeating_plans(hass: HomeAssistant) -> None:
    now = local(2026, 9, 18, 8, 0)  # a Friday, after 07:00
    dated = PlanSettings(departure=time(6, 30), day=date(2026, 9, 20), enabled=True)
    assert dated.next_departure(now) == local(2026, 9, 20, 6, 30)
    weekdays = PlanSettings(departure=time(7, 0), days=PRESETS["mon_fri"], enabled=True)
    assert weekdays.next_departure(now) == local(2026, 9, 21, 7, 0)  # not Saturday or Sunday
    assert weekdays.repeat == "mon_fri"
    custom = PlanSettings(departure=time(7, 0), days=days_of(["Wed", "friday"]))
    assert custom.repeat == "custom"
    assert custom.next_departure(now) == local(2026, 9, 23, 7, 0)
    assert custom.next_departure(local(2026, 9, 18, 6, 0)) == local(2026, 9, 18, 7, 0)
    assert custom.with_(departure=time(8, 0)).day is None  # a new time ends a date


async def test_settings_round_trip_and_bad_stored_data(hass: HomeAssistant) -> None:
    plan = PlanSettings(12.5, time(6, 15), frozenset({0, 2}), True, date(2026, 1, 2), 123.0)
    assert PlanSettings.from_dict(plan.as_dict()) == plan
    for bad in ({}, {"energy_kwh": "x", "departure": "07:00"}, {"energy_kwh": 500, "departure": "07:00"},
                {"energy_kwh": 5, "departure": "7 o'clock"}, {"energy_kwh": 5, "departure": "07:00", "days": [9]}):
        assert PlanSettings.from_dict(bad) is None
    with pytest.raises(ValueError, match="unknown"):
        days_of("sometimes")
    with pytest.raises(ValueError, match="unknown day"):
        days_of(["mon", "moonday"])


async def test_the_actions_fields_become_settings(hass: HomeAssistant) -> None:
    now = local(2026, 9, 14, 18, 0)
    assert plan_changes({"energy": "20", "departure": "07:00", "repeat": "mon_fri"}, now) == {
        "enabled": True, "energy_kwh": 20.0, "departure": time(7, 0), "day": None, "days": PRESETS["mon_fri"]}
    dated = plan_changes({"departure": "2026-09-16 06:45", "enabled": False}, now)
    assert dated == {"enabled": False, "departure": time(6, 45), "day": date(2026, 9, 16), "days": frozenset()}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"energy": -1}, "plan_energy_out_of_range"),
        ({"energy": 500}, "plan_energy_out_of_range"),
        ({"energy": "lots"}, "plan_energy_out_of_range"),
        ({"departure": "2026-09-14 17:00"}, "plan_in_past"),
        ({"departure": "2026-09-22 07:00"}, "plan_too_far"),
        ({"departure": "soon"}, "invalid_departure"),
        ({"departure": 7}, "invalid_departure"),
        ({"repeat": "sometimes"}, "invalid_repeat"),
        ({"repeat": ["mon", "funday"]}, "invalid_repeat"),
        ({"departure": "2026-09-15 07:00", "repeat": "daily"}, "plan_dated_repeat"),
    ],
)
async def test_bad_fields_are_refused_with_translated_errors(hass: HomeAssistant, data: dict[str, Any], key: str) -> None:
    with pytest.raises(ServiceValidationError) as err:
        plan_changes(data, local(2026, 9, 14, 18, 0))
    assert err.value.translation_key == key
