"""Lifetime energy of a connector, built from its session-energy counter.

Source: manual, communication objects 46/95 "[ConnN] Current session Energy" (DPT 13.010, Wh, reset
for every charging session) and 45/94 "[ConnN] Current session time" (DPT 7.005, s). Home
Assistant's Energy dashboard needs a counter that never decreases (``total_increasing``); a session
counter that drops to 0 at every new session, or that drops out for one telegram (895 → 0 → 897 Wh),
would be counted as a new cycle each time. ``LifetimeEnergy`` turns the session readings into such a
counter. It has no Home Assistant import so it can be tested and benchmarked on its own.

How a reading ``v`` (Wh) is counted, with ``last`` the last accepted session reading:

- ``v > last``: the session went on; ``v - last`` is added. If there is evidence of a new session
  since ``last`` (the vehicle was unplugged and plugged in again, or the session time restarted)
  the whole ``v`` is added: the counter restarted and its reset was not seen. An unplug alone is no
  such evidence: a charger may send the session's last energy after the unplug (the soak saw
  ``85 = False`` before the final ``95``), and that reading ends the same session.
- ``v == last``: a repeat (cyclic sending); nothing changes.
- ``0 < v < last`` by at most max(50 Wh, 1 %) without new-session evidence: jitter; ignored.
- ``v < last``: a *drop*. It is only remembered; the total does not change yet. The next different
  reading decides:
  - another value below ``last``: the counter really restarted, a new session began; ``v`` (the new
    session's energy so far) is added. The finished session was already counted up to ``last``, so it
    is counted exactly once. If that value is also below the held one, or the vehicle was unplugged
    or the session time restarted since the held reading, the held reading was a short session of
    its own that ended unseen: it is added too.
  - a value ``>= last``: either the drop was a dropout (895 → 0 → 897: add 2) or a new session
    overtook the old value. It is a new session when the vehicle was unplugged and plugged in again
    or the session time restarted since ``last``; it is a dropout when the session time kept
    running or charging never stopped; without either signal, a drop to a non-zero value is a new
    session (a dropout reads 0), and a drop to 0 is a dropout when the recovery came within
    ``DROPOUT_WINDOW_S``. Evidence
    of yet another session since the held reading adds the held reading as a session of its own.

A held reading is stored with the rest (``as_dict``), so a restart between it and the next reading
loses nothing; its age is then unknown and counts as within ``DROPOUT_WINDOW_S``, as when no drop
was seen. So are an unplug and a plug-in seen since the last accepted reading. A restored session
time belongs to the stored reading only: a reading accepted after a
restart before any session time arrived has an unknown one (the soak saw a session that began just
before a restart counted twice).

The total never decreases. Negative, non-finite and absurd readings (> ``MAX_SESSION_WH``) are
ignored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

DROPOUT_WINDOW_S: Final = 300.0
"""s: a drop followed by a recovery to at least the old value within this time is a dropout."""
JITTER_WH: Final = 50.0
JITTER_FRACTION: Final = 0.01
"""A step back to a non-zero value of at most max(``JITTER_WH``, ``JITTER_FRACTION`` × the last
reading), with no new-session evidence, is measurement jitter and ignored."""
MAX_SESSION_WH: Final = 1_000_000.0
"""Wh: session readings above this (1 MWh) are absurd for a 22 kW charger and ignored."""
STORAGE_VERSION: Final = 1


@dataclass(slots=True)
class _Drop:
    """A session reading below the last accepted one, waiting for the next reading to decide."""

    value: float
    at: float | None
    """Monotonic s when seen; None when restored after a restart."""
    session_time: int | None = None
    """The first session time (s) received after the drop was seen (its own session's)."""
    restarted: bool = False
    """A later session time went below ``session_time``: another session began."""
    unplugged: bool = False
    """The vehicle was unplugged after the drop was seen."""
    replugged: bool = False
    """... and plugged in again after that."""

    def ended(self, latest_time: int | None) -> bool:
        """Return True when there is evidence that the held reading's session ended after it was seen."""
        del latest_time
        return self.replugged or self.restarted


class LifetimeEnergy:
    """Monotonic lifetime energy (Wh) of one connector, fed with session readings.

    All methods take ``now``, a monotonic time in seconds supplied by the caller. Feed it with
    ``session_energy`` (objects 46/95), and when known ``session_time`` (45/94), ``vehicle_connected``
    (36/85 or derived from the pilot/OCPP state) and ``charging`` (37/86). ``total_wh`` is the
    lifetime total; ``as_dict``/``from_dict`` store and restore the state across restarts.
    """

    __slots__ = (
        "_charging",
        "_charging_continuous",
        "_drop",
        "_last",
        "_latest_time",
        "_replugged",
        "_time_at_last",
        "_time_seen",
        "_total",
        "_unplugged",
    )

    def __init__(
        self,
        total_wh: float = 0.0,
        last_session_wh: float | None = None,
        session_time_at_last: int | None = None,
    ) -> None:
        self._total = float(total_wh)
        self._last = last_session_wh
        self._time_at_last = session_time_at_last
        self._latest_time: int | None = session_time_at_last
        self._time_seen = False  # a session time received since this accumulator was made
        self._drop: _Drop | None = None
        self._unplugged = False
        self._replugged = False
        self._charging: bool | None = None
        self._charging_continuous = False

    @property
    def total_wh(self) -> float:
        """Lifetime energy in Wh; never decreases."""
        return self._total

    @property
    def last_session_wh(self) -> float | None:
        """The last accepted session reading in Wh, None before the first one."""
        return self._last

    @property
    def drop_pending(self) -> bool:
        """True while a reading below the last one waits for the next reading to be classified."""
        return self._drop is not None

    # -- inputs -----------------------------------------------------------------------------

    def session_time(self, seconds: int, now: float) -> None:
        """Record the session time (s, objects 45/94).

        A value below the one at the last accepted reading means the session restarted; a value at or
        above it means the session kept running.
        """
        del now
        if seconds >= 0:
            self._latest_time = int(seconds)
            self._time_seen = True
            drop = self._drop
            if drop is not None:
                if drop.session_time is None:
                    drop.session_time = int(seconds)
                elif seconds < drop.session_time:
                    drop.restarted = True

    def vehicle_connected(self, connected: bool, now: float) -> None:
        """Record the vehicle-connected state (objects 36/85).

        An unplug followed by a plug-in is new-session evidence; readings between the two still
        belong to the session that ended with the unplug.
        """
        del now
        drop = self._drop
        if not connected:
            self._unplugged = True
            if drop is not None:
                drop.unplugged = True
        else:
            if self._unplugged:
                self._replugged = True
            if drop is not None and drop.unplugged:
                drop.replugged = True

    def charging(self, charging: bool, now: float) -> None:
        """Record the charging state (objects 37/86).

        Charging that never stopped since the last accepted reading means the session continued
        (dropout evidence).
        """
        del now
        self._charging = charging
        if not charging:
            self._charging_continuous = False

    def session_energy(self, wh: float, now: float) -> bool:
        """Count a session-energy reading (Wh, objects 46/95); return True when ``total_wh`` changed.

        Invalid readings (negative, non-finite, above ``MAX_SESSION_WH``) are ignored.
        """
        if not isinstance(wh, int | float) or not math.isfinite(wh) or wh < 0 or wh > MAX_SESSION_WH:
            return False
        value = float(wh)
        last = self._last
        if last is None:
            return self._accept(value, value)
        drop = self._drop
        if drop is None:
            if value == last:
                return False
            if value > last:
                added = value if self._new_session_evidence() else value - last
                return self._accept(value, added)
            if value > 0 and last - value <= max(JITTER_WH, JITTER_FRACTION * last) and (
                not self._new_session_evidence()
            ):
                return False  # jitter (5000 -> 4999 -> 5000 Wh), not a new session
            self._drop = _Drop(value, now)
            return False
        if value == drop.value:
            return False
        held = drop.value if drop.ended(self._latest_time) else 0.0
        if value < last:
            if value < drop.value:
                held = drop.value  # the counter went down again: the held session ended
            return self._accept(value, held + value)
        if held:
            added = held + value
        elif self._new_session_evidence():
            added = value
        elif self._continuity_evidence():
            added = value - last
        elif drop.value > 0:
            added = value  # a counter that restarted at a non-zero value: no dropout (those read 0)
        elif drop.at is None or now - drop.at <= DROPOUT_WINDOW_S:
            added = value - last
        else:
            added = value
        return self._accept(value, added)

    # -- helpers ----------------------------------------------------------------------------

    def _new_session_evidence(self) -> bool:
        if self._replugged:
            return True
        return (
            self._latest_time is not None
            and self._time_at_last is not None
            and self._latest_time < self._time_at_last
        )

    def _continuity_evidence(self) -> bool:
        if self._latest_time is not None and self._time_at_last is not None:
            return self._latest_time >= self._time_at_last
        return self._charging_continuous and self._charging is True

    def _accept(self, value: float, added: float) -> bool:
        self._last = value
        # A restored session time is the old reading's: the new one's is unknown until one arrives
        # (else the first session time after a restart looks like a restart of the session).
        self._time_at_last = self._latest_time if self._time_seen else None
        self._drop = None
        self._unplugged = False
        self._replugged = False
        self._charging_continuous = self._charging is True
        if added > 0:
            self._total += added
            return True
        return False

    # -- persistence ------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state.

        ``{"version", "total_wh", "last_session_wh", "session_time_at_last", "pending_drop_wh",
        "pending_drop_session_time", "unplugged", "replugged"}``: the drop keys describe a held drop
        (None without one), so a short session seen only as a drop is not lost across a restart;
        ``unplugged``/``replugged`` keep an unplug (and a plug-in after it) seen since the last
        accepted reading, the new-session evidence a restart must not lose.
        """
        drop = self._drop
        return {
            "version": STORAGE_VERSION,
            "total_wh": self._total,
            "last_session_wh": self._last,
            "session_time_at_last": self._time_at_last,
            "pending_drop_wh": None if drop is None else drop.value,
            "pending_drop_session_time": None if drop is None else drop.session_time,
            "unplugged": self._unplugged,
            "replugged": self._replugged,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LifetimeEnergy:
        """Restore from ``as_dict`` output (older data without the drop or plug keys too).

        Raises:
            ValueError: for a missing or invalid total, or an invalid session reading, session
                time or held drop.

        """
        total = data.get("total_wh")
        last = data.get("last_session_wh")
        time_at_last = data.get("session_time_at_last")
        drop_wh = data.get("pending_drop_wh")
        drop_time = data.get("pending_drop_session_time")
        if total is None or not _valid_wh(total):
            raise ValueError(f"invalid stored lifetime energy {total!r}")
        if last is not None and not _valid_wh(last):
            raise ValueError(f"invalid stored session energy {last!r}")
        if time_at_last is not None and (not isinstance(time_at_last, int) or time_at_last < 0):
            raise ValueError(f"invalid stored session time {time_at_last!r}")
        if drop_wh is not None and (not _valid_wh(drop_wh) or last is None or drop_wh >= last):
            raise ValueError(f"invalid stored pending drop {drop_wh!r}")
        if drop_time is not None and (not isinstance(drop_time, int) or drop_time < 0):
            raise ValueError(f"invalid stored pending drop session time {drop_time!r}")
        energy = cls(
            total_wh=float(total),
            last_session_wh=None if last is None else float(last),
            session_time_at_last=time_at_last,
        )
        if drop_wh is not None:
            energy._drop = _Drop(float(drop_wh), None, drop_time)
        energy._unplugged = data.get("unplugged") is True
        energy._replugged = data.get("replugged") is True
        return energy


def _valid_wh(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
