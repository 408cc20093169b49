"""Entities of the balancing groups, generated from entity descriptions (as the chargers' are).

Per member (on the member's charger device, or its connector sub-device):

- ``select`` *Charge mode* (``charge_mode``): Off, Fast, Solar, Min+Solar. Restored across restarts,
  together with the member's one-shot override (``knx_evse.set_current_limit``), shown as its
  ``override`` attribute (A, 0 = paused; None when there is none).
- ``sensor`` *Balancing limit* (``assigned_limit``, A, whole amps): the limit the group gave the
  member in the last round, 0 while paused. Not the charger's own *Current limit* number.
- ``sensor`` *Balancing reason* (``balancing_reason``, enum): the core's ``Decision.reason`` word,
  or ``charger_stale``, ``group_disabled``, ``connection_lost``.
- the entities of its charging plan (``plan_entities.py``): energy, departure, repeat, on/off, state,
  planned energy, next start, will it be met.

Per group (on the group's own device):

- ``sensor`` *Available current* (``available_current``, A per phase; balance mode only): what is
  left for the EVSEs after the margin and the other loads (0.1 A shown); unknown in fallback.
- ``sensor`` *Balancing state* (``group_state``, enum): balancing, fallback, disabled, bridge.
- ``sensor`` *Energy price* (``price_state``, enum; balance mode with a price rule only): cheap,
  expensive, or no_price while the price entity gives no usable value (smart cost).
- ``binary_sensor`` *Meter problem* (``meter_problem``, device class problem): on while the meter is
  missing, stale, unavailable, non-numeric, absurd or reversed in sign; attribute ``meter_state``.
- ``switch`` *Balancing* (``group_enabled``): turns the group on and off; restored across restarts.

Per circuit, on its own device: *Available current* and *State* (``circuit_entities.py``).

Unique ids: ``<group subentry id>_<key>`` and ``<group subentry id>_<charger subentry
id>_<connector>_<key>`` (``unique_id``). All are pushed after every round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, get_args

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF, EntityCategory, UnitOfElectricCurrent
from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import ExtraStoredData, RestoreEntity

from ..balancing import MODES, PAUSED_REASONS, RUNNING_REASONS, PriceState
from ..compat import BinarySensorDeviceClass
from .circuit_entities import circuit_sensors, circuit_unique_ids
from .circuits import circuit_identifier
from .entity_base import BalancingEntity, unique_id
from .group import EXTRA_REASONS, GROUP_STATES, BalancingGroup, Member
from .plan_entities import PLAN_ENTITY_KEYS, plan_entities

REASONS: tuple[str, ...] = tuple(sorted(RUNNING_REASONS | PAUSED_REASONS | set(EXTRA_REASONS)))
"""Options of the reason sensor."""
PRICE_STATES: tuple[PriceState, ...] = get_args(PriceState)
"""Options of the energy-price sensor."""


@dataclass(frozen=True, kw_only=True)
class GroupSensorEntityDescription(SensorEntityDescription):
    """A sensor of a group or of one of its members: ``value_fn(group, member)``."""

    value_fn: Callable[[BalancingGroup, Member | None], float | str | None]
    balance_only: bool = False
    """Only in balance mode (not in bridge mode)."""
    exists_fn: Callable[[BalancingGroup], bool] = lambda _group: True
    """Whether the group has this sensor (besides ``balance_only``)."""


def _member(member: Member | None) -> Member:
    assert member is not None
    return member


MEMBER_SENSORS: tuple[GroupSensorEntityDescription, ...] = (
    GroupSensorEntityDescription(
        key="assigned_limit",
        translation_key="assigned_limit",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda _, m: _member(m).limit if _member(m).reason else None,
    ),
    GroupSensorEntityDescription(
        key="balancing_reason",
        translation_key="balancing_reason",
        device_class=SensorDeviceClass.ENUM,
        options=list(REASONS),
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda _, m: _member(m).reason or None,
    ),
)
GROUP_SENSORS: tuple[GroupSensorEntityDescription, ...] = (
    GroupSensorEntityDescription(
        key="state",
        translation_key="group_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(GROUP_STATES),
        value_fn=lambda group, _: group.state,
    ),
    GroupSensorEntityDescription(
        key="available_current",
        translation_key="available_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda group, _: group.available,
        balance_only=True,
    ),
    GroupSensorEntityDescription(
        key="price_state",
        translation_key="price_state",
        device_class=SensorDeviceClass.ENUM,
        options=list(PRICE_STATES),
        value_fn=lambda group, _: group.site.price_state,
        balance_only=True,
        exists_fn=lambda group: group.site.smart_cost,
    ),
)
CHARGE_MODE = SelectEntityDescription(key="charge_mode", translation_key="charge_mode", options=list(MODES))
METER_PROBLEM = BinarySensorEntityDescription(
    key="meter_problem",
    translation_key="meter_problem",
    device_class=BinarySensorDeviceClass.PROBLEM,
    entity_category=EntityCategory.DIAGNOSTIC,
)
GROUP_ENABLED = SwitchEntityDescription(key="enabled", translation_key="group_enabled")

MEMBER_ENTITY_KEYS: tuple[str, ...] = (CHARGE_MODE.key, *(d.key for d in MEMBER_SENSORS), *PLAN_ENTITY_KEYS)
"""Keys of the per-member entities (their unique ids end with them)."""


# -- unique ids ------------------------------------------------------------------------------------


def _group_sensors(group: BalancingGroup) -> list[GroupSensorEntityDescription]:
    """Return the group-wide sensors ``group`` has (its mode and settings)."""
    return [d for d in GROUP_SENSORS if not (d.balance_only and group.bridge) and d.exists_fn(group)]


def expected_unique_ids(group: BalancingGroup) -> set[str]:
    """Return the unique ids of every entity ``group`` creates."""
    keys = [d.key for d in _group_sensors(group)]
    ids = {unique_id(group, key) for key in (*keys, METER_PROBLEM.key, GROUP_ENABLED.key)} | circuit_unique_ids(group)
    if not group.bridge:
        for member in group.members:
            ids |= {unique_id(group, key, member) for key in MEMBER_ENTITY_KEYS}
    return ids


def member_for_unique_id(group: BalancingGroup, entity_unique_id: str) -> Member | None:
    """Return the member of ``group`` owning the entity with ``entity_unique_id``, None for other entities."""
    for member in group.members:
        if entity_unique_id in {unique_id(group, key, member) for key in MEMBER_ENTITY_KEYS}:
            return member
    return None


@callback
def async_cleanup_registry(group: BalancingGroup) -> None:
    """Remove ``group``'s entities that it no longer creates (members gone, bridge mode), and removed circuits' devices."""
    prefix = f"{group.subentry_id}_"
    group.hub.async_remove_stale_entities(expected_unique_ids(group), lambda uid: uid.startswith(prefix))
    keep = {circuit_identifier(group.subentry_id, c.id) for c in group.circuits.items}
    circuit_prefix = circuit_identifier(group.subentry_id, "")
    group.hub.async_remove_stale_devices(
        keep, lambda identifier: identifier[0] == circuit_prefix[0] and identifier[1].startswith(circuit_prefix[1])
    )


# -- entities --------------------------------------------------------------------------------------


class BalancingSensor(BalancingEntity, SensorEntity):
    """A sensor of a group or member (``GroupSensorEntityDescription``); unknown before the first round."""

    entity_description: GroupSensorEntityDescription

    @property
    def native_value(self) -> float | str | None:
        """The description's value of the group (or member)."""
        return self.entity_description.value_fn(self.balancing_group, self.member)


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

    def __init__(self, group: BalancingGroup, member: Member) -> None:
        """Select of ``member``'s mode."""
        super().__init__(group, CHARGE_MODE, member)
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


class MeterProblemBinarySensor(BalancingEntity, BinarySensorEntity):
    """On while the group's meter is missing, stale, unavailable, non-numeric, absurd or reversed in sign."""

    def __init__(self, group: BalancingGroup) -> None:
        """Binary sensor of the group's meter."""
        super().__init__(group, METER_PROBLEM)
    @property
    def is_on(self) -> bool | None:
        """Meter unusable; unknown before the first round."""
        state = self.balancing_group.meter.state
        return None if state is None else state != "ok"

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The core's verdict: ok, stale, unavailable, invalid, absurd or reversed (missing: no entity)."""
        meter = self.balancing_group.meter
        return {"meter_state": "missing" if meter.missing else meter.state}


class GroupEnabledSwitch(BalancingEntity, SwitchEntity, RestoreEntity):
    """Turns the group on and off (restored across restarts)."""

    def __init__(self, group: BalancingGroup) -> None:
        """Switch of the group."""
        super().__init__(group, GROUP_ENABLED)
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
        return [*(BalancingSensor(group, d) for d in _group_sensors(group)), *circuit_sensors(group)]
    if platform == "binary_sensor":
        return [MeterProblemBinarySensor(group)]
    if platform == "switch":
        return [GroupEnabledSwitch(group)]
    return []


def _member_entities(group: BalancingGroup, member: Member, platform: str) -> list[Entity]:
    """Return the entities of ``platform`` of one member (on its charger's or connector's device)."""
    entities: list[Entity] = plan_entities(group, member, platform)
    if platform == "select":
        entities.insert(0, ChargeModeSelect(group, member))
    if platform == "sensor":
        entities[:0] = [BalancingSensor(group, d, member) for d in MEMBER_SENSORS]
    return entities


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
