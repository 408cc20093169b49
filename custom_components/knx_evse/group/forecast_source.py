"""Where a group's plans get their forecasts: the price entity's integration, or its attributes, and forecast_solar.

- Prices (:func:`async_prices`), from the group's price entity (the one smart cost reads):
  an entity of Nord Pool asks ``nordpool.get_prices_for_date`` for today and tomorrow (its area from
  the entity's unique id), one of Tibber asks ``tibber.get_prices`` for the next two days (the home
  that has the entity's device name, or the only one), any other gives the start/end/price lists of
  its attributes (``ATTRIBUTE_LISTS``, in the entity's unit). The parsing is ``forecast.py``'s.
- Solar (:func:`async_solar`): the forecast_solar energy platform of every loaded Forecast.Solar
  entry, summed (W per hour).

Each returns the spans and a problem (a translation key: ``forecast_invalid``, ``forecast_unit``,
``forecast_unavailable``) or None; a plan without prices plans the latest grid slots.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util

from ..balancing import Span
from .forecast import ForecastError, attribute_prices, nordpool_prices, solar_forecast, tibber_prices

_LOGGER = logging.getLogger(__name__)

ATTRIBUTE_LISTS: Final = ("raw_today", "raw_tomorrow", "prices", "rates", "prices_today", "prices_tomorrow",
                          "forecast")
"""Attributes holding start/end/price lists (Nord Pool HACS, Energi Data Service, ENTSO-e, Octopus ...)."""
SOLAR_DOMAIN: Final = "forecast_solar"

Result = tuple[tuple[Span, ...], str | None]


def _merge(parts: list[tuple[Span, ...]]) -> tuple[Span, ...]:
    """Join sorted span lists; a span overlapping one already taken is left out (the first list wins)."""
    taken: list[Span] = []
    for span in sorted((s for part in parts for s in part), key=lambda s: s.start):
        if not taken or span.start >= taken[-1].end:
            taken.append(span)
    return tuple(taken)


async def async_prices(hass: HomeAssistant, entity_id: str | None, now: datetime) -> Result:
    """Return the price forecast (per kWh) of ``entity_id`` and a problem, ``((), None)`` without an entity."""
    if not entity_id:
        return (), None
    entry = er.async_get(hass).async_get(entity_id)
    try:
        if entry is not None and entry.platform == "nordpool" and entry.config_entry_id:
            return await _nordpool(hass, entry, now), None
        if entry is not None and entry.platform == "tibber":
            return await _tibber(hass, entry, now), None
        state = hass.states.get(entity_id)
        if state is None:
            return (), "forecast_unavailable"
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        lists = [state.attributes[name] for name in ATTRIBUTE_LISTS if state.attributes.get(name)]
        return _merge([attribute_prices(entries, unit) for entries in lists]), None
    except ForecastError as err:
        _LOGGER.debug("price forecast of %s not used: %s", entity_id, err)
        return (), err.key
    except HomeAssistantError as err:
        _LOGGER.debug("price forecast of %s not available: %s", entity_id, err)
        return (), "forecast_unavailable"


async def _nordpool(hass: HomeAssistant, entry: er.RegistryEntry, now: datetime) -> tuple[Span, ...]:
    today = dt_util.as_local(now).date()
    parts = []
    for day in (today, today + timedelta(days=1)):
        response: Any = await hass.services.async_call(
            "nordpool", "get_prices_for_date", {"config_entry": entry.config_entry_id, "date": day.isoformat()},
            blocking=True, return_response=True,
        )
        areas = [part for part in (entry.unique_id or "").split("-") if part in (response or {})]
        parts.append(nordpool_prices(response, areas[0] if areas else None))
    return _merge(parts)


async def _tibber(hass: HomeAssistant, entry: er.RegistryEntry, now: datetime) -> tuple[Span, ...]:
    start = dt_util.as_local(now).replace(minute=0, second=0, microsecond=0)
    response: Any = await hass.services.async_call(
        "tibber", "get_prices", {"start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat()},
        blocking=True, return_response=True,
    )
    device = dr.async_get(hass).async_get(entry.device_id) if entry.device_id else None
    homes = (response or {}).get("prices") or {}
    home = device.name if device is not None and device.name in homes else None
    return tibber_prices(response, home)


async def async_solar(hass: HomeAssistant) -> Result:
    """Return the summed solar forecast (W per hour) of the loaded Forecast.Solar entries and a problem."""
    entries = [e for e in hass.config_entries.async_entries(SOLAR_DOMAIN) if e.state is ConfigEntryState.LOADED]
    if not entries:
        return (), None
    try:
        platform: Any = await (await async_get_integration(hass, SOLAR_DOMAIN)).async_get_platform("energy")
        totals: dict[float, tuple[float, float]] = {}
        for entry in entries:
            for span in solar_forecast(await platform.async_get_solar_forecast(hass, entry.entry_id)):
                end, watts = totals.get(span.start, (span.end, 0.0))
                totals[span.start] = (end, watts + span.value)
    except ForecastError as err:
        return (), err.key
    except (ImportError, HomeAssistantError) as err:
        _LOGGER.debug("solar forecast not available: %s", err)
        return (), "forecast_unavailable"
    return _merge([tuple(Span(start, end, watts) for start, (end, watts) in sorted(totals.items()))]), None
