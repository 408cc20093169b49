"""The charger's ETS parameters and the communication objects they enable.

Source: manual, "ETS CONFIGURATION" (General, Status Sending, Advanced, Connector, Dynamic Load
Balancing). The same dictionary is stored in a charger subentry, read by the coordinator and used to
configure the simulator, so one file can set up both sides of a test.

``PARAMETERS_SCHEMA`` (voluptuous) validates and fills defaults; ``ChargerParameters.from_dict``
applies it and raises ``vol.Invalid`` (with ``path`` naming the field) on bad input;
``enabled_objects`` answers which object numbers exist for these parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Final, Literal

from ..compat import vol
from .objects import MAX_BALANCED_EVSES, OBJECTS, CommObject, Enabler, Scope

MIN_CURRENT: Final = 6
"""A: the lowest non-zero current a charger accepts (manual: "Configurable charging current 6 to 32 A")."""
MAX_CURRENT: Final = 32
"""A: the highest current of the range."""
VOLTAGE: Final = 230
"""V phase-to-neutral (manual, "Technical data": 230 Vac single-phase, 400 Vac three-phase)."""
MAX_POWER: Final = MAX_CURRENT * VOLTAGE * 3
"""W: 32 A on three phases (22,080 W, the manual's "22 kW"), the most a connector or EVSE maximum takes."""
MAX_SESSION_MINUTES: Final = 360
"""Maximum charging session time is "Always ON" (0) or up to 6 h."""

SendingMode = Literal["change", "cyclic", "both"]
SENDING_MODES: Final = ("change", "cyclic", "both")
"""Status-sending modes: "Upon change", "Cyclically", "Upon change and cyclically"."""
BALANCING_AFTER_INIT: Final = ("off", "on", "last")
""""Balancing after initializing KNX Bus": Off, On, Last State."""
PHASE_CONNECTIONS: Final = ("same", "different")
"""Two-connector single-phase "Phase connection": both connectors on the same or different phases."""

# Status-sending groups: (name, default threshold, unit of threshold). "charging_status" has no threshold.
STATUS_GROUPS: Final = (
    ("current", 1.0, "A"),
    ("power", 250.0, "W"),
    ("energy", 100.0, "Wh"),
    ("time", 30.0, "s"),
)


def _range(lo: float, hi: float) -> Callable[[Any], Any]:
    return vol.All(vol.Coerce(float), vol.Range(min=lo, max=hi))


def _int_range(lo: int, hi: int) -> Callable[[Any], Any]:
    return vol.All(vol.Coerce(int), vol.Range(min=lo, max=hi))


def _phases(validator: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return vol.All([validator], vol.Length(min=3, max=3))


_CONNECTOR_FIELDS: Final[dict[str, tuple[Any, Any]]] = {
    "initial_power_limit": (None, _range(0, MAX_POWER)),  # default: see derived_defaults
    "send_status_at_init": (False, vol.Coerce(bool)),
    "ocpp_state": (True, vol.Coerce(bool)),
    "pilot_state": (False, vol.Coerce(bool)),
    "individual_status": (False, vol.Coerce(bool)),
    "charging_time_objects": (False, vol.Coerce(bool)),
    "block_object": (False, vol.Coerce(bool)),
}


def _schema_dict() -> dict[Any, Any]:
    schema: dict[Any, Any] = {
        # General
        vol.Optional("delay_at_start", default=2): _int_range(0, 255),
        vol.Optional("ocpp_mode", default=False): vol.Coerce(bool),
        vol.Optional("phases", default=1): vol.All(vol.Coerce(int), vol.In((1, 3))),
        vol.Optional("connectors", default=1): vol.All(vol.Coerce(int), vol.In((1, 2))),
        vol.Optional("phase_connection", default="same"): vol.In(PHASE_CONNECTIONS),
        vol.Optional("max_session_time", default=0): _int_range(0, MAX_SESSION_MINUTES),
        vol.Optional("auto_disconnect", default=True): vol.Coerce(bool),
        vol.Optional("auto_start", default=False): vol.Coerce(bool),
        vol.Optional("contracted_power", default=9200): _int_range(0, 1_000_000),
        vol.Optional("max_user_current", default=MAX_CURRENT): _int_range(MIN_CURRENT, MAX_CURRENT),
        vol.Optional("limit_by_power", default=True): vol.Coerce(bool),
        vol.Optional("initial_limit", default=7400.0): _range(0, 22000),
        vol.Optional("load_balancing", default=False): vol.Coerce(bool),
        # Three-phase models: "Installation" and "Limits" per phase (L1, L2, L3); None elsewhere
        vol.Optional("max_user_current_phases"): vol.Any(None, _phases(_int_range(MIN_CURRENT, MAX_CURRENT))),
        vol.Optional("initial_limit_phases"): vol.Any(None, _phases(_range(0, MAX_CURRENT))),
        # Status sending
        vol.Optional("charging_status_sending", default="change"): vol.In(SENDING_MODES),
        vol.Optional("charging_status_period", default=60): _int_range(1, 65535),
        # Advanced
        vol.Optional("rfid_objects", default=False): vol.Coerce(bool),
        vol.Optional("reset_object", default=False): vol.Coerce(bool),
        vol.Optional("error_objects", default=False): vol.Coerce(bool),
        vol.Optional("session_objects", default=False): vol.Coerce(bool),
        vol.Optional("block_object", default=False): vol.Coerce(bool),
        vol.Optional("fail_safe", default=False): vol.Coerce(bool),
        vol.Optional("fail_safe_timeout", default=60): _int_range(1, 65535),
        vol.Optional("fail_safe_current"): _range(0, MAX_CURRENT),  # default: see derived_defaults
        vol.Optional("fail_safe_objects", default=False): vol.Coerce(bool),
        # Dynamic load balancing (built-in master)
        vol.Optional("balancing_after_init", default="off"): vol.In(BALANCING_AFTER_INIT),
        vol.Optional("balancing_period", default=10): _int_range(0, 65535),
        vol.Optional("balancing_current_control", default=True): vol.Coerce(bool),
        vol.Optional("balancing_protection_device", default=63): _int_range(1, 1000),
        vol.Optional("balancing_contracted_power", default=9200): _int_range(1, 1_000_000),
        vol.Optional("balancing_margin", default=10): _int_range(0, 100),
        vol.Optional("balancing_evse_count", default=1): _int_range(1, MAX_BALANCED_EVSES),
        vol.Optional("balancing_evse_max"): vol.All(  # default: see derived_defaults
            [_range(0, MAX_POWER)], vol.Length(min=1, max=MAX_BALANCED_EVSES)
        ),
    }
    for group, threshold, _unit in STATUS_GROUPS:
        schema[vol.Optional(f"{group}_sending", default="change")] = vol.In(SENDING_MODES)
        schema[vol.Optional(f"{group}_change", default=threshold)] = _range(0, 1_000_000)
        schema[vol.Optional(f"{group}_period", default=60)] = _int_range(1, 65535)
    for n in (1, 2):
        for name, (default, validator) in _CONNECTOR_FIELDS.items():
            key = f"conn{n}_{name}"
            schema[vol.Optional(key) if default is None else vol.Optional(key, default=default)] = validator
    return schema


def rated_power(phases: int, max_user_current: float) -> float:
    """W the model draws at Maximum User Current on all its phases (230 V each)."""
    return float(max_user_current * VOLTAGE * phases)


def derived_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults that follow the model and the Maximum User Current (``data`` holds both).

    Connector limit: the rated power shared by the connectors, at least 6 A on the model's phases
    (the manual's 3,500 W is a single-phase two-connector screen). Fail-safe current: 6 A per connector
    (split 50/50 while both charge), at most the Maximum User Current. EVSE maxima: 32 A with current
    control, else the rated power.
    """
    phases, connectors, user_max = data["phases"], data["connectors"], data["max_user_current"]
    rated = rated_power(phases, user_max)
    connector_limit = max(rated / connectors, float(MIN_CURRENT * VOLTAGE * phases))
    evse_max = float(MAX_CURRENT) if data["balancing_current_control"] else rated
    return {
        "conn1_initial_power_limit": connector_limit,
        "conn2_initial_power_limit": connector_limit,
        "fail_safe_current": float(min(MIN_CURRENT * connectors, user_max)),
        "balancing_evse_max": [evse_max] * MAX_BALANCED_EVSES,
    }


def follow_model(stored: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into ``stored``, dropping derived values the user left at their default.

    A dropped value is filled again from the new model (``derived_defaults``); EVSE maxima are also
    dropped when the control changes between current (A) and power (W), and a per-phase list when only
    its single value is updated (it is rebuilt from that value).
    """
    merged = {**stored, **updates}
    for name in ("max_user_current", "initial_limit"):
        if name in updates and f"{name}_phases" not in updates:
            merged.pop(f"{name}_phases", None)
    old = derived_defaults(stored)
    for key, value in old.items():
        if key not in updates and stored.get(key) == value:
            merged.pop(key, None)
    if merged.get("balancing_current_control") != stored.get("balancing_current_control"):
        merged.pop("balancing_evse_max", None)
    return merged


def _per_phase(data: dict[str, Any]) -> None:
    """Three-phase models: the current values of "Installation" and "Limits" per phase (manual, "Phase number").

    A missing list takes the single value on each phase (entries of earlier versions); the single value
    becomes the lowest phase's, so whatever reads it never exceeds a phase. The powers stay totals (the
    manual calls them "total"). Single-phase models have no lists (None).
    """
    per_limit = data["phases"] == 3 and not data["limit_by_power"]
    for name, used in (("max_user_current", data["phases"] == 3), ("initial_limit", per_limit)):
        key = f"{name}_phases"
        if not used:
            data[key] = None
            continue
        if data.get(key) is None:
            data[key] = [data[name]] * 3
        data[name] = min(data[key])
    if per_limit:
        pairs = zip(data["initial_limit_phases"], data["max_user_current_phases"], strict=True)
        for index, (limit, user_max) in enumerate(pairs):
            if limit > user_max:
                raise vol.Invalid(
                    f"Initial Total Current limit L{index + 1} must not exceed its Maximum User Current",
                    path=["initial_limit_phases", index],
                )


def _check_model(data: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived defaults; cross-field rules of ETS: raise vol.Invalid with the field as path."""
    _per_phase(data)
    for key, value in derived_defaults(data).items():
        data.setdefault(key, value)
    if data["load_balancing"] and data["phases"] == 3:
        raise vol.Invalid(
            "Enable Dynamic Load Balancing is only available on single-phase models", path=["load_balancing"]
        )
    if data["phase_connection"] == "different" and not (data["phases"] == 1 and data["connectors"] == 2):
        raise vol.Invalid(
            "Phase connection 'different' only applies to single-phase models with 2 connectors",
            path=["phase_connection"],
        )
    if not data["limit_by_power"] and data["initial_limit"] > data["max_user_current"]:
        raise vol.Invalid(
            "Initial Total Current limit must not exceed Maximum User Current", path=["initial_limit"]
        )
    if data["load_balancing"]:
        _check_evse_maxima(data["balancing_evse_max"][: data["balancing_evse_count"]], data)
    minimum = float(MIN_CURRENT * VOLTAGE * data["phases"])
    for n in range(1, data["connectors"] + 1):
        if data[f"conn{n}_initial_power_limit"] < minimum:
            raise vol.Invalid(
                f"Initial Active Power limit must reach {MIN_CURRENT} A on each phase ({minimum:.0f} W)",
                path=[f"conn{n}_initial_power_limit"],
            )
    amps = data["fail_safe_current"]
    if amps and not MIN_CURRENT <= amps <= data["max_user_current"]:
        raise vol.Invalid(
            f"Fail-safe current must be 0 or {MIN_CURRENT} A to the Maximum User Current",
            path=["fail_safe_current"],
        )
    return data


def _check_evse_maxima(maxima: list[float], data: Mapping[str, Any]) -> None:
    """"Maximum Current EVSE1..6" 6-32 A; "Maximum active power EVSE1..6" at least one 6 A phase."""
    for index, value in enumerate(maxima):
        if data["balancing_current_control"] and not MIN_CURRENT <= value <= MAX_CURRENT:
            raise vol.Invalid(
                f"Maximum Current EVSE{index + 1} must be {MIN_CURRENT}-{MAX_CURRENT} A",
                path=["balancing_evse_max", index],
            )
        if not data["balancing_current_control"] and value < MIN_CURRENT * VOLTAGE:
            raise vol.Invalid(
                f"Maximum active power EVSE{index + 1} must be at least {MIN_CURRENT * VOLTAGE} W",
                path=["balancing_evse_max", index],
            )


_LISTS: Final = ("balancing_evse_max", "max_user_current_phases", "initial_limit_phases")

PARAMETERS_SCHEMA: Final = vol.Schema(vol.All(_schema_dict(), _check_model))
"""Voluptuous schema of a charger's ETS parameters; fills the manual's defaults."""


@dataclass(frozen=True, slots=True)
class ChargerParameters:
    """Validated ETS parameters of one charger (see the module docstring for the source).

    Units: currents A, powers W, times s except ``max_session_time`` in minutes (0 = "Always ON").
    Build with ``from_dict``; ``as_dict`` gives the JSON-serialisable form stored in a subentry.
    """

    delay_at_start: int
    ocpp_mode: bool
    phases: int
    connectors: int
    phase_connection: str
    max_session_time: int
    auto_disconnect: bool
    auto_start: bool
    contracted_power: int
    max_user_current: int
    limit_by_power: bool
    initial_limit: float
    load_balancing: bool
    max_user_current_phases: tuple[int, ...] | None
    initial_limit_phases: tuple[float, ...] | None
    charging_status_sending: str
    charging_status_period: int
    rfid_objects: bool
    reset_object: bool
    error_objects: bool
    session_objects: bool
    block_object: bool
    fail_safe: bool
    fail_safe_timeout: int
    fail_safe_current: float
    fail_safe_objects: bool
    balancing_after_init: str
    balancing_period: int
    balancing_current_control: bool
    balancing_protection_device: int
    balancing_contracted_power: int
    balancing_margin: int
    balancing_evse_count: int
    balancing_evse_max: tuple[float, ...]
    current_sending: str
    current_change: float
    current_period: int
    power_sending: str
    power_change: float
    power_period: int
    energy_sending: str
    energy_change: float
    energy_period: int
    time_sending: str
    time_change: float
    time_period: int
    conn1_initial_power_limit: float
    conn1_send_status_at_init: bool
    conn1_ocpp_state: bool
    conn1_pilot_state: bool
    conn1_individual_status: bool
    conn1_charging_time_objects: bool
    conn1_block_object: bool
    conn2_initial_power_limit: float
    conn2_send_status_at_init: bool
    conn2_ocpp_state: bool
    conn2_pilot_state: bool
    conn2_individual_status: bool
    conn2_charging_time_objects: bool
    conn2_block_object: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None = None) -> ChargerParameters:
        """Validate ``data`` with ``PARAMETERS_SCHEMA`` and build the parameters.

        Missing keys take the manual's defaults. Raises ``vol.Invalid`` (``vol.MultipleInvalid`` for
        several problems) whose ``path`` names the field.
        """
        valid = PARAMETERS_SCHEMA(dict(data or {}))
        for key in _LISTS:
            valid[key] = None if valid[key] is None else tuple(valid[key])
        return cls(**{f.name: valid[f.name] for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict that ``from_dict`` accepts back unchanged."""
        data = asdict(self)
        for key in _LISTS:
            data[key] = None if data[key] is None else list(data[key])
        return data

    @property
    def balancing_enabled(self) -> bool:
        """True when the built-in master's objects (130-212) exist: single-phase, not OCPP mode."""
        return self.load_balancing and not self.ocpp_mode and self.phases == 1

    @property
    def max_power(self) -> float:
        """W the charger can draw at Maximum User Current on all its phases."""
        return rated_power(self.phases, self.max_user_current)

    @property
    def fail_safe_power(self) -> float:
        """W of the fail-safe limit: the manual has no fail-safe power parameter, so current × 230 V × phases."""
        return float(self.fail_safe_current * VOLTAGE * self.phases)

    @property
    def two_phase(self) -> bool:
        """True for a two-connector single-phase model with "Phase connection: different".

        Its connectors sit on two supply phases and each may draw up to the charger's limit (manual,
        "Dynamic balancing in models with two connectors", special case).
        """
        return self.phases == 1 and self.connectors == 2 and self.phase_connection == "different"

    @property
    def splits_limit(self) -> bool:
        """True when the charger's own limit is split 50/50 between two plugged vehicles.

        Every two-connector model but a ``two_phase`` one; a share one vehicle leaves unused is not
        passed on (manual, "Dynamic balancing in models with two connectors").
        """
        return self.connectors == 2 and not self.two_phase

    def connector(self, n: int, name: str) -> Any:
        """Connector ``n``'s (1 or 2) parameter ``name``, e.g. ``connector(2, "pilot_state")``."""
        return getattr(self, f"conn{n}_{name}")

    def object_enabled(self, obj: CommObject) -> bool:
        """Return True when ``obj`` exists in ETS for these parameters (model, connectors, options)."""
        if obj.scope is Scope.CONN2 and self.connectors < 2:
            return False
        if obj.phases is not None and obj.phases != self.phases:
            return False
        if obj.evse_index is not None and obj.evse_index > self.balancing_evse_count:
            return False
        if obj.enabled_by is None:
            return True
        conn = 2 if obj.scope is Scope.CONN2 else 1
        return bool(_ENABLERS[obj.enabled_by](self, conn))

    def enabled_objects(self) -> frozenset[int]:
        """Numbers of every communication object that exists for these parameters."""
        return frozenset(n for n, obj in OBJECTS.items() if self.object_enabled(obj))


_ENABLERS: Final[dict[Enabler, Any]] = {
    Enabler.RESET_OBJECT: lambda p, _c: p.reset_object,
    Enabler.SESSION_OBJECTS: lambda p, _c: p.session_objects,
    Enabler.RFID_OBJECTS: lambda p, _c: p.rfid_objects,
    Enabler.FAIL_SAFE_OBJECTS: lambda p, _c: p.fail_safe and p.fail_safe_objects,
    Enabler.ERROR_OBJECTS: lambda p, _c: p.error_objects,
    Enabler.BLOCK_OBJECT: lambda p, _c: p.block_object,
    Enabler.OCPP_STATE: lambda p, c: p.connector(c, "ocpp_state"),
    Enabler.PILOT_STATE: lambda p, c: p.connector(c, "pilot_state"),
    Enabler.INDIVIDUAL_STATUS: lambda p, c: p.connector(c, "individual_status"),
    Enabler.CHARGING_TIME_OBJECTS: lambda p, c: p.connector(c, "charging_time_objects"),
    Enabler.CONNECTOR_BLOCK_OBJECT: lambda p, c: p.connector(c, "block_object"),
    Enabler.LOAD_BALANCING: lambda p, _c: p.balancing_enabled,
    Enabler.BALANCING_CURRENT_CONTROL: lambda p, _c: p.balancing_enabled and p.balancing_current_control,
    Enabler.BALANCING_POWER_CONTROL: lambda p, _c: p.balancing_enabled and not p.balancing_current_control,
}


DERIVED_FIELDS: Final = frozenset(("conn1_initial_power_limit", "conn2_initial_power_limit", "fail_safe_current", "balancing_evse_max"))
"""Fields whose defaults follow the model; older versions stored values the checks now refuse."""


def repair_parameters(stored: Mapping[str, Any], only: frozenset[str] | None = None) -> dict[str, Any]:
    """Validate stored parameters, resetting every value that no longer validates to its default.

    Lets reconfigure open a charger whose stored parameters a stricter version of the schema rejects;
    the user sees the defaults on those fields and can correct them. With ``only``, just those fields
    are reset and any other error raises ``vol.Invalid``.
    """
    data = dict(stored)
    while True:
        try:
            return ChargerParameters.from_dict(data).as_dict()
        except vol.Invalid as err:
            errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
            bad = {str(error.path[0]) for error in errors if error.path} & data.keys()
            if only is not None:
                if not (bad := bad & only):
                    raise
            elif not bad:  # a rule the defaults of the dropped values still break
                return ChargerParameters.from_dict({}).as_dict()
            for key in bad:
                del data[key]


def load_parameters(stored: Mapping[str, Any]) -> ChargerParameters:
    """Load a subentry's stored parameters; derived values this version refuses take the defaults.

    E.g. a 3,500 W connector limit on a three-phase model (5 A a phase: it never charges). Other bad
    values raise ``vol.Invalid`` as in ``ChargerParameters.from_dict``.
    """
    return ChargerParameters.from_dict(repair_parameters(stored, DERIVED_FIELDS))
