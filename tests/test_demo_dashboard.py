"""scripts/demo_dashboard.py: registry entries → the demo's Lovelace dashboard (and its YAML)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from demo_dashboard import Meter, build_dashboard, dashboard_entities, hidden_entities, to_yaml

ROOT = Path(__file__).resolve().parent.parent

EN = json.loads((ROOT / "custom_components" / "knx_evse" / "translations" / "en.json").read_text())["entity"]
GRID = Meter("sensor.grid_power", "Grid power", trend=True, history=True)
SOLAR = Meter("sensor.solar_power", "Solar power", history=True)
EXPORT = Meter("sensor.grid_export", "Grid export")
IMPORT = Meter("sensor.grid_import", "Grid import")
CURRENT = Meter("sensor.grid_current", "Grid current")
METERS = [GRID, SOLAR, EXPORT, IMPORT, CURRENT]

CHARGER, CONN1, CONN2, GROUP, OTHER = "dev-charger", "dev-c1", "dev-c2", "dev-group", "dev-other"
CARPORT, CARPORT1 = "dev-carport", "dev-carport-c1"

DEVICES: list[dict[str, Any]] = [
    {"id": CHARGER, "name": "Garage", "name_by_user": None, "model": "VE 742", "via_device_id": None},
    {"id": CONN1, "name": "Garage connector 1", "name_by_user": None, "model": "VE 742", "via_device_id": CHARGER},
    {"id": CONN2, "name": "Garage connector 2", "name_by_user": "Left plug", "model": "VE 742", "via_device_id": CHARGER},
    {"id": GROUP, "name": "House", "name_by_user": None, "model": "Balancing group", "via_device_id": None},
    {"id": OTHER, "name": "Backup", "name_by_user": None, "model": None, "via_device_id": None},
    {"id": CARPORT, "name": "Carport", "name_by_user": None, "model": "VE 221", "via_device_id": None},
    {"id": CARPORT1, "name": "Carport connector 1", "name_by_user": None, "model": "VE 221", "via_device_id": CARPORT},
]


def entry(entity_id: str, device: str, key: str, **extra: Any) -> dict[str, Any]:
    """A registry entry as ``config/entity_registry/list`` returns it (the fields the builder reads)."""
    return {
        "entity_id": entity_id,
        "platform": "knx_evse",
        "device_id": device,
        "translation_key": key,
        "disabled_by": None,
        "hidden_by": None,
        "entity_category": None,
        **extra,
    }


# In the registry's order (platform by platform), not the dashboard's.
ENTITIES: list[dict[str, Any]] = [
    entry("binary_sensor.garage_connector_1_vehicle_connected", CONN1, "vehicle_connected"),
    entry("binary_sensor.garage_connector_1_charging", CONN1, "charging"),
    entry("binary_sensor.garage_connector_1_available", CONN1, "available", entity_category="diagnostic"),
    entry("binary_sensor.house_meter_problem", GROUP, "meter_problem", entity_category="diagnostic"),
    entry("binary_sensor.garage_connector_2_vehicle_connected", CONN2, "vehicle_connected"),
    entry("number.garage_current_limit", CHARGER, "current_limit"),
    entry("number.garage_connector_1_current_limit", CONN1, "current_limit"),
    entry("number.garage_connector_2_current_limit", CONN2, "current_limit"),
    entry("select.garage_connector_1_charge_mode", CONN1, "charge_mode"),
    entry("sensor.garage_active_power", CHARGER, "active_power"),
    entry("sensor.garage_current", CHARGER, "single_phase_current"),
    entry("sensor.garage_error_code", CHARGER, "error_code", entity_category="diagnostic"),
    entry("sensor.garage_connector_1_pilot_state", CONN1, "pilot_state"),
    entry("sensor.garage_connector_1_ocpp_state", CONN1, "ocpp_state"),
    entry("sensor.garage_connector_1_active_power", CONN1, "active_power"),
    entry("sensor.garage_connector_1_session_energy", CONN1, "session_energy"),
    entry("sensor.garage_connector_1_lifetime_energy", CONN1, "lifetime_energy"),
    entry("sensor.garage_connector_1_balancing_limit", CONN1, "assigned_limit"),
    entry("sensor.garage_connector_1_balancing_reason", CONN1, "balancing_reason"),
    entry("sensor.garage_connector_2_ocpp_state", CONN2, "ocpp_state"),
    # Left out: disabled, hidden, another integration's, and one without a device.
    entry("sensor.garage_connector_2_pilot_state", CONN2, "pilot_state", disabled_by="user"),
    entry("sensor.garage_connector_2_active_power", CONN2, "active_power", hidden_by="user"),
    entry("sensor.backup_state", OTHER, "backup_manager_state", platform="backup"),
    entry("sensor.orphan_active_power", None, "active_power"),  # type: ignore[arg-type]
    entry("sensor.house_balancing_state", GROUP, "group_state"),
    entry("sensor.house_available_current", GROUP, "available_current"),
    entry("switch.garage_connector_1_charge", CONN1, "start_stop"),
    entry("switch.garage_connector_1_block", CONN1, "block"),
    entry("switch.house_balancing", GROUP, "group_enabled"),
    # A charger whose total power is not linked: its connector's power is its line in the history.
    entry("sensor.carport_connector_1_active_power", CARPORT1, "active_power"),
    entry("sensor.carport_connector_1_ocpp_state", CARPORT1, "ocpp_state"),
]




def cards(section: dict[str, Any]) -> list[tuple[str, str]]:
    """(card type, heading text or entity id) of a section's cards, in order."""
    out = []
    for card in section["cards"]:
        if card["type"] == "heading":
            out.append(("heading", card["heading"]))
        elif card["type"] == "conditional":
            out.append(("conditional", card["card"]["entity"]))
        elif card["type"] == "history-graph":
            out.append(("history-graph", card["title"]))
        elif card["type"] == "markdown":
            out.append(("markdown", ""))
        else:
            out.append((card["type"], card["entity"]))
    return out


def tiles(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every tile of the dashboard (conditional ones too), by entity id."""
    found = {}
    for section in config["views"][0]["sections"]:
        for outer in section["cards"]:
            card = outer.get("card", outer)
            if card["type"] == "tile":
                found[card["entity"]] = card
    return found


def test_sections_group_entities_by_device_in_a_curated_order() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=METERS)

    (view,) = config["views"]
    assert view["type"] == "sections"
    house, garage, carport = view["sections"]
    assert cards(house) == [
        ("heading", "House"),
        # The grid with its trend, then solar and export side by side: why Solar mode charges or waits.
        ("tile", "sensor.grid_power"),
        ("tile", "sensor.solar_power"),
        ("tile", "sensor.grid_export"),
        ("tile", "sensor.grid_import"),
        ("tile", "sensor.grid_current"),
        ("tile", "sensor.house_available_current"),
        ("tile", "sensor.house_balancing_state"),
        ("tile", "binary_sensor.house_meter_problem"),
        ("tile", "switch.house_balancing"),
        ("history-graph", "History"),
    ]
    assert cards(garage) == [
        ("heading", "Garage (VE 742)"),
        ("conditional", "sensor.garage_error_code"),
        ("tile", "number.garage_current_limit"),
        ("heading", "Connector 1"),
        ("tile", "binary_sensor.garage_connector_1_vehicle_connected"),
        ("tile", "binary_sensor.garage_connector_1_charging"),
        ("tile", "sensor.garage_connector_1_pilot_state"),
        ("tile", "sensor.garage_connector_1_ocpp_state"),
        ("tile", "sensor.garage_connector_1_session_energy"),
        ("tile", "sensor.garage_connector_1_lifetime_energy"),
        ("tile", "select.garage_connector_1_charge_mode"),
        ("tile", "switch.garage_connector_1_charge"),
        # The charger's own limit beside the one the group gives it, then the group's reason.
        ("tile", "number.garage_connector_1_current_limit"),
        ("tile", "sensor.garage_connector_1_balancing_limit"),
        ("tile", "sensor.garage_connector_1_balancing_reason"),
        # The user's name for the device wins; its disabled and hidden entities are left out.
        ("heading", "Left plug"),
        ("tile", "binary_sensor.garage_connector_2_vehicle_connected"),
        ("tile", "sensor.garage_connector_2_ocpp_state"),
        ("tile", "number.garage_connector_2_current_limit"),
    ]
    assert cards(carport) == [
        ("heading", "Carport (VE 221)"),
        ("heading", "Connector 1"),
        ("tile", "sensor.carport_connector_1_ocpp_state"),
    ]
    # Power and current of the charger are its heading's badges; a connector's power is its heading's.
    assert [b["entity"] for b in garage["cards"][0]["badges"]] == ["sensor.garage_active_power", "sensor.garage_current"]
    assert [b["entity"] for b in garage["cards"][3]["badges"]] == ["sensor.garage_connector_1_active_power"]
    assert "badges" not in garage["cards"][-3]  # the hidden power of connector 2


def test_the_history_shows_grid_solar_each_chargers_power_and_the_available_current() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=METERS, history_hours=6)

    (history,) = [c for c in config["views"][0]["sections"][0]["cards"] if c["type"] == "history-graph"]
    assert history["hours_to_show"] == 6
    assert history["entities"] == [
        {"entity": "sensor.grid_power", "name": "Grid power"},
        {"entity": "sensor.solar_power", "name": "Solar power"},
        {"entity": "sensor.garage_active_power", "name": "Garage"},
        # No charger total linked: its connectors' power instead.
        {"entity": "sensor.carport_connector_1_active_power", "name": "Carport connector 1"},
        {"entity": "sensor.house_available_current", "name": "Available current"},
    ]
    assert tiles(config)["sensor.grid_power"]["features"] == [{"type": "trend-graph", "hours_to_show": 6}]
    # The YAML example's default: a day of solar.
    default = build_dashboard(ENTITIES, DEVICES, meters=METERS)["views"][0]["sections"][0]["cards"][-1]
    assert default["hours_to_show"] == 24


def test_tiles_are_named_as_on_the_device_page() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=METERS)
    registry = {e["entity_id"]: e for e in ENTITIES}

    named = 0
    for entity_id, tile in tiles(config).items():
        if entity_id in registry:
            entry = registry[entity_id]
            assert tile["name"] == EN[entity_id.split(".")[0]][entry["translation_key"]]["name"], entity_id
            named += 1
        else:
            assert tile["name"] == next(m.label for m in METERS if m.entity_id == entity_id)
    assert named == len(tiles(config)) - len(METERS)
    names = {tile["name"] for tile in tiles(config).values()}
    # The group's limit cannot be taken for the charger's.
    assert {"Current limit", "Balancing limit", "Balancing state", "Meter problem", "Balancing"} <= names


def test_a_tile_alone_in_its_row_and_long_states_span_the_section() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=METERS)
    width = {entity_id: tile["grid_options"]["columns"] for entity_id, tile in tiles(config).items()}

    # Long states ("Suspended by EV or charger", "Paused: no solar surplus") and long names get a row.
    assert width["sensor.garage_connector_1_pilot_state"] == 12
    assert width["sensor.garage_connector_1_ocpp_state"] == 12
    assert width["sensor.garage_connector_1_balancing_reason"] == 12
    assert width["sensor.house_available_current"] == 12
    assert width["sensor.garage_error_code"] == 12
    # Pairs share a row; one whose partner is missing takes the whole row.
    assert width["number.garage_connector_1_current_limit"] == width["sensor.garage_connector_1_balancing_limit"] == 6
    assert width["number.garage_current_limit"] == 12
    assert width["binary_sensor.garage_connector_2_vehicle_connected"] == 12
    assert width["sensor.solar_power"] == width["sensor.grid_export"] == 6
    assert width["sensor.grid_power"] == 12


def test_controls_get_their_tile_features_and_errors_show_only_while_present() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=[GRID])

    def features(entity_id: str) -> list[str]:
        return [f["type"] for f in tiles(config)[entity_id].get("features", [])]

    assert features("number.garage_connector_1_current_limit") == ["numeric-input"]
    assert features("select.garage_connector_1_charge_mode") == ["select-options"]
    assert features("switch.garage_connector_1_charge") == ["toggle"]
    assert features("switch.house_balancing") == ["toggle"]
    assert features("sensor.grid_power") == ["trend-graph"]
    assert features("sensor.garage_connector_1_pilot_state") == []
    (error,) = [c for c in config["views"][0]["sections"][1]["cards"] if c["type"] == "conditional"]
    assert error["conditions"] == [
        {"condition": "state", "entity": "sensor.garage_error_code", "state_not": ["no_error", "unknown", "unavailable"]}
    ]


def test_without_a_group_the_meters_and_the_history_get_their_own_section() -> None:
    no_group = [e for e in ENTITIES if e["device_id"] != GROUP]
    sections = build_dashboard(no_group, DEVICES, meters=[GRID, SOLAR])["views"][0]["sections"]

    assert cards(sections[0]) == [
        ("heading", "Grid"),
        ("tile", "sensor.grid_power"),
        ("tile", "sensor.solar_power"),
        ("history-graph", "History"),
    ]
    assert [cards(s)[0] for s in sections] == [
        ("heading", "Grid"),
        ("heading", "Garage (VE 742)"),
        ("heading", "Carport (VE 221)"),
    ]
    assert build_dashboard([], DEVICES)["views"][0]["sections"] == []


def test_yaml_round_trips_and_lists_every_entity_once() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=METERS)
    text = to_yaml(config)

    assert text.startswith("# Example dashboard for knx_evse")
    assert yaml.safe_load(text) == config
    shown = dashboard_entities(config)
    # The history repeats the grid, solar, charger power and available current; every other entity once.
    history = {"sensor.grid_power", "sensor.solar_power", "sensor.garage_active_power"}
    history |= {"sensor.carport_connector_1_active_power", "sensor.house_available_current"}
    assert {e for e in shown if shown.count(e) > 1} == history
    assert all(shown.count(e) == 2 for e in history)
    usable = {
        e["entity_id"] for e in ENTITIES if e["platform"] == "knx_evse" and not e["disabled_by"] and not e["hidden_by"]
    }
    # Everything shown is a usable entity of ours (or a meter); left out on purpose: diagnostics
    # and the connector's block switch, and the entity without a device.
    assert set(shown) - {m.entity_id for m in METERS} <= usable
    assert usable - set(shown) == {
        "binary_sensor.garage_connector_1_available",
        "switch.garage_connector_1_block",
        "sensor.orphan_active_power",
    }


async def test_the_demo_provides_solar_power_grid_import_and_export(hass: HomeAssistant, tmp_path: Path) -> None:
    """scripts/develop's Home Assistant: the meters on the dashboard exist, named as labelled, signs right."""
    from demo_homeassistant import write_config
    from develop import DASHBOARD_METERS, GRID_TEMPLATES, meter_sensors

    write_config(
        tmp_path,
        port=8123,
        hub_data={},
        subentries=[],
        meters=meter_sensors(tmp_path / "meter.json"),
        templates=GRID_TEMPLATES,
    )
    configuration = yaml.safe_load((tmp_path / "configuration.yaml").read_text())
    sensors = {s["sensor"]["unique_id"]: s["sensor"] for s in configuration["command_line"]}
    sensors |= {t["unique_id"]: t for block in configuration["template"] for t in block["sensor"]}

    assert [m.entity_id for m in DASHBOARD_METERS if m.history] == ["demo_grid_power", "demo_solar_power"]
    for meter in DASHBOARD_METERS:
        assert sensors[meter.entity_id]["name"] == meter.label
    assert sensors["demo_solar_power"]["value_template"] == "{{ value_json.pv_w }}"
    # The signed grid meter is negative while exporting: import and export are both >= 0.
    imported, exported = (Template(sensors[f"demo_grid_{k}"]["state"], hass) for k in ("import", "export"))
    for power, expected in (("-1500.0", (0.0, 1500.0)), ("2300.0", (2300.0, 0.0))):
        hass.states.async_set("sensor.grid_power", power)
        assert (float(imported.async_render()), float(exported.async_render())) == expected
    hass.states.async_set("sensor.grid_power", "unavailable")
    assert Template(sensors["demo_grid_export"]["availability"], hass).async_render() is False


def test_the_readmes_yaml_is_the_builders_with_solar_export_and_history() -> None:
    """docs/dashboard.yaml, written by scripts/screenshot, is current: header, meters, history."""
    text = (ROOT / "docs" / "dashboard.yaml").read_text()
    config = yaml.safe_load(text)

    assert text == to_yaml(config)  # the builder's header and layout
    shown = dashboard_entities(config)
    assert {"sensor.solar_power", "sensor.grid_export", "sensor.grid_import"} <= set(shown)
    (history,) = [c for c in config["views"][0]["sections"][0]["cards"] if c["type"] == "history-graph"]
    assert history["hours_to_show"] == 24
    assert [e["name"] for e in history["entities"]] == [
        "Grid power",
        "Solar power",
        "Garage",
        "Carport",
        "Available current",
    ]
    names = {EN[domain][key]["name"] for domain in EN for key in EN[domain]} | {m.label for m in METERS}
    assert {entity_id: tile["name"] for entity_id, tile in tiles(config).items() if tile["name"] not in names} == {}


def test_a_member_with_a_plan_shows_its_plan_and_its_next_slots() -> None:
    plan = [entry(f"{domain}.garage_connector_1_{key}", CONN1, key) for domain, key in (
        ("switch", "plan_enabled"), ("sensor", "plan_state"), ("number", "plan_energy"), ("time", "plan_departure"),
        ("select", "plan_repeat"), ("sensor", "planned_energy"), ("sensor", "plan_next_start"),
        ("binary_sensor", "plan_feasible"))]
    config = build_dashboard([*ENTITIES, *plan], DEVICES)
    section = next(s for s in config["views"][0]["sections"] if ("heading", "Garage (VE 742)") in cards(s))
    found = [c for c in section["cards"] if c["type"] != "markdown"]
    names = [c.get("heading") or c.get("entity") for c in found]
    start = names.index("Charging plan")
    rows_order = ["plan_enabled", "plan_feasible", "plan_state", "plan_energy", "plan_departure", "plan_repeat",
                  "planned_energy", "plan_next_start"]  # in rows: on and met, state, energy and departure, ...
    by_key = {e["translation_key"]: e["entity_id"] for e in plan}
    assert names[start + 1:start + 9] == [by_key[key] for key in rows_order]
    (markdown,) = [c for c in section["cards"] if c["type"] == "markdown"]
    assert "state_attr('sensor.garage_connector_1_plan_state', 'slots')" in markdown["content"]
    assert section["cards"].index(markdown) == section["cards"].index(found[start + 8]) + 1
    on = [{"condition": "state", "entity": by_key["plan_enabled"], "state": "on"}]
    hidden = [c.get("entity") or c["type"] for c in section["cards"] if c.get("visibility") == on]
    # what is unknown while the plan is off shows only while it is on; its settings always
    assert hidden == [by_key["plan_feasible"], by_key["planned_energy"], by_key["plan_next_start"], "markdown"]
    results = {by_key["plan_feasible"], by_key["planned_energy"], by_key["plan_next_start"]}
    assert hidden_entities(config, {by_key["plan_enabled"]: "off"}) == results  # no value needed (screenshot)
    assert hidden_entities(config, {by_key["plan_enabled"]: "on"}) == set()
    assert not any(c["type"] == "markdown" for s in build_dashboard(ENTITIES, DEVICES)["views"][0]["sections"]
                   for c in s["cards"])  # no plan entities, no plan cards
