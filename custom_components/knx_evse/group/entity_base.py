"""The base of a balancing group's entities: unique ids, device, and an update after every round."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription

if TYPE_CHECKING:
    from .group import BalancingGroup, Member


def unique_id(group: BalancingGroup, key: str, member: Member | None = None) -> str:
    """Return the unique id of a group entity (``<group>_<key>``) or member entity (``<group>_<member>_<key>``)."""
    return f"{group.subentry_id}_{key}" if member is None else f"{group.subentry_id}_{member.key}_{key}"


class BalancingEntity(Entity):
    """An entity of a balancing group, updated after every round of the group."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, group: BalancingGroup, description: EntityDescription, member: Member | None = None) -> None:
        """Attach to ``group`` (and ``member``): unique id, device and description."""
        self.balancing_group = group
        self.member = member
        self.entity_description = description
        self._attr_unique_id = unique_id(group, description.key, member)
        self._attr_device_info = group.device_info if member is None else member.device_info()

    async def async_added_to_hass(self) -> None:
        """Follow the group's rounds."""
        await super().async_added_to_hass()
        self.async_on_remove(self.balancing_group.async_add_listener(self._group_updated))

    @callback
    def _group_updated(self) -> None:
        self.async_write_ha_state()
