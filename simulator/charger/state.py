"""Runtime state of a simulated charger: connector states, charging windows, connectors, reporters."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from simulator.ev import ElectricVehicle


class ConnectorState(enum.Enum):
    """What a connector is doing; pilot, OCPP and the individual objects derive from it."""

    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    CONNECTED = "connected"
    CHARGING = "charging"
    SUSPENDED_EV = "suspended_ev"
    SUSPENDED_EVSE = "suspended_evse"
    FINISHED = "finished"
    FAULTED = "faulted"


@dataclass(frozen=True, slots=True)
class ChargingWindow:
    """A daily charging-time window (local time); ``end`` before ``start`` wraps past midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Return True when ``moment`` lies in [start, end)."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@dataclass(slots=True)
class Connector:
    """Runtime state of one connector (1 or 2). Units: A per phase, W, Wh, s."""

    index: int
    current_limit: float
    power_limit: float
    ev: ElectricVehicle | None = None
    session_active: bool = False
    finished: bool = False
    stopped: bool = False
    blocked: bool = False
    locked: bool = False
    rfid_tag: str = ""
    session_time: float = 0.0
    session_energy: float = 0.0
    offered: float = 0.0
    charging_time_enabled: list[bool] = field(default_factory=lambda: [False, False, False])

    @property
    def current(self) -> float:
        """A per phase the EV draws now."""
        return 0.0 if self.ev is None else self.ev.current


@dataclass(slots=True)
class _Reporter:
    mode: str
    threshold: float
    period: float
    last: Any = None
    next_cycle: float = 0.0
