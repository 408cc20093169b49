"""The checks at the end of ``scripts/develop --headless``: the live state's summary and the budget watch.

``live_summary``: the integration's entities (found by their object ids' prefixes, `entity_prefixes`)
with and without values, the grid meter, core knx's connection; ``deprecation_reports``: Home
Assistant's log lines on a deprecated use by the integration.

`BudgetWatch`: the limits a balancing group gives its members, summed per circuit and phase. Every
few seconds the run reads each member's *Balancing limit*
sensor (``assigned_limit``: the limit the group gave it in the last round, A per phase, 0 while
paused) and adds it, per supply phase the member draws from, to its circuit, every circuit above it
and the supply. In a circuit without a meter each sum must stay within the circuit's budget: its
limit x (1 - reserve margin), in A per phase (a limit in W is turned into A per phase over the
supply's phases); the core assumes no other load there, so its limits must fit the budget alone.
A metered circuit and the supply are only reported: their other load may be negative (solar
export), which lets the limits add up to more than the budget while the meter stays within it.

Members name their charger by individual address (as in the installation file); the member's
entity is found by its unique id ``<group subentry id>_<charger subentry id>_<connector>_assigned_limit``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from homeassistant.util import slugify

VOLTAGE = 230.0
SUPPLY = "supply"


def entity_prefixes(chargers: Sequence[Mapping[str, Any]], groups: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    """Object-id prefixes of the integration's entities: the chargers', groups' and circuits' names."""
    names = [c["name"] for c in chargers] + [g["name"] for g in groups]
    names += [c["name"] for g in groups for c in g.get("circuits") or []]
    return tuple(slugify(name) + "_" for name in names)


def live_summary(states: Sequence[Mapping[str, Any]], prefixes: tuple[str, ...]) -> dict[str, Any]:
    """The integration's entities in ``states`` (by ``prefixes``): counts, the unavailable ones, a sample."""
    ours = [s for s in states if s["entity_id"].split(".", 1)[1].startswith(prefixes)]
    unavailable = [s["entity_id"] for s in ours if s["state"] == "unavailable"]
    known = [s for s in ours if s["state"] not in ("unavailable", "unknown")]
    meter = next((s for s in states if s["entity_id"] == "sensor.grid_power"), None)
    core_knx = next((s for s in states if s["entity_id"].endswith("connection_established")), None)
    return {
        "entities": len(ours),
        "with_value": len(known),
        "unavailable": unavailable,
        "grid_power": meter["state"] if meter else None,
        "core_knx_connected_since": core_knx["state"] if core_knx else None,
        "sample": {s["entity_id"]: s["state"] for s in known[:12]},
    }


def deprecation_reports(log: Path) -> list[str]:
    """Lines of Home Assistant's log that report a deprecated use by this integration."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [line for line in lines if "knx_evse" in line and ("Detected that" in line or "deprecated" in line)]


@dataclass(slots=True)
class CircuitWatch:
    """One circuit (or the supply): its budget (A per phase), whether metered, the worst sum of limits per phase."""

    name: str
    budget: float
    metered: bool
    worst: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])


@dataclass(frozen=True, slots=True)
class MemberLoad:
    """A member's Balancing-limit entity, the supply phases it draws from and the circuits it counts in."""

    unique_id: str
    phases: tuple[int, ...]
    circuits: tuple[str, ...]


def member_phases(member: Mapping[str, Any], charger: Mapping[str, Any]) -> tuple[int, ...]:
    """Supply phases (0-2) a member's limit loads: all three for a three-phase charger, else its ``phase``
    (and the next one for a whole two-connector charger wired "different")."""
    params = charger["parameters"]
    if int(params["phases"]) == 3:
        return (0, 1, 2)
    first = int(member.get("phase", 1)) - 1
    shifted = params.get("phase_connection") == "different"
    connector = int(member.get("connector") or 0)
    if shifted and connector == 2:
        return ((first + 1) % 3,)
    if shifted and connector == 0:
        return (first, (first + 1) % 3)
    return (first,)


class BudgetWatch:
    """Watches one balancing group: ``sample(states)`` records the sums, ``report()`` says what it saw."""

    def __init__(self, group_id: str, group: Mapping[str, Any], chargers: Mapping[str, tuple[str, Mapping[str, Any]]]) -> None:
        """``group_id``: the group's subentry id; ``group``: its data; ``chargers``: individual address →
        (charger subentry id, charger data)."""
        margin = 1 - float(group.get("reserve_margin", 10.0)) / 100
        phases = int(group.get("phases", 1))
        root_amps = float(group["limit"]) if group.get("limit_mode", "current") == "current" else float(group["limit"]) / VOLTAGE / phases
        self.name = str(group["name"])
        self.circuits = {SUPPLY: CircuitWatch(f"{self.name} (supply)", root_amps * margin, metered=True)}
        parents: dict[str, str | None] = {}
        for circuit in group.get("circuits") or []:
            amps = float(circuit["limit"]) if circuit.get("unit", "A") == "A" else float(circuit["limit"]) / VOLTAGE / phases
            self.circuits[circuit["id"]] = CircuitWatch(str(circuit["name"]), amps * margin, metered=bool(circuit.get("meter")))
            parents[circuit["id"]] = circuit.get("parent")
        self.members: list[MemberLoad] = []
        for member in group.get("members") or []:
            charger_id, charger = chargers[member["charger"]]
            chain: list[str] = [SUPPLY]
            circuit = member.get("circuit")
            while circuit is not None and circuit not in chain:
                chain.append(circuit)
                circuit = parents.get(circuit)
            connector = int(member.get("connector") or 0)
            self.members.append(MemberLoad(f"{group_id}_{charger_id}_{connector}_assigned_limit",
                                           member_phases(member, charger), tuple(chain)))
        self.samples = 0
        self.highest_total = 0.0

    def sample(self, states: Sequence[Mapping[str, Any]], entity_ids: Mapping[str, str]) -> None:
        """Add up the members' Balancing limits in ``states``; ``entity_ids``: unique id → entity id."""
        by_entity = {s["entity_id"]: s["state"] for s in states}
        sums = {cid: [0.0, 0.0, 0.0] for cid in self.circuits}
        total = 0.0
        for load in self.members:
            try:
                amps = float(by_entity.get(entity_ids.get(load.unique_id, ""), "nan"))
            except ValueError:
                continue
            if amps != amps:  # nan: unknown, unavailable or no such entity
                continue
            total += amps
            for cid in load.circuits:
                for phase in load.phases:
                    sums[cid][phase] += amps
        self.samples += 1
        self.highest_total = max(self.highest_total, total)
        for cid, watch in self.circuits.items():
            watch.worst = [max(a, b) for a, b in zip(watch.worst, sums[cid], strict=True)]

    def over(self) -> list[str]:
        """Circuits without a meter whose sum of limits went above their budget on a phase (0.05 A of rounding)."""
        return [w.name for w in self.circuits.values() if not w.metered and max(w.worst) > w.budget + 0.05]

    def report(self) -> dict[str, Any]:
        """What the watch saw: samples, the highest sum of all limits, per circuit the budget and worst sums."""
        return {
            "samples": self.samples,
            "highest_total_limit": round(self.highest_total, 1),
            "circuits": {w.name: {"budget": round(w.budget, 1), "metered": w.metered,
                                  "worst": [round(a, 1) for a in w.worst]}
                         for w in self.circuits.values()},
            "over_budget": self.over(),
        }
