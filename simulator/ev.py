"""Electric-vehicle model: a battery behind an on-board charger that follows the pilot current.

Source: manual, "Technical data" (charging current 6 to 32 A, 230 V per phase) and the charging
states of "Connector → Charging status" (the EV can suspend a session: "Charging suspended by EV").
What the manual leaves open is chosen here and documented on each attribute:

- The EV draws at most the current the charger offers (A per phase) on ``EvSpec.phases`` phases
  (capped by the charger's phases). An offer below ``MIN_PILOT_CURRENT`` (6 A) means "no charging":
  the EV draws nothing and the charger reports "suspended by EVSE".
- Charge curve: the EV accepts its full ``max_current`` up to ``taper_soc`` (80 % by default); above it
  the accepted current falls linearly to ``end_current`` at 100 % SoC (constant-voltage phase).
- The EV reaches a new current with a first-order lag (time constant ``response_time`` s, 2 s by
  default; IEC 61851-1 gives an EV 5 s to follow a lower pilot current).
- When the state of charge reaches ``target_soc`` the EV suspends charging by itself ("full"): it
  draws nothing and ``suspended`` is True until it is unplugged or its target is raised.

Units: currents A per phase, power W, energy Wh, capacity kWh, SoC as a fraction 0-1. No time is read
from a clock: ``step(dt)`` advances the model by ``dt`` simulated seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

VOLTAGE: Final = 230.0
"""V phase-to-neutral (manual, "Technical data")."""
MIN_PILOT_CURRENT: Final = 6.0
"""A: lowest current a charger may offer; below it the EV cannot charge (IEC 61851-1)."""


@dataclass(frozen=True, slots=True)
class EvSpec:
    """What a car model can do.

    - ``capacity_kwh``: usable battery capacity (kWh, > 0).
    - ``phases``: phases its on-board charger uses (1-3).
    - ``max_current``: highest current per phase it accepts (A).
    - ``taper_soc``: SoC (0-1) above which the accepted current tapers.
    - ``end_current``: accepted current at 100 % SoC (A), the end of the taper.
    - ``efficiency``: fraction of drawn energy stored in the battery.
    - ``response_time``: time constant (s) of its reaction to a new pilot current.

    Raises ValueError for values outside these ranges.
    """

    capacity_kwh: float = 60.0
    phases: int = 3
    max_current: float = 16.0
    taper_soc: float = 0.8
    end_current: float = 2.0
    efficiency: float = 0.92
    response_time: float = 2.0

    def __post_init__(self) -> None:
        """Check the ranges."""
        if not self.capacity_kwh > 0:
            raise ValueError(f"capacity_kwh must be > 0, got {self.capacity_kwh!r}")
        if self.phases not in (1, 2, 3):
            raise ValueError(f"phases must be 1, 2 or 3, got {self.phases!r}")
        if not 0 < self.max_current <= 80:
            raise ValueError(f"max_current must be in (0, 80] A, got {self.max_current!r}")
        if not 0 <= self.taper_soc <= 1:
            raise ValueError(f"taper_soc must be in [0, 1], got {self.taper_soc!r}")
        if not 0 <= self.end_current <= self.max_current:
            raise ValueError(f"end_current must be in [0, max_current], got {self.end_current!r}")
        if not 0 < self.efficiency <= 1:
            raise ValueError(f"efficiency must be in (0, 1], got {self.efficiency!r}")
        if self.response_time < 0:
            raise ValueError(f"response_time must be >= 0 s, got {self.response_time!r}")


@dataclass(slots=True)
class ElectricVehicle:
    """One car: battery state and the current it draws.

    ``soc`` and ``target_soc`` are fractions (0-1). ``current`` is the actual current per phase (A)
    after the last ``step``; ``energy_wh`` counts everything drawn from the charger since creation.
    """

    name: str
    spec: EvSpec = field(default_factory=EvSpec)
    soc: float = 0.3
    target_soc: float = 1.0
    current: float = 0.0
    energy_wh: float = 0.0
    _full: bool = False

    def __post_init__(self) -> None:
        """Check the SoC values; raises ValueError outside 0-1."""
        for name in ("soc", "target_soc"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        self._full = self.soc >= self.target_soc

    @property
    def suspended(self) -> bool:
        """True when the EV has stopped charging by itself because it reached ``target_soc``."""
        return self._full

    def set_target(self, target_soc: float) -> None:
        """Change the target SoC (0-1); a higher target than the SoC resumes a full EV."""
        if not 0 <= target_soc <= 1:
            raise ValueError(f"target_soc must be in [0, 1], got {target_soc!r}")
        self.target_soc = target_soc
        self._full = self.soc >= target_soc

    def phases_on(self, charger_phases: int) -> int:
        """Phases the EV draws on when plugged into a charger with ``charger_phases`` phases."""
        return min(self.spec.phases, charger_phases)

    def accepted_current(self) -> float:
        """Return the A per phase the EV accepts at its SoC (charge curve, taper above ``taper_soc``)."""
        spec = self.spec
        if self._full:
            return 0.0
        if self.soc <= spec.taper_soc or spec.taper_soc >= 1:
            return spec.max_current
        fraction = (1.0 - self.soc) / (1.0 - spec.taper_soc)
        return spec.end_current + (spec.max_current - spec.end_current) * fraction

    def step(self, offered: float, dt: float, charger_phases: int = 3) -> float:
        """Advance ``dt`` s with ``offered`` A per phase on the pilot; return the drawn current (A/phase).

        An offer below 6 A (or a full battery) makes the current fall to zero with the EV's time
        constant. Energy and SoC integrate the drawn power ``current x 230 V x phases``.
        Raises ValueError for a negative ``dt``.
        """
        if dt < 0:
            raise ValueError(f"dt must be >= 0, got {dt!r}")
        target = 0.0 if offered < MIN_PILOT_CURRENT else min(offered, self.accepted_current())
        tau = self.spec.response_time
        previous = self.current
        if dt == 0:
            new = previous
        elif tau <= 0:
            new = target
        else:
            new = target + (previous - target) * math.exp(-dt / tau)
        if abs(new - target) < 0.01:
            new = target
        self.current = new
        phases = self.phases_on(charger_phases)
        energy = (previous + new) / 2 * VOLTAGE * phases * dt / 3600.0
        self.energy_wh += energy
        self.soc = min(1.0, self.soc + energy * self.spec.efficiency / (self.spec.capacity_kwh * 1000.0))
        if self.soc >= self.target_soc:
            self._full = True
        return new

    def power(self, charger_phases: int = 3) -> float:
        """W drawn now: ``current x 230 V x phases``."""
        return self.current * VOLTAGE * self.phases_on(charger_phases)

    def unplugged(self) -> None:
        """Reset what only exists while plugged in: the drawn current."""
        self.current = 0.0
