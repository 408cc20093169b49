"""Group-address links: parsing in every KNX style, and the rules ETS would enforce."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.knx_evse.knx.group_addresses import (
    GroupAddressError,
    parse_group_address,
    split_addresses,
    validate_group_addresses,
)
from custom_components.knx_evse.knx.parameters import ChargerParameters

# The worked balancing example's master: single-phase, 1 connector, 2 EVSEs under current control.
MASTER = ChargerParameters.from_dict(
    {"load_balancing": True, "balancing_evse_count": 2, "limit_by_power": False, "initial_limit": 15}
).enabled_objects()


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("1/2/3", (1 << 11) | (2 << 8) | 3),
        ("31/7/255", 0xFFFF),
        ("0/0/1", 1),
        ("1/515", (1 << 11) | 515),
        ("31/2047", 0xFFFF),
        ("2563", 2563),
        ("65535", 0xFFFF),
        (" 1/2/3 ", (1 << 11) | (2 << 8) | 3),
    ],
)
def test_parse_accepts_three_two_and_free_style(text: str, raw: int) -> None:
    assert parse_group_address(text).raw == raw


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1/2/3/4",
        "32/0/0",
        "1/8/0",
        "1/2/256",
        "1/2048",
        "65536",
        "-1",
        "1//3",
        "1.2.3",
        "0/0/0",
        "0",
    ],
)
def test_parse_rejects_malformed(text: str) -> None:
    with pytest.raises(GroupAddressError) as info:
        parse_group_address(text, 31)
    assert info.value.reason == "invalid_group_address"
    assert info.value.object_number == 31
    assert str(info.value).startswith("object 31:")


def test_split_addresses() -> None:
    assert split_addresses("1/2/3, 1/2/4") == ["1/2/3", "1/2/4"]
    assert split_addresses("1/2/3;1/2/4 1/2/5") == ["1/2/3", "1/2/4", "1/2/5"]
    assert split_addresses([" 1/2/3 ", "", "1/2/4"]) == ["1/2/3", "1/2/4"]
    assert split_addresses("") == []


def test_validate_accepts_every_style_and_keeps_order() -> None:
    result = validate_group_addresses(
        {"31": "1/2/3", "32": ["1/516", "2563"], 33: "1/2/5, 4/0/1", "61": "2600"},
    )
    assert result == {31: ["1/2/3"], 32: ["1/516", "2563"], 33: ["1/2/5", "4/0/1"], 61: ["2600"]}


def test_validate_drops_objects_without_addresses() -> None:
    assert validate_group_addresses({"31": "", "32": [], "33": "1/1/1"}) == {33: ["1/1/1"]}


def _error(raw: dict[Any, Any], enabled: frozenset[int] | None = None) -> GroupAddressError:
    with pytest.raises(GroupAddressError) as info:
        validate_group_addresses(raw, enabled)
    return info.value


@pytest.mark.parametrize("bad", ["1/2/3/4", "x/y/z", "32/0/0", "0/0/0"])
def test_validate_rejects_malformed_with_reason(bad: str) -> None:
    err = _error({"31": "1/1/1", "61": f"1/1/2, {bad}"})
    assert err.reason == "invalid_group_address"
    assert err.object_number == 61
    assert "61" in str(err)


def test_duplicate_sending_address_rejected() -> None:
    err = _error({"31": "1/1/1", "32": "1/1/1"})
    assert err.reason == "duplicate_sending_address"
    assert err.object_number == 32
    assert "31" in str(err)


def test_duplicate_sending_address_across_styles() -> None:
    """1/1/1, 1/257 and 2305 are the same address."""
    assert _error({"31": "1/1/1", "33": "1/257"}).reason == "duplicate_sending_address"
    assert _error({"31": "2305", "65": "1/1/1"}).reason == "duplicate_sending_address"


def test_address_may_be_sending_for_one_command_and_listening_for_another() -> None:
    result = validate_group_addresses({"31": "1/1/1", "32": ["1/1/2", "1/1/1"]})
    assert result == {31: ["1/1/1"], 32: ["1/1/2", "1/1/1"]}


def test_status_object_may_share_a_group_address() -> None:
    # A status object sends nothing it receives: it may share its command's or another status's GA.
    assert validate_group_addresses({"31": "1/1/1", "61": "1/1/1"}) == {31: ["1/1/1"], 61: ["1/1/1"]}
    assert validate_group_addresses({"13": "2/0/1", "47": "2/0/1"}) == {13: ["2/0/1"], 47: ["2/0/1"]}


def test_worked_example_group_addresses_are_accepted() -> None:
    """The manual's master with 2 EVSEs; 0/0/4 links the master's output 135 to its own object 1."""
    example = {
        "1": "0/0/4",
        "14": "0/0/2",
        "130": "0/0/1",
        "133": "0/0/2",
        "135": "0/0/4",
        "137": "0/0/6",
        "148": "0/0/3",
        "150": "0/0/5",
        "152": "0/0/7",
    }
    result = validate_group_addresses(example, MASTER)
    assert result == {int(k): [v] for k, v in example.items()}


def test_object_not_enabled_rejected() -> None:
    enabled = ChargerParameters.from_dict({}).enabled_objects()
    for number in (83, 34, 130, 5, 15):
        err = _error({str(number): "1/1/1"}, enabled)
        assert err.reason == "object_not_enabled"
        assert err.object_number == number
        assert str(number) in str(err)
    assert validate_group_addresses({"31": "1/1/1"}, enabled) == {31: ["1/1/1"]}


def test_unknown_object_rejected() -> None:
    for number in (21, 999, 0):
        err = _error({str(number): "1/1/1"})
        assert err.reason == "unknown_object"
        assert err.object_number == number
        assert str(number) in str(err)
