"""Member steps of the balancing-group flow: pick the chargers or connectors, then each one's settings.

``members`` offers the hub's chargers (two-connector chargers also per connector) that are in no other
group; ``member`` asks, once per chosen member, its priority (1 = highest), maximum current, supply
phase (on a three-phase supply: a single-phase member's phase, the phase a three-phase charger's L1
is wired to, connector 1's phase of a whole two-phase charger) and initial charge mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import (
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.helpers import selector

from ..balancing import MODES
from ..compat import vol
from ..group.data import (
    CONF_CHARGER,
    CONF_CIRCUIT,
    CONF_CONNECTOR,
    CONF_MAX_CURRENT,
    CONF_MEMBERS,
    CONF_MODE,
    CONF_PHASE,
    CONF_PHASES,
    WHOLE_CHARGER,
)
from ..group.members import (
    charger_parameters,
    charger_subentries,
    lowest_maximum,
    member_name,
    member_phases,
    member_problem,
    members_elsewhere,
    overlaps,
)
from ..knx.parameters import MIN_CURRENT
from .selectors import dropdown, number_box

CONF_PRIORITY: Final = "priority"
PHASE_FIELDS: Final = {1: CONF_PHASE, 2: "connector1_phase", 3: "l1_phase"}
"""The form field of a member's ``phase`` by its phases: each is labelled for what it means."""


def _member_value(subentry_id: str, connector: int) -> str:
    return f"{subentry_id}:{connector}"


def _parse_member_value(value: str) -> tuple[str, int]:
    subentry_id, _, connector = value.rpartition(":")
    return subentry_id, int(connector)


class BalancingMemberSteps(ConfigSubentryFlow):
    """The ``members`` and ``member`` steps; state and the other steps are ``BalancingGroupSubentryFlow``'s."""

    _data: dict[str, Any]
    _chosen: list[tuple[str, int]]
    _members: list[dict[str, Any]]
    _position: int
    _previous: dict[tuple[str, int], dict[str, Any]]
    _circuits: list[dict[str, Any]]

    if TYPE_CHECKING:

        def _own_id(self) -> str | None:
            """Subentry id of the group being reconfigured (``BalancingGroupSubentryFlow``)."""

        async def async_step_circuits(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
            """Show the circuits after the last member (``BalancingCircuitSteps``)."""

    def _member_options(self) -> list[selector.SelectOptionDict]:
        options: list[selector.SelectOptionDict] = []
        for sub in charger_subentries(self._get_entry()):
            params = charger_parameters(sub)
            if params is None:
                continue
            connectors = (WHOLE_CHARGER,) if params.connectors == 1 else (WHOLE_CHARGER, 1, 2)
            for connector in connectors:
                label = member_name(sub.title, connector)
                if connector == WHOLE_CHARGER and params.connectors == 2:
                    label = f"{sub.title} (both connectors together)"
                options.append(selector.SelectOptionDict(value=_member_value(sub.subentry_id, connector), label=label))
        return options

    def _label(self, member: tuple[str, int]) -> str:
        charger = self._get_entry().subentries[member[0]]
        return member_name(charger.title, member[1])

    async def async_step_members(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick the chargers (or connectors) to balance; their priority is set on the next steps."""
        options = self._member_options()
        if not options:
            return self.async_abort(reason="no_chargers")
        errors: dict[str, str] = {}
        placeholders = {"member": ""}
        if user_input is not None:
            chosen = [_parse_member_value(v) for v in user_input[CONF_MEMBERS]]
            elsewhere = members_elsewhere(self._get_entry(), self._own_id())
            if not chosen:
                errors[CONF_MEMBERS] = "no_members"
            for index, member in enumerate(chosen):
                if errors:
                    break
                placeholders["member"] = self._label(member)
                if overlaps(member, set(chosen[:index])):
                    errors[CONF_MEMBERS] = "member_overlap"
                elif overlaps(member, elsewhere):
                    errors[CONF_MEMBERS] = "member_in_other_group"
                elif (problem := self._member_problem(member)) is not None:
                    errors[CONF_MEMBERS] = problem
            if not errors:
                self._chosen = chosen
                self._members = []
                self._position = 0
                return await self.async_step_member()
        values = user_input or {}
        default = values.get(CONF_MEMBERS) or [_member_value(*key) for key in self._previous]
        valid = {o["value"] for o in options}
        schema = vol.Schema(
            {
                vol.Required(CONF_MEMBERS, default=[v for v in default if v in valid]): dropdown(
                    None, options, multiple=True
                ),
            }
        )
        return self.async_show_form(
            step_id="members", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    def _member_problem(self, member: tuple[str, int]) -> str | None:
        """Problems of a member that do not depend on its own settings: checked at the highest maximum."""
        params = charger_parameters(self._get_entry().subentries[member[0]])
        top = MIN_CURRENT if params is None else params.max_user_current
        data = {CONF_CHARGER: member[0], CONF_CONNECTOR: member[1], CONF_MAX_CURRENT: float(top)}
        return member_problem(self._get_entry(), data, int(self._data[CONF_PHASES]))

    async def async_step_member(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """One member: priority (1 = highest, EVSE1), maximum current, supply phase, initial mode."""
        key = self._chosen[self._position]
        subentry = self._get_entry().subentries[key[0]]
        params = charger_parameters(subentry)
        assert params is not None  # checked on the members step
        user_max = params.max_user_current
        lowest = lowest_maximum(params, key[1])
        phase_field = PHASE_FIELDS[member_phases(params, key[1])] if int(self._data[CONF_PHASES]) == 3 else None
        previous = self._previous.get(key, {})
        errors: dict[str, str] = {}
        if user_input is not None:
            maximum = float(user_input[CONF_MAX_CURRENT])
            priority = user_input[CONF_PRIORITY]
            if not lowest <= maximum <= user_max:
                errors[CONF_MAX_CURRENT] = "max_out_of_range"
            elif priority != int(priority) or not 1 <= priority <= len(self._chosen):
                errors[CONF_PRIORITY] = "priority_out_of_range"
            else:
                self._members.append(
                    {
                        CONF_CHARGER: key[0],
                        CONF_CONNECTOR: key[1],
                        CONF_MAX_CURRENT: maximum,
                        CONF_PHASE: int(user_input.get(phase_field or CONF_PHASE, "1")),
                        CONF_MODE: user_input[CONF_MODE],
                        "name": self._label(key),
                        CONF_CIRCUIT: next(
                            (c for c in [previous.get(CONF_CIRCUIT)] if c in {x["id"] for x in self._circuits}), None
                        ),
                        CONF_PRIORITY: (int(priority), self._position),
                    }
                )
                self._position += 1
                if self._position < len(self._chosen):
                    return await self.async_step_member()
                return await self.async_step_circuits()
        values = {
            CONF_PRIORITY: self._position + 1,
            CONF_MAX_CURRENT: float(min(previous.get(CONF_MAX_CURRENT, user_max), user_max)),
            CONF_MODE: previous.get(CONF_MODE, "fast"),
            **(user_input or {}),
        }
        fields: dict[Any, Any] = {
            vol.Required(CONF_PRIORITY, default=values[CONF_PRIORITY]): number_box(),
            vol.Required(CONF_MAX_CURRENT, default=values[CONF_MAX_CURRENT]): number_box("A", 0.1),
        }
        if phase_field is not None:
            phase = str(values.get(phase_field, previous.get(CONF_PHASE, 1)))
            fields[vol.Required(phase_field, default=phase)] = dropdown("supply_phase", ["1", "2", "3"])
        fields[vol.Required(CONF_MODE, default=values[CONF_MODE])] = dropdown("charge_mode", [str(mode) for mode in MODES])
        return self.async_show_form(
            step_id="member",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={
                "member": self._label(key),
                "position": str(self._position + 1),
                "count": str(len(self._chosen)),
                "max": str(user_max),
                "min": f"{lowest:g}",
            },
        )
