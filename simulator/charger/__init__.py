"""A simulated KNX EV charger (VE 741/742/221/222) built on the integration's object table.

Configured from a charger subentry's data ``{name, individual_address, model, parameters,
group_addresses}``, the dict that sets up Home Assistant. `state`: connector states; `model`:
`ChargerModel` (sessions, limits, physics, timers); `objects`: `SimulatedCharger` (objects and
telegrams); `host`: `KnxHost`. Source: ``charger-ets-manual.md``; the bus model,
time and the choices where the manual is silent: docs/simulator.md.
"""

from .host import KnxHost
from .model import ChargerModel, SendFn
from .objects import MAX_SESSION_TIME_VALUE, OCPP_STATE, PILOT_STATE, SimulatedCharger, encode_value
from .state import ChargingWindow, Connector, ConnectorState

__all__ = [
    "MAX_SESSION_TIME_VALUE",
    "OCPP_STATE",
    "PILOT_STATE",
    "ChargerModel",
    "ChargingWindow",
    "Connector",
    "ConnectorState",
    "KnxHost",
    "SendFn",
    "SimulatedCharger",
    "encode_value",
]
