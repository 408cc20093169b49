"""Datapoint types: the three manufacturer DPTs xknx lacks, and decoding/encoding by object.

Source: manual, "Connector → Charging status" (20.1219, 20.1220) and "Advanced → Error objects"
(20.1221). Every other DPT of the object table is xknx's own transcoder; this module only looks them
up. The manufacturer codecs stay private to this integration: they are not ``DPTBase`` subclasses,
so xknx's registry (and Home Assistant's core KNX integration, which lists it) never sees them.

Reserved raw values (10-255 for 20.1219/20.1220; 0 and 8-255 for 20.1221) decode to ``RESERVED``
instead of raising, because a newer firmware may send them; encoding ``RESERVED`` or any value
outside the enum raises ``ConversionError``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, Final

from xknx.dpt.dpt import DPTBase, DPTEnumData
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.exceptions import ConversionError, CouldNotParseTelegram

from .objects import CommObject

RESERVED_RAW: Final = 255
"""Raw value used as the ``RESERVED`` member of the manufacturer enums (reserved in all three)."""


class ControlPilotState(DPTEnumData):
    """DPT 20.1219 Control Pilot State (objects 34 and 83)."""

    STANDBY = 0
    VEHICLE_DETECTED = 1
    READY_CHARGING = 2
    CHARGING_WITH_VENTILATION = 3
    FINISHED = 4
    RESERVED_FOR_SPECIFIC_EV = 5
    UNAVAILABLE = 6
    ERROR = 7
    SUSPENDED_EV_SE = 8
    SUSPENDED_EV = 9
    RESERVED = RESERVED_RAW


class OcppState(DPTEnumData):
    """DPT 20.1220 OCPP State (objects 35 and 84)."""

    CHARGING = 0
    EV_CONNECTED = 1
    SUSPENDED_EV = 2
    SUSPENDED_EVSE = 3
    IDLE = 4
    AVAILABLE = 5
    OCCUPIED = 6
    RESERVED = 7
    UNAVAILABLE = 8
    FAULTED = 9
    UNKNOWN = RESERVED_RAW


class EvseErrorCode(DPTEnumData):
    """DPT 20.1221 EVSEErrorCode (object 19). 7 means "no error"."""

    CONNECTOR_LOCK_FAILURE = 1
    EV_COMMUNICATION_ERROR = 2
    GROUND_FAILURE = 3
    HIGH_TEMPERATURE = 4
    INTERNAL_ERROR = 5
    LOCAL_LIST_CONFLICT = 6
    NO_ERROR = 7
    RESERVED = RESERVED_RAW


# OCPP uses "Reserved" as a real state (7), so its out-of-range member is called UNKNOWN.
_OUT_OF_RANGE: Final[dict[type[DPTEnumData], DPTEnumData]] = {
    ControlPilotState: ControlPilotState.RESERVED,
    OcppState: OcppState.UNKNOWN,
    EvseErrorCode: EvseErrorCode.RESERVED,
}


class _ManufacturerEnum:
    """1-byte manufacturer enum codec; reserved raw values decode to the enum's out-of-range member.

    Deliberately not a ``DPTBase`` subclass: xknx lists every concrete subclass as a supported DPT.
    Same interface as xknx's transcoders (``from_knx``, ``to_knx``, ``dpt_name``, payload shape).
    """

    dpt_main_number: ClassVar[int] = 20
    dpt_sub_number: ClassVar[int]
    value_type: ClassVar[str]
    data_type: ClassVar[type[DPTEnumData]]
    payload_type: ClassVar[type[DPTArray]] = DPTArray
    payload_length: ClassVar[int] = 1

    @classmethod
    def dpt_name(cls) -> str:
        """Class name and DPT number, as xknx names its transcoders: "DPTOcppState (20.1220)"."""
        return f"{cls.__name__} ({cls.dpt_main_number}.{cls.dpt_sub_number:03d})"

    @classmethod
    def from_knx(cls, payload: DPTArray | DPTBinary) -> DPTEnumData:
        """Decode a 1-byte payload; raises CouldNotParseTelegram when it is not exactly 1 byte."""
        if not isinstance(payload, DPTArray) or len(payload.value) != cls.payload_length:
            raise CouldNotParseTelegram(f"Invalid payload for {cls.dpt_name()}", payload=payload)
        try:
            return cls.data_type(payload.value[0])
        except ValueError:
            return _OUT_OF_RANGE[cls.data_type]

    @classmethod
    def to_knx(cls, value: DPTEnumData | str | int) -> DPTArray:
        """Encode a member, its name or raw value; raises ConversionError for reserved values."""
        try:
            member = cls.data_type.parse(value)
        except ValueError as err:
            raise ConversionError(
                f"Value not supported for {cls.data_type.__name__} in {cls.dpt_name()}",
                value=value,
                valid_values=cls.get_valid_values(),
            ) from err
        if member is _OUT_OF_RANGE[cls.data_type]:
            raise ConversionError(f"{cls.dpt_name()} cannot send a reserved value", value=value)
        return DPTArray(member.value)

    @classmethod
    def get_valid_values(cls) -> list[DPTEnumData]:
        """Members that may be sent (all but the out-of-range member)."""
        return [m for m in cls.data_type if m is not _OUT_OF_RANGE[cls.data_type]]


class DPTControlPilotState(_ManufacturerEnum):
    """DPT 20.1219 Control Pilot State, 1 byte, values 0-9 (manual: "Charger Pilot State")."""

    dpt_sub_number = 1219
    value_type = "knx_evse_control_pilot_state"
    data_type = ControlPilotState


class DPTOcppState(_ManufacturerEnum):
    """DPT 20.1220 OCPP State, 1 byte, values 0-9 (manual: "Charger OCPP State")."""

    dpt_sub_number = 1220
    value_type = "knx_evse_ocpp_state"
    data_type = OcppState


class DPTEvseErrorCode(_ManufacturerEnum):
    """DPT 20.1221 EVSEErrorCode, 1 byte, values 1-7 (manual: "Error objects")."""

    dpt_sub_number = 1221
    value_type = "knx_evse_error_code"
    data_type = EvseErrorCode


_MANUFACTURER_DPTS: Final[dict[str, type[_ManufacturerEnum]]] = {
    f"{codec.dpt_main_number}.{codec.dpt_sub_number}": codec
    for codec in (DPTControlPilotState, DPTOcppState, DPTEvseErrorCode)
}


class ObjectValueError(ValueError):
    """A payload or value that does not fit a communication object; the message names the object."""

    def __init__(self, obj: CommObject, problem: str) -> None:
        super().__init__(f"object {obj.number} ({obj.name}, DPT {obj.dpt}): {problem}")
        self.object_number = obj.number


class PayloadLengthError(ObjectValueError):
    """A telegram payload of the wrong type or length for the object's DPT."""


class DecodeError(ObjectValueError):
    """A payload of the right length whose value is not valid (NaN or infinite float)."""


class EncodeError(ObjectValueError):
    """A value that the object's DPT cannot encode (out of range, wrong type, too long)."""


def transcoder(obj: CommObject) -> type[DPTBase] | type[_ManufacturerEnum]:
    """Return the transcoder class for ``obj.dpt``; raises ValueError when there is none.

    The manufacturer DPTs come from this module (first, so a future xknx class with the same number
    cannot take their place), every other DPT from xknx. Cached per DPT string: xknx searches its
    whole class tree on every lookup (about 1 ms).
    """
    return _transcoder(obj.dpt)


@functools.cache
def _transcoder(dpt: str) -> type[DPTBase] | type[_ManufacturerEnum]:
    return _MANUFACTURER_DPTS.get(dpt) or DPTBase.get_dpt(dpt)


def decode(obj: CommObject, payload: DPTArray | DPTBinary) -> Any:
    """Decode a telegram payload for ``obj`` with its DPT.

    Returns bool (1-bit), int (7.005 s, 13.010 Wh), float (14.019 A, 14.056 W), str (16.001) or a
    ``DPTEnumData`` member (20.x). Raises PayloadLengthError for a payload of the wrong type or length
    and DecodeError for a NaN or infinite float; both name the object number.
    """
    dpt = transcoder(obj)
    try:
        value = dpt.from_knx(payload)
    except CouldNotParseTelegram as err:
        raise PayloadLengthError(obj, f"payload {payload!r} does not fit {dpt.dpt_name()}") from err
    except ConversionError as err:
        raise DecodeError(obj, f"cannot decode {payload!r}") from err
    if obj.size_bits == 1:
        # xknx 4 returns 1-bit enums (Switch.ON, Start.START…); the integration works with bool.
        return bool(getattr(value, "value", value))
    if isinstance(value, float) and not math.isfinite(value):
        raise DecodeError(obj, f"non-finite value {value!r}")
    return value


def encode(obj: CommObject, value: Any) -> DPTArray | DPTBinary:
    """Encode ``value`` for ``obj``; raises EncodeError naming the object when it cannot be sent.

    Floats must be finite; strings for 16.001 at most 14 ISO 8859-1 characters; enums a sendable
    member, name or raw value.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise EncodeError(obj, f"non-finite value {value!r}")
    if isinstance(value, str) and obj.dpt == "16.001":
        # xknx would silently send "?" for a character outside ISO 8859-1.
        try:
            value.encode("latin_1")
        except UnicodeEncodeError as err:
            raise EncodeError(obj, f"{value!r} is not an ISO 8859-1 string") from err
    try:
        return transcoder(obj).to_knx(value)
    except (ConversionError, OverflowError, TypeError, ValueError) as err:
        # OverflowError: float beyond the 4-byte float range; TypeError/ValueError: wrong value type.
        raise EncodeError(obj, str(err)) from err
