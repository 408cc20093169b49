"""Base entity of knx_evse: one charger device, connectors as sub-devices, push updates.

Every entity belongs to a ``ChargerCoordinator`` and shows (or commands) one communication object
described by a ``KnxEvseEntityDescription``. It has a translated name (``has_entity_name``), is
unavailable while the hub's KNX connection is down, and writes its state only when one of the
objects it listens to changes (``listened_objects``) or availability changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charger.coordinator import ChargerCoordinator
from .entity_descriptions import KnxEvseEntityDescription, descriptions_for, unique_id

if TYPE_CHECKING:
    from .runtime import KnxEvseConfigEntry

VALUE_SOURCES = ("status", "charger", "restored", "parameters", "unknown")
"""Where a command entity's state comes from (its ``value_source`` attribute)."""


class KnxEvseEntity(Entity):
    """An entity of one communication object of one charger."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _status_link: int | None = None
    """The linked status object that ``_link_status`` kept, also listened to."""
    entity_description: KnxEvseEntityDescription

    def __init__(self, coordinator: ChargerCoordinator, description: KnxEvseEntityDescription) -> None:
        """Attach to ``coordinator``; the device is the charger or the description's connector."""
        self.coordinator = coordinator
        self.entity_description = description
        self._attr_unique_id = unique_id(coordinator, description)
        self._attr_device_info = coordinator.device_info(description.connector)

    @property
    def object_number(self) -> int:
        """The communication object this entity shows or commands."""
        return self.entity_description.object_number

    @property
    def listened_objects(self) -> tuple[int, ...]:
        """Objects whose changes update this entity (the object itself, plus its linked status object)."""
        number = self.entity_description.object_number
        return (number,) if self._status_link is None else (number, self._status_link)

    def _link_status(self, status_number: int | None) -> int | None:
        """Keep ``status_number`` when the charger has it (enabled and linked); else assume state.

        The kept number is also listened to (``listened_objects``).
        """
        linked = status_number if status_number is not None and self.coordinator.has_object(status_number) else None
        self._attr_assumed_state = linked is None
        self._status_link = linked
        return linked

    def _command_value(self, status_number: int | None) -> Any:
        """Status object's value if known, else the command object's last value written/seen, else None."""
        return self._known_value(status_number, None)[0]

    def _known_value(self, status_number: int | None, restored: Any) -> tuple[Any, str]:
        """Return the value of a command object and where it comes from (``VALUE_SOURCES``).

        The status object (``"status"``), else what was written or seen on the bus or is known after a
        Reset (``"charger"``), else the state restored from before the restart (``"restored"``), else
        the ETS parameter's value the charger starts with (``"parameters"``, ``reset.reset_values``),
        else ``(None, "unknown")``: a write-only object nobody has written yet.
        """
        if status_number is not None and (status := self.coordinator.value(status_number)) is not None:
            return status, "status"
        if (value := self.coordinator.value(self.object_number)) is not None:
            return value, "charger"
        if restored is not None:
            return restored, "restored"
        if (value := self.coordinator.ets_value(self.object_number)) is not None:
            return value, "parameters"
        return None, "unknown"

    @property
    def available(self) -> bool:
        """Unavailable while the KNX connection of the hub is down."""
        return self.coordinator.available

    async def async_added_to_hass(self) -> None:
        """Subscribe to the coordinator once added (after any restore in subclasses)."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_listener(self._handle_coordinator_update, self.listened_objects)
        )

    @callback
    def _handle_coordinator_update(self, number: int | None) -> None:
        """Write the state: object ``number`` changed, or availability changed (None)."""
        self.async_write_ha_state()


@callback
def async_add_charger_entities[DescriptionT: KnxEvseEntityDescription](
    entry: KnxEvseConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity: Callable[[ChargerCoordinator, DescriptionT], Entity],
    descriptions: tuple[DescriptionT, ...],
) -> None:
    """Add every charger's entities of ``descriptions`` (those it has), each under its subentry."""
    for subentry_id, coordinator in entry.runtime_data.chargers.items():
        async_add_entities(
            [entity(coordinator, description) for description in descriptions_for(coordinator, descriptions)],
            config_subentry_id=subentry_id,
        )
