"""Services (actions) of knx_evse: charge mode, one-shot current limit and charging plan of balancing-group members.

Bad service data raises a translated ``ServiceValidationError`` and sends nothing.

- ``knx_evse.set_charge_mode``: ``mode`` one of off, fast, solar, min_solar.
- ``knx_evse.set_current_limit``: ``current`` in A, 0 (pause) or 6 A up to the member's maximum (which
  never exceeds the charger's Maximum User Current); the group still keeps the breaker budget, so
  the charger may get less. ``clear: true`` instead ends the override (it also ends when the vehicle
  is unplugged or the mode is changed).
- ``knx_evse.set_plan``: the member's charging plan: ``energy`` (kWh), ``departure`` (a time of day,
  or a date and time for a one-off plan), ``repeat`` and ``enabled`` (``group/plan_service.py``
  checks them: ``plan_energy_out_of_range``, ``plan_in_past``, ``plan_too_far``, ``invalid_departure``,
  ``invalid_repeat``, ``plan_dated_repeat``).

Targets (``target:``): every Home Assistant target, resolved by ``helpers.target``. A named
device must be a charger or connector sub-device that is a member of a balancing group (a charger
device whose two connectors are both members targets both); a named entity must be a member's
entity (its charge-mode select, assigned-limit or reason sensor, or one of its plan entities). Areas, floors and labels take the
members among their devices and entities and pass over the rest, but must name at least one.
Every target and value is validated before anything changes; errors: ``no_target``,
``not_a_balancing_member``, ``invalid_charge_mode``, ``invalid_current``, ``current_or_clear``,
``override_out_of_range``. After a change the group runs a round at once, which writes the
chargers (with the usual "no identical repeated writes" rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.target import TargetSelection, async_extract_referenced_entity_ids
from homeassistant.util import dt as dt_util

from .balancing import MODES
from .compat import vol
from .const import DOMAIN
from .group.entities import member_for_unique_id
from .group.group import BalancingGroup, Member
from .group.plan_service import ATTR_DEPARTURE, ATTR_ENABLED, ATTR_ENERGY, ATTR_REPEAT, plan_changes
from .group.writes import check_override

SERVICE_SET_CHARGE_MODE: Final = "set_charge_mode"
SERVICE_SET_CURRENT_LIMIT: Final = "set_current_limit"
SERVICE_SET_PLAN: Final = "set_plan"
ATTR_MODE: Final = "mode"
ATTR_CURRENT: Final = "current"
ATTR_CLEAR: Final = "clear"

_TARGET_FIELDS: Final[dict[Any, Any]] = {
    vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_ENTITY_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_AREA_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_FLOOR_ID): vol.All(cv.ensure_list, [cv.string]),
    vol.Optional(ATTR_LABEL_ID): vol.All(cv.ensure_list, [cv.string]),
}
SET_CHARGE_MODE_SCHEMA: Final = vol.Schema({**_TARGET_FIELDS, vol.Required(ATTR_MODE): vol.Any(str, int, float, bool)})
"""Structure only; the mode is checked by the handler so a bad one gets a translated error."""
SET_CURRENT_LIMIT_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_FIELDS,
        vol.Optional(ATTR_CURRENT): vol.Any(None, str, int, float),
        vol.Optional(ATTR_CLEAR, default=False): cv.boolean,
    }
)
"""Structure only; the current is checked by the handler (translated errors)."""

SET_PLAN_SCHEMA: Final = vol.Schema(
    {
        **_TARGET_FIELDS,
        vol.Optional(ATTR_ENERGY): vol.Any(None, str, int, float),
        vol.Optional(ATTR_DEPARTURE): vol.Any(None, str, time, datetime),
        vol.Optional(ATTR_REPEAT): vol.Any(None, str, [str]),
        vol.Optional(ATTR_ENABLED, default=True): cv.boolean,
    }
)
"""Structure only; the values are checked by ``plan_service.plan_changes`` (translated errors)."""

MODE_VALIDATOR: Final = vol.In(MODES)
CURRENT_VALIDATOR: Final = vol.All(vol.Coerce(float), lambda v: v if math.isfinite(v) else None)
"""A number of A (NaN and infinities become None: invalid); the range is checked per member."""


def _loaded_groups(hass: HomeAssistant) -> list[BalancingGroup]:
    return [
        group
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
        for group in entry.runtime_data.groups.values()
    ]


def _not_a_member(target: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="not_a_balancing_member",
        translation_placeholders={"target": target},
    )


def _entity_members(
    hass: HomeAssistant, groups: list[BalancingGroup], entity_id: str
) -> list[tuple[BalancingGroup, Member]]:
    """Return the member whose knx_evse entity ``entity_id`` is (charge-mode select, limit, reason)."""
    registered = er.async_get(hass).async_get(entity_id)
    if registered is None or registered.platform != DOMAIN:
        return []
    return [(g, m) for g in groups for m in g.members if member_for_unique_id(g, registered.unique_id) is m]


def _device_members(
    hass: HomeAssistant, groups: list[BalancingGroup], device_id: str
) -> list[tuple[BalancingGroup, Member]]:
    """Return the members on device ``device_id``: a connector sub-device's, or a charger's."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return []
    return [
        (g, m)
        for g in groups
        for m in g.members
        if m.charger.coordinator.device_identifier in device.identifiers
        or m.device_info()["identifiers"] & device.identifiers
    ]


def _device_label(hass: HomeAssistant, device_id: str) -> str:
    device = dr.async_get(hass).async_get(device_id)
    return str(device.name_by_user or device.name or device_id) if device is not None else device_id


def resolve_members(hass: HomeAssistant, data: dict[str, Any]) -> list[tuple[BalancingGroup, Member]]:
    """Return the (group, member) pairs the call's targets name, each once, in group and member order.

    Home Assistant's target helper expands areas, floors and labels into devices and entities.
    Raises translated ServiceValidationError: ``no_target``; ``not_a_balancing_member`` for the
    first named device or entity that is not a member of a loaded group, or for areas, floors and
    labels that hold no member at all.
    """
    selection = TargetSelection(data)
    if not selection.has_any_target:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_target")
    groups = _loaded_groups(hass)
    found: dict[tuple[str, int], tuple[BalancingGroup, Member]] = {}

    def add(pairs: Iterable[tuple[BalancingGroup, Member]]) -> None:
        for group, member in pairs:
            found[(group.subentry_id, member.index)] = (group, member)

    for entity_id in sorted(selection.entity_ids):
        if not (pairs := _entity_members(hass, groups, entity_id)):
            raise _not_a_member(entity_id)
        add(pairs)
    for device_id in sorted(selection.device_ids):
        if not (pairs := _device_members(hass, groups, device_id)):
            raise _not_a_member(_device_label(hass, device_id))
        add(pairs)
    indirect = [*sorted(selection.area_ids), *sorted(selection.floor_ids), *sorted(selection.label_ids)]
    if indirect:
        kinds = {
            ATTR_AREA_ID: selection.area_ids,
            ATTR_FLOOR_ID: selection.floor_ids,
            ATTR_LABEL_ID: selection.label_ids,
        }
        expanded = async_extract_referenced_entity_ids(
            hass, TargetSelection({key: sorted(ids) for key, ids in kinds.items() if ids})
        )
        pairs = [
            *(
                pair
                for device_id in expanded.referenced_devices
                for pair in _device_members(hass, groups, device_id)
            ),
            *(
                pair
                for entity_id in expanded.indirectly_referenced
                for pair in _entity_members(hass, groups, entity_id)
            ),
        ]
        if not pairs:
            raise _not_a_member(", ".join(indirect))
        add(pairs)
    return [found[key] for key in sorted(found)]


async def _async_set_charge_mode(call: ServiceCall) -> None:
    """Handle ``knx_evse.set_charge_mode``."""
    try:
        mode = MODE_VALIDATOR(call.data[ATTR_MODE])
    except vol.Invalid:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_charge_mode",
            translation_placeholders={"mode": str(call.data[ATTR_MODE]), "modes": ", ".join(MODES)},
        ) from None
    for group, member in resolve_members(call.hass, dict(call.data)):
        group.async_set_mode(member.index, mode)


async def _async_set_current_limit(call: ServiceCall) -> None:
    """Handle ``knx_evse.set_current_limit``."""
    clear = call.data[ATTR_CLEAR]
    raw = call.data.get(ATTR_CURRENT)
    if clear == (raw is not None):
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="current_or_clear")
    amps: float | None = None
    if not clear:
        try:
            amps = CURRENT_VALIDATOR(raw)
        except vol.Invalid:
            amps = None
        if amps is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_current",
                translation_placeholders={"value": str(raw)},
            )
    members = resolve_members(call.hass, dict(call.data))
    if amps is not None:
        for group, member in members:
            check_override(group, member, amps)
    for group, member in members:
        group.async_set_override(member.index, amps)


async def _async_set_plan(call: ServiceCall) -> None:
    """Handle ``knx_evse.set_plan``: every value is checked before any plan changes."""
    changes = plan_changes(call.data, dt_util.now())
    for group, member in resolve_members(call.hass, dict(call.data)):
        planner = group.planner
        planner.async_set(member.index, planner.settings_of(member.index).with_(**changes))
        group.notify()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services (once, from ``async_setup``); they look up the loaded groups per call."""
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CHARGE_MODE, _async_set_charge_mode, schema=SET_CHARGE_MODE_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CURRENT_LIMIT, _async_set_current_limit, schema=SET_CURRENT_LIMIT_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_SET_PLAN, _async_set_plan, schema=SET_PLAN_SCHEMA)
