"""What carries a charging plan into the rounds: the driver, the vehicle's cap, the house's base load.

Pure helpers around ``schedule.plan_charging`` that the group (and the benchmark) keep per member or
per group (docs/balancing.md, "Plans"):

- :class:`PlanDriver`: the current to drive and whether it may take more, round by round;
- :class:`VehicleCap`: the most a vehicle takes, learnt in its session (``PlanRequest.vehicle``);
- :class:`BaseLoad`: the house's load without the EVs that stays, for ``plan_charging``'s
  ``other_load``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from .allocation import EPS
from .schedule import MemberPlan
from .state import CAP_GAP

VEHICLE_SETTLE: Final = 30.0
"""s a vehicle must draw clearly below its limit before that draw counts as the most it takes."""
BASE_WINDOW: Final = 3600.0
"""s of other load :class:`BaseLoad` looks back on."""


class PlanDriver:
    """Carries one member's plan out round by round: the current to drive and whether it may take more.

    In a slot planned at ``min_current`` or more: its ``drive`` and ``more``. In a slot planned below
    ``min_current`` on average (the round cannot go below it): ``min_current`` until the slot's
    planned energy has arrived, then nothing for the rest of the slot, so that the members planned
    beside it get their planned currents. The energy is the member's (the charger's session
    energy, Wh); a slot starts afresh when the plan is made again (its first slot starts at the
    time of planning).
    """

    def __init__(self, min_current: float) -> None:
        self.min_current = min_current
        self._slot: tuple[float, float] | None = None
        self._at_start = 0.0

    def steer(self, plan: MemberPlan | None, now: float, energy: float) -> tuple[float | None, bool]:
        """Return (the current to drive or None, more) at ``now`` with ``energy`` Wh counted so far."""
        slot = None if plan is None else plan.slot_at(now)
        if slot is None or slot.drive <= 0:
            self._slot = None
            return None, False
        if self._slot != (slot.start, slot.energy):
            self._slot, self._at_start = (slot.start, slot.energy), energy
        if slot.current >= self.min_current - EPS:
            return slot.drive, slot.more
        return (None, False) if energy - self._at_start >= slot.energy - EPS else (slot.drive, False)


class VehicleCap:
    """The most a vehicle takes (A per phase), learnt in its session from its draw and its limit.

    A vehicle that the round has capped near its draw (reason ``capped``: it took ``CAP_GAP`` less
    than its limit while another member wanted the room), or that draws ``CAP_GAP`` or more below its
    limit for ``VEHICLE_SETTLE`` s, takes no more than that draw (its on-board charger):
    :attr:`value` is the highest such draw, and any higher draw seen later; None until then (the
    member's maximum is planned). :meth:`reset` when it leaves.
    """

    def __init__(self) -> None:
        self.value: float | None = None
        self._below_since: float | None = None

    def see(self, t: float, limit: float, draw: float, capped: bool = False) -> None:
        """Record the ``limit`` (A, 0 paused), the ``draw`` (A) and whether the round capped it, at ``t`` (s)."""
        if self.value is not None and draw > self.value:
            self.value = draw
        if draw < 1.0 or (limit - draw < CAP_GAP and not capped):
            self._below_since = None
            return
        if self._below_since is None:
            self._below_since = t
        if capped or t - self._below_since >= VEHICLE_SETTLE:
            self.value = max(self.value or 0.0, draw)

    def reset(self) -> None:
        """Forget the vehicle (it left)."""
        self.value = self._below_since = None


class BaseLoad:
    """The house's base load: the lowest tenth of the other load over the last ``BASE_WINDOW`` s.

    The round handles the house's steps (a kettle, an oven) as they come; a plan needs what stays.
    Values are in the caller's unit (the group: A per phase on the busiest phase).
    """

    def __init__(self, window: float = BASE_WINDOW) -> None:
        self.window = window
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, t: float, value: float) -> None:
        """Record the other load ``value`` at ``t`` (s); non-finite values are skipped."""
        if math.isfinite(value):
            self._samples.append((t, value))
        while self._samples and self._samples[0][0] < t - self.window:
            self._samples.popleft()

    def value(self) -> float:
        """Return the lowest tenth (never below 0), 0 before any sample."""
        ordered = sorted(v for _, v in self._samples)
        return max(0.0, ordered[len(ordered) // 10]) if ordered else 0.0
