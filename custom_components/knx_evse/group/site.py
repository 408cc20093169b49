"""A balancing group's site entities: the energy price and the home battery → a ``SiteReading`` per round.

Each entity is optional and read like the meter (``meter.py``): a missing entity, ``unavailable``,
``unknown``, a non-numeric or non-finite value, or a unit that does not fit is *unknown*, and the
pure core treats an unknown value conservatively (docs/balancing.md, "Smart cost and the home
battery"): an unknown price is never cheap (the members' reason says so), an unknown SoC gives the
battery the export first, an unknown battery power counts nothing.

- the price: any numeric sensor (or number helper), in the unit of the price limit. It has no age
  limit: a price holds for its hour or tariff period and is not reported again meanwhile.
- the battery's SoC in % (0-100). No age limit either: a full battery's SoC may not change for hours.
- the battery's power in W, kW or MW (converted with Home Assistant's unit converter), positive while
  discharging as Home Assistant's energy dashboard counts it; ``battery_invert`` flips it. Like the
  meter it is stale ``meter_timeout`` after its last report (``last_reported``).

Each entity's state (``ok``, ``missing``, ``unavailable``, ``invalid``, ``stale``) is logged when it
changes and shown in the diagnostics.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    PERCENTAGE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.util.unit_conversion import PowerConverter

from ..balancing import PriceState, SiteReading
from .data import (
    CONF_BATTERY_INVERT,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_SOC_ENTITY,
    CONF_BUFFER_SOC,
    CONF_NEGATIVE_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PRICE_LIMIT,
    CONF_PRIORITY_SOC,
)

_LOGGER = logging.getLogger(__name__)

UNITS: dict[str, frozenset[str] | None] = {
    "price": None,
    "soc": frozenset({PERCENTAGE}),
    "power": frozenset(u for u in PowerConverter.VALID_UNITS if u),
}
"""The units each entity may have (None: any); a power is converted to W."""


class Site:
    """The price and battery entities of one group, and what their last reading was.

    ``entity_ids`` (those configured, for the state listener), ``smart_cost`` (a price rule is set),
    ``last`` (the last ``SiteReading``, None before the first round), ``problems`` (entity id → its
    state when not ``ok``).
    """

    def __init__(self, hass: HomeAssistant, data: Mapping[str, Any], *, group: str) -> None:
        """Take the entities and settings of validated group ``data`` (group name ``group``, for the log)."""
        self.hass = hass
        self.group = group
        self.price_entity: str | None = data.get(CONF_PRICE_ENTITY)
        self.soc_entity: str | None = data.get(CONF_BATTERY_SOC_ENTITY)
        self.power_entity: str | None = data.get(CONF_BATTERY_POWER_ENTITY)
        self.sign = -1.0 if data.get(CONF_BATTERY_INVERT) else 1.0
        self.settings = SiteReading(
            price_limit=data.get(CONF_PRICE_LIMIT),
            negative_price=bool(data.get(CONF_NEGATIVE_PRICE)),
            priority_soc=data.get(CONF_PRIORITY_SOC),
            buffer_soc=data.get(CONF_BUFFER_SOC),
        )
        self.last: SiteReading | None = None
        self.states: dict[str, str] = {}

    @property
    def entity_ids(self) -> list[str]:
        """The configured price, SoC and battery power entities."""
        return [e for e in (self.price_entity, self.soc_entity, self.power_entity) if e]

    @property
    def smart_cost(self) -> bool:
        """True when a price rule (limit or negative price) is set."""
        return self.settings.smart_cost

    @property
    def price_state(self) -> PriceState | None:
        """The last price against the rule: cheap, expensive or no_price; None without a rule or a round."""
        return None if self.last is None else self.last.price_state

    @property
    def problems(self) -> dict[str, str]:
        """Entity id → its state, for the entities that are not ``ok``."""
        return {entity: state for entity, state in self.states.items() if state != "ok"}

    def read(self, now: float, timeout: float) -> SiteReading:
        """Return the round's ``SiteReading``: the settings with the entities' values (None when unknown).

        ``now`` (s, wall clock) and ``timeout`` (s, the meter timeout) decide when the battery's power
        is stale.
        """
        price = self._number(self.price_entity, "price")
        soc = self._number(self.soc_entity, "soc")
        power = self._number(self.power_entity, "power", age=(now, timeout))
        self.last = SiteReading(
            price=price,
            price_limit=self.settings.price_limit,
            negative_price=self.settings.negative_price,
            battery_soc=soc,
            battery_power=None if power is None else power * self.sign,
            priority_soc=self.settings.priority_soc,
            buffer_soc=self.settings.buffer_soc,
        )
        return self.last

    def _number(self, entity_id: str | None, kind: str, age: tuple[float, float] | None = None) -> float | None:
        """Return ``entity_id``'s value (``kind`` in ``UNITS``; W for a power), or None when unknown; record its state.

        ``age``: (now, timeout) in s, for an entity that is stale ``timeout`` after its last report.
        """
        if entity_id is None:
            return None
        value: float | None = None
        state = self.hass.states.get(entity_id)
        if state is None:
            verdict = "missing"
        elif state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            verdict = "unavailable"
        elif age is not None and age[0] - state.last_reported_timestamp > age[1]:
            verdict = "stale"
        else:
            value, verdict = self._convert(state.state, state.attributes.get(ATTR_UNIT_OF_MEASUREMENT), kind)
        previous = self.states.get(entity_id)
        if verdict != previous:
            self.states[entity_id] = verdict
            if verdict != "ok":
                _LOGGER.warning("%s: %s is %s; it counts as unknown", self.group, entity_id, verdict)
            elif previous is not None:
                _LOGGER.info("%s: %s is usable again", self.group, entity_id)
        return value

    @staticmethod
    def _convert(raw: str, unit: Any, kind: str) -> tuple[float | None, str]:
        """Return (value, "ok") for a finite number in a unit ``kind`` accepts (W for a power), else (None, "invalid")."""
        try:
            value = float(raw)
        except ValueError:
            return None, "invalid"
        units = UNITS[kind]
        if not math.isfinite(value) or (units is not None and unit not in units):
            return None, "invalid"
        if kind == "power":
            value = PowerConverter.convert(value, str(unit), UnitOfPower.WATT)
        return value, "ok"

    def diagnostics(self) -> dict[str, Any]:
        """Return the site's part of the group's diagnostics."""
        last = self.last
        return {
            "entities": self.entity_ids,
            "states": self.states,
            "price": None if last is None else last.price,
            "price_state": self.price_state,
            "battery_soc": None if last is None else last.battery_soc,
            "battery_power": None if last is None else last.battery_power,
            "battery_state": None if last is None else last.battery_state,
        }
