#!/usr/bin/env python3
"""Soak benchmark: a headless, time-compressed simulated day of the two-charger demo
house with the balancer in solar modes and random faults from the matrix injected.

Usage::

    scripts/soak                    # 24 simulated hours (about 5-6 min on a 2-core machine)
    scripts/soak --hours 2          # the CI version (.ci/run): every fault kind at least once
    scripts/soak --seed 7 --fault-rate 1 --report /tmp/soak.json

Exit 0 when every assertion holds, 1 otherwise (the failed ones are printed), as pytest does.

What runs (all real, nothing faked between the pieces)
    Home Assistant (pytest-homeassistant-custom-component's ``hass``) with this integration set up from
    one config entry: the hub (tunnelling to knxd), the demo's two charger subentries (Garage: VE 742,
    two single-phase connectors on L1; Carport: VE 222, three-phase) and the demo's balancing-group
    subentry "House" (3 x 16 A, 10 % reserve margin, per-phase current meters) with the modes
    Carport fast, Garage connector 1 solar, Garage connector 2 Min+Solar. The simulator
    (``simulator.runner.Simulation`` on ``installations/demo.yaml``: richardsonpy house load, pvlib PV
    of 8 kWp, four cars on their daily schedule, seeded) drives both chargers, each on a KNX/IP tunnel
    of its own, through knxd in a private network namespace (``knxbus/``, the e2e fixtures).
    The meter entity is set from the simulator's meter (its net power, every 2 simulated s), as a
    meter integration would. The module that does it is ``tests/soak/test_soak.py``; this script runs
    it with pytest (the ``hass`` fixture) and the options below as environment variables.

Time compression: one frozen clock, stepped
    freezegun freezes the process's clock (``time.time``, ``time.monotonic``, ``datetime.now``; Home
    Assistant's event loop reads ``time.monotonic``), so Home Assistant, the integration's timers
    (balancing rounds, ramp-up, min on/off, meter timeout, liveness reads, idle probe) and xknx's timers
    (heartbeat, acknowledgement timeouts, rate limiter) all run on simulated time. A lock step of
    ``--step`` simulated seconds (1 s) advances the simulator's physics, publishes the meter, then moves
    the clock forward *timer by timer*: to each timer due within the step (the loop runs it), and after
    each move the bus is let settle, in real time, until no frame is in flight (from the tunnelling
    request to knxd's L_DATA.con, so xknx's 1 s ACK timeout never fires on a busy machine), none is
    queued in any xknx client and nothing arrived for two polls (capped at 0.25 real s: after a knxd
    restart a request really is lost). So every timer runs at its own simulated instant, every telegram
    crosses knxd, and only idle time is skipped: about 150-200 simulated s per real second.

Faults (seeded; at least one of each kind, ``--fault-rate`` per kind and simulated hour, between
10 min after the start and 25 min before the end)
    ``knxd_restart`` (``KnxdBus.restart``); ``charger_mute`` (1-4 min, ``SimulatedCharger.mute``, no
    telegram in or out); ``charger_kill`` (1-4 min, its tunnel closed, then a new one);
    ``meter_unavailable`` / ``meter_unknown`` / ``meter_non_numeric`` (20-120 s) and ``meter_stale``
    (45-180 s, the state no longer reported); ``washing_machine`` (+2.3 kW house load for 30-90 min,
    ``Simulation.extra_load_w``); ``malformed`` (two wrong-length telegrams from a charger,
    ``send_malformed``); ``ha_reload`` (the config entry reloaded mid-session: a Home Assistant
    restart of the integration, its states restored).

Figures (printed as JSON at the end, one progress line per simulated hour)
    simulated hours, real seconds, speed; per phase, from the simulator's true currents (house and PV
    spread over the phases plus each charger's draw) against the group's budget (16 A - 10 % =
    14.4 A): seconds and ampere-seconds over budget, split into ``house`` (the chargers draw nothing
    on that phase, or within 10 s of a rise of the other load: a step no controller can see before the
    next meter update), ``fault`` (while a fault keeps Home Assistant from commanding a charger: 60 s
    after a knxd restart or a reload, a muted or killed charger until 30 s after it is back),
    ``uncommanded`` (within 10 s of a charger drawing while the group has it paused: the demo
    chargers' auto-start on plug-in drops an earlier Stop, a step the group can only answer) and
    ``controller`` (all the rest), and seconds over the breaker (16 A); per connector, the energy the
    simulator delivered (sum of its session-energy increments) against the lifetime-energy sensor
    after a final read of every session energy with the physics stopped, and the difference in %;
    asyncio tasks, Python objects (after ``gc.collect``) and RSS at every simulated hour and at the
    end (see "Memory" below), and the object types that grew most from hour 1 to the end
    (``objects_growth_by_type``); the warnings and errors logged, and those no injected fault
    explains; the faults injected.

Memory: what the object count measures
    The criterion is growth after the first simulated hour, so what legitimately fills over several
    hours, or what only the test harness keeps, must not be counted, and nothing else may be hidden:
    - bounded caches are emptied right before each sample, and what that frees is reported as
      ``bounded_cache_objects`` (``objects_raw`` is the count before) with each cache's fill
      (``caches``). There is one, the simulator's ``encode_value`` ``lru_cache`` (maxsize 8,192;
      ``BOUNDED_CACHES`` in the module): it memoises the encoding of every (object, value) a charger
      sends, so every new session-energy or power value adds a ``DPTArray``; left alone it fills until about
      hour 9-10 and then stays flat. ``gc.get_referrers`` showed it holds all the ``DPTArray``s that
      accumulate (all but the few of telegrams in transit). It is the test side's, not the
      integration's. Only that cache's own objects are excluded, not a type: a ``DPTArray`` kept
      anywhere else still counts;
    - the harness keeps nothing per event: the log watch keeps plain values (time, level, logger,
      message, the exception's one-line summary), no ``LogRecord`` (whose ``exc_info`` keeps
      tracebacks, frames and their locals alive); pytest's log capture is off (``-p no:logging``: its
      handlers kept every record of the run); and the call history of the storage mocks of
      pytest-homeassistant-custom-component (``Store._async_write_data`` keeps every restore-state
      dump it was called with) is dropped before each sample (``harness_mock_calls_dropped``).
    What remains counts, Home Assistant's own included: each config-entry reload leaves its 7 reset
    ``EntityPlatform`` objects (and their ``PlatformData``) in ``hass.data["entity_platform"]``
    (``EntityComponent.async_unload_entry`` resets a platform but does not remove it; Home Assistant
    core, a few dozen objects per reload), within the tolerance below.

Assertions (exit 1 when one fails)
    - zero seconds over the budget by the controller's doing (``over_budget_controller_s``);
    - energy: the lifetime sensors' total within 0.1 % of the simulator's, and each connector within
      0.1 % or 2 Wh (whole-Wh session readings);
    - no growth after the first simulated hour: tasks at the end <= tasks at hour 1; Python objects
      (bounded caches emptied, see "Memory") <= 2 % + 2,000 more; RSS <= 32 MB more;
    - every warning or error is explained: by a fault active at the time (until 5 simulated min after
      it ended), each kind with its list of (logger, message) patterns (``EXPLAINED`` in the module),
      or by ``ALWAYS`` (Home Assistant's notices that are not about this integration);
    - every fault kind was injected at least once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak benchmark: a time-compressed simulated day with faults.")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--seed", type=int, default=1, help="fault schedule and EV jitter (default 1)")
    parser.add_argument("--step", type=float, default=1.0, help="simulated s per lock step (default 1)")
    parser.add_argument(
        "--fault-rate", type=float, default=0.5, help="faults of each kind per simulated hour (default 0.5, at least 1)"
    )
    parser.add_argument("--report", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.hours <= 0 or args.step <= 0:
        parser.error("--hours and --step must be > 0")
    os.environ.update(
        {
            "SOAK_HOURS": str(args.hours),
            "SOAK_SEED": str(args.seed),
            "SOAK_STEP": str(args.step),
            "SOAK_FAULT_RATE": str(args.fault_rate),
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


if __name__ == "__main__":
    sys.exit(main())
