"""The circuit steps of the balancing-group flow: add, edit and remove circuits, then check the tree.

``circuits`` is a menu (as Home Assistant's own list editors): add a circuit, edit one
(``circuit_pick``), remove one (``circuit_remove``), or done. ``circuit`` asks a circuit's name,
limit (A per phase or W), parent (the group itself for the supply, or another circuit), meter (none,
one total or three per-phase entities, as the group's), invert, and the members that hang directly
in it; a member picked here leaves the circuit it was in (each member has one circuit). Removing a
circuit moves its members and circuits to its parent. Checked with ``group.data``'s rules (limit
range, meter count), the group meter's unit check, a unique name, and the pure core's tree check
(``data.circuit_problem``: a loop, a limit above its parent's); ``done`` runs the core's check in
full and opens the refused circuit (one with neither members nor circuits in it, ...) with the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers import selector
from homeassistant.util.ulid import ulid_now

from ..compat import vol
from ..const import CONF_NAME
from ..group.data import (
    CIRCUIT_UNITS,
    CONF_CIRCUIT,
    CONF_CIRCUIT_ID,
    CONF_CIRCUITS,
    CONF_INVERT,
    CONF_LIMIT,
    CONF_MEMBERS,
    CONF_METER,
    CONF_PARENT,
    CONF_UNIT,
    circuit_problem,
)
from .selectors import BOOLEAN, TEXT, dropdown, number_box

CONF_CIRCUIT_MEMBERS: Final = "members"
SUPPLY: Final = "supply"
"""The parent option of a circuit directly under the supply (labelled with the group's name)."""
TREE_ERRORS: Final = {"loop": "circuit_loop", "limit": "circuit_limit_above_parent", "empty": "circuit_empty"}
"""The core's ``CircuitTreeError.problem`` → the error shown; any other → ``circuit_invalid``."""
TREE_FIELDS: Final = {"loop": CONF_PARENT, "limit": CONF_LIMIT, "empty": CONF_CIRCUIT_MEMBERS}


def _member_key(member: dict[str, Any]) -> str:
    return f"{member['charger']}:{member['connector']}"


class BalancingCircuitSteps(ConfigSubentryFlow):
    """The circuit steps; state and the other steps are ``BalancingGroupSubentryFlow``'s."""

    _data: dict[str, Any]
    _members: list[dict[str, Any]]
    _circuits: list[dict[str, Any]]
    _editing: str | None

    if TYPE_CHECKING:

        def _check(self, data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
            """Validate with the group schema (``BalancingGroupSubentryFlow``)."""

        def _meter_error(self, entities: list[str]) -> str | None:
            """Check the entities and units as the group's meter (``BalancingGroupSubentryFlow``)."""

        @staticmethod
        def _limit_placeholders() -> dict[str, str]:
            """Return the limit ranges for ``limit_out_of_range`` (``BalancingGroupSubentryFlow``)."""

        async def async_step_timing(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
            """Ask for the timing after the circuits (``BalancingGroupSubentryFlow``)."""

    async def async_step_circuits(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Menu: add, edit or remove a circuit, or go on."""
        self._editing = None
        if self._circuits:
            options = ["circuit_add", "circuit_pick", "circuit_remove", "circuits_done"]
        else:
            options = ["circuit_add", "circuits_done"]
        return self.async_show_menu(
            step_id="circuits", menu_options=options,
            description_placeholders={"circuits": ", ".join(c["name"] for c in self._circuits) or "-"},
        )

    async def async_step_circuit_add(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a circuit."""
        return await self.async_step_circuit()

    def _choices(self, exclude: str | None = None) -> list[selector.SelectOptionDict]:
        return [
            selector.SelectOptionDict(value=c[CONF_CIRCUIT_ID], label=c["name"])
            for c in self._circuits if c[CONF_CIRCUIT_ID] != exclude
        ]

    async def async_step_circuit_pick(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose the circuit to edit."""
        if user_input is not None:
            self._editing = user_input[CONF_CIRCUIT]
            return await self.async_step_circuit()
        schema = vol.Schema({vol.Required(CONF_CIRCUIT): dropdown(None, self._choices())})
        return self.async_show_form(step_id="circuit_pick", data_schema=schema)

    async def async_step_circuit_remove(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose a circuit to remove: its members and circuits move to its parent."""
        if user_input is not None:
            gone = next(c for c in self._circuits if c[CONF_CIRCUIT_ID] == user_input[CONF_CIRCUIT])
            self._circuits.remove(gone)
            for circuit in self._circuits:
                if circuit[CONF_PARENT] == gone[CONF_CIRCUIT_ID]:
                    circuit[CONF_PARENT] = gone[CONF_PARENT]
            for member in self._members:
                if member.get(CONF_CIRCUIT) == gone[CONF_CIRCUIT_ID]:
                    member[CONF_CIRCUIT] = gone[CONF_PARENT]
            return await self.async_step_circuits()
        schema = vol.Schema({vol.Required(CONF_CIRCUIT): dropdown(None, self._choices())})
        return self.async_show_form(step_id="circuit_remove", data_schema=schema)

    def _tree(self, circuits: list[dict[str, Any]], members: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the group's data with ``circuits`` and ``members`` (each with its circuit)."""
        return {**self._data, CONF_CIRCUITS: circuits, CONF_MEMBERS: members}

    def _circuit_errors(self, circuit: dict[str, Any], members: list[dict[str, Any]]) -> tuple[dict[str, str], str]:
        """Errors of ``circuit`` among the others, and the name of the circuit an error is about."""
        others = [c for c in self._circuits if c[CONF_CIRCUIT_ID] != circuit[CONF_CIRCUIT_ID]]
        if not circuit["name"]:
            return {CONF_NAME: "name_missing"}, ""
        if circuit["name"] in {c["name"] for c in others}:
            return {CONF_NAME: "circuit_name_taken"}, circuit["name"]
        if circuit[CONF_METER] and (error := self._meter_error(circuit[CONF_METER])) is not None:
            return {CONF_METER: error}, circuit["name"]
        candidate = [*others, circuit]
        fields = {CONF_LIMIT: CONF_LIMIT, CONF_METER: CONF_METER}
        if errors := self._check({**self._tree(candidate, []), CONF_MEMBERS: []}, fields):
            return errors, circuit["name"]
        problem = circuit_problem(self._tree(candidate, members))
        if problem is None or problem.problem == "empty":  # members may come later; "done" checks
            return {}, ""
        return self._tree_error(problem.problem), self._name_of(problem.circuit, candidate)

    @staticmethod
    def _tree_error(problem: str) -> dict[str, str]:
        return {TREE_FIELDS.get(problem, "base"): TREE_ERRORS.get(problem, "circuit_invalid")}

    @staticmethod
    def _name_of(circuit: str | None, circuits: list[dict[str, Any]]) -> str:
        return next((c["name"] for c in circuits if c[CONF_CIRCUIT_ID] == circuit), "")

    async def async_step_circuit(
        self, user_input: dict[str, Any] | None = None, *, errors: dict[str, str] | None = None, about: str = ""
    ) -> SubentryFlowResult:
        """One circuit: name, limit and unit, parent, meter and invert, its members."""
        errors = dict(errors or {})
        current = next((c for c in self._circuits if c[CONF_CIRCUIT_ID] == self._editing), None)
        if user_input is not None:
            parent = user_input[CONF_PARENT]
            circuit = {
                CONF_CIRCUIT_ID: self._editing or ulid_now(),
                "name": str(user_input[CONF_NAME]).strip(),
                CONF_LIMIT: float(user_input[CONF_LIMIT]),
                CONF_UNIT: user_input[CONF_UNIT],
                CONF_PARENT: None if parent == SUPPLY else parent,
                CONF_METER: list(user_input.get(CONF_METER) or []),
                CONF_INVERT: bool(user_input[CONF_INVERT]),
            }
            chosen = set(user_input[CONF_CIRCUIT_MEMBERS])
            members = [
                {**m, CONF_CIRCUIT: circuit[CONF_CIRCUIT_ID] if _member_key(m) in chosen
                 else None if m.get(CONF_CIRCUIT) == circuit[CONF_CIRCUIT_ID] else m.get(CONF_CIRCUIT)}
                for m in self._members
            ]
            errors, about = self._circuit_errors(circuit, members)
            if not errors:
                self._circuits = [c for c in self._circuits if c[CONF_CIRCUIT_ID] != circuit[CONF_CIRCUIT_ID]]
                self._circuits.append(circuit)
                self._members = members
                return await self.async_step_circuits()
        values = {**(current or {}), **(user_input or {})}
        own = self._editing
        parents = [selector.SelectOptionDict(value=SUPPLY, label=str(self._data["name"])), *self._choices(own)]
        picks = [selector.SelectOptionDict(value=_member_key(m), label=str(m["name"])) for m in self._members]
        inside = [_member_key(m) for m in self._members if own is not None and m.get(CONF_CIRCUIT) == own]
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values.get("name") or vol.UNDEFINED): TEXT,
                vol.Required(CONF_LIMIT, default=values.get(CONF_LIMIT, 16.0)): number_box(step=0.1),
                vol.Required(CONF_UNIT, default=values.get(CONF_UNIT, "A")): dropdown("circuit_unit", list(CIRCUIT_UNITS)),
                vol.Required(CONF_PARENT, default=values.get(CONF_PARENT) or SUPPLY): dropdown(None, parents),
                vol.Optional(CONF_METER, description={"suggested_value": values.get(CONF_METER) or None}): (
                    selector.EntitySelector(  # a power or current sensor; its unit is checked as the group meter's
                        selector.EntitySelectorConfig(
                            filter=[{"domain": "sensor", "device_class": "power"},
                                    {"domain": "sensor", "device_class": "current"}],
                            multiple=True,
                        )
                    )
                ),
                vol.Required(CONF_INVERT, default=bool(values.get(CONF_INVERT, False))): BOOLEAN,
                vol.Required(CONF_CIRCUIT_MEMBERS, default=values.get(CONF_CIRCUIT_MEMBERS, inside)): dropdown(
                    None, picks, multiple=True
                ),
            }
        )
        return self.async_show_form(
            step_id="circuit", data_schema=schema, errors=errors,
            description_placeholders={"circuit": about, **self._limit_placeholders()},
        )

    async def async_step_circuits_done(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Check the whole tree with the core; open the circuit it refuses, else go on to the timing."""
        problem = circuit_problem(self._tree(self._circuits, self._members))
        if problem is None:
            self._data[CONF_CIRCUITS] = self._circuits
            return await self.async_step_timing()
        self._editing = problem.circuit
        return await self.async_step_circuit(
            errors=self._tree_error(problem.problem), about=self._name_of(problem.circuit, self._circuits)
        )
