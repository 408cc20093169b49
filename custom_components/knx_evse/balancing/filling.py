"""How the charging planner fills the slots: member by member, cheapest first, then exchanges.

The allocation part of ``schedule.plan_charging`` (rules: its module docstring and docs/balancing.md,
"Plans"). A :class:`Filler` holds, per piece of time, what every member is planned to draw (A per
phase, from the expected export and from the grid) and what that uses of each constraint of the
supply; :meth:`Filler.plan` adds one member's need, cheapest piece first, and
:meth:`Filler.improve` then moves grid energy to cheaper pieces where another member makes room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from .allocation import EPS, round_down
from .config import BalancingConfig, supply_phases

IMPROVE_PASSES: Final = 3
"""Passes of the exchange step after the member-by-member pass (see ``Filler.improve``)."""


@dataclass(slots=True)
class Piece:
    """[``start``, ``end``) s of the plan's time with its ``price`` (None: unknown) and ``solar`` export (W)."""

    start: float
    end: float
    price: float | None
    solar: float  # W of expected export

    @property
    def hours(self) -> float:
        """The length in hours."""
        return (self.end - self.start) / 3600.0


class Filler:
    """The plan of every member over the pieces, filled one member after the other (module docstring)."""

    def __init__(self, config: BalancingConfig, pieces: list[Piece], other_load: float,
                 vehicles: dict[int, float] | None = None) -> None:
        """Empty plans over ``pieces``; ``vehicles``: member index → the most its vehicle takes (A)."""
        cfg = self.cfg = config
        self.pieces = pieces
        volts = cfg.voltage
        if cfg.current_control:
            base = [cfg.budget - other_load] * cfg.phases
            self.usage = [tuple((p, 1.0) for p in supply_phases(e)) for e in cfg.evses]
            self.sun_share = [p.solar / (volts * cfg.phases) for p in pieces]
        else:
            base = [(cfg.budget - other_load) / volts]
            self.usage = [((0, float(e.phases)),) for e in cfg.evses]
            self.sun_share = [p.solar / volts for p in pieces]
        self.base = base
        self.sun_pool = [p.solar / volts for p in pieces]  # phase-amperes of expected export
        self.k = [float(e.phases) for e in cfg.evses]
        self.max = [round_down(min(cfg.evse_max_current(i), (vehicles or {}).get(i, math.inf)), cfg.step,
                               cfg.min_current) for i in range(len(cfg.evses))]
        self.used = [[0.0] * len(base) for _ in pieces]
        self.sun_used = [0.0] * len(pieces)  # phase-amperes of export taken
        self.alloc: dict[int, list[list[float]]] = {}  # index -> per piece [solar A, grid A]
        # the order of a piece's grid energy: its price (unknown last), the latest first
        self.keys = [(math.inf if p.price is None else p.price, -p.start) for p in pieces]

    def room(self, i: int, p: int, own: bool) -> float:
        """Return the A per phase member ``i`` may add in piece ``p`` (less a margin for a newcomer)."""
        free = min((self.base[c] + self.sun_share[p] - self.used[p][c]) / w for c, w in self.usage[i])
        return free if own else free - self.cfg.raise_margin

    def add(self, i: int, p: int, kind: int, amps: float) -> None:
        """Give member ``i`` ``amps`` more (or less) A of export (``kind`` 0) or grid (1) in piece ``p``."""
        own = self.alloc.setdefault(i, [[0.0, 0.0] for _ in self.pieces])
        before = own[p][0] + own[p][1] > EPS
        own[p][kind] += amps
        after = own[p][0] + own[p][1] > EPS
        margin = self.cfg.raise_margin * (after - before)  # a member in a piece keeps raise_margin
        for c, w in self.usage[i]:
            self.used[p][c] += w * (amps + margin)
        if kind == 0:
            self.sun_used[p] += self.k[i] * amps

    def fits(self, p: int) -> bool:
        """Return True when piece ``p``'s plan fits its capacity on every constraint."""
        return all(u <= b + self.sun_share[p] + EPS for u, b in zip(self.used[p], self.base, strict=True))

    def improve(self, departures: dict[int, float]) -> None:
        """Move grid energy to a cheaper piece where another member makes room.

        The other member moves to a piece cheaper than the one left: an exchange the
        member-by-member pass cannot see (a member at its maximum in a cheap piece, another that
        filled a piece the first could have shared). Only between members on the same constraints;
        bounded to ``IMPROVE_PASSES`` passes.
        """
        keys = self.keys
        n = len(self.pieces)
        window = {i: sorted((p for p in range(n) if self.pieces[p].end <= d + EPS), key=keys.__getitem__)
                  for i, d in departures.items()}
        for _ in range(IMPROVE_PASSES):
            moved = False
            for i, own in self.alloc.items():
                for q in sorted((q for q in range(n) if own[q][1] > EPS), key=keys.__getitem__, reverse=True):
                    for p in window[i]:
                        if keys[p] >= keys[q]:
                            break
                        moved |= self.exchange(i, q, p, window)
            if not moved:
                break

    def exchange(self, i: int, q: int, p: int, window: dict[int, list[int]]) -> bool:
        """Move member ``i`` from piece ``q`` to ``p`` while another leaves ``p`` for one cheaper than ``q``.

        Return True when something moved.
        """
        cfg = self.cfg
        own = self.alloc[i]
        hp = self.pieces[p].hours
        for j, other in self.alloc.items():
            if j == i or other[p][1] <= EPS or self.usage[j] != self.usage[i]:
                continue
            for r in window[j]:
                if self.keys[r] >= self.keys[q]:
                    break
                if r == p:
                    continue
                spare_j = min(self.max[j] - sum(other[r]), self.room(j, r, sum(other[r]) > EPS))
                spare_i = self.max[i] - sum(own[p])
                amps = min(spare_i, other[p][1], own[q][1] * self.pieces[q].hours / hp,
                           spare_j * self.pieces[r].hours / hp)
                gain = amps * hp / self.pieces[r].hours
                if amps <= 1e-6 or (sum(other[r]) <= EPS and spare_j < cfg.min_current - EPS
                                    and not self.shared(r, 0.0, gain)) or (
                        sum(own[p]) <= EPS and spare_i < cfg.min_current - EPS):
                    continue  # (a member new in a piece must be able to charge there, as in ``plan``)
                moves = ((j, p, -amps), (j, r, gain), (i, p, amps),
                         (i, q, -amps * hp / self.pieces[q].hours))
                for who, where, a in moves:
                    self.add(who, where, 1, a)
                if self.fits(p) and self.fits(r) and self.fits(q):
                    return True
                for who, where, a in reversed(moves):
                    self.add(who, where, 1, -a)
        return False

    def shared(self, p: int, have: float, add: float) -> bool:
        """Return True when piece ``p`` gives every member in it ``min_current`` on average.

        With ``add`` more A for a member that has ``have``. The round then shares the piece out: a
        member planned below ``min_current`` is driven at it, and the others, planned above it, get less.
        """
        amounts = [a[p][0] + a[p][1] for a in self.alloc.values()]
        count = sum(1 for a in amounts if a > EPS) + (1 if have <= EPS else 0)
        return count > 1 and sum(amounts) + add >= self.cfg.min_current * count - EPS

    def alone(self, i: int, departure: float) -> float:
        """Wh member ``i`` could reach by ``departure`` with the supply to itself."""
        total = 0.0
        for p, piece in enumerate(self.pieces):
            if piece.end <= departure + EPS:
                free = min((self.base[c] + self.sun_share[p]) / w for c, w in self.usage[i]) - self.cfg.raise_margin
                amps = min(self.max[i], free)
                if amps >= self.cfg.min_current - EPS:
                    total += amps * self.k[i] * self.cfg.voltage * piece.hours
        return total

    def plan(self, i: int, need: float, departure: float) -> float:
        """Allocate member ``i``'s ``need`` Wh, cheapest first; return the Wh allocated."""
        cfg = self.cfg
        own = self.alloc.setdefault(i, [[0.0, 0.0] for _ in self.pieces])
        segments = []
        for p, piece in enumerate(self.pieces):
            if piece.end > departure + EPS:
                continue
            if piece.solar > 0:
                segments.append((0.0, -piece.start, 0, p))
            segments.append((*self.keys[p], 1, p))
        segments.sort()
        left = need
        for _value, _start, kind, p in segments:
            if left <= EPS:
                break
            have = own[p][0] + own[p][1]
            wh_per_amp = self.k[i] * cfg.voltage * self.pieces[p].hours
            limit = min(self.room(i, p, have > 0), self.max[i] - have)
            if kind == 0:
                limit = min(limit, (self.sun_pool[p] - self.sun_used[p]) / self.k[i])
            add = min(limit, left / wh_per_amp)
            if add <= EPS:
                continue
            if have + limit < cfg.min_current - EPS and not (kind == 1 and self.shared(p, have, add)):
                continue  # below min_current it cannot charge here, unless the round shares the slot out
            # (less than min_current for a need's last bit: it runs at min_current for part of the slot)
            self.add(i, p, kind, add)
            left -= add * wh_per_amp
        return need - max(0.0, left)
