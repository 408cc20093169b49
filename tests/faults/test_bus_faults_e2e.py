"""Faults on the real knxd bus: malformed telegrams, a charger that goes silent, a burst of 2,000.

Home Assistant's hub tunnels to knxd in the bus's namespace (knxbus/), the simulated demo
"Garage" charger (simulator/charger/) has a tunnel of its own, and other senders use their own
tunnels: every telegram crosses knxd. The coordinator's liveness timing is shortened for this module
(class attributes, see coordinator.py "Staleness"); polling with short timeouts, no fixed sleeps.

Needs root and knxd; skipped with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import statistics
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx import XKNX
from xknx.dpt.payload import DPTArray
from xknx.io import ConnectionConfig, ConnectionType
from xknx.telegram import IndividualAddress, Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueWrite, MemoryRead

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.charger.liveness import STALE_READS
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_TUNNELING,
    CONF_PORT,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.knx.hub import KnxEvseHub
from knxbus.forward import forward_tcp
from knxbus.knxd import KnxdBus
from simulator.charger import KnxHost, SimulatedCharger
from simulator.installation import load_installation

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("bus_netns", "sockets_enabled")]

SUBENTRY_ID = "garage"
CHARGER = IndividualAddress(load_installation("demo").charger("Garage")["individual_address"])
"""The Garage's individual address: a telegram on its sending addresses from another device is not its."""
STAND_IN = "1.1.77"
"""An individual address no device on the test bus uses."""
LIVENESS_AFTER = 1.5
"""s of silence before the coordinator reads the charger (product: 2 × cyclic period + 10 s, ≤ 120 s)."""
ANSWER_TIMEOUT = 1.0
"""s for the charger to answer (product: 10 s)."""
CHECK = 0.2
"""s between liveness checks (product: 5 s)."""
STALE_BOUND = LIVENESS_AFTER + STALE_READS * ANSWER_TIMEOUT + (STALE_READS + 2) * CHECK
"""The longest a silent charger may look alive: read after LIVENESS_AFTER, no answer ANSWER_TIMEOUT, read
once more, no answer ANSWER_TIMEOUT; each step up to a CHECK late, and one CHECK of slack."""
SENDER = Path(__file__).with_name("burst_sender.py")
_GA_IN_LOG = re.compile(r"group address (\d+/\d+/\d+)\b")


async def wait_for(predicate: Callable[[], Any], within: float, what: str) -> float:
    """Poll every 20 ms until ``predicate()`` is truthy; return the seconds it took (fail after ``within``)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > within:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture(autouse=True)
def fast_liveness() -> Iterator[None]:
    """Short read pacing and liveness timing for this module."""
    with (
        patch.object(KnxEvseHub, "read_interval", 0.01),
        patch.object(ChargerCoordinator, "liveness_after", LIVENESS_AFTER),
        patch.object(ChargerCoordinator, "answer_timeout", ANSWER_TIMEOUT),
        patch.object(ChargerCoordinator, "stale_check_interval", CHECK),
    ):
        yield


@dataclass
class Stack:
    """Home Assistant set up against the bus, with the simulated charger (stepped in real time)."""

    hass: HomeAssistant
    bus: KnxdBus
    charger: SimulatedCharger
    host: KnxHost | None
    entry: MockConfigEntry

    @property
    def coordinator(self) -> ChargerCoordinator:
        """The integration's coordinator of the Garage charger."""
        coordinator: ChargerCoordinator = self.entry.runtime_data.chargers[SUBENTRY_ID]
        return coordinator

    def entity_ids(self) -> list[str]:
        """Every enabled entity of the charger."""
        registry = er.async_get(self.hass)
        return [e.entity_id for e in er.async_entries_for_config_entry(registry, self.entry.entry_id) if not e.disabled_by]

    def entity(self, platform: str, key: str) -> str:
        """Entity id of description ``key``."""
        found = er.async_get(self.hass).async_get_entity_id(platform, DOMAIN, f"{SUBENTRY_ID}_{key}")
        assert found is not None
        return found

    def state(self, entity_id: str) -> str:
        """State string of ``entity_id``."""
        state = self.hass.states.get(entity_id)
        assert state is not None
        return state.state


async def _step(charger: SimulatedCharger) -> None:
    """Step the simulator in real time (1 simulated s per s) until cancelled."""
    loop = asyncio.get_running_loop()
    last = loop.time()
    while True:
        await asyncio.sleep(0.05)
        now = loop.time()
        charger.step(now - last)
        last = now


@contextlib.asynccontextmanager
async def stack_of(
    hass: HomeAssistant, bus: KnxdBus, parameters: dict[str, Any] | None = None, individual_address: str | None = None
) -> AsyncIterator[Stack]:
    """The demo's Garage charger (``parameters`` changed) on the bus and Home Assistant set up for it.

    ``individual_address``: the charger's address in Home Assistant's subentry, if not the simulated
    charger's own.
    """
    data = load_installation("demo").charger("Garage")
    data = {**data, "parameters": {**data["parameters"], **(parameters or {})}}
    charger = SimulatedCharger(data)
    if individual_address is not None:
        data = {**data, "individual_address": individual_address}
    charger.start()
    charger.step(float(charger.params.delay_at_start))
    host = await charger.connect(bus.gateway_ip, bus.port, "127.0.0.1")
    stepper = asyncio.create_task(_step(charger))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="KNX bus",
        data={
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING,
            CONF_HOST: bus.gateway_ip,
            CONF_PORT: bus.port,
            CONF_KNX_LOCAL_IP: "127.0.0.1",
        },
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id=SUBENTRY_ID,
                subentry_type=SUBENTRY_CHARGER,
                title="Garage",
                unique_id=data["individual_address"],
                data=data,
            )
        ],
    )
    stack = Stack(hass, bus, charger, host, entry)
    try:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        await wait_for(lambda: stack.coordinator.startup_reads_done and stack.coordinator.value(3) is not None, 5, "start-up reads answered")
        yield stack
    finally:
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
            await hass.async_block_till_done()
        stepper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stepper
        if stack.host is not None:
            await stack.host.stop()


@contextlib.asynccontextmanager
async def other_client(bus: KnxdBus) -> AsyncIterator[XKNX]:
    """Another device on the bus: an xknx tunnel of its own (e.g. a faulty sensor or a visualisation)."""
    xknx = XKNX(
        connection_config=ConnectionConfig(
            connection_type=ConnectionType.TUNNELING, gateway_ip=bus.gateway_ip, gateway_port=bus.port, local_ip="127.0.0.1"
        ),
        rate_limit=0,
    )
    await xknx.start()
    try:
        yield xknx
    finally:
        await xknx.stop()


async def test_malformed_telegrams_over_the_bus(
    hass: HomeAssistant, bus_netns: KnxdBus, caplog: pytest.LogCaptureFixture
) -> None:
    """A sample of addresses: wrong length (the charger's own send_malformed), NaN/inf, wrong service."""
    async with stack_of(hass, bus_netns) as stack, other_client(bus_netns) as other:
        coordinator = stack.coordinator
        sample = [3, 13, 19, 34, 36, 46, 61, 67]
        await wait_for(lambda: all(coordinator.value(n) is not None for n in (3, 19, 34, 36, 61)), 5, "initial values")
        values = {n: coordinator.value(n) for n in sample}
        states = {e: stack.state(e) for e in stack.entity_ids()}
        invalid = coordinator.telegrams_invalid
        caplog.clear()
        caplog.set_level(logging.DEBUG, logger="custom_components.knx_evse")
        nan = DPTArray(tuple(struct.pack(">f", math.nan)))
        inf = DPTArray(tuple(struct.pack(">f", math.inf)))
        bad = 0
        for number in sample:
            for _ in range(2):
                stack.charger.send_malformed(number)
                bad += 1
            address = GroupAddress(f"1/0/{number}")
            other.telegrams.put_nowait(Telegram(destination_address=address, payload=MemoryRead(address=0, count=1)))
            bad += 1
            if number in (13, 61):  # DPT 14.x floats, from the charger itself (its own tunnel)
                for payload in (nan, inf):
                    assert stack.host is not None
                    stack.host.xknx.telegrams.put_nowait(
                        Telegram(destination_address=address, source_address=CHARGER, payload=GroupValueWrite(payload))
                    )
                    bad += 1
        await other.telegrams.join()
        assert stack.host is not None
        await stack.host.xknx.telegrams.join()
        await wait_for(lambda: coordinator.telegrams_invalid - invalid >= bad, 5, f"{bad} bad telegrams through knxd")
        assert coordinator.telegrams_invalid - invalid == bad
        assert {n: coordinator.value(n) for n in sample} == values  # no car: nothing changes by itself
        assert {e: stack.state(e) for e in states} == states
        assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
        warned = Counter(
            m.group(1) for r in caplog.records if r.levelno == logging.WARNING and (m := _GA_IN_LOG.search(r.getMessage()))
        )
        assert warned == Counter({f"1/0/{n}": 1 for n in sample})

        # a valid telegram still counts: the charger's limit status after a command
        limit = stack.entity("number", "evse_current_limit")
        await hass.services.async_call("number", "set_value", {"entity_id": limit, "value": 20}, blocking=True)
        await wait_for(lambda: stack.state(limit) == "20.0", 3, "limit status 20 A from the charger")


async def test_silent_charger_goes_stale_and_comes_back(hass: HomeAssistant, bus_netns: KnxdBus) -> None:
    """Muted, then killed (its tunnel gone): stale and unavailable within the bound; back when it answers."""
    async with stack_of(hass, bus_netns) as stack:
        coordinator = stack.coordinator
        power = stack.entity("sensor", "evse_active_power")
        limit = stack.entity("number", "evse_current_limit")
        assert not coordinator.is_stale and stack.state(power) != STATE_UNAVAILABLE
        figures = {}

        stack.charger.mute()
        took = await wait_for(lambda: coordinator.is_stale, STALE_BOUND + 1, "stale after mute")
        figures["mute → stale"] = took
        assert took <= STALE_BOUND
        assert stack.state(power) == STATE_UNAVAILABLE and stack.state(limit) == STATE_UNAVAILABLE
        assert stack.entry.runtime_data.hub.connected  # the bus is fine: only the charger is silent
        stack.charger.mute(False)  # it answers the next liveness read
        figures["unmute → back"] = await wait_for(lambda: not coordinator.is_stale, LIVENESS_AFTER + 2, "back after unmute")
        assert stack.state(limit) == "32.0"

        assert stack.host is not None
        await stack.host.stop()  # killed: its tunnel is gone
        stack.host = None
        took = await wait_for(lambda: coordinator.is_stale, STALE_BOUND + 1, "stale after kill")
        figures["kill → stale"] = took
        assert took <= STALE_BOUND
        assert stack.state(power) == STATE_UNAVAILABLE
        stack.host = await stack.charger.connect(bus_netns.gateway_ip, bus_netns.port, "127.0.0.1")
        figures["reconnect → back"] = await wait_for(lambda: not coordinator.is_stale, LIVENESS_AFTER + 2, "back after reconnect")
        assert stack.state(limit) == "32.0"
        print("\nstaleness over knxd (s):", json.dumps({k: round(v, 2) for k, v in figures.items()}), f"bound {STALE_BOUND:.1f}")


async def test_burst_of_2000_telegrams_in_one_second(hass: HomeAssistant, bus_netns: KnxdBus) -> None:
    """2,000 status telegrams in 1 s from another process: none lost, final states exact, loop not blocked.

    The two sender processes stand in for the charger. knxd passes no telegram whose source another
    tunnel already uses, so they cannot send as the charger; its subentry names an individual address
    that is never heard instead, and then every source counts (``ChargerCoordinator._from_charger``).
    """
    async with stack_of(hass, bus_netns, individual_address=STAND_IN) as stack:
        coordinator = stack.coordinator
        stack.charger.mute()  # only the burst reaches these addresses
        assert all(coordinator.has_object(n) for n in (13, 47, 96, 14, 48, 97, 61, 110))
        objects = {13: "evse_active_power", 47: "conn1_active_power", 96: "conn2_active_power",
                   14: "evse_single_phase_current", 48: "conn1_single_phase_current",
                   97: "conn2_single_phase_current", 61: "conn1_current_limit_status", 110: "conn2_current_limit_status"}
        numbers = list(objects)
        telegrams = []
        last: dict[int, float] = {}
        for index in range(2000):
            number = numbers[index % len(numbers)]
            value = float(index % 997) + 0.5
            telegrams.append([f"1/0/{number}", list(struct.pack(">f", value))])
            last[number] = value
        decoded = coordinator.telegrams_decoded
        invalid = coordinator.telegrams_invalid

        lags: list[float] = []

        async def measure_lag() -> None:
            loop = asyncio.get_running_loop()
            while True:
                start = loop.time()
                await asyncio.sleep(0.01)
                lags.append(loop.time() - start - 0.01)

        meter = asyncio.create_task(measure_lag())
        received_at: list[float] = []
        original = coordinator._handle_telegram

        def timed(telegram: Telegram) -> None:
            original(telegram)
            received_at.append(time.monotonic())

        coordinator._handle_telegram = timed  # type: ignore[method-assign]
        stack.entry.runtime_data.hub._handlers = {raw: (timed,) for raw in stack.entry.runtime_data.hub._handlers}
        try:
            # two senders (two tunnels), each one address group, so the bus carries 2000 in about 1 s
            halves = [[t for t in telegrams if numbers.index(int(t[0].split("/")[2])) % 2 == k] for k in (0, 1)]
            procs = [
                await asyncio.create_subprocess_exec(
                    *bus_netns.exec_args([sys.executable, str(SENDER)]),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    cwd=str(Path(__file__).parents[2]),
                )
                for _ in halves
            ]
            outs = await asyncio.gather(
                *(
                    proc.communicate(
                        json.dumps(
                            {"port": bus_netns.port, "telegrams": half, "seconds": 1.0}
                        ).encode()
                    )
                    for proc, half in zip(procs, halves, strict=True)
                )
            )
            assert [proc.returncode for proc in procs] == [0, 0]
            reports = [json.loads(out) for out, _err in outs]
            sender = {"sent": sum(r["sent"] for r in reports), "elapsed": max(r["elapsed"] for r in reports)}
            await wait_for(lambda: coordinator.telegrams_decoded - decoded >= 2000, 10, "2000 telegrams decoded")
            await hass.async_block_till_done()
        finally:
            meter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meter
        got = coordinator.telegrams_decoded - decoded
        assert got == 2000 and coordinator.telegrams_invalid == invalid
        for number, key in objects.items():
            assert coordinator.value(number) == last[number], number
            assert float(stack.state(stack.entity("sensor", key))) == last[number], key
        lags_ms = sorted(lag * 1000 for lag in lags)
        p50 = statistics.median(lags_ms)
        p99 = lags_ms[min(len(lags_ms) - 1, math.ceil(0.99 * len(lags_ms)) - 1)]
        span = received_at[-1] - received_at[0]
        figures = {
            "sent": sender["sent"],
            "send_seconds": round(sender["elapsed"], 3),
            "sent_per_s": round(sender["sent"] / sender["elapsed"]),
            "decoded": got,
            "lost": 2000 - got,
            "received_per_s": round((len(received_at) - 1) / span) if span > 0 else None,
            "loop_lag_ms": {"p50": round(p50, 2), "p99": round(p99, 2), "max": round(lags_ms[-1], 2), "samples": len(lags_ms)},
        }
        print("\nburst over knxd:", json.dumps(figures))
        assert sender["elapsed"] <= 1.5, "the sender could not put 2000 telegrams on the bus in about a second"
        assert p99 < 100, f"event loop blocked: p99 lag {p99:.1f} ms"


async def test_demo_forwarder_binds_loopback_only(bus_netns: KnxdBus) -> None:
    """The forwarder that makes the demo's Home Assistant reachable listens on 127.0.0.1 and nothing else."""
    async with await forward_tcp(0, bus_netns.ns, 8123) as forwarder:
        assert forwarder._server is not None
        bound = {sock.getsockname()[0] for sock in forwarder._server.sockets}
        assert bound == {"127.0.0.1"}
