"""Encoding and decoding every DPT of the object table through xknx, with boundaries and bad input."""

from __future__ import annotations

import functools
import re
import struct
from typing import Any

import pytest
from xknx.dpt import DPTArray, DPTBase, DPTBinary
from xknx.dpt.dpt_20 import DPTHVACMode

from custom_components.knx_evse.knx import dpt as dpt_module
from custom_components.knx_evse.knx.dpt import (
    ControlPilotState,
    DecodeError,
    DPTControlPilotState,
    DPTEvseErrorCode,
    DPTOcppState,
    EncodeError,
    EvseErrorCode,
    ObjectValueError,
    OcppState,
    PayloadLengthError,
    decode,
    encode,
    transcoder,
)
from custom_components.knx_evse.knx.objects import OBJECTS, CommObject


def _first(dpt: str) -> CommObject:
    return next(o for o in OBJECTS.values() if o.dpt == dpt)


TABLE_DPTS = sorted({o.dpt for o in OBJECTS.values()})

# Values that must survive encode → decode unchanged, per DPT (xknx rounds 4-byte floats to their significant digits, so 56.7 comes back as 56.7).
ROUND_TRIP: dict[str, list[Any]] = {
    "1.001": [True, False],
    "1.002": [True, False],
    "1.003": [True, False],
    "1.005": [True, False],
    "1.010": [True, False],
    "1.011": [True, False],
    "1.015": [True, False],
    "1.017": [True, False],
    "7.005": [0, 1, 30, 3600, 21600, 65535],
    "13.010": [0, 1, -1, 100, 7400, -2_000_000, 2**31 - 1, -(2**31)],
    "14.019": [0.0, 6.0, 16.0, 32.0, 0.5, -1.5, 63.0, 56.7, 6.3],
    "14.056": [0.0, 250.0, 7400.0, 22000.0, -22000.0, -1.0, 1e9, -1e9, 9200.0],
    "16.001": ["", "A", "04A1B2C3D4E5F6", "ÄÖÜßé", "ÄÖÜßé123456789", "ñÿ©°µ ¡¿"],
    "20.1219": list(ControlPilotState)[:-1],
    "20.1220": list(OcppState)[:-1],
    "20.1221": list(EvseErrorCode)[:-1],
}


def test_round_trip_table_covers_every_dpt_of_the_table() -> None:
    assert set(ROUND_TRIP) == set(TABLE_DPTS)
    assert len(TABLE_DPTS) == 16


@pytest.mark.parametrize("dpt", TABLE_DPTS)
def test_round_trip(dpt: str) -> None:
    for obj in (o for o in OBJECTS.values() if o.dpt == dpt):
        for value in ROUND_TRIP[dpt]:
            payload = encode(obj, value)
            if obj.size_bits == 1:
                assert isinstance(payload, DPTBinary)
            else:
                assert isinstance(payload, DPTArray)
                assert len(payload.value) == obj.size_bytes
            decoded = decode(obj, payload)
            assert decoded == value, (obj.number, value, decoded)
            assert type(decoded) is type(value), (obj.number, value, decoded)


# Known telegrams, computed by hand from the KNX encodings (not from xknx).
KNOWN_PAYLOADS: list[tuple[int, DPTArray | DPTBinary, Any]] = [
    (31, DPTArray(struct.pack(">f", 32.0)), 32.0),
    (31, DPTArray((0x00, 0x00, 0x00, 0x00)), 0.0),
    (31, DPTArray((0x40, 0xC0, 0x00, 0x00)), 6.0),
    (13, DPTArray(struct.pack(">f", -22000.0)), -22000.0),
    (13, DPTArray((0x4E, 0x6E, 0x6B, 0x28)), 1e9),
    (45, DPTArray((0xFF, 0xFF)), 65535),
    (45, DPTArray((0x00, 0x00)), 0),
    (46, DPTArray((0xFF, 0xFF, 0xFF, 0xFF)), -1),
    (46, DPTArray((0x80, 0x00, 0x00, 0x00)), -(2**31)),
    (46, DPTArray((0x7F, 0xFF, 0xFF, 0xFF)), 2**31 - 1),
    (8, DPTArray((0xC4, 0xD6, 0xDC, 0xDF, 0xE9) + (0,) * 9), "ÄÖÜßé"),
    (67, DPTArray(b"ABCDEFGHIJKLMN"), "ABCDEFGHIJKLMN"),
    (34, DPTArray((2,)), ControlPilotState.READY_CHARGING),
    (35, DPTArray((0,)), OcppState.CHARGING),
    (35, DPTArray((7,)), OcppState.RESERVED),
    (19, DPTArray((7,)), EvseErrorCode.NO_ERROR),
    (33, DPTBinary(1), True),
    (33, DPTBinary(0), False),
]


@pytest.mark.parametrize(("number", "payload", "value"), KNOWN_PAYLOADS)
def test_known_payloads(number: int, payload: DPTArray | DPTBinary, value: Any) -> None:
    obj = OBJECTS[number]
    assert decode(obj, payload) == value
    assert encode(obj, value) == payload


def test_time_period_boundaries() -> None:
    obj = OBJECTS[45]
    assert encode(obj, 0) == DPTArray((0, 0))
    assert encode(obj, 65535) == DPTArray((0xFF, 0xFF))
    for bad in (65536, -1, 100_000):
        with pytest.raises(EncodeError, match=r"object 45\b"):
            encode(obj, bad)
    with pytest.raises(EncodeError, match=r"object 6\b"):
        encode(OBJECTS[6], 65536)


def test_current_boundaries() -> None:
    for number in (1, 31, 80, 135):
        obj = OBJECTS[number]
        for amps in (0.0, 6.0, 32.0):
            assert decode(obj, encode(obj, amps)) == amps


def test_power_negative_and_huge() -> None:
    obj = OBJECTS[131]  # balancing measured power: negative when exporting solar surplus
    assert decode(obj, encode(obj, -22000.0)) == -22000.0
    assert decode(obj, encode(obj, 1e9)) == 1e9
    assert decode(obj, encode(obj, 3.0e38)) == pytest.approx(3.0e38, rel=1e-6)
    assert decode(obj, encode(obj, -3.0e38)) == pytest.approx(-3.0e38, rel=1e-6)
    # Beyond the 4-byte float range: a clear error naming the object, not an OverflowError.
    with pytest.raises(EncodeError, match=r"object 131\b"):
        encode(obj, 1e39)


def test_energy_int32_boundaries() -> None:
    obj = OBJECTS[95]
    assert decode(obj, encode(obj, -(2**31))) == -(2**31)
    assert decode(obj, encode(obj, 2**31 - 1)) == 2**31 - 1
    for bad in (2**31, -(2**31) - 1, 10**12):
        with pytest.raises(EncodeError, match=r"object 95\b"):
            encode(obj, bad)


def test_string_14_characters_iso_8859_1() -> None:
    obj = OBJECTS[8]
    fourteen = "ÄÖÜßé123456789"
    assert len(fourteen) == 14
    payload = encode(obj, fourteen)
    assert bytes(payload.value) == fourteen.encode("latin_1")
    assert decode(obj, payload) == fourteen
    with pytest.raises(EncodeError, match=r"object 8\b"):
        encode(obj, fourteen + "X")
    with pytest.raises(EncodeError, match=r"object 8\b"):
        encode(obj, "Ä" * 15)


@pytest.mark.parametrize("text", ["€", "RFID–1", "タグ", "😀"])
def test_string_outside_iso_8859_1_is_rejected(text: str) -> None:
    """xknx would send '?' in its place; the integration must refuse instead of storing a wrong tag."""
    with pytest.raises(EncodeError, match=r"object 8\b.*ISO 8859-1"):
        encode(OBJECTS[8], text)


MANUAL_ENUMS: dict[type[Any], dict[int, str]] = {
    # Manual, "Connector > Charging status": DPT 20.1219 Control Pilot State.
    ControlPilotState: {
        0: "Standby",
        1: "Vehicle Detected",
        2: "Ready charging",
        3: "Charging with ventilation",
        4: "Finished",
        5: "Reserved for specific EV",
        6: "Unavailable",
        7: "ERROR",
        8: "Suspended_EV_SE",
        9: "Suspended_EV",
    },
    # Manual, "Connector > Charging status": DPT 20.1220 OCPP State.
    OcppState: {
        0: "Charging",
        1: "EVConnected",
        2: "SuspendedEV",
        3: "SuspendedEVSE",
        4: "Idle",
        5: "Available",
        6: "Occupied",
        7: "Reserved",
        8: "Unavailable",
        9: "Faulted",
    },
    # Manual, "Advanced > Error objects": DPT 20.1221 EVSEErrorCode.
    EvseErrorCode: {
        1: "Connector Lock Failure",
        2: "EV Communication Error",
        3: "Ground Failure",
        4: "High Temperature",
        5: "Internal Error",
        6: "Local List Conflict",
        7: "NoError",
    },
}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@pytest.mark.parametrize("enum", list(MANUAL_ENUMS), ids=lambda e: e.__name__)
def test_enum_values_match_manual(enum: type[Any]) -> None:
    expected = MANUAL_ENUMS[enum]
    sendable = {m.value: m for m in enum if m.value in expected}
    assert set(sendable) == set(expected)
    for raw, label in expected.items():
        assert _norm(sendable[raw].name) == _norm(label), (raw, label)


ENUM_OBJECTS = {
    DPTControlPilotState: (34, 83),
    DPTOcppState: (35, 84),
    DPTEvseErrorCode: (19,),
}
VALID_RAW = {
    DPTControlPilotState: range(10),
    DPTOcppState: range(10),
    DPTEvseErrorCode: range(1, 8),
}
OUT_OF_RANGE = {
    DPTControlPilotState: ControlPilotState.RESERVED,
    DPTOcppState: OcppState.UNKNOWN,
    DPTEvseErrorCode: EvseErrorCode.RESERVED,
}


@pytest.mark.parametrize("dpt_class", list(ENUM_OBJECTS), ids=lambda c: c.__name__)
def test_enum_every_value_round_trips(dpt_class: type[DPTBase]) -> None:
    for number in ENUM_OBJECTS[dpt_class]:
        obj = OBJECTS[number]
        assert transcoder(obj) is dpt_class
        for raw in VALID_RAW[dpt_class]:
            value = decode(obj, DPTArray((raw,)))
            assert value.value == raw
            assert value is not OUT_OF_RANGE[dpt_class]
            assert encode(obj, value) == DPTArray((raw,))
            assert encode(obj, raw) == DPTArray((raw,))
            assert encode(obj, value.name) == DPTArray((raw,))


@pytest.mark.parametrize("dpt_class", list(ENUM_OBJECTS), ids=lambda c: c.__name__)
def test_enum_reserved_values_decode_to_reserved_and_cannot_be_sent(dpt_class: type[DPTBase]) -> None:
    reserved_member = OUT_OF_RANGE[dpt_class]
    for number in ENUM_OBJECTS[dpt_class]:
        obj = OBJECTS[number]
        reserved = [raw for raw in range(256) if raw not in VALID_RAW[dpt_class]]
        assert len(reserved) == 256 - len(VALID_RAW[dpt_class])
        for raw in reserved:
            assert decode(obj, DPTArray((raw,))) is reserved_member, raw
            with pytest.raises(EncodeError, match=rf"object {number}\b"):
                encode(obj, raw)
        with pytest.raises(EncodeError, match=rf"object {number}\b"):
            encode(obj, reserved_member)
        with pytest.raises(EncodeError, match=rf"object {number}\b"):
            encode(obj, "NOT_A_STATE")
        with pytest.raises(EncodeError, match=rf"object {number}\b"):
            encode(obj, -1)


def test_error_code_zero_is_reserved() -> None:
    assert decode(OBJECTS[19], DPTArray((0,))) is EvseErrorCode.RESERVED
    with pytest.raises(EncodeError, match=r"object 19\b"):
        encode(OBJECTS[19], 0)


@pytest.mark.parametrize("dpt_class", list(ENUM_OBJECTS), ids=lambda c: c.__name__)
def test_enum_valid_values_exclude_reserved(dpt_class: type[Any]) -> None:
    valid = dpt_class.get_valid_values()
    assert OUT_OF_RANGE[dpt_class] not in valid
    assert sorted(m.value for m in valid) == list(VALID_RAW[dpt_class])


@pytest.mark.parametrize(
    ("text", "cls"),
    [("20.1219", DPTControlPilotState), ("20.1220", DPTOcppState), ("20.1221", DPTEvseErrorCode)],
)
def test_manufacturer_dpts_stay_out_of_xknx(text: str, cls: type[Any]) -> None:
    # Home Assistant's core KNX integration lists xknx's class tree as its supported DPTs.
    assert DPTBase.parse_transcoder(text) is None
    main, sub = (int(x) for x in text.split("."))
    assert DPTBase.parse_transcoder({"main": main, "sub": sub}) is None
    assert DPTBase.parse_transcoder(cls.value_type) is None
    assert not any(c.__module__ == dpt_module.__name__ for c in DPTBase.dpt_class_tree())
    assert cls.payload_type is DPTArray
    assert cls.payload_length == 1
    assert cls.dpt_name() == f"{cls.__name__} ({text})"


def test_own_lookup_wins_over_a_future_xknx_dpt_with_the_same_number(monkeypatch: pytest.MonkeyPatch) -> None:
    # A future xknx answering every lookup (here with DPTHVACMode) must not replace our codecs.
    monkeypatch.setattr(DPTBase, "get_dpt", classmethod(lambda cls, value_type: DPTHVACMode))
    monkeypatch.setattr(dpt_module, "_transcoder", functools.cache(dpt_module._transcoder.__wrapped__))
    assert transcoder(OBJECTS[1]) is DPTHVACMode
    assert transcoder(OBJECTS[34]) is DPTControlPilotState
    assert decode(OBJECTS[34], DPTArray((8,))) is ControlPilotState.SUSPENDED_EV_SE


def test_registering_does_not_shadow_xknx_dpt_20() -> None:
    assert DPTBase.parse_transcoder("20.102") is DPTHVACMode


def _wrong_payloads(obj: CommObject) -> list[DPTArray | DPTBinary]:
    if obj.size_bits == 1:
        return [DPTArray((1,)), DPTArray((0, 1)), DPTBinary(2), DPTBinary(0x3F)]
    n = obj.size_bytes
    return [DPTBinary(1), DPTBinary(0), DPTArray((0,) * (n - 1)), DPTArray((0,) * (n + 1)), DPTArray(())]


@pytest.mark.parametrize("number", list(OBJECTS), ids=str)
def test_wrong_payload_raises_payload_length_error(number: int) -> None:
    obj = OBJECTS[number]
    for payload in _wrong_payloads(obj):
        with pytest.raises(PayloadLengthError, match=rf"^object {number}\b") as info:
            decode(obj, payload)
        assert info.value.object_number == number
        assert isinstance(info.value, ObjectValueError)
        assert isinstance(info.value, ValueError)


NON_FINITE = [
    DPTArray((0x7F, 0xC0, 0x00, 0x00)),  # NaN
    DPTArray((0xFF, 0xC0, 0x00, 0x01)),  # negative NaN with payload
    DPTArray((0x7F, 0x80, 0x00, 0x00)),  # +inf
    DPTArray((0xFF, 0x80, 0x00, 0x00)),  # -inf
]


@pytest.mark.parametrize("number", [n for n, o in OBJECTS.items() if o.dpt.startswith("14.")], ids=str)
def test_non_finite_float_raises_decode_error(number: int) -> None:
    obj = OBJECTS[number]
    for payload in NON_FINITE:
        with pytest.raises(DecodeError, match=rf"^object {number}\b") as info:
            decode(obj, payload)
        assert info.value.object_number == number
        assert not isinstance(info.value, PayloadLengthError)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_float_cannot_be_encoded(value: float) -> None:
    for number in (1, 13, 135):
        with pytest.raises(EncodeError, match=rf"object {number}\b"):
            encode(OBJECTS[number], value)


@pytest.mark.parametrize(("number", "value"), [(13, None), (13, "many"), (45, None), (45, "x"), (46, [1])])
def test_wrong_value_type_raises_encode_error(number: int, value: Any) -> None:
    with pytest.raises(EncodeError, match=rf"^object {number}\b") as info:
        encode(OBJECTS[number], value)
    assert info.value.object_number == number


def test_one_bit_decodes_to_bool() -> None:
    for obj in OBJECTS.values():
        if obj.size_bits == 1:
            assert decode(obj, DPTBinary(1)) is True
            assert decode(obj, DPTBinary(0)) is False


def test_decode_errors_are_distinct() -> None:
    assert not issubclass(PayloadLengthError, DecodeError)
    assert not issubclass(DecodeError, PayloadLengthError)
    assert not issubclass(EncodeError, (DecodeError, PayloadLengthError))
