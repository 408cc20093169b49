"""A TCP forwarder from the host's loopback into a bus's namespace (how the demo reaches Home Assistant)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
from types import TracebackType
from typing import Any, Self

from .netns import GATEWAY_IP, _open_netns, socket_in_netns

# --------------------------------------------------------------------------- TCP forwarder


class TcpForwarder:
    """Listens in the caller's namespace, forwards each connection to ``ns_host:ns_port`` inside ``ns``.

    Create with `forward_tcp`. ``port`` is the bound listening port. ``connections`` counts accepted
    connections. Close with `close` (or ``async with``).
    """

    def __init__(self, ns: str, ns_port: int, ns_host: str = GATEWAY_IP) -> None:
        """Describe the target; `forward_tcp` starts listening."""
        self.ns = ns
        self.ns_port = ns_port
        self.ns_host = ns_host
        self.connections = 0
        self._ns_fd: int | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        """The listening port (useful with ``host_port=0``)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _listen(self, host: str, port: int) -> None:
        self._ns_fd = _open_netns(self.ns)
        self._server = await asyncio.start_server(self._handle, host, port, reuse_address=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None and self._ns_fd is not None
        self._tasks.add(task)
        self.connections += 1
        up_writer: asyncio.StreamWriter | None = None
        try:
            sock = socket_in_netns(self._ns_fd, socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.get_running_loop().sock_connect(sock, (self.ns_host, self.ns_port))
            except OSError:
                sock.close()
                return
            up_reader, up_writer = await asyncio.open_connection(sock=sock)
            pumps = {
                asyncio.create_task(_pump(reader, up_writer)),
                asyncio.create_task(_pump(up_reader, writer)),
            }
            try:
                await asyncio.wait(pumps, return_when=asyncio.FIRST_EXCEPTION)
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    w.close()
                    with contextlib.suppress(Exception):
                        await w.wait_closed()
            self._tasks.discard(task)

    async def close(self) -> None:
        """Stop listening, drop open connections, release the namespace fd."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._ns_fd is not None:
            os.close(self._ns_fd)
            self._ns_fd = None

    async def __aenter__(self) -> Self:
        """Return self (already listening)."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close."""
        await self.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close the other side. Connection errors propagate."""
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def forward_tcp(
    host_port: int, ns: str, ns_port: int, *, host: str = GATEWAY_IP, ns_host: str = GATEWAY_IP
) -> TcpForwarder:
    """Listen on ``host:host_port`` in the caller's namespace and forward TCP into ``ns_host:ns_port`` in ``ns``.

    Returns a listening `TcpForwarder` (``host_port=0`` picks a free port: see ``.port``). A
    connection that cannot be made inside ``ns`` (nothing listening) is closed at once. Needs
    CAP_SYS_ADMIN. Raises `BusError` if ``ns`` does not exist, OSError if the port is taken, and
    ValueError for a ``host`` that is not a loopback address: what it forwards (the demo's Home
    Assistant) must not be reachable from other machines.
    """
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the forwarder listens on loopback addresses only, not {host!r}")
    forwarder = TcpForwarder(ns, ns_port, ns_host)
    try:
        await forwarder._listen(host, host_port)
    except BaseException:
        await forwarder.close()
        raise
    return forwarder
