"""The charger's communication objects, as data.

Source: ``charger-ets-manual.md``, section "Communication Objects" (117 objects numbered 1-212).
Every entity, every read at start-up, every write and the simulator are generated from ``OBJECTS``;
nothing else in the integration repeats an object number's DPT, flags or size.

Connector 2 repeats connector 1's objects at +49 (31 → 80 … 73 → 122) and each balanced EVSE n
repeats EVSE1's five objects at +15·(n-1) (133 → 148 … 137 → 212). The table below writes connector 1
and EVSE1 once and derives the copies, so a fix to one row fixes its copies too. The tests compare
the derived table against an independent row-for-row transcription of the manual.

Where the manual contradicts itself the worked balancing example wins (see ``note`` on the rows):
- objects 135/136 (and their copies 150/151 … 210/211) are listed "C-W--" in the table, but the worked
  example shows 135 and 150 as "CR-T-" outputs of the master, linked to the slaves' object 1. They are
  the master's outputs, so they carry read and transmit flags here.
- object 26's description in the table is copied from object 25 ("Allows to lock (1) or unlock (0)");
  its name, its function column, DPT 1.003 and the "Session objects" page say it is "Auto charging
  init after connect" (1: auto, 0: no auto).
- the worked example prints objects 35, 45 and 46 as "C--T-"; the table, which lists them "CR-T-", is
  followed because nothing in the text says they stop answering reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Scope(StrEnum):
    """Which part of the charger an object belongs to (the bracketed prefix of its name)."""

    EVSE = "EVSE"
    CONN1 = "Conn1"
    CONN2 = "Conn2"
    BALANCING = "Balancing"
    BALANCING_EVSE1 = "Balancing-EVSE1"
    BALANCING_EVSE2 = "Balancing-EVSE2"
    BALANCING_EVSE3 = "Balancing-EVSE3"
    BALANCING_EVSE4 = "Balancing-EVSE4"
    BALANCING_EVSE5 = "Balancing-EVSE5"
    BALANCING_EVSE6 = "Balancing-EVSE6"


class Platform(StrEnum):
    """The Home Assistant platform an object becomes (values equal ``homeassistant.const.Platform``)."""

    SENSOR = "sensor"
    BINARY_SENSOR = "binary_sensor"
    SWITCH = "switch"
    NUMBER = "number"
    BUTTON = "button"
    TEXT = "text"


class Enabler(StrEnum):
    """ETS parameters that make an object visible (manual, "Configuration parameters").

    Objects whose ``enabled_by`` is ``None`` always exist. Model restrictions (single- or three-phase,
    two connectors) are separate: see ``CommObject.phases`` and ``CommObject.scope``.
    """

    RESET_OBJECT = "EVSE Reset object"
    SESSION_OBJECTS = "Session objects"
    RFID_OBJECTS = "RFIDTag objects"
    FAIL_SAFE_OBJECTS = "Fail-safe objects"
    ERROR_OBJECTS = "Error objects"
    BLOCK_OBJECT = "Block object"
    OCPP_STATE = "Charger OCPP State"
    PILOT_STATE = "Charger Pilot State"
    INDIVIDUAL_STATUS = "Charger Status individual objects"
    CHARGING_TIME_OBJECTS = "Charging Time Interval objects"
    CONNECTOR_BLOCK_OBJECT = "Connector Block object"
    LOAD_BALANCING = "Enable Dynamic Load Balancing"
    BALANCING_CURRENT_CONTROL = "Current control"
    BALANCING_POWER_CONTROL = "Current control disabled"


@dataclass(frozen=True, slots=True)
class Flags:
    """KNX communication-object flags: Communication, Read, Write, Transmit, Update."""

    communication: bool = True
    read: bool = False
    write: bool = False
    transmit: bool = False
    update: bool = False

    @classmethod
    def parse(cls, text: str) -> Flags:
        """Parse the manual's flag notation, e.g. ``"C-W--"`` or ``"CR-T-"``.

        Raises ValueError for a string that is not five characters of ``CRWTU`` or ``-`` in order.
        """
        if len(text) != 5 or any(c not in (f, "-") for c, f in zip(text, "CRWTU", strict=True)):
            raise ValueError(f"flags must look like 'CR-T-', got {text!r}")
        return cls(*(c != "-" for c in text))

    def __str__(self) -> str:
        """Return the manual's notation, e.g. ``"CR-T-"``."""
        values = (self.communication, self.read, self.write, self.transmit, self.update)
        return "".join(f if on else "-" for f, on in zip("CRWTU", values, strict=True))


@dataclass(frozen=True, slots=True)
class CommObject:
    """One communication object of the charger.

    - ``number``: object number in ETS (1-212).
    - ``key``: unique snake_case identifier, scope first (``conn1_current_limit``).
    - ``name``: the manual's name, e.g. ``"[Conn1] Current limit"``.
    - ``dpt``: main.sub string such as ``"14.019"`` or ``"20.1219"``.
    - ``flags``: see ``Flags``; ``size_bits``: 1, 8, 16, 32 or 112 (14 bytes).
    - ``scope``, ``enabled_by``: see ``Scope`` and ``Enabler``; ``phases``: 1 or 3 when the object
      exists only on single- or three-phase models, else None.
    - ``platform``: the entity platform, or None for an object only used internally.
    - ``status``: for a command object, the number of the object that reports its state.
    - ``evse_index``: 1-6 for ``Balancing-EVSEn`` objects.
    - ``note``: why a row departs from the manual's table, if it does.
    """

    number: int
    key: str
    name: str
    dpt: str
    flags: Flags
    size_bits: int
    scope: Scope
    enabled_by: Enabler | None = None
    phases: int | None = None
    platform: Platform | None = None
    status: int | None = None
    evse_index: int | None = None
    note: str = ""

    @property
    def size_bytes(self) -> int:
        """Payload size in bytes; 0 for 1-bit objects, which travel inside the APCI (DPTBinary)."""
        return self.size_bits // 8

    @property
    def base_key(self) -> str:
        """``key`` without its scope prefix, shared by both connectors and all EVSEs (translation key)."""
        prefix = self.scope.value.lower().replace("-", "_") + "_"
        return self.key.removeprefix(prefix)

    @property
    def readable(self) -> bool:
        """True when the charger answers GroupValueRead for this object (R flag)."""
        return self.flags.read

    @property
    def writable(self) -> bool:
        """True when the object accepts GroupValueWrite (W flag): a command."""
        return self.flags.write


W: Final = Flags.parse("C-W--")
S: Final = Flags.parse("CR-T-")
_S, _N, _B, _SW, _BT, _T = (
    Platform.SENSOR,
    Platform.NUMBER,
    Platform.BINARY_SENSOR,
    Platform.SWITCH,
    Platform.BUTTON,
    Platform.TEXT,
)
_E = Enabler

# (number, key without scope, name without scope, dpt, flags, bits, enabled_by, phases, platform, status)
_Row = tuple[int, str, str, str, Flags, int, Enabler | None, int | None, Platform | None, int | None]

_EVSE_ROWS: tuple[_Row, ...] = (
    (1, "current_limit", "Current limit", "14.019", W, 32, None, None, _N, 3),
    (2, "active_power_limit", "Active Power limit", "14.056", W, 32, None, None, _N, 4),
    (3, "current_limit_status", "Current limit Status", "14.019", S, 32, None, None, _S, None),
    (4, "active_power_limit_status", "Active Power limit Status", "14.056", S, 32, None, None, _S, None),
    (5, "reset", "Reset", "1.015", W, 1, _E.RESET_OBJECT, None, _BT, None),
    (6, "maximum_charging_session", "Maximum Charging session", "7.005", W, 16, _E.SESSION_OBJECTS, None, _N, None),
    (7, "auto_disconnect", "Auto disconnect after charging session", "1.003", W, 1, _E.SESSION_OBJECTS, None, _SW, None),
    (8, "add_rfid_tag", "Add RFIDTag authorization", "16.001", W, 112, _E.RFID_OBJECTS, None, _T, None),
    (9, "erase_rfid_tags", "Erase all authorized RFIDTags", "1.017", W, 1, _E.RFID_OBJECTS, None, _BT, None),
    (10, "fail_safe_status", "Fail-safe Status", "1.002", S, 1, _E.FAIL_SAFE_OBJECTS, None, _B, None),
    (11, "fail_safe_current", "Fail-safe Current", "14.019", S, 32, _E.FAIL_SAFE_OBJECTS, None, _S, None),
    (12, "fail_safe_active_power_status", "Fail-safe Active Power Status", "14.056", S, 32, _E.FAIL_SAFE_OBJECTS, None, _S, None),
    (13, "active_power", "Instantaneous Active Power", "14.056", S, 32, None, None, _S, None),
    (14, "single_phase_current", "Instantaneous Single-phase Current", "14.019", S, 32, None, 1, _S, None),
    (15, "l1_current", "Instantaneous L1 Current", "14.019", S, 32, None, 3, _S, None),
    (16, "l2_current", "Instantaneous L2 Current", "14.019", S, 32, None, 3, _S, None),
    (17, "l3_current", "Instantaneous L3 Current", "14.019", S, 32, None, 3, _S, None),
    (18, "pause_restart", "Pause / Restart any charging", "1.010", W, 1, None, None, _SW, None),
    (19, "error_code", "Error code", "20.1221", S, 8, _E.ERROR_OBJECTS, None, _S, None),
    (20, "communication_error", "Communication error with EVSE", "1.005", S, 1, _E.ERROR_OBJECTS, None, _B, None),
    (25, "block", "Block", "1.001", W, 1, _E.BLOCK_OBJECT, None, _SW, None),
    (26, "auto_start", "Auto charging init after connect", "1.003", W, 1, _E.SESSION_OBJECTS, None, _SW, None),
)

# Connector 1; connector 2 is the same at +49.
_CONN_ROWS: tuple[_Row, ...] = (
    (31, "current_limit", "Current limit", "14.019", W, 32, None, None, _N, 61),
    (32, "active_power_limit", "Active Power limit", "14.056", W, 32, None, None, _N, 63),
    (33, "start_stop", "Start - Stop charging", "1.010", W, 1, None, None, _SW, 37),
    (34, "pilot_state", "Charger Status - Pilot State", "20.1219", S, 8, _E.PILOT_STATE, None, _S, None),
    (35, "ocpp_state", "Charger Status - OCPP State", "20.1220", S, 8, _E.OCPP_STATE, None, _S, None),
    (36, "vehicle_connected", "Vehicle connected", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (37, "charging", "Charging", "1.011", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (38, "available", "Charger available", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (39, "suspended_ev", "Charging suspended by EV", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (40, "suspended_evse", "Charging suspended by EVSE", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (41, "finished", "Charging finished", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (42, "reserved", "Charger reserved", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (43, "unavailable", "Charger unavailable", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (44, "fault", "Charger fault", "1.002", S, 1, _E.INDIVIDUAL_STATUS, None, _B, None),
    (45, "session_time", "Current session time", "7.005", S, 16, None, None, _S, None),
    (46, "session_energy", "Current session Energy", "13.010", S, 32, None, None, _S, None),
    (47, "active_power", "Instantaneous Active Power", "14.056", S, 32, None, None, _S, None),
    (48, "single_phase_current", "Instantaneous Single-phase Current", "14.019", S, 32, None, 1, _S, None),
    (49, "l1_current", "Instantaneous L1 Current", "14.019", S, 32, None, 3, _S, None),
    (50, "l2_current", "Instantaneous L2 Current", "14.019", S, 32, None, 3, _S, None),
    (51, "l3_current", "Instantaneous L3 Current", "14.019", S, 32, None, 3, _S, None),
    (54, "charging_time_1", "Enable/Disable charging time 1", "1.003", W, 1, _E.CHARGING_TIME_OBJECTS, None, _SW, None),
    (57, "charging_time_2", "Enable/Disable charging time 2", "1.003", W, 1, _E.CHARGING_TIME_OBJECTS, None, _SW, None),
    (60, "charging_time_3", "Enable/Disable charging time 3", "1.003", W, 1, _E.CHARGING_TIME_OBJECTS, None, _SW, None),
    (61, "current_limit_status", "Current limit Status", "14.019", S, 32, None, None, _S, None),
    (62, "fail_safe_current_status", "Fail-safe Current Status", "14.019", S, 32, _E.FAIL_SAFE_OBJECTS, None, _S, None),
    (63, "active_power_limit_status", "Active Power limit Status", "14.056", S, 32, None, None, _S, None),
    (64, "fail_safe_active_power_status", "Fail-safe Active Power Status", "14.056", S, 32, _E.FAIL_SAFE_OBJECTS, None, _S, None),
    (65, "unlock", "Connector unlock", "1.017", W, 1, None, None, _BT, None),
    # 67 is not gated: "RFIDTag objects" enables only 8 and 9, and the worked example lists 67 without them.
    (67, "rfid_tag_started", "RFIDTag charging started", "16.001", S, 112, None, None, _S, None),
    (73, "block", "Block", "1.001", W, 1, _E.CONNECTOR_BLOCK_OBJECT, None, _SW, None),
)
CONN2_OFFSET: Final = 49

_BALANCING_ROWS: tuple[_Row, ...] = (
    (130, "current_measured", "Current measured", "14.019", W, 32, _E.BALANCING_CURRENT_CONTROL, None, _S, None),
    (131, "active_power_measured", "Active Power measured", "14.056", W, 32, _E.BALANCING_POWER_CONTROL, None, _S, None),
    (132, "switch", "Switch On/Off", "1.001", W, 1, _E.LOAD_BALANCING, None, _SW, None),
)

_MASTER_OUTPUT_NOTE: Final = (
    "Table says C-W--; the worked example links this object as the master's CR-T- output to the slave's "
    "object 1, so it is treated as an output."
)

# EVSE1 of the built-in master; EVSE n is the same at +15·(n-1).
_BALANCING_EVSE_ROWS: tuple[_Row, ...] = (
    (133, "single_phase_current", "Instantaneous Single-phase Current", "14.019", W, 32, _E.BALANCING_CURRENT_CONTROL, None, _S, None),
    (134, "active_power", "Instantaneous Active Power", "14.056", W, 32, _E.BALANCING_POWER_CONTROL, None, _S, None),
    (135, "current_limit", "Current limit", "14.019", S, 32, _E.BALANCING_CURRENT_CONTROL, None, _S, None),
    (136, "active_power_limit", "Active Power limit", "14.056", S, 32, _E.BALANCING_POWER_CONTROL, None, _S, None),
    (137, "pause_restart", "Pause/Restart charging", "1.010", S, 1, _E.LOAD_BALANCING, None, _B, None),
)
BALANCING_EVSE_STRIDE: Final = 15
MAX_BALANCED_EVSES: Final = 6

_NOTES: Final[dict[int, str]] = {
    26: "The table's description is copied from object 25; name, function and DPT 1.003 say auto-start.",
    135: _MASTER_OUTPUT_NOTE,
    136: _MASTER_OUTPUT_NOTE,
}


def _make(row: _Row, scope: Scope, offset: int = 0, evse_index: int | None = None) -> CommObject:
    number, key, name, dpt, flags, bits, enabled_by, phases, platform, status = row
    prefix = scope.value.lower().replace("-", "_")
    return CommObject(
        number=number + offset,
        key=f"{prefix}_{key}",
        name=f"[{scope.value}] {name}",
        dpt=dpt,
        flags=flags,
        size_bits=bits,
        scope=scope,
        enabled_by=enabled_by,
        phases=phases,
        platform=platform,
        status=None if status is None else status + offset,
        evse_index=evse_index,
        note=_NOTES.get(number, ""),
    )


def _build() -> dict[int, CommObject]:
    objects = [_make(row, Scope.EVSE) for row in _EVSE_ROWS]
    objects += [_make(row, Scope.CONN1) for row in _CONN_ROWS]
    objects += [_make(row, Scope.CONN2, CONN2_OFFSET) for row in _CONN_ROWS]
    objects += [_make(row, Scope.BALANCING) for row in _BALANCING_ROWS]
    for n in range(1, MAX_BALANCED_EVSES + 1):
        scope = Scope(f"Balancing-EVSE{n}")
        offset = BALANCING_EVSE_STRIDE * (n - 1)
        objects += [_make(row, scope, offset, evse_index=n) for row in _BALANCING_EVSE_ROWS]
    table = {obj.number: obj for obj in objects}
    if len(table) != len(objects):  # pragma: no cover - guards the data above
        raise RuntimeError("duplicate object number in the communication-object table")
    return dict(sorted(table.items()))


OBJECTS: Final = MappingProxyType(_build())
"""Object number → ``CommObject`` for all 117 objects of the manual, in number order."""

OBJECTS_BY_KEY: Final = MappingProxyType({obj.key: obj for obj in OBJECTS.values()})
"""``CommObject.key`` → ``CommObject``."""


class UnknownObjectError(KeyError):
    """Raised for an object number that is not in the manual's table."""

    def __init__(self, number: object) -> None:
        super().__init__(number)
        self.number = number

    def __str__(self) -> str:
        return f"object {self.number!r} is not a communication object of the charger (1-212, see manual)"


def get_object(number: int) -> CommObject:
    """Return the communication object ``number``; raises UnknownObjectError if the manual has none."""
    try:
        return OBJECTS[number]
    except KeyError:
        raise UnknownObjectError(number) from None


def connector_object(conn1_number: int, connector: int) -> CommObject:
    """Return connector ``connector``'s (1 or 2) copy of connector-1 object ``conn1_number``.

    Raises UnknownObjectError when ``conn1_number`` is not a connector-1 object, ValueError for a
    connector other than 1 or 2.
    """
    if connector not in (1, 2):
        raise ValueError(f"connector must be 1 or 2, got {connector!r}")
    obj = get_object(conn1_number)
    if obj.scope is not Scope.CONN1:
        raise UnknownObjectError(conn1_number)
    return get_object(conn1_number + CONN2_OFFSET * (connector - 1))



def scoped_object(base_key: str, connector: int | None) -> CommObject:
    """Return the object ``base_key`` of the whole charger (``connector`` None) or of connector 1/2.

    E.g. ``scoped_object("current_limit", None)`` is object 1, ``scoped_object("current_limit", 2)``
    object 80. Raises KeyError when that scope has no such object.
    """
    return OBJECTS_BY_KEY[f"evse_{base_key}" if connector is None else f"conn{connector}_{base_key}"]
