"""Buttons: charger reset (5), erase all RFID tags (9), connector unlock (65/114).

Source: manual, "Communication Objects" (DPT 1.015 reset, 1.017 trigger). Pressing writes 1 to the
object's sending group address.
"""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import BUTTONS, KnxEvseButtonEntityDescription
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons of every charger, each under its charger subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseButton, BUTTONS)


class KnxEvseButton(KnxEvseEntity, ButtonEntity):
    """A trigger object."""

    entity_description: KnxEvseButtonEntityDescription

    async def async_press(self) -> None:
        """Write 1 (reset / erase / unlock); raises translated errors when it cannot be sent."""
        await self.coordinator.async_write_object(self.object_number, True)
