"""Entity descriptions generated from the communication-object table (``objects.OBJECTS``).

There is no class or hand-written description per object: every object with a ``platform`` becomes
one frozen description of that platform, with

- ``key`` = ``CommObject.key`` (unique per charger, e.g. ``conn1_current_limit``), so the entity's
  unique id is ``<charger subentry id>_<key>``;
- ``translation_key`` = ``CommObject.base_key`` (shared by the charger and both connectors, whose
  entities live on different devices); the built-in balancing master's objects use
  ``balancing_<base_key>`` and ``balancing_evse_<base_key>`` with an ``{evse}`` placeholder;
- device class, unit and state class from the object's DPT (as core ``knx``'s ``dpt.py`` maps them),
  entity category and "enabled by default" from the object's role.

An entity exists for an object that the charger's ETS parameters enable AND that is linked to at
least one group address (``ChargerCoordinator.has_object``): an object without a group address can
never carry a value nor be written. Entities show "unknown" until a value arrives and are
unavailable while the KNX connection is down. Plus one lifetime-energy sensor per connector whose
session-energy object (46/95) is linked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.number import NumberDeviceClass, NumberEntityDescription, NumberMode
from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription, SensorStateClass
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.components.text import TextEntityDescription, TextMode
from homeassistant.const import (
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.helpers.entity import EntityDescription

from .compat import BinarySensorDeviceClass, ButtonDeviceClass
from .knx.dpt import RESERVED_RAW, ControlPilotState, EvseErrorCode, OcppState
from .knx.objects import CONN2_OFFSET, OBJECTS, CommObject, Platform, Scope

if TYPE_CHECKING:
    from .charger.coordinator import ChargerCoordinator


@dataclass(frozen=True, kw_only=True)
class KnxEvseEntityDescription(EntityDescription):
    """Fields shared by every knx_evse entity description.

    ``object_number``: the communication object the entity shows or commands; ``connector``: 1/2 when
    the entity belongs to a connector sub-device, None for the charger device.
    """

    object_number: int
    connector: int | None = None


@dataclass(frozen=True, kw_only=True)
class KnxEvseSensorEntityDescription(KnxEvseEntityDescription, SensorEntityDescription):
    """A status object shown as a sensor (DPT 7.005, 13.010, 14.019, 14.056, 16.001, 20.x)."""


@dataclass(frozen=True, kw_only=True)
class KnxEvseBinarySensorEntityDescription(KnxEvseEntityDescription, BinarySensorEntityDescription):
    """A 1-bit status object shown as a binary sensor."""


@dataclass(frozen=True, kw_only=True)
class KnxEvseSwitchEntityDescription(KnxEvseEntityDescription, SwitchEntityDescription):
    """A 1-bit command object; ``state_number`` is the status object that reports its state."""

    state_number: int | None = None
    start_stop: bool = False


@dataclass(frozen=True, kw_only=True)
class KnxEvseNumberEntityDescription(KnxEvseEntityDescription, NumberEntityDescription):
    """A numeric command object; ``kind`` selects the range, ``status_number`` the feedback object."""

    kind: Literal["current", "power", "session_time"]
    status_number: int | None = None


@dataclass(frozen=True, kw_only=True)
class KnxEvseButtonEntityDescription(KnxEvseEntityDescription, ButtonEntityDescription):
    """A 1-bit trigger object; pressing writes 1."""


@dataclass(frozen=True, kw_only=True)
class KnxEvseTextEntityDescription(KnxEvseEntityDescription, TextEntityDescription):
    """The 14-character RFID command object (8)."""


@dataclass(frozen=True, kw_only=True)
class KnxEvseLifetimeEnergyEntityDescription(KnxEvseEntityDescription, SensorEntityDescription):
    """Lifetime energy of a connector, built from its session-energy object (46/95)."""

    session_time_number: int
    connected_number: int
    charging_number: int
    pilot_state_number: int
    ocpp_state_number: int


# -- DPT → Home Assistant mapping (as homeassistant.components.knx.dpt) -----------------------

_SENSOR_DPT: Final[
    dict[str, tuple[SensorDeviceClass | None, str | None, SensorStateClass | None, int | None]]
] = {
    # dpt: (device class, unit, state class, display precision)
    "14.019": (SensorDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE, SensorStateClass.MEASUREMENT, 1),
    "14.056": (SensorDeviceClass.POWER, UnitOfPower.WATT, SensorStateClass.MEASUREMENT, 0),
    # A per-session counter: no state class, so statistics never treat its reset as consumption;
    # the lifetime-energy sensor is the one for the Energy dashboard.
    "13.010": (SensorDeviceClass.ENERGY, UnitOfEnergy.WATT_HOUR, None, 0),
    "7.005": (SensorDeviceClass.DURATION, UnitOfTime.SECONDS, SensorStateClass.MEASUREMENT, 0),
    "16.001": (None, None, None, None),
    "20.1219": (SensorDeviceClass.ENUM, None, None, None),
    "20.1220": (SensorDeviceClass.ENUM, None, None, None),
    "20.1221": (SensorDeviceClass.ENUM, None, None, None),
}

ENUM_OPTIONS: Final[dict[str, list[str]]] = {
    dpt: [member.name.lower() for member in enum if member.value != RESERVED_RAW]
    for dpt, enum in (("20.1219", ControlPilotState), ("20.1220", OcppState), ("20.1221", EvseErrorCode))
}
"""Enum sensor options (translated states); the reserved/out-of-range member is never a state."""

_BINARY_DEVICE_CLASS: Final[dict[str, BinarySensorDeviceClass]] = {
    "fail_safe_status": BinarySensorDeviceClass.PROBLEM,
    "communication_error": BinarySensorDeviceClass.PROBLEM,
    "vehicle_connected": BinarySensorDeviceClass.PLUG,
    "charging": BinarySensorDeviceClass.BATTERY_CHARGING,
    "fault": BinarySensorDeviceClass.PROBLEM,
    "pause_restart": BinarySensorDeviceClass.RUNNING,
}

_DIAGNOSTIC: Final = frozenset(
    {
        "current_limit_status",
        "active_power_limit_status",
        "fail_safe_status",
        "fail_safe_current",
        "fail_safe_active_power_status",
        "fail_safe_current_status",
        "error_code",
        "communication_error",
        "rfid_tag_started",
        "available",
        "reserved",
        "unavailable",
        "fault",
    }
)
_CONFIG: Final = frozenset(
    {
        "maximum_charging_session",
        "auto_disconnect",
        "auto_start",
        "charging_time_1",
        "charging_time_2",
        "charging_time_3",
        "add_rfid_tag",
        "erase_rfid_tags",
        "reset",
    }
)
_BALANCING_SCOPES: Final = frozenset(scope for scope in Scope if scope.value.startswith("Balancing"))
_RFID: Final = frozenset({"add_rfid_tag", "erase_rfid_tags", "rfid_tag_started"})


def object_connector(obj: CommObject) -> int | None:
    """1 or 2 for connector objects (their entities live on the connector sub-device), else None."""
    if obj.scope is Scope.CONN1:
        return 1
    if obj.scope is Scope.CONN2:
        return 2
    return None


def _translation(obj: CommObject) -> tuple[str, dict[str, str] | None]:
    if obj.evse_index is not None:
        return f"balancing_evse_{obj.base_key}", {"evse": str(obj.evse_index)}
    if obj.scope is Scope.BALANCING:
        return f"balancing_{obj.base_key}", None
    return obj.base_key, None


def _category(obj: CommObject) -> EntityCategory | None:
    if obj.scope in _BALANCING_SCOPES:
        return None if obj.number == 132 else EntityCategory.DIAGNOSTIC
    if obj.base_key in _CONFIG:
        return EntityCategory.CONFIG
    if obj.base_key in _DIAGNOSTIC:
        return EntityCategory.DIAGNOSTIC
    return None


def _enabled_default(obj: CommObject) -> bool:
    """Rarely used objects start disabled: RFID objects and the balancing master's internals."""
    if obj.base_key in _RFID:
        return False
    return not (obj.scope in _BALANCING_SCOPES and obj.number != 132)


def _common(obj: CommObject) -> dict[str, object]:
    translation_key, placeholders = _translation(obj)
    return {
        "key": obj.key,
        "object_number": obj.number,
        "connector": object_connector(obj),
        "translation_key": translation_key,
        "translation_placeholders": placeholders,
        "entity_category": _category(obj),
        "entity_registry_enabled_default": _enabled_default(obj),
    }


def _sensor(obj: CommObject) -> KnxEvseSensorEntityDescription:
    device_class, unit, state_class, precision = _SENSOR_DPT[obj.dpt]
    return KnxEvseSensorEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        device_class=device_class,
        native_unit_of_measurement=unit,
        state_class=state_class,
        suggested_display_precision=precision,
        options=ENUM_OPTIONS.get(obj.dpt),
    )


def _binary_sensor(obj: CommObject) -> KnxEvseBinarySensorEntityDescription:
    return KnxEvseBinarySensorEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        device_class=_BINARY_DEVICE_CLASS.get(obj.base_key),
    )


def _switch(obj: CommObject) -> KnxEvseSwitchEntityDescription:
    return KnxEvseSwitchEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        state_number=obj.status,
        start_stop=obj.base_key == "start_stop",
    )


def _number(obj: CommObject) -> KnxEvseNumberEntityDescription:
    kind: Literal["current", "power", "session_time"]
    device_class: NumberDeviceClass
    unit: str
    if obj.dpt == "14.019":
        kind, device_class, unit = "current", NumberDeviceClass.CURRENT, UnitOfElectricCurrent.AMPERE
    elif obj.dpt == "14.056":
        kind, device_class, unit = "power", NumberDeviceClass.POWER, UnitOfPower.WATT
    elif obj.dpt == "7.005":
        kind, device_class, unit = "session_time", NumberDeviceClass.DURATION, UnitOfTime.SECONDS
    else:  # pragma: no cover - guards the object table
        raise ValueError(f"no number mapping for object {obj.number} (DPT {obj.dpt})")
    return KnxEvseNumberEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        kind=kind,
        status_number=obj.status,
        device_class=device_class,
        native_unit_of_measurement=unit,
        native_step=1,
        mode=NumberMode.BOX,
    )


def _button(obj: CommObject) -> KnxEvseButtonEntityDescription:
    return KnxEvseButtonEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        device_class=ButtonDeviceClass.RESTART if obj.base_key == "reset" else None,
    )


def _text(obj: CommObject) -> KnxEvseTextEntityDescription:
    return KnxEvseTextEntityDescription(
        **_common(obj),  # type: ignore[arg-type]
        native_min=1,
        native_max=obj.size_bytes,
        mode=TextMode.TEXT,
    )


def _lifetime_energy(connector: int) -> KnxEvseLifetimeEnergyEntityDescription:
    offset = CONN2_OFFSET * (connector - 1)
    return KnxEvseLifetimeEnergyEntityDescription(
        key=f"conn{connector}_lifetime_energy",
        translation_key="lifetime_energy",
        object_number=46 + offset,
        connector=connector,
        session_time_number=45 + offset,
        connected_number=36 + offset,
        charging_number=37 + offset,
        pilot_state_number=34 + offset,
        ocpp_state_number=35 + offset,
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.WATT_HOUR,
        suggested_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
    )


def _of(platform: Platform) -> list[CommObject]:
    return [obj for obj in OBJECTS.values() if obj.platform is platform]


SENSORS: Final = tuple(_sensor(obj) for obj in _of(Platform.SENSOR))
BINARY_SENSORS: Final = tuple(_binary_sensor(obj) for obj in _of(Platform.BINARY_SENSOR))
SWITCHES: Final = tuple(_switch(obj) for obj in _of(Platform.SWITCH))
NUMBERS: Final = tuple(_number(obj) for obj in _of(Platform.NUMBER))
BUTTONS: Final = tuple(_button(obj) for obj in _of(Platform.BUTTON))
TEXTS: Final = tuple(_text(obj) for obj in _of(Platform.TEXT))
LIFETIME_ENERGY: Final = tuple(_lifetime_energy(connector) for connector in (1, 2))

ALL_DESCRIPTIONS: Final[tuple[KnxEvseEntityDescription, ...]] = (
    *SENSORS,
    *BINARY_SENSORS,
    *SWITCHES,
    *NUMBERS,
    *BUTTONS,
    *TEXTS,
    *LIFETIME_ENERGY,
)
ENTITY_KEYS: Final = frozenset(description.key for description in ALL_DESCRIPTIONS)
"""Every description key; an entity unique id is ``<subentry id>_<key>``."""


def descriptions_for[DescriptionT: KnxEvseEntityDescription](
    coordinator: ChargerCoordinator, descriptions: tuple[DescriptionT, ...]
) -> list[DescriptionT]:
    """Return the descriptions whose object the charger has (enabled and linked)."""
    return [d for d in descriptions if coordinator.has_object(d.object_number)]


def unique_id(coordinator: ChargerCoordinator, description: KnxEvseEntityDescription) -> str:
    """Entity unique id: ``<charger subentry id>_<description key>``."""
    return f"{coordinator.subentry_id}_{description.key}"


def expected_unique_ids(coordinator: ChargerCoordinator) -> set[str]:
    """Return the unique ids of every entity the charger's current configuration creates."""
    return {unique_id(coordinator, d) for d in descriptions_for(coordinator, ALL_DESCRIPTIONS)}
