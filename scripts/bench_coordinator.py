"""Benchmark: telegrams per second the coordinator decodes and turns into entity state.

Runs a real (test) Home Assistant instance with a hub entry and one fully-linked two-connector
charger, on the faked KNX interface of tests/knx_harness.py (no network). Every telegram goes the
whole way: xknx's telegram queue → hub dispatch by group address → ``dpt.decode`` → coordinator state
→ entity ``async_write_ha_state`` → state machine.

``--route core-knx``: the hub rides on Home Assistant's own KNX integration, loaded beside it
(tests/core_knx_harness.py); the telegrams enter core knx's xknx queue and reach the hub as
``knx_event`` events (core knx records each one in its telegram history on the way).

- throughput: a burst of telegrams is queued at once and the time until every resulting state is
  written is measured;
- latency: one telegram at a time, from queueing it to its ``state_changed`` event; p50/p99.

Target: ≥ 2,000 telegrams/s and p99 < 2 ms. A KNX twisted-pair line carries about 50/s.

Usage: .venv/bin/python scripts/bench_coordinator.py [--telegrams N] [--route own|core-knx]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from homeassistant import loader  # noqa: E402
from homeassistant.const import EVENT_STATE_CHANGED  # noqa: E402
from homeassistant.core import Event, HomeAssistant, callback  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from pytest_homeassistant_custom_component.common import async_test_home_assistant  # noqa: E402
from xknx.dpt.payload import DPTArray, DPTBinary  # noqa: E402
from xknx.telegram import Telegram, TelegramDirection  # noqa: E402
from xknx.telegram.address import GroupAddress, IndividualAddress  # noqa: E402
from xknx.telegram.apci import GroupValueWrite  # noqa: E402

import custom_components.knx_evse  # noqa: E402, F401  (before Home Assistant scans custom_components)
from tests.core_knx_harness import CoreKnxTestKit, core_hub_entry  # noqa: E402
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, ga, hub_entry  # noqa: E402

ROUTES = ("own", "core-knx")

# (object, payload builder) - power, currents, session energy/time, states: what a charger sends most.
STREAMS = (
    (47, lambda i: DPTArray(struct.pack(">f", 1000.0 + i % 1000))),
    (48, lambda i: DPTArray(struct.pack(">f", 6.0 + (i % 100) / 10))),
    (96, lambda i: DPTArray(struct.pack(">f", 2000.0 + i % 1000))),
    (97, lambda i: DPTArray(struct.pack(">f", 8.0 + (i % 100) / 10))),
    (46, lambda i: DPTArray(i.to_bytes(4, "big"))),
    (45, lambda i: DPTArray((i % 65536).to_bytes(2, "big"))),
    (37, lambda i: DPTBinary(i % 2)),
    (34, lambda i: DPTArray((i % 10,))),
)

LATENCY_STREAMS = (
    (47, lambda i: DPTArray(struct.pack(">f", 10_000.0 + i))),
    (97, lambda i: DPTArray(struct.pack(">f", 100.0 + i / 8))),
    (46, lambda i: DPTArray((1_000_000 + i).to_bytes(4, "big"))),
)


async def _async_setup_http(hass: HomeAssistant) -> None:
    """Serve HTTP (file_upload needs it) on a free port of 127.0.0.1, never on the demo's 8123.

    Home Assistant keeps the HTTP settings in its storage after the first start: the config
    directory must be a fresh one.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert await async_setup_component(hass, "http", {"http": {"server_host": ["127.0.0.1"], "server_port": port}})


def _telegram(number: int, payload: DPTArray | DPTBinary) -> Telegram:
    return Telegram(
        destination_address=GroupAddress(ga(number)),
        direction=TelegramDirection.INCOMING,
        payload=GroupValueWrite(payload),
        source_address=IndividualAddress("1.1.1"),
    )


async def main(count: int, route: str = "own") -> None:
    """Measure and print the throughput and latency of the coordinator over ``route`` (``ROUTES``)."""
    async with async_test_home_assistant() as hass, contextlib.AsyncExitStack() as stack:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        config_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        hass.config.config_dir = str(config_dir)
        await _async_setup_http(hass)
        chargers = [charger_subentry("BENCH", "Bench", SINGLE_PHASE_FULL)]
        kit = CoreKnxTestKit(hass, config_dir) if route == "core-knx" else KnxTestKit(hass)
        with kit.patched():
            if isinstance(kit, CoreKnxTestKit):
                await kit.setup_core_knx()
                entry = await kit.setup(core_hub_entry(chargers))
            else:
                entry = await kit.setup(hub_entry(chargers))
            xknx = kit.xknx
            assert xknx is not None
            coordinator = entry.runtime_data.chargers["BENCH"]

            changes = 0
            waiter: asyncio.Future[float] | None = None

            @callback
            def on_change(_event: Event) -> None:
                nonlocal changes, waiter
                changes += 1
                if waiter is not None and not waiter.done():
                    waiter.set_result(time.perf_counter())

            hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)

            # warm-up
            for i in range(200):
                number, build = STREAMS[i % len(STREAMS)]
                xknx.telegrams.put_nowait(_telegram(number, build(i + 1)))
            await kit.flush()

            # throughput
            telegrams = [
                _telegram(number, build(1000 + i))
                for i, (number, build) in ((i, STREAMS[i % len(STREAMS)]) for i in range(count))
            ]
            decoded_before, changes_before = coordinator.telegrams_decoded, changes
            start = time.perf_counter()
            for telegram in telegrams:
                xknx.telegrams.put_nowait(telegram)
            await xknx.telegrams.join()
            await hass.async_block_till_done()
            elapsed = time.perf_counter() - start
            decoded = coordinator.telegrams_decoded - decoded_before
            state_writes = changes - changes_before

            # latency, one telegram at a time
            latencies = []
            loop = asyncio.get_running_loop()
            for i in range(min(count, 2000)):
                # only objects whose every telegram changes the state (unique values), so each one
                # produces a state_changed event to wait for
                number, build = LATENCY_STREAMS[i % len(LATENCY_STREAMS)]
                waiter = loop.create_future()
                sent = time.perf_counter()
                xknx.telegrams.put_nowait(_telegram(number, build(i)))
                done = await asyncio.wait_for(waiter, 1)
                latencies.append((done - sent) * 1000)
            waiter = None

            await hass.config_entries.async_unload(entry.entry_id)
            await kit.flush()
            if isinstance(kit, CoreKnxTestKit):
                await kit.unload_core_knx()
        await hass.async_stop(force=True)

    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rate = decoded / elapsed
    print(f"route:            {route}")
    print(f"telegrams:        {count} queued, {decoded} decoded, {state_writes} entity state writes")
    print(f"throughput:       {rate:,.0f} telegrams/s decoded into entity state ({elapsed * 1000:.1f} ms)")
    print(f"latency (n={len(latencies)}): p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms")
    ok = rate >= 2000 and p99 < 2.0
    print(f"target ≥ 2,000/s and p99 < 2 ms: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegrams", type=int, default=20_000)
    parser.add_argument("--route", choices=ROUTES, default="own", help="own xknx connection or core knx's")
    args = parser.parse_args()
    asyncio.run(main(args.telegrams, args.route))
