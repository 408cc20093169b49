"""Which group addresses are linked to each communication object, and their validation.

A charger subentry stores ``{"<object number>": ["<sending GA>", "<listening GA>", ...]}``. As in ETS,
the first address is the one written to (the sending address); the others are only listened to.
Addresses may be typed in 3-level (``1/2/3``), 2-level (``1/515``) or free (``2563``) style; they are
parsed by xknx's ``GroupAddress`` and stored as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from xknx.exceptions import CouldNotParseAddress
from xknx.telegram.address import GroupAddress

from .objects import OBJECTS, UnknownObjectError

GroupAddressMap = dict[int, list[str]]
"""Object number → group addresses, sending address first."""

_SPLIT: Final = re.compile(r"[\s,;]+")


class GroupAddressError(ValueError):
    """A group-address problem tied to one object; ``reason`` is a translation key.

    Reasons: ``invalid_group_address``, ``object_not_enabled``, ``unknown_object``,
    ``duplicate_sending_address``.
    """

    def __init__(self, object_number: int, reason: str, detail: str) -> None:
        super().__init__(f"object {object_number}: {detail}")
        self.object_number = object_number
        self.reason = reason


def parse_group_address(text: str, object_number: int = 0) -> GroupAddress:
    """Parse one group address in 3-level, 2-level or free style.

    Raises GroupAddressError(reason="invalid_group_address") for text xknx cannot parse, and for the
    broadcast address 0/0/0, which no object may use.
    """
    try:
        address = GroupAddress(text.strip())
    except CouldNotParseAddress as err:
        raise GroupAddressError(
            object_number, "invalid_group_address", f"{text!r} is not a group address"
        ) from err
    if address.raw == 0:
        raise GroupAddressError(object_number, "invalid_group_address", "0/0/0 is the broadcast address")
    return address


def split_addresses(value: str | Iterable[str]) -> list[str]:
    """Split user input ("1/2/3, 1/2/4" or a list) into trimmed, non-empty address strings."""
    items = _SPLIT.split(value) if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def validate_group_addresses(
    raw: Mapping[str, str | Iterable[str]] | Mapping[int, str | Iterable[str]],
    enabled: Iterable[int] | None = None,
) -> GroupAddressMap:
    """Validate a whole object → group-address map and return it keyed by int, lists in order.

    ``enabled`` restricts which objects may be linked (the parameters' ``enabled_objects()``).
    Objects with no address are dropped. Raises GroupAddressError for the first problem found:
    an unknown object number, an object not enabled, a malformed address, or one address used as the
    sending address of two different command objects (which would make one write drive both).
    """
    allowed = None if enabled is None else frozenset(enabled)
    result: GroupAddressMap = {}
    senders: dict[int, int] = {}
    for key in sorted(raw, key=int):
        number = int(key)
        addresses = split_addresses(raw[key])  # type: ignore[index]
        if not addresses:
            continue
        obj = OBJECTS.get(number)
        if obj is None:
            raise GroupAddressError(number, "unknown_object", str(UnknownObjectError(number)))
        if allowed is not None and number not in allowed:
            raise GroupAddressError(
                number, "object_not_enabled", f"{obj.name} is not enabled by the charger's parameters"
            )
        parsed = [parse_group_address(a, number) for a in addresses]
        if obj.writable:
            first = parsed[0].raw
            if first in senders:
                raise GroupAddressError(
                    number,
                    "duplicate_sending_address",
                    f"{addresses[0]} is already the sending address of object {senders[first]}",
                )
            senders[first] = number
        result[number] = addresses
    return result


def status_address_clashes(
    mine: Mapping[int, Iterable[str]], others: Mapping[str, Mapping[int, Iterable[str]]]
) -> list[tuple[int, str, str, int]]:
    """Find addresses where one charger's status would be taken for another charger's status.

    A charger sends each status object (transmit flag) on its first address. If that address is
    also linked to a status object (not writable) of another charger, the other charger's
    coordinator would show this charger's value as its own: the states mix silently. Returns
    ``(object of mine, address, other charger, object of the other)`` for every such link, in
    both directions, sorted. A status address that drives another charger's command object (the
    built-in master's outputs → the slaves' object 1) is wiring, not a clash.
    ``mine`` and ``others`` map object numbers to group addresses (sending address first).
    """

    def status_links(addresses: Mapping[int, Iterable[str]]) -> dict[int, list[int]]:
        links: dict[int, list[int]] = {}
        for number, linked in addresses.items():
            if not OBJECTS[int(number)].writable:
                for address in linked:
                    links.setdefault(GroupAddress(address).raw, []).append(int(number))
        return links

    def sent(addresses: Mapping[int, Iterable[str]]) -> dict[int, tuple[int, str]]:
        result: dict[int, tuple[int, str]] = {}
        for number, linked in addresses.items():
            first = next(iter(linked), None)
            if first is not None and OBJECTS[int(number)].flags.transmit:
                result.setdefault(GroupAddress(first).raw, (int(number), first))
        return result

    mine_sent, mine_links = sent(mine), status_links(mine)
    clashes: set[tuple[int, str, str, int]] = set()
    for name, theirs in others.items():
        their_links = status_links(theirs)
        for raw, (number, address) in mine_sent.items():
            clashes.update((number, address, name, other) for other in their_links.get(raw, ()))
        for raw, (other, address) in sent(theirs).items():
            clashes.update((number, address, name, other) for number in mine_links.get(raw, ()))
    return sorted(clashes)
