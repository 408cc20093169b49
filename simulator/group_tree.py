"""A balancing group written as a tree of circuits in an installation file → the group subentry's data.

An installation's ``balancing_groups`` entry may carry a ``tree`` instead of flat ``members`` and
``circuits`` (the nesting of ``balancing.tree_from_dict``, with Home Assistant's member dicts)::

    tree:
      members: [{charger: Bay 1, connector: 0, max_current: 16}]   # directly under the supply
      circuits:
        - {id: garage, name: Garage board, limit: 32, unit: A, meter: simulated,
           members: [...], circuits: [...]}

`flatten_group` returns the subentry's data (``group/data.py``): ``circuits`` flat with their
``parent``, the members in priority order as written, depth first (the supply's, then each
circuit's before its children's), each with its ``circuit``; a member's ``charger`` may be a
charger's name (replaced by its individual address). ``meter: simulated`` makes the simulator
measure that circuit (`CircuitMeter`: its chargers at and below it, plus ``other_load`` A per phase)
and sets the circuit's ``meter`` to the three per-phase sensors ``meter_entity`` names.
Errors: `ValueError` naming the circuit or member.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.util import slugify

from custom_components.knx_evse.const import CONF_CHARGER_IA, CONF_NAME

_CIRCUIT_KEYS = frozenset({"id", "name", "limit", "unit", "meter", "invert", "other_load", "members", "circuits"})


@dataclass(frozen=True, slots=True)
class CircuitMeter:
    """A simulated circuit meter: circuit ``id`` named ``name``, the chargers at and below it.

    ``chargers`` are charger names; ``other_load`` is A on each phase besides them (a garage's ventilation).
    """

    id: str
    name: str
    chargers: tuple[str, ...]
    other_load: float = 0.0


def meter_entity(circuit_name: str, phase: int) -> str:
    """Return the entity id of a simulated circuit meter's phase current (``sensor.garage_board_l1_current``)."""
    return f"sensor.{slugify(f'{circuit_name} L{phase} current')}"


def flatten_group(
    raw: Mapping[str, Any], chargers: tuple[dict[str, Any], ...]
) -> tuple[dict[str, Any], tuple[CircuitMeter, ...]]:
    """Return (the group's subentry data, its simulated circuit meters) from ``raw`` with a ``tree``.

    ``chargers`` are the installation's charger subentries (names and individual addresses).
    A group without ``tree`` is returned unchanged with no meters.
    """
    if "tree" not in raw:
        return dict(raw), ()
    addresses = {c[CONF_NAME]: c[CONF_CHARGER_IA] for c in chargers}
    circuits: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    meters: list[CircuitMeter] = []

    def add_members(items: Any, circuit: str | None) -> list[str]:
        names = []
        for item in _mappings(items, f"members of {circuit or 'the supply'}"):
            charger = str(item.get("charger", ""))
            if charger not in addresses and charger not in addresses.values():
                raise ValueError(f"member {dict(item)!r} in {circuit or 'the supply'}: no charger {charger!r}")
            members.append({**item, "charger": addresses.get(charger, charger), "circuit": circuit})
            names.append(next(n for n, ia in addresses.items() if charger in (n, ia)))
        return names

    def walk(items: Any, parent: str | None) -> list[str]:
        below: list[str] = []
        for item in _mappings(items, f"circuits of {parent or 'the supply'}"):
            extra = set(item) - _CIRCUIT_KEYS
            if extra or "id" not in item or "limit" not in item:
                raise ValueError(f"circuit {dict(item)!r}: needs id and limit, knows {sorted(_CIRCUIT_KEYS)}")
            cid, name = str(item["id"]), str(item.get("name") or item["id"])
            circuit = {"id": cid, "name": name, "limit": item["limit"], "unit": item.get("unit", "A"),
                       "parent": parent, "meter": [], "invert": bool(item.get("invert", False))}
            circuits.append(circuit)
            names = add_members(item.get("members", ()), cid) + walk(item.get("circuits", ()), cid)
            meter = item.get("meter")
            if meter == "simulated":
                circuit["meter"] = [meter_entity(name, n) for n in (1, 2, 3)]
                meters.append(CircuitMeter(cid, name, tuple(dict.fromkeys(names)), float(item.get("other_load", 0.0))))
            elif meter:
                circuit["meter"] = [meter] if isinstance(meter, str) else list(meter)
            below += names
        return below

    tree = raw["tree"]
    add_members(tree.get("members", ()), None)
    walk(tree.get("circuits", ()), None)
    data = {k: v for k, v in raw.items() if k != "tree"}
    return {**data, "members": members, "circuits": circuits}, tuple(meters)


def _mappings(items: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(items, list | tuple) or not all(isinstance(x, Mapping) for x in items):
        raise ValueError(f"{what} must be a list of mappings, got {items!r}")
    return list(items)
