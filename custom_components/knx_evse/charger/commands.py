"""Validated commands of a charger: every write checks its value BEFORE anything is sent.

Writes raise a translated ``ServiceValidationError`` (nothing is sent then): current limits 0 or
6-32 A and at most the "Maximum User Current" parameter; power limits 0 up to what the model can
draw; session time 0-65535 s; RFID tags 1-14 ISO 8859-1 characters; a command object without a
group address is refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

from homeassistant.exceptions import ServiceValidationError
from xknx.dpt.payload import DPTArray, DPTBinary

from ..const import DOMAIN
from ..knx.dpt import EncodeError, encode
from ..knx.group_addresses import GroupAddressMap
from ..knx.hub import KnxEvseHub
from ..knx.objects import CommObject, Scope, UnknownObjectError, get_object, scoped_object
from ..knx.parameters import MAX_CURRENT, MIN_CURRENT, ChargerParameters

MAX_SESSION_SECONDS: Final = 65535
"""s: largest value of object 6 (DPT 7.005, 2 bytes)."""
RFID_MAX_LENGTH: Final = 14
"""Characters of an RFID tag (object 8, DPT 16.001, 14 bytes ISO 8859-1)."""


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)




class ChargerCommands:
    """The write side of a ``ChargerCoordinator`` (a base class of it).

    ``async_set_current_limit``, ``async_set_power_limit``, ``async_start_stop``,
    ``async_set_max_session_time``, ``async_add_rfid_tag``, ``async_write_object``,
    ``validate_write``, ``max_power``.
    """

    hub: KnxEvseHub
    name: str
    params: ChargerParameters
    connectors: tuple[int, ...]
    enabled_objects: frozenset[int]
    group_addresses: GroupAddressMap
    telegrams_sent: int
    _record_written: Callable[[int, Any], None]
    """Keeps a written value as the object's state (``ChargerCoordinator``)."""

    def max_power(self, connector: int | None = None) -> float:
        """Return the highest power limit (W) that may be written for the charger or a connector.

        Maximum User Current × 230 V × phases; twice that for the charger total of a two-connector
        single-phase model whose connectors are on different phases.
        """
        limit = self.params.max_power
        if connector is None and self.params.two_phase:
            limit *= 2
        return limit

    # -- write side -------------------------------------------------------------------------

    def _error(self, key: str, **placeholders: Any) -> ServiceValidationError:
        return ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"charger": self.name, **{k: _fmt(v) for k, v in placeholders.items()}},
        )

    def _check_connector(self, connector: int | None) -> None:
        if connector is not None and connector not in self.connectors:
            raise self._error("invalid_connector", connector=connector, connectors=len(self.connectors))

    def _command_object(self, number: int) -> CommObject:
        try:
            obj = get_object(number)
        except UnknownObjectError:
            raise self._error("unknown_object", object=number) from None
        label = f"{obj.number} {obj.name}"
        if not obj.writable:
            raise self._error("object_not_writable", object=label)
        if number not in self.enabled_objects:
            raise self._error("object_not_enabled", object=label)
        if number not in self.group_addresses:
            raise self._error("object_not_linked", object=label)
        return obj

    def validate_write(self, number: int, value: Any) -> tuple[CommObject, Any]:
        """Check that ``value`` may be written to object ``number``; return the object and the value.

        The value returned is normalised (float A/W, int s, bool, str).

        Raises translated ServiceValidationError: ``unknown_object``, ``object_not_writable``,
        ``object_not_enabled``, ``object_not_linked``, ``invalid_number``, ``current_out_of_range``,
        ``current_above_user_maximum``, ``power_out_of_range``, ``session_time_out_of_range``,
        ``rfid_invalid``, ``invalid_bool``.
        """
        obj = self._command_object(number)
        label = f"{obj.number} {obj.name}"
        if obj.size_bits == 1:
            if isinstance(value, bool):
                return obj, value
            if isinstance(value, int) and value in (0, 1):
                return obj, bool(value)
            raise self._error("invalid_bool", object=label, value=value)
        if obj.dpt == "16.001":
            return obj, self._validate_rfid(value)
        number_value = self._finite(value, label)
        if obj.base_key == "current_limit" and obj.scope in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
            return obj, self._validate_current(number_value)
        if obj.base_key == "active_power_limit" and obj.scope in (Scope.EVSE, Scope.CONN1, Scope.CONN2):
            connector = None if obj.scope is Scope.EVSE else (1 if obj.scope is Scope.CONN1 else 2)
            return obj, self._validate_power(number_value, connector)
        if obj.dpt == "7.005":
            if number_value != int(number_value) or not 0 <= number_value <= MAX_SESSION_SECONDS:
                raise self._error("session_time_out_of_range", value=number_value, max=MAX_SESSION_SECONDS)
            return obj, int(number_value)
        return obj, number_value

    def _finite(self, value: Any, label: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self._error("invalid_number", object=label, value=value)
        return float(value)

    def _validate_current(self, amps: float) -> float:
        if amps != 0 and not MIN_CURRENT <= amps <= MAX_CURRENT:
            raise self._error("current_out_of_range", value=amps, min=MIN_CURRENT, max=MAX_CURRENT)
        if amps > self.params.max_user_current:
            raise self._error("current_above_user_maximum", value=amps, max=self.params.max_user_current)
        return amps

    def _validate_power(self, watts: float, connector: int | None) -> float:
        limit = self.max_power(connector)
        if not 0 <= watts <= limit:
            raise self._error("power_out_of_range", value=watts, max=limit)
        return watts

    def _validate_rfid(self, tag: Any) -> str:
        if not isinstance(tag, str) or not 1 <= len(tag) <= RFID_MAX_LENGTH:
            raise self._error("rfid_invalid", value=tag, max=RFID_MAX_LENGTH)
        try:
            tag.encode("latin-1")
        except UnicodeEncodeError:
            raise self._error("rfid_invalid", value=tag, max=RFID_MAX_LENGTH) from None
        return tag

    async def async_write_object(self, number: int, value: Any) -> None:
        """Validate, encode and send ``value`` to command object ``number`` (its sending group address).

        Raises ServiceValidationError (see ``validate_write``; ``invalid_value`` when the DPT cannot
        encode it) before anything is sent, and HomeAssistantError ``not_connected`` while the KNX
        connection is down. Afterwards ``last_written(number)`` and ``state(number)`` hold the value.
        """
        obj, checked = self.validate_write(number, value)
        try:
            payload: DPTArray | DPTBinary = encode(obj, checked)
        except EncodeError as err:
            raise self._error("invalid_value", object=f"{obj.number} {obj.name}", value=checked, error=err) from err
        await self.hub.async_write(self.group_addresses[number][0], payload)
        self.telegrams_sent += 1
        self._record_written(number, checked)

    async def async_set_current_limit(self, connector: int | None, amps: float) -> None:
        """Write a current limit (A): charger total (object 1) or connector 1/2 (31/80).

        0 pauses; otherwise 6-32 A and at most Maximum User Current. Raises ServiceValidationError
        before sending for anything else, or for a connector the model does not have.
        """
        self._check_connector(connector)
        await self.async_write_object(scoped_object("current_limit", connector).number, amps)

    async def async_set_power_limit(self, connector: int | None, watts: float) -> None:
        """Write an active-power limit (W): charger total (object 2) or connector 1/2 (32/81).

        0 up to ``max_power(connector)``; raises ServiceValidationError before sending otherwise.
        """
        self._check_connector(connector)
        await self.async_write_object(scoped_object("active_power_limit", connector).number, watts)

    async def async_start_stop(self, connector: int | None, start: bool) -> None:
        """Start (True) or stop (False) charging.

        Connector 1/2: objects 33/82 (DPT 1.010); ``connector`` None: restart/pause all charging of the
        charger (object 18).
        """
        self._check_connector(connector)
        key = "pause_restart" if connector is None else "start_stop"
        await self.async_write_object(scoped_object(key, connector).number, start)

    async def async_set_max_session_time(self, seconds: float) -> None:
        """Write the maximum charging session (object 6, whole seconds 0-65535)."""
        await self.async_write_object(6, seconds)

    async def async_add_rfid_tag(self, tag: str) -> None:
        """Authorise an RFID tag (object 8, 1-14 ISO 8859-1 characters)."""
        await self.async_write_object(8, tag)
