"""Times: the departure of every balancing-group member's charging plan (see group/plan_entities.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .group.entities import async_add_group_entities
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the plan departures of every balancing group, each under its member's charger subentry."""
    for group in entry.runtime_data.groups.values():
        async_add_group_entities(async_add_entities, group, "time")
