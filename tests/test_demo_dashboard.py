"""scripts/demo_dashboard.py: registry entries → the demo's Lovelace dashboard (and its YAML)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from demo_dashboard import build_dashboard, dashboard_entities, to_yaml

CHARGER, CONN1, CONN2, GROUP, OTHER = "dev-charger", "dev-c1", "dev-c2", "dev-group", "dev-other"

DEVICES: list[dict[str, Any]] = [
    {"id": CHARGER, "name": "Garage", "name_by_user": None, "model": "VE 742", "via_device_id": None},
    {"id": CONN1, "name": "Garage connector 1", "name_by_user": None, "model": "VE 742", "via_device_id": CHARGER},
    {"id": CONN2, "name": "Garage connector 2", "name_by_user": "Left plug", "model": "VE 742", "via_device_id": CHARGER},
    {"id": GROUP, "name": "House", "name_by_user": None, "model": "Balancing group", "via_device_id": None},
    {"id": OTHER, "name": "Backup", "name_by_user": None, "model": None, "via_device_id": None},
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
    entry("sensor.garage_connector_1_assigned_limit", CONN1, "assigned_limit"),
    entry("sensor.garage_connector_1_balancing_reason", CONN1, "balancing_reason"),
    entry("sensor.garage_connector_2_ocpp_state", CONN2, "ocpp_state"),
    # Left out: disabled, hidden, another integration's, and one without a device.
    entry("sensor.garage_connector_2_pilot_state", CONN2, "pilot_state", disabled_by="user"),
    entry("sensor.garage_connector_2_active_power", CONN2, "active_power", hidden_by="user"),
    entry("sensor.backup_state", OTHER, "backup_manager_state", platform="backup"),
    entry("sensor.orphan_active_power", None, "active_power"),  # type: ignore[arg-type]
    entry("sensor.house_state", GROUP, "group_state"),
    entry("sensor.house_available_current", GROUP, "available_current"),
    entry("switch.garage_connector_1_charge", CONN1, "start_stop"),
    entry("switch.garage_connector_1_block", CONN1, "block"),
    entry("switch.house_balancing", GROUP, "group_enabled"),
]


def cards(section: dict[str, Any]) -> list[tuple[str, str]]:
    """(card type, heading text or entity id) of a section's cards, in order."""
    out = []
    for card in section["cards"]:
        if card["type"] == "heading":
            out.append(("heading", card["heading"]))
        elif card["type"] == "conditional":
            out.append(("conditional", card["card"]["entity"]))
        elif card["type"] == "markdown":
            out.append(("markdown", ""))
        else:
            out.append((card["type"], card["entity"]))
    return out


def test_sections_group_entities_by_device_in_a_curated_order() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=["sensor.grid_power", "sensor.grid_current"])

    (view,) = config["views"]
    assert view["type"] == "sections"
    house, garage = view["sections"]
    assert cards(house) == [
        ("heading", "House"),
        ("tile", "sensor.grid_power"),
        ("tile", "sensor.grid_current"),
        ("tile", "sensor.house_state"),
        ("tile", "sensor.house_available_current"),
        ("tile", "switch.house_balancing"),
        ("tile", "binary_sensor.house_meter_problem"),
    ]
    assert cards(garage) == [
        ("heading", "Garage (VE 742)"),
        ("conditional", "sensor.garage_error_code"),
        ("tile", "number.garage_current_limit"),
        ("heading", "Connector 1"),
        ("tile", "sensor.garage_connector_1_pilot_state"),
        ("tile", "sensor.garage_connector_1_ocpp_state"),
        ("tile", "binary_sensor.garage_connector_1_vehicle_connected"),
        ("tile", "binary_sensor.garage_connector_1_charging"),
        ("tile", "sensor.garage_connector_1_active_power"),
        ("tile", "sensor.garage_connector_1_session_energy"),
        ("tile", "sensor.garage_connector_1_lifetime_energy"),
        ("tile", "sensor.garage_connector_1_assigned_limit"),
        ("tile", "number.garage_connector_1_current_limit"),
        ("tile", "select.garage_connector_1_charge_mode"),
        ("tile", "switch.garage_connector_1_charge"),
        ("tile", "sensor.garage_connector_1_balancing_reason"),
        # The user's name for the device wins; its disabled and hidden entities are left out.
        ("heading", "Left plug"),
        ("tile", "sensor.garage_connector_2_ocpp_state"),
        ("tile", "number.garage_connector_2_current_limit"),
    ]
    # Power and current of the charger are its heading's badges.
    assert [b["entity"] for b in garage["cards"][0]["badges"]] == ["sensor.garage_active_power", "sensor.garage_current"]


def test_controls_get_their_tile_features_and_errors_show_only_while_present() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=["sensor.grid_power"])
    tiles = {
        card["entity"]: card
        for section in config["views"][0]["sections"]
        for card in section["cards"]
        if card["type"] == "tile"
    }

    def features(entity_id: str) -> list[str]:
        return [f["type"] for f in tiles[entity_id].get("features", [])]

    assert features("number.garage_connector_1_current_limit") == ["numeric-input"]
    assert features("select.garage_connector_1_charge_mode") == ["select-options"]
    assert features("switch.garage_connector_1_charge") == ["toggle"]
    assert features("switch.house_balancing") == ["toggle"]
    assert features("sensor.grid_power") == ["trend-graph"]
    assert features("sensor.garage_connector_1_pilot_state") == []
    assert tiles["sensor.garage_connector_1_lifetime_energy"]["name"] == "Lifetime energy"
    (error,) = [c for c in config["views"][0]["sections"][1]["cards"] if c["type"] == "conditional"]
    assert error["conditions"] == [
        {"condition": "state", "entity": "sensor.garage_error_code", "state_not": ["no_error", "unknown", "unavailable"]}
    ]


def test_without_a_group_the_meters_get_their_own_section() -> None:
    no_group = [e for e in ENTITIES if e["device_id"] != GROUP]
    sections = build_dashboard(no_group, DEVICES, meters=["sensor.grid_power"])["views"][0]["sections"]

    assert cards(sections[0]) == [("heading", "Grid"), ("tile", "sensor.grid_power")]
    assert [cards(s)[0] for s in sections] == [("heading", "Grid"), ("heading", "Garage (VE 742)")]
    assert build_dashboard([], DEVICES)["views"][0]["sections"] == []


def test_yaml_round_trips_and_lists_every_entity_once() -> None:
    config = build_dashboard(ENTITIES, DEVICES, meters=["sensor.grid_power"])
    text = to_yaml(config)

    assert text.startswith("# Example dashboard for knx_evse")
    assert yaml.safe_load(text) == config
    shown = dashboard_entities(config)
    assert len(shown) == len(set(shown))
    usable = {
        e["entity_id"] for e in ENTITIES if e["platform"] == "knx_evse" and not e["disabled_by"] and not e["hidden_by"]
    }
    # Everything shown is a usable entity of ours (or the meter); left out on purpose: diagnostics
    # and the connector's block switch, and the entity without a device.
    assert set(shown) - {"sensor.grid_power"} <= usable
    assert usable - set(shown) == {
        "binary_sensor.garage_connector_1_available",
        "switch.garage_connector_1_block",
        "sensor.orphan_active_power",
    }


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
    assert names[start + 1:start + 9] == [e["entity_id"] for e in plan]
    (markdown,) = [c for c in section["cards"] if c["type"] == "markdown"]
    assert "state_attr('sensor.garage_connector_1_plan_state', 'slots')" in markdown["content"]
    assert section["cards"].index(markdown) == section["cards"].index(found[start + 8]) + 1
    assert not any(c["type"] == "markdown" for s in build_dashboard(ENTITIES, DEVICES)["views"][0]["sections"]
                   for c in s["cards"])  # no plan entities, no plan cards
