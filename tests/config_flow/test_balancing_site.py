"""The balancing-group flow's ``site`` step: the price (smart cost) and the home battery, all optional."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.const import SUBENTRY_BALANCING
from custom_components.knx_evse.group.data import validate_group
from tests.config_flow.helpers import check_translations, config_dir, hub_entry, mock_setup
from tests.config_flow.test_balancing import _add, _next, _start
from tests.group.harness import GARAGE
from tests.knx_harness import charger_subentry

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]

SITE = {
    "price_entity": "sensor.price",
    "price_limit": 0.15,
    "negative_price": True,
    "battery_soc_entity": "sensor.battery_soc",
    "battery_power_entity": "sensor.battery_power",
    "battery_invert": True,
    "priority_soc": 40,
    "buffer_soc": 80,
}


@pytest.fixture
def house(hass: HomeAssistant) -> MockConfigEntry:
    """A hub with Garage, a grid meter, a price, and a battery's SoC (%) and power (kW)."""
    entry = hub_entry(hass)
    _add(hass, entry, charger_subentry("CHG1", "Garage", GARAGE))
    hass.states.async_set("sensor.grid", "1200", {"unit_of_measurement": "W"})
    hass.states.async_set("sensor.price", "0.21", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set("sensor.battery_soc", "55", {"unit_of_measurement": "%", "device_class": "battery"})
    hass.states.async_set("sensor.battery_power", "-1.5", {"unit_of_measurement": "kW", "device_class": "power"})
    hass.states.async_set("sensor.battery_energy", "5", {"unit_of_measurement": "kWh"})
    hass.states.async_set("sensor.battery_current", "5", {"unit_of_measurement": "A"})
    return entry


async def _to_site(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await _start(hass, entry)
    result = await _next(hass, result, name="House", mode="balance")
    result = await _next(hass, result, meter_entities=["sensor.grid"], invert=False)
    result = await _next(hass, result, limit=25, phases="1")
    assert result["step_id"] == "site"
    return result


def _suggested(result: dict[str, Any], name: str) -> Any:
    key = next(k for k in result["data_schema"].schema if k == name)
    return (key.description or {}).get("suggested_value")


async def _finish(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    result = await _next(hass, result, members=["CHG1:1"])
    result = await _next(hass, result, priority=1, max_current=16, mode="solar")
    return await _next(hass, result)


async def test_the_price_and_the_battery_are_stored(hass: HomeAssistant, house: MockConfigEntry) -> None:
    result = await _to_site(hass, house)
    result = await _next(hass, result, **SITE)
    assert result["step_id"] == "members"
    result = await _finish(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert {k: result["data"][k] for k in SITE} == {**SITE, "priority_soc": 40.0, "buffer_soc": 80.0}


async def test_everything_is_optional(hass: HomeAssistant, house: MockConfigEntry) -> None:
    result = await _finish(hass, await _next(hass, await _to_site(hass, house)))
    data = result["data"]
    assert [data[k] for k in SITE] == [None, None, False, None, None, False, None, None]


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"price_limit": 0.2}, {"price_entity": "price_entity_missing"}),
        ({"negative_price": True}, {"price_entity": "price_entity_missing"}),
        ({"battery_soc_entity": "sensor.battery_soc", "priority_soc": 120}, {"priority_soc": "soc_out_of_range"}),
        ({"battery_soc_entity": "sensor.battery_soc", "buffer_soc": -5}, {"buffer_soc": "soc_out_of_range"}),
        ({"priority_soc": 50}, {"battery_soc_entity": "battery_soc_missing"}),
        ({"battery_soc_entity": "sensor.battery_soc", "priority_soc": 60, "buffer_soc": 50},
         {"buffer_soc": "buffer_below_priority"}),
        ({"battery_soc_entity": "sensor.battery_energy"}, {"battery_soc_entity": "battery_soc_unit"}),
        ({"battery_power_entity": "sensor.battery_current"}, {"battery_power_entity": "battery_power_unit"}),
    ],
)
async def test_bad_combinations_are_refused(
    hass: HomeAssistant, house: MockConfigEntry, values: dict[str, Any], errors: dict[str, str]
) -> None:
    result = await _next(hass, await _to_site(hass, house), **values)
    assert result["step_id"] == "site"
    assert result["errors"] == errors


async def test_a_price_that_is_not_numeric_now_is_accepted(hass: HomeAssistant, house: MockConfigEntry) -> None:
    hass.states.async_set("sensor.price", "unavailable")
    result = await _next(hass, await _to_site(hass, house), price_entity="sensor.price", price_limit=0.1)
    assert result["step_id"] == "members"


async def test_the_selectors_offer_fitting_entities(hass: HomeAssistant, house: MockConfigEntry) -> None:
    schema = (await _to_site(hass, house))["data_schema"].schema
    configs = {str(k): v.config for k, v in schema.items() if str(k).endswith("_entity")}
    assert configs["battery_soc_entity"]["filter"] == [{"domain": ["sensor"], "device_class": ["battery"]}]
    assert configs["battery_power_entity"]["filter"] == [{"domain": ["sensor"], "device_class": ["power"]}]
    assert configs["price_entity"]["filter"] == [{"domain": ["sensor", "input_number", "number"]}]


async def test_reconfigure_is_prefilled_and_can_clear(hass: HomeAssistant, house: MockConfigEntry) -> None:
    stored = validate_group({"name": "House", "meter_entities": ["sensor.grid"],
                             "members": [{"charger": "CHG1", "connector": 1, "max_current": 16}], **SITE})
    subentry = _add(hass, house, {"data": stored, "subentry_type": SUBENTRY_BALANCING, "title": "House",
                                  "unique_id": "House", "subentry_id": "GRP"})
    result = await house.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    for _ in range(3):
        result = await _next(hass, result)
    assert result["step_id"] == "site"
    assert _suggested(result, "price_entity") == "sensor.price"
    assert _suggested(result, "price_limit") == 0.15
    assert _suggested(result, "buffer_soc") == 80.0
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"price_entity": "sensor.price", "price_limit": 0.1, "negative_price": False,
                            "battery_invert": False},  # the battery fields emptied
    )
    result = await _next(hass, result)
    result = await _next(hass, result)
    result = await _next(hass, result)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"
    data = house.subentries["GRP"].data
    assert (data["price_limit"], data["battery_soc_entity"], data["priority_soc"], data["buffer_soc"]) == (
        0.1, None, None, None)
