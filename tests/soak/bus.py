"""The soak's lock step: the bus activity that tells when the bus has settled, the real clock, and
the frozen clock moved timer by timer (scripts/soak.py, "Time compression")."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time as _time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import freezegun.api
from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import get_scheduled_timer_handles
from xknx import XKNX
from xknx.cemi.cemi_handler import CEMIHandler


def REAL() -> float:
    """Wall-clock seconds (everything else in this process runs on the frozen, stepped clock).

    Looked up at each call: freezegun replaces module attributes that are ``time.monotonic``.
    """
    return float(freezegun.api.real_monotonic())  # type: ignore[attr-defined]


class BusActivity:
    """Counts frames sent and received by every xknx client of this process, and sends in flight.

    A send is in flight from the tunnelling request until knxd's confirmation (L_DATA.con): while
    one is, simulated time must not advance, or xknx's 1 s acknowledgement timeout would fire.
    """

    def __init__(self) -> None:
        self.inflight = 0
        self.sent = 0
        self.received = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        send, handle = CEMIHandler.send_telegram, CEMIHandler.handle_raw_cemi
        activity = self

        async def counting_send(handler: CEMIHandler, telegram: Any) -> None:
            activity.inflight += 1
            activity.sent += 1
            try:
                await send(handler, telegram)
            finally:
                activity.inflight -= 1

        def counting_handle(handler: CEMIHandler, raw: bytes) -> None:
            activity.received += 1
            handle(handler, raw)

        with (
            patch.object(CEMIHandler, "send_telegram", counting_send),
            patch.object(CEMIHandler, "handle_raw_cemi", counting_handle),
        ):
            yield


SETTLE_CAP = 0.25
"""Real s a lock step waits at most for the bus to go quiet (a knxd restart leaves a send unacknowledged)."""


class LockStep:
    """Moves the frozen clock timer by timer, letting the bus settle in real time after each move.

    ``clients`` gives the xknx clients of this process whose queues must be empty for the bus to be
    settled; ``figures`` counts the settles that hit ``SETTLE_CAP`` and the timer stops.
    """

    def __init__(
        self, freezer: FrozenDateTimeFactory, activity: BusActivity, clients: Callable[[], list[XKNX]], figures: Any
    ) -> None:
        self.freezer = freezer
        self.activity = activity
        self.clients = clients
        self.figures = figures

    async def settle(self) -> None:
        """Let the loop run until no frame is in flight or queued and nothing arrived for two polls."""
        loop = asyncio.get_running_loop()
        began = REAL()
        last = (self.activity.sent, self.activity.received)
        quiet = 0
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            await loop.run_in_executor(None, _time.sleep, 0.0002)
            now = (self.activity.sent, self.activity.received)
            busy = self.activity.inflight > 0 or any(x.telegrams.qsize() for x in self.clients())
            if not busy and now == last:
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
            last = now
            if REAL() - began > SETTLE_CAP:
                self.figures.settle_overruns += 1
                return

    async def advance(self, seconds: float) -> None:
        """Move the frozen clock ``seconds`` ahead, stopping at every timer due on the way.

        Each timer (Home Assistant's intervals and call-laters, xknx's rate limiter and timeouts,
        the hub's read pacing) runs at its own time with the bus settled before and after, as
        in real time; only the idle time between them is skipped.
        """
        loop = asyncio.get_running_loop()
        target = loop.time() + seconds
        for _ in range(1000):
            due = [h.when() for h in get_scheduled_timer_handles(loop) if not h.cancelled()]
            nxt = min(due, default=math.inf)
            if nxt >= target:
                break
            # asyncio runs a timer once the clock is strictly past it; the clock moves in whole
            # microseconds: round up (a timer due "now", e.g. call_later(0), needs one tick too)
            self.freezer.tick(timedelta(microseconds=max(0, math.ceil((nxt - loop.time()) * 1e6)) + 1))
            await self.settle()
            self.figures.timer_stops += 1
        else:
            if os.environ.get("SOAK_DEBUG"):
                stuck = [h for h in get_scheduled_timer_handles(loop) if not h.cancelled() and h.when() <= loop.time()]
                print("debug stuck", loop.time(), [(h.when(), h) for h in stuck][:3], flush=True)
        rest = target - loop.time()
        if rest > 0:
            self.freezer.tick(timedelta(seconds=rest))
        await self.settle()
