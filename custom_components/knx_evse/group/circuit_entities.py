"""Entities of a balancing group's circuits, generated from entity descriptions, one device per circuit.

Each circuit is a device (``circuits.Circuit.device_info``, linked to the group's device) with:

- ``sensor`` *Available current* (``available_current``, A per phase): what is left in the circuit
  for its members after the margin and its other load (``CircuitStatus.available``); unknown in the
  fallback, while the group is off and before the first round.
- ``sensor`` *State* (``circuit_state``, enum): ``ok``; ``fallback`` (its members are in the
  fallback: a meter above it, or the supply's, is not usable); ``meter_problem`` (its own meter).

Unique ids: ``<group subentry id>_circuit_<circuit id>_<key>`` (``circuit_unique_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfElectricCurrent

from .circuits import CIRCUIT_STATES, Circuit
from .entity_base import BalancingEntity

if TYPE_CHECKING:
    from .group import BalancingGroup


@dataclass(frozen=True, kw_only=True)
class CircuitSensorEntityDescription(SensorEntityDescription):
    """A sensor of one circuit: ``value_fn(circuit)``."""

    value_fn: Callable[[Circuit], float | str | None]


CIRCUIT_SENSORS: tuple[CircuitSensorEntityDescription, ...] = (
    CircuitSensorEntityDescription(
        key="available_current",
        translation_key="available_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda circuit: circuit.available,
    ),
    CircuitSensorEntityDescription(
        key="state",
        translation_key="circuit_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(CIRCUIT_STATES),
        value_fn=lambda circuit: circuit.state,
    ),
)


def circuit_unique_id(group: BalancingGroup, circuit: Circuit, key: str) -> str:
    """Return the unique id of a circuit's entity."""
    return f"{group.subentry_id}_circuit_{circuit.id}_{key}"


def circuit_unique_ids(group: BalancingGroup) -> set[str]:
    """Return the unique ids of every circuit entity of ``group``."""
    return {circuit_unique_id(group, c, d.key) for c in group.circuits.items for d in CIRCUIT_SENSORS}


class CircuitSensor(BalancingEntity, SensorEntity):
    """A sensor of one circuit (``CircuitSensorEntityDescription``), on the circuit's device."""

    entity_description: CircuitSensorEntityDescription

    def __init__(self, group: BalancingGroup, circuit: Circuit, description: CircuitSensorEntityDescription) -> None:
        """Attach to ``circuit`` of ``group``: its unique id and device."""
        super().__init__(group, description)
        self.circuit = circuit
        self._attr_unique_id = circuit_unique_id(group, circuit, description.key)
        self._attr_device_info = circuit.device_info

    @property
    def native_value(self) -> float | str | None:
        """The description's value of the circuit."""
        return self.entity_description.value_fn(self.circuit)


def circuit_sensors(group: BalancingGroup) -> list[CircuitSensor]:
    """Return the sensors of every circuit of ``group``."""
    return [CircuitSensor(group, c, d) for c in group.circuits.items for d in CIRCUIT_SENSORS]
