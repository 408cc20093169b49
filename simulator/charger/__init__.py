"""A simulated KNX EV charger (VE 741/742/221/222) built on the integration's object table.

Source: ``charger-ets-manual.md`` (all sections; each behaviour below names its section). The
charger is configured from a charger subentry's data ``{name, individual_address, model, parameters,
group_addresses}`` (see ``custom_components.knx_evse.const``), the same dict that sets up Home
Assistant, so one installation file configures both sides.

Bus model
    The charger listens on every group address of its writable objects (GroupValueWrite) and answers
    GroupValueRead on the addresses of its readable objects with GroupValueResponse. It transmits only
    on the *first* (sending) address of a status object. A telegram it sends is also delivered to its
    own writable objects linked to the same address (as on a real device, where the built-in master's
    outputs reach the charger's own inputs). Payloads are encoded and decoded with
    ``custom_components.knx_evse.dpt`` by object; a payload of the wrong length is ignored and counted
    in ``rejected``.

    Sending goes through a ``send(telegram)`` callable: inject one to capture telegrams in tests, or
    attach the charger to a `KnxHost` (one XKNX tunnel, shared by several simulated devices, or owned).

Time
    No real sleeps: ``step(dt)`` advances the model by ``dt`` simulated seconds (physics, timers,
    cyclic sending, fail-safe, the built-in master). ``simulator.runner`` drives ``step`` from asyncio
    at a configurable rate and time compression.

Choices where the manual is silent (all in one place)
    - Limits: current limits are A per phase of the charging current (the pilot current); power limits
      are W over all phases. Object 1/2 are the charger's totals, 31/32 and 80/81 each connector's.
      The offered current is the smallest of: Maximum User Current, the total current limit, total
      power limit / (230 V x phases in use), Contracted Power / (230 V x phases), each split 50/50 when
      two vehicles are connected ("no transfer of unused power"), then the connector's own limits. A
      single-phase two-connector charger wired to different phases ("Phase connection: different")
      does not split. An offer below 6 A means no charging ("suspended by EVSE").
    - Written limits are clamped to 0…Maximum User Current (A) and 0…the charger's maximum power (W);
      the status objects (3/4, 61/63, 110/112) report the clamped value, or the fail-safe value while
      fail-safe is active (object 3/4 only: "Fail-safe values are set as new limits").
    - Fail-safe: any write to a charger object (EVSE or connector scope, not the balancing inputs)
      counts as "a signal at the function block inputs". After ``fail_safe_timeout`` s without one,
      the charger applies the fail-safe current (and that current x 230 V x phases as power) and sends
      10 = 1, 62/64 (per connector: the fail-safe value now applied, 0 when inactive). The next write
      leaves fail-safe and restores the limits in force before it. 11/12 always report the configured
      fail-safe current and power.
    - Sessions: plugging in starts a session when auto-start is on (parameter, object 26), when the
      car presents an authorised RFID tag (object 67 then reports it; "" otherwise), or on a start
      command (33/82). A stop command suspends charging ("suspended by EVSE"); start resumes it. 18
      pauses/restarts all connectors. The session ends when the driver leaves (``end_session``), on
      ``max session time`` (parameter in minutes, object 6 in seconds, 0 = always on) or on unlock
      (65/114); the connector then shows "finished" and is unlocked when auto-disconnect is on
      (parameter, object 7), else stays locked until 65/114. Session time counts from the session's
      start; session time and energy are kept after unplugging until the next session starts.
    - Block: 25 prevents new sessions (running ones continue); idle connectors report "unavailable".
      73/122 block one connector: charging there is suspended and no session starts.
    - Reset (5 = 1) and ``restart()``: limits, overrides (6, 7, 26), start/stop, pause, blocks,
      fail-safe, errors and session values go back to the ETS parameters; RFID tags are kept; plugged
      cars stay plugged (auto-start applies again); "Delay at start" and "Send status at init" run
      again. Nothing (not even read responses) is sent during "Delay at start".
    - Charging-time objects (54/57/60, 103/106/109) enable the windows given in the simulator-only
      wiring (``charging_times``); the windows themselves are set in the manufacturer's app, not via
      KNX. An enabled window restricts charging to its hours; with none enabled there is no limit.
    - States (20.1219 pilot / 20.1220 OCPP): no car → Standby/Available; blocked → Unavailable;
      car waiting for a start → Vehicle detected/EVConnected; charging → Ready charging/Charging;
      suspended by the EVSE → Suspended_EV_SE/SuspendedEVSE; EV full → Suspended_EV/SuspendedEV;
      session over → Finished/Occupied; error → ERROR/Faulted. "Reserved" is never entered (no KNX
      object reserves a connector).
    - Status sending: "Upon change" sends when ``|new - last sent|`` exceeds the threshold (strictly);
      the baseline is the value at the end of the start-up delay. Current settings cover 14-17 and
      48-51/97-100, power 13 and 47/96, energy 46/95, time 45/94, charging status 34-44/83-93. All
      other status objects are sent on any change.
"""

from .host import DeviceTunnel, KnxHost
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
    "DeviceTunnel",
    "KnxHost",
    "SendFn",
    "SimulatedCharger",
    "encode_value",
]
