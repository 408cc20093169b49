"""Forecast parsers (group/forecast.py) on recorded shapes (tests/fixtures/forecast, each names its source)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custom_components.knx_evse.balancing import Span
from custom_components.knx_evse.group.forecast import (
    ForecastError,
    attribute_prices,
    gaps,
    nordpool_prices,
    per_kwh,
    solar_forecast,
    tibber_prices,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forecast"


def recorded(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())["data"]


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_nord_pool_action_gives_24_hours_per_kwh() -> None:
    spans = nordpool_prices(recorded("nordpool_get_prices_for_date.json"))
    assert len(spans) == 24
    assert (spans[0].start, spans[0].end) == (at("2024-11-04T23:00:00+00:00"), at("2024-11-05T00:00:00+00:00"))
    assert spans[0].value == pytest.approx(0.25073)  # 250.73 SEK/MWh
    assert max(s.value for s in spans) == pytest.approx(2.51265)  # 2512.65 SEK/MWh at 16:00 UTC
    assert gaps(spans, spans[0].start, spans[-1].end) == []
    assert nordpool_prices(recorded("nordpool_get_prices_for_date.json"), "SE3") == spans


def test_nord_pool_action_needs_an_area_that_is_there() -> None:
    response = recorded("nordpool_get_prices_for_date.json")
    with pytest.raises(ForecastError, match="no prices for area"):
        nordpool_prices(response, "SE4")
    with pytest.raises(ForecastError, match="several areas"):
        nordpool_prices({**response, "SE4": response["SE3"]})
    assert nordpool_prices({"SE3": []}) == ()  # the action's answer when Nord Pool has nothing yet


def test_tibber_action_entries_end_where_the_next_begins() -> None:
    spans = tibber_prices(recorded("tibber_get_prices.json"), "first_home")
    start = datetime(2021, 3, 15, tzinfo=UTC).timestamp()
    assert spans == (Span(start, start + 3600, 0.36914), Span(start + 3600, start + 7200, 0.36914))
    with pytest.raises(ForecastError, match="several homes"):
        tibber_prices(recorded("tibber_get_prices.json"))


def test_tibber_quarter_hours_keep_their_length() -> None:
    entries = [{"start_time": f"2025-10-01T00:{m:02d}:00+02:00", "price": 0.2 + m / 1000} for m in (0, 15, 30)]
    spans = tibber_prices({"prices": {"Home": entries}})
    assert [s.end - s.start for s in spans] == [900.0, 900.0, 900.0]


def test_nord_pool_hacs_attributes_start_end_value() -> None:
    data = recorded("nordpool_hacs_attributes.json")
    spans = attribute_prices(data["raw_today"] + data["raw_tomorrow"], data["unit_of_measurement"])
    assert len(spans) == 48
    assert spans[0].start == at("2022-11-05T00:00:00+01:00")
    assert spans[-1].end == at("2022-11-07T00:00:00+01:00")
    assert min(spans, key=lambda s: s.value).start == at("2022-11-06T03:00:00+01:00")  # 0.1148881 EUR/kWh
    assert gaps(spans, spans[0].start, spans[-1].end) == []


def test_energi_data_service_attributes_hour_price() -> None:
    data = recorded("energidataservice_attributes.json")
    spans = attribute_prices(data["raw_today"] + data["raw_tomorrow"], data["unit_of_measurement"])
    assert len(spans) == 48
    assert spans[17].value == pytest.approx(1.503)  # the evening peak, 17:00-18:00
    assert spans[17].end - spans[17].start == 3600.0


def test_a_forecast_with_missing_hours_shows_its_gap() -> None:
    data = recorded("energidataservice_attributes.json")
    spans = attribute_prices(data["raw_today"][:6] + data["raw_today"][12:], data["unit_of_measurement"])
    # without an end, 05:00 runs to the next start (12:00): the hole is the end of the list
    with_end = attribute_prices(recorded("nordpool_hacs_attributes.json")["raw_today"][:6]
                                + recorded("nordpool_hacs_attributes.json")["raw_today"][12:], "EUR/kWh")
    assert gaps(with_end, with_end[0].start, with_end[-1].end) == [
        (at("2022-11-05T06:00:00+01:00"), at("2022-11-05T12:00:00+01:00"))]
    assert gaps(spans, spans[0].start, spans[-1].end + 3600) == [(spans[-1].end, spans[-1].end + 3600)]


def test_octopus_rates_and_entsoe_prices() -> None:
    octopus = [{"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-01T00:30:00+00:00", "value_inc_vat": 0.1512,
                "is_capped": False}]
    assert attribute_prices(octopus, "GBP/kWh") == (Span(at("2024-01-01T00:00:00+00:00"),
                                                         at("2024-01-01T00:30:00+00:00"), 0.1512),)
    entsoe = [{"time": "2024-01-01T00:00:00+01:00", "price": 0.1}, {"time": "2024-01-01T01:00:00+01:00", "price": 0.2}]
    assert [s.value for s in attribute_prices(entsoe, "€/kWh")] == [0.1, 0.2]


@pytest.mark.parametrize(("unit", "factor"), [("EUR/kWh", 1.0), ("ct/kWh", 1.0), ("SEK/MWh", 0.001),
                                              ("€ / Wh", 1000.0)])
def test_price_units_per_kwh(unit: str, factor: float) -> None:
    assert per_kwh(unit) == factor


@pytest.mark.parametrize("unit", [None, "", "EUR", "kWh", "%", "EUR/kW", "W"])
def test_a_forecast_in_another_unit_is_refused(unit: str | None) -> None:
    with pytest.raises(ForecastError) as err:
        attribute_prices(recorded("nordpool_hacs_attributes.json")["raw_today"], unit)
    assert err.value.key == "forecast_unit"


def test_prices_not_yet_published_are_refused() -> None:
    data = recorded("nordpool_hacs_null_tomorrow.json")
    with pytest.raises(ForecastError) as err:
        attribute_prices(data["raw_tomorrow"], data["unit_of_measurement"])
    assert err.value.key == "forecast_invalid"


@pytest.mark.parametrize(
    "entries",
    [
        "0.2, 0.3",
        [{"start": "2024-01-01T00:00:00", "price": 0.1}],  # no time zone
        [{"start": "soon", "price": 0.1}],
        [{"price": 0.1}],
        [{"start": "2024-01-01T00:00:00+00:00", "price": "0.1"}],
        [{"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-01T00:00:00+00:00", "price": 0.1}],
        [{"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-01T02:00:00+00:00", "price": 0.1},
         {"start": "2024-01-01T01:00:00+00:00", "end": "2024-01-01T03:00:00+00:00", "price": 0.1}],
    ],
)
def test_bad_entries_are_refused(entries: Any) -> None:
    with pytest.raises(ForecastError) as err:
        attribute_prices(entries, "EUR/kWh")
    assert err.value.key == "forecast_invalid"


def test_solar_forecast_watts_per_hour() -> None:
    spans = solar_forecast(recorded("forecast_solar_wh_hours.json"))
    start = at("2021-06-27T01:00:00+00:00")
    assert spans[:2] == (Span(start, start + 3600, 1388.0), Span(start + 3600, start + 7200, 830.0))
    assert spans[-1] == Span(at("2021-06-27T15:00:00+00:00"), at("2021-06-27T16:00:00+00:00"), 292.0)
    sunrise = solar_forecast({"wh_hours": {"2021-06-27T05:30:00+00:00": 100, "2021-06-27T06:00:00+00:00": 900}})
    assert sunrise[0].value == pytest.approx(200.0)  # 100 Wh in half an hour


@pytest.mark.parametrize("response", [None, {}, {"wh_hours": {"2021-06-27T05:00:00+00:00": -5}},
                                      {"wh_hours": {"yesterday": 5}}])
def test_bad_solar_forecasts_are_refused(response: Any) -> None:
    with pytest.raises(ForecastError):
        solar_forecast(response)
