"""A member's charging plan as the user sets it (energy, departure, repeat, on/off) and its next departure.

The plan is an energy in kWh (at the charger, the session energy of objects 46/95) by a departure
time of day, once or on chosen weekdays (``REPEATS``: ``once``, ``daily``, ``mon_fri``, ``sat_sun``,
or ``custom`` days set with the ``knx_evse.set_plan`` action). A one-off plan leaves at the first
such time after it was set, or on the date the action gave; when that has passed the plan is over
and switches off. Times are Home Assistant's local time (daylight saving included).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from homeassistant.util import dt as dt_util

MAX_PLAN_KWH: Final = 200.0
"""kWh: the largest energy a plan may ask (more than any car's battery takes in one session)."""
MAX_AHEAD: Final = timedelta(days=7)
"""The latest departure a plan may have (``balancing.schedule.MAX_HORIZON``)."""
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PRESETS: Final[dict[str, frozenset[int]]] = {
    "once": frozenset(),
    "daily": frozenset(range(7)),
    "mon_fri": frozenset(range(5)),
    "sat_sun": frozenset({5, 6}),
}
REPEATS: Final = (*PRESETS, "custom")
"""Options of the repeat select; ``custom`` shows days set with the action."""


@dataclass(frozen=True, slots=True)
class PlanSettings:
    """One member's plan settings.

    ``energy_kwh`` (0 to ``MAX_PLAN_KWH``), ``departure`` (time of day), ``days`` (weekdays 0 = Monday;
    empty: once), ``enabled``; a one-off plan's ``day`` (the date the action gave) or ``since`` (Unix
    s when it was set: it leaves at the first departure time after it).
    """

    energy_kwh: float = 0.0
    departure: time = time(7, 0)
    days: frozenset[int] = field(default_factory=frozenset)
    enabled: bool = False
    day: date | None = None
    since: float | None = None

    @property
    def repeat(self) -> str:
        """The repeat select's option for ``days``."""
        return next((name for name, days in PRESETS.items() if days == self.days), "custom")

    def next_departure(self, now: datetime) -> datetime | None:
        """Return the departure the plan is for as seen at ``now`` (aware), None when a one-off plan has passed."""
        local = dt_util.as_local(now)
        zone = local.tzinfo
        if not self.days:
            if self.day is not None:
                leave = datetime.combine(self.day, self.departure, zone)
            else:
                anchor = local if self.since is None else dt_util.as_local(dt_util.utc_from_timestamp(self.since))
                leave = datetime.combine(anchor.date(), self.departure, zone)
                if leave <= anchor:
                    leave = datetime.combine(anchor.date() + timedelta(days=1), self.departure, zone)
            return leave if leave > local else None
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            leave = datetime.combine(day, self.departure, zone)
            if day.weekday() in self.days and leave > local:
                return leave
        return None  # (unreachable: some weekday comes within a week)

    def with_(self, **changes: Any) -> PlanSettings:
        """Return a copy with ``changes``; a new departure time or repeat ends a one-off date."""
        if "departure" in changes or "days" in changes:
            changes.setdefault("day", None)
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings."""
        return {
            "energy_kwh": self.energy_kwh,
            "departure": self.departure.isoformat(),
            "days": sorted(self.days),
            "enabled": self.enabled,
            "day": None if self.day is None else self.day.isoformat(),
            "since": self.since,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanSettings | None:
        """Parse ``as_dict`` output; None when it does not hold valid settings."""
        try:
            energy = float(data["energy_kwh"])
            days = frozenset(int(d) for d in data.get("days") or ())
            since = data.get("since")
            settings = cls(
                energy_kwh=energy,
                departure=time.fromisoformat(str(data["departure"])),
                days=days,
                enabled=bool(data.get("enabled")),
                day=None if data.get("day") is None else date.fromisoformat(str(data["day"])),
                since=None if since is None else float(since),
            )
        except (KeyError, TypeError, ValueError):
            return None
        if not 0 <= energy <= MAX_PLAN_KWH or not days <= set(range(7)):
            return None
        return settings


def days_of(repeat: str | list[str]) -> frozenset[int]:
    """Return the weekdays of a preset (``PRESETS``) or a list of day names (``WEEKDAYS``).

    Raises:
        ValueError: for an unknown preset or day, or ``custom`` (its days come as a list).

    """
    if isinstance(repeat, str):
        if repeat not in PRESETS:
            raise ValueError(f"unknown repeat {repeat!r}")
        return PRESETS[repeat]
    try:
        return frozenset(WEEKDAYS.index(str(d).lower()[:3]) for d in repeat)
    except ValueError:
        raise ValueError(f"unknown day in {repeat!r}") from None
