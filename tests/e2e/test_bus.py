"""The real KNX/IP bus seen from the host namespace: isolation, stop, CLI, stale cleanup, TCP forwarding.

Tunnel clients on the bus are in test_bus_clients.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from knxbus.forward import forward_tcp
from knxbus.knxd import KnxdBus
from knxbus.netns import NETNS_DIR, list_namespaces, pid_alive, socket_in_netns, unavailable_reason
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


async def test_forward_tcp_from_host_into_namespace(knxd_bus: KnxdBus, sockets_enabled: None) -> None:
    """forward_tcp: host 127.0.0.1:P reaches a server that listens only inside the namespace, both ways."""
    listener = socket_in_netns(knxd_bus.ns, socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    ns_port = listener.getsockname()[1]

    async def echo_upper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client half-closes
        writer.write(data.upper())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(echo_upper, sock=listener)
    try:
        with pytest.raises(ConnectionRefusedError):  # the namespace's port is not visible on the host
            await asyncio.open_connection("127.0.0.1", ns_port)
        async with await forward_tcp(0, knxd_bus.ns, ns_port) as forwarder:
            for payload in (b"hello bus", b"x" * 300_000):
                reader, writer = await asyncio.open_connection("127.0.0.1", forwarder.port)
                writer.write(payload)
                writer.write_eof()
                assert await asyncio.wait_for(reader.read(), 5) == payload.upper()
                writer.close()
                await writer.wait_closed()
            assert forwarder.connections == 2
    finally:
        server.close()
        await server.wait_closed()


def test_cli_forward_serves_http_from_namespace(
    knxd_bus: KnxdBus, sockets_enabled: None, tmp_path: Path
) -> None:
    """The recommended way to reach Home Assistant: an HTTP server inside the namespace, ``forward`` on the host."""
    (tmp_path / "index.html").write_text("hello from the namespace")
    port = 18123
    http = subprocess.Popen(
        knxd_bus.exec_args([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fwd = subprocess.Popen(
        [sys.executable, "-m", "knxbus", "forward", knxd_bus.ns, "0", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fwd.stdout is not None
        line = json.loads(fwd.stdout.readline())
        url = f"http://{line['forwarding']}/index.html"
        deadline = time.monotonic() + 15
        while True:  # until http.server is up inside the namespace
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert body == "hello from the namespace"
    finally:
        fwd.send_signal(signal.SIGTERM)
        assert fwd.wait(10) == 0
        http.terminate()
        http.wait(10)
