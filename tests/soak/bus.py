"""The soak's bus activity: what lets a lock step know the bus has settled, and the real clock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest.mock import patch

import freezegun.api
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
