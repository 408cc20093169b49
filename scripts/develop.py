"""The product's main job, end to end: Home Assistant driving simulated chargers over a real KNX/IP bus.

Started by ``scripts/develop`` (which runs set-up first). Steps:
1. a private network namespace with knxd serving KNX/IP tunnelling on its 127.0.0.1 (knxbus/);
2. the simulator in that namespace: the installation's chargers, EVs and house (real load profile and
   PV data), writing the grid meter to a JSON file;
3. Home Assistant in the namespace, with the knx_evse hub and charger subentries already configured
   from the same installation file, ``command_line`` sensors reading the meter file (grid power and
   currents, solar power) and ``template`` sensors for the grid's import and export;
4. a TCP forwarder so Home Assistant answers on the host's http://127.0.0.1:8123 and only there;
5. onboarding of the demo user through Home Assistant's API, and the HTTP settings confirmed;
6. the curated dashboard ``/ev-charging`` (scripts/demo_dashboard.py), built from the entity registry
   and made the default page. The Solar member gets a charging plan (``DEMO_PLAN``) through the action
   ``knx_evse.set_plan``, so the dashboard shows one.

``--site carpark`` runs the car park instead of the house (simulator/installations/carpark.yaml: 12
chargers behind two circuits, one metered; its meter's per-phase currents are ``command_line``
sensors too); ``--installation FILE`` any installation file. ``--with-core-knx`` also sets up Home Assistant's own KNX integration on the same bus and puts the
hub on its connection (no tunnel of the hub's own); ``--start`` sets the simulated start time (e.g.
19:00, when cars are plugged in);
``--dashboard-yaml PATH`` also writes the dashboard as YAML; ``run(args, on_ready=...)`` lets another
script (scripts/screenshot.py) act on the running stack instead of waiting.

Ctrl-C (or ``--headless --duration N`` running out) stops everything and removes the namespace.
With ``--headless`` the run ends with a check of the live state and exits 0 only if it passed: the
integration's entities have values, the dashboard's entities exist, and the Balancing limits each
group gave were above zero at some point and stayed within every unmetered circuit's budget while
it ran (scripts/demo_checks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from demo_checks import BudgetWatch, deprecation_reports, entity_prefixes, live_summary  # noqa: E402
from demo_dashboard import Meter, dashboard_entities  # noqa: E402
from demo_homeassistant import (  # noqa: E402
    DEMO_PASSWORD,
    DEMO_USER,
    Websocket,
    keep_http_config,
    onboard_tokens,
    write_config,
)
from demo_lovelace import install_dashboard  # noqa: E402
from homeassistant.config_entries import ConfigSubentryDataWithId  # noqa: E402

from knxbus.knxd import KnxdBus  # noqa: E402
from knxbus.state import cleanup_stale  # noqa: E402
from simulator.installation import INSTALLATIONS_DIR, Installation, load_installation  # noqa: E402

PY = sys.executable
HA_PORT = 8123
BUDGET_SAMPLE_PERIOD = 5.0
"""Real seconds between two readings of the Balancing limits by the headless budget check."""
COMPACT_FROM = 4
"""With more chargers than this the dashboard shows their power in one section (``compact``)."""
SITES = ("demo", "carpark")
"""The bundled installations ``--site`` runs (simulator/installations/<site>.yaml)."""
DASHBOARD_METERS = (
    Meter("demo_grid_power", "Grid power", trend=True, history=True),
    Meter("demo_solar_power", "Solar power", history=True),
    Meter("demo_grid_export", "Grid export"),
    Meter("demo_grid_import", "Grid import"),
    Meter("demo_grid_current", "Grid current"),
)
"""The house's sensors on the dashboard, by unique id, labelled with their names (see ``meter_sensors`` and ``GRID_TEMPLATES``)."""
DEMO_PLAN: dict[str, Any] = {"energy": 8, "departure": "07:00", "repeat": "mon_fri"}
"""The charging plan the demo gives its Solar member (the first plan on the dashboard): 8 kWh by 07:00 on weekdays."""


def _log(text: str) -> None:
    print(f"develop: {text}", flush=True)


def charger_subentry_id(charger: dict[str, Any]) -> str:
    """The demo's subentry id of a charger: fixed, so the headless check finds its members' entities.

    No underscore: the integration reads a unique id's owner up to its first underscore, as a ULID has none.
    """
    return "demo-charger-" + charger["individual_address"].replace(".", "-")


def group_subentry_id(index: int) -> str:
    """The demo's subentry id of the installation's balancing group ``index``."""
    return f"demo-group-{index}"


def _subentries(installation: Installation) -> list[ConfigSubentryDataWithId]:
    """Charger subentries from the installation file (each charger entry is the subentry's data), then the groups'."""
    subentries: list[ConfigSubentryDataWithId] = [
        ConfigSubentryDataWithId(
            data=charger,
            subentry_id=charger_subentry_id(charger),
            subentry_type="charger",
            title=charger["name"],
            unique_id=charger["individual_address"],
        )
        for charger in installation.chargers
    ]
    for index, group in enumerate(installation.extra.get("balancing_groups", [])):
        subentries.append(
            ConfigSubentryDataWithId(
                data=group, subentry_id=group_subentry_id(index), subentry_type="balancing_group",
                title=group["name"], unique_id=group["name"],
            )
        )
    return subentries


def budget_watches(installation: Installation) -> list[BudgetWatch]:
    """A `BudgetWatch` per balancing group in balance mode."""
    chargers = {c["individual_address"]: (charger_subentry_id(c), c) for c in installation.chargers}
    return [
        BudgetWatch(group_subentry_id(index), group, chargers)
        for index, group in enumerate(installation.extra.get("balancing_groups", []))
        if group.get("mode", "balance") == "balance"
    ]


def meter_sensors(meter_file: Path, installation: Installation | None = None) -> list[dict[str, Any]]:
    """``command_line`` sensors of the simulator's meter file: grid power and currents, solar power,
    and each simulated circuit meter's phase currents (named so their ids are ``meter_entity``'s)."""

    def sensor(name: str, unique_id: str, field: str, unit: str, device_class: str) -> dict[str, Any]:
        return {
            "name": name,
            "unique_id": unique_id,
            "file": str(meter_file),
            "field": field,
            "unit": unit,
            "device_class": device_class,
        }

    return [
        sensor("Grid power", "demo_grid_power", "power_w", "W", "power"),
        sensor("Grid current", "demo_grid_current", "current_a", "A", "current"),
        *(sensor(f"Grid L{n} current", f"demo_grid_l{n}_current", f"l{n}_a", "A", "current") for n in (1, 2, 3)),
        sensor("Solar power", "demo_solar_power", "pv_w", "W", "power"),
        *(
            sensor(f"{meter.name} L{n} current", f"demo_{meter.id}_l{n}_current", f"circuits.{meter.id}.l{n}_a", "A",
                   "current")
            for meter in (installation.circuit_meters if installation else ())
            for n in (1, 2, 3)
        ),
    ]


GRID_TEMPLATES = (
    {
        "name": "Grid import",
        "unique_id": "demo_grid_import",
        "state": "{{ [states('sensor.grid_power') | float(0), 0] | max }}",
        "availability": "{{ has_value('sensor.grid_power') }}",
    },
    {
        "name": "Grid export",
        "unique_id": "demo_grid_export",
        "state": "{{ [-(states('sensor.grid_power') | float(0)), 0] | max }}",
        "availability": "{{ has_value('sensor.grid_power') }}",
    },
)
"""Import and export (W, both >= 0) from the signed grid power (negative while exporting)."""


def _link_integration(config_dir: Path) -> None:
    target = config_dir / "custom_components" / "knx_evse"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to(ROOT / "custom_components" / "knx_evse", target_is_directory=True)


async def _wait_http(url: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status < 500:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {limit:.0f} s")
            await asyncio.sleep(0.5)


async def _wait_file(path: Path, limit: float, stack: Stack) -> None:
    """Wait until ``path`` exists; raise TimeoutError after ``limit`` s, RuntimeError if a process died."""
    deadline = time.monotonic() + limit
    while not await asyncio.to_thread(path.exists):
        stack.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {limit:.0f} s")
        await asyncio.sleep(0.5)


async def _states(base: str, token: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/api/states", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        resp.raise_for_status()
        return list(await resp.json())


async def _unique_ids(session: aiohttp.ClientSession, base: str, token: str) -> dict[str, str]:
    """Unique id → entity id of every entity in Home Assistant's entity registry."""
    ws = await Websocket.connect(session, base, token)
    try:
        entities = await ws.call("config/entity_registry/list")
    finally:
        await ws.ws.close()
    return {e["unique_id"]: e["entity_id"] for e in entities if e.get("unique_id")}


async def _demo_plan(session: aiohttp.ClientSession, base: str, token: str, entities: list[str]) -> None:
    """Give the demo's Solar member (Garage connector 2) ``DEMO_PLAN`` with the action knx_evse.set_plan."""
    target = next((e for e in entities if e.endswith("connector_2_plan_state")), None)
    if target is None:
        return
    async with session.post(f"{base}/api/services/knx_evse/set_plan", headers={"Authorization": f"Bearer {token}"},
                            json={"entity_id": target, **DEMO_PLAN}) as response:
        _log(f"demo plan on {target}: HTTP {response.status}")


def _connection(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The hub's data and, with ``--with-core-knx``, core knx's (version 1 data, tunnelling to knxd)."""
    tunnel = {"host": "127.0.0.1", "port": 3671, "local_ip": "127.0.0.1"}
    if not args.with_core_knx:
        return {"connection_type": "tunneling", **tunnel}, None
    core_knx = {
        "connection_type": "tunneling",
        **tunnel,
        "route_back": False,
        "individual_address": "0.0.240",
        "multicast_group": "224.0.23.12",
        "multicast_port": 3671,
        "rate_limit": 0,
        "state_updater": True,
    }
    return {"connection_type": "core_knx"}, core_knx


class Stack:
    """The running processes; ``stop`` ends them in reverse order and removes the bus."""

    def __init__(self) -> None:
        self.bus: KnxdBus | None = None
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, name: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        handle = log.open("ab")
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((name, proc))
        _log(f"{name} started (pid {proc.pid}, log {log})")
        return proc

    def check(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with status {proc.returncode}")

    def stop(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                _log(f"{name} stopped")
        self.procs.clear()
        if self.bus is not None:
            self.bus.stop()
            _log("bus stopped, namespace removed")
            self.bus = None


@dataclass(frozen=True, slots=True)
class Running:
    """What ``on_ready`` gets: Home Assistant's URL, the demo user's tokens, the dashboard's URL, a stop event."""

    base_url: str
    tokens: dict[str, Any]
    dashboard_url: str
    stop: asyncio.Event
    stack: Stack


async def run(args: argparse.Namespace, on_ready: Callable[[Running], Awaitable[int]] | None = None) -> int:
    """Start the stack, wait for Ctrl-C or the duration, stop it; return the exit status.

    With ``on_ready`` the stack runs until that coroutine returns (its result is the exit status)
    instead of waiting for Ctrl-C or the duration.
    """
    workdir = ROOT / ".develop"
    config_dir = workdir / "config"
    logs = workdir / "logs"
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    logs.mkdir(parents=True, exist_ok=True)
    meter_file = workdir / "meter.json"
    installation_file = installation_path(args)
    installation = load_installation(installation_file)
    watches = budget_watches(installation)

    for leftover in cleanup_stale():
        _log(f"removed a leftover bus: {leftover.get('ns')}")
    stack = Stack()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        stack.bus = KnxdBus()
        stack.bus.start()
        ns = stack.bus.ns
        _log(f"knxd serving KNX/IP tunnelling on 127.0.0.1:3671 inside namespace {ns}")

        hub_data, core_knx_data = _connection(args)
        write_config(
            config_dir,
            port=HA_PORT,
            hub_data=hub_data,
            subentries=_subentries(installation),
            meters=meter_sensors(meter_file, installation),
            templates=GRID_TEMPLATES,
            core_knx_data=core_knx_data,
        )
        if core_knx_data is not None:
            _log("the hub rides on Home Assistant's KNX integration, which tunnels to knxd")
        _link_integration(config_dir)

        sim_argv = [PY, "-m", "simulator", "run", "--installation", str(installation_file)]
        sim_argv += ["--meter-file", str(meter_file), "--speed", str(args.speed), "--status-every", "30"]
        if args.start:
            sim_argv += ["--start", args.start]
        meter_file.unlink(missing_ok=True)  # left by an earlier run (--keep)
        stack.spawn("simulator", stack.bus.exec_args(sim_argv), logs / "simulator.log")
        # Home Assistant's start-up reads must find the chargers answering: wait until the simulator
        # runs (its first meter file) and its chargers' "Delay at start" has passed.
        await _wait_file(meter_file, limit=120, stack=stack)
        await asyncio.sleep(3.0)
        ha_argv = [PY, "-m", "homeassistant", "--config", str(config_dir), "--skip-pip"]
        stack.spawn("home assistant", stack.bus.exec_args(ha_argv), logs / "homeassistant.log")
        stack.spawn(
            "forwarder",
            [PY, "-m", "knxbus", "forward", ns, str(HA_PORT)],
            logs / "forwarder.log",
        )
        base = f"http://127.0.0.1:{HA_PORT}"
        _log("waiting for Home Assistant (first start takes about a minute)")
        await _wait_http(f"{base}/api/onboarding", limit=240)
        async with aiohttp.ClientSession() as session:
            tokens = await onboard_tokens(base, session)
            token = str(tokens["access_token"])
            if await keep_http_config(session, base, token):
                _log("confirmed the HTTP settings Home Assistant moved from configuration.yaml to storage")
            dashboard, dashboard_config = await install_dashboard(
                session,
                base,
                token,
                meters=DASHBOARD_METERS,
                history_hours=args.history_hours,
                yaml_path=args.dashboard_yaml,
                compact=len(installation.chargers) > COMPACT_FROM,
            )
            await _demo_plan(session, base, token, dashboard_entities(dashboard_config))
            entity_ids = await _unique_ids(session, base, token)
        _log(f"Home Assistant is up: {base}  user: {DEMO_USER}  password: {DEMO_PASSWORD}")
        _log(f"dashboard: {dashboard}" + (f" (YAML written to {args.dashboard_yaml})" if args.dashboard_yaml else ""))
        if on_ready is not None:
            return await on_ready(Running(base, tokens, dashboard, stop, stack))

        deadline = None if args.duration is None else time.monotonic() + args.duration
        next_sample = time.monotonic()
        while not stop.is_set():
            stack.check()
            if deadline is not None and time.monotonic() >= deadline:
                break
            if args.headless and time.monotonic() >= next_sample:
                next_sample += BUDGET_SAMPLE_PERIOD
                sampled = await _states(base, token)
                for watch in watches:
                    watch.sample(sampled, entity_ids)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

        states = await _states(base, token)
        for watch in watches:
            watch.sample(states, entity_ids)
        summary = live_summary(states, entity_prefixes(installation.chargers, installation.extra.get("balancing_groups", [])))
        summary["budgets"] = {watch.name: watch.report() for watch in watches}
        missing = sorted(set(dashboard_entities(dashboard_config)) - {s["entity_id"] for s in states})
        summary["dashboard"] = {"tiles": len(dashboard_entities(dashboard_config)), "missing": missing}
        summary["deprecation_reports"] = deprecation_reports(logs / "homeassistant.log")
        _log("state: " + json.dumps(summary, indent=2))
        if args.headless:
            ok = summary["entities"] > 0 and summary["with_value"] > 0 and not summary["unavailable"]
            ok = ok and summary["grid_power"] not in (None, "unknown", "unavailable")
            ok = ok and summary["dashboard"]["tiles"] > 0 and not missing
            ok = ok and not summary["deprecation_reports"]
            # every group gave limits (the check saw some) and none above an unmetered circuit's budget
            ok = ok and all(not w.over() and w.samples > 1 and w.highest_total > 0 for w in watches)
            if args.with_core_knx:
                ok = ok and summary["core_knx_connected_since"] not in (None, "unknown", "unavailable")
            _log("headless check " + ("passed" if ok else "FAILED"))
            return 0 if ok else 1
        return 0
    finally:
        stack.stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser (also used by scripts/screenshot.py)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--site",
        choices=SITES,
        default=None,
        help="a bundled installation: demo (the house, the default) or carpark (12 chargers behind two circuits)",
    )
    parser.add_argument("--installation", type=Path, default=None, help="an installation file (instead of --site)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--start", default=None, help="simulated start, ISO date-time (default: the file's)")
    parser.add_argument("--headless", action="store_true", help="no interaction; check the state at the end")
    parser.add_argument("--duration", type=float, default=None, help="stop after N seconds once HA is up")
    parser.add_argument(
        "--keep", action="store_true", help="keep .develop/ (history, users) from the last run instead of starting fresh"
    )
    parser.add_argument("--dashboard-yaml", type=Path, default=None, help="also write the dashboard as YAML here")
    parser.add_argument(
        "--history-hours", type=float, default=1.0, help="hours the dashboard's history graph shows (the YAML: 24)"
    )
    parser.add_argument(
        "--with-core-knx",
        action="store_true",
        help="also set up Home Assistant's KNX integration on the bus and put the hub on its connection",
    )
    return parser


def installation_path(args: argparse.Namespace) -> Path:
    """The installation file to run: ``--installation``, else ``--site``'s, else the house demo's."""
    return Path(args.installation) if args.installation else INSTALLATIONS_DIR / f"{args.site or 'demo'}.yaml"


def main() -> int:
    """Parse the command line and run."""
    parser = build_parser()
    args = parser.parse_args()
    if args.headless and args.duration is None:
        parser.error("--headless needs --duration N")
    if args.site is not None and args.installation is not None:
        parser.error("give --site or --installation, not both")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
