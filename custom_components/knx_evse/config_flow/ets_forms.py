"""Forms of the charger flow's ETS parameter pages: layouts, selectors and error keys.

A ``Layout`` maps a section (None = top level) to parameter names in the order of the ETS page;
``layout_schema`` builds the form, ``flatten`` reads it back, ``error_location`` places an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from homeassistant.data_entry_flow import section

from ..compat import vol
from ..knx.parameters import (
    BALANCING_AFTER_INIT,
    PHASE_CONNECTIONS,
    SENDING_MODES,
    STATUS_GROUPS,
)
from .selectors import BOOLEAN, number_box, select

CONF_INITIAL_POWER_LIMIT: Final = "initial_power_limit"
CONF_INITIAL_CURRENT_LIMIT: Final = "initial_current_limit"
PHASE_FIELDS: Final = {
    "max_user_current": tuple(f"max_user_current_l{n}" for n in (1, 2, 3)),
    CONF_INITIAL_CURRENT_LIMIT: tuple(f"initial_current_limit_l{n}" for n in (1, 2, 3)),
}
"""Three-phase models: the form fields L1-L3 of a per-phase current (manual, "Phase number")."""
CONF_EVSE_MAX: Final = "evse_max_{kind}_{n}"
"""Form field of EVSE n's maximum; kind is "current" (A, current control) or "power" (W)."""

Layout = dict[str | None, Sequence[str]]
"""Form layout: section name (None = top level) → parameter names, in the order of the ETS page."""

_STATUS_UNITS: Final = {group: unit for group, _threshold, unit in STATUS_GROUPS}
SELECTORS: Final[dict[str, Any]] = {
    "delay_at_start": number_box("s"),
    "ocpp_mode": BOOLEAN,
    "phase_connection": select("phase_connection", PHASE_CONNECTIONS),
    "max_session_time": number_box("min"),
    "auto_disconnect": BOOLEAN,
    "auto_start": BOOLEAN,
    "contracted_power": number_box("W"),
    "max_user_current": number_box("A"),
    **{field: number_box("A") for fields in PHASE_FIELDS.values() for field in fields},
    "limit_by_power": BOOLEAN,
    CONF_INITIAL_POWER_LIMIT: number_box("W"),
    CONF_INITIAL_CURRENT_LIMIT: number_box("A"),
    "load_balancing": BOOLEAN,
    "charging_status_sending": select("sending_mode", SENDING_MODES),
    "charging_status_period": number_box("s"),
    **{f"{group}_sending": select("sending_mode", SENDING_MODES) for group in _STATUS_UNITS},
    **{f"{group}_change": number_box(unit, 0.1) for group, unit in _STATUS_UNITS.items()},
    **{f"{group}_period": number_box("s") for group in _STATUS_UNITS},
    "rfid_objects": BOOLEAN,
    "reset_object": BOOLEAN,
    "error_objects": BOOLEAN,
    "session_objects": BOOLEAN,
    "block_object": BOOLEAN,
    "fail_safe": BOOLEAN,
    "fail_safe_timeout": number_box("s"),
    "fail_safe_current": number_box("A", 0.1),
    "fail_safe_objects": BOOLEAN,
    "send_status_at_init": BOOLEAN,
    "ocpp_state": BOOLEAN,
    "pilot_state": BOOLEAN,
    "individual_status": BOOLEAN,
    "charging_time_objects": BOOLEAN,
    "balancing_after_init": select("balancing_after_init", BALANCING_AFTER_INIT),
    "balancing_period": number_box("s"),
    "balancing_current_control": BOOLEAN,
    "balancing_margin": number_box("%"),
    "balancing_evse_count": number_box(),
    "balancing_protection_device": number_box("A"),
    "balancing_contracted_power": number_box("W"),
}

STATUS_LAYOUT: Final[Layout] = {
    **{group: (f"{group}_sending", f"{group}_change", f"{group}_period") for group in _STATUS_UNITS},
    "charging_status": ("charging_status_sending", "charging_status_period"),
}
ADVANCED_LAYOUT: Final[Layout] = {
    None: ("rfid_objects", "reset_object", "error_objects", "session_objects", "block_object"),
    "fail_safe": ("fail_safe", "fail_safe_timeout", "fail_safe_current", "fail_safe_objects"),
}
CONNECTOR_LAYOUT: Final[Layout] = {
    "limits": (CONF_INITIAL_POWER_LIMIT,),
    "charging_status": ("send_status_at_init", "ocpp_state", "pilot_state", "individual_status"),
    "enable_objects": ("charging_time_objects", "block_object"),
}
BALANCING_LAYOUT: Final[Layout] = {
    None: ("balancing_after_init", "balancing_period"),
    "limits": ("balancing_current_control", "balancing_margin"),
    "evse_to_balance": ("balancing_evse_count",),
}

# Parameter (as ``ChargerParameters`` names it) → error key when it fails validation.
ERROR_KEYS: Final[dict[str, str]] = {
    "delay_at_start": "delay_out_of_range",
    "phase_connection": "phase_connection_not_applicable",
    "max_session_time": "session_time_out_of_range",
    "max_user_current": "current_out_of_range",
    "max_user_current_phases": "current_out_of_range",
    "initial_limit_phases": "initial_limit_out_of_range",
    "initial_limit": "initial_limit_out_of_range",
    "conn1_initial_power_limit": "power_out_of_range",
    "conn2_initial_power_limit": "power_out_of_range",
    "fail_safe_current": "fail_safe_current_out_of_range",
    "load_balancing": "balancing_three_phase",
    "balancing_margin": "margin_out_of_range",
    "balancing_evse_count": "evse_count_out_of_range",
    "balancing_evse_max": "evse_max_out_of_range",
}


def layout_schema(layout: Layout, values: Mapping[str, Any]) -> vol.Schema:
    """Form schema of ``layout`` with ``values`` as defaults; sections stay expanded like ETS pages."""
    schema: dict[Any, Any] = {}
    for name, keys in layout.items():
        fields = {vol.Required(key, default=values[key]): SELECTORS.get(key, number_box()) for key in keys}
        if name is None:
            schema.update(fields)
        else:
            schema[vol.Required(name)] = section(vol.Schema(fields), {"collapsed": False})
    return vol.Schema(schema)


def flatten(layout: Layout, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """User input of a sectioned form as one flat dict."""
    flat: dict[str, Any] = {}
    for name, value in user_input.items():
        if name in layout and name is not None and isinstance(value, Mapping):
            flat.update(value)
        else:
            flat[name] = value
    return flat


def error_location(layout: Layout, field: str) -> str:
    """Where an error on ``field`` is shown: the field itself, its section, or "base"."""
    for name, keys in layout.items():
        if field in keys:
            return field if name is None else name
    return "base"
