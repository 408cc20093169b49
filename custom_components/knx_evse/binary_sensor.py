"""Binary sensors of the charger's 1-bit status objects.

Fail-safe status (10), communication error with EVSE (20), the connectors' individual status
objects (36-44, 85-93) and the balancing master's pause/restart outputs (137 + 15·n).

Source: manual, "Communication Objects". Device classes: plug (36/85), battery charging (37/86),
problem (10, 20, 44/93), running (137…). The balancing groups add their "Meter problem" sensor
(group/entities.py).
"""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import BINARY_SENSORS, KnxEvseBinarySensorEntityDescription
from .group.entities import async_add_group_entities
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the binary sensors of every charger and balancing group, each under its subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseBinarySensor, BINARY_SENSORS)
    for group in entry.runtime_data.groups.values():
        async_add_group_entities(async_add_entities, group, "binary_sensor")


class KnxEvseBinarySensor(KnxEvseEntity, BinarySensorEntity):
    """A 1-bit status object; unknown until its first telegram."""

    entity_description: KnxEvseBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """The object's last value."""
        value = self.coordinator.value(self.object_number)
        return None if value is None else bool(value)
