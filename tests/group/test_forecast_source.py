"""Where plans get their forecasts (group/forecast_source.py): Nord Pool's and Tibber's actions, attributes, forecast_solar.

The actions answer with the recorded responses of tests/fixtures/forecast.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, SupportsResponse
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.group.forecast_source import async_prices, async_solar

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forecast"
NOW = datetime.fromisoformat("2024-11-05T12:00:00+00:00")


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["data"]


def answer(hass: HomeAssistant, domain: str, service: str, response: Any, calls: list[dict[str, Any]]) -> None:
    async def handler(call: ServiceCall) -> Any:
        calls.append(dict(call.data))
        if isinstance(response, Exception):
            raise response
        return response

    hass.services.async_register(domain, service, handler, supports_response=SupportsResponse.ONLY)


async def test_a_nord_pool_price_entity_asks_its_action_for_today_and_tomorrow(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain="nordpool")
    entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create("sensor", "nordpool", "SE3-current_price", config_entry=entry,
                                           suggested_object_id="nord_pool_se3")
    calls: list[dict[str, Any]] = []
    answer(hass, "nordpool", "get_prices_for_date", recorded("nordpool_get_prices_for_date.json"), calls)
    spans, problem = await async_prices(hass, "sensor.nord_pool_se3", NOW)
    assert problem is None
    assert len(spans) == 24 and spans[6].value == pytest.approx(0.99628)  # the same day twice: each hour once
    assert [c["date"] for c in calls] == ["2024-11-05", "2024-11-06"]
    assert all(c["config_entry"] == entry.entry_id for c in calls)


async def test_a_tibber_price_entity_asks_for_its_home(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain="tibber")
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(config_entry_id=entry.entry_id, identifiers={("tibber", "h2")},
                                                    name="second_home")
    er.async_get(hass).async_get_or_create("sensor", "tibber", "h2-price", config_entry=entry, device_id=device.id,
                                           suggested_object_id="electricity_price_second_home")
    calls: list[dict[str, Any]] = []
    answer(hass, "tibber", "get_prices", recorded("tibber_get_prices.json"), calls)
    spans, problem = await async_prices(hass, "sensor.electricity_price_second_home", NOW)
    assert problem is None and len(spans) == 2 and spans[0].value == 0.36914
    assert calls[0]["start"] < calls[0]["end"]


async def test_an_entity_with_price_attributes_and_its_problems(hass: HomeAssistant) -> None:
    data = recorded("energidataservice_attributes.json")
    hass.states.async_set("sensor.eds", "0.5", data)
    spans, problem = await async_prices(hass, "sensor.eds", NOW)
    assert problem is None and len(spans) == 48
    hass.states.async_set("sensor.eds", "0.5", {**data, "unit_of_measurement": "DKK"})
    assert await async_prices(hass, "sensor.eds", NOW) == ((), "forecast_unit")
    assert await async_prices(hass, "sensor.gone", NOW) == ((), "forecast_unavailable")
    assert await async_prices(hass, None, NOW) == ((), None)
    null = recorded("nordpool_hacs_null_tomorrow.json")
    hass.states.async_set("sensor.np", "1.0", null)
    assert await async_prices(hass, "sensor.np", NOW) == ((), "forecast_invalid")


async def test_an_action_that_fails_leaves_the_plan_without_prices(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain="nordpool")
    entry.add_to_hass(hass)
    er.async_get(hass).async_get_or_create("sensor", "nordpool", "SE3-current_price", config_entry=entry,
                                           suggested_object_id="nord_pool_se3")
    answer(hass, "nordpool", "get_prices_for_date", HomeAssistantError("no connection"), [])
    assert await async_prices(hass, "sensor.nord_pool_se3", NOW) == ((), "forecast_unavailable")


async def test_solar_comes_from_every_loaded_forecast_solar_entry(hass: HomeAssistant) -> None:
    assert await async_solar(hass) == ((), None)  # none configured
    first, second = MockConfigEntry(domain="forecast_solar"), MockConfigEntry(domain="forecast_solar")
    for entry in (first, second):
        entry.add_to_hass(hass)
        entry.mock_state(hass, ConfigEntryState.LOADED)
    forecasts = {first.entry_id: recorded("forecast_solar_wh_hours.json"),
                 second.entry_id: {"wh_hours": {"2021-06-27T01:00:00+00:00": 100}}}

    async def forecast(_hass: HomeAssistant, entry_id: str) -> Any:
        return forecasts[entry_id]

    integration = SimpleNamespace(async_get_platform=lambda _name: _platform(forecast))
    with patch("custom_components.knx_evse.group.forecast_source.async_get_integration", return_value=integration):
        spans, problem = await async_solar(hass)
    for entry in (first, second):
        entry.mock_state(hass, ConfigEntryState.NOT_LOADED)  # (the library behind it is not installed)
    assert problem is None
    assert [s.value for s in spans] == [1488.0, 830.0, 0.0, 292.0]  # the first hour of both summed


async def _platform(forecast: Any) -> Any:
    return SimpleNamespace(async_get_solar_forecast=forecast)
