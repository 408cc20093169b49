"""Switches: 1-bit command objects.

Source: manual, "Communication Objects": start/stop charging (33/82, DPT 1.010) with its state from
"Charging" (37/86) when that object is linked, charger and connector block (25, 73/122), auto
disconnect (7), auto start (26), charging-time enables (54/57/60, 103/106/109), balancing on/off
(132) and pause/restart all charging (18). These objects cannot be read (flags C-W--): without a
linked status object the switch is optimistic (``assumed_state``), shows the last value written or
seen on the bus (after a Reset, the value the charger returns to: charger/reset.py), and keeps it
across restarts (``RestoreEntity``). A *Charge* or pause switch that
acts on a balancing-group member becomes its override or is refused (``group.writes``). Each
balancing group adds its on/off switch (group/entities.py).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .charger.coordinator import ChargerCoordinator
from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import SWITCHES, KnxEvseSwitchEntityDescription
from .group.entities import async_add_group_entities
from .group.writes import route_manual_write
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches of every charger and balancing group, each under its subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseSwitch, SWITCHES)
    for group in entry.runtime_data.groups.values():
        async_add_group_entities(async_add_entities, group, "switch")


class KnxEvseSwitch(KnxEvseEntity, SwitchEntity, RestoreEntity):
    """A 1-bit command object, with its status object as state when one is linked."""

    entity_description: KnxEvseSwitchEntityDescription

    def __init__(self, coordinator: ChargerCoordinator, description: KnxEvseSwitchEntityDescription) -> None:
        """Use the status object when the charger has it (enabled and linked)."""
        super().__init__(coordinator, description)
        self.state_number = self._link_status(description.state_number)
        self._restored: bool | None = None

    @property
    def is_on(self) -> bool | None:
        """Status object if known, else the last value written/seen, the restored state, the ETS value."""
        value = self._known_value(self.state_number, self._restored)[0]
        return None if value is None else bool(value)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """``value_source``: where the state comes from (``entity.VALUE_SOURCES``)."""
        return {"value_source": self._known_value(self.state_number, self._restored)[1]}

    async def async_added_to_hass(self) -> None:
        """Restore the last state for when nothing is known yet."""
        if (last := await self.async_get_last_state()) is not None and last.state in ("on", "off"):
            self._restored = last.state == STATE_ON
        await super().async_added_to_hass()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Write 1 (start, block, enable, on)."""
        await self._async_write(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Write 0 (stop, unblock, disable, off)."""
        await self._async_write(False)

    async def _async_write(self, on: bool) -> None:
        """Route to a balancing group that manages the object, else write it."""
        if not route_manual_write(self.coordinator, self.object_number, on):
            await self.coordinator.async_write_object(self.object_number, on)
