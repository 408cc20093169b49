"""Detects a supply meter whose sign is reversed (import shown as export), from its own readings.

A :class:`MeterSign` is fed once per round with a usable reading; its verdict latches. Evidence
(the reasons and the timing: docs/balancing.md, "Reversed meter"):

- steps: the EVSEs' summed measured current moves by ``STEP`` (4 phase-amperes) or more, and the
  meter moves the opposite way by at least half of it, ``COUNT`` (3) times in a row. A step the
  meter follows resets the count; a smaller meter move counts neither way;
- export beyond the fuse: with a current limit, ``EXPORT_READINGS`` (2) successive readings with
  more export on one phase than the fuse can carry.

Once reversed, ``COUNT`` steps in a row that the meter follows clear it (only EVSEs that draw in the
fallback, i.e. a fixed fallback current, can make them); a new instance starts afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

STEP: Final = 4.0
"""Phase-amperes the EVSEs' summed measured current must move to be a step."""
QUIET: Final = 1.0
"""Phase-amperes within which the EV total counts as unmoved: the anchor follows the house."""
JUDGE_AFTER: Final = 2.0
"""s after the EV total last moved before a step is judged."""
READINGS_AFTER: Final = 2
"""Meter readings newer than the EV total's last move before a step is judged (one may lag)."""
COUNT: Final = 3
"""Steps in a row that change the verdict."""
EXPORT_READINGS: Final = 2
"""Successive readings beyond the fuse that mark the meter reversed."""
MAX_AGE: Final = 90.0
"""s after which an unjudged step, or an anchor the EV total drifted from, is dropped."""


def phase_amperes(value: float | tuple[float, ...], unit: str, phases: int, voltage: float) -> tuple[float, float]:
    """Return a usable meter value as (total, export): phase-amperes, and A on the most exporting phase.

    ``value`` is a per-phase tuple (A), a single current (A, taken as every phase's, like the
    budget does) or a total power (W); ``unit`` is ``"A"`` or ``"W"``. A total in W proves only
    its average per phase as the export of one phase.
    """
    if isinstance(value, tuple):
        return float(sum(value)), -float(min(value))
    if unit == "A":
        return float(value) * phases, -float(value)
    return float(value) / voltage, -float(value) / (voltage * phases)


@dataclass(slots=True)
class _Step:
    """An EV step waiting for the meter: the anchor before it, when and where the EV total last moved."""

    ev: float
    meter: float
    since: float
    moved: float
    ev_moved: float
    readings: int = 0


class MeterSign:
    """Decides, round by round, whether the meter's sign is reversed (``reversed``).

    Example:
        >>> sign = MeterSign()
        >>> sign.update(0.0, 0.0, -30.0, 0.0, export=30.0, fuse=25.0)
        False
        >>> sign.update(1.0, 1.0, -30.0, 0.0, export=30.0, fuse=25.0)
        True

    """

    def __init__(self) -> None:
        """Start with a meter taken as correct and no anchor."""
        self.reversed = False
        self._count = 0  # steps in a row against the verdict
        self._beyond = 0  # successive readings beyond the fuse
        self._anchor: tuple[float, float, float] | None = None  # (EV total, meter, when) while quiet
        self._before: tuple[float, float, float] | None = None  # the anchor one reading earlier
        self._step: _Step | None = None
        self._meter_t: float | None = None
        self._last: float | None = None

    def update(
        self, now: float, meter_t: float, meter: float, ev: float, *, export: float = 0.0, fuse: float | None = None
    ) -> bool:
        """Take one round's reading and return whether the meter is reversed.

        Args:
            now: the round's time in s (the balancer's clock).
            meter_t: the reading's timestamp (a new timestamp is a new reading).
            meter: the reading as a total in phase-amperes, positive while importing.
            ev: the EVSEs' summed measured current in phase-amperes.
            export: A exported on the most exporting phase (see :func:`phase_amperes`).
            fuse: the fuse in A per phase, or None when the supply has a power limit.

        """
        if self._last is not None and now - self._last > MAX_AGE:
            self._anchor = self._before = self._step = None  # a long gap: the house moved meanwhile
        self._last = now
        new = self._meter_t is None or meter_t > self._meter_t
        if new:
            self._meter_t = meter_t
            if fuse is not None:
                self._beyond = self._beyond + 1 if export > fuse else 0
                if self._beyond >= EXPORT_READINGS:
                    self.reversed, self._count = True, 0
        self._follow(now, meter_t, meter, ev, new=new)
        return self.reversed

    def _follow(self, now: float, meter_t: float, meter: float, ev: float, *, new: bool) -> None:
        """Anchor while the EV total is quiet, start a step when it moved, judge the step when due.

        A step is measured from the anchor one reading before the last, so a meter that shows the
        step one reading before the EVSEs report it is still measured from before the step.
        """
        anchor, step = self._anchor, self._step
        if step is None:
            if anchor is None or now - anchor[2] > MAX_AGE:
                self._anchor = self._before = (ev, meter, now)
            elif new and abs(ev - anchor[0]) < QUIET:
                self._before, self._anchor = anchor, (ev, meter, now)
            elif abs(ev - anchor[0]) >= STEP:
                before = self._before or anchor
                self._step = _Step(before[0], before[1], now, now, ev)
            return
        if abs(ev - step.ev_moved) > QUIET:
            step.moved, step.ev_moved, step.readings = now, ev, 0
        elif new and meter_t > step.moved:
            step.readings += 1
        if now - step.since > MAX_AGE:
            self._step = self._anchor = None
            return
        if step.readings < READINGS_AFTER or now - step.moved < JUDGE_AFTER:
            return
        self._step = self._anchor = None  # the next round anchors afresh
        d_ev, d_meter = ev - step.ev, meter - step.meter
        if abs(d_ev) >= STEP and abs(d_meter) >= abs(d_ev) / 2:
            self._judge(opposite=(d_meter > 0) != (d_ev > 0))

    def _judge(self, *, opposite: bool) -> None:
        """Count a conclusive step: ``COUNT`` in a row against the verdict turn it."""
        if opposite == self.reversed:
            self._count = 0
            return
        self._count += 1
        if self._count >= COUNT:
            self.reversed, self._count = not self.reversed, 0
