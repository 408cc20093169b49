"""Price and solar forecasts from the shapes Home Assistant integrations publish, as the planner's spans.

Pure functions on the recorded shapes (no Home Assistant call); each returns ``balancing.Span``s in
Unix seconds, sorted, prices per kWh and solar in W, or raises :class:`ForecastError` with a
translation key (``forecast_invalid``, ``forecast_unit``):

- :func:`nordpool_prices`: the response of Nord Pool's ``nordpool.get_prices_for_date``:
  ``{"SE3": [{"start": iso, "end": iso, "price": <currency>/MWh}, ...]}`` (one list per area);
- :func:`tibber_prices`: the response of Tibber's ``tibber.get_prices``:
  ``{"prices": {"<home>": [{"start_time": iso, "price": <currency>/kWh}, ...]}}``; an entry ends
  where the next begins (the last lasts as long as the one before it, one hour when alone);
- :func:`attribute_prices`: a list of entries as several price integrations publish in an
  attribute: a start (``start``, ``start_time``, ``time``, ``hour`` or ``from``), an optional end
  (``end``, ``end_time``, ``till`` or ``to``; else as for Tibber) and a price (``price``,
  ``value``, ``value_inc_vat`` or ``total``): Nord Pool's HACS ``raw_today``/``raw_tomorrow``,
  Energi Data Service's ``raw_today``/``forecast``, ENTSO-e's ``prices``, Octopus Energy's ``rates``;
  its unit is the entity's ``unit_of_measurement`` (:func:`per_kwh`);
- :func:`solar_forecast`: the forecast_solar energy platform's ``async_get_solar_forecast``:
  ``{"wh_hours": {iso: Wh}}``, each the energy of the period from that time to the next one, at most
  an hour (the first of a day may start at sunrise); missing hours are 0.

:func:`gaps` lists where a forecast leaves time uncovered: the planner treats that time as of
unknown price; the group shows it as a reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from ..balancing import Span

START_KEYS: Final = ("start", "start_time", "time", "hour", "from")
END_KEYS: Final = ("end", "end_time", "till", "to")
PRICE_KEYS: Final = ("price", "value", "value_inc_vat", "total")
DEFAULT_LENGTH: Final = 3600.0
"""s: the length of a lone entry without an end."""
_ENERGY_UNIT: Final = re.compile(r"^\s*(?P<money>[^/\s]+)\s*/\s*(?P<energy>[kKmM]?Wh)\s*$")
_TO_KWH: Final = {"wh": 1000.0, "kwh": 1.0, "mwh": 0.001}


class ForecastError(ValueError):
    """A forecast that cannot be used: ``key`` is its translation key (``forecast_invalid``, ``forecast_unit``)."""

    def __init__(self, key: str, message: str) -> None:
        """Keep the translation ``key`` with the message."""
        super().__init__(message)
        self.key = key


def _time(value: Any) -> float:
    """Return Unix seconds of an aware datetime or ISO 8601 string; ForecastError otherwise."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ForecastError("forecast_invalid", f"not a time: {value!r}") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ForecastError("forecast_invalid", f"not a time with its time zone: {value!r}")
    return value.timestamp()


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ForecastError("forecast_invalid", f"not a number: {value!r}")
    return float(value)


def _first(entry: Mapping[str, Any], keys: Sequence[str]) -> Any:
    return next((entry[k] for k in keys if k in entry and entry[k] is not None), None)


def _spans(points: Sequence[tuple[float, float | None, float]], scale: float = 1.0) -> tuple[Span, ...]:
    """Turn (start, end or None, value) into sorted spans; an open end runs to the next start."""
    ordered = sorted(points, key=lambda p: p[0])
    spans: list[Span] = []
    for n, (start, given, value) in enumerate(ordered):
        end = given
        if end is None:
            if n + 1 < len(ordered):
                end = ordered[n + 1][0]
            else:
                end = start + (start - ordered[n - 1][0] if n else DEFAULT_LENGTH)
        if end <= start or (spans and start < spans[-1].end):
            raise ForecastError("forecast_invalid", f"entries overlap or end before they start at {start!r}")
        spans.append(Span(start, end, value * scale))
    return tuple(spans)


def per_kwh(unit: str | None) -> float:
    """Return the factor from a price unit (``EUR/kWh``, ``ct/kWh``, ``SEK/MWh``, ...) to per kWh.

    Raises:
        ForecastError: ``forecast_unit`` for anything that is not money per Wh, kWh or MWh.

    """
    match = _ENERGY_UNIT.match(unit or "")
    if match is None:
        raise ForecastError("forecast_unit", f"not a price per energy: {unit!r}")
    return _TO_KWH[match["energy"].lower()]


def _pick(lists: Any, name: str | None, what: str) -> Any:
    """Return the list of ``name`` (the only one when None) in a response's mapping of ``what`` (area, home)."""
    if not isinstance(lists, Mapping) or not lists:
        raise ForecastError("forecast_invalid", f"no {what} in the response")
    if name is None:
        if len(lists) != 1:
            raise ForecastError("forecast_invalid", f"several {what}s, name one: {sorted(lists)}")
        name = next(iter(lists))
    entries = lists.get(name)
    if not isinstance(entries, list):
        raise ForecastError("forecast_invalid", f"no prices for {what} {name!r}")
    return entries


def nordpool_prices(response: Mapping[str, Any], area: str | None = None) -> tuple[Span, ...]:
    """Return the prices (per kWh) of ``area`` (the only one when None) from ``nordpool.get_prices_for_date``."""
    return _entries(_pick(response, area, "area"), _TO_KWH["mwh"])  # the action gives its prices per MWh


def tibber_prices(response: Mapping[str, Any], home: str | None = None) -> tuple[Span, ...]:
    """Return the prices (per kWh) of ``home`` (the only one when None) from ``tibber.get_prices``."""
    homes = response.get("prices") if isinstance(response, Mapping) else None
    return _entries(_pick(homes, home, "home"), 1.0)  # Tibber gives its prices per kWh


def attribute_prices(entries: Any, unit: str | None) -> tuple[Span, ...]:
    """Return the prices (per kWh) of an attribute list of start/end/price entries in ``unit``."""
    return _entries(entries, per_kwh(unit))


def _entries(entries: Any, scale: float) -> tuple[Span, ...]:
    """Return the spans of a list of start/end/price entries, prices times ``scale``."""
    if not isinstance(entries, list | tuple):
        raise ForecastError("forecast_invalid", f"not a list of prices: {entries!r}")
    points = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ForecastError("forecast_invalid", f"not an entry: {entry!r}")
        end = _first(entry, END_KEYS)
        points.append((_time(_first(entry, START_KEYS)), None if end is None else _time(end),
                       _number(_first(entry, PRICE_KEYS))))
    return _spans(points, scale)


def solar_forecast(response: Mapping[str, Any] | None) -> tuple[Span, ...]:
    """Return the expected solar power (W) per hour from forecast_solar's ``async_get_solar_forecast``."""
    hours = response.get("wh_hours") if isinstance(response, Mapping) else None
    if not isinstance(hours, Mapping):
        raise ForecastError("forecast_invalid", "no wh_hours in the solar forecast")
    points = sorted((_time(key), _number(value)) for key, value in hours.items())
    spans: list[Span] = []
    for n, (start, wh) in enumerate(points):
        if wh < 0:
            raise ForecastError("forecast_invalid", f"negative solar energy at {start!r}")
        end = min(start + 3600.0, points[n + 1][0]) if n + 1 < len(points) else start + 3600.0
        if end <= start:
            raise ForecastError("forecast_invalid", f"two solar values at {start!r}")
        spans.append(Span(start, end, wh * 3600.0 / (end - start)))  # Wh over the period, as W
    return tuple(spans)


def gaps(spans: Sequence[Span], start: float, end: float) -> list[tuple[float, float]]:
    """Return the stretches of [``start``, ``end``) that ``spans`` (sorted) leave uncovered."""
    holes = []
    at = start
    for span in spans:
        if span.end <= at:
            continue
        if span.start > at:
            holes.append((at, min(span.start, end)))
        at = max(at, span.end)
        if at >= end:
            break
    if at < end:
        holes.append((at, end))
    return [(a, b) for a, b in holes if b > a]
