"""Text: add an RFID tag authorisation (object 8, DPT 16.001, at most 14 ISO 8859-1 characters).

Source: manual, "Advanced → RFIDTag objects". Setting the value sends the tag; the state shows the
last tag sent (or seen on the bus) and is unknown after a restart.
"""

from __future__ import annotations

from homeassistant.components.text import TextEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import KnxEvseEntity, async_add_charger_entities
from .entity_descriptions import TEXTS, KnxEvseTextEntityDescription
from .runtime import KnxEvseConfigEntry

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the text entities of every charger, each under its charger subentry."""
    async_add_charger_entities(entry, async_add_entities, KnxEvseText, TEXTS)


class KnxEvseText(KnxEvseEntity, TextEntity):
    """The RFID tag command object."""

    entity_description: KnxEvseTextEntityDescription

    @property
    def native_value(self) -> str | None:
        """The last tag written (or seen on the bus)."""
        value = self.coordinator.value(self.object_number)
        return None if value is None else str(value)

    async def async_set_value(self, value: str) -> None:
        """Send ``value`` as a new authorised tag.

        Raises ServiceValidationError (nothing sent) when it is empty, longer than 14 characters or
        not ISO 8859-1.
        """
        await self.coordinator.async_add_rfid_tag(value)
