"""Benchmark: telegrams per second the coordinator decodes and turns into entity state.

Runs a real (test) Home Assistant instance with a hub entry and one fully-linked two-connector
charger, on the faked KNX interface of tests/knx_harness.py (no network). Every telegram goes the
whole way: xknx's telegram queue → hub dispatch by group address → ``dpt.decode`` → coordinator state
→ entity ``async_write_ha_state`` → state machine.

- throughput: a burst of telegrams is queued at once and the time until every resulting state is
  written is measured;
- latency: one telegram at a time, from queueing it to its ``state_changed`` event; p50/p99.

Target: ≥ 2,000 telegrams/s and p99 < 2 ms. A KNX twisted-pair line carries about 50/s.

Usage: .venv/bin/python scripts/bench_coordinator.py [--telegrams N]
"""

from __future__ import annotations

import argparse
import asyncio
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
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, ga, hub_entry  # noqa: E402

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


async def main(count: int) -> None:
    async with async_test_home_assistant() as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)
        config_dir = tempfile.TemporaryDirectory()
        hass.config.config_dir = config_dir.name
        await _async_setup_http(hass)
        kit = KnxTestKit(hass)
        with kit.patched():
            entry = await kit.setup(hub_entry([charger_subentry("BENCH", "Bench", SINGLE_PHASE_FULL)]))
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
        await hass.async_stop(force=True)
        config_dir.cleanup()

    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    rate = decoded / elapsed
    print(f"telegrams:        {count} queued, {decoded} decoded, {state_writes} entity state writes")
    print(f"throughput:       {rate:,.0f} telegrams/s decoded into entity state ({elapsed * 1000:.1f} ms)")
    print(f"latency (n={len(latencies)}): p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms")
    ok = rate >= 2000 and p99 < 2.0
    print(f"target ≥ 2,000/s and p99 < 2 ms: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegrams", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.telegrams))
