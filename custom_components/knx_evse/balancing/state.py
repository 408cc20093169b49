"""Per-EVSE state of the balancer, and the base that its parts (round, planning, output) share.

The :class:`Balancer` is split by job: ``balancer.py`` (configuration and the round),
``planning.py`` (who charges and at what limit), ``output.py`` (the fallback and the Decision with
its telegram bookkeeping). They share the attributes declared on :class:`BalancerBase`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from .allocation import Usage
from .config import BalancingConfig, Mode
from .readings import BatteryState, MeterState, PriceState, SiteReading

ADOPT_CURRENT: Final = 1.0
"""A at or above which an EVSE is taken to be charging already on the first round."""
SETTLE_TIME: Final = 10.0
"""s after a limit change before a reported current above the limit counts as stale, not as a car
still slowing down (cars follow a new pilot within a few seconds; IEC 61851-1 allows 5 s)."""

FOLLOW_TIME: Final = 6.0
"""s after a limit change within which a car must follow it (IEC 61851-1 allows 5 s, plus a second for
the charger's report): a draw still over the limit plus ``OVER_LIMIT_TOLERANCE`` then counts as other
load at once, so the other EVSEs are cut while the limit is written again."""

OVER_LIMIT_TOLERANCE: Final = 2.0
"""A a charging EVSE may report above its limit before the limit is written to it again. It covers
the measurement tolerance and a send-on-change report that lags by up to its threshold (``scripts/
bench --report-change 2``: 1 A rewrote stale reports, +0.5 telegrams/h); a lost limit is many A."""

CAP_GAP: Final = 4.0
"""A a charging EVSE must draw below its limit, the ramp-up delay plus ``SETTLE_TIME`` long, before it
is capped near its draw (a car whose on-board charger or full battery takes less than its share). A
tapering car's cap then follows it in steps of ``CAP_GAP - CAP_HEADROOM``."""
CAP_HEADROOM: Final = 1.0
"""A above the draw where the cap sits (rounded up to the limit grid); within half of it of the cap,
the EVSE draws at its cap and the cap is lifted."""

_GRID, _SOLAR, _NONE = 0, 1, 2  # demand groups


def fallback_reason(state: MeterState | None) -> str:
    """Return the reason of an EVSE in the fallback for a meter in ``state``."""
    return {"stale": "fallback_meter_stale", "reversed": "fallback_meter_reversed"}.get(
        state or "", "fallback_meter_invalid")


def _clean(x: object, cap: float) -> float:
    """Return a measured current in [0, cap]; None, NaN, inf and non-numbers count as 0."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return 0.0
    return min(cap, max(0.0, float(x)))


class _Evse:
    """Mutable per-EVSE state (private)."""

    __slots__ = (
        "cap",
        "deficit",
        "deficit_rate",
        "deficit_since",
        "deficit_t",
        "disobeyed",
        "fit_since",
        "force",
        "hist",
        "hist_start",
        "ignored",
        "last_paused",
        "last_write",
        "last_written",
        "limit",
        "limit_since",
        "low_since",
        "off_since",
        "on",
        "on_since",
        "over_draw",
        "over_since",
        "override",
        "phases",
        "phases_seen",
        "plan",
        "plan_more",
        "reason",
    )

    def __init__(self) -> None:
        self.on = False
        self.on_since = -math.inf
        self.off_since: float | None = None
        self.fit_since: float | None = None
        self.deficit_since: float | None = None
        self.deficit = 0.0  # phase-ampere-seconds imported since deficit_since (solar)
        self.deficit_rate = 0.0  # phase-amperes imported at the last round (solar)
        self.deficit_t = 0.0  # time of the last round that added to deficit
        self.limit = 0.0
        self.limit_since = -math.inf
        self.over_since: float | None = None  # drawing over limit + tolerance since (charging)
        self.disobeyed = False  # paused for drawing over its limit; cleared when it obeys
        self.ignored: float | None = None  # A it drew over its limit this session: its minimum
        self.over_draw = 0.0  # A drawn in the last round over its limit
        self.low_since: float | None = None  # drawing clearly below its limit since (charging)
        self.cap: float | None = None  # A: the most it gets while it takes less than its share
        self.hist: deque[list[float]] = deque()  # [since, target, until], see _allocate
        self.hist_start = 0.0
        self.last_written: float | None = None
        self.last_paused: bool | None = None
        self.last_write = -math.inf
        self.force = False
        self.override: float | None = None
        self.phases: tuple[int, ...] | None = None  # own phases its vehicle draws from, None: all (or unknown)
        self.phases_seen: tuple[float, tuple[int, ...]] | None = None  # (since, own phases) drawn from fewer
        self.plan: float | None = None  # A: in a planned slot, charged as in Fast up to this (Solar, Min+Solar)
        self.plan_more = False  # ... and may share what the supply has left above it
        self.reason = ""


class BalancerBase:
    """The attributes the balancer's parts share, and the start/stop state changes.

    ``_n`` EVSEs; ``_m`` constraints (the supply's phases, or 1 for a power limit, then the
    circuits', see ``circuit_round.py``); ``_usage[i]``: the
    constraints EVSE ``i`` loads and by how much per ampere; ``_state[i]``: its :class:`_Evse`.
    """

    _config: BalancingConfig
    _state: list[_Evse]
    _n: int
    _m: int
    _usage: list[Usage]
    _usage_all: list[Usage]  # ... on every phase of the EVSE (the fallback's, with no meter)
    _drawn: list[tuple[int, ...]]  # per EVSE: the own phases (0-based) ``_usage`` counts it on
    _solar_usage: list[Usage]
    _k: list[float]
    _max_raw: list[float]
    _max: list[float]
    _keepalive: list[float | None]
    _phase_map: list[tuple[int, ...]]
    _minc: list[float]
    _last_t: float | None
    _over: list[bool]
    _fallback_caps: list[float]  # per constraint: the budget with no other load (the fallback's)
    _ev_of: list[tuple[float, ...]]  # per EVSE and own phase: the current that is the EVSEs' to share
    _excess_of: list[tuple[float, ...]]  # ... and its excess over its limit (raises do not count on it)
    _raise_caps: list[float]
    _raise_surplus: float
    _raised_at: float  # the last round that raised or started an EVSE
    _fresh: bool  # the supply's meter reading is not older than that round
    _stale_path: list[bool]  # per EVSE: a circuit reading it depends on is older than that round
    _disobedient: tuple[int, ...]
    _site: SiteReading
    _modes: list[Mode]  # each EVSE's mode this round: a cheap price makes Solar and Min+Solar Fast
    _price: PriceState | None
    _battery: BatteryState | None
    _hungry: bool  # the battery comes first and could take more than it does (site.py)
    _grid_export: float  # the meter's export this round, phase-amperes (negative: import)

    # ------------------------------------------------------------------ state changes

    def _start(self, i: int, t: float) -> None:
        # The share recorded while waiting (see _allocate) is kept: the start limit is its
        # minimum over the last ramp_up_delay, so the car starts at its sustained share.
        st = self._state[i]
        st.on = True
        st.on_since = t
        st.low_since = st.cap = None
        st.fit_since = None
        st.deficit_since = None
        st.limit = 0.0
        st.limit_since = t

    def _stop(self, i: int, t: float) -> None:
        st = self._state[i]
        st.on = False
        if st.over_since is not None:
            st.disobeyed = True  # paused while drawing over its limit
            if st.last_write >= st.over_since or st.ignored is not None:
                # it drew over a limit written again, or for the second time: plan it at that draw
                st.ignored = max(st.over_draw, st.ignored or 0.0)
            else:
                st.ignored = 0.0  # once may be a lost limit: the next time counts
        st.over_since = None
        st.low_since = st.cap = None
        st.off_since = t
        st.fit_since = None
        st.deficit_since = None
        st.limit = 0.0
        st.limit_since = t
        st.hist.clear()

    def _planned(self, i: int) -> bool:
        """Return True while EVSE ``i`` is in a planned slot that steers it: Solar or Min+Solar this round, no override.

        (A cheap price makes it Fast for the round, ``_modes``: then it takes all Fast takes.)
        """
        st = self._state[i]
        return st.plan is not None and st.override is None and self._modes[i] in ("solar", "min_solar")

    def _mode_reason(self, i: int) -> str:
        if self._state[i].override is not None:
            return "override"
        if self._state[i].cap is not None:
            return "capped"
        if self._planned(i):
            return "planned"
        mode = self._modes[i]
        return "cheap_price" if mode != self._config.evses[i].mode else mode
