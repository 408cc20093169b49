"""Blueprints in blueprints/automation/knx_evse/: they load, and automations made from them drive the charger.

Each behavioural test sets up a charger through the faked KNX interface, creates an automation from the
blueprint with inputs, changes states and moves time, and asserts the KNX telegrams our entities send
(so the blueprint's actions really reached the knx_evse switch and number, or a balancing group's actions).
Static tests read the files: minimum Home Assistant version, README import links, group actions.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint import BlueprintException
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import async_fire_time_changed, async_mock_service
from xknx.telegram.apci import GroupValueWrite

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.group.group import BalancingGroup
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.group.harness import CONN1, FAST, plug, sent, set_meter, setup_group
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, entity_id, ga, hub_entry

pytestmark = pytest.mark.usefixtures("no_unanswered_reads_check")

ROOT = Path(__file__).parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / "knx_evse"
CURRENT_LIMIT, CHARGE, PLUG, SESSION_ENERGY = 31, 33, 36, 46
GRID = "sensor.grid_power"
PRICE = "sensor.electricity_price"


@pytest.fixture(autouse=True)
def no_idle_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minutes pass in these tests: keep the hub's idle-connection probe (if it has one) out of the telegrams.

    The faked charger never answers a read, so the coordinator's liveness reads and staleness
    (tests/faults/test_stale.py) are switched off too: these tests are about the blueprints.
    """
    monkeypatch.setattr(KnxEvseHub, "idle_probe_after", 1e9, raising=False)
    monkeypatch.setattr(ChargerCoordinator, "liveness_after", 1e9)
    monkeypatch.setattr(ChargerCoordinator, "answer_timeout", 1e9)


@pytest.fixture
def blueprint_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A private config dir holding our blueprints where Home Assistant looks for them."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "knx_evse"
    shutil.copytree(BLUEPRINTS, target)
    return target


async def charger(hass: HomeAssistant, knx: KnxTestKit) -> dict[str, str]:
    """A VE 742 whose objects are all linked; the entity ids of connector 1's entities."""
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    return {
        "switch": entity_id(hass, "switch", "CHG1_conn1_start_stop"),
        "number": entity_id(hass, "number", "CHG1_conn1_current_limit"),
        "plug": entity_id(hass, "binary_sensor", "CHG1_conn1_vehicle_connected"),
        "energy": entity_id(hass, "sensor", "CHG1_conn1_session_energy"),
    }


@pytest.fixture(autouse=True)
async def turn_off_automations(hass: HomeAssistant) -> AsyncGenerator[None]:
    """Turn the test's automations off at the end, so that no time-pattern timer outlives the test."""
    yield
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call("automation", "turn_off", {"entity_id": "all"}, blocking=True)


async def automation(hass: HomeAssistant, path: str, inputs: dict[str, Any]) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"alias": "knx_evse test", "use_blueprint": {"path": path, "input": inputs}}},
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.knx_evse_test")
    assert state is not None and state.state == "on", "the automation did not validate"


async def grid(hass: HomeAssistant, watts: str) -> None:
    """Set the grid power sensor and let the triggers see it before time moves on."""
    hass.states.async_set(GRID, watts, {"unit_of_measurement": "W", "device_class": "power"})
    await hass.async_block_till_done()


def amps(value: float) -> tuple[int, ...]:
    return tuple(struct.pack(">f", value))


async def writes(knx: KnxTestKit) -> list[tuple[int, Any]]:
    """(object number, value) of every GroupValueWrite sent since the last call (objects at 1/0/<n>)."""
    result = []
    for telegram in await knx.take():
        assert isinstance(telegram.payload, GroupValueWrite), telegram
        number = int(str(telegram.destination_address).split("/")[2])
        result.append((number, telegram.payload.value.value))
    return result


def clock(hass: HomeAssistant, freezer: FrozenDateTimeFactory, knx: KnxTestKit) -> Callable[[int], Any]:
    async def minutes(count: int = 1) -> None:
        for _ in range(count):
            freezer.tick(timedelta(minutes=1))
            async_fire_time_changed(hass)
            await knx.flush()

    return minutes


async def test_every_blueprint_loads(hass: HomeAssistant, blueprint_dir: Path) -> None:
    blueprints = await async_get_blueprints(hass).async_get_blueprints()
    ours = {path: bp for path, bp in blueprints.items() if path.startswith("knx_evse/")}
    assert sorted(ours) == [
        "knx_evse/cheap_tariff_charging.yaml",
        "knx_evse/session_end_notification.yaml",
        "knx_evse/solar_surplus_charging.yaml",
    ]
    for path, blueprint in ours.items():
        assert not isinstance(blueprint, BlueprintException), (path, blueprint)
        assert blueprint is not None and blueprint.domain == "automation"
        assert blueprint.metadata["name"].startswith("KNX EV charger")
        assert blueprint.metadata["input"], path


def _yaml(path: Path) -> dict[str, Any]:
    """A blueprint file read by Home Assistant's YAML loader (``!input`` stays an ``Input``)."""
    return dict(load_yaml_dict(path))


def _actions(node: Any) -> list[str]:
    """Every ``action:`` name anywhere in ``node``."""
    if isinstance(node, dict):
        own = [node["action"]] if isinstance(node.get("action"), str) else []
        return own + [name for value in node.values() for name in _actions(value)]
    if isinstance(node, list):
        return [name for value in node for name in _actions(value)]
    return []


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@pytest.mark.parametrize("path", sorted(BLUEPRINTS.glob("*.yaml")), ids=lambda path: path.name)
def test_blueprint_declares_a_min_version_we_support(path: Path) -> None:
    oldest = json.loads((ROOT / "hacs.json").read_text())["homeassistant"]
    min_version = _yaml(path)["blueprint"]["homeassistant"]["min_version"]
    assert _version("2026.2.0") <= _version(min_version) <= _version(oldest)


@pytest.mark.parametrize("path", sorted(BLUEPRINTS.glob("*.yaml")), ids=lambda path: path.name)
def test_readme_has_an_import_link_for_the_blueprint(path: Path) -> None:
    repository = json.loads((ROOT / "custom_components" / "knx_evse" / "manifest.json").read_text())["documentation"]
    owner_name = repository.removeprefix("https://github.com/")
    raw = f"https://raw.githubusercontent.com/{owner_name}/main/{path.relative_to(ROOT).as_posix()}"
    link = f"https://my.home-assistant.io/redirect/blueprint_import/?blueprint_url={quote(raw, safe='')}"
    readme = (ROOT / "README.md").read_text()
    blueprints_section = readme.split("## Blueprints", 1)[1].split("\n## ", 1)[0]
    assert link in blueprints_section
    assert _yaml(path)["blueprint"]["source_url"] == f"{repository}/blob/main/{path.relative_to(ROOT).as_posix()}"


@pytest.mark.parametrize("path", sorted(BLUEPRINTS.glob("*.yaml")), ids=lambda path: path.name)
def test_a_blueprint_that_writes_a_charger_has_the_balancing_group_way_too(path: Path) -> None:
    actions = set(_actions(_yaml(path)["actions"]))
    if "number.set_value" in actions:
        assert "knx_evse.set_current_limit" in actions
    if actions & {"switch.turn_on", "switch.turn_off"}:
        assert "knx_evse.set_charge_mode" in actions


def test_solar_blueprint_says_when_the_built_in_solar_mode_is_better() -> None:
    description = _yaml(BLUEPRINTS / "solar_surplus_charging.yaml")["blueprint"]["description"]
    assert "balancing group" in description and "Solar" in description and "Min+Solar" in description


async def _solar_surplus(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, start: str, **inputs: Any
) -> tuple[dict[str, str], Callable[[int], Any]]:
    """The solar-surplus blueprint on a charger from ``start`` (UTC, HH:MM:SS), grid at 0 W.

    Inputs: start at 1400 W export for 5 min, 6-16 A, plus ``inputs``. Returns the charger's
    entities and the minute clock.
    """
    freezer.move_to(f"2026-06-01 {start}+00:00")
    entities = await charger(hass, knx)
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W", "device_class": "power"})
    await automation(
        hass,
        "knx_evse/solar_surplus_charging.yaml",
        {
            "grid_power": GRID,
            "charge_switch": entities["switch"],
            "current_limit": entities["number"],
            "start_export": 1400,
            "start_delay": 5,
            "min_current": 6,
            "max_current": 16,
            **inputs,
        },
    )
    return entities, clock(hass, freezer, knx)


async def test_solar_surplus_starts_follows_and_stops(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    entities, minutes = await _solar_surplus(hass, knx, freezer, "12:00:30", stop_import=500, stop_delay=3)

    await grid(hass, "-2530")  # 2530 W export
    await minutes(4)
    assert await writes(knx) == []  # not for 5 minutes yet
    await minutes(1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(11.0)), (CHARGE, 1)]  # 2530 W / 230 V → 11 A
    assert hass.states.get(entities["switch"]).state == "on"

    await grid(hass, "-500")  # still 500 W exported: +2 A
    await minutes(1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(13.0))]
    await grid(hass, "-5000")  # capped at the maximum
    await minutes(1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(16.0))]
    await minutes(1)
    assert await writes(knx) == []  # already at the maximum: nothing resent

    await grid(hass, "900")  # importing 900 W: −3.9 A a minute
    await minutes(1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(12.0))]
    await minutes(1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(8.0))]
    await minutes(1)  # the import has lasted 3 minutes: stop (and the current stays at the minimum)
    assert sorted(await writes(knx)) == [(CURRENT_LIMIT, amps(6.0)), (CHARGE, 0)]
    await minutes(2)
    assert await writes(knx) == []  # stopped: no more adjustments


async def test_solar_surplus_does_not_follow_within_20_s_of_the_start(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    # Started at 12:05:50: the grid reading does not show the car yet, so the minute pattern at
    # 12:06:00 must not raise the limit on it; the one at 12:07:00 follows the surplus.
    _, minutes = await _solar_surplus(hass, knx, freezer, "12:00:50")
    await grid(hass, "-2530")  # 2530 W export from 12:00:50: the start is due at 12:05:50
    await minutes(5)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(11.0)), (CHARGE, 1)]
    freezer.tick(timedelta(seconds=15))  # 12:06:05, past the 12:06:00 pattern
    async_fire_time_changed(hass)
    await knx.flush()
    assert await writes(knx) == []
    await minutes(1)  # 12:07:05, past the 12:07:00 pattern: 11 A + 2531 W / 230 V, capped at 16 A
    assert await writes(knx) == [(CURRENT_LIMIT, amps(16.0))]


async def test_cheap_tariff_starts_when_cheap_and_plugged_stops_when_expensive(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path
) -> None:
    entities = await charger(hass, knx)
    hass.states.async_set(PRICE, "0.30", {"unit_of_measurement": "EUR/kWh"})
    await automation(
        hass,
        "knx_evse/cheap_tariff_charging.yaml",
        {
            "price": PRICE,
            "max_price": 0.15,
            "charge_switch": entities["switch"],
            "vehicle_connected": entities["plug"],
            "current_limit": entities["number"],
            "charge_current": 10,
        },
    )
    hass.states.async_set(PRICE, "0.10")
    await knx.flush()
    assert await writes(knx) == []  # cheap, but no vehicle

    await knx.receive_write(ga(PLUG), 1)
    assert await writes(knx) == [(CURRENT_LIMIT, amps(10.0)), (CHARGE, 1)]
    hass.states.async_set(PRICE, "0.12")
    await knx.flush()
    assert await writes(knx) == []  # still cheap, already charging

    hass.states.async_set(PRICE, "0.40")
    await knx.flush()
    assert await writes(knx) == [(CHARGE, 0)]
    hass.states.async_set(PRICE, "0.05")
    await knx.flush()
    assert await writes(knx) == [(CURRENT_LIMIT, amps(10.0)), (CHARGE, 1)]


async def test_cheap_tariff_without_optional_inputs(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path
) -> None:
    entities = await charger(hass, knx)
    hass.states.async_set(PRICE, "0.30")
    await automation(
        hass,
        "knx_evse/cheap_tariff_charging.yaml",
        {"price": PRICE, "max_price": 0.15, "charge_switch": entities["switch"]},
    )
    hass.states.async_set(PRICE, "0.15")  # at the threshold: not below it
    await knx.flush()
    assert await writes(knx) == []
    hass.states.async_set(PRICE, "0.149")
    await knx.flush()
    assert await writes(knx) == [(CHARGE, 1)]  # no current limit chosen: only start


async def test_session_end_notification_with_energy_and_duration(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-06-01 18:00:00+00:00")
    entities = await charger(hass, knx)
    calls = async_mock_service(hass, "test", "notify")
    await automation(
        hass,
        "knx_evse/session_end_notification.yaml",
        {
            "vehicle_connected": entities["plug"],
            "session_energy": entities["energy"],
            "min_energy": 0.5,
            "notify": [
                {"action": "test.notify", "data": {"message": "{{ message }}", "energy": "{{ energy_kwh }}"}}
            ],
        },
    )
    await knx.receive_write(ga(PLUG), 1)
    freezer.tick(timedelta(hours=2, minutes=5))
    await knx.receive_write(ga(SESSION_ENERGY), (0x00, 0x00, 0x30, 0x39))  # 12345 Wh
    await knx.receive_write(ga(PLUG), 0)
    await hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data["energy"] == 12.35
    # Named by the connector's device, not by its plug sensor's name.
    assert calls[0].data["message"] == "Garage connector 1: session ended, 12.35 kWh in 2:05 h."

    # a session below the minimum energy is not notified
    await knx.receive_write(ga(PLUG), 1)
    await knx.receive_write(ga(SESSION_ENERGY), (0x00, 0x00, 0x01, 0xF4))  # 500 Wh = 0.5 kWh: notified
    await knx.receive_write(ga(PLUG), 0)
    await knx.receive_write(ga(PLUG), 1)
    await knx.receive_write(ga(SESSION_ENERGY), (0x00, 0x00, 0x00, 0x32))  # 50 Wh: not notified
    await knx.receive_write(ga(PLUG), 0)
    await hass.async_block_till_done()
    assert [call.data["energy"] for call in calls] == [12.35, 0.5]


async def test_session_end_default_is_a_persistent_notification(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path
) -> None:
    entities = await charger(hass, knx)
    assert await async_setup_component(hass, "persistent_notification", {})
    await automation(
        hass,
        "knx_evse/session_end_notification.yaml",
        {"vehicle_connected": entities["plug"], "session_energy": entities["energy"]},
    )
    await knx.receive_write(ga(PLUG), 1)
    await knx.receive_write(ga(SESSION_ENERGY), (0x00, 0x00, 0x1B, 0x58))  # 7000 Wh
    await knx.receive_write(ga(PLUG), 0)
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert [n["title"] for n in notifications.values()] == ["Charging session ended"]
    assert "7.0 kWh" in next(iter(notifications.values()))["message"]



async def _member(hass: HomeAssistant, knx: KnxTestKit) -> BalancingGroup:
    """Connector 1 of the Garage alone in a 25 A balancing group, a vehicle plugged in."""
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], **FAST)
    await plug(knx, 1, 1, 0.0)
    await sent(knx)
    assert group.mode_of(0) == "fast"
    return group


MEMBER_MODE = "select.garage_connector_1_charge_mode"


async def test_cheap_tariff_on_a_member_uses_the_group_actions(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path
) -> None:
    group = await _member(hass, knx)
    hass.states.async_set(PRICE, "0.10")
    await automation(
        hass,
        "knx_evse/cheap_tariff_charging.yaml",
        {"price": PRICE, "max_price": 0.15, "charge_mode": MEMBER_MODE, "current_limit": "number.x", "charge_current": 10},
    )
    hass.states.async_set(PRICE, "0.40")
    await knx.flush()
    assert group.mode_of(0) == "off"  # the mode, not a pause of the Charge switch
    assert await sent(knx) == [("1/0/33", False)]
    set_meter(hass, 1000)  # reported again, as a meter does: a start counts on a reading after the last one
    hass.states.async_set(PRICE, "0.05")
    await knx.flush()
    assert group.mode_of(0) == "fast" and group.members[0].override == 10.0
    # mode Fast runs a round at once (the member's 16 A), the override follows it
    assert await sent(knx) == [("1/0/31", 16.0), ("1/0/33", True), ("1/0/31", 10.0)]


async def test_solar_surplus_on_a_member_uses_the_group_actions(
    hass: HomeAssistant, knx: KnxTestKit, blueprint_dir: Path, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2026-06-01 12:00:30+00:00")
    group = await _member(hass, knx)
    hass.states.async_set(GRID, "0", {"unit_of_measurement": "W", "device_class": "power"})
    await automation(
        hass,
        "knx_evse/solar_surplus_charging.yaml",
        {"grid_power": GRID, "charge_mode": MEMBER_MODE, "stop_import": 500, "stop_delay": 1, "start_delay": 1},
    )

    minutes = clock(hass, freezer, knx)

    await grid(hass, "900")  # importing: the member's mode goes off
    await minutes(1)
    assert group.mode_of(0) == "off"
    await grid(hass, "-2530")  # exporting 2530 W: mode fast with 11 A
    await minutes(1)
    assert group.mode_of(0) == "fast" and group.members[0].override == 11.0
    await grid(hass, "-500")  # still 500 W exported: +2 A
    await minutes(1)
    assert group.members[0].override == 13.0
    await sent(knx)
