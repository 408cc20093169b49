"""Tunnel clients on the real KNX/IP bus: this module's main thread runs inside the bus's namespace.

`bus_netns` (module scope, via ``pytestmark``) moves the main thread into the namespace before any
function-scoped fixture runs, so the event loop, its executor threads and xknx's connection thread
(``threaded=True``, as Home Assistant's knx integration uses) are all created inside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from xknx import XKNX
from xknx.core.connection_state import XknxConnectionState
from xknx.dpt.payload import DPTArray
from xknx.telegram import GroupAddress, IndividualAddress, Telegram
from xknx.telegram.apci import GroupValueWrite
from xknx.tools import group_value_write

from knxbus.knxd import KnxdBus
from knxbus.netns import NETNS_DIR, pid_alive, unavailable_reason

BUS_UNAVAILABLE = unavailable_reason()
TunnelClient = Callable[..., contextlib.AbstractAsyncContextManager[XKNX]]  # the `tunnel_client` fixture

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"),
    pytest.mark.usefixtures("bus_netns", "sockets_enabled"),
]


def _thread_netns_inode() -> int:
    """Inode of the calling thread's network namespace."""
    return Path("/proc/thread-self/ns/net").stat().st_ino


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


@pytest.mark.parametrize("threaded", [False, True], ids=["loop", "threaded"])
async def test_group_value_write_between_two_tunnel_clients(
    bus_netns: KnxdBus, tunnel_client: TunnelClient, threaded: bool
) -> None:
    """A write from one tunnel client reaches the other in order, not the sender; echo round trip is fast.

    ``threaded=True`` is how Home Assistant's knx integration connects: xknx's own thread, started
    while this thread is in the namespace, is in the namespace too.
    """
    assert _thread_netns_inode() == (NETNS_DIR / bus_netns.ns).stat().st_ino  # the fixture moved us in
    async with (
        tunnel_client(bus_netns, threaded=threaded) as sender,
        tunnel_client(bus_netns, threaded=threaded) as receiver,
    ):
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
        print(
            f"\nwrite->echo round trip ({threaded=}): median {median_ms:.2f} ms, max {max(rtts) * 1000:.2f} ms"
        )
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
            assert bus.knxd_pid != old_pid and old_pid is not None and not pid_alive(old_pid)
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
