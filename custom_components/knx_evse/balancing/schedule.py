"""Charging plans: when each member charges so that its energy target is reached by its departure.

Pure and stateless: :func:`plan_charging` takes the group (``BalancingConfig``), what each planned
member still needs (:class:`PlanRequest`: Wh, departure), the time, a price forecast and/or an
expected solar export (:class:`Span`) and the other load of the house, and returns one
:class:`MemberPlan` per request: its slots (:class:`PlannedSlot`), the energy it can reach, and
why not all when it cannot. The rules (docs/balancing.md, "Plans"):

- Every member's slots lie between ``now`` and its departure; all members share the supply: in
  every slot, per constraint (phase, or the one power limit), the planned currents fit the budget
  less the other load, plus the expected export spread over the phases, keeping ``raise_margin``
  per member as the round does.
- Cheapest first: the expected export (free), then grid slots by price, the latest first on equal
  prices; time beyond the price forecast (or without one) is grid time of unknown price, used
  last and the latest first ("expected solar first, then the latest grid slots").
- Members are planned one after the other, earliest departure first (priority on a tie); the order
  by least slack is tried too, and the one that leaves less unmet (then costs less) is kept.
- A member's current in a slot is 0 or at least ``min_current`` (or, where members share a slot,
  at least that on average: the round shares it out), at most its maximum. In a slot with grid
  energy the round drives the planned current (``PlannedSlot.drive``, rounded up to the ``step``
  grid): the member charges as in Fast up to it (``Balancer.set_plan``), the export covering it
  first; a slot of expected export alone is left to the member's Solar or Min+Solar. Where no
  expected export is planned after it, the member also shares what the supply has left above its
  planned current (``PlannedSlot.more``): its slots are its cheapest, so energy taken there spares a
  dearer one (a vehicle that takes less than planned leaves room for the others).
- A plan that cannot be met says so with the energy it can reach (``MemberPlan.planned``) and the
  reason: ``"not_enough_time"`` (not even alone at its maximum: ``alone``) or ``"shared_limit"``.

Times are in seconds on one clock (the group: Unix time), energies in Wh, currents in A per phase.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from .allocation import EPS
from .config import BalancingConfig
from .filling import Filler, Piece

MAX_HORIZON: Final = 7 * 86400.0
"""s: the latest departure a plan may have (a week ahead)."""
FILL_SLOT: Final = 900.0
"""s: the length of the slots that cover time without a forecast (on the quarter hour)."""
ENERGY_TOLERANCE: Final = 1.0
"""Wh: a plan that reaches its target less this much is met."""

PlanReason = Literal["met", "not_enough_time", "shared_limit"]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class Span:
    """One forecast interval [``start``, ``end``) in s with its ``value``.

    A price forecast gives a price per kWh (any currency, negative allowed); a solar forecast the
    expected export without the EVs in W (≥ 0). Raises ValueError for a non-finite value, an end
    not after the start, or a negative export (checked by :func:`plan_charging`).
    """

    start: float
    end: float
    value: float

    def __post_init__(self) -> None:
        if not (_finite(self.start) and _finite(self.end) and self.end > self.start):
            raise ValueError(f"a span needs finite start < end, got {self.start!r}..{self.end!r}")
        if not _finite(self.value):
            raise ValueError(f"a span's value must be a finite number, got {self.value!r}")


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """A member's plan: ``index`` (0-based, EVSE1 = 0), ``energy`` Wh still to charge, ``departure`` s.

    ``vehicle``: the most the vehicle takes in A per phase when known (``plan_round.VehicleCap``), else
    None: the member's maximum. Raises ValueError for a negative or non-finite energy, a non-finite
    departure or a vehicle current that is not a positive number.
    """

    index: int
    energy: float
    departure: float
    vehicle: float | None = None

    def __post_init__(self) -> None:
        if self.vehicle is not None and not (_finite(self.vehicle) and self.vehicle > 0):
            raise ValueError(f"vehicle must be None or a current > 0 A, got {self.vehicle!r}")
        if not (_finite(self.energy) and self.energy >= 0):
            raise ValueError(f"energy must be a number of Wh >= 0, got {self.energy!r}")
        if not _finite(self.departure):
            raise ValueError(f"departure must be a finite time, got {self.departure!r}")


@dataclass(frozen=True, slots=True)
class PlannedSlot:
    """One slot of a member's plan.

    [``start``, ``end``) s; ``current`` A per phase in all, of which ``solar`` A are expected from
    the export; ``drive``: the current the round charges at as in Fast, the export covering it first
    (``current`` on the ``step`` grid, at least ``min_current``; 0 where the export alone is planned,
    which the member's Solar or Min+Solar takes); ``energy`` Wh; ``price`` per kWh, None where
    unknown; ``more``: the member may share what the supply has left above ``drive`` (no expected
    export is planned after it, which more energy now would leave unused).
    """

    start: float
    end: float
    current: float
    solar: float
    drive: float
    energy: float
    price: float | None
    more: bool = False


@dataclass(frozen=True, slots=True)
class MemberPlan:
    """The plan of one member.

    ``need`` and ``planned`` Wh, ``alone`` Wh it could reach with the supply to itself, its
    ``slots`` in time order, and ``cost`` of the planned grid energy (None when some of it has no
    known price).
    """

    index: int
    need: float
    planned: float
    alone: float
    slots: tuple[PlannedSlot, ...]
    cost: float | None

    @property
    def met(self) -> bool:
        """True when the planned energy reaches the need (less ``ENERGY_TOLERANCE``)."""
        return self.planned >= self.need - ENERGY_TOLERANCE

    @property
    def reason(self) -> PlanReason:
        """``"met"``, ``"not_enough_time"`` (not even alone at its maximum) or ``"shared_limit"``."""
        if self.met:
            return "met"
        return "not_enough_time" if self.alone < self.need - ENERGY_TOLERANCE else "shared_limit"

    def slot_at(self, now: float) -> PlannedSlot | None:
        """Return the slot that contains ``now``, None outside the slots."""
        for slot in self.slots:
            if slot.start <= now < slot.end:
                return slot
        return None

    def drive(self, now: float) -> tuple[float, bool] | None:
        """Return the current (A) to charge at as in Fast at ``now`` and ``more``; None: the member's mode decides."""
        slot = self.slot_at(now)
        return (slot.drive, slot.more) if slot is not None and slot.drive > 0 else None

    def next_start(self, now: float) -> float | None:
        """Return the start of the slot under way at ``now`` or of the next one, None when none is left."""
        return next((s.start for s in self.slots if s.end > now), None)


def _pieces(now: float, end: float, prices: Sequence[Span], solar: Sequence[Span],
            departures: Sequence[float]) -> list[Piece]:
    """Cut [now, end) at every forecast bound, departure and quarter hour outside the price forecast."""
    for name, spans in (("price", prices), ("solar", solar)):
        ordered = sorted(spans, key=lambda s: s.start)
        for first, second in itertools.pairwise(ordered):
            if second.start < first.end - EPS:
                raise ValueError(f"the {name} forecast has overlapping intervals at {second.start!r}")
    if any(s.value < 0 for s in solar):
        raise ValueError("the expected export must be >= 0 W")
    edges = {now, end, *(d for d in departures if now < d < end)}
    for span in (*prices, *solar):
        edges.update(t for t in (span.start, span.end) if now < t < end)
    tick = math.ceil(now / FILL_SLOT) * FILL_SLOT
    while tick < end:
        if not any(s.start <= tick < s.end for s in prices):
            edges.add(tick)
        tick += FILL_SLOT
    cuts = sorted(edges)
    pieces = []
    for a, b in itertools.pairwise(cuts):
        if b - a <= EPS:
            continue
        price = next((s.value for s in prices if s.start <= a < s.end), None)
        sun = next((s.value for s in solar if s.start <= a < s.end), 0.0)
        pieces.append(Piece(a, b, price, sun))
    return pieces


def _result(filler: Filler, i: int, need: float, planned: float, alone: float) -> MemberPlan:
    """Return member ``i``'s plan from ``filler``: its slots, with the current to drive, and the cost."""
    cfg = filler.cfg
    k = filler.k[i]
    slots = []
    cost: float | None = 0.0
    for piece, (sun, grid) in zip(filler.pieces, filler.alloc.get(i, []), strict=False):
        total = sun + grid
        if total <= EPS:
            continue
        drive = 0.0
        if grid > EPS:
            steps = math.ceil((max(total, cfg.min_current) - cfg.min_current) / cfg.step - EPS)
            drive = min(filler.max[i], cfg.min_current + steps * cfg.step)
        energy = total * k * cfg.voltage * piece.hours
        slots.append(PlannedSlot(piece.start, piece.end, total, sun, drive, energy, piece.price))
        if grid > EPS:
            if piece.price is None:
                cost = None
            elif cost is not None:
                cost += piece.price * grid * k * cfg.voltage * piece.hours / 1000.0
    sunny = [n for n, slot in enumerate(slots) if slot.solar > EPS]
    last_sun = sunny[-1] if sunny else -1
    slots = [dataclasses.replace(slot, more=n >= last_sun) for n, slot in enumerate(slots)]
    return MemberPlan(i, need, min(need, planned), alone, tuple(slots), cost)


def plan_charging(
    config: BalancingConfig,
    requests: Sequence[PlanRequest],
    now: float,
    *,
    prices: Sequence[Span] = (),
    solar: Sequence[Span] = (),
    other_load: float = 0.0,
) -> tuple[MemberPlan, ...]:
    """Plan every request together within the supply (module docstring); one result per request, same order.

    ``other_load``: the house without the EVs, in the budget's unit (A per phase with a current
    limit, W with a power limit), assumed for every slot. A departure at or before ``now`` gets no
    slot (its reason: ``"not_enough_time"``).

    Raises:
        ValueError: for a request of an unknown member or twice for one member, a departure more
            than ``MAX_HORIZON`` ahead, overlapping intervals within a forecast, or a negative export.

    """
    if not _finite(now) or not _finite(other_load):
        raise ValueError("now and other_load must be finite numbers")
    seen: set[int] = set()
    for r in requests:
        if not 0 <= r.index < len(config.evses) or r.index in seen:
            raise ValueError(f"unknown or repeated member index {r.index!r}")
        seen.add(r.index)
        if r.departure > now + MAX_HORIZON + EPS:
            raise ValueError(f"departure {r.departure!r} is more than {MAX_HORIZON / 86400:g} days ahead")
    ahead = [r for r in requests if r.departure > now]
    end = max((r.departure for r in ahead), default=now)
    pieces = _pieces(now, end, prices, solar, [r.departure for r in ahead]) if end > now else []
    vehicles = {r.index: r.vehicle for r in requests if r.vehicle is not None}
    probe = Filler(config, pieces, other_load, vehicles)
    alone = {r.index: probe.alone(r.index, r.departure) if r.departure > now else 0.0 for r in requests}
    orders = [
        sorted(ahead, key=lambda r: (r.departure, r.index)),
        sorted(ahead, key=lambda r: (alone[r.index] - r.energy, r.departure, r.index)),
    ]
    best: tuple[float, float, Filler, dict[int, float]] | None = None
    for order in orders:
        planner = Filler(config, pieces, other_load, vehicles)
        got = {r.index: planner.plan(r.index, r.energy, r.departure) for r in order}
        planner.improve({r.index: r.departure for r in ahead})
        short = sum(r.energy - got[r.index] for r in ahead)
        cost = sum(_result(planner, r.index, r.energy, got[r.index], 0.0).cost or 0.0 for r in ahead)
        if best is None or short < best[0] - ENERGY_TOLERANCE or (
            short <= best[0] + ENERGY_TOLERANCE and cost < best[1] - EPS
        ):
            best = (short, cost, planner, got)
    planner, got = (best[2], best[3]) if best is not None else (probe, {})
    return tuple(_result(planner, r.index, r.energy, got.get(r.index, 0.0), alone[r.index]) for r in requests)


__all__ = ["MAX_HORIZON", "MemberPlan", "PlanRequest", "PlannedSlot", "Span", "plan_charging"]
