"""The soak's log attribution: every warning or error kept as plain values, and which fault explains it."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .faults import Fault

EXPLAINED: dict[str, list[tuple[str, str]]] = {
    # fault kind -> (logger name prefix, message regex) of the warnings and errors it explains
    "knxd_restart": [
        ("xknx", r""),
        ("custom_components.knx_evse.knx.hub", r"connection|KNX"),
        ("custom_components.knx_evse.charger.liveness", r"sent nothing for"),
        ("custom_components.knx_evse.group", r"could not|not sent|failed|does not answer; its limit"),
    ],
    "charger_mute": [
        ("custom_components.knx_evse.charger.liveness", r"sent nothing for"),
        ("custom_components.knx_evse.group", r"does not answer; its limit"),
    ],
    "charger_kill": [
        ("custom_components.knx_evse.charger.liveness", r"sent nothing for"),
        ("custom_components.knx_evse.group", r"does not answer; its limit"),
        ("xknx", r"Tunnel disconnect failed"),
    ],
    "meter_unavailable": [("custom_components.knx_evse.group", r"meter .* is unavailable; fallback")],
    "meter_unknown": [("custom_components.knx_evse.group", r"meter .* is unavailable; fallback")],
    "meter_non_numeric": [("custom_components.knx_evse.group", r"meter .* is invalid; fallback")],
    "meter_stale": [("custom_components.knx_evse.group", r"meter .* is stale; fallback")],
    "washing_machine": [],
    "malformed": [("custom_components.knx_evse.charger.coordinator", r"ignoring telegram to group address")],
    "ha_reload": [("custom_components.knx_evse.group", r"has not reported its current; its limit")],
}
GRACE = 300.0
"""Simulated s after a fault ends during which its warnings are still explained by it."""
ALWAYS: list[tuple[str, str]] = [
    ("homeassistant.loader", r"custom integration"),  # Home Assistant's notice for any custom integration
    ("aiohttp_fast_zlib", r"zlib"),  # Home Assistant's HTTP stack at start-up
]


@dataclass(frozen=True, slots=True)
class LogLine:
    """What LogWatch keeps of a warning or error: plain values, no ``LogRecord``.

    A record's ``args`` and ``exc_info`` (traceback, frames, their locals) would keep objects of the
    run alive and show up as growth in the object count; ``exception`` is only the exception's
    one-line summary (``ValueError: ...``), as text.
    """

    at: float
    level: str
    name: str
    message: str
    exception: str | None = None


class LogWatch(logging.Handler):
    """Every warning and error, with the simulated second it was logged at, as ``LogLine``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(logging.WARNING)
        self.clock = clock
        self.records: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception as err:  # a bad format string is itself worth reporting
            message = f"{record.msg!r} (unformattable: {err!r})"
        exception = None
        if record.exc_info and record.exc_info[1] is not None:
            exception = "".join(traceback.format_exception_only(record.exc_info[1])).strip()[:300]
        self.records.append(LogLine(self.clock(), record.levelname, record.name, message, exception))


def unexplained(records: Iterable[LogLine], faults: Iterable[Fault]) -> list[str]:
    """The warnings and errors of ``records`` that no injected fault (or ``ALWAYS``) explains, as text."""
    faults = list(faults)
    out = []
    for line in records:
        at = line.at
        rules = list(ALWAYS)
        for fault in faults:
            if fault.started and fault.at - 1 <= at <= fault.end + GRACE:
                rules += EXPLAINED[fault.kind]
        if any(line.name.startswith(lg) and re.search(rx, line.message) for lg, rx in rules):
            continue
        text = f"t={at:.0f}s {line.level} {line.name}: {line.message[:300]}"
        out.append(text + (f" [{line.exception}]" if line.exception else ""))
    return out
