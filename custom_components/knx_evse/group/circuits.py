"""A balancing group's circuits at run time: their meters, the core's verdict on their tree, their state.

Built from the group's validated data (``data.py``, ``circuits``) and its resolved members. The tree
is checked with the pure core's own rules (``data.circuit_problem``): when the core refuses it, the
group raises ``circuit_config_invalid`` (naming the problem) and does not balance, as when it is
off; the issue is deleted when the group is set up with a tree the core accepts. A circuit left
without a resolved member or child (its chargers were removed) is left out of the core's
configuration: it would hold nobody. Each round, every metered circuit's meter (``meter.CircuitMeter``)
is read like the group's, with the limits held for its stale members added (``members.reserve_stale``);
the core's ``Decision.circuits`` gives each circuit its state and available current, and a circuit
meter's problems raise ``circuit_meter_problem`` for that circuit.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from .. import issues
from ..balancing import CircuitConfig, CircuitStatus, Decision, MeterReading
from ..const import DOMAIN, MANUFACTURER
from .data import (
    CONF_CIRCUIT_ID,
    CONF_CIRCUITS,
    CONF_INVERT,
    CONF_METER,
    CONF_PARENT,
    circuit_configs,
    circuit_problem,
)
from .members import Member, reserve_stale
from .meter import CircuitMeter

_LOGGER = logging.getLogger(__name__)

CIRCUIT_STATES: Final = ("ok", "fallback", "meter_problem")
"""Values of a circuit's state sensor: balancing; its members in the fallback (a meter above it, or the
supply's, failed); its own meter failed."""


@dataclasses.dataclass(slots=True)
class Circuit:
    """One circuit: ``id``, ``name``, its ``meter`` (None without one), its ``status`` after the last round."""

    id: str
    name: str
    device_info: DeviceInfo
    meter: CircuitMeter | None = None
    status: CircuitStatus | None = None

    @property
    def state(self) -> str | None:
        """``ok``, ``fallback`` or ``meter_problem`` (``CIRCUIT_STATES``); None before a round or while idle."""
        status = self.status
        if status is None:
            return None
        if status.meter_state not in (None, "ok"):
            return "meter_problem"
        return "fallback" if status.fallback else "ok"

    @property
    def available(self) -> float | None:
        """A per phase left for its members (``CircuitStatus.available``), None in the fallback."""
        available = None if self.status is None else self.status.available
        return None if available is None else round(available, 2)


class GroupCircuits:
    """The circuits of one group (see the module docstring): ``items``, ``configs``, ``problem``."""

    def __init__(
        self, hass: HomeAssistant, data: Mapping[str, Any], members: list[Member], *, group: str,
        entry_id: str, subentry_id: str,
    ) -> None:
        """Check the tree with the core, build each circuit's meter and device, prune the empty ones."""
        self.hass = hass
        self.group = group
        self.entry_id = entry_id
        self.subentry_id = subentry_id
        stored = list(data.get(CONF_CIRCUITS) or [])
        self.problem = circuit_problem(data)
        """The core's refusal of the stored tree (``CircuitTreeError``), None when it accepts it."""
        self.parents: dict[str, str | None] = {c[CONF_CIRCUIT_ID]: c[CONF_PARENT] for c in stored}
        self.items: list[Circuit] = []
        for c in stored:
            key = f"{subentry_id}_{c[CONF_CIRCUIT_ID]}"
            meter = None
            if c[CONF_METER]:
                meter = CircuitMeter(
                    hass, list(c[CONF_METER]), invert=c[CONF_INVERT], group=group, circuit=c["name"],
                    circuit_key=key, entry_id=entry_id, subentry_id=subentry_id,
                )
            device = DeviceInfo(
                identifiers={circuit_identifier(subentry_id, c[CONF_CIRCUIT_ID])}, name=c["name"],
                manufacturer=MANUFACTURER, model="Circuit",
            )
            self.items.append(Circuit(c[CONF_CIRCUIT_ID], c["name"], device, meter))
        self.configs: tuple[CircuitConfig, ...] = () if self.problem else _pruned(circuit_configs(stored), members)
        """The circuits the core balances: the stored ones that hold a resolved member (or a circuit that does)."""
        used = {c.id for c in self.configs}
        self._metered = [c for c in self.items if c.meter is not None and c.id in used]

    @property
    def entity_ids(self) -> list[str]:
        """Every circuit meter's entities."""
        return [entity_id for c in self._metered if c.meter for entity_id in c.meter.entity_ids]

    def known(self) -> bool:
        """Return True when every circuit meter's entities exist and have values."""
        return all(c.meter.known() for c in self._metered if c.meter)

    def meters_ok(self) -> bool:
        """Return False while a circuit meter's last verdict is a problem (a re-reported value may end it)."""
        return all(c.meter.state in (None, "ok") for c in self._metered if c.meter)

    def below(self, circuit: str) -> set[str]:
        """Return ``circuit`` and the ids of every circuit under it."""
        found = {circuit}
        for child, parent in self.parents.items():
            if parent == circuit:
                found |= self.below(child)
        return found

    def read(self, members: list[Member]) -> dict[str, MeterReading | None]:
        """Return each metered circuit's reading for ``Balancer.update(circuits=...)``.

        The limits held for stale members at or below the circuit are added, as to the group's meter.
        """
        readings: dict[str, MeterReading | None] = {}
        for circuit in self._metered:
            assert circuit.meter is not None
            inside = self.below(circuit.id)
            readings[circuit.id] = reserve_stale(
                [m for m in members if m.evse.circuit in inside], circuit.meter.read()
            )
        return readings

    def record(self, decision: Decision, now: float, timeout: float, connected: bool) -> None:
        """Keep each circuit's status; track its meter's verdict (while connected) and its issue."""
        statuses = {s.id: s for s in decision.circuits}
        for circuit in self.items:
            circuit.status = statuses.get(circuit.id)
            if connected and circuit.meter is not None and circuit.status is not None:
                circuit.meter.update(circuit.status.meter_state or "ok", now, timeout)

    def clear(self) -> None:
        """Forget the statuses (the group is off or does not balance): the circuits' sensors are unknown."""
        for circuit in self.items:
            circuit.status = None

    def update_issue(self) -> None:
        """Raise ``circuit_config_invalid`` while the core refuses the tree, delete it otherwise."""
        if self.problem is None:
            issues.async_delete_issue(
                self.hass, issues.ISSUE_CIRCUIT_CONFIG_INVALID, entry_id=self.entry_id, subentry_id=self.subentry_id
            )
            return
        _LOGGER.error("%s: the circuits are refused, the group does not balance: %s", self.group, self.problem)
        issues.async_create_circuit_config_invalid_issue(
            self.hass, self.entry_id, self.subentry_id, group=self.group, problem=str(self.problem)
        )

    def register_devices(self, group_device: DeviceInfo) -> None:
        """Create the circuits' devices, each linked to the group's device (``via_device_id``)."""
        if not self.items:
            return
        registry = dr.async_get(self.hass)
        parent = registry.async_get_or_create(
            config_entry_id=self.entry_id, config_subentry_id=self.subentry_id, **group_device
        )
        for circuit in self.items:
            device = registry.async_get_or_create(
                config_entry_id=self.entry_id, config_subentry_id=self.subentry_id, **circuit.device_info
            )
            if device.via_device_id != parent.id:
                registry.async_update_device(device.id, via_device_id=parent.id)

    def diagnostics(self) -> list[dict[str, Any]]:
        """Return the circuits' part of the group's diagnostics."""
        return [
            {
                "id": c.id, "name": c.name, "state": c.state, "available": c.available,
                "meter": None if c.meter is None else c.meter.diagnostics(),
            }
            for c in self.items
        ]


def circuit_identifier(subentry_id: str, circuit: str) -> tuple[str, str]:
    """Device registry identifier of a circuit's device."""
    return (DOMAIN, f"{subentry_id}_circuit_{circuit}")


def _pruned(circuits: tuple[CircuitConfig, ...], members: list[Member]) -> tuple[CircuitConfig, ...]:
    """Return ``circuits`` without those that hold no member and no kept circuit (their chargers are gone)."""
    kept = list(circuits)
    while True:
        used = {m.evse.circuit for m in members} | {c.parent for c in kept}
        left = [c for c in kept if c.id in used]
        if len(left) == len(kept):
            return tuple(kept)
        kept = left
