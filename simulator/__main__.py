"""Command line of the simulator.

``python -m simulator run --installation FILE --gateway 127.0.0.1 [--speed 1]`` connects to a KNX/IP
tunnelling server (inside the bus's network namespace: run it with ``ip netns exec NS``, see
``knxbus/``) and runs the installation's chargers, EVs and house until SIGINT/SIGTERM or
``--duration`` real seconds; it prints a status line every ``--status-every`` s and exits 0.
``--no-bus`` runs the same model without KNX (e.g. to produce a meter file only).

``python -m simulator subentries --installation FILE`` prints the chargers' subentry data as JSON
(what Home Assistant's config entries get) and the meter's addresses.

Meter output: ``--meter-file PATH`` keeps a JSON file with the grid meter replaced atomically at
every meter update (``{"time", "power_w", "current_a", "l1_a", "l2_a", "l3_a", "house_w", "pv_w",
"chargers_w"}``; W and A, negative while exporting). With ``meter.group_addresses`` in the
installation the simulator also sends the meter on KNX (see ``simulator/runner.py``).

Exit status: 0 after a clean stop, 1 for a bad installation file, 2 when the gateway is unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .installation import InstallationError, load_installation
from .runner import Simulation

_LOGGER = logging.getLogger("simulator")


def build_parser() -> argparse.ArgumentParser:
    """Build the ``python -m simulator`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run chargers, EVs and house on a KNX/IP bus")
    run.add_argument("--installation", required=True, help="installation YAML/JSON (or a bundled name: demo)")
    run.add_argument("--gateway", default="127.0.0.1", help="KNX/IP tunnelling server (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=3671, help="its UDP port (default 3671)")
    run.add_argument(
        "--local-ip", default=None, help="local address for the tunnel (default: same as gateway if loopback)"
    )
    run.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second (default 1)")
    run.add_argument(
        "--tick", type=float, default=0.25, help="real seconds between model steps (default 0.25)"
    )
    run.add_argument("--duration", type=float, default=None, help="stop after this many real seconds")
    run.add_argument("--start", default=None, help="simulated start, ISO date-time (default: the file's)")
    run.add_argument("--seed", type=int, default=0, help="varies the EV schedule (default 0)")
    run.add_argument("--meter-file", type=Path, default=None, help="keep the grid meter as JSON in this file")
    run.add_argument("--status-every", type=float, default=10.0, help="real seconds between status lines")
    run.add_argument(
        "--connect-timeout", type=float, default=30.0, help="keep retrying the gateway this long (s)"
    )
    run.add_argument("--no-bus", action="store_true", help="run the model without KNX")
    run.add_argument("-v", "--verbose", action="store_true", help="log session events and KNX details")

    subentries = sub.add_parser("subentries", help="print the chargers' subentry data as JSON")
    subentries.add_argument("--installation", required=True)
    return parser


async def _run(args: argparse.Namespace) -> int:
    installation = load_installation(args.installation)
    start = datetime.fromisoformat(args.start) if args.start else None
    sim = Simulation(
        installation,
        speed=args.speed,
        tick=args.tick,
        start=start,
        meter_file=args.meter_file,
        seed=args.seed,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(
        f"simulator: preparing house model ({installation.house.annual_kwh:.0f} kWh/a, {installation.house.kwp} kWp)",
        flush=True,
    )
    await loop.run_in_executor(None, sim.house.load_minutes, sim.now.date())
    await loop.run_in_executor(None, sim.house.pv_minutes, sim.now.date())
    if not args.no_bus:
        local_ip = args.local_ip or (args.gateway if args.gateway.startswith("127.") else None)
        try:
            await sim.connect(args.gateway, args.port, local_ip, retry_for=args.connect_timeout)
        except Exception as err:  # any connection failure ends the run the same way
            print(f"simulator: cannot connect to {args.gateway}:{args.port}: {err}", file=sys.stderr)
            return 2
        print(f"simulator: connected to {args.gateway}:{args.port}", flush=True)
    names = ", ".join(f"{c.name} ({c.model})" for c in sim.chargers.values())
    print(f"simulator: running {names} at speed {args.speed:g} from {sim.now.isoformat()}", flush=True)
    try:
        await sim.run(
            args.duration,
            stop,
            on_status=lambda line: print(line, flush=True),
            status_every=args.status_every,
        )
    finally:
        with contextlib.suppress(Exception):
            await sim.disconnect()
    print("simulator: stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "subentries":
            installation = load_installation(args.installation)
            print(
                json.dumps(
                    {
                        "chargers": list(installation.chargers),
                        "meter": {
                            "update_period": installation.meter.update_period,
                            "current_ga": installation.meter.current_ga,
                            "power_ga": installation.meter.power_ga,
                        },
                    },
                    indent=2,
                )
            )
            return 0
        return asyncio.run(_run(args))
    except (InstallationError, OSError) as err:
        print(f"simulator: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
