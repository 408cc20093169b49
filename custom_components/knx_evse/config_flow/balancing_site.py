"""The ``site`` step of the balancing-group flow: the energy price (smart cost) and the home battery.

Every field is optional: the price entity (any numeric sensor or number helper, in the unit of the
limit), the price limit at or below which Solar and Min+Solar members charge as Fast, the
negative-price rule; the battery's SoC entity (device class battery, in %) and power entity (device
class power, in W or kW, + discharging, with an invert switch), the priority SoC and the buffer SoC.
Checked: the rules of ``group.data`` (thresholds 0-100 %, buffer not below priority, a limit or a
threshold needs its entity) and the units of the battery entities as they are now. A price entity
that is not numeric now is accepted: the members' reason shows it while it stays so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.helpers import selector

from ..compat import vol
from ..group.data import (
    CONF_BATTERY_INVERT,
    CONF_BATTERY_POWER_ENTITY,
    CONF_BATTERY_SOC_ENTITY,
    CONF_BUFFER_SOC,
    CONF_NEGATIVE_PRICE,
    CONF_PRICE_ENTITY,
    CONF_PRICE_LIMIT,
    CONF_PRIORITY_SOC,
    SITE_FIELDS,
)
from ..group.site import UNITS
from .selectors import BOOLEAN, number_box

PRICE_DOMAINS: Final = ["sensor", "input_number", "number"]
"""Where a price entity may come from: price integrations' sensors, or a helper the user sets."""
_FLAGS: Final = (CONF_NEGATIVE_PRICE, CONF_BATTERY_INVERT)
_UNIT_ERRORS: Final = {"soc": "battery_soc_unit", "power": "battery_power_unit"}


def _entity(domain: str | list[str], device_class: str | None = None) -> selector.EntitySelector:
    """Return a picker of one entity of ``domain`` (and ``device_class``)."""
    if device_class is None:
        return selector.EntitySelector(selector.EntitySelectorConfig(filter=[{"domain": domain}]))
    return selector.EntitySelector(
        selector.EntitySelectorConfig(filter=[{"domain": domain, "device_class": device_class}])
    )


class BalancingSiteStep(ConfigSubentryFlow):
    """The ``site`` step; state and the other steps are ``BalancingGroupSubentryFlow``'s."""

    _data: dict[str, Any]

    if TYPE_CHECKING:

        def _check(self, data: dict[str, Any], fields: dict[str, str]) -> dict[str, str]:
            """Validate with the group schema (``BalancingGroupSubentryFlow``)."""

        async def async_step_members(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
            """Pick the members next (``BalancingMemberSteps``)."""

    def _unit_error(self, entity_id: str | None, kind: str) -> str | None:
        """Return the unit error of ``kind`` when ``entity_id`` has a unit ``group.site`` does not read."""
        state = self.hass.states.get(entity_id) if entity_id else None
        if state is None:
            return None  # not there yet: it is unknown until it is, and the core treats it so
        units = UNITS[kind]
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        return _UNIT_ERRORS[kind] if units is not None and unit not in units else None

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Price and home battery, all optional: smart cost and battery priority."""
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {name: user_input.get(name) for name in SITE_FIELDS}
            updates.update({name: bool(user_input.get(name, False)) for name in _FLAGS})
            errors = self._check({**self._data, **updates}, {name: name for name in SITE_FIELDS})
            for field, kind in ((CONF_BATTERY_SOC_ENTITY, "soc"), (CONF_BATTERY_POWER_ENTITY, "power")):
                if not errors and (error := self._unit_error(updates[field], kind)) is not None:
                    errors[field] = error
            if not errors:
                self._data.update(updates)
                return await self.async_step_members()
        values = {**self._data, **(user_input or {})}

        def optional(name: str) -> vol.Optional:
            return vol.Optional(name, description={"suggested_value": values.get(name)})

        schema = vol.Schema(
            {
                optional(CONF_PRICE_ENTITY): _entity(PRICE_DOMAINS),
                optional(CONF_PRICE_LIMIT): number_box(step=0.001),
                vol.Required(CONF_NEGATIVE_PRICE, default=bool(values.get(CONF_NEGATIVE_PRICE))): BOOLEAN,
                optional(CONF_BATTERY_SOC_ENTITY): _entity("sensor", "battery"),
                optional(CONF_BATTERY_POWER_ENTITY): _entity("sensor", "power"),
                vol.Required(CONF_BATTERY_INVERT, default=bool(values.get(CONF_BATTERY_INVERT))): BOOLEAN,
                optional(CONF_PRIORITY_SOC): number_box("%"),
                optional(CONF_BUFFER_SOC): number_box("%"),
            }
        )
        return self.async_show_form(step_id="site", data_schema=schema, errors=errors)


__all__ = ["BalancingSiteStep"]
