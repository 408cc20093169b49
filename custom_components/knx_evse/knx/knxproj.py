"""Import chargers from an ETS project (.knxproj): find them and map their objects to group addresses.

The project is parsed by xknxproject (``XKNXProj(path, password).parse()``, synchronous: call
``parse_project`` in the executor). Its output lists each device's linked communication objects with
``number``, ``name``/``text``, ``dpts`` and ``group_address_links``; the first link is the object's
sending address. Objects not linked in ETS are absent.

A device is a charger when
- its manufacturer is Dinuy and its order number or product name names a VE 741/742/221/222
  (``matched_by="product"``; the model comes from that name), or
- at least half of its linked objects (and at least one) carry a name of the manual's object table,
  such as "[Conn1] Start - Stop charging" (``matched_by="object_names"``), for rebranded products or
  products whose data ETS does not know. The model is then derived from the linked objects where that is
  unambiguous.

Everything here except ``parse_project`` is pure: it works on the parsed project dict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from xknx.telegram.address import GroupAddress
from xknxproject.exceptions import InvalidPasswordException
from xknxproject.models.knxproject import KNXProject
from xknxproject.xknxproj import XKNXProj

from ..const import MANUFACTURER, MODEL_DEFAULTS, MODELS
from .objects import OBJECTS, Enabler, Scope
from .parameters import ChargerParameters

_LOGGER = logging.getLogger(__name__)

SEARCHED_FOR: Final = (
    f"manufacturer {MANUFACTURER} with order number or product name {', '.join(MODELS)}, or devices "
    "whose communication objects carry the manual's names (e.g. “[Conn1] Start - Stop charging”)"
)
"""What ``find_chargers`` looks for, shown when a project contains no charger."""

_MODEL_RE: Final = re.compile(r"\bVE\s*-?\s*(741|742|221|222)\b", re.IGNORECASE)
_NAMES: Final = {" ".join(obj.name.casefold().split()): number for number, obj in OBJECTS.items()}

# ETS parameters that enable an object group (manual, "Advanced" and "Connector"); "{c}" is the connector.
_ENABLER_PARAMETERS: Final[dict[Enabler, tuple[str, ...]]] = {
    Enabler.RESET_OBJECT: ("reset_object",),
    Enabler.SESSION_OBJECTS: ("session_objects",),
    Enabler.RFID_OBJECTS: ("rfid_objects",),
    Enabler.FAIL_SAFE_OBJECTS: ("fail_safe", "fail_safe_objects"),
    Enabler.ERROR_OBJECTS: ("error_objects",),
    Enabler.BLOCK_OBJECT: ("block_object",),
    Enabler.OCPP_STATE: ("conn{c}_ocpp_state",),
    Enabler.PILOT_STATE: ("conn{c}_pilot_state",),
    Enabler.INDIVIDUAL_STATUS: ("conn{c}_individual_status",),
    Enabler.CHARGING_TIME_OBJECTS: ("conn{c}_charging_time_objects",),
    Enabler.CONNECTOR_BLOCK_OBJECT: ("conn{c}_block_object",),
    Enabler.LOAD_BALANCING: ("load_balancing",),
    Enabler.BALANCING_CURRENT_CONTROL: ("load_balancing",),
    Enabler.BALANCING_POWER_CONTROL: ("load_balancing",),
}


class ProjectError(Exception):
    """The project could not be read; ``reason`` is a translation key.

    Reasons: ``invalid_password`` (missing or wrong password) and ``invalid_project`` (not a .knxproj,
    or a corrupt one).
    """

    def __init__(self, reason: Literal["invalid_password", "invalid_project"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ProjectCharger:
    """One charger found in a project.

    - ``individual_address``: "1.1.10"; ``name``: the device's name in ETS (or its product name).
    - ``product``/``order_number``: product data of ETS ("" when unknown).
    - ``matched_by``: "product" or "object_names" (see the module docstring).
    - ``model``: one of ``MODELS``, or None when the linked objects leave it ambiguous.
    - ``links``: manual object number → group addresses as written in the project, sending address first.
    """

    individual_address: str
    name: str
    product: str
    order_number: str
    matched_by: Literal["product", "object_names"]
    model: str | None
    links: dict[int, list[str]]


@dataclass(slots=True)
class ImportSummary:
    """What an import of one charger with given parameters maps.

    - ``mapped``: object numbers that are enabled and linked.
    - ``not_linked``: enabled by the parameters but linked to nothing in ETS.
    - ``ignored``: linked in ETS but not present for these parameters (e.g. three-phase objects on a
      single-phase model); they are left out.
    - ``dpt_clashes``: (object number, group address, DPT in the project, DPT of the manual).
    """

    mapped: list[int] = field(default_factory=list)
    not_linked: list[int] = field(default_factory=list)
    ignored: list[int] = field(default_factory=list)
    dpt_clashes: list[tuple[int, str, str, str]] = field(default_factory=list)


def parse_project(path: str | Path, password: str | None = None) -> KNXProject:
    """Parse an ETS project with xknxproject. Blocking: run it in the executor.

    Raises ProjectError("invalid_password") when the project needs a password that is missing or
    wrong, ProjectError("invalid_project") for anything that is not a readable .knxproj.
    """
    try:
        return XKNXProj(path=path, password=password or None).parse()
    except InvalidPasswordException as err:
        raise ProjectError("invalid_password", str(err)) from err
    except Exception as err:  # a corrupt archive or XML can fail anywhere inside the parser
        _LOGGER.debug("Could not parse %s: %s", path, err, exc_info=True)
        raise ProjectError("invalid_project", f"not a readable .knxproj: {err}") from err


def _object_number(co: Mapping[str, Any], by_product: bool) -> int | None:
    """Manual number of a project communication object: by its name or text, else by its number."""
    for text in (co.get("text"), co.get("name")):
        if text and (number := _NAMES.get(" ".join(str(text).casefold().split()))) is not None:
            return number
    number = co.get("number")
    return number if by_product and number in OBJECTS else None


def derive_model(linked: Collection[int]) -> str | None:
    """Model implied by linked objects, or None when ambiguous.

    Three-phase current objects mean three-phase, single-phase current or load-balancing objects mean
    single-phase (balancing exists only there); both or neither is ambiguous. Any connector-2 object
    means two connectors, otherwise one.
    """
    objects = [OBJECTS[n] for n in linked]
    three = any(obj.phases == 3 for obj in objects)
    single = any(obj.phases == 1 or obj.scope.value.startswith("Balancing") for obj in objects)
    if three == single:
        return None
    connectors = 2 if any(obj.scope is Scope.CONN2 for obj in objects) else 1
    phases = 3 if three else 1
    return next(m for m, d in MODEL_DEFAULTS.items() if d == {"phases": phases, "connectors": connectors})


def find_chargers(project: KNXProject) -> list[ProjectCharger]:
    """Every charger of ``project`` (see the module docstring for the matching rules), by address."""
    chargers: list[ProjectCharger] = []
    for address, device in project["devices"].items():
        product_text = f"{device.get('order_number', '')} {device.get('hardware_name', '')}"
        match = _MODEL_RE.search(product_text)
        by_product = (
            match is not None and device.get("manufacturer_name", "").casefold() == MANUFACTURER.casefold()
        )
        links: dict[int, list[str]] = {}
        objects = [project["communication_objects"][co_id] for co_id in device["communication_object_ids"]]
        for co in objects:
            number = _object_number(co, by_product)
            if number is not None:
                links.setdefault(number, []).extend(
                    ga for ga in co["group_address_links"] if ga not in links.get(number, [])
                )
        if not by_product and not (links and 2 * len(links) >= len(objects)):
            continue
        model = f"VE {match.group(1)}" if by_product and match else derive_model(links)
        chargers.append(
            ProjectCharger(
                individual_address=address,
                name=device.get("name") or device.get("hardware_name") or address,
                product=device.get("hardware_name", ""),
                order_number=device.get("order_number", ""),
                matched_by="product" if by_product else "object_names",
                model=model,
                links=dict(sorted(links.items())),
            )
        )
    return chargers


def derive_parameters(linked: Iterable[int], model: str) -> dict[str, Any]:
    """ETS parameters implied by ``model`` and the linked objects, for ``ChargerParameters.from_dict``.

    Phases and connectors come from the model; each object group (Advanced, Connector, Load balancing)
    is on exactly when one of its objects is linked; current control is off only when power-control
    balancing objects are linked and current-control ones are not; the number of EVSEs to balance is the
    highest EVSE index linked. Parameters the objects cannot reveal keep the manual's defaults.
    """
    params: dict[str, Any] = dict(MODEL_DEFAULTS[model])
    for keys in _ENABLER_PARAMETERS.values():
        for key in keys:
            for c in (1, 2):
                params[key.format(c=c)] = False
    objects = [OBJECTS[n] for n in linked]
    for obj in objects:
        if obj.enabled_by is not None:
            conn = 2 if obj.scope is Scope.CONN2 else 1
            for key in _ENABLER_PARAMETERS[obj.enabled_by]:
                params[key.format(c=conn)] = True
    enablers = {obj.enabled_by for obj in objects}
    params["balancing_current_control"] = not (
        Enabler.BALANCING_POWER_CONTROL in enablers and Enabler.BALANCING_CURRENT_CONTROL not in enablers
    )
    params["balancing_evse_count"] = max((obj.evse_index or 1 for obj in objects), default=1)
    return params


def _manual_dpt(dpt: str) -> dict[str, int | None]:
    """Return the manual's DPT ("14.019") as xknxproject writes DPTs: {"main": 14, "sub": 19}."""
    main, sub = dpt.split(".")
    return {"main": int(main), "sub": int(sub)}


def _dpt_text(dpt: Mapping[str, Any]) -> str:
    return f"{dpt['main']}" if dpt.get("sub") is None else f"{dpt['main']}.{dpt['sub']:03d}"


def dpt_compatible(project_dpt: Mapping[str, Any] | None, manual_dpt: str) -> bool:
    """Tell whether an address typed ``project_dpt`` fits an object of the manual's DPT ``manual_dpt``.

    ``project_dpt`` is {"main", "sub"} as xknxproject gives it, ``manual_dpt`` a string like "14.019".

    Compatible: no DPT in the project; the same main number and (for any DPT other than 1.x, whose
    subtypes switch/enable/boolean … all carry the same bit) no different subtype.
    """
    if not project_dpt:
        return True
    manual = _manual_dpt(manual_dpt)
    if project_dpt["main"] != manual["main"]:
        return False
    sub = project_dpt.get("sub")
    return manual["main"] == 1 or sub is None or sub == manual["sub"]


def project_dpts(project: KNXProject) -> dict[int, Mapping[str, Any]]:
    """Map raw group address → its DPT in the project, for every typed group address."""
    return {
        GroupAddress(address).raw: dpt
        for address, ga in project["group_addresses"].items()
        if (dpt := ga.get("dpt")) is not None
    }


def find_dpt_clashes(
    group_addresses: Mapping[int, Iterable[str]], known_dpts: Mapping[int, Mapping[str, Any]]
) -> list[tuple[int, str, str, str]]:
    """Addresses whose DPT disagrees with the manual's DPT of the object they are linked to.

    ``known_dpts`` (raw address → DPT) comes from the project; in addition an address linked to two
    objects whose manual DPTs are incompatible clashes. Returns (object number, address, other DPT,
    manual DPT), in object order. Addresses must be valid (see ``group_addresses.validate_group_addresses``).
    """
    clashes: list[tuple[int, str, str, str]] = []
    first_user: dict[int, int] = {}
    for number in sorted(group_addresses):
        manual_dpt = OBJECTS[number].dpt
        for address in group_addresses[number]:
            raw = GroupAddress(address).raw
            other = known_dpts.get(raw)
            if other is not None and not dpt_compatible(other, manual_dpt):
                clashes.append((number, address, _dpt_text(other), manual_dpt))
                continue
            user = first_user.setdefault(raw, number)
            if user != number and not dpt_compatible(_manual_dpt(OBJECTS[user].dpt), manual_dpt):
                clashes.append((number, address, OBJECTS[user].dpt, manual_dpt))
    return clashes


def summarize(
    links: Mapping[int, list[str]], params: ChargerParameters, known_dpts: Mapping[int, Mapping[str, Any]]
) -> ImportSummary:
    """Summary of importing ``links`` for a charger with ``params`` (see ``ImportSummary``)."""
    enabled = params.enabled_objects()
    mapped = {n: gas for n, gas in links.items() if n in enabled}
    return ImportSummary(
        mapped=sorted(mapped),
        not_linked=sorted(enabled - links.keys()),
        ignored=sorted(links.keys() - enabled),
        dpt_clashes=find_dpt_clashes(mapped, known_dpts),
    )
