"""Diagnostics of a knx_evse hub (config entry) and of one charger or balancing-group device.

Config-entry diagnostics show:

- the hub entry's data with every secret redacted (KNX Secure passwords, the keyring password, the
  backbone key; the keyring file itself is never read);
- the connection: configured type, connected or not, what the hub's link tells of its route (its
  own xknx connection: xknx's connection type and our individual address), hub telegram counters;
- per charger (charger subentry): model, parameters, liveness (``is_stale``, ``last_heard_s``: the
  seconds since the charger's last telegram or the last (re)connect, ``silence_limit_s``: the
  silence after which it is read to check it is alive), the object → group-address map, each
  object's last value with its age and source, telegram counters and the start-up read plan. RFID tags
  (objects 8, 67, 116: DPT 16.001) are redacted;
- per balancing group (``runtime_data.groups``, filled by the balancing runtime): whatever its
  ``diagnostics()`` method returns (recent decisions included), else its ``recent_decisions`` /
  ``last_decision`` (or ``decision``) attributes when it has them;
- subentries without a runtime (e.g. a charger whose stored data does not validate), redacted.

Device diagnostics give the connection plus the charger (for a charger or connector device) or the
balancing group the device belongs to.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from xknx.dpt.dpt import DPTEnumData

from .charger.coordinator import ChargerCoordinator
from .const import (
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_PASSWORD,
    DOMAIN,
)
from .knx.objects import OBJECTS
from .runtime import KnxEvseConfigEntry, KnxEvseRuntime

TO_REDACT: Final = frozenset(
    {
        CONF_KNX_KNXKEY_PASSWORD,
        CONF_KNX_SECURE_USER_PASSWORD,
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
        CONF_KNX_ROUTING_BACKBONE_KEY,
        "password",
        "rfid",
        "rfid_tag",
    }
)
"""Keys redacted anywhere in the output (hub data, subentry data, balancing-group diagnostics)."""

RFID_DPT: Final = "16.001"
"""Objects of this DPT carry RFID tags (8 Add RFIDTag, 67/116 RFIDTag charging started)."""
RECENT_DECISIONS: Final = 20
"""At most this many balancing decisions are listed per group (the most recent ones)."""


def _jsonable(value: Any) -> Any:
    """Return ``value`` as JSON-serialisable data (dataclasses, enums, tuples, datetimes, sets)."""
    if isinstance(value, DPTEnumData):
        return value.name.lower()
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_jsonable(v) for v in items]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _connection(runtime: KnxEvseRuntime, data: Mapping[str, Any]) -> dict[str, Any]:
    hub = runtime.hub
    return {
        "type": data.get(CONF_KNX_CONNECTION_TYPE),
        "connected": hub.connected,
        **_jsonable(hub.link.diagnostics()),
        "telegrams_received": hub.telegrams_received,
        "telegrams_sent": hub.telegrams_sent,
        "reads_ignored": hub.reads_ignored,
    }


def _object(coordinator: ChargerCoordinator, number: int, now: float) -> dict[str, Any]:
    obj = OBJECTS[number]
    state = coordinator.state(number)
    result: dict[str, Any] = {
        "name": obj.name,
        "dpt": obj.dpt,
        "group_addresses": list(coordinator.group_addresses.get(number, [])),
    }
    if state is None:
        result["value"] = None
        return result
    result["value"] = REDACTED if obj.dpt == RFID_DPT and state.value is not None else _jsonable(state.value)
    result["age_s"] = round(now - state.monotonic, 1)
    result["received"] = state.utc.isoformat()
    result["source"] = state.source
    return result


def charger_diagnostics(coordinator: ChargerCoordinator) -> dict[str, Any]:
    """Return one charger's configuration, object map with last values and ages, and counters."""
    now = time.monotonic()
    return {
        "name": coordinator.name,
        "model": coordinator.model,
        "individual_address": coordinator.individual_address,
        "available": coordinator.available,
        "is_stale": coordinator.is_stale,
        "last_heard_s": round(now - coordinator.last_heard, 1),
        "silence_limit_s": round(coordinator.silence_limit, 1),
        "connectors": list(coordinator.connectors),
        "parameters": _jsonable(coordinator.params.as_dict()),
        "objects": {
            str(number): _object(coordinator, number, now) for number in sorted(coordinator.group_addresses)
        },
        "counters": {
            "telegrams_received": coordinator.telegrams_received,
            "telegrams_decoded": coordinator.telegrams_decoded,
            "telegrams_invalid": coordinator.telegrams_invalid,
            "telegrams_foreign": coordinator.telegrams_foreign,
            "telegrams_sent": coordinator.telegrams_sent,
            "reads_sent": coordinator.reads_sent,
        },
        "read_plan": coordinator.read_plan(),
    }


def group_diagnostics(group: Any) -> dict[str, Any]:
    """Return a balancing group runtime's diagnostics, recent decisions included, when it has them.

    Uses the runtime's ``diagnostics()`` if it has one; otherwise its ``recent_decisions`` (the last
    ``RECENT_DECISIONS``) and ``last_decision`` (or ``decision``) attributes. Everything is redacted
    with ``TO_REDACT``.
    """
    diagnostics = getattr(group, "diagnostics", None)
    if callable(diagnostics):
        result: dict[str, Any] = {**_jsonable(diagnostics())}
    else:
        result = {"runtime": type(group).__name__}
        recent = getattr(group, "recent_decisions", None)
        if recent is not None:
            result["recent_decisions"] = _jsonable(list(recent)[-RECENT_DECISIONS:])
        last = getattr(group, "last_decision", None) or getattr(group, "decision", None)
        if last is not None:
            result["last_decision"] = _jsonable(last)
    return dict(async_redact_data(result, TO_REDACT))


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> dict[str, Any]:
    """Return the diagnostics of a hub: connection, chargers, balancing groups (secrets redacted)."""
    runtime = entry.runtime_data
    loaded = set(runtime.chargers) | set(runtime.groups)
    return {
        "entry": {
            "title": entry.title,
            "version": entry.version,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
        },
        "connection": _connection(runtime, entry.data),
        "chargers": {
            subentry_id: charger_diagnostics(coordinator) for subentry_id, coordinator in runtime.chargers.items()
        },
        "groups": {subentry_id: group_diagnostics(group) for subentry_id, group in runtime.groups.items()},
        "subentries_not_loaded": {
            subentry_id: {
                "type": subentry.subentry_type,
                "title": subentry.title,
                "data": async_redact_data(_jsonable(dict(subentry.data)), TO_REDACT),
            }
            for subentry_id, subentry in entry.subentries.items()
            if subentry_id not in loaded
        },
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: KnxEvseConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Return the connection and the charger or balancing group of ``device``."""
    runtime = entry.runtime_data
    result: dict[str, Any] = {"connection": _connection(runtime, entry.data)}
    identifiers = {identifier for domain, identifier in device.identifiers if domain == DOMAIN}
    for subentry_id, coordinator in runtime.chargers.items():
        connectors = {c for c in coordinator.connectors if coordinator.connector_identifier(c)[1] in identifiers}
        if subentry_id in identifiers or connectors:
            result["charger"] = charger_diagnostics(coordinator)
            result["connector"] = min(connectors) if connectors else None
            return result
    for subentry_id, group in runtime.groups.items():
        if subentry_id in identifiers:
            result["group"] = group_diagnostics(group)
            return result
    return result
