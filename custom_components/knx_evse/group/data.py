"""The data of a balancing-group subentry: format, voluptuous schema, defaults (look-ups: ``members.py``).

Source: the balancing design (meter, limit mode and value, margin, members in priority order with
their maximums, timing, fallback, bridge mode) and the manual's "Dynamic Load Balancing" section
(priority EVSE1 → EVSE6, per-EVSE maximum current, reserve margin) and "Advanced" (Fail-safe timeout).

A group's ``subentry.data`` is this JSON-serialisable dict (``GROUP_SCHEMA`` fills the defaults)::

    {
      "name": "House",                  # title of the subentry and of the group's device
      "mode": "balance",                # "balance": Home Assistant sets the members' limits and starts/stops them;
                                        # "bridge": only feeds the meter into a built-in master
      "meter_entities": ["sensor.grid_power"],   # one sensor in W, kW or A (signed, + = import),
                                        # or three per-phase current sensors L1, L2, L3 in A
      "invert": false,                  # true: the meter counts export as positive
      "balanced_supply": false,         # one total meter on 3 phases: true spreads the other load
                                        # evenly; false counts all of it on every phase
      "drawn_phases": false,            # true: a car seen drawing on fewer phases of a three-phase
                                        # charger is counted on those only; false (absent): on all
      "limit_mode": "current",          # "current": limit in A per phase; "power": limit in W
      "limit": 25.0,                    # the breaker (A per phase) or contracted power (W)
      "phases": 3,                      # phases of the supply, 1 or 3
      "reserve_margin": 10.0,           # % of limit kept free (manual: 63 A with 10 % → 56.7 A)
      "fallback_current": 0.0,          # A per member without a usable meter; 0 = pause all
      "members": [                      # EVSE1 (highest priority) first
        {"charger": "<charger subentry id or individual address>",
         "connector": 1,                # 1 or 2: that connector; 0: the whole charger (its total
                                        # limit, and the start/stop of its connectors)
         "max_current": 16.0,           # A per phase, 6-32 and ≤ the charger's Maximum User Current
         "phase": 1,                    # on a 3-phase supply: the supply phase of a single-phase
                                        # member, of a three-phase charger's L1 (phase rotation), of
                                        # connector 1 of a whole two-phase charger (2 on the next)
         "mode": "fast",                # initial charge mode: off, fast, solar, min_solar
         "name": "Garage connector 1",  # optional: the member's name when added (for messages)
         "circuit": null}               # the id of its circuit; null: directly under the supply
      ],
      "circuits": [                     # optional: sub-distributions under the supply (a tree)
        {"id": "01J...",                # stable key (members and children name it; entities' ids)
         "name": "Garage board",        # unique in the group
         "limit": 40.0, "unit": "A",    # "A": A per phase (6-4000); "W": W, all phases (1000-2000000)
         "parent": null,                # the id of the circuit it hangs in; null: the supply
         "meter": ["sensor.garage"],    # none, one total (W, kW, A) or three per-phase (A), as the
         "invert": false}               # group's meter; invert: it counts export as positive
      ],
      "update_interval": 5.0,           # s between rounds without meter updates
      "ramp_up_delay": 10.0, "min_on_time": 60.0, "min_off_time": 60.0,
      "solar_stop_delay": 180.0, "meter_timeout": 30.0,   # s, see balancing.BalancingConfig
      "meter_grace": 10.0,              # s the meter or the connection may be gone with the limits
                                        # kept in force before the fallback (at most meter_timeout)
      "keepalive": 0.0,                 # s between repeated identical writes; 0 = automatic: half the
                                        # charger's Fail-safe Timeout for members with fail-safe,
                                        # never for the others (no repeated identical writes)
      "bridge_charger": null,           # bridge mode: the built-in master (subentry id or address)
      "bridge_period": 10.0,            # bridge mode: s between repeated meter values
      "price_entity": null,             # optional: the energy price now (any numeric sensor)
      "price_limit": null,              # smart cost: at or below it Solar and Min+Solar charge as Fast
      "negative_price": false,          # smart cost: a price below zero is cheap too
      "battery_soc_entity": null,       # optional: the home battery's state of charge in %
      "battery_power_entity": null,     # optional: its power in W or kW, + discharging, - charging
      "battery_invert": false,          # true: the battery's power counts charging as positive
      "priority_soc": null,             # % below which the export is the battery's
      "buffer_soc": null                # % above which the battery bridges clouds for solar charging
    }

``circuits`` and a member's ``circuit`` are optional: data without them (older data) loads
unchanged and has no circuits. The circuits' shape is checked here; their tree (loops, limits above a parent's, empty circuits)
by the pure core (``circuit_problem``), so stored data with a bad tree still loads: the group
raises a repair issue instead of balancing (``group.circuits``).

``GroupDataError`` (a ``vol.Invalid``) carries a translation ``key`` and the offending field in
``path``, so the subentry flow shows a translated error on that field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, cast

from ..balancing import MODES, BalancingConfig, CircuitConfig, EvseConfig
from ..balancing.circuits import CircuitTreeError, check_tree
from ..compat import vol
from ..knx.parameters import MAX_CURRENT, MIN_CURRENT, VOLTAGE

CONF_GROUP_MODE: Final = "mode"
CONF_METER_ENTITIES: Final = "meter_entities"
CONF_INVERT: Final = "invert"
CONF_BALANCED: Final = "balanced_supply"
"""True: a single total meter on a three-phase supply is spread evenly over the phases."""
CONF_DRAWN_PHASES: Final = "drawn_phases"
"""True: a three-phase member is counted on the phases its car draws (``BalancingConfig.drawn_phases``)."""
CONF_LIMIT_MODE: Final = "limit_mode"
CONF_LIMIT: Final = "limit"
CONF_PHASES: Final = "phases"
CONF_RESERVE_MARGIN: Final = "reserve_margin"
CONF_FALLBACK_CURRENT: Final = "fallback_current"
CONF_MEMBERS: Final = "members"
CONF_CHARGER: Final = "charger"
CONF_CONNECTOR: Final = "connector"
CONF_MAX_CURRENT: Final = "max_current"
CONF_PHASE: Final = "phase"
CONF_MODE: Final = "mode"
CONF_CIRCUIT: Final = "circuit"
CONF_CIRCUITS: Final = "circuits"
CONF_CIRCUIT_ID: Final = "id"
CONF_UNIT: Final = "unit"
CONF_PARENT: Final = "parent"
CONF_METER: Final = "meter"
CIRCUIT_UNITS: Final = ("A", "W")
CIRCUIT_LIMIT_MODE: Final = {"A": "current", "W": "power"}
"""A circuit's ``unit`` → the ``LIMIT_RANGE`` it must fit."""
CONF_UPDATE_INTERVAL: Final = "update_interval"
CONF_KEEPALIVE: Final = "keepalive"
CONF_BRIDGE_CHARGER: Final = "bridge_charger"
CONF_BRIDGE_PERIOD: Final = "bridge_period"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_PRICE_LIMIT: Final = "price_limit"
CONF_NEGATIVE_PRICE: Final = "negative_price"
CONF_BATTERY_SOC_ENTITY: Final = "battery_soc_entity"
CONF_BATTERY_POWER_ENTITY: Final = "battery_power_entity"
CONF_BATTERY_INVERT: Final = "battery_invert"
CONF_PRIORITY_SOC: Final = "priority_soc"
CONF_BUFFER_SOC: Final = "buffer_soc"
SITE_FIELDS: Final = (
    CONF_PRICE_ENTITY, CONF_PRICE_LIMIT, CONF_NEGATIVE_PRICE, CONF_BATTERY_SOC_ENTITY,
    CONF_BATTERY_POWER_ENTITY, CONF_BATTERY_INVERT, CONF_PRIORITY_SOC, CONF_BUFFER_SOC,
)
"""The optional smart-cost and home-battery fields (``group/site.py`` reads them)."""
PRICE_RANGE: Final = 1_000_000.0
"""The largest price limit accepted either side of zero (any unit: €/kWh, ct/kWh, ...)."""

GROUP_MODE_BALANCE: Final = "balance"
GROUP_MODE_BRIDGE: Final = "bridge"
GROUP_MODES: Final = (GROUP_MODE_BALANCE, GROUP_MODE_BRIDGE)
LIMIT_MODES: Final = ("current", "power")
WHOLE_CHARGER: Final = 0
"""``connector`` of a member that is the whole charger."""

MIN_KEEPALIVE: Final = 1.0
"""s: the shortest keep-alive the runtime uses, whatever the fail-safe timeout."""
LIMIT_RANGE: Final[dict[str, tuple[float, float]]] = {"current": (6.0, 4000.0), "power": (1000.0, 2_000_000.0)}
"""Allowed ``limit`` per ``limit_mode``: A per phase, W."""
MAX_MARGIN: Final = 50.0
"""% : the largest reserve margin accepted."""

# Timing fields: (default, min, max) in s.
TIMING: Final[dict[str, tuple[float, float, float]]] = {
    CONF_UPDATE_INTERVAL: (5.0, 1.0, 60.0),
    "ramp_up_delay": (10.0, 0.0, 3600.0),
    "min_on_time": (60.0, 0.0, 3600.0),
    "min_off_time": (60.0, 0.0, 3600.0),
    "solar_stop_delay": (180.0, 0.0, 3600.0),
    "meter_timeout": (30.0, 2.0, 3600.0),
    "meter_grace": (10.0, 0.0, 3600.0),
    CONF_KEEPALIVE: (0.0, 0.0, 3600.0),
    CONF_BRIDGE_PERIOD: (10.0, 1.0, 3600.0),
}


class GroupDataError(vol.Invalid):
    """Invalid group data: ``key`` is the flow's translation key, ``path`` the field."""

    def __init__(self, key: str, message: str, path: list[Any] | None = None) -> None:
        """Keep the translation ``key`` next to the message and path of ``vol.Invalid``."""
        super().__init__(message, path=path)
        self.key = key


def connector_number(value: Any) -> int:
    """Member ``connector``: None or 0 = whole charger, else 1 or 2."""
    if value is None:
        return WHOLE_CHARGER
    number = vol.Coerce(int)(value)
    if number not in (0, 1, 2):
        raise vol.Invalid(f"connector must be 0 (whole charger), 1 or 2, got {value!r}")
    return int(number)


def _seconds(name: str) -> Callable[[Any], Any]:
    _default, lo, hi = TIMING[name]
    return vol.All(vol.Coerce(float), vol.Range(min=lo, max=hi))


MEMBER_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_CHARGER): vol.All(str, vol.Length(min=1)),
        vol.Optional(CONF_CONNECTOR, default=WHOLE_CHARGER): connector_number,
        vol.Optional(CONF_MAX_CURRENT, default=float(MAX_CURRENT)): vol.All(
            vol.Coerce(float), vol.Range(min=MIN_CURRENT, max=MAX_CURRENT)
        ),
        vol.Optional(CONF_PHASE, default=1): vol.All(vol.Coerce(int), vol.In((1, 2, 3))),
        vol.Optional(CONF_MODE, default="fast"): vol.In(MODES),
        vol.Optional("name"): str,
        vol.Optional(CONF_CIRCUIT): vol.Any(None, vol.All(str, vol.Length(min=1))),
    }
)
"""One member of a group (see the module docstring); ``name`` is the member's name when it was added."""

_ENTITIES: Final = vol.All(lambda v: [v] if isinstance(v, str) else v, [vol.All(str, vol.Length(min=3))])
CIRCUIT_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_CIRCUIT_ID): vol.All(str, vol.Length(min=1)),
        vol.Required("name"): vol.All(str, vol.Strip, vol.Length(min=1)),
        vol.Required(CONF_LIMIT): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(CONF_UNIT, default="A"): vol.In(CIRCUIT_UNITS),
        vol.Optional(CONF_PARENT, default=None): vol.Any(None, vol.All(str, vol.Length(min=1))),
        vol.Optional(CONF_METER, default=list): _ENTITIES,
        vol.Optional(CONF_INVERT, default=False): bool,
    }
)
"""One circuit of a group (see the module docstring)."""


def _check_group(data: dict[str, Any]) -> dict[str, Any]:
    """Cross-field rules; raise ``GroupDataError`` naming the field."""
    check_meter(data[CONF_METER_ENTITIES], data[CONF_PHASES], [CONF_METER_ENTITIES], [CONF_PHASES])
    if data[CONF_GROUP_MODE] == GROUP_MODE_BRIDGE:
        if not data.get(CONF_BRIDGE_CHARGER):
            raise GroupDataError("bridge_charger_missing", "bridge mode needs the master charger", [CONF_BRIDGE_CHARGER])
        return data
    lo, hi = LIMIT_RANGE[data[CONF_LIMIT_MODE]]
    if not lo <= data[CONF_LIMIT] <= hi:
        raise GroupDataError("limit_out_of_range", f"limit must be {lo:g}-{hi:g}", [CONF_LIMIT])
    fallback = data[CONF_FALLBACK_CURRENT]
    if fallback != 0 and not MIN_CURRENT <= fallback <= MAX_CURRENT:
        raise GroupDataError(
            "fallback_out_of_range", f"fallback must be 0 or {MIN_CURRENT}-{MAX_CURRENT} A", [CONF_FALLBACK_CURRENT]
        )
    if 0 < data[CONF_KEEPALIVE] < MIN_KEEPALIVE:
        raise GroupDataError("keepalive_out_of_range", "keepalive must be 0 or at least 1 s", [CONF_KEEPALIVE])
    _check_site(data)
    for index, circuit in enumerate(data.get(CONF_CIRCUITS) or []):
        path: list[Any] = [CONF_CIRCUITS, index]
        if circuit[CONF_METER]:
            check_meter(circuit[CONF_METER], data[CONF_PHASES], [*path, CONF_METER], [*path, CONF_METER])
        lo, hi = LIMIT_RANGE[CIRCUIT_LIMIT_MODE[circuit[CONF_UNIT]]]
        if not lo <= circuit[CONF_LIMIT] <= hi:
            raise GroupDataError("limit_out_of_range", f"a circuit's limit must be {lo:g}-{hi:g}", [*path, CONF_LIMIT])
    seen: dict[str, set[int]] = {}
    for index, member in enumerate(data[CONF_MEMBERS]):
        connectors = seen.setdefault(member[CONF_CHARGER], set())
        connector = member[CONF_CONNECTOR]
        if connector in connectors or (connectors and (connector == WHOLE_CHARGER or WHOLE_CHARGER in connectors)):
            raise GroupDataError(
                "member_overlap", "a charger (or connector) is in the group twice", [CONF_MEMBERS, index]
            )
        connectors.add(connector)
        if data[CONF_PHASES] == 1 and member[CONF_PHASE] != 1:
            raise GroupDataError("member_phase", "phase must be 1 on a single-phase supply", [CONF_MEMBERS, index])
    return data


def check_meter(entities: list[str], phases: int, path: list[Any], phases_path: list[Any]) -> None:
    """Rules of a meter's entities (the group's or a circuit's): one, or three per-phase on three phases.

    Raises ``GroupDataError`` ``meter_count`` (on ``path``) or ``phase_meters_need_three_phases``
    (on ``phases_path``).
    """
    if len(entities) not in (1, 3) or len(set(entities)) != len(entities):
        raise GroupDataError("meter_count", "give one meter entity or three per-phase entities", path)
    if len(entities) == 3 and phases != 3:
        raise GroupDataError("phase_meters_need_three_phases", "per-phase meters need a three-phase supply", phases_path)


def _check_site(data: dict[str, Any]) -> None:
    """Rules of the smart-cost and battery fields; raise ``GroupDataError`` naming the field."""
    if (data[CONF_PRICE_LIMIT] is not None or data[CONF_NEGATIVE_PRICE]) and not data[CONF_PRICE_ENTITY]:
        raise GroupDataError("price_entity_missing", "a price limit needs the price entity", [CONF_PRICE_ENTITY])
    for name in (CONF_PRIORITY_SOC, CONF_BUFFER_SOC):
        value = data[name]
        if value is not None and not (finite(value) and 0 <= value <= 100):
            raise GroupDataError("soc_out_of_range", f"{name} must be 0-100 %", [name])
    priority, buffer = data[CONF_PRIORITY_SOC], data[CONF_BUFFER_SOC]
    if (priority is not None or buffer is not None) and not data[CONF_BATTERY_SOC_ENTITY]:
        raise GroupDataError("battery_soc_missing", "SoC thresholds need the battery's SoC entity", [CONF_BATTERY_SOC_ENTITY])
    if priority is not None and buffer is not None and buffer < priority:
        raise GroupDataError("buffer_below_priority", "the buffer SoC must not be below the priority SoC", [CONF_BUFFER_SOC])


def _optional_entity(value: Any) -> str | None:
    """Return an optional entity id: None (or "") for none."""
    return None if value in (None, "") else vol.All(str, vol.Length(min=3))(value)


_GROUP_FIELDS: Final[dict[Any, Any]] = {
    vol.Required("name"): vol.All(str, vol.Strip, vol.Length(min=1)),
    vol.Optional(CONF_GROUP_MODE, default=GROUP_MODE_BALANCE): vol.In(GROUP_MODES),
    vol.Required(CONF_METER_ENTITIES): _ENTITIES,
    vol.Optional(CONF_INVERT, default=False): bool,
    vol.Optional(CONF_BALANCED, default=False): bool,
    vol.Optional(CONF_DRAWN_PHASES, default=False): bool,
    vol.Optional(CONF_LIMIT_MODE, default="current"): vol.In(LIMIT_MODES),
    vol.Optional(CONF_LIMIT, default=25.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
    vol.Optional(CONF_PHASES, default=1): vol.All(vol.Coerce(int), vol.In((1, 3))),
    vol.Optional(CONF_RESERVE_MARGIN, default=10.0): vol.All(
        vol.Coerce(float), vol.Range(min=0, max=MAX_MARGIN)
    ),
    vol.Optional(CONF_FALLBACK_CURRENT, default=0.0): vol.All(vol.Coerce(float), vol.Range(min=0)),
    vol.Optional(CONF_MEMBERS, default=list): [MEMBER_SCHEMA],
    vol.Optional(CONF_CIRCUITS): [CIRCUIT_SCHEMA],
    vol.Optional(CONF_BRIDGE_CHARGER, default=None): vol.Any(None, vol.All(str, vol.Length(min=1))),
    **{vol.Optional(name, default=spec[0]): _seconds(name) for name, spec in TIMING.items()},
    vol.Optional(CONF_PRICE_ENTITY, default=None): _optional_entity,
    vol.Optional(CONF_PRICE_LIMIT, default=None): vol.Any(
        None, vol.All(vol.Coerce(float), vol.Range(min=-PRICE_RANGE, max=PRICE_RANGE))
    ),
    vol.Optional(CONF_NEGATIVE_PRICE, default=False): bool,
    vol.Optional(CONF_BATTERY_SOC_ENTITY, default=None): _optional_entity,
    vol.Optional(CONF_BATTERY_POWER_ENTITY, default=None): _optional_entity,
    vol.Optional(CONF_BATTERY_INVERT, default=False): bool,
    vol.Optional(CONF_PRIORITY_SOC, default=None): vol.Any(None, vol.Coerce(float)),
    vol.Optional(CONF_BUFFER_SOC, default=None): vol.Any(None, vol.Coerce(float)),
}
GROUP_SCHEMA: Final = vol.Schema(vol.All(_GROUP_FIELDS, _check_group), extra=vol.REMOVE_EXTRA)
"""Voluptuous schema of a balancing group's data; fills the defaults (see the module docstring)."""


def validate_group(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``data`` with ``GROUP_SCHEMA``; return it with defaults. Raises ``vol.Invalid``."""
    return cast("dict[str, Any]", GROUP_SCHEMA(dict(data)))


def circuit_configs(circuits: list[Mapping[str, Any]]) -> tuple[CircuitConfig, ...]:
    """Return the core's ``CircuitConfig`` of each validated circuit (metered when it has a meter)."""
    return tuple(
        CircuitConfig(
            id=c[CONF_CIRCUIT_ID], limit=float(c[CONF_LIMIT]), unit=c[CONF_UNIT], parent=c[CONF_PARENT],
            metered=bool(c[CONF_METER]), name=c["name"],
        )
        for c in circuits
    )


def circuit_problem(data: Mapping[str, Any]) -> CircuitTreeError | None:
    """Return what the pure core refuses in validated ``data``'s circuits and members' circuits, or None.

    The core's own check (``balancing.circuits.check_tree``) with every stored member, so the flow
    and the runtime refuse exactly what the core refuses: a duplicate id, an unknown parent or
    circuit, a loop, a limit above its parent's (or the supply's), a circuit with neither members
    nor children.
    """
    circuits = data.get(CONF_CIRCUITS) or []
    members = [m.get(CONF_CIRCUIT) for m in data.get(CONF_MEMBERS) or []]
    if not circuits and not any(members):
        return None
    try:
        check_tree(
            circuit_configs(circuits), members, root_limit=float(data[CONF_LIMIT]),
            root_unit="A" if data[CONF_LIMIT_MODE] == "current" else "W", voltage=float(VOLTAGE),
            phases=int(data[CONF_PHASES]),
        )
    except CircuitTreeError as err:
        return err
    return None


def balancing_config(
    data: Mapping[str, Any], evses: tuple[EvseConfig, ...], circuits: tuple[CircuitConfig, ...] = ()
) -> BalancingConfig:
    """Build the pure core's ``BalancingConfig`` for validated group ``data``, resolved members and circuits.

    Keep-alives are per member (``EvseConfig.keepalive``, see ``member_keepalive``). Raises
    ValueError (from ``BalancingConfig``) for data the core refuses.
    """
    fallback = data[CONF_FALLBACK_CURRENT]
    return BalancingConfig(
        limit=float(data[CONF_LIMIT]),
        current_control=data[CONF_LIMIT_MODE] == "current",
        reserve_margin=float(data[CONF_RESERVE_MARGIN]),
        evses=evses,
        phases=int(data[CONF_PHASES]),
        voltage=float(VOLTAGE),
        ramp_up_delay=float(data["ramp_up_delay"]),
        min_on_time=float(data["min_on_time"]),
        min_off_time=float(data["min_off_time"]),
        solar_stop_delay=float(data["solar_stop_delay"]),
        meter_timeout=float(data["meter_timeout"]),
        fallback="pause" if fallback == 0 else float(fallback),
        balanced_supply=bool(data[CONF_BALANCED]),
        drawn_phases=bool(data[CONF_DRAWN_PHASES]),
        circuits=circuits,
    )


MeterUnit = Literal["A", "W"]
METER_UNITS: Final[dict[str, tuple[MeterUnit, float]]] = {
    "W": ("W", 1.0),
    "kW": ("W", 1000.0),
    "MW": ("W", 1_000_000.0),
    "A": ("A", 1.0),
    "mA": ("A", 0.001),
}
"""``unit_of_measurement`` → (unit of ``MeterReading``, factor). Others are refused (fallback)."""


def finite(value: Any) -> bool:
    """Return True for an int or float (not bool) that is finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
