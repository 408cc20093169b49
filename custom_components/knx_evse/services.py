"""Services (actions) of knx_evse: charge mode and one-shot current limit of balancing-group members.

Bad service data raises a translated ``ServiceValidationError`` and sends nothing.

- ``knx_evse.set_charge_mode``: ``mode`` one of off, fast, solar, min_solar.
- ``knx_evse.set_current_limit``: ``current`` in A, 0 (pause) or 6 A up to the member's maximum (which
  never exceeds the charger's Maximum User Current); the group still keeps the breaker budget, so
  the charger may get less. ``clear: true`` instead ends the override (it also ends when the vehicle
  is unplugged or the mode is changed).

Targets (``target:``): a charger device or connector sub-device that is a member of a balancing
group (a charger device whose two connectors are both members targets both), or a member's entity
(its charge-mode select, assigned-limit or reason sensor). Every target and value is validated
before anything changes; errors: ``no_target``, ``unsupported_target`` (areas, floors, labels),
``not_a_balancing_member``, ``invalid_charge_mode``, ``invalid_current``, ``current_or_clear``,
``override_out_of_range``. After a change the group runs a round at once, which writes the
chargers (with the usual "no identical repeated writes" rule).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_AREA_ID, ATTR_DEVICE_ID, ATTR_ENTITY_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .balancing import MODES
from .compat import vol
from .const import DOMAIN
from .group.entities import member_for_unique_id
from .group.group import BalancingGroup, Member
from .group.writes import check_override

SERVICE_SET_CHARGE_MODE: Final = "set_charge_mode"
SERVICE_SET_CURRENT_LIMIT: Final = "set_current_limit"
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


def resolve_members(hass: HomeAssistant, data: dict[str, Any]) -> list[tuple[BalancingGroup, Member]]:
    """Return the (group, member) pairs the call's device and entity targets name, each once.

    Raises translated ServiceValidationError: ``no_target``, ``unsupported_target``,
    ``not_a_balancing_member`` (for the first target that is not a member of a loaded group).
    """
    unsupported = [key for key in (ATTR_AREA_ID, ATTR_FLOOR_ID, ATTR_LABEL_ID) if data.get(key)]
    if unsupported:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unsupported_target",
            translation_placeholders={"targets": ", ".join(unsupported)},
        )
    device_ids: list[str] = data.get(ATTR_DEVICE_ID) or []
    entity_ids: list[str] = data.get(ATTR_ENTITY_ID) or []
    if not device_ids and not entity_ids:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_target")
    groups = _loaded_groups(hass)
    found: dict[tuple[str, int], tuple[BalancingGroup, Member]] = {}

    def add(pairs: Iterable[tuple[BalancingGroup, Member]], target: str) -> None:
        pairs = list(pairs)
        if not pairs:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="not_a_balancing_member",
                translation_placeholders={"target": target},
            )
        for group, member in pairs:
            found[(group.subentry_id, member.index)] = (group, member)

    entity_registry = er.async_get(hass)
    for entity_id in entity_ids:
        registered = entity_registry.async_get(entity_id)
        unique_id = registered.unique_id if registered is not None and registered.platform == DOMAIN else None
        add(
            ((g, m) for g in groups for m in g.members if unique_id is not None and member_for_unique_id(g, unique_id) is m),
            entity_id,
        )
    device_registry = dr.async_get(hass)
    for device_id in device_ids:
        device = device_registry.async_get(device_id)
        identifiers = device.identifiers if device is not None else set()
        label = device.name_by_user or device.name or device_id if device is not None else device_id
        add(
            (
                (g, m)
                for g in groups
                for m in g.members
                if m.charger.coordinator.device_identifier in identifiers or m.device_info()["identifiers"] & identifiers
            ),
            str(label),
        )
    return list(found.values())


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


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services (once, from ``async_setup``); they look up the loaded groups per call."""
    hass.services.async_register(DOMAIN, SERVICE_SET_CHARGE_MODE, _async_set_charge_mode, schema=SET_CHARGE_MODE_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_SET_CURRENT_LIMIT, _async_set_current_limit, schema=SET_CURRENT_LIMIT_SCHEMA
    )
