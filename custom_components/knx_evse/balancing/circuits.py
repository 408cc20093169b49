"""Circuits: a tree of limits under the supply, each with an optional meter (the data and its checks).

A circuit is a sub-distribution the members hang behind: a 3 × 40 A garage board under the
supply, a 32 A row of wallboxes inside it. Each has a limit (A per phase, or W), a parent (None:
the supply) and maybe a meter; each member (``EvseConfig.circuit``) sits in one circuit or, with
None, directly under the supply. How the round uses them: docs/balancing.md, "Circuits".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


def _positive(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0)


@dataclass(frozen=True, slots=True)
class CircuitConfig:
    """One circuit of a balancing group.

    Attributes:
        id: its key, unique in the group; members and children name it.
        limit: its protection device in A per phase (``unit`` ``"A"``), or its power in W
            (``unit`` ``"W"``, all phases together). The group's ``reserve_margin`` applies to it.
        unit: ``"A"`` or ``"W"``.
        parent: the id of the circuit it hangs in, or None for the supply.
        metered: True when a meter measures it; its readings go to ``Balancer.update(circuits=...)``
            with the shape, units, sign and staleness rules of the supply's meter.
        name: free text for logs and repairs; the id when empty.

    Raises:
        ValueError: for an empty id, a limit that is not a positive finite number, an unknown
            unit, a parent that is not None or a non-empty string, or ``metered`` not a bool.

    """

    id: str
    limit: float
    unit: Literal["A", "W"] = "A"
    parent: str | None = None
    metered: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"a circuit's id must be a non-empty string, got {self.id!r}")
        if not _positive(self.limit):
            raise ValueError(f"circuit {self.label!r}: limit must be a positive number of {self.unit}, "
                             f"got {self.limit!r}")
        if self.unit not in ("A", "W"):
            raise ValueError(f"circuit {self.label!r}: unit must be 'A' or 'W', got {self.unit!r}")
        if self.parent is not None and (not isinstance(self.parent, str) or not self.parent):
            raise ValueError(f"circuit {self.label!r}: parent must be None or a circuit id, got {self.parent!r}")
        if not isinstance(self.metered, bool):
            raise ValueError(f"circuit {self.label!r}: metered must be True or False, got {self.metered!r}")

    @property
    def label(self) -> str:
        """The name, or the id without one."""
        return self.name or self.id


CircuitProblem = Literal["type", "duplicate", "parent", "loop", "member", "limit", "empty"]


class CircuitTreeError(ValueError):
    """A circuit tree ``check_tree`` refuses: ``problem`` names the rule, ``circuit`` the circuit's id.

    ``circuit`` is None for a circuit that is not a ``CircuitConfig`` and for a member in an unknown
    circuit (the message names the EVSE). A ValueError, so callers of the core need not know it.
    """

    def __init__(self, problem: CircuitProblem, circuit: str | None, message: str) -> None:
        """Keep the rule and the circuit next to the message."""
        super().__init__(message)
        self.problem: CircuitProblem = problem
        self.circuit = circuit


def amps_per_phase(limit: float, unit: str, *, voltage: float, phases: int) -> float:
    """Return a limit in A per phase: as given in A, or W / (voltage × phases)."""
    return float(limit) if unit == "A" else float(limit) / (voltage * phases)


def check_tree(
    circuits: Sequence[CircuitConfig], members: Sequence[str | None], *, root_limit: float,
    root_unit: str, voltage: float, phases: int,
) -> None:
    """Raise CircuitTreeError (a ValueError) unless ``circuits`` form a tree the ``members`` fit.

    ``members`` is each EVSE's circuit id (None: the supply), EVSE1 first; ``root_limit`` in
    ``root_unit`` is the supply's. Refused, with the circuit or EVSE named: a circuit that is not
    a ``CircuitConfig``, a duplicate id, an unknown parent, a loop, a member in an unknown circuit,
    a limit above its parent's (the supply's for a top circuit; A and W compared in A per phase
    with ``voltage`` and ``phases``), and a circuit with neither members nor children. The error's
    ``problem`` says which (``CircuitProblem``), so a caller can translate it.
    """
    by_id: dict[str, CircuitConfig] = {}
    for c in circuits:
        if not isinstance(c, CircuitConfig):
            raise CircuitTreeError("type", None, f"expected a CircuitConfig, got {c!r}")
        if c.id in by_id:
            raise CircuitTreeError("duplicate", c.id, f"circuit id {c.id!r} is used twice")
        by_id[c.id] = c
    for c in circuits:
        if c.parent is not None and c.parent not in by_id:
            raise CircuitTreeError("parent", c.id,
                                   f"circuit {c.label!r}: its parent {c.parent!r} is not a circuit of the group")
    for c in circuits:
        seen = [c.id]
        up = c.parent
        while up is not None:
            if up in seen:
                loop = " -> ".join([*seen[seen.index(up):], up])
                raise CircuitTreeError("loop", c.id, f"circuit {c.label!r}: the circuits form a loop ({loop})")
            seen.append(up)
            up = by_id[up].parent
    for number, circuit in enumerate(members, start=1):
        if circuit is not None and circuit not in by_id:
            raise CircuitTreeError("member", None,
                                   f"EVSE{number}: its circuit {circuit!r} is not a circuit of the group")

    def amps(limit: float, unit: str) -> float:
        return amps_per_phase(limit, unit, voltage=voltage, phases=phases)

    for c in circuits:
        if c.parent is None:
            above, a_limit, a_unit = "the supply", root_limit, root_unit
        else:
            p = by_id[c.parent]
            above, a_limit, a_unit = f"its parent {p.label!r}", p.limit, p.unit
        over = c.limit > a_limit if c.unit == a_unit else amps(c.limit, c.unit) > amps(a_limit, a_unit) + 1e-9
        if over:
            raise CircuitTreeError("limit", c.id, f"circuit {c.label!r}: its limit ({c.limit:g} {c.unit}) is "
                                   f"above that of {above} ({a_limit:g} {a_unit})")
    used = {m for m in members if m is not None} | {c.parent for c in circuits if c.parent is not None}
    for c in circuits:
        if c.id not in used:
            raise CircuitTreeError("empty", c.id, f"circuit {c.label!r} has neither members nor circuits in it")
