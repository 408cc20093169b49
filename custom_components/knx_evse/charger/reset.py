"""The values the charger's write-only objects return to after a Reset (object 5 = 1).

Manual, object 5 "[EVSE] Reset": a reset restores internal states, session values and errors and
keeps the ETS parameters and RFID tags. Objects that cannot be read (flags C-W--) then hold what
the parameters say: 6 max session time (s), 7 auto disconnect, 26 auto start; 18 back to
"restart" (no pause), 25 and 73/122 unblocked, 54/57/60 and 103/106/109 charging times off.
"""

from __future__ import annotations

from typing import Any, Final

from ..knx.objects import scoped_object
from ..knx.parameters import ChargerParameters

RESET_OBJECT: Final = 5
"""Object number of "[EVSE] Reset" (DPT 1.015, 1 = reset)."""

_CONNECTOR_OFF: Final = ("block", "charging_time_1", "charging_time_2", "charging_time_3")


def reset_values(params: ChargerParameters) -> dict[int, Any]:
    """Return object number → value the charger holds right after a Reset (see module docstring)."""
    values: dict[int, Any] = {
        scoped_object("maximum_charging_session", None).number: params.max_session_time * 60,
        scoped_object("auto_disconnect", None).number: params.auto_disconnect,
        scoped_object("pause_restart", None).number: True,
        scoped_object("block", None).number: False,
        scoped_object("auto_start", None).number: params.auto_start,
    }
    for connector in range(1, params.connectors + 1):
        for key in _CONNECTOR_OFF:
            values[scoped_object(key, connector).number] = False
    return values
