"""The grace of a balancing group: a meter or KNX connection gone for a moment keeps the limits in force.

No Home Assistant in here, so the benchmark's fault day (``scripts/bench_faults.py``) runs the
group's own rule. Why and how long: docs/balancing.md and ``meter_grace`` in ``group/data.py``.
"""

from __future__ import annotations

import math

from ..balancing import MeterReading


class Grace:
    """Tells a round to hold while the meter or the connection has been gone for less than ``seconds``.

    A meter unavailable for one update, or a KNX connection down for a second, keeps the limits in
    force (no Stop, and no Start 60 s later); the fallback begins after it. The first valid reading
    ends the grace and may cut at once. ``seconds``: the group's ``meter_grace``, never longer than
    its meter timeout (the caller takes the smaller).
    """

    def __init__(self, seconds: float) -> None:
        """Hold for at most ``seconds`` s of a gone meter or connection."""
        self.seconds = seconds
        self._gone_since: float | None = None

    def holding(self, now: float, connected: bool, meter: MeterReading | None) -> bool:
        """Return True when the round at ``now`` (s) should send nothing and leave the core alone.

        Gone: not ``connected``, no reading, or a value that is None or not finite.
        """
        value = None if meter is None else meter.value
        gone = not connected or value is None or not all(
            math.isfinite(v) for v in (value if isinstance(value, tuple) else (value,))
        )
        if not gone:
            self._gone_since = None
            return False
        if self._gone_since is None:
            self._gone_since = now
        return now - self._gone_since < self.seconds
