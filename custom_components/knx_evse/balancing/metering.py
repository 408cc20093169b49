"""How a meter reading becomes room: its checks (``MeterState``), its units and its phases.

The supply's meter and every metered circuit's go through the same steps (docs/balancing.md,
"Budget" and "Circuits"): :func:`check` says whether a reading is usable and in which unit,
:func:`other_load` turns it into the load per supply phase that is not the EVSEs' to share, and
:func:`rooms` turns that into the room per constraint. All currents are A per supply phase, powers
W; a power limit's constraint is in phase-amperes (W / V).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .allocation import EPS
from .config import _finite as _number
from .readings import MeterReading, MeterState

Unit = Literal["A", "W"]


@dataclass(frozen=True, slots=True)
class MeterSpec:
    """What a meter measures: ``phases`` supply phases, ``unit`` of a bare float, ``bound_w`` (W) of an absurd reading."""

    phases: int
    unit: Unit
    voltage: float
    timeout: float
    bound_w: float


def check(meter: MeterReading | None, now: float, spec: MeterSpec) -> tuple[MeterState, Unit]:
    """Return the state of a reading and the unit of its value (``"ok"`` when usable).

    A tuple must have one current per supply phase and no unit ``"W"``; a float's unit is its own
    or ``spec.unit``; a timestamp more than ``timeout`` in the future is invalid, one more than
    ``timeout`` old is stale; a value beyond ``bound_w`` (or its current per phase) is absurd.
    """
    if meter is None or meter.value is None:
        return "unavailable", spec.unit
    value = meter.value
    unit: Unit
    if isinstance(value, tuple):
        if len(value) != spec.phases or meter.unit == "W" or not all(_number(x) for x in value):
            return "invalid", spec.unit
        unit = "A"
    elif _number(value):
        own = meter.unit or spec.unit
        if own not in ("A", "W"):
            return "invalid", spec.unit
        unit = own
    else:
        return "invalid", spec.unit
    ts = meter.timestamp
    if not _number(ts) or now - ts < -spec.timeout:
        return "invalid", unit
    if now - ts > spec.timeout:
        return "stale", unit
    i_abs = spec.bound_w / (spec.voltage * spec.phases)
    if isinstance(value, tuple):
        if any(abs(x) > i_abs for x in value):
            return "absurd", unit
    elif abs(value) > (i_abs if unit == "A" else spec.bound_w):
        return "absurd", unit
    return "ok", unit


def other_load(
    value: float | tuple[float, ...], unit: Unit, ev: Sequence[float], *, voltage: float, worst: bool,
) -> tuple[list[float], float | None]:
    """Return the other load per supply phase (A, negative: export) and, where it is not their sum, the export.

    ``ev`` is the EVSEs' current per supply phase that is theirs to share. A per-phase reading
    gives each phase its own; a single current is every phase's, less the smallest EV share (no
    phase is underestimated); a total in W is spread over the phases, or with ``worst`` (a current
    limit on a three-phase total, not known to be balanced) counted in full on every phase, with
    the export (phase-amperes) returned apart, since an export on one phase makes no room on another.
    """
    nph = len(ev)
    if isinstance(value, tuple):
        return [float(x) - ev[p] for p, x in enumerate(value)], None
    if unit == "A":
        return [float(value) - min(ev)] * nph, None
    load = (float(value) - voltage * sum(ev)) / (voltage * nph)
    if worst and nph > 1:
        return [max(0.0, load * nph)] * nph, -sum([load] * nph)
    return [load] * nph, None


def rooms(
    budget: float, loads: Sequence[float], ev: Sequence[float], excess: Sequence[float], *,
    power: bool, per_phase: bool,
) -> tuple[list[float], list[float], list[bool]]:
    """Return (room, room for raises, over budget) per constraint of one limit.

    A current limit (``budget`` A per phase) has a constraint per phase; a power limit one, with
    ``budget`` already in phase-amperes. The room for raises leaves out reported currents above
    the EVSEs' limits (``excess`` per phase; the largest on every phase unless ``per_phase``).
    """
    if not power:
        caps = [budget - x for x in loads]
        over = [ev[p] > caps[p] + EPS for p in range(len(caps))]
        if per_phase:
            return caps, [c - excess[p] for p, c in enumerate(caps)], over
        return caps, [c - max(excess) for c in caps], over
    cap = budget - sum(loads)
    return [cap], [cap - sum(excess)], [sum(ev) > cap + EPS]
