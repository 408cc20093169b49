"""The soak's faults: the kinds, one injected fault, and the seeded schedule."""

from __future__ import annotations

import random
from dataclasses import dataclass

FAULT_KINDS = (
    "knxd_restart",
    "charger_mute",
    "charger_kill",
    "meter_unavailable",
    "meter_unknown",
    "meter_non_numeric",
    "meter_stale",
    "washing_machine",
    "malformed",
    "ha_reload",
)


@dataclass
class Fault:
    """One injected fault: ``kind`` at simulated second ``at`` for ``duration`` s on ``target``."""

    kind: str
    at: float
    duration: float = 0.0
    target: str | None = None
    done: bool = False
    started: bool = False

    @property
    def end(self) -> float:
        return self.at + self.duration


def fault_schedule(rng: random.Random, total: float, rate: float, chargers: list[str]) -> list[Fault]:
    """At least one fault of each kind, ``rate`` per kind and simulated hour, between 10 min and 20 min before the end."""
    lo, hi = 600.0, max(900.0, total - 1500.0)
    faults: list[Fault] = []
    for kind in FAULT_KINDS:
        for _ in range(max(1, round(rate * total / 3600.0))):
            at = round(rng.uniform(lo, hi))
            duration = {
                "charger_mute": rng.uniform(60, 240),
                "charger_kill": rng.uniform(60, 240),
                "meter_unavailable": rng.uniform(20, 120),
                "meter_unknown": rng.uniform(20, 120),
                "meter_non_numeric": rng.uniform(20, 120),
                "meter_stale": rng.uniform(45, 180),
                "washing_machine": rng.uniform(1800, 5400),
            }.get(kind, 0.0)
            target = rng.choice(chargers) if kind in ("charger_mute", "charger_kill", "malformed") else None
            faults.append(Fault(kind, at, round(duration), target))
    faults.sort(key=lambda f: f.at)
    return faults
