"""The demo's curated Lovelace dashboard, built from Home Assistant's entity and device registries.

Used by ``scripts/develop`` (and ``scripts/screenshot``). ``build_dashboard`` turns registry entries
(as ``config/entity_registry/list`` and ``config/device_registry/list`` return them) into a Lovelace
storage-mode config with one sections view:

- a "House" section per balancing group (or "Grid" without one): the grid meter(s) with a trend
  graph, the group's state, available current, energy price (with a price rule), meter problem and
  on/off switch;
- a section per charger: its power (and current) in the heading, an error tile only while there is
  an error, its current limit, then one block
  per connector: pilot and OCPP state, vehicle connected, charging, power, session and lifetime
  energy, current limit (number), charge mode (select) and assigned limit of the balancing group,
  the start/stop switch and the group's reason for the limit; then a member's charging plan (on,
  state, energy, departure, repeat, planned energy, next start, will it be met) and a list of its
  next slots.

Entities are picked by their translation key, so the dashboard follows whatever entities the
integration created (a charger without session objects simply has no session-energy tile);
disabled and hidden entities are left out. ``install_dashboard`` does the websocket part: waits
until the registry is settled, saves the config as the dashboard ``/ev-charging`` (made the default
panel) and can write the same config as YAML for the README (``docs/dashboard.yaml``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

DOMAIN = "knx_evse"
URL_PATH = "ev-charging"
TITLE = "EV charging"
VIEW_PATH = "chargers"

Card = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Slot:
    """One tile of a section: the entity with ``key`` (translation key) of ``domain``, shown as ``label``.

    ``feature``: a tile feature ("numeric-input", "select-options", "toggle", "trend-graph") or None;
    ``columns``: width in the section's 12-column grid.
    """

    key: str
    domain: str
    label: str
    feature: str | None = None
    columns: int = 6


CHARGER_BADGES: tuple[Slot, ...] = (
    Slot("active_power", "sensor", "Power"),
    Slot("single_phase_current", "sensor", "Current"),
)
"""Badges in a charger's heading: its total power, and its current when single-phase (three would not fit)."""

ERROR_SLOT = Slot("error_code", "sensor", "Error")
"""A charger's error code: a tile shown only while there is an error."""
NO_ERROR_STATES = ("no_error", "unknown", "unavailable")

CHARGER_SLOTS: tuple[Slot, ...] = (
    Slot("current_limit", "number", "Current limit", "numeric-input", columns=12),
    # A balancing-group member that is the whole charger (object 1) has its entities here.
    Slot("charge_mode", "select", "Charge mode", "select-options"),
    Slot("assigned_limit", "sensor", "Assigned limit"),
    Slot("balancing_reason", "sensor", "Reason"),
)
"""Tiles of a charger device, in order."""

CONNECTOR_SLOTS: tuple[Slot, ...] = (
    Slot("pilot_state", "sensor", "Pilot state"),
    Slot("ocpp_state", "sensor", "OCPP state"),
    Slot("vehicle_connected", "binary_sensor", "Vehicle"),
    Slot("charging", "binary_sensor", "Charging"),
    Slot("active_power", "sensor", "Power"),
    Slot("session_energy", "sensor", "Session energy"),
    Slot("lifetime_energy", "sensor", "Lifetime energy"),
    Slot("assigned_limit", "sensor", "Assigned limit"),
    Slot("current_limit", "number", "Current limit", "numeric-input"),
    Slot("charge_mode", "select", "Charge mode", "select-options"),
    Slot("start_stop", "switch", "Charge", "toggle"),
    Slot("balancing_reason", "sensor", "Reason"),
)
"""Tiles of a connector sub-device, in order."""

PLAN_SLOTS: tuple[Slot, ...] = (
    Slot("plan_enabled", "switch", "Plan", "toggle"),
    Slot("plan_state", "sensor", "Plan state"),
    Slot("plan_energy", "number", "Energy by departure", "numeric-input"),
    Slot("plan_departure", "time", "Departure"),
    Slot("plan_repeat", "select", "Repeat", "select-options"),
    Slot("planned_energy", "sensor", "Planned energy"),
    Slot("plan_next_start", "sensor", "Next start"),
    Slot("plan_feasible", "binary_sensor", "Will be met"),
)
"""Tiles of a balancing member's charging plan (on its charger or connector device), after a subheading."""
PLAN_SLOTS_LIST = (
    "{% set slots = state_attr('ENTITY', 'slots') or [] %}{% if slots %}| slot | A | kWh | price |\n|---|---|---|---|\n"
    "{% for s in slots %}| {{ as_timestamp(s.start) | timestamp_custom('%a %H:%M') }}-"
    "{{ as_timestamp(s.end) | timestamp_custom('%H:%M') }} | {{ s.current }} | {{ s.energy }} | "
    "{{ s.price if s.price is not none else '-' }} |\n{% endfor %}{% else %}No slot planned.{% endif %}"
)
"""A markdown card listing the plan's next slots (the plan-state sensor's ``slots`` attribute)."""

GROUP_SLOTS: tuple[Slot, ...] = (
    Slot("group_state", "sensor", "Balancing state"),
    Slot("available_current", "sensor", "Available current"),
    Slot("price_state", "sensor", "Energy price"),
    Slot("group_enabled", "switch", "Load balancing", "toggle"),
    Slot("meter_problem", "binary_sensor", "Meter problem"),
)
"""Tiles of a balancing group's device, in order (after the meters)."""

GROUP_KEYS = frozenset(slot.key for slot in GROUP_SLOTS)


def _domain(entity_id: str) -> str:
    return entity_id.split(".", 1)[0]


def _usable(entry: Mapping[str, Any]) -> bool:
    """Return True for an enabled, visible entity of the integration."""
    return entry.get("platform") == DOMAIN and not entry.get("disabled_by") and not entry.get("hidden_by")


def _tile(entity_id: str, slot: Slot) -> Card:
    card: Card = {"type": "tile", "entity": entity_id, "name": slot.label}
    if slot.feature == "numeric-input":
        card["features"] = [{"type": "numeric-input", "style": "buttons"}]
    elif slot.feature is not None:
        card["features"] = [{"type": slot.feature}]
    if slot.feature == "trend-graph":
        card["features"][0]["hours_to_show"] = 1
    if slot.feature is not None:
        card["features_position"] = "bottom"
    card["grid_options"] = {"columns": slot.columns}
    return card


def _pick(entities: Sequence[Mapping[str, Any]], slots: Sequence[Slot]) -> list[tuple[str, Slot]]:
    """(entity id, slot) for ``slots`` from one device's ``entities``, in slot order; missing slots are skipped."""
    by_key = {(_domain(e["entity_id"]), e.get("translation_key")): e["entity_id"] for e in entities}
    return [(by_key[(s.domain, s.key)], s) for s in slots if (s.domain, s.key) in by_key]


def _tiles(entities: Sequence[Mapping[str, Any]], slots: Sequence[Slot]) -> list[Card]:
    """Tiles for ``slots`` from one device's ``entities`` (see ``_pick``)."""
    return [_tile(entity_id, slot) for entity_id, slot in _pick(entities, slots)]


def _error_tiles(entities: Sequence[Mapping[str, Any]]) -> list[Card]:
    """The error-code tile, inside a conditional card that shows it only while there is an error."""
    return [
        {
            "type": "conditional",
            "conditions": [{"condition": "state", "entity": entity_id, "state_not": list(NO_ERROR_STATES)}],
            "card": _tile(entity_id, slot) | {"grid_options": {"columns": 12}},
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
    meters: Sequence[str] = (),
    title: str = TITLE,
) -> dict[str, Any]:
    """Return a Lovelace config (one sections view) for the knx_evse entities among ``entities``.

    ``entities``: entity-registry entries (``entity_id``, ``platform``, ``device_id``,
    ``translation_key``, ``disabled_by``, ``hidden_by``); ``devices``: device-registry entries
    (``id``, ``name``, ``name_by_user``, ``via_device_id``), in the registry's order, which is the
    order of the charger sections; ``meters``: entity ids of grid meters, shown first in the
    house section (the first one with a trend graph).
    """
    ours = [e for e in entities if _usable(e)]
    by_device: dict[str, list[Mapping[str, Any]]] = {}
    for entry in ours:
        if entry.get("device_id"):
            by_device.setdefault(entry["device_id"], []).append(entry)
    device_ids = [d["id"] for d in devices if d["id"] in by_device]
    known = {d["id"]: d for d in devices}
    groups = [d for d in device_ids if any(e.get("translation_key") in GROUP_KEYS for e in by_device[d])]
    chargers = [d for d in device_ids if d not in groups and not known[d].get("via_device_id")]
    children = {c: [d for d in device_ids if known[d].get("via_device_id") == c] for c in chargers}

    sections: list[dict[str, Any]] = []
    meter_cards = [
        _tile(meter, Slot("", "sensor", _meter_label(meter), "trend-graph" if i == 0 else None, 12 if i == 0 else 6))
        for i, meter in enumerate(meters)
    ]
    if groups:
        for index, group in enumerate(groups):
            cards = [_heading(_device_name(known[group]), icon="mdi:home-lightning-bolt")]
            cards += meter_cards if index == 0 else []
            cards += _tiles(by_device[group], GROUP_SLOTS)
            sections.append({"type": "grid", "cards": cards})
    elif meter_cards:
        sections.append({"type": "grid", "cards": [_heading("Grid", icon="mdi:transmission-tower"), *meter_cards]})

    for charger in chargers:
        name = _device_name(known[charger])
        model = known[charger].get("model")
        badges = [entity_id for entity_id, _slot in _pick(by_device[charger], CHARGER_BADGES)]
        cards = [_heading(f"{name} ({model})" if model else name, icon="mdi:ev-station", badges=badges)]
        cards += _error_tiles(by_device[charger])
        cards += _tiles(by_device[charger], CHARGER_SLOTS)
        cards += _plan_cards(by_device[charger])
        for child in children[charger]:
            cards.append(_heading(_short_name(_device_name(known[child]), name), icon="mdi:ev-plug-type2", style="subtitle"))
            cards += _tiles(by_device[child], CONNECTOR_SLOTS)
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
    """A member's plan: a subheading, its tiles and the list of its next slots; none without a plan."""
    picked = _pick(entities, PLAN_SLOTS)
    if not picked:
        return []
    state = next(entity_id for entity_id, slot in picked if slot.key == "plan_state")
    return [
        _heading("Charging plan", icon="mdi:calendar-clock", style="subtitle"),
        *(_tile(entity_id, slot) for entity_id, slot in picked),
        {"type": "markdown", "content": PLAN_SLOTS_LIST.replace("ENTITY", state), "grid_options": {"columns": 12}},
    ]


def _meter_label(entity_id: str) -> str:
    """``sensor.grid_power`` → ``Grid power``."""
    text = entity_id.split(".", 1)[-1].replace("_", " ")
    return text[:1].upper() + text[1:]


def dashboard_entities(config: Mapping[str, Any]) -> list[str]:
    """Return every entity id the dashboard shows (tiles, heading badges, conditional cards), in order."""
    found: list[str] = []

    def visit(card: Mapping[str, Any]) -> None:
        if "entity" in card:
            found.append(card["entity"])
        for badge in card.get("badges", []):
            visit(badge)
        if "card" in card:
            visit(card["card"])

    for view in config.get("views", []):
        for section in view.get("sections", []):
            for card in section.get("cards", []):
                visit(card)
    return found


YAML_HEADER = """\
# Example dashboard for knx_evse, generated by scripts/develop from the demo (two chargers, Garage
# VE 742 and Carport VE 222, and a balancing group "House"); scripts/screenshot renders it as
# docs/dashboard.png. To use it: Settings → Dashboards → Add dashboard → New dashboard from scratch,
# open it, edit it (pencil) → ⋮ → Raw configuration editor, paste this and replace the entity ids
# with your own (Settings → Entities). Only built-in cards are used (Home Assistant 2026.2 or later).
"""


def to_yaml(config: Mapping[str, Any]) -> str:
    """Return the dashboard config as commented YAML (the README's example)."""
    body = yaml.safe_dump(dict(config), sort_keys=False, allow_unicode=True, width=110)
    return YAML_HEADER + body


def write_yaml(path: Path, config: Mapping[str, Any]) -> None:
    """Write ``to_yaml(config)`` to ``path`` (creating its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(config))


# -- Home Assistant's websocket API -------------------------------------------------------------


class Websocket:
    """A minimal authenticated client of Home Assistant's websocket API."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated websocket."""
        self.ws = ws
        self._ids = itertools.count(1)

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, base_url: str, token: str) -> Websocket:
        """Open ``/api/websocket`` and authenticate with the access ``token``."""
        ws = await session.ws_connect(f"{base_url}/api/websocket")
        await ws.receive_json()  # auth_required
        await ws.send_json({"type": "auth", "access_token": token})
        reply = await ws.receive_json()
        if reply.get("type") != "auth_ok":
            raise RuntimeError(f"websocket authentication failed: {reply}")
        return cls(ws)

    async def call(self, type_: str, **data: Any) -> Any:
        """Send one command; return its result or raise RuntimeError with Home Assistant's error."""
        ident = next(self._ids)
        await self.ws.send_json({"id": ident, "type": type_, **data})
        while True:
            reply = await self.ws.receive_json()
            if reply.get("id") == ident and reply.get("type") == "result":
                break
        if not reply.get("success"):
            raise RuntimeError(f"{type_}: {reply.get('error')}")
        return reply.get("result")


async def settled_registry(ws: Websocket, limit: float = 120.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait until Home Assistant runs and the integration's entities stop appearing; return both registries.

    Raises TimeoutError when no knx_evse entity appears within ``limit`` seconds.
    """
    deadline = time.monotonic() + limit
    last = -1
    while True:
        config = await ws.call("get_config")
        entities = await ws.call("config/entity_registry/list")
        count = sum(1 for e in entities if e.get("platform") == DOMAIN)
        if config.get("state") == "RUNNING" and count > 0 and count == last:
            devices = await ws.call("config/device_registry/list")
            return entities, devices
        if time.monotonic() > deadline:
            raise TimeoutError(f"no settled knx_evse entities within {limit:.0f} s (last count {count})")
        last = count
        await asyncio.sleep(3)


def meter_entity_ids(entities: Sequence[Mapping[str, Any]], unique_ids: Sequence[str]) -> list[str]:
    """Return the entity ids of the registry entries with ``unique_ids``, in that order."""
    by_unique = {e.get("unique_id"): e["entity_id"] for e in entities}
    return [by_unique[u] for u in unique_ids if u in by_unique]


async def install_dashboard(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    *,
    meter_unique_ids: Sequence[str] = (),
    yaml_path: Path | None = None,
) -> tuple[str, dict[str, Any]]:
    """Build the dashboard from the live registry, save it as ``/ev-charging``, make it the default panel.

    ``meter_unique_ids``: unique ids of the grid meter sensors to show; ``yaml_path``: also write the
    config there as YAML. Return the dashboard's URL and its config.
    """
    ws = await Websocket.connect(session, base_url, token)
    try:
        entities, devices = await settled_registry(ws)
        config = build_dashboard(entities, devices, meters=meter_entity_ids(entities, meter_unique_ids))
        dashboards = await ws.call("lovelace/dashboards/list")
        if not any(d.get("url_path") == URL_PATH for d in dashboards):
            await ws.call(
                "lovelace/dashboards/create",
                url_path=URL_PATH,
                title=TITLE,
                icon="mdi:ev-station",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
        await ws.call("lovelace/config/save", url_path=URL_PATH, config=config)
        await ws.call("frontend/set_system_data", key="core", value={"default_panel": URL_PATH})
    finally:
        await ws.ws.close()
    if yaml_path is not None:
        write_yaml(yaml_path, config)
    return f"{base_url}/{URL_PATH}/{VIEW_PATH}", config
