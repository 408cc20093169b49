"""Numbers: current and active-power limits, the maximum charging session, and the members' plan energies.

Current limits (1, 31, 80; A), active-power limits (2, 32, 81; W), maximum session (6; s).

Source: manual, "Communication Objects". A limit's state is its status object (3/61/110 for current,
4/63/112 for power) when linked and known, otherwise the last value written or seen on the bus,
otherwise the restored value. Ranges: current 0 (pause) or 6 A up to the "Maximum User Current"
parameter (1-5 A are refused with a translated error and nothing is sent); power 0 up to what the
model can draw; session 0-65535 s. A limit that acts on a balancing-group member becomes its
override or is refused (``group.writes``).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import RestoreNumber
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charger.commands import MAX_SESSION_SECONDS
from .charger.coordinator import ChargerCoordinator
from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import NUMBERS, KnxEvseNumberEntityDescription
from .group.entities import async_add_group_entities
from .group.writes import route_manual_write
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers of every charger, and the plan energies of every group's members, each under its charger subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseNumber, NUMBERS)
    for group in entry.runtime_data.groups.values():
        async_add_group_entities(async_add_entities, group, "number")


class KnxEvseNumber(KnxEvseEntity, RestoreNumber):
    """A numeric command object with its status object as state."""

    entity_description: KnxEvseNumberEntityDescription

    def __init__(self, coordinator: ChargerCoordinator, description: KnxEvseNumberEntityDescription) -> None:
        """Set the range from the charger's parameters."""
        super().__init__(coordinator, description)
        self.status_number = self._link_status(description.status_number)
        self._attr_native_min_value = 0
        if description.kind == "current":
            self._attr_native_max_value = coordinator.params.max_user_current
        elif description.kind == "power":
            self._attr_native_max_value = coordinator.max_power(description.connector)
        else:
            self._attr_native_max_value = MAX_SESSION_SECONDS
        self._restored: float | None = None

    @property
    def native_value(self) -> float | None:
        """Status object if known, else the last value written/seen, the restored value, the ETS value."""
        value = self._known_value(self.status_number, self._restored)[0]
        return None if value is None else float(value)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """``value_source``: where the value comes from (``entity.VALUE_SOURCES``)."""
        return {"value_source": self._known_value(self.status_number, self._restored)[1]}

    async def async_added_to_hass(self) -> None:
        """Restore the last value for when nothing is known yet."""
        if (last := await self.async_get_last_number_data()) is not None and last.native_value is not None:
            self._restored = float(last.native_value)
        await super().async_added_to_hass()

    async def async_set_native_value(self, value: float) -> None:
        """Route to a managing balancing group, else validate and write.

        Raises translated ServiceValidationError (nothing sent) when refused.
        """
        if route_manual_write(self.coordinator, self.object_number, value):
            return
        kind = self.entity_description.kind
        connector = self.entity_description.connector
        if kind == "current":
            await self.coordinator.async_set_current_limit(connector, value)
        elif kind == "power":
            await self.coordinator.async_set_power_limit(connector, value)
        else:
            await self.coordinator.async_set_max_session_time(value)
