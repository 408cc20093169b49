"""A real KNX/IP bus for end-to-end tests and the demo: knxd inside a private network namespace.

Command line (prints JSON on stdout; exit status 0 ok, 1 error, 2 bus unavailable on this machine)::

    python -m knxbus start [--owner-pid PID] [--name NS] [--port 3671] [--field F]
    python -m knxbus stop [NS ...]          # no NS: the buses owned by the calling process
    python -m knxbus restart NS             # restart knxd only, same namespace
    python -m knxbus status [NS ...]
    python -m knxbus cleanup
    python -m knxbus forward NS HOST_PORT [NS_PORT] [--host 127.0.0.1]   # runs until SIGTERM

A started bus is owned by the parent process unless ``--owner-pid`` says otherwise (see
docs/test-bus.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from .forward import forward_tcp
from .knxd import KnxdBus, probe
from .netns import GATEWAY_IP, KNX_PORT, NS_PREFIX, BusError, BusUnavailableError, list_namespaces
from .state import _teardown_namespace, bus_status, cleanup_stale

# --------------------------------------------------------------------------- command line


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=None, sort_keys=True), flush=True)


async def _serve_forward(ns: str, host_port: int, ns_port: int, host: str) -> None:
    forwarder = await forward_tcp(host_port, ns, ns_port, host=host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _print({"forwarding": f"{host}:{forwarder.port}", "ns": ns, "ns_port": ns_port, "pid": os.getpid()})
    await stop.wait()
    await forwarder.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m knxbus``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m knxbus", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", help="default: $KNXEVSE_STATE_DIR, /run/knxevse, ...")
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start", help="create a namespace with knxd; print its state")
    p_start.add_argument("--owner-pid", type=int, default=os.getppid(), help="default: the parent process")
    p_start.add_argument("--name", help=f"namespace name (must start with {NS_PREFIX})")
    p_start.add_argument("--port", type=int, default=KNX_PORT)
    p_start.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for knxd")
    p_start.add_argument("--field", help="print only this field of the state, as plain text")
    p_stop = sub.add_parser("stop", help="stop buses (default: those owned by the parent process)")
    p_stop.add_argument("ns", nargs="*")
    p_restart = sub.add_parser("restart", help="restart knxd in an existing bus")
    p_restart.add_argument("ns")
    p_status = sub.add_parser("status", help="list buses")
    p_status.add_argument("ns", nargs="*")
    sub.add_parser("cleanup", help="tear down buses whose owner process is dead")
    p_fwd = sub.add_parser("forward", help="forward host TCP HOST_PORT into the namespace (foreground)")
    p_fwd.add_argument("ns")
    p_fwd.add_argument("host_port", type=int)
    p_fwd.add_argument("ns_port", type=int, nargs="?")
    p_fwd.add_argument("--host", default=GATEWAY_IP)
    args = parser.parse_args(argv)
    state_dir = args.state_dir
    try:
        if args.command == "start":
            bus = KnxdBus(
                ns=args.name,
                port=args.port,
                owner_pid=args.owner_pid,
                state_dir=state_dir,
                ready_timeout=args.timeout,
            ).start()
            state = bus.state()
            if args.field:
                print(state[args.field], flush=True)
            else:
                _print(state)
        elif args.command == "stop":
            names = args.ns or [
                b["ns"] for b in bus_status(state_dir) if b["has_state"] and b["owner_pid"] == os.getppid()
            ]
            stopped = []
            for ns in names:
                try:
                    left = KnxdBus.attach(ns, state_dir=state_dir).stop()
                except BusError:
                    left = _teardown_namespace(ns, None)[1] if ns in list_namespaces() else []
                stopped.append({"ns": ns, "left_pids": left})
            _print({"stopped": stopped})
        elif args.command == "restart":
            bus = KnxdBus.attach(args.ns, state_dir=state_dir)
            seconds = bus.restart()
            _print({**bus.state(), "restart_seconds": seconds})
        elif args.command == "status":
            buses = [b for b in bus_status(state_dir) if not args.ns or b["ns"] in args.ns]
            for b in buses:
                b["probe"] = probe(b["ns"], timeout=0.3) if b["ns_exists"] and b["knxd_running"] else None
            _print({"buses": buses})
        elif args.command == "cleanup":
            _print({"cleaned": cleanup_stale(state_dir)})
        elif args.command == "forward":
            asyncio.run(_serve_forward(args.ns, args.host_port, args.ns_port or args.host_port, args.host))
    except BusUnavailableError as err:
        _print({"error": str(err), "unavailable": True})
        return 2
    except (BusError, OSError) as err:
        _print({"error": str(err)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
