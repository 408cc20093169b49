"""Subentry flow of a balancing group (``balancing_group``): add or reconfigure one group.

Steps: ``user`` (name, balance or bridge) → ``meter`` (one sensor in W/kW/A or three per-phase
sensors in A, invert) → balance: ``limits`` (current or power limit, supply phases, margin, fallback)
→ ``site`` (optional: the price and the home battery, ``balancing_site``) → ``members`` (chargers or connectors, picked from the hub's chargers) → ``member`` once per member
(priority, maximum, supply phase, initial charge mode) → ``circuits`` (a menu to add, edit and remove
circuits and put members in them, ``balancing_circuits``) → ``timing``; bridge: ``bridge`` (the
built-in master charger, supply phases, period, meter timeout). The stored data is documented in
``group.data``; every step validates and shows translated errors on the field concerned (a
charger's fail-safe timeout shorter than the keep-alive is one). The group's unique id is its name.
Reconfigure runs the same steps, prefilled.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentry,
    SubentryFlowResult,
)
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.helpers import selector

from ..compat import vol
from ..const import CONF_NAME, SUBENTRY_BALANCING
from ..group.data import (
    CONF_BALANCED,
    CONF_BRIDGE_CHARGER,
    CONF_BRIDGE_PERIOD,
    CONF_CHARGER,
    CONF_CIRCUITS,
    CONF_CONNECTOR,
    CONF_DRAWN_PHASES,
    CONF_FALLBACK_CURRENT,
    CONF_GROUP_MODE,
    CONF_INVERT,
    CONF_KEEPALIVE,
    CONF_LIMIT,
    CONF_LIMIT_MODE,
    CONF_MEMBERS,
    CONF_METER_ENTITIES,
    CONF_PHASES,
    CONF_RESERVE_MARGIN,
    CONF_UPDATE_INTERVAL,
    GROUP_MODE_BALANCE,
    GROUP_MODE_BRIDGE,
    GROUP_MODES,
    LIMIT_MODES,
    LIMIT_RANGE,
    MAX_MARGIN,
    METER_UNITS,
    TIMING,
    GroupDataError,
    validate_group,
)
from ..group.members import (
    charger_parameters,
    charger_subentries,
    fail_safe_timeouts,
    find_charger,
    keepalive_conflict,
    linked_objects,
)
from .balancing_circuits import BalancingCircuitSteps
from .balancing_members import CONF_PRIORITY, BalancingMemberSteps
from .balancing_site import BalancingSiteStep
from .selectors import BOOLEAN, TEXT, dropdown, number_box

TIMING_FIELDS: Final = (
    CONF_UPDATE_INTERVAL,
    "ramp_up_delay",
    "min_on_time",
    "min_off_time",
    "solar_stop_delay",
    "meter_timeout",
    "meter_grace",
    CONF_KEEPALIVE,
)
"""Fields of the ``timing`` step, in order (all in s)."""


class BalancingGroupSubentryFlow(BalancingMemberSteps, BalancingCircuitSteps, BalancingSiteStep):
    """Add or reconfigure a balancing group (steps in the module docstring)."""

    def __init__(self) -> None:
        """Start from the defaults of ``GROUP_SCHEMA``."""
        self._data: dict[str, Any] = {}
        self._chosen: list[tuple[str, int]] = []
        self._members: list[dict[str, Any]] = []
        self._position = 0
        self._previous: dict[tuple[str, int], dict[str, Any]] = {}
        self._circuits: list[dict[str, Any]] = []
        self._editing: str | None = None

    def _reconfiguring(self) -> ConfigSubentry | None:
        return self._get_reconfigure_subentry() if self.source == SOURCE_RECONFIGURE else None

    def _own_id(self) -> str | None:
        own = self._reconfiguring()
        return own.subentry_id if own is not None else None

    # -- entry points -------------------------------------------------------------------------

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change an existing group; every step is prefilled with its data."""
        subentry = self._get_reconfigure_subentry()
        try:
            self._data = validate_group(subentry.data)
        except vol.Invalid:
            self._data = {**subentry.data}
        entry = self._get_entry()
        self._circuits = [dict(c) for c in self._data.get(CONF_CIRCUITS) or []]
        for member in self._data.get(CONF_MEMBERS) or []:
            charger = find_charger(entry, str(member.get(CONF_CHARGER, "")))
            if charger is not None:
                key = (charger.subentry_id, int(member.get(CONF_CONNECTOR) or 0))
                self._previous[key] = dict(member)
        return await self.async_step_user()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name and mode: balance (Home Assistant balances) or bridge (feed a built-in master)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip()
            taken = {
                sub.title
                for sub in self._get_entry().subentries.values()
                if sub.subentry_type == SUBENTRY_BALANCING and sub.subentry_id != self._own_id()
            }
            if not name:
                errors[CONF_NAME] = "name_missing"
            elif name in taken:
                errors[CONF_NAME] = "name_taken"
            else:
                self._data.update({"name": name, CONF_GROUP_MODE: user_input[CONF_GROUP_MODE]})
                return await self.async_step_meter()
        values = {**self._data, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values.get("name") or vol.UNDEFINED): TEXT,
                vol.Required(CONF_GROUP_MODE, default=values.get(CONF_GROUP_MODE, GROUP_MODE_BALANCE)): dropdown(
                    "balancing_group_mode", list(GROUP_MODES)
                ),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    # -- meter --------------------------------------------------------------------------------

    def _meter_error(self, entities: list[str]) -> str | None:
        if len(entities) not in (1, 3) or len(set(entities)) != len(entities):
            return "meter_count"
        for entity_id in entities:
            state = self.hass.states.get(entity_id)
            if state is None:
                return "meter_not_found"
            known = METER_UNITS.get(str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)))
            if known is None or (len(entities) == 3 and known[0] != "A"):
                return "meter_unit"
        return None

    async def async_step_meter(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose the meter: one sensor in W, kW or A, or three per-phase current sensors (L1, L2, L3)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            entities = list(user_input[CONF_METER_ENTITIES])
            if (error := self._meter_error(entities)) is not None:
                errors[CONF_METER_ENTITIES] = error
            else:
                self._data.update({CONF_METER_ENTITIES: entities, CONF_INVERT: bool(user_input[CONF_INVERT])})
                if self._data[CONF_GROUP_MODE] == GROUP_MODE_BRIDGE:
                    return await self.async_step_bridge()
                return await self.async_step_limits()
        values = {**self._data, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(CONF_METER_ENTITIES, default=values.get(CONF_METER_ENTITIES) or vol.UNDEFINED): (
                    selector.EntitySelector(selector.EntitySelectorConfig(domain="sensor", multiple=True))
                ),
                vol.Required(CONF_INVERT, default=bool(values.get(CONF_INVERT, False))): BOOLEAN,
            }
        )
        return self.async_show_form(step_id="meter", data_schema=schema, errors=errors)

    # -- bridge mode --------------------------------------------------------------------------

    def _masters(self) -> list[selector.SelectOptionDict]:
        """Chargers whose built-in master can take the meter (130 or 131 enabled and linked)."""
        options: list[selector.SelectOptionDict] = []
        for sub in charger_subentries(self._get_entry()):
            params = charger_parameters(sub)
            if params is None or not params.balancing_enabled:
                continue
            number = 130 if params.balancing_current_control else 131
            if number in linked_objects(sub):
                options.append(selector.SelectOptionDict(value=sub.subentry_id, label=sub.title))
        return options

    async def async_step_bridge(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Bridge mode: the built-in master that gets the meter, the supply phases, the period."""
        masters = self._masters()
        if not masters:
            return self.async_abort(reason="no_bridge_master")
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {
                CONF_BRIDGE_CHARGER: user_input[CONF_BRIDGE_CHARGER],
                CONF_PHASES: int(user_input[CONF_PHASES]),
                CONF_BRIDGE_PERIOD: user_input[CONF_BRIDGE_PERIOD],
                "meter_timeout": user_input["meter_timeout"],
                CONF_MEMBERS: [],
                CONF_CIRCUITS: [],
            }
            errors = self._check({**self._data, **updates}, {CONF_BRIDGE_PERIOD: CONF_BRIDGE_PERIOD})
            if not errors:
                self._data.update(updates)
                return self._async_save()
        values = {**self._data, **(user_input or {})}
        current = values.get(CONF_BRIDGE_CHARGER)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_BRIDGE_CHARGER,
                    default=current if current in {o["value"] for o in masters} else masters[0]["value"],
                ): dropdown(None, masters),
                vol.Required(CONF_PHASES, default=str(values.get(CONF_PHASES, 1))): dropdown("supply_phases", ["1", "3"]),
                vol.Required(CONF_BRIDGE_PERIOD, default=values.get(CONF_BRIDGE_PERIOD, TIMING[CONF_BRIDGE_PERIOD][0])): number_box("s"),
                vol.Required("meter_timeout", default=values.get("meter_timeout", TIMING["meter_timeout"][0])): number_box("s"),
            }
        )
        return self.async_show_form(step_id="bridge", data_schema=schema, errors=errors)

    # -- balance mode: limits -------------------------------------------------------------------

    def _check(self, data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
        """Validate ``data`` with the group schema; errors on the form field (``fields``: data → form).

        The field is the last name in the error's path (``limit`` of ``circuits[0].limit``).
        """
        try:
            validate_group({**data, CONF_MEMBERS: data.get(CONF_MEMBERS) or []})
        except vol.Invalid as err:
            error = err.errors[0] if isinstance(err, vol.MultipleInvalid) else err
            names = [str(part) for part in error.path if isinstance(part, str)]
            field = names[-1] if names else "base"
            key = error.key if isinstance(error, GroupDataError) else "value_out_of_range"
            return {fields.get(field, "base"): key}
        return {}

    async def async_step_limits(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Set the supply: current limit (A per phase) or power limit (W), phases, margin, fallback."""
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {
                CONF_LIMIT_MODE: user_input[CONF_LIMIT_MODE],
                CONF_LIMIT: user_input[CONF_LIMIT],
                CONF_PHASES: int(user_input[CONF_PHASES]),
                CONF_RESERVE_MARGIN: user_input[CONF_RESERVE_MARGIN],
                CONF_FALLBACK_CURRENT: user_input[CONF_FALLBACK_CURRENT],
                CONF_BALANCED: bool(user_input.get(CONF_BALANCED, False)),
                CONF_DRAWN_PHASES: bool(user_input.get(CONF_DRAWN_PHASES, False)),
            }
            fields = {name: name for name in updates} | {CONF_METER_ENTITIES: CONF_PHASES}
            errors = self._check({**self._data, **updates, CONF_MEMBERS: []}, fields)
            if not errors:
                self._data.update(updates)
                return await self.async_step_site()
        values = {**self._data, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(CONF_LIMIT_MODE, default=values.get(CONF_LIMIT_MODE, "current")): dropdown(
                    "limit_mode", list(LIMIT_MODES)
                ),
                vol.Required(CONF_LIMIT, default=values.get(CONF_LIMIT, 25.0)): number_box(step=0.1),
                vol.Required(CONF_PHASES, default=str(values.get(CONF_PHASES, 1))): dropdown("supply_phases", ["1", "3"]),
                vol.Required(CONF_RESERVE_MARGIN, default=values.get(CONF_RESERVE_MARGIN, 10.0)): number_box("%", 0.1),
                vol.Required(CONF_FALLBACK_CURRENT, default=values.get(CONF_FALLBACK_CURRENT, 0.0)): number_box("A", 0.1),
                vol.Required(CONF_BALANCED, default=bool(values.get(CONF_BALANCED, False))): BOOLEAN,
                vol.Required(CONF_DRAWN_PHASES, default=bool(values.get(CONF_DRAWN_PHASES, False))): BOOLEAN,
            }
        )
        return self.async_show_form(
            step_id="limits",
            data_schema=schema,
            errors=errors,
            description_placeholders={"max_margin": f"{MAX_MARGIN:g}", **self._limit_placeholders()},
        )

    @staticmethod
    def _limit_placeholders() -> dict[str, str]:
        (a_lo, a_hi), (w_lo, w_hi) = LIMIT_RANGE["current"], LIMIT_RANGE["power"]
        return {"current_range": f"{a_lo:g}-{a_hi:g} A", "power_range": f"{w_lo:g}-{w_hi:g} W"}

    # -- balance mode: timing -------------------------------------------------------------------

    async def async_step_timing(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Set the timing (s): round interval, ramp-up, min on/off, solar stop, meter timeout, keep-alive."""
        errors: dict[str, str] = {}
        placeholders = {"charger": "", "timeout": ""}
        members = [
            {k: v for k, v in m.items() if k != CONF_PRIORITY}
            for m in sorted(self._members, key=lambda m: m[CONF_PRIORITY])
        ]
        if user_input is not None:
            updates = {name: user_input[name] for name in TIMING_FIELDS}
            errors = self._check({**self._data, **updates, CONF_MEMBERS: members}, {n: n for n in TIMING_FIELDS})
            conflict = keepalive_conflict(float(updates[CONF_KEEPALIVE]), fail_safe_timeouts(self._get_entry(), members))
            if not errors and conflict is not None:
                errors[CONF_KEEPALIVE] = "keepalive_above_fail_safe"
                placeholders = {"charger": conflict[0], "timeout": str(conflict[1])}
            if not errors:
                self._data.update(updates)
                self._data[CONF_MEMBERS] = members
                self._data[CONF_BRIDGE_CHARGER] = None
                return self._async_save()
        values = {**self._data, **(user_input or {})}
        schema = vol.Schema(
            {vol.Required(name, default=values.get(name, TIMING[name][0])): number_box("s") for name in TIMING_FIELDS}
        )
        return self.async_show_form(
            step_id="timing", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    # -- save -----------------------------------------------------------------------------------

    def _async_save(self) -> SubentryFlowResult:
        """Create the group, or update it when reconfiguring (the hub reloads)."""
        data = validate_group(self._data)
        title = data["name"]
        entry = self._get_entry()
        if (subentry := self._reconfiguring()) is not None:
            update = self.async_update_and_abort if entry.update_listeners else self.async_update_reload_and_abort
            return update(entry, subentry, title=title, data=data, unique_id=title)
        return self.async_create_entry(title=title, data=data, unique_id=title)


__all__ = ["BalancingGroupSubentryFlow"]
