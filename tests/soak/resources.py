"""The soak's resource samples: tasks, Python objects (bounded caches emptied) and RSS (scripts/soak.py,
"Memory"), and the real time of the slowest balancing round."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from unittest.mock import NonCallableMock

from homeassistant.helpers import storage, translation

from custom_components.knx_evse.group.group import BalancingGroup
from simulator.charger import encode_value

from .bus import REAL

BOUNDED_CACHES: dict[str, Any] = {"simulator.charger.encode_value": encode_value}
"""Bounded caches (``functools.lru_cache``) that fill over several simulated hours: emptied before every
resource sample, so their filling is not counted as growth (their fill is reported instead).

``encode_value`` (maxsize 8,192) memoises the simulator's encoding of every (object, value) a charger
sends; each new session-energy or power value is a new entry (a ``DPTArray``), so it fills at about
200-700 entries per simulated hour until it is full (hour 9-10 of the day) and then stays flat. It is
the simulator's (test side), not the integration's."""


def drop_harness_history() -> int:
    """Forget the call history of pytest-homeassistant-custom-component's mocks.

    ``hass_storage`` patches ``Store._async_load`` / ``Store._async_write_data`` with ``AsyncMock``s,
    which keep every call with its arguments: every restore-state dump and registry write of the run
    (``State``, ``StoredState`` ... objects). The plugin's ``evict_faked_translations`` wraps
    ``translation._async_get_component_strings`` in a mock that keeps the ``HomeAssistant`` of every
    call: after a restart the first instance would stay in memory through it. Both are growth of
    the test harness, not of Home Assistant. Returns the number of calls forgotten.
    """
    dropped = 0
    for value in (*vars(storage.Store).values(), translation._async_get_component_strings):
        mock = getattr(value, "mock", value)  # patch(autospec=True) puts a function with .mock there
        if isinstance(mock, NonCallableMock):
            dropped += len(mock.mock_calls)
            mock.reset_mock()
    return dropped


def resources(hour: float, log_lines: int = 0) -> tuple[dict[str, Any], Counter[str]]:
    """Tasks, Python objects (after a full collection) and RSS of this process now, and objects per type.

    ``objects`` is counted with the bounded caches (``BOUNDED_CACHES``) emptied and the harness's own
    history dropped (``drop_harness_history``; pytest's log capture is off, scripts/soak.py) and
    without the log watch's ``LogLine`` records (one object each, their fields are strings and
    numbers, which the collector does not track; ``harness_log_lines``, ``log_lines`` of them expected);
    ``objects_raw`` before the caches are emptied, and ``bounded_cache_objects`` what emptying them
    freed. The caches' fill is in ``caches``.
    """
    mock_calls = drop_harness_history()
    gc.collect()
    raw = len(gc.get_objects())
    caches = {}
    for name, cached in BOUNDED_CACHES.items():
        info = cached.cache_info()
        caches[name] = f"{info.currsize}/{info.maxsize}"
        cached.cache_clear()
    gc.collect()
    objects = gc.get_objects()
    by_type = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    harness = sum(n for name, n in by_type.items() if name.endswith("attribution.LogLine"))
    assert harness == log_lines, f"{harness} LogLine objects, {log_lines} log lines"
    by_type = Counter({name: n for name, n in by_type.items() if not name.endswith("attribution.LogLine")})
    count = len(objects) - harness
    del objects
    rss_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    sample = {
        "hour": round(hour, 2),
        "tasks": len(asyncio.all_tasks()),
        "objects": count,
        "objects_raw": raw,
        "bounded_cache_objects": raw - count,
        "caches": caches,
        "harness_mock_calls_dropped": mock_calls,
        "harness_log_lines": harness,
        "rss_mb": round(rss_kb / 1024, 1),
    }
    return sample, by_type


def timed_rounds(figures: Any) -> Callable[[BalancingGroup], Awaitable[None]]:
    """``BalancingGroup.async_run_round`` that notes the slowest round's real ms in ``figures.slowest_round_ms``."""
    original = BalancingGroup.async_run_round

    async def timed(group: BalancingGroup) -> None:
        began = REAL()
        try:
            await original(group)
        finally:
            figures.slowest_round_ms = max(figures.slowest_round_ms, (REAL() - began) * 1000)

    return timed
