"""The stateful balancer: priorities, timers, solar modes, fallback and telegram bookkeeping.

Source: the manual's "Dynamic Load Balancing" section (budget with reserve margin, EVSE1 → EVSE6
priority, per-EVSE maximum) and the "Rules" of issue 6. One call to :meth:`Balancer.update` is one
round; it never blocks and does no I/O.

A round, in order:

1. The meter is checked (:data:`MeterState`); an unusable one applies the fallback instead of the
   steps below.
2. The room per constraint is computed: ``limit × (1 − margin) − (meter − Σ EVSE currents)``.
3. Safety: charging EVSEs are given ``min_current`` in priority order; any that no longer fits is
   cut at once (``over_budget_cut``), whatever its ``min_on_time``.
4. Plan, in priority order, first the ``fast``/``min_solar``/override EVSEs on the grid budget,
   then the ``solar`` EVSEs on the export left after them: who keeps charging, who is paused
   (respecting ``min_on_time``), who may start (``min_current + raise_margin`` of room,
   ``min_off_time``, ``ramp_up_delay`` of sustained room, one start per round, EVSE1 first).
5. Limits by water-filling, raised no faster than the sustained room allows and only with
   ``raise_margin`` to spare per charging EVSE, kept while they fit, rounded down to ``step``.
   EVSEs waiting to start share the targets, so a start begins at the share sustained over
   ``ramp_up_delay`` and no charging EVSE is raised into the room it is about to take.
   A limit that must come down while the meter shows the budget really exceeded goes to where a
   raise would have put it (``raise_margin`` below the room), so the car's lag in following the
   pilot does not keep the supply over budget; and the room a raise counts on treats a reported
   current above an EVSE's limit, ``SETTLE_TIME`` after that limit was set, as other load (a
   stale send-on-change report, not a car still slowing down).
6. Which chargers need a telegram (changes, keep-alives only where configured, the limit again to
   an EVSE drawing over it, and a Stop again to a paused one drawing anyway).

The raise hysteresis (``BalancingConfig.raise_margin``) absorbs the chargers' send-on-change
reporting: without it, the unreported part of a car's ramp-up after a raise looked like other load
and the limit was lowered at once and raised again ``ramp_up_delay`` later (``scripts/bench``).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Sequence
from typing import Final

from .allocation import EPS, Usage, fits, reserve, round_down, water_fill
from .config import MODES, BalancingConfig, Mode
from .readings import Decision, EvseReading, MeterReading, MeterState

ADOPT_CURRENT: Final = 1.0
"""A at or above which an EVSE is taken to be charging already on the first round."""
SETTLE_TIME: Final = 10.0
"""s after a limit change before a reported current above the limit counts as stale, not as a car
still slowing down (cars follow a new pilot within a few seconds; IEC 61851-1 allows 5 s)."""

OVER_LIMIT_TOLERANCE: Final = 2.0
"""A a charging EVSE may report above its limit before the limit is written to it again. It covers
the measurement tolerance and a send-on-change report that lags by up to its threshold (``scripts/
bench --report-change 2``: 1 A rewrote stale reports, +0.5 telegrams/h); a lost limit is many A."""

_GRID, _SOLAR, _NONE = 0, 1, 2  # demand groups


def _clean(x: object, cap: float) -> float:
    """Return a measured current in [0, cap]; None, NaN, inf and non-numbers count as 0."""
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return 0.0
    return min(cap, max(0.0, float(x)))


class _Evse:
    """Mutable per-EVSE state (private)."""

    __slots__ = (
        "deficit",
        "deficit_rate",
        "deficit_since",
        "deficit_t",
        "fit_since",
        "force",
        "hist",
        "hist_start",
        "last_paused",
        "last_write",
        "last_written",
        "limit",
        "limit_since",
        "off_since",
        "on",
        "on_since",
        "override",
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
        self.hist: deque[list[float]] = deque()  # [since, target, until], see _allocate
        self.hist_start = 0.0
        self.last_written: float | None = None
        self.last_paused: bool | None = None
        self.last_write = -math.inf
        self.force = False
        self.override: float | None = None
        self.reason = ""


class Balancer:
    """Assigns every EVSE of one balancing group its current limit, round by round.

    Create one per group and call :meth:`update` on every meter update and at least every few
    seconds, with a monotonic clock. State (timers, ramp history, what was written) lives in the
    instance; everything else is in the immutable :class:`BalancingConfig`.

    Args:
        config: the group.

    Example:
        >>> cfg = BalancingConfig(limit=63, reserve_margin=10,
        ...                       evses=(EvseConfig(max_current=32),), ramp_up_delay=0)
        >>> b = Balancer(cfg)
        >>> d = b.update(0.0, MeterReading(20.0, 0.0), [EvseReading(0.0, True)])
        >>> d.available, d.limits
        (36.7, (32.0,))

    """

    def __init__(self, config: BalancingConfig) -> None:
        self._config = config
        self._setup()
        self._state = [_Evse() for _ in config.evses]
        self._last_t: float | None = None
        self._first_t = 0.0
        self._over: list[bool] = []
        self._raise_caps: list[float] = []
        self._raise_surplus = 0.0

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> BalancingConfig:
        """The current configuration, including modes changed with :meth:`set_mode`."""
        return self._config

    def _setup(self) -> None:
        cfg = self._config
        self._n = len(cfg.evses)
        self._m = cfg.phases if cfg.current_control else 1
        usages: list[Usage] = []
        for evse in cfg.evses:
            if not cfg.current_control:
                usages.append(((0, float(evse.phases)),))
            elif evse.phases == 3:
                usages.append(((0, 1.0), (1, 1.0), (2, 1.0)))
            else:
                usages.append(((evse.phase - 1, 1.0),))
        self._usage = usages
        self._solar_usage = [(*u, (self._m, float(e.phases))) for u, e in
                             zip(usages, cfg.evses, strict=True)]
        self._k = [float(e.phases) for e in cfg.evses]
        self._max_raw = [cfg.evse_max_current(i) for i in range(self._n)]
        self._max = [round_down(x, cfg.step, cfg.min_current) for x in self._max_raw]
        self._keepalive = [cfg.evse_keepalive(i) for i in range(self._n)]

    def reconfigure(self, config: BalancingConfig) -> None:
        """Replace the configuration at runtime.

        State (timers, limits, overrides) is kept per index when the number of EVSEs is
        unchanged, and reset otherwise (then every charger is written on the next round).
        """
        same = len(config.evses) == self._n
        self._config = config
        self._setup()
        if not same:
            self._state = [_Evse() for _ in config.evses]
            self._last_t = None

    def set_mode(self, index: int, mode: Mode) -> None:
        """Change the charge mode of EVSE ``index`` (0-based) and clear its override.

        The change takes effect on the next :meth:`update`: ``off`` pauses at once; the other
        modes follow the usual timing rules.

        Raises:
            IndexError: for an unknown index.
            ValueError: for an unknown mode.

        """
        self._check_index(index)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        evses = list(self._config.evses)
        evses[index] = dataclasses.replace(evses[index], mode=mode)
        self._config = dataclasses.replace(self._config, evses=tuple(evses))
        self._state[index].override = None

    def set_override(self, index: int, amps: float | None) -> None:
        """Set a one-shot limit for EVSE ``index`` (0-based) that still respects the breaker budget.

        While set, the EVSE behaves like ``fast`` with ``amps`` as its maximum (``amps`` above
        the EVSE maximum is capped to it), whatever its mode; ``0`` pauses it. The override ends
        with ``set_override(index, None)``, :meth:`set_mode`, or when the vehicle disconnects.
        Source: issue 6, service ``knx_evse.set_current_limit``.

        Raises:
            IndexError: for an unknown index.
            ValueError: for a negative or non-finite value, or one between 0 and
                ``min_current`` (limits of 1–5 A are never allowed).

        """
        self._check_index(index)
        if amps is not None:
            if isinstance(amps, bool) or not isinstance(amps, (int, float)) or not (
                math.isfinite(amps) and amps >= 0
            ):
                raise ValueError(f"override must be None or a current >= 0 A, got {amps!r}")
            if 0 < amps < self._config.min_current:
                raise ValueError(
                    f"override must be 0 (pause) or at least {self._config.min_current} A, "
                    f"got {amps!r}"
                )
            amps = float(amps)
        self._state[index].override = amps

    def force_write(self, index: int | None = None) -> None:
        """Ask for a telegram to EVSE ``index`` (all when None) on the next round.

        Use it when a telegram could not be sent, or after the bus came back.

        Raises:
            IndexError: for an unknown index.

        """
        if index is None:
            for st in self._state:
                st.force = True
        else:
            self._check_index(index)
            self._state[index].force = True

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self._n:
            raise IndexError(f"EVSE index {index} out of range 0..{self._n - 1}")

    # ------------------------------------------------------------------ the round

    def update(
        self, now: float, meter: MeterReading | None, evses: Sequence[EvseReading]
    ) -> Decision:
        """Run one balancing round.

        Args:
            now: the time in seconds, same clock as ``MeterReading.timestamp``. A clock that goes
                backwards is held at its last value for the timers.
            meter: the latest meter reading, or None when there is none.
            evses: one reading per configured EVSE, EVSE1 first.

        Returns:
            The :class:`Decision` for this round.

        Raises:
            ValueError: when ``len(evses)`` differs from the configured number of EVSEs.

        """
        cfg = self._config
        n = self._n
        if len(evses) != n:
            raise ValueError(f"expected {n} EVSE readings, got {len(evses)}")
        t = now if self._last_t is None else max(now, self._last_t)
        first = self._last_t is None
        self._last_t = t
        if first:
            self._first_t = t

        measured = [self._measured(i, r) for i, r in enumerate(evses)]
        group, upper = self._demands(evses)
        if first:
            self._adopt(t, group, upper, measured)
        for i, st in enumerate(self._state):
            # A paused EVSE still drawing after SETTLE_TIME gets its Stop again, at most once per
            # SETTLE_TIME (it may have dropped it; see _draws_as_load).
            if (not st.on and max(measured[i]) >= ADOPT_CURRENT
                    and t - st.limit_since >= SETTLE_TIME and t - st.last_write >= SETTLE_TIME):
                st.force = True
            # A charging EVSE drawing more than its limit SETTLE_TIME after it was set gets the
            # limit again, at most once per SETTLE_TIME (a charger that lost it, e.g. restarted
            # at its "Initial current limit"; meanwhile the excess is load, see _budget).
            if (st.on and max(measured[i]) > st.limit + OVER_LIMIT_TOLERANCE
                    and t - st.limit_since >= SETTLE_TIME and t - st.last_write >= SETTLE_TIME):
                st.force = True
        for i in range(n):
            if group[i] == _NONE:
                # User intent: paused at once, whatever min_on_time.
                st = self._state[i]
                if st.on:
                    self._stop(i, t)
                st.fit_since = None
                st.reason = "not_connected" if not evses[i].connected else "off"

        state, caps, surplus = self._budget(now, meter, measured)
        if state != "ok":
            self._fallback(t, state, group, upper)
            available: float | None = None
            surplus_out: float | None = None
        else:
            self._balance(t, caps, surplus, group, upper)
            available = (min(caps) if caps else 0.0) if cfg.current_control else caps[0] / cfg.phases
            available = round(available, 9)
            surplus_out = round(max(0.0, surplus) / cfg.phases, 9)
        return self._finish(t, state, available, surplus_out)

    # ------------------------------------------------------------------ inputs

    def _measured(self, i: int, reading: EvseReading) -> tuple[float, ...]:
        """Measured EVSE current per supply phase it draws from, cleaned and capped."""
        cap = self._max_raw[i]
        cur = reading.current
        single = self._k[i] == 1.0
        if type(cur) is float and math.isfinite(cur):  # the common case, fast
            v = cap if cur > cap else (cur if cur > 0.0 else 0.0)
            return (v,) if single else (v, v, v)
        if single:
            if isinstance(cur, tuple):
                return (max((_clean(x, cap) for x in cur), default=0.0),)
            return (_clean(cur, cap),)
        if isinstance(cur, tuple):
            vals = [_clean(x, cap) for x in cur[:3]]
            vals += [0.0] * (3 - len(vals))
            return tuple(vals)
        v = _clean(cur, cap)
        return (v, v, v)

    def _demands(self, evses: Sequence[EvseReading]) -> tuple[list[int], list[float]]:
        """Per EVSE: its demand group and the most it may be given (rounded A)."""
        cfg = self._config
        group: list[int] = []
        upper: list[float] = []
        for i, (evse, reading) in enumerate(zip(cfg.evses, evses, strict=True)):
            st = self._state[i]
            if not reading.connected:
                st.override = None
            ov = st.override
            if not reading.connected or (ov is None and evse.mode == "off") or ov == 0.0:
                group.append(_NONE)
                upper.append(0.0)
            elif ov is not None:
                group.append(_GRID)
                upper.append(min(self._max[i], round_down(ov, cfg.step, cfg.min_current)))
            else:
                group.append(_SOLAR if evse.mode == "solar" else _GRID)
                upper.append(self._max[i])
        return group, upper

    def _adopt(
        self, t: float, group: list[int], upper: list[float], measured: list[tuple[float, ...]]
    ) -> None:
        """First round: EVSEs already charging are taken as on, at their measured current.

        Avoids a Stop telegram to every charging car when Home Assistant restarts.
        """
        cfg = self._config
        for i, st in enumerate(self._state):
            amps = max(measured[i])
            if group[i] != _NONE and amps >= ADOPT_CURRENT:
                st.on = True
                st.on_since = -math.inf
                st.limit_since = t
                st.limit = min(upper[i], round_down(max(amps, cfg.min_current), cfg.step,
                                                    cfg.min_current))
                st.hist.clear()

    def _budget(
        self, now: float, meter: MeterReading | None, measured: list[tuple[float, ...]]
    ) -> tuple[MeterState, list[float], float]:
        """Check the meter; return its state, the room per constraint, and the export.

        Issue 6: "Available for EVSEs = limit × (1 − margin) − (meter − Σ measured EVSE
        currents)"; per-phase meters give one constraint per phase, so a three-phase EVSE is
        held by its most loaded phase and a single-phase EVSE only by its own.

        Returns:
            (state, caps, surplus). ``caps`` per constraint in A (phase-amperes in power
            mode); ``surplus`` is the export without the EVSEs, in phase-amperes (W / V),
            negative while importing.

        """
        cfg = self._config
        nph = cfg.phases
        if meter is None or meter.value is None:
            return "unavailable", [], 0.0
        value = meter.value
        bound_w = cfg.meter_power_bound
        i_abs = bound_w / (cfg.voltage * nph)

        def number(x: object) -> bool:
            return (isinstance(x, (int, float)) and not isinstance(x, bool)
                    and math.isfinite(x))

        if isinstance(value, tuple):
            if len(value) != nph or meter.unit == "W" or not all(number(x) for x in value):
                return "invalid", [], 0.0
            unit = "A"
        elif number(value):
            unit = meter.unit or ("A" if cfg.current_control else "W")
            if unit not in ("A", "W"):
                return "invalid", [], 0.0
        else:
            return "invalid", [], 0.0
        ts = meter.timestamp
        if not number(ts) or now - ts < -cfg.meter_timeout:
            return "invalid", [], 0.0
        if now - ts > cfg.meter_timeout:
            return "stale", [], 0.0

        ev = [0.0] * nph  # EVSE current per supply phase
        for i, evse in enumerate(cfg.evses):
            if self._draws_as_load(i, now):
                continue  # paused, yet drawing: it stays in the meter as other load
            vals = measured[i]
            if evse.phases == 3:
                for p in range(3):
                    ev[p] += vals[p]
            else:
                ev[evse.phase - 1] += vals[0]

        if isinstance(value, tuple):
            if any(abs(x) > i_abs for x in value):
                return "absurd", [], 0.0
            loads = [float(x) - ev[p] for p, x in enumerate(value)]
        elif unit == "A":
            if abs(value) > i_abs:
                return "absurd", [], 0.0
            # A single current on a three-phase supply is taken as every phase's current; the
            # EVSE share is the smallest per phase, so no phase is underestimated.
            load = float(value) - min(ev)
            loads = [load] * nph
        else:
            if abs(value) > bound_w:
                return "absurd", [], 0.0
            load = (float(value) - cfg.voltage * sum(ev)) / (cfg.voltage * nph)
            loads = [load] * nph

        # Reported currents above an EVSE's own limit: a car still slowing down after a lowering,
        # or a report that is stale-high (send-on-change). Raises do not count on them.
        excess = [0.0] * nph
        for i, evse in enumerate(cfg.evses):
            st = self._state[i]
            if now - st.limit_since < SETTLE_TIME or self._draws_as_load(i, now):
                continue
            lim = st.limit if st.on else 0.0
            vals = measured[i]
            if evse.phases == 3:
                for p in range(3):
                    excess[p] += max(0.0, vals[p] - lim)
            else:
                excess[evse.phase - 1] += max(0.0, vals[0] - lim)
        if cfg.current_control:
            caps = [cfg.budget - x for x in loads]
            self._over = [ev[p] > caps[p] + EPS for p in range(nph)]
            if isinstance(value, tuple):
                self._raise_caps = [c - excess[p] for p, c in enumerate(caps)]
            else:
                self._raise_caps = [c - max(excess) for c in caps]
        else:
            caps = [cfg.budget / cfg.voltage - sum(loads)]
            self._over = [sum(ev) > caps[0] + EPS]
            self._raise_caps = [caps[0] - sum(excess)]
        self._raise_surplus = -sum(loads) - sum(excess)
        return "ok", caps, -sum(loads)

    def _draws_as_load(self, i: int, now: float) -> bool:
        """Return True for an EVSE paused ``SETTLE_TIME`` ago or more: what it still draws is load.

        A charger may not obey a Stop, or drop it: the manual's "Auto charging init after
        connect" (object 26) starts a new session when a vehicle is plugged in, whatever was
        written before (the soak benchmark saw a car draw 29 A for an hour on a "paused" EVSE).
        Such a draw is then not the balancer's to hand out: it is counted like the house, so the
        other EVSEs are limited around it, and the Stop is sent again (see :meth:`update`).
        """
        st = self._state[i]
        return not st.on and now - st.limit_since >= SETTLE_TIME

    # ------------------------------------------------------------------ state changes

    def _start(self, i: int, t: float) -> None:
        # The share recorded while waiting (see _allocate) is kept: the start limit is its
        # minimum over the last ramp_up_delay, so the car starts at its sustained share.
        st = self._state[i]
        st.on = True
        st.on_since = t
        st.fit_since = None
        st.deficit_since = None
        st.limit = 0.0
        st.limit_since = t

    def _stop(self, i: int, t: float) -> None:
        st = self._state[i]
        st.on = False
        st.off_since = t
        st.fit_since = None
        st.deficit_since = None
        st.limit = 0.0
        st.limit_since = t
        st.hist.clear()

    def _mode_reason(self, i: int) -> str:
        if self._state[i].override is not None:
            return "override"
        return self._config.evses[i].mode

    # ------------------------------------------------------------------ normal operation

    def _pending(self, i: int, t: float, fits_now: bool) -> bool:
        """Timers of an off EVSE that fits the plan; True when it may start now."""
        cfg = self._config
        st = self._state[i]
        if not fits_now:
            st.fit_since = None
            return False
        if st.fit_since is None:
            st.fit_since = t
        if st.off_since is not None and t - st.off_since < cfg.min_off_time:
            st.reason = "paused_min_off"
            return False
        if t - st.fit_since < cfg.ramp_up_delay:
            st.reason = "ramp_wait"
            return False
        return True

    def _balance(
        self, t: float, caps: list[float], surplus: float, group: list[int], upper: list[float]
    ) -> None:
        cfg = self._config
        minc = cfg.min_current
        start_amps = minc + cfg.raise_margin  # a start is a raise from 0 (see _allocate)
        usage = self._usage
        states = self._state
        n = self._n

        # 1. Safety: charging EVSEs at min_current, priority order; what does not fit is cut.
        cap_real = list(caps)
        for i in range(n):
            st = states[i]
            if st.on:
                if fits(cap_real, usage[i], minc):
                    reserve(cap_real, usage[i], minc)
                else:
                    self._stop(i, t)
                    st.reason = "over_budget_cut"
                    group[i] = _NONE

        # 2. Plan on the grid budget: fast / min_solar / override first, then solar runners.
        cap_plan = list(caps)  # on + every pending start of higher priority
        cap_keep = list(caps)  # on + starts ready now: decides who keeps charging
        ready: list[int] = []
        for i in range(n):
            if group[i] != _GRID:
                continue
            st = states[i]
            if st.on:
                if fits(cap_keep, usage[i], minc):
                    st.reason = self._mode_reason(i)
                elif t - st.on_since < cfg.min_on_time:
                    st.reason = "min_on_hold"
                else:
                    self._stop(i, t)
                    st.reason = "paused_priority"
                    reserve(cap_real, usage[i], -minc)
                    continue
                reserve(cap_keep, usage[i], minc)
                reserve(cap_plan, usage[i], minc)
            else:
                ok = fits(cap_plan, usage[i], start_amps)
                if ok:
                    reserve(cap_plan, usage[i], minc)
                if self._pending(i, t, ok):
                    ready.append(i)
                    reserve(cap_keep, usage[i], minc)
                elif not ok:
                    st.reason = "paused_priority"
        for i in range(n):
            st = states[i]
            if group[i] == _SOLAR and st.on:
                # Solar draws yield the grid budget to fast EVSEs (after min_on_time).
                if not fits(cap_keep, usage[i], minc) and t - st.on_since >= cfg.min_on_time:
                    self._stop(i, t)
                    st.reason = "paused_priority"
                    reserve(cap_real, usage[i], -minc)
                    group[i] = _NONE
                    continue
                reserve(cap_keep, usage[i], minc)
                reserve(cap_plan, usage[i], minc)

        # 3. Starts: one per round, highest priority first, only when it really fits.
        started = False
        for i in ready:
            st = states[i]
            if started:
                st.reason = "start_queue"
            elif fits(cap_real, usage[i], start_amps):
                self._start(i, t)
                reserve(cap_real, usage[i], minc)
                st.reason = self._mode_reason(i)
                started = True
            else:
                st.reason = "wait_preempt"

        # 4. Solar: the export left after the grid-budget EVSEs, in priority order.
        pool = surplus - self._grid_draw(caps, group, upper)
        pool_keep = pool
        pool_plan = pool
        ready = []
        for i in range(n):
            if group[i] != _SOLAR:
                continue
            st = states[i]
            need = self._k[i] * minc
            if st.on:
                if pool_keep >= need - EPS:
                    st.deficit_since = None
                    st.reason = "solar"
                else:
                    # The import this EVSE causes: its min_current less the export that covers
                    # part of it. The pause comes once that import adds up to solar_stop_delay
                    # seconds of min_current (a cloud that leaves some export is ridden longer).
                    rate = need - min(need, max(0.0, pool_keep))
                    if st.deficit_since is None:
                        st.deficit_since = t
                        st.deficit = 0.0
                    else:
                        st.deficit += st.deficit_rate * (t - st.deficit_t)
                    st.deficit_rate = rate
                    st.deficit_t = t
                    if t - st.on_since < cfg.min_on_time:
                        st.reason = "min_on_hold"
                    elif st.deficit < need * cfg.solar_stop_delay - EPS:
                        st.reason = "no_surplus_hold"
                    else:
                        self._stop(i, t)
                        st.reason = "paused_no_surplus"
                        reserve(cap_real, usage[i], -minc)
                        continue
                pool_keep -= need
                pool_plan -= need
            else:
                grid_ok = fits(cap_plan, usage[i], start_amps)
                ok = grid_ok and pool_plan >= need - EPS
                if ok:
                    pool_plan -= need
                    reserve(cap_plan, usage[i], minc)
                if self._pending(i, t, ok):
                    ready.append(i)
                elif not ok:
                    st.reason = "paused_no_surplus" if grid_ok else "paused_priority"
        for i in ready:
            st = states[i]
            need = self._k[i] * minc
            if started:
                st.reason = "start_queue"
            elif fits(cap_real, usage[i], start_amps) and pool_keep >= need - EPS:
                self._start(i, t)
                reserve(cap_real, usage[i], minc)
                pool_keep -= need
                st.reason = "solar"
                started = True
            else:
                st.reason = "wait_preempt"

        # 5. Limits. Off EVSEs that fit the plan (timers running) share the targets too.
        waiting = []
        for i in range(n):
            st = states[i]
            if st.on:
                continue
            if st.fit_since is None:
                st.hist.clear()
            else:
                waiting.append(i)
        self._allocate(t, caps, surplus, upper, waiting)

    def _grid_draw(self, caps: list[float], group: list[int], upper: list[float]) -> float:
        """Phase-amperes the grid-budget EVSEs would draw now, at their full fair share."""
        on = [i for i in range(self._n) if self._state[i].on]
        x = self._fill(caps, 0.0, on, upper, None)[0]
        return sum(self._k[i] * x[i] for i in on if group[i] == _GRID)

    def _fill(
        self,
        caps: list[float],
        surplus: float,
        on: list[int],
        upper: list[float],
        ramp: list[float] | None,
        *,
        margin: float = 0.0,
    ) -> tuple[list[float], float]:
        """Water-fill the charging EVSEs: ``fast`` extras first, then solar extras.

        Every charging EVSE first gets ``min_current``. ``fast`` and override EVSEs share the
        rest of the grid budget; ``solar`` and ``min_solar`` EVSEs then share what is left of
        both the grid budget and the export (issue 6: "solar uses only export ... min_solar
        gives min_current plus the surplus. Both stay within the breaker budget").

        ``margin`` (A per phase) is set aside for every charging EVSE, on each constraint it
        uses and from the export, before sharing: the result is then the most each may be
        raised to while keeping ``raise_margin`` of headroom (see :meth:`_allocate`).

        Returns (amps per EVSE index, export left in phase-amperes). ``ramp`` caps each EVSE.
        """
        cfg = self._config
        minc = cfg.min_current
        states = self._state
        x = [0.0] * self._n
        free = list(caps)
        for i in on:
            reserve(free, self._usage[i], minc + margin)
            x[i] = minc
        fast: list[int] = []
        sol: list[int] = []
        for i in on:
            if states[i].override is not None or cfg.evses[i].mode == "fast":
                fast.append(i)
            else:
                sol.append(i)
        if ramp is None:
            ups = [upper[i] - minc for i in fast]
        else:
            ups = [min(upper[i], ramp[i]) - minc for i in fast]
        extra = water_fill(free, [self._usage[i] for i in fast], ups)
        for i, e in zip(fast, extra, strict=True):
            x[i] += e
            reserve(free, self._usage[i], e)
        pool = surplus - sum(self._k[i] * (x[i] + margin) for i in on)
        if sol:
            if ramp is None:
                ups = [upper[i] - minc for i in sol]
            else:
                ups = [min(upper[i], ramp[i]) - minc for i in sol]
            extra = water_fill([*free, max(0.0, pool)],
                               [self._solar_usage[i] for i in sol], ups)
            for i, e in zip(sol, extra, strict=True):
                x[i] += e
                pool -= self._k[i] * e
        return x, pool

    def _allocate(
        self, t: float, caps: list[float], surplus: float, upper: list[float],
        waiting: Sequence[int] = (),
    ) -> None:
        """Targets without ramp caps (recorded), then limits with them, rounded to ``step``.

        Issue 6: "Lower at once. Raise only after ramp_up_delay of sustained headroom. Small
        decreases must not restart that clock forever." Each EVSE may rise to the smallest
        target it had over the last ``ramp_up_delay`` seconds, so a dip only delays the raise
        by at most ``ramp_up_delay`` and the limit follows the window's minimum.

        The recorded targets are shared out with ``raise_margin`` set aside per charging EVSE;
        the limits themselves on the full room, each capped by ``max(its limit, window
        minimum)``. So a limit rises only with the margin to spare, stays while it fits without
        it, and is lowered in the round it no longer fits.

        ``waiting`` (off EVSEs that fit the plan, their start timers running) are shared out with
        the charging ones in the targets, and their targets are recorded too: a start then begins
        at the smallest share it had over the last ``ramp_up_delay`` (not at ``min_current`` and a
        raise one ``ramp_up_delay`` later, a telegram more), and no charging EVSE is raised into
        room that a waiting one is about to take.
        """
        cfg = self._config
        minc = cfg.min_current
        delay = cfg.ramp_up_delay
        states = self._state
        on = [i for i in range(self._n) if states[i].on]
        sharing = [*on, *waiting]
        target, _ = self._fill(self._raise_caps, self._raise_surplus, sharing, upper, None,
                               margin=cfg.raise_margin)
        ramp = [0.0] * self._n
        start = t - delay
        for i in sharing:
            st = states[i]
            hist = st.hist
            tgt = target[i]
            # Sliding-window minimum of a piecewise-constant target: entries are
            # [since, target, until]; a later, smaller target makes older larger ones irrelevant.
            if hist:
                hist[-1][2] = t
            else:
                st.hist_start = t  # the window only counts from the first recorded target
            while hist and hist[-1][1] >= tgt:
                hist.pop()
            hist.append([t, tgt, math.inf])
            while hist[0][2] <= start:
                hist.popleft()
            window_min = hist[0][1] if start >= st.hist_start else min(minc, hist[0][1])
            ramp[i] = max(st.limit, window_min)
        final, _ = self._fill(caps, surplus, on, upper, ramp)
        over = self._over
        for i in on:
            st = states[i]
            limit = round_down(final[i], cfg.step, minc)
            if limit < st.limit and any(over[c] for c, _w in self._usage[i]):
                # The supply is over budget now: cut to where a raise would have put the limit,
                # raise_margin below the room, so the car's lag does not hold it over the budget.
                limit = round_down(min(final[i], target[i]), cfg.step, minc)
            if limit != st.limit:
                st.limit_since = t
            st.limit = limit

    # ------------------------------------------------------------------ fallback

    def _fallback(self, t: float, state: MeterState, group: list[int], upper: list[float]) -> None:
        """No usable meter: pause all, or give the fixed fallback current in priority order.

        Issue 6: "A meter reading older than meter_timeout, unavailable, non-numeric or absurd
        triggers the fallback." With a fixed current, ``fast`` and override EVSEs get it (capped
        by their maximum), ``min_solar`` gets ``min_current`` and ``solar`` pauses, as long as
        the sum fits ``limit × (1 − margin)`` with no other load assumed; new starts respect
        ``min_off_time`` and happen one per round.
        """
        cfg = self._config
        reason = "fallback_meter_stale" if state == "stale" else "fallback_meter_invalid"
        fixed = cfg.fallback_current
        minc = cfg.min_current
        caps = [cfg.budget] * self._m if cfg.current_control else [cfg.budget / cfg.voltage]
        started = False
        for i in range(self._n):
            st = self._state[i]
            if group[i] == _NONE:
                continue
            st.reason = reason
            st.fit_since = None
            mode = "fast" if st.override is not None else cfg.evses[i].mode
            if fixed is None or mode == "solar":
                if st.on:
                    self._stop(i, t)
                continue
            amps = minc if mode == "min_solar" else min(
                upper[i], round_down(fixed, cfg.step, minc))
            ok = fits(caps, self._usage[i], amps)
            if st.on and not ok:
                self._stop(i, t)
            elif not st.on and ok and not started and (
                st.off_since is None or t - st.off_since >= cfg.min_off_time
            ):
                self._start(i, t)
                started = True
            if st.on:
                reserve(caps, self._usage[i], amps)
                if st.limit != amps:
                    st.limit_since = t
                st.limit = amps
                st.hist.clear()  # after recovery, raising waits a full ramp_up_delay

    # ------------------------------------------------------------------ output

    def _finish(
        self, t: float, state: MeterState, available: float | None, surplus: float | None
    ) -> Decision:
        """Build the Decision and the telegram bookkeeping (issue 6, "Writes").

        A charger is written when its limit or pause state changed, on ``force_write``, and, only
        when it has a keep-alive (``BalancingConfig.evse_keepalive``), once that many seconds
        have passed since its last write.

        The first Stop of an EVSE that is idle and about to start (its start timers running) is
        held for up to ``ramp_up_delay + SETTLE_TIME`` after the first round: when it starts in
        that time, a Stop and a Start 10 s later would be two telegrams for nothing (a Home
        Assistant restart while cars wait). Meanwhile a draw is other load and gets its Stop at
        once (see :meth:`update`); an EVSE that does not fit, is off or not connected gets its
        Stop in the first round, as before.
        """
        limits: list[float] = []
        paused: list[bool] = []
        reasons: list[str] = []
        writes: list[int] = []
        switches: list[int] = []
        hold_first_stop = t - self._first_t < self._config.ramp_up_delay + SETTLE_TIME
        for i, st in enumerate(self._state):
            lim = st.limit if st.on else 0.0
            p = lim == 0.0
            limits.append(lim)
            paused.append(p)
            reasons.append(st.reason)
            if (st.last_paused is None and p and hold_first_stop and not st.force
                    and st.fit_since is not None):
                continue
            switch = st.last_paused is None or p != st.last_paused
            keepalive = self._keepalive[i]
            if (switch or st.force or st.last_written is None or abs(lim - st.last_written) > EPS
                    or (keepalive is not None and t - st.last_write >= keepalive)):
                writes.append(i)
                if switch:
                    switches.append(i)
                st.last_written = lim
                st.last_paused = p
                st.last_write = t
                st.force = False
        return Decision(
            limits=tuple(limits),
            paused=tuple(paused),
            available=available,
            surplus=surplus,
            reason=tuple(reasons),
            fallback=state != "ok",
            meter_state=state,
            writes=tuple(writes),
            switches=tuple(switches),
        )


__all__ = ["ADOPT_CURRENT", "OVER_LIMIT_TOLERANCE", "SETTLE_TIME", "Balancer"]
