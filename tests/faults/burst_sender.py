"""Burst sender for test_bus_faults_e2e.py: a separate process that floods the bus with telegrams.

Run inside the bus's network namespace (``KnxdBus.exec_args``). It opens its own KNX/IP tunnel to
knxd, sends the GroupValueWrites described on stdin (JSON: ``{"port", "telegrams": [[address,
[payload bytes]], ...], "seconds"}``) spread evenly over ``seconds`` (at most as fast as the tunnel
acknowledges), and prints one JSON line: ``{"sent", "elapsed"}``. A separate process, so the event
loop whose lag the test measures is Home Assistant's alone.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from xknx import XKNX
from xknx.dpt.payload import DPTArray
from xknx.io import ConnectionConfig, ConnectionType
from xknx.telegram import Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueWrite


async def main() -> None:
    """Connect, send, report."""
    job = json.loads(sys.stdin.read())
    telegrams = [
        Telegram(destination_address=GroupAddress(address), payload=GroupValueWrite(DPTArray(tuple(payload))))
        for address, payload in job["telegrams"]
    ]
    config = ConnectionConfig(
        connection_type=ConnectionType.TUNNELING, gateway_ip="127.0.0.1", gateway_port=job["port"], local_ip="127.0.0.1"
    )
    xknx = XKNX(connection_config=config, rate_limit=0)
    await xknx.start()
    try:
        spacing = job["seconds"] / len(telegrams)
        start = time.monotonic()
        for index, telegram in enumerate(telegrams):
            delay = start + index * spacing - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            xknx.telegrams.put_nowait(telegram)
            if index % 50 == 49:
                await xknx.telegrams.join()
        await xknx.telegrams.join()
        elapsed = time.monotonic() - start
    finally:
        await xknx.stop()
    print(json.dumps({"sent": len(telegrams), "elapsed": elapsed}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
