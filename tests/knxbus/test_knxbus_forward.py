"""The real KNX/IP bus seen from the host namespace: TCP forwarding into the namespace (function and CLI)."""

from __future__ import annotations

import asyncio
import json
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
from knxbus.netns import socket_in_netns, unavailable_reason

BUS_UNAVAILABLE = unavailable_reason()

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"),
]

REPO = Path(__file__).resolve().parents[2]


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
