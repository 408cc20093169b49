"""The soak's log: every warning kept as plain values, which fault explains it, and whether each
condition was logged once when it started and once when it ended.

A warning or error is explained when any fault whose window holds it (``Fault.explains_at``) has a
pattern for it, or by ``ALWAYS``; overlapping faults each contribute their patterns. The integration's
own start and end lines (info and warning, ``CONDITIONS``) are checked for repeats: a condition
logged as started while it is started already, or ended while it is not, within one runtime of the
integration (a reload or a restart starts a new one).
"""

from __future__ import annotations

import logging
import math
import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .faults import Fault

ALWAYS: list[tuple[str, str]] = [
    ("homeassistant.loader", r"custom integration"),  # Home Assistant's notice for any custom integration
    ("aiohttp_fast_zlib", r"zlib"),  # Home Assistant's HTTP stack at start-up
]
OURS = "custom_components.knx_evse"
TEARDOWN: list[tuple[str, str]] = [("xknx", r"^Tunnel disconnect failed")]
"""What the soak's own teardown may cause once the simulated day is over."""

CONDITIONS: list[tuple[str, re.Pattern[str], re.Pattern[str]]] = [
    # (logger suffix, start, end): the groups named "key" say whose condition it is
    ("charger.liveness", re.compile(r"^(?P<key>.+) sent nothing for"), re.compile(r"^(?P<key>.+) answers again$")),
    ("group.members", re.compile(r"^(?P<key>.+?) (does not answer|has not reported its current);"),
     re.compile(r"^(?P<key>.+) answers again$")),
    ("group.members", re.compile(r"^(?P<key>.+?): could not write to (?P<who>.+?) \("),
     re.compile(r"^(?P<key>.+?): writes to (?P<who>.+) go through again$")),
    ("group.meter", re.compile(r"^(?P<key>[^:]+): meter .* fallback applied$"),
     re.compile(r"^(?P<key>[^:]+): meter usable again")),
    ("group.group", re.compile(r"^(?P<key>.+) does not follow its current limit$"),
     re.compile(r"^(?P<key>.+) follows its current limit again$")),
    ("charger.repairs", re.compile(r"^(?P<key>[^:]+): no answer to the start-up read"),
     re.compile(r"^(?P<key>[^:]+): every status object read at start-up has answered$")),
    ("", re.compile(r"^KNX connection of (?P<key>.+) lost$"), re.compile(r"^KNX connection of (?P<key>.+) restored$")),
]
"""(logger suffix, "" for any of ours; start; end)."""


@dataclass(frozen=True, slots=True)
class LogLine:
    """What LogWatch keeps of a log record: plain values, no ``LogRecord``.

    A record's ``args`` and ``exc_info`` (traceback, frames, their locals) would keep objects of the
    run alive and show up as growth in the object count; ``exception`` is only the exception's
    one-line summary (``ValueError: ...``), as text.
    """

    at: float
    level: int
    name: str
    message: str
    exception: str | None = None

    def text(self) -> str:
        """``t=<s>s LEVEL logger: message [exception]``."""
        line = f"t={self.at:.0f}s {logging.getLevelName(self.level)} {self.name}: {self.message[:300]}"
        return line + (f" [{self.exception}]" if self.exception else "")


class LogWatch(logging.Handler):
    """Every warning and error, and the integration's info lines, with the simulated second, as ``LogLine``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(logging.INFO)
        self.clock = clock
        self.records: list[LogLine] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno < logging.WARNING and not record.name.startswith(OURS):
            return
        try:
            message = record.getMessage()
        except Exception as err:  # a bad format string is itself worth reporting
            message = f"{record.msg!r} (unformattable: {err!r})"
        exception = None
        if record.exc_info and record.exc_info[1] is not None:
            exception = "".join(traceback.format_exception_only(record.exc_info[1])).strip()[:300]
        self.records.append(LogLine(self.clock(), record.levelno, record.name, message, exception))

    def warnings(self) -> list[LogLine]:
        """The warnings and errors."""
        return [line for line in self.records if line.level >= logging.WARNING]


def explained_by(line: LogLine, faults: Iterable[Fault]) -> list[Fault]:
    """The faults whose window holds ``line`` and that have a pattern for it."""
    return [
        fault
        for fault in faults
        if fault.explains_at(line.at)
        and any(line.name.startswith(lg) and re.search(rx, line.message) for lg, rx in fault.spec.explains)
    ]


def unexplained(lines: Iterable[LogLine], faults: Iterable[Fault], end: float = math.inf) -> list[str]:
    """The warnings and errors of ``lines`` that no injected fault (or ``ALWAYS``) explains, as text.

    From ``end`` (the simulated day's last second) the soak closes every tunnel itself: a tunnel
    that missed a knxd restart says so then (``TEARDOWN``).
    """
    faults = list(faults)
    return [
        line.text()
        for line in lines
        if line.level >= logging.WARNING
        and not any(line.name.startswith(lg) and re.search(rx, line.message) for lg, rx in ALWAYS)
        and not (line.at >= end and any(line.name.startswith(lg) and re.search(rx, line.message) for lg, rx in TEARDOWN))
        and not explained_by(line, faults)
    ]


def repeated_conditions(lines: Iterable[LogLine], runtimes: Iterable[float]) -> list[str]:
    """Start and end lines that repeat (module docstring); ``runtimes``: when a new runtime began."""
    starts = sorted(runtimes)
    active: set[tuple[str, str, str]] = set()
    out = []
    for line in lines:
        while starts and starts[0] <= line.at:
            starts.pop(0)
            active.clear()
        if not line.name.startswith(OURS):
            continue
        for suffix, start, end in CONDITIONS:
            if not line.name.endswith(suffix):
                continue
            for pattern, begins in ((start, True), (end, False)):
                if (match := pattern.search(line.message)) is None:
                    continue
                key = (suffix, match["key"], match.groupdict().get("who") or "")
                if begins == (key in active):
                    out.append(f"{'started' if begins else 'ended'} twice: {line.text()}")
                (active.add if begins else active.discard)(key)
    return out
