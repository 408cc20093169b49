"""The demo's curated Lovelace dashboard, built from Home Assistant's entity and device registries.

Used by ``scripts/develop`` (through scripts/demo_lovelace.py) and ``scripts/screenshot``.
``build_dashboard`` turns registry entries (as ``config/entity_registry/list`` and
``config/device_registry/list`` return them) into a Lovelace storage-mode config with one sections
view:

- a "House" section per balancing group (or "Grid" without one): the house's meters (grid power
  with a trend graph, solar power, export, import, grid current), the group's available current,
  state, meter problem, energy price (with a price rule) and on/off switch, and a history graph of
  grid, solar, each charger's power and the available current;
- a section per charger: its power (and current) in the heading, an error tile only while there is
  an error, its current limit (and, for a member of a balancing group, its charge mode, balancing
  limit and reason), then one block per connector: vehicle connected and charging, pilot and OCPP
  state, session and lifetime energy, charge mode and start/stop switch, current limit next to the
  group's balancing limit, and the group's reason; then a member's charging plan (on, state,
  energy, departure, repeat, planned energy, next start, will it be met) and a list of its next
  slots; what only a plan that is on has (will it be met, planned energy, next start, the slots)
  is shown only while its switch is on.

A group's circuits follow its tiles in its section (a subheading each, its available current and
state). With ``compact`` (the car park's twelve chargers) the chargers share one section, a power tile
each (its connectors' without a charger total).

Every tile is named by its entity's English name from ``translations/en.json``, so the dashboard,
the device page and the README's entity table say the same. Tiles come in rows: a row's tiles share
the section's 12 columns, so a tile whose row partner is missing spans the width; long states
(pilot state, OCPP state, reason) get whole rows, so nothing is cut off at 1200 px.

Entities are picked by their translation key, so the dashboard follows whatever entities the
integration created (a charger without session objects simply has no session-energy tile);
disabled and hidden entities are left out.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DOMAIN = "knx_evse"
TITLE = "EV charging"
VIEW_PATH = "chargers"
EN_JSON = Path(__file__).resolve().parent.parent / "custom_components" / DOMAIN / "translations" / "en.json"
HISTORY_HOURS = 24
"""Hours the history graph shows (the YAML example's: a day of solar)."""

Card = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Slot:
    """One tile of a section: the entity with ``key`` (translation key) of ``domain``.

    ``feature``: a tile feature ("numeric-input", "select-options", "toggle") or None.
    """

    key: str
    domain: str
    feature: str | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """A sensor of the house (not the integration's): ``entity_id``, shown as ``label``.

    ``trend``: a full-width tile with a trend graph; ``history``: also a line of the power history.
    """

    entity_id: str
    label: str
    trend: bool = False
    history: bool = False


Row = tuple[Slot, ...]
"""Tiles that share one row of a section's 12 columns (those present split it evenly)."""

CHARGER_BADGES: tuple[Slot, ...] = (Slot("active_power", "sensor"), Slot("single_phase_current", "sensor"))
"""Badges in a charger's heading: its total power, and its current when single-phase (three would not fit)."""
CONNECTOR_BADGES: tuple[Slot, ...] = (Slot("active_power", "sensor"),)
"""The badge in a connector's heading: its power."""

ERROR_SLOT = Slot("error_code", "sensor")
"""A charger's error code: a tile shown only while there is an error."""
NO_ERROR_STATES = ("no_error", "unknown", "unavailable")

CURRENT_LIMIT = Slot("current_limit", "number", "numeric-input")
BALANCING_LIMIT = Slot("assigned_limit", "sensor")
CHARGE_MODE = Slot("charge_mode", "select", "select-options")
BALANCING_REASON = Slot("balancing_reason", "sensor")

CHARGER_ROWS: tuple[Row, ...] = (
    # The charger's own limit beside the one its balancing group gives it (when the whole charger,
    # object 1, is the member); a member's entities sit on its charger or connector device.
    (CURRENT_LIMIT, BALANCING_LIMIT),
    (CHARGE_MODE,),
    (BALANCING_REASON,),
)
"""Rows of a charger device, in order."""

CONNECTOR_ROWS: tuple[Row, ...] = (
    (Slot("vehicle_connected", "binary_sensor"), Slot("charging", "binary_sensor")),
    (Slot("pilot_state", "sensor"),),
    (Slot("ocpp_state", "sensor"),),
    (Slot("session_energy", "sensor"), Slot("lifetime_energy", "sensor")),
    (CHARGE_MODE, Slot("start_stop", "switch", "toggle")),
    (CURRENT_LIMIT, BALANCING_LIMIT),
    (BALANCING_REASON,),
)
"""Rows of a connector sub-device, in order."""

PLAN_ROWS: tuple[Row, ...] = (
    (Slot("plan_enabled", "switch", "toggle"), Slot("plan_feasible", "binary_sensor")),
    (Slot("plan_state", "sensor"),),
    (Slot("plan_energy", "number", "numeric-input"), Slot("plan_departure", "time")),
    (Slot("plan_repeat", "select", "select-options"),),
    (Slot("planned_energy", "sensor"), Slot("plan_next_start", "sensor")),
)
"""Rows of a balancing member's charging plan (on its charger or connector device), after a subheading."""
PLAN_SLOTS_LIST = (
    "{% set slots = state_attr('ENTITY', 'slots') or [] %}{% if slots %}| slot | A | kWh | price |\n|---|---|---|---|\n"
    "{% for s in slots %}| {{ as_timestamp(s.start) | timestamp_custom('%a %H:%M') }}-"
    "{{ as_timestamp(s.end) | timestamp_custom('%H:%M') }} | {{ s.current }} | {{ s.energy }} | "
    "{{ s.price if s.price is not none else '-' }} |\n{% endfor %}{% else %}No slot planned.{% endif %}"
)
"""A markdown card listing the plan's next slots (the plan-state sensor's ``slots`` attribute)."""
PLAN_RESULTS: frozenset[str] = frozenset({"plan_feasible", "planned_energy", "plan_next_start"})
"""Plan sensors that are unknown while the plan is off: shown only while its switch is on, as the slot list."""

AVAILABLE_CURRENT = Slot("available_current", "sensor")
GROUP_ROWS: tuple[Row, ...] = (
    (AVAILABLE_CURRENT,),
    (Slot("group_state", "sensor"), Slot("meter_problem", "binary_sensor")),
    (Slot("price_state", "sensor"),),
    (Slot("group_enabled", "switch", "toggle"),),
)
"""Rows of a balancing group's device, in order (after the meters)."""

GROUP_KEYS = frozenset(slot.key for row in GROUP_ROWS for slot in row)
CIRCUIT_STATE = Slot("circuit_state", "sensor")
CIRCUIT_ROWS: tuple[Row, ...] = ((AVAILABLE_CURRENT, CIRCUIT_STATE),)
"""Rows of a circuit's device, under a subheading in its group's section."""


@functools.cache
def _names() -> dict[str, dict[str, Any]]:
    return dict(json.loads(EN_JSON.read_text())["entity"])


def entity_name(slot: Slot) -> str:
    """The English name of ``slot``'s entity (translations/en.json), as the device page shows it."""
    return str(_names()[slot.domain][slot.key]["name"])


def _domain(entity_id: str) -> str:
    return entity_id.split(".", 1)[0]


def _usable(entry: Mapping[str, Any]) -> bool:
    """Return True for an enabled, visible entity of the integration."""
    return entry.get("platform") == DOMAIN and not entry.get("disabled_by") and not entry.get("hidden_by")


def _tile(entity_id: str, name: str, *, feature: str | None = None, columns: int = 6, hours: float = 1) -> Card:
    card: Card = {"type": "tile", "entity": entity_id, "name": name}
    if feature == "numeric-input":
        card["features"] = [{"type": "numeric-input", "style": "buttons"}]
    elif feature == "trend-graph":
        card["features"] = [{"type": "trend-graph", "hours_to_show": hours}]
    elif feature is not None:
        card["features"] = [{"type": feature}]
    if feature is not None:
        card["features_position"] = "bottom"
    card["grid_options"] = {"columns": columns}
    return card


def _by_key(entities: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str | None], str]:
    return {(_domain(e["entity_id"]), e.get("translation_key")): e["entity_id"] for e in entities}


def _pick(entities: Sequence[Mapping[str, Any]], slots: Sequence[Slot]) -> list[tuple[str, Slot]]:
    """(entity id, slot) for ``slots`` from one device's ``entities``, in slot order; missing slots are skipped."""
    by_key = _by_key(entities)
    return [(by_key[(s.domain, s.key)], s) for s in slots if (s.domain, s.key) in by_key]


def _rows(entities: Sequence[Mapping[str, Any]], rows: Sequence[Row]) -> list[Card]:
    """Tiles for ``rows`` from one device's ``entities``: a row's present tiles share the 12 columns."""
    cards: list[Card] = []
    for row in rows:
        present = _pick(entities, row)
        for entity_id, slot in present:
            cards.append(_tile(entity_id, entity_name(slot), feature=slot.feature, columns=12 // len(present)))
    return cards


def _meter_rows(meters: Sequence[Meter], hours: float) -> list[Card]:
    """Tiles of the house's meters: a trend one (over ``hours``) alone in its row, the others in pairs."""
    cards: list[Card] = []
    plain = [m for m in meters if not m.trend]
    for meter in meters:
        if meter.trend:
            cards.append(_tile(meter.entity_id, meter.label, feature="trend-graph", columns=12, hours=hours))
    for index, meter in enumerate(plain):
        alone = index == len(plain) - 1 and len(plain) % 2 == 1
        cards.append(_tile(meter.entity_id, meter.label, columns=12 if alone else 6))
    return cards


def _error_tiles(entities: Sequence[Mapping[str, Any]]) -> list[Card]:
    """The error-code tile, inside a conditional card that shows it only while there is an error."""
    return [
        {
            "type": "conditional",
            "conditions": [{"condition": "state", "entity": entity_id, "state_not": list(NO_ERROR_STATES)}],
            "card": _tile(entity_id, entity_name(slot), columns=12),
        }
        for entity_id, slot in _pick(entities, (ERROR_SLOT,))
    ]


def _heading(
    text: str, *, icon: str | None = None, style: str = "title", badges: Sequence[str] = ()
) -> Card:
    card: Card = {"type": "heading", "heading": text, "heading_style": style}
    if icon:
        card["icon"] = icon
    if badges:
        card["badges"] = [{"type": "entity", "entity": e, "show_state": True, "show_icon": True} for e in badges]
    return card


def _history(lines: Sequence[tuple[str, str]], hours: float) -> Card:
    """A history graph of ``lines`` (entity id, legend name); Home Assistant draws one chart per unit."""
    return {
        "type": "history-graph",
        "title": "History",
        "hours_to_show": hours,
        "entities": [{"entity": entity_id, "name": name} for entity_id, name in lines],
        "grid_options": {"columns": 12},
    }


def _device_name(device: Mapping[str, Any]) -> str:
    return str(device.get("name_by_user") or device.get("name") or device.get("id"))


def _short_name(child: str, parent: str) -> str:
    """``Garage connector 1`` under ``Garage`` → ``Connector 1``."""
    if child.startswith(parent + " ") and len(child) > len(parent) + 1:
        rest = child[len(parent) + 1 :]
        return rest[:1].upper() + rest[1:]
    return child


def build_dashboard(
    entities: Sequence[Mapping[str, Any]],
    devices: Sequence[Mapping[str, Any]],
    *,
    meters: Sequence[Meter] = (),
    title: str = TITLE,
    history_hours: float = HISTORY_HOURS,
    compact: bool = False,
) -> dict[str, Any]:
    """Return a Lovelace config (one sections view) for the knx_evse entities among ``entities``.

    ``entities``: entity-registry entries (``entity_id``, ``platform``, ``device_id``,
    ``translation_key``, ``disabled_by``, ``hidden_by``); ``devices``: device-registry entries
    (``id``, ``name``, ``name_by_user``, ``via_device_id``), in the registry's order, which is the
    order of the charger sections; ``meters``: the house's sensors, shown first in the house
    section; ``history_hours``: what the history graph and the trend graph show; ``compact``: one
    section of power tiles for all chargers.
    """
    ours = [e for e in entities if _usable(e)]
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for entry in ours:
        if entry.get("device_id"):
            by_device.setdefault(entry["device_id"], []).append(entry)
    known = {d["id"]: d for d in devices}
    parents = {known[d].get("via_device_id") for d in by_device if d in known}
    # A charger with entities of its own, or only on its connectors.
    device_ids = [d["id"] for d in devices if d["id"] in by_device or d["id"] in parents]
    for device in device_ids:
        by_device.setdefault(device, [])
    circuits = [d for d in device_ids if any(e.get("translation_key") == CIRCUIT_STATE.key for e in by_device[d])]
    groups = [
        d for d in device_ids
        if d not in circuits and any(e.get("translation_key") in GROUP_KEYS for e in by_device[d])
    ]
    chargers = [d for d in device_ids if d not in groups and d not in circuits and not known[d].get("via_device_id")]
    children = {c: [d for d in device_ids if known[d].get("via_device_id") == c] for c in chargers}

    # The history: grid and solar, each charger's power (its connectors' without a charger total),
    # the first group's available current.
    lines = [(m.entity_id, m.label) for m in meters if m.history]
    powers: list[tuple[str, str]] = []
    for charger in chargers:
        power = [e for e, _slot in _pick(by_device[charger], CHARGER_BADGES[:1])]
        if power:
            powers.append((power[0], _device_name(known[charger])))
        else:
            for child in children[charger]:
                powers += [(e, _device_name(known[child])) for e, _slot in _pick(by_device[child], CONNECTOR_BADGES)]
    lines += powers
    if groups:
        lines += [(e, entity_name(s)) for e, s in _pick(by_device[groups[0]], (AVAILABLE_CURRENT,))]
    history = [_history(lines, history_hours)] if lines else []

    sections: list[dict[str, Any]] = []
    if groups:
        for index, group in enumerate(groups):
            cards = [_heading(_device_name(known[group]), icon="mdi:home-lightning-bolt")]
            cards += _meter_rows(meters, history_hours) if index == 0 else []
            cards += _rows(by_device[group], GROUP_ROWS)
            for circuit in (c for c in circuits if known[c].get("via_device_id") == group):
                cards.append(_heading(_device_name(known[circuit]), icon="mdi:electric-switch", style="subtitle"))
                cards += _rows(by_device[circuit], CIRCUIT_ROWS)
            cards += history if index == 0 else []
            sections.append({"type": "grid", "cards": cards})
    elif meters or history:
        cards = [_heading("Grid", icon="mdi:transmission-tower"), *_meter_rows(meters, history_hours), *history]
        sections.append({"type": "grid", "cards": cards})

    if compact and powers:
        tiles = [_tile(entity_id, name) for entity_id, name in powers]
        sections.append({"type": "grid", "cards": [_heading("Chargers", icon="mdi:ev-station"), *tiles]})
    for charger in [] if compact else chargers:
        name = _device_name(known[charger])
        model = known[charger].get("model")
        badges = [entity_id for entity_id, _slot in _pick(by_device[charger], CHARGER_BADGES)]
        cards = [_heading(f"{name} ({model})" if model else name, icon="mdi:ev-station", badges=badges)]
        cards += _error_tiles(by_device[charger])
        cards += _rows(by_device[charger], CHARGER_ROWS)
        cards += _plan_cards(by_device[charger])
        for child in children[charger]:
            badges = [entity_id for entity_id, _slot in _pick(by_device[child], CONNECTOR_BADGES)]
            short = _short_name(_device_name(known[child]), name)
            cards.append(_heading(short, icon="mdi:ev-plug-type2", style="subtitle", badges=badges))
            cards += _rows(by_device[child], CONNECTOR_ROWS)
            cards += _plan_cards(by_device[child])
        sections.append({"type": "grid", "cards": cards})

    view = {
        "type": "sections",
        "title": title,
        "path": VIEW_PATH,
        "icon": "mdi:ev-station",
        "max_columns": max(1, min(len(sections), 3)),
        "sections": sections,
    }
    return {"title": title, "views": [view]}


def _plan_cards(entities: Sequence[Mapping[str, Any]]) -> list[Card]:
    """A member's plan: a subheading, its rows and the list of its next slots; none without a plan."""
    picked = _pick(entities, [slot for row in PLAN_ROWS for slot in row])
    if not picked:
        return []
    state = next(entity_id for entity_id, slot in picked if slot.key == "plan_state")
    switch = next((entity_id for entity_id, slot in picked if slot.key == "plan_enabled"), None)
    results = {entity_id for entity_id, slot in picked if slot.key in PLAN_RESULTS}
    cards = [
        *_rows(entities, PLAN_ROWS),
        {"type": "markdown", "content": PLAN_SLOTS_LIST.replace("ENTITY", state), "grid_options": {"columns": 12}},
    ]
    if switch is not None:
        on = [{"condition": "state", "entity": switch, "state": "on"}]
        cards = [c | {"visibility": on} if c.get("entity") in results or c["type"] == "markdown" else c for c in cards]
    return [_heading("Charging plan", icon="mdi:calendar-clock", style="subtitle"), *cards]


def dashboard_entities(config: Mapping[str, Any]) -> list[str]:
    """Return every entity id the dashboard shows (tiles, badges, conditional cards, history lines), in order."""
    found: list[str] = []

    def visit(card: Mapping[str, Any]) -> None:
        if "entity" in card:
            found.append(card["entity"])
        for item in (*card.get("badges", []), *card.get("entities", [])):
            visit(item)
        if "card" in card:
            visit(card["card"])

    for card in _section_cards(config):
        visit(card)
    return found


def _section_cards(config: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The cards of every section of every view, in order (not the cards nested in them)."""
    for view in config.get("views", []):
        for section in view.get("sections", []):
            yield from section.get("cards", [])


def hidden_entities(config: Mapping[str, Any], states: Mapping[str, str]) -> set[str]:
    """Entity ids of the cards that ``states`` (entity id → state) hide: a ``visibility`` state
    condition that does not hold (a plan's results while the plan is off)."""
    return {
        card["entity"]
        for card in _section_cards(config)
        if "entity" in card and any(
            c.get("condition") == "state" and states.get(c["entity"]) != c["state"] for c in card.get("visibility", [])
        )
    }


YAML_HEADER = """\
# Example dashboard for knx_evse, generated by scripts/develop from the demo (two chargers, Garage
# VE 742 and Carport VE 222, a balancing group "House", and the house's grid meter and solar power as
# command_line and template sensors); scripts/screenshot renders it as docs/dashboard.png and
# docs/dashboard-solar.png. To use it: Settings → Dashboards → Add dashboard → New dashboard from
# scratch, open it, edit it (pencil) → ⋮ → Raw configuration editor, paste this and replace the
# entity ids with your own (Settings → Entities). Only built-in cards are used (Home Assistant 2026.2
# or later).
"""


def to_yaml(config: Mapping[str, Any]) -> str:
    """Return the dashboard config as commented YAML (the README's example)."""
    body = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True, width=110)
    return YAML_HEADER + body


def write_yaml(path: Path, config: Mapping[str, Any]) -> None:
    """Write ``to_yaml(config)`` to ``path`` (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(config))
