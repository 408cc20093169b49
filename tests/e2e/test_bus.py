"""The real KNX/IP bus itself: knxd in a private namespace, tunnel clients, restart, cleanup, TCP forwarding."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from xknx import XKNX
from xknx.core.connection_state import XknxConnectionState
from xknx.dpt.payload import DPTArray
from xknx.telegram import GroupAddress, IndividualAddress, Telegram
from xknx.telegram.apci import GroupValueWrite
from xknx.tools import group_value_write

from simulator.bus import (
    NETNS_DIR,
    KnxdBus,
    bus_status,
    cleanup_stale,
    forward_tcp,
    list_namespaces,
    socket_in_netns,
    unavailable_reason,
)

BUS_UNAVAILABLE = unavailable_reason()
TunnelClient = Callable[..., contextlib.AbstractAsyncContextManager[XKNX]]  # the `tunnel_client` fixture

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"),
]

REPO = Path(__file__).resolve().parents[2]


def _ns_inode_of(pid: int) -> int:
    return Path(f"/proc/{pid}/ns/net").stat().st_ino


def _thread_netns_inode() -> int:
    """Inode of the calling thread's network namespace."""
    return Path("/proc/thread-self/ns/net").stat().st_ino


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _collect(xknx: XKNX) -> asyncio.Queue[Telegram]:
    """Every telegram ``xknx`` receives goes into the returned queue."""
    queue: asyncio.Queue[Telegram] = asyncio.Queue()
    xknx.telegram_queue.register_telegram_received_cb(queue.put_nowait)
    return queue


async def _next_write(queue: asyncio.Queue[Telegram], ga: str, within: float = 2.0) -> Telegram:
    """The next GroupValueWrite to ``ga`` from ``queue`` (others are skipped), within ``within`` s."""
    async with asyncio.timeout(within):
        while True:
            telegram = await queue.get()
            if telegram.destination_address == GroupAddress(ga) and isinstance(
                telegram.payload, GroupValueWrite
            ):
                return telegram


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


async def test_group_value_write_between_two_tunnel_clients(
    bus_netns: KnxdBus, tunnel_client: TunnelClient
) -> None:
    """A write from one tunnel client reaches the other in order, not the sender; echo round trip is fast."""
    assert _thread_netns_inode() == (NETNS_DIR / bus_netns.ns).stat().st_ino  # the fixture moved us in
    async with tunnel_client(bus_netns) as sender, tunnel_client(bus_netns) as receiver:
        assert sender.connection_manager.state is XknxConnectionState.CONNECTED
        assert receiver.connection_manager.state is XknxConnectionState.CONNECTED
        # knxd hands out tunnel addresses from client-addrs=0.0.2:8
        addresses = {sender.current_address, receiver.current_address}
        assert len(addresses) == 2
        assert addresses <= {IndividualAddress(f"0.0.{n}") for n in range(2, 10)}
        at_sender, at_receiver = _collect(sender), _collect(receiver)

        values = list(range(0, 256, 17))
        for value in values:
            group_value_write(sender, "1/2/3", value, value_type="1byte_unsigned")
        received = [await _next_write(at_receiver, "1/2/3") for _ in values]
        assert [t.payload.value for t in received] == [DPTArray(v) for v in values]  # type: ignore[union-attr]
        assert {t.source_address for t in received} == {sender.current_address}

        # the receiver echoes 1/2/3 onto 1/2/4; the sender sees the echo but never its own write
        rtts = []
        for value in range(40):
            started = time.perf_counter()
            group_value_write(sender, "1/2/3", value, value_type="1byte_unsigned")
            got = await _next_write(at_receiver, "1/2/3")
            group_value_write(receiver, "1/2/4", got.payload.value.value[0], value_type="1byte_unsigned")  # type: ignore[union-attr]
            echo = await _next_write(at_sender, "1/2/4")
            rtts.append(time.perf_counter() - started)
            assert echo.payload.value == DPTArray(value)  # type: ignore[union-attr]
            assert echo.source_address == receiver.current_address
        assert all(t.destination_address != GroupAddress("1/2/3") for t in _drain(at_sender))
        median_ms = statistics.median(rtts) * 1000
        print(f"\nwrite->echo round trip: median {median_ms:.2f} ms, max {max(rtts) * 1000:.2f} ms")
        assert median_ms < 50


def _drain(queue: asyncio.Queue[Telegram]) -> list[Telegram]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


async def test_client_process_started_with_exec_args(bus_netns: KnxdBus, tunnel_client: TunnelClient) -> None:
    """A separate process started via ``exec_args`` is a tunnel client on the same bus."""
    script = textwrap.dedent(
        f"""
        import asyncio
        from xknx import XKNX
        from xknx.io import ConnectionConfig, ConnectionType
        from xknx.tools import group_value_write

        async def main():
            xknx = XKNX(connection_config=ConnectionConfig(
                connection_type=ConnectionType.TUNNELING, gateway_ip="127.0.0.1",
                gateway_port={bus_netns.port}, local_ip="127.0.0.1"))
            await xknx.start()
            print(xknx.current_address, flush=True)
            group_value_write(xknx, "5/6/7", 21.5, value_type="temperature")
            await asyncio.sleep(0.2)
            await xknx.stop()

        asyncio.run(main())
        """
    )
    async with tunnel_client(bus_netns) as listener:
        received = _collect(listener)
        proc = await asyncio.create_subprocess_exec(
            *bus_netns.exec_args([sys.executable, "-c", script]), stdout=asyncio.subprocess.PIPE
        )
        telegram = await _next_write(received, "5/6/7", within=15)
        out, _ = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0
    assert str(telegram.source_address) == out.decode().strip()
    assert telegram.payload.value == DPTArray((0x0C, 0x33))  # type: ignore[union-attr]  # 21.5 °C in DPT 9


async def test_restart_knxd_and_clients_reconnect(
    fresh_knxd_bus: KnxdBus, tunnel_client: TunnelClient
) -> None:
    """After a knxd restart, a client that sends notices and reconnects by itself; a new tunnel works."""
    bus = fresh_knxd_bus
    with bus.entered():
        async with tunnel_client(bus, auto_reconnect_wait=1) as sender, tunnel_client(bus) as receiver:
            states: list[tuple[float, XknxConnectionState]] = []
            back = asyncio.Event()

            def on_state(state: XknxConnectionState) -> None:
                states.append((time.monotonic(), state))
                if state is XknxConnectionState.CONNECTED and any(
                    s is XknxConnectionState.DISCONNECTED for _, s in states
                ):
                    back.set()

            sender.connection_manager.register_connection_state_changed_cb(on_state)
            at_receiver = _collect(receiver)
            group_value_write(sender, "2/0/1", True, value_type="switch")
            await _next_write(at_receiver, "2/0/1")

            old_pid = bus.knxd_pid
            seconds = bus.restart()
            restarted = time.monotonic()
            assert bus.knxd_pid != old_pid and old_pid is not None and not _alive(old_pid)
            assert bus.knxd_running and bus.probe() is not None
            print(f"\nknxd restart: ready after {seconds * 1000:.1f} ms")

            # knxd forgot the tunnel; the next send fails (no ACK) and xknx reconnects
            group_value_write(sender, "2/0/1", False, value_type="switch")
            await asyncio.wait_for(back.wait(), 15)
            assert sender.connection_manager.state is XknxConnectionState.CONNECTED
            reconnected = next(t for t, s in reversed(states) if s is XknxConnectionState.CONNECTED)
            print(f"sender reconnected {reconnected - restarted:.2f} s after the restart")

            # the listening-only receiver's tunnel is dead too: reconnect it explicitly
            await receiver.stop()
            await receiver.start()
            assert receiver.connection_manager.state is XknxConnectionState.CONNECTED
            at_receiver = _collect(receiver)
            group_value_write(sender, "2/0/2", 42, value_type="percentU8")
            telegram = await _next_write(at_receiver, "2/0/2", within=5)
            assert telegram.source_address == sender.current_address


def test_stop_leaves_nothing_behind(sockets_enabled: None) -> None:
    """stop() kills knxd, deletes the namespace and the state directory; a second stop() is harmless."""
    bus = KnxdBus().start()
    pid, ns, workdir = bus.knxd_pid, bus.ns, bus.workdir
    assert pid is not None and _alive(pid) and ns in list_namespaces() and workdir.is_dir()
    assert bus.stop() == []
    assert not _alive(pid)
    assert ns not in list_namespaces()
    assert not workdir.exists()
    assert bus.stop() == []
    assert not bus.knxd_running


def test_cli_start_status_stop(sockets_enabled: None) -> None:
    """``python -m simulator.bus start|status|stop`` print JSON and manage a bus owned by another process."""
    cli = [sys.executable, "-m", "simulator.bus"]
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
        assert _alive(pid) and ns in list_namespaces()  # knxd outlives the CLI process

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
        assert not _alive(pid) and ns not in list_namespaces()
    finally:
        owner.kill()
        owner.wait()


def test_cleanup_stale_removes_a_crashed_run_only(knxd_bus: KnxdBus, sockets_enabled: None) -> None:
    """A bus whose owner died is torn down by cleanup_stale(); a live bus (this module's) is untouched."""
    owner = subprocess.Popen(["sleep", "60"])
    started = subprocess.run(
        [sys.executable, "-m", "simulator.bus", "start", "--owner-pid", str(owner.pid)],
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
    assert not _alive(pid)
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
        [sys.executable, "-m", "simulator.bus", "forward", knxd_bus.ns, "0", str(port)],
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
