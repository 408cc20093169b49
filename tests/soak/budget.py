"""The soak's budget account: seconds over the group's budget per phase, and whose doing they are.

Each simulated second over the budget (14.4 A) on a phase goes to the first of: ``startup`` (before
the group's first round, and ``RISE_WINDOW`` s after it), ``house`` (the chargers draw nothing on that
phase, or within ``RISE_WINDOW`` s of a rise of the other load: a step no controller can see before
the next meter reading), ``fault`` (while a fault keeps Home Assistant from commanding a charger:
``FaultKind.blocks``), ``bounded`` (while a fault with a ``bound`` is active, and ``BOUND_SETTLE`` s
after: the next reading shows its end and the car follows the answer; its events, the seconds
over the budget while it is in play or over the breaker, are measured against the bound), ``uncommanded`` (within ``RISE_WINDOW`` s of a charger drawing while the group has
it paused: the demo chargers' auto-start on plug-in drops an earlier Stop) and ``controller`` (all
the rest, which must be zero). A bounded fault's events are its own handling: they are counted
while it is the only fault in effect (a washing machine aside); combined with another fault, its
seconds stay in ``bounded``. Also the seconds over the breaker (16 A) and each phase's peak.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from custom_components.knx_evse.knx.parameters import VOLTAGE

from .faults import BOUND_SETTLE, EVENT_GAP, Fault
from .report import Figures

RISE_WINDOW = 10.0
"""s after a rise of the load that is not the chargers' during which budget excess is the house's own."""


class BudgetAccount:
    """Counts the seconds over the budget into ``figures`` (see the module docstring)."""

    def __init__(self, figures: Figures, budget: float, breaker: float, step: float) -> None:
        self.figures = figures
        self.budget = budget
        self.breaker = breaker
        self.step = step
        self.first_round: float | None = None
        self._other_a = 0.0
        self._last_rise = -1e9
        self._last_uncommanded = -1e9
        self._last_over: dict[int, float] = {}

    def reading(self, now: float, house_w: float, pv_w: float) -> None:
        """A new meter reading: note a rise of the load that is not the chargers'."""
        other = (house_w - pv_w) / 3 / VOLTAGE
        if other > self._other_a + 0.05:
            self._last_rise = now
        self._other_a = other

    def uncommanded(self, now: float) -> None:
        """A charger the group has paused draws (the demo chargers' auto-start on plug-in)."""
        self._last_uncommanded = now

    def account(
        self,
        now: float,
        clock: Any,
        house_w: float,
        pv_w: float,
        chargers: Sequence[float],
        faults: Iterable[Fault],
        in_play: Callable[[Fault], bool],
    ) -> None:
        """Count one step: ``chargers`` A per phase of the chargers, ``faults`` those started so far."""
        figures = self.figures
        step = self.step
        other = (house_w - pv_w) / 3 / VOLTAGE
        active = [f for f in faults if f.at <= now]
        blocked = any(f.spec.blocks is not None and now <= (f.end if f.duration else f.at) + f.spec.blocks for f in active)
        bounded = [f for f in active if f.spec.bound is not None and now <= f.end + BOUND_SETTLE]
        over_budget = over_breaker = False
        for k in range(3):
            amps = abs(other + chargers[k])
            figures.peak_a[k] = max(figures.peak_a[k], amps)
            if amps > self.breaker:
                figures.over_breaker_s[k] += step
            if amps <= self.budget:
                continue
            figures.over_s[k] += step
            figures.over_as[k] += (amps - self.budget) * step
            if self.first_round is None or now - self.first_round <= RISE_WINDOW:
                figures.over_startup_s[k] += step
            elif chargers[k] <= 0 or now - self._last_rise <= RISE_WINDOW:
                figures.over_house_s[k] += step
            elif blocked:
                figures.over_fault_s[k] += step
            elif bounded:
                figures.over_bounded_s[k] += step
                over_budget = True
                over_breaker = over_breaker or amps > self.breaker
            elif now - self._last_uncommanded <= RISE_WINDOW:
                figures.over_uncommanded_s[k] += step
            else:
                figures.over_controller_s[k] += step
                figures.over_controller_as[k] += (amps - self.budget) * step
                if len(figures.controller_events) < 50:
                    figures.controller_events.append(
                        f"{clock:%H:%M:%S} (t={now:.0f}s) L{k + 1} {amps:.2f} A: other {other:.2f} A, "
                        f"chargers {chargers[k]:.2f} A, last rise t={self._last_rise:.0f}s"
                    )
        alone = [f for f in active if now <= f.end + BOUND_SETTLE and f.kind != "washing_machine"]
        if len(alone) == 1 and alone[0] in bounded:  # its own handling only: not combined with another fault
            fault = alone[0]
            if over_breaker if fault.spec.bound_over == "breaker" else over_budget and in_play(fault):
                self._event(fault, now)

    def _event(self, fault: Fault, now: float) -> None:
        """Add this step to the fault's current event, or begin a new one after ``EVENT_GAP`` s."""
        last = self._last_over.get(id(fault))
        if last is None or now - last > EVENT_GAP or not fault.events:
            fault.events.append(0.0)
        fault.events[-1] += self.step
        self._last_over[id(fault)] = now
