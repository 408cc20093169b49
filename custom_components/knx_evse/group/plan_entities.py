"""The entities of a member's charging plan, generated from descriptions (on the member's device).

Settings (kept by the group's store, ``planner.py``; the action ``knx_evse.set_plan`` sets them too):

- ``number`` *Plan energy* (``plan_energy``, kWh, 0 to ``MAX_PLAN_KWH``): the energy to charge;
- ``time`` *Plan departure* (``plan_departure``): the time of day it is wanted by;
- ``select`` *Plan repeat* (``plan_repeat``): once, daily, Monday to Friday, Saturday and Sunday, or
  custom days (set with the action);
- ``switch`` *Plan* (``plan_enabled``): the plan on or off (a one-off plan switches off once it has left).

What the plan does:

- ``sensor`` *Plan state* (``plan_state``, enum ``PLAN_STATES``), with the attributes ``departure``,
  ``target``, ``charged``, ``reachable`` (kWh), ``reason`` (met, not_enough_time, shared_limit),
  ``forecast`` (a price or solar forecast problem, else None) and ``slots``: the next planned slots
  (start, end, current A, of it solar A, energy kWh, price), for a dashboard to draw;
- ``sensor`` *Planned energy* (``planned_energy``, kWh): charged so far and planned by the departure;
- ``sensor`` *Plan next start* (``plan_next_start``, timestamp): the slot under way or the next one;
- ``binary_sensor`` *Plan will be met* (``plan_feasible``): unknown while the plan is off or not steering.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import SensorDeviceClass, SensorEntity, SensorEntityDescription
from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import UnitOfEnergy
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from .entity_base import BalancingEntity
from .group import BalancingGroup, Member
from .plan_settings import MAX_PLAN_KWH, PRESETS, REPEATS
from .planner import PLAN_STATES, PlanRuntime

MET_STATES = frozenset({"waiting", "charging", "reached"})
SHOWN_STATES = MET_STATES | {"unreachable", "vehicle_full"}

PLAN_ENERGY = NumberEntityDescription(
    key="plan_energy", translation_key="plan_energy", device_class=NumberDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR, native_min_value=0.0, native_max_value=MAX_PLAN_KWH,
    native_step=0.5, mode=NumberMode.BOX,
)
PLAN_DEPARTURE = TimeEntityDescription(key="plan_departure", translation_key="plan_departure")
PLAN_REPEAT = SelectEntityDescription(key="plan_repeat", translation_key="plan_repeat", options=list(REPEATS))
PLAN_ENABLED = SwitchEntityDescription(key="plan_enabled", translation_key="plan_enabled")
PLAN_FEASIBLE = BinarySensorEntityDescription(key="plan_feasible", translation_key="plan_feasible")


@dataclass(frozen=True, kw_only=True)
class PlanSensorEntityDescription(SensorEntityDescription):
    """A sensor of a member's plan: ``value_fn(runtime)``."""

    value_fn: Callable[[PlanRuntime], Any]


def _planned_kwh(rt: PlanRuntime) -> float | None:
    if rt.state not in SHOWN_STATES:
        return None
    return round((rt.charged_wh + (rt.plan.planned if rt.plan is not None else 0.0)) / 1000.0, 3)


def _next_start(rt: PlanRuntime) -> datetime | None:
    start = None if rt.plan is None else rt.plan.next_start(dt_util.utcnow().timestamp())
    return None if start is None or rt.state not in SHOWN_STATES else dt_util.utc_from_timestamp(start)


PLAN_SENSORS: tuple[PlanSensorEntityDescription, ...] = (
    PlanSensorEntityDescription(key="plan_state", translation_key="plan_state", device_class=SensorDeviceClass.ENUM,
                                options=list(PLAN_STATES), value_fn=lambda rt: rt.state),
    PlanSensorEntityDescription(key="planned_energy", translation_key="planned_energy",
                                device_class=SensorDeviceClass.ENERGY,
                                native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR, value_fn=_planned_kwh),
    PlanSensorEntityDescription(key="plan_next_start", translation_key="plan_next_start",
                                device_class=SensorDeviceClass.TIMESTAMP, value_fn=_next_start),
)
PLAN_ENTITY_KEYS: tuple[str, ...] = (PLAN_ENERGY.key, PLAN_DEPARTURE.key, PLAN_REPEAT.key, PLAN_ENABLED.key,
                                     PLAN_FEASIBLE.key, *(d.key for d in PLAN_SENSORS))
"""Keys of a member's plan entities (their unique ids end with them)."""


class PlanEntity(BalancingEntity):
    """An entity of ``member``'s plan; its settings and state are the group planner's."""

    member: Member

    @property
    def runtime(self) -> PlanRuntime:
        """The member's plan at runtime."""
        return self.balancing_group.planner.members[self.member.index]

    def _set(self, **changes: Any) -> None:
        planner = self.balancing_group.planner
        planner.async_set(self.member.index, planner.settings_of(self.member.index).with_(**changes))
        self.balancing_group.notify()


class PlanEnergyNumber(PlanEntity, NumberEntity):
    """The energy of the plan (kWh)."""

    @property
    def native_value(self) -> float:
        """KWh."""
        return self.runtime.settings.energy_kwh

    async def async_set_native_value(self, value: float) -> None:
        """Set the energy (Home Assistant checks the range)."""
        self._set(energy_kwh=float(value))


class PlanDepartureTime(PlanEntity, TimeEntity):
    """The departure time of day."""

    @property
    def native_value(self) -> time:
        """The time of day."""
        return self.runtime.settings.departure

    async def async_set_value(self, value: time) -> None:
        """Set the departure (a one-off plan's date ends: it leaves at the next such time)."""
        self._set(departure=value.replace(microsecond=0))


class PlanRepeatSelect(PlanEntity, SelectEntity):
    """When the plan repeats."""

    @property
    def current_option(self) -> str:
        """The preset, or custom."""
        return self.runtime.settings.repeat

    async def async_select_option(self, option: str) -> None:
        """Set a preset; custom days come with the action."""
        if option not in PRESETS:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="plan_custom_days")
        self._set(days=PRESETS[option])


class PlanEnabledSwitch(PlanEntity, SwitchEntity):
    """The plan on or off."""

    @property
    def is_on(self) -> bool:
        """True while the plan is on."""
        return self.runtime.settings.enabled

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch the plan on."""
        self._set(enabled=True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch the plan off."""
        self._set(enabled=False)


class PlanSensor(PlanEntity, SensorEntity):
    """A sensor of the plan (``PlanSensorEntityDescription``)."""

    entity_description: PlanSensorEntityDescription

    @property
    def native_value(self) -> Any:
        """The description's value."""
        return self.entity_description.value_fn(self.runtime)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The plan's figures and next slots (the plan-state sensor only)."""
        if self.entity_description.key != "plan_state":
            return None
        rt = self.runtime
        planner = self.balancing_group.planner
        plan = rt.plan
        return {
            "departure": None if rt.departure is None else rt.departure.isoformat(),
            "target": rt.settings.energy_kwh,
            "charged": round(rt.charged_wh / 1000.0, 3),
            "reachable": None if plan is None else round((rt.charged_wh + plan.planned) / 1000.0, 3),
            "reason": None if plan is None else plan.reason,
            "forecast": planner.problems["prices"] or planner.problems["solar"],
            "slots": planner.slots(self.member.index),
        }


class PlanFeasibleBinarySensor(PlanEntity, BinarySensorEntity):
    """On while the plan will be met; off when it cannot be (or the vehicle takes no more)."""

    @property
    def is_on(self) -> bool | None:
        """Unknown while the plan is off, has no vehicle or does not steer its member."""
        state = self.runtime.state
        return None if state not in SHOWN_STATES else state in MET_STATES


def plan_entities(group: BalancingGroup, member: Member, platform: str) -> list[Entity]:
    """Return ``member``'s plan entities of ``platform``."""
    if platform == "number":
        return [PlanEnergyNumber(group, PLAN_ENERGY, member)]
    if platform == "time":
        return [PlanDepartureTime(group, PLAN_DEPARTURE, member)]
    if platform == "select":
        return [PlanRepeatSelect(group, PLAN_REPEAT, member)]
    if platform == "switch":
        return [PlanEnabledSwitch(group, PLAN_ENABLED, member)]
    if platform == "binary_sensor":
        return [PlanFeasibleBinarySensor(group, PLAN_FEASIBLE, member)]
    if platform == "sensor":
        return [PlanSensor(group, d, member) for d in PLAN_SENSORS]
    return []
