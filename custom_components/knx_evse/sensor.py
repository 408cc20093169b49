"""Sensors of the charger's status objects and one lifetime-energy sensor per connector.

Status objects: limits, fail-safe values, power, currents, session time and energy, RFID, and the
pilot/OCPP state and error code as translated enums.

Source: manual, "Communication Objects" 3, 4, 11-17, 19, 34/35, 45-51, 61-64, 67 and their connector-2
copies (+49), and the balancing master's 130-136 (+15 per EVSE). The lifetime-energy sensor is
``device_class: energy``, ``state_class: total_increasing`` in Wh (shown in kWh), restored across
restarts and built by ``energy.LifetimeEnergy`` from objects 46/95 (with 45/94, 36/85, 37/86,
34/83, 35/84 as session evidence). The balancing groups add theirs (group/entities.py): assigned
limit and reason per member, available current and state per group.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

from homeassistant.components.sensor import RestoreSensor, SensorEntity, SensorExtraStoredData
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from xknx.dpt.dpt import DPTEnumData

from .charger.coordinator import ChargerCoordinator
from .charger.energy import LifetimeEnergy
from .charger.session import feed, listened
from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import (
    LIFETIME_ENERGY,
    SENSORS,
    KnxEvseLifetimeEnergyEntityDescription,
    KnxEvseSensorEntityDescription,
)
from .group.entities import async_add_group_entities
from .runtime import KnxEvseConfigEntry

_LOGGER = logging.getLogger(__name__)

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every charger and balancing group, each under its subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseSensor, SENSORS)
    async_add_charger_entities(entry, async_add_entities, KnxEvseLifetimeEnergySensor, LIFETIME_ENERGY)
    for group in entry.runtime_data.groups.values():
        async_add_group_entities(async_add_entities, group, "sensor")


class KnxEvseSensor(KnxEvseEntity, SensorEntity):
    """A status object's last value; enums as their lower-case member name (translated state)."""

    entity_description: KnxEvseSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """Last decoded value: A, W, Wh, s, text, or the enum option."""
        value = self.coordinator.value(self.object_number)
        if isinstance(value, DPTEnumData):
            return value.name.lower()
        return value  # type: ignore[no-any-return]


@dataclass
class LifetimeEnergyExtraStoredData(SensorExtraStoredData):
    """Sensor restore data plus the accumulator's state (``LifetimeEnergy.as_dict``)."""

    lifetime: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Sensor data with a ``lifetime`` key."""
        return {**super().as_dict(), "lifetime": self.lifetime}

    @classmethod
    def from_dict(cls, restored: dict[str, Any]) -> Self | None:
        """Parse stored data; None when it is not lifetime data."""
        sensor = SensorExtraStoredData.from_dict(restored)
        lifetime = restored.get("lifetime")
        if sensor is None or not isinstance(lifetime, dict):
            return None
        return cls(sensor.native_value, sensor.native_unit_of_measurement, lifetime)


class KnxEvseLifetimeEnergySensor(KnxEvseEntity, RestoreSensor):
    """Monotonic lifetime energy of one connector (Wh) for the Energy dashboard."""

    entity_description: KnxEvseLifetimeEnergyEntityDescription

    def __init__(
        self, coordinator: ChargerCoordinator, description: KnxEvseLifetimeEnergyEntityDescription
    ) -> None:
        """Start empty; the stored state is restored when added to Home Assistant."""
        super().__init__(coordinator, description)
        self.lifetime = LifetimeEnergy()
        self._known = False

    @property
    def listened_objects(self) -> tuple[int, ...]:
        """Session energy, and the objects giving session evidence."""
        return listened(self.entity_description)

    @property
    def native_value(self) -> float | None:
        """Wh counted so far; unknown until restored or until the first session reading."""
        return round(self.lifetime.total_wh, 3) if self._known else None

    @property
    def extra_restore_state_data(self) -> LifetimeEnergyExtraStoredData:
        """Store the accumulator along with the sensor value."""
        return LifetimeEnergyExtraStoredData(
            self.native_value, self.native_unit_of_measurement, self.lifetime.as_dict()
        )

    async def async_added_to_hass(self) -> None:
        """Restore the accumulator, subscribe, then count values that arrived before."""
        if (extra := await self.async_get_last_extra_data()) is not None:
            self._restore(extra.as_dict())
        await super().async_added_to_hass()
        d = self.entity_description
        for number in (d.session_time_number, d.charging_number, d.connected_number, d.object_number):
            if self.coordinator.state(number) is not None:
                self._feed(number)

    def _restore(self, data: dict[str, Any]) -> None:
        stored = LifetimeEnergyExtraStoredData.from_dict(data)
        try:
            if stored is not None:
                self.lifetime = LifetimeEnergy.from_dict(stored.lifetime)
            elif (sensor := SensorExtraStoredData.from_dict(data)) is not None and isinstance(
                sensor.native_value, int | float
            ):
                self.lifetime = LifetimeEnergy(total_wh=float(sensor.native_value))
            else:
                return
        except ValueError as err:
            _LOGGER.warning("%s: stored lifetime energy not restored: %s", self.entity_id, err)
            return
        self._known = True

    def _feed(self, number: int) -> bool:
        """Pass object ``number``'s last value to the accumulator; True when the total changed."""
        if self.coordinator.state(number) is None:
            return False
        changed = feed(self.lifetime, self.coordinator, self.entity_description, number)
        if number == self.entity_description.object_number and not self._known:
            self._known = True
            return True
        return changed

    @callback
    def _handle_coordinator_update(self, number: int | None) -> None:
        """Count the reading; write the state when the total or availability changed."""
        if number is None or self._feed(number):
            self.async_write_ha_state()
