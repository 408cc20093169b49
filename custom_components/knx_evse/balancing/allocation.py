"""Pure allocation helpers: the budget from a meter reading, and max-min fair water-filling.

No state, no timing. ``Balancer`` combines these with priorities and timers.

Constraints are linear: constraint ``c`` has a capacity ``caps[c]``, and an EVSE given ``x`` A
uses ``w × x`` of every constraint ``(c, w)`` it belongs to. With ``current_control`` there is
one constraint per supply phase (weight 1 for each phase an EVSE draws from); without, a single
constraint in "phase-amperes" (W / V, weight = the EVSE's phases). Solar allocations add a
surplus constraint in phase-amperes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EPS = 1e-9
"""Tolerance in A for float comparisons against a capacity."""

Usage = tuple[tuple[int, float], ...]
"""The constraints one EVSE uses: ``((constraint index, weight), ...)``."""


def fits(caps: Sequence[float], usage: Usage, amps: float) -> bool:
    """Return True when ``amps`` for an EVSE with ``usage`` fits in every capacity of ``caps``."""
    return all(w * amps <= caps[c] + EPS for c, w in usage)


def reserve(caps: list[float], usage: Usage, amps: float) -> None:
    """Subtract ``amps`` for an EVSE with ``usage`` from ``caps``, in place (may go negative)."""
    for c, w in usage:
        caps[c] -= w * amps


def round_down(amps: float, step: float, floor: float) -> float:
    """``amps`` rounded down to the grid ``floor + k × step`` (k ≥ 0), never below ``floor``.

    Rule: "Round down to step"; "A limit is always 0 or between min_current and the EVSE
    maximum". The grid starts at ``floor`` (``min_current``), so with the defaults (6 A, 1 A)
    limits are whole amperes, and any two limits differ by a whole number of steps: a change is
    never smaller than ``step``. The caller guarantees ``amps ≥ floor`` up to float noise.
    """
    if amps <= floor:
        return floor
    return round(floor + math.floor((amps - floor) / step + EPS) * step, 9)


def water_fill(
    caps: Sequence[float],
    usages: Sequence[Usage],
    upper: Sequence[float],
) -> list[float]:
    """Max-min fair (progressive) filling from 0: everyone rises together until capped.

    Rule: "Every connected EVSE in fast gets an equal share (water-filling), capped by its
    own maximum. What one cannot take goes to the others." With several constraints (phases)
    this is progressive filling: all unfrozen EVSEs rise at one level; an EVSE freezes when it
    reaches its ``upper`` bound or when a constraint it uses becomes full.

    Args:
        caps: capacity of each constraint; negative values are treated as 0.
        usages: per EVSE, the constraints it uses with weights > 0.
        upper: per EVSE, the most it may get (≥ 0).

    Returns:
        The amount per EVSE, in the order of ``usages``. For every constraint the weighted sum
        is ≤ its capacity (up to float noise), and each amount is within [0, upper].

    Complexity: O(n log n + n × constraints).

    """
    n = len(usages)
    alloc = [0.0] * n
    if n == 0:
        return alloc
    m = len(caps)
    free = [max(0.0, c) for c in caps]  # capacity not yet taken by frozen EVSEs
    weight = [0.0] * m  # Σ weights of unfrozen EVSEs per constraint
    members: list[list[int]] = [[] for _ in range(m)]
    for i, usage in enumerate(usages):
        for c, w in usage:
            weight[c] += w
            members[c].append(i)
    frozen = [False] * n
    order = sorted(range(n), key=upper.__getitem__)
    pos = 0
    level = 0.0
    remaining = n

    def freeze(i: int, amount: float) -> None:
        frozen[i] = True
        alloc[i] = amount
        for c, w in usages[i]:
            weight[c] -= w
            free[c] -= w * amount

    while remaining:
        while pos < n and frozen[order[pos]]:
            pos += 1
        next_cap = upper[order[pos]] if pos < n else math.inf
        best_c = -1
        best_level = next_cap
        for c in range(m):
            if weight[c] > EPS:
                lvl = free[c] / weight[c]
                if lvl < best_level:
                    best_level, best_c = lvl, c
        level = max(level, best_level)
        if best_c < 0:
            i = order[pos]
            freeze(i, max(0.0, min(level, upper[i])))
            remaining -= 1
        else:
            for i in members[best_c]:
                if not frozen[i]:
                    freeze(i, max(0.0, min(level, upper[i])))
                    remaining -= 1
            weight[best_c] = 0.0
    return alloc
