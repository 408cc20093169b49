"""Form of the charger flow's group-address step: one text field per enabled object, in sections by scope.

Sections, in this order and only when not empty: the charger's, connector 1's and connector 2's objects
that always exist (expanded), each followed by those its optional ETS parameters enable (collapsed), then
the built-in master's (collapsed). A section holding a field with an error is expanded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from homeassistant.data_entry_flow import section

from ..compat import vol
from ..knx.objects import OBJECTS, CommObject, Scope
from .ets_forms import Layout
from .selectors import TEXT

_SCOPE_SECTIONS: Final = {Scope.EVSE: "charger", Scope.CONN1: "connector_1", Scope.CONN2: "connector_2"}
MASTER: Final = "master"
SECTIONS: Final = (
    *(f"{name}{suffix}" for name in _SCOPE_SECTIONS.values() for suffix in ("", "_optional")),
    MASTER,
)
"""Section names in form order (translation keys under the step's ``sections``)."""
EXPANDED: Final = frozenset(_SCOPE_SECTIONS.values())
"""Sections shown expanded even without an error: the objects that always exist."""


def section_of(obj: CommObject) -> str:
    """Return the section an object's field is in."""
    if obj.scope not in _SCOPE_SECTIONS:
        return MASTER
    return _SCOPE_SECTIONS[obj.scope] + ("" if obj.enabled_by is None else "_optional")


def ga_layout(enabled: Iterable[int]) -> Layout:
    """Section → field keys (object keys, by object number) of the enabled objects; no empty section."""
    keys: dict[str | None, list[str]] = {name: [] for name in SECTIONS}
    for number in sorted(enabled):
        keys[section_of(OBJECTS[number])].append(OBJECTS[number].key)
    return {name: fields for name, fields in keys.items() if fields}


def ga_schema(layout: Layout, typed: Mapping[str, str], errors: Mapping[str, str]) -> vol.Schema:
    """Build the form: ``typed`` as suggested values; optional sections collapsed unless erroneous."""
    return vol.Schema(
        {
            vol.Required(name): section(
                vol.Schema(
                    {vol.Optional(key, description={"suggested_value": typed[key]}): TEXT for key in keys}
                ),
                {"collapsed": name not in EXPANDED and not any(key in errors for key in keys)},
            )
            for name, keys in layout.items()
        }
    )
