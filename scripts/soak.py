#!/usr/bin/env python3
"""Soak benchmark: a headless, time-compressed simulated day of the two-charger demo house, with the
balancer in solar modes and random faults from the fault matrix injected.

Usage::

    scripts/soak                              # 24 simulated hours, seed 1 (CI, .ci/run)
    scripts/soak --hours 2                    # a shorter run: every fault kind at least once
    scripts/soak --seed 7 --fault-rate 1 --report /tmp/soak.json
    scripts/soak --seeds 1-10 --fault-rate 1  # ten seeds one after another, one summary table

Exit 0 when every assertion holds, 1 otherwise (the failed ones are printed), as pytest does; with
``--seeds``, 1 when any seed failed. The design, the fault matrix, how the soak attributes warnings
and seconds over the budget, the figures and the assertions: docs/soak.md. The module that runs is
``tests/soak/test_soak.py``, with the options below as environment variables (``settings.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def seed_list(text: str) -> list[int]:
    """``"1-10"``, ``"3"`` or ``"1,4,7-9"`` → the seeds, in that order; raises ValueError."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValueError(f"empty range {part!r}")
        seeds.extend(range(first, last + 1))
    if not seeds:
        raise ValueError("no seed")
    return seeds


def run_one(args: argparse.Namespace) -> int:
    """One seed in this process (pytest runs tests/soak/test_soak.py)."""
    os.environ.update(
        {
            "SOAK_HOURS": str(args.hours),
            "SOAK_SEED": str(args.seed),
            "SOAK_STEP": str(args.step),
            "SOAK_FAULT_RATE": str(args.fault_rate),
            "SOAK_CONNECTION": args.connection.replace("-", "_"),
        }
    )
    if args.report is not None:
        os.environ["SOAK_REPORT"] = str(args.report.resolve())
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))  # as `python -m pytest` from the repository does
    import pytest  # noqa: PLC0415  (after the environment is set)

    return int(
        pytest.main(
            ["-p", "no:sugar", "-p", "no:cacheprovider", "-p", "no:logging", "-q", "-s", "--no-header",
             "tests/soak/test_soak.py"]
        )
    )


def run_seeds(args: argparse.Namespace, seeds: list[int]) -> int:
    """Each seed in a process of its own, one after another; then the summary table."""
    sys.path.insert(0, str(ROOT))
    from tests.soak.report import summary_table  # noqa: PLC0415

    folder = args.log_dir or Path(tempfile.mkdtemp(prefix="soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"soak: seeds {seeds}, {args.hours:g} h each, fault rate {args.fault_rate:g}, connection {args.connection}; "
          f"output in {folder}", flush=True)
    rows: list[tuple[int, dict[str, object] | None]] = []
    worst = 0
    for seed in seeds:
        report = folder / f"seed-{seed}.json"
        command = [sys.executable, __file__, "--seed", str(seed), "--hours", str(args.hours), "--step", str(args.step),
                   "--fault-rate", str(args.fault_rate), "--connection", args.connection, "--report", str(report)]
        began = time.monotonic()
        with (folder / f"seed-{seed}.log").open("w", encoding="utf-8") as log:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False).returncode
        figures = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
        rows.append((seed, figures))
        worst = max(worst, 1 if code else 0)
        failed = "" if figures is None else "; ".join(figures.get("failed", []))
        print(f"soak: seed {seed} {'passed' if code == 0 else 'FAILED'} in {time.monotonic() - began:.0f} s"
              + (f": {failed}" if failed else ""), flush=True)
    table = summary_table(rows)
    print(table, flush=True)
    if args.report is not None:
        args.report.write_text(json.dumps({str(s): r for s, r in rows}, indent=1) + "\n", encoding="utf-8")
    (folder / "table.md").write_text(table + "\n", encoding="utf-8")
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak benchmark: a time-compressed simulated day with faults.")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--seed", type=int, default=1, help="fault schedule and EV jitter (default 1)")
    parser.add_argument("--seeds", help="several seeds one after another, e.g. 1-10 or 1,4,7: one summary table")
    parser.add_argument("--step", type=float, default=1.0, help="simulated s per lock step (default 1)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.5, help="faults of each kind per simulated hour (default 0.5, at least 1)"
    )
    parser.add_argument(
        "--connection", choices=("tunnel", "core-knx"), default="tunnel",
        help="the hub's own tunnel to knxd (default), or Home Assistant's KNX integration's connection",
    )
    parser.add_argument("--report", type=Path, help="also write the figures to this JSON file (with --seeds: all seeds')")
    parser.add_argument("--log-dir", type=Path, help="with --seeds: where each seed's output and figures go")
    args = parser.parse_args(argv)
    if args.hours <= 0 or args.step <= 0:
        parser.error("--hours and --step must be > 0")
    if args.seeds is None:
        return run_one(args)
    try:
        seeds = seed_list(args.seeds)
    except ValueError as err:
        parser.error(f"--seeds: {err}")
    return run_seeds(args, seeds)


if __name__ == "__main__":
    sys.exit(main())
