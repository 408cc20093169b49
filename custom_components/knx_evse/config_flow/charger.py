"""Charger subentry flow: one charger's ETS parameter pages and group addresses.

Steps follow the manual's ETS pages: ``charger`` (name, individual address, model, OCPP mode) →
``general`` → ``status_sending`` → ``advanced`` → ``connector_1`` (→ ``connector_2``)
(→ ``load_balancing`` → ``load_balancing_limits``) → ``group_addresses``. ``ChargerParameters`` validates
after every step; its errors become translated errors on the field or its section. The subentry stores
``{name, individual_address, model, parameters, group_addresses}`` (see const.py) and its unique id is the
individual address. Reconfigure runs the same steps prefilled.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigSubentry,
    SubentryFlowResult,
)
from xknx.exceptions.exception import CouldNotParseAddress
from xknx.telegram.address import IndividualAddress

from ..compat import vol
from ..const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    MODEL_DEFAULTS,
    MODELS,
    SUBENTRY_CHARGER,
)
from ..knx.group_addresses import GroupAddressError, status_address_clashes, validate_group_addresses
from ..knx.knxproj import (
    ProjectCharger,
    find_dpt_clashes,
)
from ..knx.objects import MAX_BALANCED_EVSES, OBJECTS, OBJECTS_BY_KEY
from ..knx.parameters import (
    ChargerParameters,
    derived_defaults,
    follow_model,
    repair_parameters,
)
from .ets_forms import (
    ADVANCED_LAYOUT,
    BALANCING_LAYOUT,
    CONF_EVSE_MAX,
    CONF_INITIAL_CURRENT_LIMIT,
    CONF_INITIAL_POWER_LIMIT,
    CONNECTOR_LAYOUT,
    ERROR_KEYS,
    PHASE_FIELDS,
    SELECTORS,
    STATUS_LAYOUT,
    Layout,
    error_location,
    flatten,
    layout_schema,
)
from .ga_form import ga_layout, ga_schema
from .knxproj_import import KnxprojImportSteps, core_knx_configured
from .selectors import BOOLEAN, TEXT, number_box, select


class ChargerSubentryFlow(KnxprojImportSteps):
    """Add or reconfigure one charger, by hand or from an ETS project (``KnxprojImportSteps``)."""

    def __init__(self) -> None:
        """Start from the manual's defaults."""
        self._device: dict[str, Any] = {}
        self._params: dict[str, Any] = ChargerParameters.from_dict({}).as_dict()
        self._group_addresses: dict[int, list[str]] = {}
        self._project_file: Path | None = None
        self._project_dpts: dict[int, Mapping[str, Any]] = {}
        self._found: dict[str, ProjectCharger] = {}
        self._queue: list[ProjectCharger] = []
        self._summary_model: str | None = None
        self._done: list[dict[str, Any]] = []

    # -- helpers ----------------------------------------------------------------------------

    def _reconfiguring(self) -> ConfigSubentry | None:
        return self._get_reconfigure_subentry() if self.source == SOURCE_RECONFIGURE else None

    def _taken_addresses(self) -> set[str]:
        """Individual addresses of the other chargers of this hub and of this import."""
        own = self._reconfiguring()
        taken = {
            sub.unique_id
            for sub in self._get_entry().subentries.values()
            if sub.subentry_type == SUBENTRY_CHARGER and sub.unique_id and sub is not own
        }
        return taken | {done[CONF_CHARGER_IA] for done in self._done}

    def _other_chargers(self) -> dict[str, dict[int, list[str]]]:
        """Group addresses of the hub's other chargers and of the chargers imported before in this flow."""
        own = self._reconfiguring()
        others: dict[str, dict[int, list[str]]] = {}
        for sub in self._get_entry().subentries.values():
            if sub.subentry_type == SUBENTRY_CHARGER and sub is not own:
                stored = sub.data.get(CONF_GROUP_ADDRESSES) or {}
                others[sub.title] = {int(n): list(gas) for n, gas in stored.items() if int(n) in OBJECTS}
        for done in self._done:
            others[done[CONF_NAME]] = {int(n): list(gas) for n, gas in done[CONF_GROUP_ADDRESSES].items()}
        return others

    def _validate(
        self, updates: Mapping[str, Any], layout: Layout, aliases: Mapping[str, str]
    ) -> dict[str, str]:
        """Merge ``updates`` into the parameters if they validate; else the errors by form location.

        ``aliases`` maps a parameter name to the form field that edits it (e.g. initial_limit →
        initial_current_limit). Values left at a model-derived default follow the model (``follow_model``).
        """
        try:
            params = ChargerParameters.from_dict(follow_model(self._params, updates))
        except vol.Invalid as err:
            errors: dict[str, str] = {}
            for error in err.errors if isinstance(err, vol.MultipleInvalid) else [err]:
                parameter = str(error.path[0]) if error.path else ""
                field = aliases.get(parameter, parameter)
                if parameter == "balancing_evse_max" and len(error.path) > 1:
                    kind = "current" if self._params["balancing_current_control"] else "power"
                    field = CONF_EVSE_MAX.format(kind=kind, n=int(str(error.path[1])) + 1)
                errors.setdefault(error_location(layout, field), ERROR_KEYS.get(parameter, "value_out_of_range"))
            return errors
        self._params = params.as_dict()
        return {}

    def _show(
        self,
        step_id: str,
        layout: Layout,
        values: Mapping[str, Any],
        errors: dict[str, str],
    ) -> SubentryFlowResult:
        return self.async_show_form(
            step_id=step_id,
            data_schema=layout_schema(layout, values),
            errors=errors,
            description_placeholders={"name": str(self._device.get(CONF_NAME, ""))},
        )

    # -- entry points -----------------------------------------------------------------------

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Enter the ETS parameters by hand, or import chargers from an ETS project."""
        options = ["charger", "knxproj"]
        if core_knx_configured(self.hass):
            options.append("core_knx_project")
        return self.async_show_menu(step_id="user", menu_options=options)

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Change any parameter or address of an existing charger; its device is kept."""
        subentry = self._get_reconfigure_subentry()
        data = subentry.data
        self._device = {key: data[key] for key in (CONF_NAME, CONF_CHARGER_IA, CONF_MODEL)}
        self._params = repair_parameters(data.get(CONF_PARAMETERS) or {})
        self._group_addresses = {
            int(n): list(gas) for n, gas in (data.get(CONF_GROUP_ADDRESSES) or {}).items()
        }
        return await self.async_step_charger()

    # -- General ----------------------------------------------------------------------------

    async def async_step_charger(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Name, individual address, model (phase number and connectors), phase connection, OCPP mode."""
        errors: dict[str, str] = {}
        values = {**self._params, **self._device, **(user_input or {})}
        if user_input is not None:
            try:
                address = str(IndividualAddress(user_input[CONF_CHARGER_IA]))
            except CouldNotParseAddress:
                errors[CONF_CHARGER_IA] = "invalid_individual_address"
            else:
                if address in self._taken_addresses():
                    errors[CONF_CHARGER_IA] = "already_configured"
            model = user_input[CONF_MODEL]
            updates = {
                **MODEL_DEFAULTS[model],
                "phase_connection": user_input["phase_connection"],
                "ocpp_mode": user_input["ocpp_mode"],
            }
            if MODEL_DEFAULTS[model]["phases"] == 3:
                updates["load_balancing"] = False  # not available on three-phase models (ETS hides it)
            layout: Layout = {None: (CONF_MODEL, "phase_connection", "ocpp_mode")}
            errors = (
                self._validate(updates, layout, {"phases": CONF_MODEL, "connectors": CONF_MODEL}) | errors
            )
            if not errors:
                self._device = {
                    CONF_NAME: user_input[CONF_NAME].strip(),
                    CONF_CHARGER_IA: address,
                    CONF_MODEL: model,
                }
                return await self.async_step_general()
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values.get(CONF_NAME) or vol.UNDEFINED): TEXT,
                vol.Required(CONF_CHARGER_IA, default=values.get(CONF_CHARGER_IA) or vol.UNDEFINED): TEXT,
                vol.Required(CONF_MODEL, default=values.get(CONF_MODEL) or vol.UNDEFINED): select(
                    "model", MODELS
                ),
                vol.Required("phase_connection", default=values["phase_connection"]): SELECTORS[
                    "phase_connection"
                ],
                vol.Required("ocpp_mode", default=values["ocpp_mode"]): BOOLEAN,
            }
        )
        return self.async_show_form(step_id="charger", data_schema=schema, errors=errors)

    def _general_layout(self) -> Layout:
        layout: Layout = {None: ("delay_at_start",)}
        if not self._params["ocpp_mode"]:  # OCPP mode hides these pages' sections, as in ETS
            layout |= {
                "charging_session": ("max_session_time", "auto_disconnect", "auto_start"),
                "installation": ("contracted_power", "max_user_current"),
                "limits": ("limit_by_power", CONF_INITIAL_POWER_LIMIT, CONF_INITIAL_CURRENT_LIMIT),
            }
            if self._params["phases"] == 1:  # ETS offers load balancing on single-phase models only
                layout["dynamic_load_balancing"] = ("load_balancing",)
            else:  # three-phase: the currents of Installation and Limits per phase
                layout["installation"] = ("contracted_power", *PHASE_FIELDS["max_user_current"])
                per_phase = PHASE_FIELDS[CONF_INITIAL_CURRENT_LIMIT]
                layout["limits"] = ("limit_by_power", CONF_INITIAL_POWER_LIMIT, *per_phase)
        return layout

    def _phase_values(self, by_power: bool) -> dict[str, Any]:
        """Three-phase form values L1-L3 of Maximum User Current and Initial Total Current limit."""
        if self._params["phases"] != 3:
            return {}
        user = self._params["max_user_current_phases"]
        limits = user if by_power else self._params["initial_limit_phases"]
        return dict(zip(PHASE_FIELDS["max_user_current"], user, strict=True)) | dict(
            zip(PHASE_FIELDS[CONF_INITIAL_CURRENT_LIMIT], limits, strict=True)
        )

    @staticmethod
    def _phase_updates(updates: dict[str, Any]) -> dict[str, list[Any]]:
        """Replace the L1-L3 fields in ``updates`` by their lowest value; return the per-phase lists."""
        lists: dict[str, list[Any]] = {}
        for name, fields in PHASE_FIELDS.items():
            if fields[0] in updates:
                lists[name] = [updates.pop(field) for field in fields]
                updates[name] = min(lists[name])
        return lists

    async def async_step_general(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "General": delay at start, charging session time, installation, limits, balancing."""
        layout = self._general_layout()
        by_power = self._params["limit_by_power"]
        values = {
            **self._params,
            CONF_INITIAL_POWER_LIMIT: self._params["initial_limit"] if by_power else 7400.0,
            CONF_INITIAL_CURRENT_LIMIT: self._params["max_user_current"]
            if by_power
            else self._params["initial_limit"],
            **self._phase_values(by_power),
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = flatten(layout, user_input)
            values |= updates
            lists = self._phase_updates(updates)
            if "limit_by_power" in updates:
                by_power = updates["limit_by_power"]
                updates["initial_limit"] = updates.pop(
                    CONF_INITIAL_POWER_LIMIT if by_power else CONF_INITIAL_CURRENT_LIMIT
                )
                updates.pop(CONF_INITIAL_CURRENT_LIMIT if by_power else CONF_INITIAL_POWER_LIMIT)
            if lists:
                updates["max_user_current_phases"] = lists["max_user_current"]
                if not by_power:
                    updates["initial_limit_phases"] = lists[CONF_INITIAL_CURRENT_LIMIT]
            alias = {"initial_limit": CONF_INITIAL_POWER_LIMIT if by_power else CONF_INITIAL_CURRENT_LIMIT}
            if lists:  # three-phase: an error on a current goes to its per-phase fields' section
                alias |= {
                    "max_user_current": PHASE_FIELDS["max_user_current"][0],
                    "max_user_current_phases": PHASE_FIELDS["max_user_current"][0],
                    "initial_limit_phases": PHASE_FIELDS[CONF_INITIAL_CURRENT_LIMIT][0],
                }
                if not by_power:
                    alias["initial_limit"] = PHASE_FIELDS[CONF_INITIAL_CURRENT_LIMIT][0]
            if not (errors := self._validate(updates, layout, alias)):
                return await self.async_step_status_sending()
        return self._show("general", layout, values, errors)

    async def async_step_status_sending(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Status Sending": mode, value change and period per status group."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := self._validate(flatten(STATUS_LAYOUT, user_input), STATUS_LAYOUT, {})
        ):
            return await self.async_step_advanced()
        return self._show(
            "status_sending",
            STATUS_LAYOUT,
            {**self._params, **flatten(STATUS_LAYOUT, user_input or {})},
            errors,
        )

    async def async_step_advanced(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Advanced": RFIDTag, reset, error, session and block objects; fail-safe."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := self._validate(flatten(ADVANCED_LAYOUT, user_input), ADVANCED_LAYOUT, {})
        ):
            return await self.async_step_connector_1()
        return self._show(
            "advanced",
            ADVANCED_LAYOUT,
            {**self._params, **flatten(ADVANCED_LAYOUT, user_input or {})},
            errors,
        )

    async def _connector(self, n: int, user_input: dict[str, Any] | None) -> SubentryFlowResult:
        prefix = f"conn{n}_"
        values = {
            key.removeprefix(prefix): value for key, value in self._params.items() if key.startswith(prefix)
        }
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = flatten(CONNECTOR_LAYOUT, user_input)
            values |= updates
            aliases = {prefix + key: key for key in updates}
            if not (
                errors := self._validate(
                    {prefix + k: v for k, v in updates.items()}, CONNECTOR_LAYOUT, aliases
                )
            ):
                if n == 1 and self._params["connectors"] == 2:
                    return await self.async_step_connector_2()
                if ChargerParameters.from_dict(self._params).balancing_enabled:
                    return await self.async_step_load_balancing()
                return await self.async_step_group_addresses()
        return self._show(f"connector_{n}", CONNECTOR_LAYOUT, values, errors)

    async def async_step_connector_1(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Connector 1": initial active power limit, charging status and enabled objects."""
        return await self._connector(1, user_input)

    async def async_step_connector_2(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Connector 2" (two-connector models)."""
        return await self._connector(2, user_input)

    async def async_step_load_balancing(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """ETS page "Load balancing": after bus init, period, current control, margin, EVSEs (1-6)."""
        errors: dict[str, str] = {}
        values = {**self._params, **flatten(BALANCING_LAYOUT, user_input or {})}
        if user_input is not None and not (
            errors := self._validate(flatten(BALANCING_LAYOUT, user_input), BALANCING_LAYOUT, {})
        ):
            return await self.async_step_load_balancing_limits()
        return self._show("load_balancing", BALANCING_LAYOUT, values, errors)

    async def async_step_load_balancing_limits(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Overcurrent protection device (A) or contracted power (W); maximum per EVSE (A or W)."""
        current = self._params["balancing_current_control"]
        count = self._params["balancing_evse_count"]
        maxima = [
            CONF_EVSE_MAX.format(kind="current" if current else "power", n=n) for n in range(1, count + 1)
        ]
        layout: Layout = {
            None: ("balancing_protection_device" if current else "balancing_contracted_power", *maxima)
        }
        stored = list(self._params["balancing_evse_max"]) + derived_defaults(self._params)["balancing_evse_max"]
        values = {**self._params, **{key: stored[i] for i, key in enumerate(maxima)}, **(user_input or {})}
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {k: v for k, v in user_input.items() if k not in maxima}
            updates["balancing_evse_max"] = [user_input[key] for key in maxima] + stored[
                count:MAX_BALANCED_EVSES
            ]
            if not (errors := self._validate(updates, layout, {})):
                return await self.async_step_group_addresses()
        return self.async_show_form(
            step_id="load_balancing_limits",
            data_schema=vol.Schema(
                {
                    vol.Required(key, default=values[key]): number_box("A" if current else "W")
                    for key in layout[None]
                }
            ),
            errors=errors,
            description_placeholders={"name": str(self._device.get(CONF_NAME, ""))},
        )

    # -- Group addresses --------------------------------------------------------------------

    async def async_step_group_addresses(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """One or more group addresses per enabled object, the first being the sending address."""
        enabled = sorted(ChargerParameters.from_dict(self._params).enabled_objects())
        typed = {OBJECTS[n].key: ", ".join(self._group_addresses.get(n, [])) for n in enabled}
        layout = ga_layout(enabled)
        errors: dict[str, str] = {}
        details = ""
        if user_input is not None:
            flat = flatten(layout, user_input)
            typed = {key: flat.get(key, "") for key in typed}
            raw = {str(OBJECTS_BY_KEY[key].number): text for key, text in typed.items()}
            try:
                addresses = validate_group_addresses(raw, enabled)
            except GroupAddressError as err:
                errors[OBJECTS[err.object_number].key] = err.reason
                details = str(err)
            else:
                clashes = find_dpt_clashes(addresses, self._project_dpts)
                for number, _address, _other, _manual in clashes:
                    errors.setdefault(OBJECTS[number].key, "dpt_clash")
                details = "; ".join(
                    f"{address}: DPT {other} ≠ {manual} ({OBJECTS[number].name})"
                    for number, address, other, manual in clashes
                )
                shared = status_address_clashes(addresses, self._other_chargers())
                for number, _address, _charger, _theirs in shared:
                    errors.setdefault(OBJECTS[number].key, "status_address_shared")
                details = "; ".join(
                    [details] * bool(details)
                    + [
                        f"{address}: {OBJECTS[number].name} here, {theirs} {OBJECTS[theirs].name} of {charger}"
                        for number, address, charger, theirs in shared
                    ]
                )
                if not errors:
                    self._group_addresses = addresses
                    return await self._async_save()
        return self.async_show_form(
            step_id="group_addresses",
            data_schema=ga_schema(layout, typed, errors),
            errors=errors,
            description_placeholders={
                "name": str(self._device.get(CONF_NAME, "")),
                "details": details,
            },
        )

    async def _async_save(self) -> SubentryFlowResult:
        """Store the charger: update when reconfiguring, else create (with the rest of an import batch)."""
        data = {
            **self._device,
            CONF_PARAMETERS: self._params,
            CONF_GROUP_ADDRESSES: {str(n): gas for n, gas in sorted(self._group_addresses.items())},
        }
        entry = self._get_entry()
        if (subentry := self._reconfiguring()) is not None:
            update = (
                self.async_update_and_abort if entry.update_listeners else self.async_update_reload_and_abort
            )
            return update(entry, subentry, title=data[CONF_NAME], data=data, unique_id=data[CONF_CHARGER_IA])
        self._done.append(data)
        if self._queue:
            return await self.async_step_knxproj_summary()
        *others, last = self._done
        for done in others:
            self.hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(done),
                    subentry_type=SUBENTRY_CHARGER,
                    title=done[CONF_NAME],
                    unique_id=done[CONF_CHARGER_IA],
                ),
            )
        return self.async_create_entry(title=last[CONF_NAME], data=last, unique_id=last[CONF_CHARGER_IA])
