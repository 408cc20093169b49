"""Entities of the balancing groups (issue 6, "In Home Assistant" → Entities).

Per member (on the member's charger device, or its connector sub-device):

- ``select`` *Charge mode* (``charge_mode``): Off, Fast, Solar, Min+Solar. Restored across restarts,
  together with the member's one-shot override (``knx_evse.set_current_limit``), shown as its
  ``override`` attribute (A, 0 = paused; None when there is none).
- ``sensor`` *Assigned limit* (``assigned_limit``, A): the limit of the last round, 0 while paused.
- ``sensor`` *Balancing reason* (``balancing_reason``, enum): the core's ``Decision.reason`` word,
  or ``charger_stale``, ``group_disabled``, ``connection_lost``.

Per group (on the group's own device):

- ``sensor`` *Available current* (``available_current``, A per phase; balance mode only): what is
  left for the EVSEs after the margin and the other loads; unknown in fallback.
- ``sensor`` *State* (``group_state``, enum): balancing, fallback, disabled, bridge.
- ``binary_sensor`` *Meter problem* (``meter_problem``, device class problem): on while the meter is
  missing, stale, unavailable, non-numeric or absurd; attribute ``meter_state``.
- ``switch`` *Balancing* (``group_enabled``): turns the group on and off; restored across restarts.

Unique ids: ``<group subentry id>_<key>`` and ``<group subentry id>_<charger subentry
id>_<connector>_<key>`` (``BalancingGroup.unique_id``). All are pushed after every round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.select import SelectEntity
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorStateClass
from homeassistant.components.switch import SwitchEntity
from homeassistant.const import STATE_OFF, EntityCategory, UnitOfElectricCurrent
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from ..balancing import MODES, PAUSED_REASONS, RUNNING_REASONS
from ..compat import BinarySensorDeviceClass
from .group import EXTRA_REASONS, GROUP_STATES, BalancingGroup, Member

REASONS: tuple[str, ...] = tuple(sorted(RUNNING_REASONS | PAUSED_REASONS | set(EXTRA_REASONS)))
"""Options of the reason sensor."""


class BalancingEntity(Entity):
    """An entity of a balancing group, updated after every round of the group."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, group: BalancingGroup, key: str, member: Member | None = None) -> None:
        """Attach to ``group`` (and ``member``): unique id, device and translation key ``key``."""
        self.balancing_group = group
        self.member = member
        self._attr_unique_id = group.unique_id(key, member)
        self._attr_device_info = group.device_info if member is None else member.device_info()

    async def async_added_to_hass(self) -> None:
        """Follow the group's rounds."""
        await super().async_added_to_hass()
        self.async_on_remove(self.balancing_group.async_add_listener(self._group_updated))

    @callback
    def _group_updated(self) -> None:
        self.async_write_ha_state()


# -- per member ------------------------------------------------------------------------------------


@dataclass
class ChargeModeExtraData(ExtraStoredData):
    """Restore data of the charge-mode select: the member's override (A) or None."""

    override: float | None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict."""
        return {"override": self.override}

    @classmethod
    def from_dict(cls, restored: dict[str, Any]) -> Self | None:
        """Parse stored data; None when it holds no usable override entry."""
        value = restored.get("override")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return None
        return cls(None if value is None else float(value))


class ChargeModeSelect(BalancingEntity, SelectEntity, RestoreEntity):
    """Charge mode of one member: Off, Fast, Solar, Min+Solar (restored, with its override)."""

    _attr_options: list[str] = list(MODES)  # noqa: RUF012 (HA's attribute)

    def __init__(self, group: BalancingGroup, member: Member) -> None:
        """Select of ``member``'s mode."""
        super().__init__(group, "charge_mode", member)
        self._attr_translation_key = "charge_mode"

    @property
    def current_option(self) -> str:
        """The member's mode in the group's balancer."""
        assert self.member is not None
        return self.balancing_group.mode_of(self.member.index)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The one-shot override (A, 0 = paused) or None."""
        assert self.member is not None
        return {"override": self.member.override}

    @property
    def extra_restore_state_data(self) -> ChargeModeExtraData:
        """Keep the override across restarts."""
        assert self.member is not None
        return ChargeModeExtraData(self.member.override)

    async def async_added_to_hass(self) -> None:
        """Restore the mode and the override before the group's first round."""
        assert self.member is not None
        index = self.member.index
        last = await self.async_get_last_state()
        if last is not None and last.state in MODES:
            self.balancing_group.balancer.set_mode(index, last.state)
        extra = await self.async_get_last_extra_data()
        restored = ChargeModeExtraData.from_dict(extra.as_dict()) if extra is not None else None
        if restored is not None and restored.override is not None:
            try:
                self.balancing_group.async_set_override(index, restored.override)
            except ValueError:
                restored = None  # the member's maximum changed since: drop the stale override
        await super().async_added_to_hass()

    async def async_select_option(self, option: str) -> None:
        """Set the member's mode (ends its override)."""
        assert self.member is not None
        self.balancing_group.async_set_mode(self.member.index, option)


class AssignedLimitSensor(BalancingEntity, SensorEntity):
    """The limit the group assigned to a member in its last round (A, 0 while paused)."""

    _attr_device_class = SensorDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, group: BalancingGroup, member: Member) -> None:
        """Sensor of ``member``'s assigned limit."""
        super().__init__(group, "assigned_limit", member)
        self._attr_translation_key = "assigned_limit"

    @property
    def native_value(self) -> float | None:
        """A; unknown before the first round."""
        assert self.member is not None
        return self.member.limit if self.member.reason else None


class BalancingReasonSensor(BalancingEntity, SensorEntity):
    """Why a member has its limit (the core's reason word, or stale/disabled/connection lost)."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options: list[str] = list(REASONS)  # noqa: RUF012 (HA's attribute)
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, group: BalancingGroup, member: Member) -> None:
        """Sensor of ``member``'s reason."""
        super().__init__(group, "balancing_reason", member)
        self._attr_translation_key = "balancing_reason"

    @property
    def native_value(self) -> str | None:
        """The reason word; unknown before the first round."""
        assert self.member is not None
        return self.member.reason or None


# -- per group -------------------------------------------------------------------------------------


class AvailableCurrentSensor(BalancingEntity, SensorEntity):
    """A per phase left for the EVSEs after the margin and the other loads (unknown in fallback)."""

    _attr_device_class = SensorDeviceClass.CURRENT
    _attr_native_unit_of_measurement = UnitOfElectricCurrent.AMPERE
    _attr_state_class = SensorStateClass.MEASUREMENT

    def __init__(self, group: BalancingGroup) -> None:
        """Sensor of the group's available current."""
        super().__init__(group, "available_current")
        self._attr_translation_key = "available_current"

    @property
    def native_value(self) -> float | None:
        """A per phase (negative when the other loads alone exceed the budget)."""
        return self.balancing_group.available


class GroupStateSensor(BalancingEntity, SensorEntity):
    """The group's state: balancing, fallback, disabled or bridge."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options: list[str] = list(GROUP_STATES)  # noqa: RUF012 (HA's attribute)

    def __init__(self, group: BalancingGroup) -> None:
        """Sensor of the group's state."""
        super().__init__(group, "state")
        self._attr_translation_key = "group_state"

    @property
    def native_value(self) -> str | None:
        """The state; unknown before the first round."""
        return self.balancing_group.state


class MeterProblemBinarySensor(BalancingEntity, BinarySensorEntity):
    """On while the group's meter is missing, stale, unavailable, non-numeric or absurd."""

    _attr_device_class = BinarySensorDeviceClass.PROBLEM
    _attr_entity_category = EntityCategory.DIAGNOSTIC

    def __init__(self, group: BalancingGroup) -> None:
        """Binary sensor of the group's meter."""
        super().__init__(group, "meter_problem")
        self._attr_translation_key = "meter_problem"

    @property
    def is_on(self) -> bool | None:
        """Meter unusable; unknown before the first round."""
        state = self.balancing_group.meter.state
        return None if state is None else state != "ok"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The core's verdict: ok, stale, unavailable, invalid or absurd (missing: no entity)."""
        meter = self.balancing_group.meter
        return {"meter_state": "missing" if meter.missing else meter.state}


class GroupEnabledSwitch(BalancingEntity, SwitchEntity, RestoreEntity):
    """Turns the group on and off (restored across restarts)."""

    def __init__(self, group: BalancingGroup) -> None:
        """Switch of the group."""
        super().__init__(group, "enabled")
        self._attr_translation_key = "group_enabled"

    @property
    def is_on(self) -> bool:
        """True while the group balances (or bridges)."""
        return self.balancing_group.enabled

    async def async_added_to_hass(self) -> None:
        """Restore the switch before the group's first round."""
        last = await self.async_get_last_state()
        if last is not None and last.state == STATE_OFF:
            self.balancing_group.enabled = False
        await super().async_added_to_hass()

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Balance again; every member is written on the next round."""
        self.balancing_group.async_set_enabled(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop balancing; the chargers keep their last limits."""
        self.balancing_group.async_set_enabled(False)


def _group_entities(group: BalancingGroup, platform: str) -> list[Entity]:
    """Return the group-wide entities of ``platform`` (on the group's own device)."""
    if platform == "sensor":
        return [GroupStateSensor(group)] + ([] if group.bridge else [AvailableCurrentSensor(group)])
    if platform == "binary_sensor":
        return [MeterProblemBinarySensor(group)]
    if platform == "switch":
        return [GroupEnabledSwitch(group)]
    return []


def _member_entities(group: BalancingGroup, member: Member, platform: str) -> list[Entity]:
    """Return the entities of ``platform`` of one member (on its charger's or connector's device)."""
    if platform == "select":
        return [ChargeModeSelect(group, member)]
    if platform == "sensor":
        return [AssignedLimitSensor(group, member), BalancingReasonSensor(group, member)]
    return []


@callback
def async_add_group_entities(
    async_add_entities: AddConfigEntryEntitiesCallback, group: BalancingGroup, platform: str
) -> None:
    """Add ``group``'s entities of ``platform``, each under the subentry that owns its device.

    A device belongs to exactly one subentry, so a member's entities, which sit on its charger's
    device, are added under the charger's subentry; the group-wide ones under the group's.
    """
    async_add_entities(_group_entities(group, platform), config_subentry_id=group.subentry_id)
    for member in group.members:
        if entities := _member_entities(group, member, platform):
            async_add_entities(entities, config_subentry_id=member.charger.subentry_id)
