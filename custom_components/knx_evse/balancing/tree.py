"""A balancing group's circuits and members from a plain description (a dict read from JSON or YAML).

The scripts (bench, replay, the demo) describe a site as nested circuits; this turns that into the
``circuits`` and ``evses`` of a :class:`~.config.BalancingConfig`. Reading the file is the
caller's: the core stays stdlib-only and takes the parsed dict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .circuits import CircuitConfig
from .config import EvseConfig

_CIRCUIT_KEYS = frozenset({"id", "name", "limit", "unit", "meter", "circuits", "evses"})
_EVSE_KEYS = frozenset(f.name for f in dataclasses.fields(EvseConfig)) - {"circuit"} | {"count"}


def tree_from_dict(data: Mapping[str, Any]) -> tuple[tuple[CircuitConfig, ...], tuple[EvseConfig, ...]]:
    """Return (circuits, evses) from a nested description; the EVSEs in priority order.

    ``data`` has ``evses`` (the members directly under the supply) and ``circuits``, each circuit
    a dict with ``id``, ``limit``, optional ``name``, ``unit`` (``"A"``, default, or ``"W"``),
    ``meter`` (bool), and its own ``evses`` and ``circuits``. An EVSE is a dict of
    ``EvseConfig`` fields (``max_current``, ``phases``, ``phase``, ``mode``, ...) and an optional
    ``count`` of identical members; unnamed ones are named after their circuit. Priority follows
    the order written, depth first: the supply's members, then each circuit's members before its
    children's. Example::

        {"evses": [{"max_current": 32, "phases": 3}],
         "circuits": [{"id": "garage", "limit": 40, "meter": True,
                       "circuits": [{"id": "row", "limit": 32,
                                     "evses": [{"max_current": 16, "count": 4}]}]}]}

    Raises:
        ValueError: for an unknown key, a missing id or limit, a count that is not a positive
            whole number, or anything ``CircuitConfig`` or ``EvseConfig`` refuses. The tree's
            shape (loops, limits above a parent's, empty circuits) is checked by
            ``BalancingConfig``.

    """
    circuits: list[CircuitConfig] = []
    evses: list[EvseConfig] = []

    def members(items: object, circuit: str | None) -> None:
        for item in _list(items, "evses"):
            extra = set(item) - _EVSE_KEYS
            if extra:
                raise ValueError(f"unknown EVSE key(s) {sorted(extra)} in circuit {circuit or 'supply'!r}")
            fields = {k: v for k, v in item.items() if k != "count"}
            count = item.get("count", 1)
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"an EVSE's count must be a whole number >= 1, got {count!r}")
            for _ in range(count):
                name = fields.get("name") or f"{circuit or 'supply'} {len(evses) + 1}"
                evses.append(EvseConfig(**{**fields, "name": name, "circuit": circuit}))

    def walk(items: object, parent: str | None) -> None:
        for item in _list(items, "circuits"):
            extra = set(item) - _CIRCUIT_KEYS
            if extra:
                raise ValueError(f"unknown circuit key(s) {sorted(extra)}")
            if "id" not in item or "limit" not in item:
                raise ValueError(f"a circuit needs an id and a limit, got {dict(item)!r}")
            circuit = CircuitConfig(id=item["id"], limit=item["limit"], unit=item.get("unit", "A"),
                                    parent=parent, metered=item.get("meter", False), name=item.get("name", ""))
            circuits.append(circuit)
            members(item.get("evses", ()), circuit.id)
            walk(item.get("circuits", ()), circuit.id)

    extra = set(data) - {"circuits", "evses"}
    if extra:
        raise ValueError(f"unknown key(s) {sorted(extra)}: a tree has circuits and evses")
    members(data.get("evses", ()), None)
    walk(data.get("circuits", ()), None)
    return tuple(circuits), tuple(evses)


def _list(items: object, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(items, (list, tuple)) or not all(isinstance(x, Mapping) for x in items):
        raise ValueError(f"{what} must be a list of mappings, got {items!r}")
    return list(items)
