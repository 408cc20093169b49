"""Fixtures for end-to-end tests on a real knxd bus in a private network namespace (docs/test-bus.md).

How the test process reaches the bus: `bus_netns` moves the *main thread* into the bus's namespace
for one test (``os.setns``; Linux keeps the network namespace per thread) and back afterwards.
pytest-asyncio runs the event loop on the main thread, so every socket a test creates there, such
as xknx's UDP tunnel, lives in the namespace and reaches knxd at 127.0.0.1:3671. Other processes
run there through ``bus.exec_args(...)`` (``ip netns exec``).

Threads inherit the namespace of the thread that creates them, hence module scope for `bus_netns`.

Home Assistant's pytest plugin blocks sockets in every test (pytest-socket). These fixtures lift the
block while they need it (like pytest-socket's ``socket_enabled``); the plugin's connect guard
(127.0.0.1 only) stays, and all bus traffic is to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from xknx import XKNX
from xknx.io import ConnectionConfig, ConnectionType

from knxbus.knxd import KnxdBus
from knxbus.netns import unavailable_reason

BUS_UNAVAILABLE = unavailable_reason()
"""None if this machine can run the bus, else why not (used for skip reasons)."""

requires_bus = pytest.mark.skipif(
    BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"
)
"""Mark for tests that need knxd in a namespace: skips with the reason (not root, no knxd, ...)."""


@contextlib.contextmanager
def real_sockets() -> Iterator[None]:
    """Undo pytest-socket's ``disable_socket`` for the block (no-op without pytest-socket)."""
    saved = socket.socket
    try:
        import pytest_socket  # type: ignore[import-untyped]
    except ImportError:
        yield
        return
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        socket.socket = saved  # type: ignore[misc]


@pytest.fixture
def sockets_enabled() -> Iterator[None]:
    """Real sockets for this test (the connect guard of Home Assistant's plugin still allows 127.0.0.1)."""
    with real_sockets():
        yield


@pytest.fixture(scope="module")
def knxd_bus() -> Iterator[KnxdBus]:
    """A running bus shared by the tests of one module; stopped (namespace deleted) afterwards."""
    if BUS_UNAVAILABLE:
        pytest.skip(f"real KNX bus unavailable: {BUS_UNAVAILABLE}")
    with real_sockets():
        bus = KnxdBus().start()
    try:
        yield bus
    finally:
        bus.stop()


@pytest.fixture
def fresh_knxd_bus(sockets_enabled: None) -> Iterator[KnxdBus]:
    """A bus of this test's own (for restarts and other faults); stopped afterwards."""
    if BUS_UNAVAILABLE:
        pytest.skip(f"real KNX bus unavailable: {BUS_UNAVAILABLE}")
    with KnxdBus() as bus:
        yield bus


@pytest.fixture(scope="module")
def bus_netns(knxd_bus: KnxdBus) -> Iterator[KnxdBus]:
    """The module's bus, with the main thread inside its namespace for the whole module.

    Use it module-wide (``pytestmark = pytest.mark.usefixtures("bus_netns", "sockets_enabled")``).
    Module scope matters: it is set up before any function-scoped fixture (``hass``, the event
    loop), so threads those create (executor workers, xknx's ``threaded=True`` connection thread,
    Home Assistant's executor) start inside the namespace too. A thread that already existed stays
    in the host namespace; a function-scoped ``with bus.entered():`` is only enough for sockets
    the test's own thread creates.
    """
    with knxd_bus.entered():
        yield knxd_bus


def tunnel_config(bus: KnxdBus, **kwargs: Any) -> ConnectionConfig:
    """xknx tunnelling configuration for a client inside ``bus``'s namespace (keyword arguments added)."""
    return ConnectionConfig(
        connection_type=ConnectionType.TUNNELING,
        gateway_ip=bus.gateway_ip,
        gateway_port=bus.port,
        local_ip="127.0.0.1",
        **kwargs,
    )


@contextlib.asynccontextmanager
async def _tunnel_client(bus: KnxdBus, **kwargs: Any) -> AsyncIterator[XKNX]:
    """A connected xknx tunnel client (the calling thread must be in the namespace); stopped on exit."""
    xknx = XKNX(connection_config=tunnel_config(bus, **kwargs))
    await xknx.start()
    # A threaded client reports its connection from its own thread; on a loaded machine start() can
    # return first (xknx then retries the connect), so wait for it rather than assume it.
    await asyncio.wait_for(xknx.connection_manager.connected.wait(), 15)
    try:
        yield xknx
    finally:
        await xknx.stop()


TunnelClient = Callable[..., contextlib.AbstractAsyncContextManager[XKNX]]


@pytest.fixture
def tunnel_client() -> TunnelClient:
    """``async with tunnel_client(bus, **connection_config_kwargs) as xknx:`` a connected xknx tunnel client.

    The calling thread must be in the bus's namespace (`bus_netns`, or ``bus.entered()``). The
    client is stopped (tunnel disconnected) when the block ends.
    """
    return _tunnel_client
