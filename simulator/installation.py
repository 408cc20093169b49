"""One file that describes a whole installation: chargers (both sides), house, meter and EVs.

The file is YAML (JSON is valid YAML). Each entry of ``chargers`` becomes *exactly* the data of the
integration's charger subentry (``{name, individual_address, model, parameters, group_addresses}``,
keys from ``custom_components.knx_evse.const``): parameters are validated and completed with the
manual's defaults by ``ChargerParameters.from_dict(...).as_dict()``, group addresses are generated
when absent (`default_group_addresses`) and validated by ``validate_group_addresses``. Everything
only the simulator needs (house phase, charging-time windows, pre-stored RFID tags) lives under the
charger's ``simulation`` key and never reaches the subentry. Example::

    start: "2025-06-19T06:00:00"         # simulated local (standard) time at start
    house: {annual_kwh: 4000, occupants: 3, kwp: 6, phases: 3, seed: 1}
    meter:
      update_period: 2                   # simulated s between meter updates (file and KNX)
      group_addresses: {current: "0/1/1", power: "0/1/2"}   # optional: also a KNX meter
    chargers:
      - name: Garage
        individual_address: "1.1.1"
        model: VE 742                    # sets phases/connectors unless the parameters do
        parameters: {auto_start: true}
        group_addresses: auto            # or {"31": ["1/0/31"], ...}; auto: charger k → "k/0/<obj>"
        simulation: {phase: 1, charging_times: [["22:00", "06:00"]], rfid_tags: ["CARD-1"], clamp: false}
    evs:
      - {name: Zoe, capacity_kwh: 52, phases: 3, max_current: 32, charger: Garage, connector: 1,
         arrive: "17:30", depart: "07:30", soc: 0.35, target_soc: 0.9, jitter_minutes: 30}
    builtin_balancing: {master: Garage, evses: [Garage, Carport]}   # optional, single-phase only
    balancing_groups: [...]    # the groups' subentry data; a `tree` is flattened (group_tree.py)

Errors: `InstallationError` (a ValueError) whose message names the offending entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Final

import voluptuous as vol
import yaml  # type: ignore[import-untyped]

from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    MODEL_DEFAULTS,
)
from custom_components.knx_evse.knx.group_addresses import (
    GroupAddressError,
    parse_group_address,
    validate_group_addresses,
)
from custom_components.knx_evse.knx.objects import OBJECTS
from custom_components.knx_evse.knx.parameters import ChargerParameters

from .charger import ChargingWindow
from .ev import EvSpec
from .group_tree import CircuitMeter, flatten_group
from .house import HouseConfig
from .master import (
    OBJ_CURRENT_MEASURED,
    OBJ_EVSE1_CURRENT,
    OBJ_EVSE1_CURRENT_LIMIT,
    OBJ_EVSE1_PAUSE_RESTART,
    OBJ_EVSE1_POWER,
    OBJ_EVSE1_POWER_LIMIT,
    OBJ_POWER_MEASURED,
    evse_object,
)

INSTALLATIONS_DIR: Final = Path(__file__).parent / "installations"
"""Folder of the bundled installation files (``demo.yaml``, ``builtin_master.yaml``)."""
DEFAULT_METER_CURRENT_GA: Final = "0/1/1"
DEFAULT_METER_POWER_GA: Final = "0/1/2"


class InstallationError(ValueError):
    """An installation file that cannot be used; the message names the entry."""


@dataclass(frozen=True, slots=True)
class ChargerSimulation:
    """Simulator-only facts about one charger (not part of the subentry).

    ``phase``: house phase (1-3) of connector 1; ``charging_times``: up to three daily windows for the
    charging-time objects (54/57/60); ``rfid_tags``: tags stored before the start (as if added in the
    manufacturer's app); ``clamp``: the model variant carries a current clamp on the supply line
    (VE 741 SP0, MP5, MPI, M05, M10, S00) and balances against Contracted Power by itself.
    """

    phase: int = 1
    charging_times: tuple[ChargingWindow | None, ...] = ()
    rfid_tags: tuple[str, ...] = ()
    clamp: bool = False


@dataclass(frozen=True, slots=True)
class EvPlan:
    """One car and its daily routine: it arrives at ``arrive`` and leaves at ``depart`` (local time).

    A departure earlier than the arrival means the next morning. ``soc`` is the SoC at arrival (0-1),
    varied by ±``soc_jitter``; times vary by ±``jitter_minutes``; ``weekdays`` (0 = Monday) are the
    days it comes home; ``rfid`` is the tag the driver presents (None: none).
    """

    name: str
    spec: EvSpec
    charger: str
    connector: int
    arrive: time
    depart: time
    soc: float = 0.35
    target_soc: float = 1.0
    soc_jitter: float = 0.1
    jitter_minutes: float = 20.0
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    rfid: str | None = None


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """The grid meter: ``update_period`` simulated s; optional KNX group addresses it sends on."""

    update_period: float = 2.0
    current_ga: str | None = None
    power_ga: str | None = None


@dataclass(frozen=True, slots=True)
class BuiltinBalancing:
    """The built-in master: the charger running it and the chargers that are EVSE1..EVSEn."""

    master: str
    evses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Installation:
    """A loaded installation file.

    ``chargers`` are the charger subentries' data dicts, exactly as the integration stores them;
    ``simulation`` holds each charger's simulator-only facts by name; ``circuit_meters`` the
    circuits the simulator measures (``meter: simulated`` in a group's ``tree``); ``extra`` the
    file's other keys, ``balancing_groups`` as the groups' subentry data.
    """

    chargers: tuple[dict[str, Any], ...]
    simulation: Mapping[str, ChargerSimulation]
    house: HouseConfig
    meter: MeterConfig
    evs: tuple[EvPlan, ...]
    start: datetime
    builtin_balancing: BuiltinBalancing | None = None
    source: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    circuit_meters: tuple[CircuitMeter, ...] = ()

    def charger(self, name: str) -> dict[str, Any]:
        """Return the subentry data of charger ``name``; raises KeyError when there is none."""
        for entry in self.chargers:
            if entry[CONF_NAME] == name:
                return entry
        raise KeyError(name)


def default_group_addresses(params: ChargerParameters, main: int) -> dict[str, list[str]]:
    """Deterministic group addresses for every object ``params`` enable: object n → ``"{main}/0/{n}"``.

    Keys are object numbers as strings (as a subentry stores them). ``main`` is 1-31 (main group 0
    is left to installation-wide addresses such as the meter). Raises ValueError otherwise.
    """
    if not 1 <= main <= 31:
        raise ValueError(f"main group must be 1-31, got {main!r}")
    return {str(n): [f"{main}/0/{n}"] for n in sorted(params.enabled_objects())}


def _parse_time(value: Any, where: str) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int):  # YAML reads 17:30 as sexagesimal minutes
        return time(value // 60 % 24, value % 60)
    try:
        return time.fromisoformat(str(value))
    except ValueError as err:
        raise InstallationError(f"{where}: {value!r} is not a time like '17:30'") from err


def _window(value: Any, where: str) -> ChargingWindow | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InstallationError(f"{where}: a charging-time window is [start, end]")
    return ChargingWindow(_parse_time(value[0], where), _parse_time(value[1], where))


def _charger_entry(raw: Mapping[str, Any], index: int) -> tuple[dict[str, Any], ChargerSimulation]:
    where = f"chargers[{index}]"
    name = raw.get(CONF_NAME)
    if not name:
        raise InstallationError(f"{where}: a charger needs a name")
    where = f"chargers[{index}] ({name})"
    model = raw.get(CONF_MODEL, "VE 741")
    if model not in MODEL_DEFAULTS:
        raise InstallationError(f"{where}: unknown model {model!r}; one of {sorted(MODEL_DEFAULTS)}")
    given = dict(raw.get(CONF_PARAMETERS) or {})
    for key, value in MODEL_DEFAULTS[model].items():
        if key in given and int(given[key]) != value:
            raise InstallationError(f"{where}: {model} has {key}={value}, parameters say {given[key]}")
        given[key] = value
    try:
        params = ChargerParameters.from_dict(given)
    except vol.Invalid as err:
        raise InstallationError(f"{where}: parameters: {err}") from err
    gas = raw.get(CONF_GROUP_ADDRESSES, "auto")
    if gas in (None, "auto"):
        gas = default_group_addresses(params, index + 1)
    elif not isinstance(gas, Mapping):
        raise InstallationError(f"{where}: group_addresses must be 'auto' or a map")
    entry = {
        CONF_NAME: str(name),
        CONF_CHARGER_IA: str(raw.get(CONF_CHARGER_IA, f"1.1.{index + 1}")),
        CONF_MODEL: model,
        CONF_PARAMETERS: params.as_dict(),
        CONF_GROUP_ADDRESSES: {str(k): [str(a) for a in _as_list(v)] for k, v in gas.items()},
    }
    sim_raw = raw.get("simulation") or {}
    windows = tuple(
        _window(w, f"{where}.simulation.charging_times") for w in sim_raw.get("charging_times", ())
    )
    phase = int(sim_raw.get("phase", 1))
    if phase not in (1, 2, 3):
        raise InstallationError(f"{where}: simulation.phase must be 1-3")
    clamp = sim_raw.get("clamp", False)
    if not isinstance(clamp, bool):
        raise InstallationError(f"{where}: simulation.clamp must be true or false")
    sim = ChargerSimulation(
        phase=phase,
        charging_times=windows,
        rfid_tags=tuple(str(t) for t in sim_raw.get("rfid_tags", ())),
        clamp=clamp,
    )
    return entry, sim


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _link_builtin_balancing(
    chargers: list[dict[str, Any]], link: BuiltinBalancing, meter: MeterConfig
) -> None:
    """Link the master's balancing objects to its EVSEs and the meter (manual's worked example).

    EVSE n's reading input (133/134) listens on that charger's 14 (A) or 13 (W), the limit output
    (135/136) sends on its 1 (A) or 2 (W), pause/restart (137) on its 18; 130/131 listen to the meter.
    """
    by_name = {c[CONF_NAME]: c for c in chargers}
    master = by_name.get(link.master)
    if master is None:
        raise InstallationError(f"builtin_balancing.master: no charger {link.master!r}")
    params = ChargerParameters.from_dict(master[CONF_PARAMETERS])
    if not params.balancing_enabled:
        raise InstallationError(
            f"builtin_balancing: {link.master} must be single-phase with load_balancing: true"
        )
    if len(link.evses) != params.balancing_evse_count:
        raise InstallationError(
            f"builtin_balancing.evses lists {len(link.evses)} chargers, "
            f"{link.master}'s balancing_evse_count is {params.balancing_evse_count}"
        )
    gas = master[CONF_GROUP_ADDRESSES]
    current = params.balancing_current_control
    meter_ga = meter.current_ga if current else meter.power_ga
    if meter_ga is None:
        raise InstallationError("builtin_balancing needs meter.group_addresses (current or power)")
    gas[str(OBJ_CURRENT_MEASURED if current else OBJ_POWER_MEASURED)] = [meter_ga]
    for n, name in enumerate(link.evses, start=1):
        evse = by_name.get(name)
        if evse is None:
            raise InstallationError(f"builtin_balancing.evses: no charger {name!r}")
        evse_gas = evse[CONF_GROUP_ADDRESSES]

        def sending(obj: int, _gas: dict[str, list[str]] = evse_gas, _name: str = name) -> str:
            addresses = _gas.get(str(obj))
            if not addresses:
                raise InstallationError(f"builtin_balancing: {_name} has no group address on object {obj}")
            return addresses[0]

        reading, limit = (14, 1) if current else (13, 2)
        gas[str(evse_object(OBJ_EVSE1_CURRENT if current else OBJ_EVSE1_POWER, n))] = [sending(reading)]
        gas[str(evse_object(OBJ_EVSE1_CURRENT_LIMIT if current else OBJ_EVSE1_POWER_LIMIT, n))] = [
            sending(limit)
        ]
        gas[str(evse_object(OBJ_EVSE1_PAUSE_RESTART, n))] = [sending(18)]


def _ev_plan(raw: Mapping[str, Any], index: int, chargers: Mapping[str, dict[str, Any]]) -> EvPlan:
    where = f"evs[{index}] ({raw.get('name', '?')})"
    try:
        spec = EvSpec(
            **{
                k: raw[k]
                for k in (
                    "capacity_kwh",
                    "phases",
                    "max_current",
                    "taper_soc",
                    "end_current",
                    "efficiency",
                    "response_time",
                )
                if k in raw
            }
        )
        charger = str(raw["charger"])
        connector = int(raw.get("connector", 1))
        plan = EvPlan(
            name=str(raw.get("name", f"EV {index + 1}")),
            spec=spec,
            charger=charger,
            connector=connector,
            arrive=_parse_time(raw.get("arrive", "17:30"), where),
            depart=_parse_time(raw.get("depart", "07:30"), where),
            soc=float(raw.get("soc", 0.35)),
            target_soc=float(raw.get("target_soc", 1.0)),
            soc_jitter=float(raw.get("soc_jitter", 0.1)),
            jitter_minutes=float(raw.get("jitter_minutes", 20)),
            weekdays=tuple(int(d) for d in raw.get("weekdays", range(7))),
            rfid=None if raw.get("rfid") is None else str(raw["rfid"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, InstallationError):
            raise
        raise InstallationError(f"{where}: {err!r}") from err
    if charger not in chargers:
        raise InstallationError(f"{where}: no charger {charger!r}")
    connectors = int(chargers[charger][CONF_PARAMETERS]["connectors"])
    if not 1 <= connector <= connectors:
        raise InstallationError(f"{where}: {charger} has no connector {connector}")
    if not 0 <= plan.soc <= 1 or not 0 <= plan.target_soc <= 1:
        raise InstallationError(f"{where}: soc and target_soc are fractions 0-1")
    return plan


def parse_installation(data: Mapping[str, Any], source: Path | None = None) -> Installation:
    """Build an `Installation` from already-parsed YAML/JSON ``data``; raises InstallationError."""
    if not isinstance(data, Mapping):
        raise InstallationError("an installation is a mapping with 'chargers', 'house', 'meter', 'evs'")
    raw_chargers = data.get("chargers") or []
    if not raw_chargers:
        raise InstallationError("chargers: at least one charger is needed")
    chargers: list[dict[str, Any]] = []
    simulation: dict[str, ChargerSimulation] = {}
    for index, raw in enumerate(raw_chargers):
        entry, sim = _charger_entry(raw, index)
        if entry[CONF_NAME] in simulation:
            raise InstallationError(f"chargers[{index}]: duplicate name {entry[CONF_NAME]!r}")
        chargers.append(entry)
        simulation[entry[CONF_NAME]] = sim

    try:
        house = HouseConfig(**dict(data.get("house") or {}))
    except (TypeError, ValueError) as err:
        raise InstallationError(f"house: {err}") from err

    meter_raw = dict(data.get("meter") or {})
    meter_gas = dict(meter_raw.get("group_addresses") or {})
    meter = MeterConfig(
        update_period=float(meter_raw.get("update_period", 2.0)),
        current_ga=meter_gas.get("current"),
        power_ga=meter_gas.get("power"),
    )
    if meter.update_period <= 0:
        raise InstallationError("meter.update_period must be > 0 s")
    for label, ga in (("current", meter.current_ga), ("power", meter.power_ga)):
        if ga is not None:
            try:
                parse_group_address(str(ga))
            except GroupAddressError as err:
                raise InstallationError(f"meter.group_addresses.{label}: {err}") from err

    link = None
    if data.get("builtin_balancing"):
        raw_link = data["builtin_balancing"]
        link = BuiltinBalancing(
            master=str(raw_link["master"]), evses=tuple(str(e) for e in raw_link["evses"])
        )
        _link_builtin_balancing(chargers, link, meter)

    for index, entry in enumerate(chargers):
        params = ChargerParameters.from_dict(entry[CONF_PARAMETERS])
        try:
            validate_group_addresses(entry[CONF_GROUP_ADDRESSES], params.enabled_objects())
        except GroupAddressError as err:
            obj = OBJECTS.get(err.object_number)
            raise InstallationError(
                f"chargers[{index}] ({entry[CONF_NAME]}): group_addresses: {err}"
                + (f" ({obj.name})" if obj else "")
            ) from err

    by_name = {c[CONF_NAME]: c for c in chargers}
    evs = tuple(_ev_plan(raw, i, by_name) for i, raw in enumerate(data.get("evs") or []))
    start_raw = data.get("start", "2025-06-19T06:00:00")
    try:
        start = start_raw if isinstance(start_raw, datetime) else datetime.fromisoformat(str(start_raw))
    except ValueError as err:
        raise InstallationError(f"start: {start_raw!r} is not an ISO date-time") from err
    known = {"chargers", "house", "meter", "evs", "builtin_balancing", "start"}
    extra = {k: v for k, v in data.items() if k not in known and not str(k).startswith("x-")}  # x-: YAML anchors
    circuit_meters: list[CircuitMeter] = []
    if "balancing_groups" in extra:
        groups = []
        for index, raw_group in enumerate(extra["balancing_groups"] or []):
            try:
                group, meters = flatten_group(raw_group, tuple(chargers))
            except ValueError as err:
                raise InstallationError(f"balancing_groups[{index}]: {err}") from err
            groups.append(group)
            circuit_meters += meters
        extra["balancing_groups"] = groups
    return Installation(
        chargers=tuple(chargers),
        simulation=simulation,
        house=house,
        meter=meter,
        evs=evs,
        start=start.replace(tzinfo=None),
        builtin_balancing=link,
        source=source,
        extra=extra,
        circuit_meters=tuple(circuit_meters),
    )


def load_installation(path: str | Path) -> Installation:
    """Load an installation file (YAML or JSON); raises InstallationError, OSError when unreadable.

    A bare name such as ``demo`` is looked up in `INSTALLATIONS_DIR` (``demo.yaml``).
    """
    file = Path(path)
    if not file.exists() and not file.suffix:
        bundled = INSTALLATIONS_DIR / f"{file.name}.yaml"
        if bundled.exists():
            file = bundled
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise InstallationError(f"{file}: not valid YAML/JSON: {err}") from err
    return parse_installation(data, source=file)
