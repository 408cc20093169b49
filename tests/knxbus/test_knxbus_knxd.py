"""The real KNX/IP bus seen from the host namespace: isolation, stop, CLI, stale cleanup.

TCP forwarding is in test_knxbus_forward.py, tunnel clients on the bus in test_knxbus_clients.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from knxbus.knxd import KnxdBus
from knxbus.netns import NETNS_DIR, list_namespaces, pid_alive, unavailable_reason
from knxbus.state import bus_status, cleanup_stale

BUS_UNAVAILABLE = unavailable_reason()

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"),
]

REPO = Path(__file__).resolve().parents[2]


def _ns_inode_of(pid: int) -> int:
    return Path(f"/proc/{pid}/ns/net").stat().st_ino


def test_knxd_runs_only_inside_its_namespace(knxd_bus: KnxdBus, sockets_enabled: None) -> None:
    """knxd is in the bus's namespace, never the host's; the namespace has only lo and the multicast route."""
    assert knxd_bus.knxd_running and knxd_bus.knxd_pid is not None
    ns_inode = (NETNS_DIR / knxd_bus.ns).stat().st_ino
    assert _ns_inode_of(knxd_bus.knxd_pid) == ns_inode
    assert ns_inode != _ns_inode_of(os.getpid())  # outside bus_netns, this test is in the host namespace

    links = subprocess.run(
        knxd_bus.exec_args(["ip", "-o", "link"]), capture_output=True, text=True, check=True
    )
    assert [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]
    assert "state UNKNOWN" in links.stdout or "UP" in links.stdout
    routes = subprocess.run(
        knxd_bus.exec_args(["ip", "route", "show", "table", "all", "224.0.0.0/4"]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "224.0.0.0/4 dev lo" in routes.stdout and "src 127.0.0.1" in routes.stdout

    info = knxd_bus.probe()
    assert info is not None
    assert info["name"] == "knxd" and info["individual_address"] == "0.0.1"

    state = json.loads(knxd_bus.state_file.read_text())
    assert state["ns"] == knxd_bus.ns and state["knxd_pid"] == knxd_bus.knxd_pid
    assert state["owner_pid"] == os.getpid()
    assert "[server]" in knxd_bus.ini_path.read_text()


def test_stop_leaves_nothing_behind(sockets_enabled: None) -> None:
    """stop() kills knxd, deletes the namespace and the state directory; a second stop() is harmless."""
    bus = KnxdBus().start()
    pid, ns, workdir = bus.knxd_pid, bus.ns, bus.workdir
    assert pid is not None and pid_alive(pid) and ns in list_namespaces() and workdir.is_dir()
    assert bus.stop() == []
    assert not pid_alive(pid)
    assert ns not in list_namespaces()
    assert not workdir.exists()
    assert bus.stop() == []
    assert not bus.knxd_running


def test_cli_start_status_stop(sockets_enabled: None) -> None:
    """``python -m knxbus start|status|stop`` print JSON and manage a bus owned by another process."""
    cli = [sys.executable, "-m", "knxbus"]
    owner = subprocess.Popen(["sleep", "60"])
    try:
        started = subprocess.run(
            [*cli, "start", "--owner-pid", str(owner.pid)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        state = json.loads(started.stdout)
        ns, pid = state["ns"], state["knxd_pid"]
        assert ns.startswith(f"knxevse-{owner.pid}-") and state["exec_prefix"] == ["ip", "netns", "exec", ns]
        assert pid_alive(pid) and ns in list_namespaces()  # knxd outlives the CLI process

        status = json.loads(
            subprocess.run([*cli, "status", ns], cwd=REPO, capture_output=True, text=True, check=True).stdout
        )
        (entry,) = status["buses"]
        assert entry["knxd_running"] and entry["owner_alive"] and not entry["stale"]
        assert entry["probe"]["name"] == "knxd"

        stopped = json.loads(
            subprocess.run([*cli, "stop", ns], cwd=REPO, capture_output=True, text=True, check=True).stdout
        )
        assert stopped == {"stopped": [{"ns": ns, "left_pids": []}]}
        assert not pid_alive(pid) and ns not in list_namespaces()
    finally:
        owner.kill()
        owner.wait()


def test_cleanup_stale_removes_a_crashed_run_only(knxd_bus: KnxdBus, sockets_enabled: None) -> None:
    """A bus whose owner died is torn down by cleanup_stale(); a live bus (this module's) is untouched."""
    owner = subprocess.Popen(["sleep", "60"])
    started = subprocess.run(
        [sys.executable, "-m", "knxbus", "start", "--owner-pid", str(owner.pid)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    state = json.loads(started.stdout)
    ns, pid = state["ns"], state["knxd_pid"]
    assert {b["ns"]: b["stale"] for b in bus_status()}[ns] is False

    owner.send_signal(signal.SIGKILL)  # the "crash"
    owner.wait()
    assert {b["ns"]: b["stale"] for b in bus_status()}[ns] is True
    cleaned = {c["ns"]: c for c in cleanup_stale()}
    assert ns in cleaned and cleaned[ns]["knxd_stopped"] == [pid] and "error" not in cleaned[ns]
    assert not pid_alive(pid)
    assert ns not in list_namespaces()
    assert not Path(state["workdir"]).exists()

    assert knxd_bus.ns not in cleaned
    assert knxd_bus.knxd_running and knxd_bus.ns in list_namespaces() and knxd_bus.probe() is not None
