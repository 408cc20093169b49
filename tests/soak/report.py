"""The soak's figures and its assertions (scripts/soak.py, "Figures" and "Assertions")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .faults import FAULT_KINDS


@dataclass
class Figures:
    """What the run measures (see scripts/soak.py)."""

    over_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_as: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_startup_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_house_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_fault_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_uncommanded_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    """Seconds within RISE_WINDOW of a charger drawing while the group has it paused."""
    over_controller_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_controller_as: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    over_breaker_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    peak_a: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    settle_overruns: int = 0
    timer_stops: int = 0
    steps: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    controller_events: list[str] = field(default_factory=list)
    """The first 50 seconds counted as over budget by the controller's doing, with the currents."""


def check(report: dict[str, Any]) -> list[str]:
    """The run's assertions (scripts/soak.py); returns what failed."""
    failed = []
    if sum(report["over_budget_controller_s"]) > 0:
        failed.append(f"over the breaker budget by the balancer's doing: {report['over_budget_controller_s']} s per phase")
    for key, row in report["energy"].items():
        if row["lifetime_wh"] is None:
            failed.append(f"{key}: lifetime energy unknown")
    total = report["energy_total"]
    if total["diff_pct"] is None or abs(total["diff_pct"]) > 0.1:
        failed.append(f"energy: lifetime sensors {total['lifetime_wh']} Wh vs simulator {total['simulator_wh']} Wh")
    for key, row in report["energy"].items():
        if row["diff_pct"] is not None and abs(row["diff_pct"]) > 0.1 and abs(row["lifetime_wh"] - row["simulator_wh"]) > 2:
            failed.append(f"energy {key}: {row['lifetime_wh']} Wh vs {row['simulator_wh']} Wh ({row['diff_pct']} %)")
    base, end = report["resources_hour1"], report["resources_end"]
    if base is None:
        failed.append("the run ended before the first simulated hour: no baseline for memory and tasks")
    else:
        if end["tasks"] > base["tasks"]:
            failed.append(f"asyncio tasks grew: {base['tasks']} at hour 1, {end['tasks']} at the end")
        if end["objects"] > base["objects"] * 1.02 + 2000:
            top = ", ".join(f"{k} +{v}" for k, v in list(report["objects_growth_by_type"].items())[:5])
            failed.append(
                f"Python objects grew: {base['objects']} at hour 1, {end['objects']} at the end "
                f"(bounded caches emptied; most grown: {top})"
            )
        if end["rss_mb"] > base["rss_mb"] + 32:
            failed.append(f"RSS grew: {base['rss_mb']} MB at hour 1, {end['rss_mb']} MB at the end")
    if report["log_unexplained"]:
        failed.append(f"{len(report['log_unexplained'])} warnings/errors no injected fault explains")
    missing = [k for k in FAULT_KINDS if not report["faults"].get(k)]
    if missing:
        failed.append(f"faults never injected: {missing}")
    return failed
