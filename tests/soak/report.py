"""The soak's figures, its assertions and the summary table of several seeds (scripts/soak.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .faults import KINDS, Fault, fault_kinds


def _phases() -> list[float]:
    return [0.0, 0.0, 0.0]


@dataclass
class Figures:
    """What the run measures (see scripts/soak.py)."""

    over_s: list[float] = field(default_factory=_phases)
    over_as: list[float] = field(default_factory=_phases)
    over_startup_s: list[float] = field(default_factory=_phases)
    over_house_s: list[float] = field(default_factory=_phases)
    over_fault_s: list[float] = field(default_factory=_phases)
    over_bounded_s: list[float] = field(default_factory=_phases)
    """Seconds while a fault with a bound was active (a charger that ignores its limit, a meter whose
    sign flips); each of its events is checked against its bound."""
    over_uncommanded_s: list[float] = field(default_factory=_phases)
    """Seconds within RISE_WINDOW of a charger drawing while the group has it paused."""
    over_controller_s: list[float] = field(default_factory=_phases)
    over_controller_as: list[float] = field(default_factory=_phases)
    over_breaker_s: list[float] = field(default_factory=_phases)
    peak_a: list[float] = field(default_factory=_phases)
    settle_overruns: int = 0
    timer_stops: int = 0
    steps: int = 0
    slowest_round_ms: float = 0.0
    """Real ms of the slowest balancing round (``BalancingGroup.async_run_round``)."""
    samples: list[dict[str, Any]] = field(default_factory=list)
    controller_events: list[str] = field(default_factory=list)
    """The first 50 seconds counted as over budget by the controller's doing, with the currents."""
    modes_not_restored: list[str] = field(default_factory=list)
    """After a reload or a restart: members whose charge mode is not what it was."""
    burst_taken: list[str] = field(default_factory=list)
    """After a burst from the faulty device: values of the charger it changed."""
    exceptions: list[str] = field(default_factory=list)
    """Exceptions the event loop's handler saw."""
    lingering_timers: int = 0
    """Home Assistant timers still scheduled when a stopped Home Assistant was left (cancelled then)."""
    lingering_examples: set[str] = field(default_factory=set)
    """Their jobs."""


def build_report(
    f: Figures,
    *,
    budget: tuple[float, float, float | None],
    run: dict[str, Any],
    true_wh: dict[str, float],
    lifetime: dict[str, float | None],
    resources: tuple[dict[str, Any] | None, dict[str, Any], dict[str, int]],
    faults: Sequence[Fault],
    injected: dict[str, int],
    log: dict[str, Any],
    sim_events: int,
) -> dict[str, Any]:
    """The run's figures as one JSON-ready dict (scripts/soak.py, "Figures")."""
    energy = {}
    for key, true in true_wh.items():
        got = lifetime.get(key)
        energy[key] = {
            "simulator_wh": round(true, 1),
            "lifetime_wh": got,
            "diff_pct": None if got is None or true == 0 else round((got - true) / true * 100, 4),
        }
    true_total = sum(true_wh.values())
    got_total = sum(v or 0.0 for v in lifetime.values())
    rows = [
        {"kind": x.kind, "scheduled": x.scheduled, "at": x.at, "duration": x.duration, "target": x.target, "events": x.events}
        for x in faults
    ]
    baseline, end, growth = resources
    return {
        **run,
        "budget_a": round(budget[0], 2), "breaker_a": budget[1],
        "over_budget_s": f.over_s, "over_budget_as": [round(x, 1) for x in f.over_as],
        "over_budget_startup_s": f.over_startup_s, "first_round_s": budget[2],
        "over_budget_house_s": f.over_house_s, "over_budget_fault_s": f.over_fault_s,
        "over_budget_bounded_s": f.over_bounded_s, "over_budget_uncommanded_s": f.over_uncommanded_s,
        "over_budget_controller_s": f.over_controller_s,
        "over_budget_controller_as": [round(x, 1) for x in f.over_controller_as],
        "over_budget_controller_at": f.controller_events,
        "over_breaker_s": f.over_breaker_s, "peak_a": [round(x, 2) for x in f.peak_a],
        "bounded_events": bounded_events(rows),
        "energy": energy,
        "energy_total": {
            "simulator_wh": round(true_total, 1), "lifetime_wh": round(got_total, 1),
            "diff_pct": round((got_total - true_total) / true_total * 100, 4) if true_total else None,
        },
        "resources_hour1": baseline, "resources_end": end, "resources_hourly": f.samples,
        "objects_growth_by_type": growth,
        "faults": injected, "faults_injected": rows,
        "lingering_timers_at_stop": f.lingering_timers, "lingering_timer_jobs": sorted(f.lingering_examples)[:20],
        **log,
        "modes_not_restored": f.modes_not_restored, "burst_taken": f.burst_taken, "exceptions": f.exceptions,
        "slowest_round_ms": round(f.slowest_round_ms, 1),
        "settle_overruns": f.settle_overruns, "timer_stops": f.timer_stops, "steps": f.steps, "sim_events": sim_events,
    }


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
        lines = report["log_unexplained"]
        failed.append(f"{len(lines)} warnings/errors no injected fault explains: " + " | ".join(lines[:5]))
    if report["log_repeated"]:
        lines = report["log_repeated"]
        failed.append(
            f"{len(lines)} conditions logged again while they lasted (or ended twice): " + " | ".join(map(str, lines[:5]))
        )
    for kind, row in report["bounded_events"].items():
        if row["longest_s"] > row["bound_s"]:
            failed.append(f"{kind}: an event {row['longest_s']:.0f} s over the budget (bound {row['bound_s']:.0f} s)")
    for key, label in (
        ("modes_not_restored", "charge modes not restored"),
        ("burst_taken", "values taken from the faulty device"),
        ("exceptions", "exceptions in the event loop"),
    ):
        if report[key]:
            failed.append(f"{label}: {report[key][:5]}")
    missing = [k for k in fault_kinds(report.get("connection", "tunnel")) if not report["faults"].get(k)]
    if missing:
        failed.append(f"faults never injected: {missing}")
    return failed


def bounded_events(faults: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per kind with a bound: its events, the longest, and the bound (s over the budget)."""
    out: dict[str, dict[str, float]] = {}
    for kind, spec in KINDS.items():
        if spec.bound is None:
            continue
        events = [e for f in faults if f["kind"] == kind for e in f["events"]]
        out[kind] = {"events": len(events), "longest_s": max(events, default=0.0), "bound_s": spec.bound}
    return out


TABLE_HEADER = (
    "| seed | over budget by the controller (s, L1/L2/L3) | energy error | tasks h1 → end "
    "| objects h1 → end | unexplained warnings | slowest round | result |"
)


def summary_row(seed: int, report: dict[str, Any] | None) -> str:
    """One markdown row of the summary table for ``report`` (None: the run gave no figures)."""
    if report is None:
        return f"| {seed} | – | – | – | – | – | – | no figures |"
    base, end = report["resources_hour1"] or {}, report["resources_end"]
    controller = "/".join(f"{s:g}" for s in report["over_budget_controller_s"])
    diff = report["energy_total"]["diff_pct"]
    energy = "–" if diff is None else f"{diff:+.3f} %"
    return (
        f"| {seed} | {controller} | {energy} | {base.get('tasks', '–')} → {end['tasks']} "
        f"| {base.get('objects', '–'):,} → {end['objects']:,} | {len(report['log_unexplained'])} "
        f"| {report['slowest_round_ms']:.0f} ms | {'pass' if not report['failed'] else 'FAIL'} |"
    )


def summary_table(rows: list[tuple[int, dict[str, Any] | None]]) -> str:
    """The markdown table of several seeds' reports."""
    return "\n".join([TABLE_HEADER, "|" + "---|" * 8, *(summary_row(seed, report) for seed, report in rows)])
