"""The fields of the action ``knx_evse.set_plan``, checked into plan-setting changes with translated errors.

- ``energy``: kWh, 0 to ``MAX_PLAN_KWH`` (``plan_energy_out_of_range``);
- ``departure``: a time of day (``HH:MM[:SS]``: the next such time, or on the repeat's days), or a
  date and time for a one-off plan (``plan_in_past`` when it has passed, ``plan_too_far`` beyond
  7 days, ``invalid_departure`` for anything else; a dated departure does not repeat:
  ``plan_dated_repeat``);
- ``repeat``: ``once``, ``daily``, ``mon_fri``, ``sat_sun``, or a list of days (``mon`` ... ``sun``)
  (``invalid_repeat``);
- ``enabled``: the plan on (default) or off.

Nothing changes unless every field is valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, Final

from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from .plan_settings import MAX_AHEAD, MAX_PLAN_KWH, WEEKDAYS, days_of

ATTR_ENERGY: Final = "energy"
ATTR_DEPARTURE: Final = "departure"
ATTR_REPEAT: Final = "repeat"
ATTR_ENABLED: Final = "enabled"


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(translation_domain=DOMAIN, translation_key=key,
                                  translation_placeholders=placeholders or None)


def _energy(raw: Any) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= MAX_PLAN_KWH):
        raise _error("plan_energy_out_of_range", value=str(raw), max=f"{MAX_PLAN_KWH:g}")
    return value


def _departure(raw: Any, now: datetime) -> tuple[time, date | None]:
    """Return (time of day, date or None) of a departure; a dated one must be ahead and within a week."""
    when: time | datetime | None = raw if isinstance(raw, time | datetime) else None
    if isinstance(raw, str):
        text = raw.strip()
        try:
            when = time.fromisoformat(text) if len(text) <= 8 else dt_util.parse_datetime(text)
        except ValueError:
            when = None
    if isinstance(when, time):
        return when.replace(microsecond=0, tzinfo=None), None
    if not isinstance(when, datetime):
        raise _error("invalid_departure", value=str(raw))
    local = dt_util.as_local(when if when.tzinfo else when.replace(tzinfo=dt_util.get_default_time_zone()))
    if local <= now:
        raise _error("plan_in_past", departure=local.strftime("%Y-%m-%d %H:%M"))
    if local > now + MAX_AHEAD:
        raise _error("plan_too_far", departure=local.strftime("%Y-%m-%d %H:%M"), days=str(MAX_AHEAD.days))
    return local.time().replace(microsecond=0), local.date()


def plan_changes(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Return the ``PlanSettings`` changes the action's ``data`` asks (``now``: aware, local); raise translated errors."""
    changes: dict[str, Any] = {"enabled": bool(data.get(ATTR_ENABLED, True))}
    if data.get(ATTR_ENERGY) is not None:
        changes["energy_kwh"] = _energy(data[ATTR_ENERGY])
    if data.get(ATTR_REPEAT) is not None:
        try:
            changes["days"] = days_of(data[ATTR_REPEAT])
        except ValueError:
            raise _error("invalid_repeat", value=str(data[ATTR_REPEAT]), days=", ".join(WEEKDAYS)) from None
    if data.get(ATTR_DEPARTURE) is not None:
        changes["departure"], day = _departure(data[ATTR_DEPARTURE], dt_util.as_local(now))
        if day is not None:
            if changes.get("days"):
                raise _error("plan_dated_repeat")
            changes["days"] = frozenset()
        changes["day"] = day
    return changes
