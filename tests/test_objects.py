"""The communication-object table against an independent transcription of the manual.

``fixtures/manual_objects.tsv`` is transcribed row for row from the manual's "Communication Objects"
table (not from objects.py). ``expected_flags`` is set only where the manual contradicts itself and the
worked balancing example wins; ``note`` says why.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from xknx.dpt import DPTArray, DPTBinary

from custom_components.knx_evse.knx import dpt as dpt_module
from custom_components.knx_evse.knx.objects import (
    OBJECTS,
    OBJECTS_BY_KEY,
    Enabler,
    Flags,
    Platform,
    Scope,
    UnknownObjectError,
    connector_object,
    get_object,
)

FIXTURE = Path(__file__).parent / "fixtures" / "manual_objects.tsv"

SIZE_BITS = {"1 bit": 1, "1 byte": 8, "2 bytes": 16, "4 bytes": 32, "14 bytes": 112}


@dataclass(frozen=True)
class ManualRow:
    number: int
    name: str
    size: str
    flags: str
    dpt: str
    expected_flags: str
    note: str

    @property
    def wanted_flags(self) -> str:
        return self.expected_flags or self.flags

    @property
    def scope(self) -> str:
        match = re.match(r"^\[([^\]]+)\] ", self.name)
        assert match, self.name
        return match.group(1)


def _load() -> list[ManualRow]:
    with FIXTURE.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    reader = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return [
        ManualRow(
            number=int(r["number"]),
            name=r["name"],
            size=r["size"],
            flags=r["flags"],
            dpt=r["dpt"],
            expected_flags=r["expected_flags"],
            note=r["note"],
        )
        for r in reader
    ]


ROWS = _load()
ROW_IDS = [str(r.number) for r in ROWS]


def test_fixture_is_complete_and_well_formed() -> None:
    assert len(ROWS) == 117
    numbers = [r.number for r in ROWS]
    assert numbers == sorted(set(numbers))
    assert numbers[0] == 1
    assert numbers[-1] == 212
    for row in ROWS:
        assert row.size in SIZE_BITS, row
        assert re.fullmatch(r"C[R-][W-][T-][U-]", row.flags), row
        assert row.expected_flags == "" or re.fullmatch(r"C[R-][W-][T-][U-]", row.expected_flags), row
        assert re.fullmatch(r"\d+\.\d{3,4}", row.dpt), row
        if row.expected_flags:
            assert row.note, f"object {row.number}: expected_flags without a note"


def test_fixture_contradictions_are_the_balancing_limits() -> None:
    """The rows where the example overrides the table: 135/136 and their copies for EVSE2..6."""
    overridden = {r.number for r in ROWS if r.expected_flags}
    assert overridden == {135 + 15 * k + d for k in range(6) for d in (0, 1)}
    assert all(r.flags == "C-W--" and r.expected_flags == "CR-T-" for r in ROWS if r.expected_flags)


def test_table_has_exactly_the_manual_numbers() -> None:
    assert list(OBJECTS) == [r.number for r in ROWS]
    assert len(OBJECTS) == 117
    assert min(OBJECTS) == 1
    assert max(OBJECTS) == 212


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_object_matches_manual_row(row: ManualRow) -> None:
    obj = OBJECTS[row.number]
    assert obj.number == row.number
    assert obj.name == row.name
    assert obj.dpt == row.dpt
    assert str(obj.flags) == row.wanted_flags
    assert obj.flags == Flags.parse(row.wanted_flags)
    assert obj.size_bits == SIZE_BITS[row.size]
    assert obj.size_bytes == SIZE_BITS[row.size] // 8


@pytest.mark.parametrize("row", [r for r in ROWS if r.expected_flags], ids=lambda r: str(r.number))
def test_contradicting_rows_carry_a_note(row: ManualRow) -> None:
    """objects.py must say beside the entry why it departs from the printed table."""
    assert OBJECTS[row.number].note
    assert "example" in OBJECTS[row.number].note


def test_rows_that_follow_the_table_carry_no_flag_note() -> None:
    """Only the balancing limits and object 26 (description copied from 25) are annotated."""
    annotated = {n for n, obj in OBJECTS.items() if obj.note}
    assert annotated == {r.number for r in ROWS if r.expected_flags} | {26}
    assert "25" in OBJECTS[26].note


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_dpt_exists_in_xknx_and_fits_the_object_size(row: ManualRow) -> None:
    obj = OBJECTS[row.number]
    transcoder = dpt_module.transcoder(obj)
    assert f"{transcoder.dpt_main_number}.{transcoder.dpt_sub_number:03d}" == row.dpt
    if SIZE_BITS[row.size] == 1:
        assert transcoder.payload_type is DPTBinary
    else:
        assert transcoder.payload_type is DPTArray
        assert transcoder.payload_length == SIZE_BITS[row.size] // 8


def test_flags_parse_and_render() -> None:
    assert Flags.parse("CR-T-") == Flags(communication=True, read=True, transmit=True)
    assert Flags.parse("C-W--") == Flags(communication=True, write=True)
    assert str(Flags.parse("CRWTU")) == "CRWTU"
    for bad in ("CR-T--", "CR-T", "RC-T-", "cr-t-", "CX-T-"):
        with pytest.raises(ValueError):
            Flags.parse(bad)


def test_readable_and_writable_follow_flags() -> None:
    for obj in OBJECTS.values():
        assert obj.readable is obj.flags.read
        assert obj.writable is obj.flags.write
        # The manual has only two flag patterns: commands (C-W--) and outputs (CR-T-).
        assert obj.readable != obj.writable, obj.number


def test_keys_unique_and_snake_case() -> None:
    keys = [obj.key for obj in OBJECTS.values()]
    assert len(set(keys)) == len(keys) == 117
    for obj in OBJECTS.values():
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", obj.key), obj.key
        prefix = obj.scope.value.lower().replace("-", "_") + "_"
        assert obj.key.startswith(prefix), obj.key
        assert obj.base_key == obj.key.removeprefix(prefix)
        assert OBJECTS_BY_KEY[obj.key] is obj


def test_connector_and_evse_copies_share_base_keys() -> None:
    """Conn2 repeats Conn1 and EVSE n repeats EVSE1: the same base key (one translation each)."""
    conn1 = {o.base_key for o in OBJECTS.values() if o.scope is Scope.CONN1}
    conn2 = {o.base_key for o in OBJECTS.values() if o.scope is Scope.CONN2}
    assert conn1 == conn2
    assert len(conn1) == 31
    evse1 = {o.base_key for o in OBJECTS.values() if o.scope is Scope.BALANCING_EVSE1}
    assert len(evse1) == 5
    for n in range(2, 7):
        assert {o.base_key for o in OBJECTS.values() if o.scope is Scope(f"Balancing-EVSE{n}")} == evse1


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_scope_matches_name_prefix(row: ManualRow) -> None:
    obj = OBJECTS[row.number]
    assert obj.scope is Scope(row.scope)
    match = re.fullmatch(r"Balancing-EVSE(\d)", row.scope)
    assert obj.evse_index == (int(match.group(1)) if match else None)


def test_scope_counts() -> None:
    counts = {scope: 0 for scope in Scope}
    for obj in OBJECTS.values():
        counts[obj.scope] += 1
    assert counts[Scope.EVSE] == 22
    assert counts[Scope.CONN1] == 31
    assert counts[Scope.CONN2] == 31
    assert counts[Scope.BALANCING] == 3
    for n in range(1, 7):
        assert counts[Scope(f"Balancing-EVSE{n}")] == 5


def test_status_links_point_at_readable_objects_of_the_same_type() -> None:
    links = {n: obj.status for n, obj in OBJECTS.items() if obj.status is not None}
    # The manual's command/status pairs (1 → 3, 31 → 61, 33 → 37) and connector 2's copies.
    assert links == {1: 3, 2: 4, 31: 61, 32: 63, 33: 37, 80: 110, 81: 112, 82: 86}
    for command, status in links.items():
        cmd, st = OBJECTS[command], OBJECTS[status]
        assert cmd.writable, command
        assert st.readable, status
        assert st.flags.transmit, status
        assert st.scope is cmd.scope
        assert st.size_bits == cmd.size_bits
        if (command, status) in {(33, 37), (82, 86)}:
            # Start/stop (1.010) is reported by "Charging" (1.011): same 1-bit main type.
            assert (cmd.dpt, st.dpt) == ("1.010", "1.011")
        else:
            assert st.dpt == cmd.dpt


def test_only_commands_have_status_links() -> None:
    for obj in OBJECTS.values():
        if obj.readable:
            assert obj.status is None, obj.number


def test_platforms_fit_the_objects() -> None:
    for obj in OBJECTS.values():
        if obj.readable:
            expected = Platform.BINARY_SENSOR if obj.size_bits == 1 else Platform.SENSOR
            assert obj.platform is expected, obj.number
        if obj.dpt in {"1.015", "1.017"}:  # reset, trigger: one-shot commands
            assert obj.platform is Platform.BUTTON, obj.number
    assert OBJECTS[8].platform is Platform.TEXT
    assert OBJECTS[1].platform is Platform.NUMBER
    assert OBJECTS[33].platform is Platform.SWITCH


def test_enabling_parameters_from_the_manual() -> None:
    assert OBJECTS[19].enabled_by is Enabler.ERROR_OBJECTS
    assert OBJECTS[20].enabled_by is Enabler.ERROR_OBJECTS
    assert OBJECTS[34].enabled_by is Enabler.PILOT_STATE
    assert OBJECTS[83].enabled_by is Enabler.PILOT_STATE
    assert OBJECTS[35].enabled_by is Enabler.OCPP_STATE
    assert OBJECTS[5].enabled_by is Enabler.RESET_OBJECT
    assert OBJECTS[8].enabled_by is Enabler.RFID_OBJECTS
    assert OBJECTS[9].enabled_by is Enabler.RFID_OBJECTS
    assert OBJECTS[25].enabled_by is Enabler.BLOCK_OBJECT
    assert OBJECTS[73].enabled_by is Enabler.CONNECTOR_BLOCK_OBJECT
    assert OBJECTS[132].enabled_by is Enabler.LOAD_BALANCING
    for n in (6, 7, 26):
        assert OBJECTS[n].enabled_by is Enabler.SESSION_OBJECTS
    for n in range(36, 45):
        assert OBJECTS[n].enabled_by is Enabler.INDIVIDUAL_STATUS
    for n in (54, 57, 60, 103, 106, 109):
        assert OBJECTS[n].enabled_by is Enabler.CHARGING_TIME_OBJECTS
    # "RFIDTag objects" enables 8 and 9 only; the worked example lists 67 without them.
    assert OBJECTS[67].enabled_by is None
    assert OBJECTS[116].enabled_by is None
    # The worked example lists 13 and 14 without the session objects 6/7/26.
    assert OBJECTS[13].enabled_by is None
    assert OBJECTS[14].enabled_by is None
    for obj in OBJECTS.values():
        if obj.scope.value.startswith("Balancing"):
            assert obj.enabled_by in {
                Enabler.LOAD_BALANCING,
                Enabler.BALANCING_CURRENT_CONTROL,
                Enabler.BALANCING_POWER_CONTROL,
            }, obj.number


def test_phase_restrictions() -> None:
    assert {n for n, o in OBJECTS.items() if o.phases == 1} == {14, 48, 97}
    assert {n for n, o in OBJECTS.items() if o.phases == 3} == {15, 16, 17, 49, 50, 51, 98, 99, 100}


@pytest.mark.parametrize("number", [0, 21, 66, 138, 213, 999, -1])
def test_get_object_unknown_number(number: int) -> None:
    with pytest.raises(UnknownObjectError) as info:
        get_object(number)
    assert str(number) in str(info.value)
    assert info.value.number == number
    assert isinstance(info.value, KeyError)


def test_get_object_999_message() -> None:
    with pytest.raises(UnknownObjectError, match="999"):
        get_object(999)


def test_get_object_known() -> None:
    for number, obj in OBJECTS.items():
        assert get_object(number) is obj


def test_connector_object_mapping() -> None:
    assert connector_object(31, 1).number == 31
    assert connector_object(31, 2).number == 80
    assert connector_object(33, 2).number == 82
    assert connector_object(67, 2).number == 116
    assert connector_object(73, 2).number == 122
    for obj in OBJECTS.values():
        if obj.scope is not Scope.CONN1:
            continue
        other = connector_object(obj.number, 2)
        assert other.scope is Scope.CONN2
        assert other.name == obj.name.replace("[Conn1]", "[Conn2]")
        assert (other.dpt, other.flags, other.size_bits) == (obj.dpt, obj.flags, obj.size_bits)
        assert other.enabled_by is obj.enabled_by
        assert other.phases == obj.phases


@pytest.mark.parametrize("number", [1, 80, 130, 999])
def test_connector_object_rejects_non_conn1(number: int) -> None:
    with pytest.raises(UnknownObjectError, match=str(number)):
        connector_object(number, 2)


@pytest.mark.parametrize("connector", [0, 3])
def test_connector_object_rejects_bad_connector(connector: int) -> None:
    with pytest.raises(ValueError, match=str(connector)):
        connector_object(31, connector)


def test_objects_are_immutable() -> None:
    obj = OBJECTS[1]
    with pytest.raises(AttributeError):
        obj.dpt = "1.001"  # type: ignore[misc]
    with pytest.raises(TypeError):
        OBJECTS[1] = obj  # type: ignore[index]
