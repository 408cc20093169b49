"""Smoke test on a real bus: ``python -m simulator run`` on knxd in a namespace, driven by an xknx client.

Needs root (network namespace) and knxd; skipped with the reason otherwise. The test's main thread
enters the bus's namespace for the module (before the event loop exists), as tests/e2e does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xknx import XKNX
from xknx.core.connection_state import XknxConnectionState
from xknx.dpt.payload import DPTBinary
from xknx.io import ConnectionConfig, ConnectionType
from xknx.telegram import GroupAddress, IndividualAddress, Telegram
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.objects import OBJECTS
from custom_components.knx_evse.knx.xknx_link import ChannelSafeTunnel, use_channel_safe_tunnel
from knxbus.knxd import KnxdBus
from knxbus.netns import unavailable_reason
from simulator.charger import KnxHost

BUS_UNAVAILABLE = unavailable_reason()
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(BUS_UNAVAILABLE is not None, reason=f"real KNX bus unavailable: {BUS_UNAVAILABLE}"),
]

INSTALLATION = """
start: "2025-06-19T12:00:00"
house: {annual_kwh: 3000, occupants: 2, kwp: 0, phases: 1, seed: 1}
meter: {update_period: 1, group_addresses: {current: "0/1/1", power: "0/1/2"}}
chargers:
  - name: Smoke
    model: VE 741
    parameters: {delay_at_start: 0, auto_start: true, limit_by_power: false, initial_limit: 32,
                 conn1_initial_power_limit: 7400, conn1_individual_status: true}
evs:
  - {name: car, charger: Smoke, arrive: "11:00", depart: "23:00", phases: 1, max_current: 32, jitter_minutes: 0}
"""


@contextlib.contextmanager
def _real_sockets() -> Iterator[None]:
    """Undo pytest-socket's block (Home Assistant's plugin) for the block; 127.0.0.1 only is used."""
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


@pytest.fixture(scope="module")
def bus() -> Iterator[KnxdBus]:
    with _real_sockets():
        knxd = KnxdBus().start()
    try:
        with knxd.entered():
            yield knxd
    finally:
        with _real_sockets():
            knxd.stop()


@pytest.fixture
def sockets() -> Iterator[None]:
    with _real_sockets():
        yield


async def _expect(
    queue: asyncio.Queue[Telegram],
    ga: str,
    kind: type,
    number: int,
    within: float = 10.0,
    source: str | None = None,
) -> Any:
    async with asyncio.timeout(within):
        while True:
            telegram = await queue.get()
            if telegram.destination_address == GroupAddress(ga) and isinstance(telegram.payload, kind):
                if source is not None:
                    assert str(telegram.source_address) == source
                return dpt.decode(OBJECTS[number], telegram.payload.value)


async def test_simulator_cli_on_knxd(bus: KnxdBus, sockets: None, tmp_path: Path) -> None:
    installation = tmp_path / "smoke.yaml"
    installation.write_text(INSTALLATION, encoding="utf-8")
    meter_file = tmp_path / "meter.json"
    proc = await asyncio.create_subprocess_exec(
        *bus.exec_args(
            [
                sys.executable,
                "-m",
                "simulator",
                "run",
                "--installation",
                str(installation),
                "--gateway",
                bus.gateway_ip,
                "--port",
                str(bus.port),
                "--meter-file",
                str(meter_file),
                "--status-every",
                "1",
            ]
        ),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    xknx = _client(bus)
    queue: asyncio.Queue[Telegram] = asyncio.Queue()
    try:
        await xknx.start()
        xknx.telegram_queue.register_telegram_received_cb(queue.put_nowait)
        # the meter arrives on its own (the car charges at 32 A from the start)
        power = await _expect(queue, "0/1/2", GroupValueWrite, 131, within=60.0)
        async with asyncio.timeout(20):
            while power < 5000:  # the first readings come before the car has ramped up
                power = await _expect(queue, "0/1/2", GroupValueWrite, 131)
        # read a status
        await xknx.telegrams.put(
            Telegram(destination_address=GroupAddress("1/0/61"), payload=GroupValueRead())
        )
        assert await _expect(queue, "1/0/61", GroupValueResponse, 61, source="1.1.1") == 32.0
        # a command comes back as its status, and the car follows
        value = dpt.encode(OBJECTS[31], 10.0)
        await xknx.telegrams.put(
            Telegram(destination_address=GroupAddress("1/0/31"), payload=GroupValueWrite(value))
        )
        assert await _expect(queue, "1/0/61", GroupValueWrite, 61, source="1.1.1") == 10.0
        while True:
            current = await _expect(queue, "1/0/48", GroupValueWrite, 48)
            if abs(current - 10.0) < 0.6:
                break
    finally:
        await xknx.stop()
        proc.send_signal(signal.SIGTERM)
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            if proc.returncode is None:
                proc.kill()
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, stderr
    assert "connected to 127.0.0.1" in stdout
    assert "simulator: stopped" in stdout
    assert meter_file.exists()


def _client(bus: KnxdBus) -> XKNX:
    """A plain xknx tunnelling client of ``bus`` (not started)."""
    return XKNX(
        connection_config=ConnectionConfig(
            connection_type=ConnectionType.TUNNELING,
            gateway_ip=bus.gateway_ip,
            gateway_port=bus.port,
            local_ip="127.0.0.1",
        )
    )


def _channel(xknx: XKNX) -> int | None:
    interface = xknx.knxip_interface._interface
    return getattr(interface, "communication_channel", None)


async def _until(condition: Any, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


async def test_device_tunnel_never_closes_the_tunnel_that_took_its_channel_id(
    bus: KnxdBus, sockets: None
) -> None:
    """After a knxd restart, a simulated device's stale channel id may be another client's: it reconnects without closing it.

    knxd hands out the lowest free channel id and acts on DISCONNECT_REQUEST by id alone. Plain xknx
    disconnects its old id when it reconnects, which here would close the other client's new tunnel
    (and the two would go on closing each other's: the soak's reconnect loop).
    """
    bus.restart()  # channel ids from 1
    device = KnxHost.tunnel(bus.gateway_ip, bus.port, "127.0.0.1")
    hub = _client(bus)
    heard: list[Telegram] = []
    try:
        await device.start()
        assert isinstance(device.xknx.knxip_interface._interface, ChannelSafeTunnel)
        await hub.start()
        assert (_channel(device.xknx), _channel(hub)) == (1, 2)
        hub.telegram_queue.register_telegram_received_cb(heard.append)
        bus.restart()
        # the hub sends first: unacknowledged twice, it reconnects and gets id 1, the device's old id
        hub.telegrams.put_nowait(
            Telegram(destination_address=GroupAddress("1/2/3"), payload=GroupValueWrite(DPTBinary(1)))
        )
        await _until(lambda: hub.connection_manager.connected.is_set() and _channel(hub) == 1)
        assert _channel(device.xknx) == 1  # stale, and the same id: knxd acknowledges to the hub
        # the device sends (from its own address, as a simulated charger does): unacknowledged, it
        # reconnects (without DISCONNECT_REQUEST for id 1) and sends again on its new tunnel
        device.xknx.telegrams.put_nowait(
            Telegram(
                destination_address=GroupAddress("1/2/4"),
                payload=GroupValueWrite(DPTBinary(1)),
                source_address=IndividualAddress("1.1.9"),
            )
        )
        await _until(lambda: [t for t in heard if t.destination_address == GroupAddress("1/2/4")])
        assert _channel(device.xknx) == 2
        assert _channel(hub) == 1
        assert hub.connection_manager.connected.is_set()
    finally:
        await hub.stop()
        await device.stop()


async def test_two_channel_safe_clients_never_close_each_others_tunnel(bus: KnxdBus, sockets: None) -> None:
    """The hub's tunnel reconnects as a simulated device's does: after a knxd restart the device took
    the hub's old channel id, and the hub's reconnect leaves the device's new tunnel open.

    With plain xknx on the hub side, its DISCONNECT_REQUEST for that id closes the device's tunnel,
    and the device's next send goes unacknowledged and makes it reconnect once more.
    """
    bus.restart()  # channel ids from 1
    hub = _client(bus)
    device = KnxHost.tunnel(bus.gateway_ip, bus.port, "127.0.0.1")
    device_drops: list[object] = []
    heard: list[Telegram] = []

    def device_sends(address: str) -> None:
        device.xknx.telegrams.put_nowait(
            Telegram(
                destination_address=GroupAddress(address),
                payload=GroupValueWrite(DPTBinary(1)),
                source_address=IndividualAddress("1.1.9"),
            )
        )

    try:
        await hub.start()
        use_channel_safe_tunnel(hub)  # what the hub's link does after xknx starts
        await device.start()
        assert (_channel(hub), _channel(device.xknx)) == (1, 2)
        device.xknx.connection_manager.register_connection_state_changed_cb(
            lambda state: device_drops.append(state) if state is XknxConnectionState.DISCONNECTED else None
        )
        hub.telegram_queue.register_telegram_received_cb(heard.append)
        bus.restart()
        device_sends("1/2/5")  # unacknowledged: the device reconnects first and gets id 1, the hub's old id
        await _until(lambda: device.xknx.connection_manager.connected.is_set() and _channel(device.xknx) == 1)
        assert len(device_drops) == 1
        hub.telegrams.put_nowait(
            Telegram(destination_address=GroupAddress("1/2/6"), payload=GroupValueWrite(DPTBinary(1)))
        )  # unacknowledged (knxd acknowledges id 1 to the device): the hub reconnects, to id 2
        await _until(lambda: hub.connection_manager.connected.is_set() and _channel(hub) == 2)
        device_sends("1/2/7")
        await _until(lambda: [t for t in heard if t.destination_address == GroupAddress("1/2/7")])
        assert _channel(device.xknx) == 1
        assert len(device_drops) == 1, "the hub's reconnect closed the device's tunnel"
    finally:
        await device.stop()
        await hub.stop()
