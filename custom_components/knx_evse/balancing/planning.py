"""Normal operation of the balancer: who charges, who waits, and at what limit (water-filling)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

from .allocation import EPS, fits, reserve, round_down, water_fill
from .state import _GRID, _NONE, _SOLAR, BalancerBase


class Planning(BalancerBase):
    """The planning part of :class:`~.balancer.Balancer` (see its module docstring for the round)."""

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
        if t - st.fit_since < cfg.ramp_up_delay or not self._fresh or self._stale_path[i]:
            st.reason = "ramp_wait"  # (or a meter reading it depends on predates the last raise or start)
            return False
        return True

    def _balance(
        self, t: float, caps: list[float], surplus: float, group: list[int], upper: list[float]
    ) -> None:
        cfg = self._config
        mins = self._minc  # per EVSE: min_current, times the connectors sharing its limit
        margin = cfg.raise_margin  # a start is a raise from 0 (see _allocate)
        usage = self._usage
        states = self._state
        n = self._n

        # 1. Safety: charging EVSEs at min_current, priority order; what does not fit is cut.
        cap_real = list(caps)
        for i in range(n):
            st = states[i]
            if st.on:
                if fits(cap_real, usage[i], mins[i]):
                    reserve(cap_real, usage[i], mins[i])
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
                if fits(cap_keep, usage[i], mins[i]):
                    st.reason = self._mode_reason(i)
                elif t - st.on_since < cfg.min_on_time:
                    st.reason = "min_on_hold"
                else:
                    self._stop(i, t)
                    st.reason = "paused_priority"
                    reserve(cap_real, usage[i], -mins[i])
                    continue
                reserve(cap_keep, usage[i], mins[i])
                reserve(cap_plan, usage[i], mins[i])
            else:
                ok = fits(cap_plan, usage[i], mins[i] + margin)
                if ok:
                    reserve(cap_plan, usage[i], mins[i])
                if self._pending(i, t, ok):
                    ready.append(i)
                    reserve(cap_keep, usage[i], mins[i])
                elif not ok:
                    st.reason = "paused_priority"
        for i in range(n):
            st = states[i]
            if group[i] == _SOLAR and st.on:
                # Solar draws yield the grid budget to fast EVSEs (after min_on_time).
                if not fits(cap_keep, usage[i], mins[i]) and t - st.on_since >= cfg.min_on_time:
                    self._stop(i, t)
                    st.reason = "paused_priority"
                    reserve(cap_real, usage[i], -mins[i])
                    group[i] = _NONE
                    continue
                reserve(cap_keep, usage[i], mins[i])
                reserve(cap_plan, usage[i], mins[i])

        # 3. Starts: one per round, highest priority first, only when it really fits.
        started = False
        for i in ready:
            st = states[i]
            if started:
                st.reason = "start_queue"
            elif fits(cap_real, usage[i], mins[i] + margin):
                self._start(i, t)
                reserve(cap_real, usage[i], mins[i])
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
            need = self._k[i] * mins[i]
            if st.on:
                # The net import this EVSE causes: its min_current less the export; export beyond
                # min_current pays an earlier import back. The pause comes once the net import
                # adds up to solar_stop_delay seconds of min_current, so a cloud that leaves some
                # export is ridden longer and no single export sample clears the count. While the
                # battery comes first and could take more, the minimum is the battery's: no delay
                # (site.py); above the buffer SoC the battery bridges the lack of export.
                rate = need if self._hungry else need - max(0.0, pool_keep)
                if rate > EPS and self._battery == "buffer":
                    st.deficit_since = None
                    st.reason = "battery_buffer"
                    pool_keep -= need
                    pool_plan -= need
                    continue
                if st.deficit_since is not None:
                    st.deficit = max(0.0, st.deficit + st.deficit_rate * (t - st.deficit_t))
                if rate <= EPS and (st.deficit_since is None or st.deficit <= EPS):
                    st.deficit_since = None
                    st.reason = "solar"
                else:
                    if st.deficit_since is None:
                        st.deficit_since = t
                        st.deficit = 0.0
                    st.deficit_rate = rate
                    st.deficit_t = t
                    if rate <= EPS:
                        st.reason = "solar"  # exporting again, paying the import back
                    elif t - st.on_since < cfg.min_on_time:
                        st.reason = "min_on_hold"
                    elif not self._hungry and st.deficit < need * cfg.solar_stop_delay - EPS:
                        st.reason = "no_surplus_hold"
                    else:
                        self._stop(i, t)
                        st.reason = "paused_no_surplus"
                        reserve(cap_real, usage[i], -mins[i])
                        continue
                pool_keep -= need
                pool_plan -= need
            else:
                grid_ok = fits(cap_plan, usage[i], mins[i] + margin)
                ok = grid_ok and pool_plan >= need - EPS
                if ok:
                    pool_plan -= need
                    reserve(cap_plan, usage[i], mins[i])
                if self._pending(i, t, ok):
                    ready.append(i)
                elif not ok:
                    st.reason = "paused_no_surplus" if grid_ok else "paused_priority"
        for i in ready:
            st = states[i]
            need = self._k[i] * mins[i]
            if started:
                st.reason = "start_queue"
            elif fits(cap_real, usage[i], mins[i] + margin) and pool_keep >= need - EPS:
                self._start(i, t)
                reserve(cap_real, usage[i], mins[i])
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

        Every charging EVSE first gets its minimum (``min_current``, times its connectors). ``fast`` and override EVSEs share the
        rest of the grid budget; ``solar`` and ``min_solar`` EVSEs then share what is left of
        both the grid budget and the export (rule: "solar uses only export ... min_solar
        gives min_current plus the surplus. Both stay within the breaker budget").

        ``margin`` (A per phase) is set aside for every charging EVSE, on each constraint it
        uses and from the export, before sharing: the result is then the most each may be
        raised to while keeping ``raise_margin`` of headroom (see :meth:`_allocate`).

        Returns (amps per EVSE index, export left in phase-amperes). ``ramp`` caps each EVSE.
        """
        mins = self._minc
        states = self._state
        x = [0.0] * self._n
        free = list(caps)
        for i in on:
            reserve(free, self._usage[i], mins[i] + margin)
            x[i] = mins[i]
        fast: list[int] = []
        sol: list[int] = []
        top = upper if ramp is None else [min(u, r) for u, r in zip(upper, ramp, strict=True)]
        fast_top = list(top)
        for i in on:
            if states[i].override is not None or self._modes[i] == "fast":
                fast.append(i)
            elif self._planned(i):  # its planned current from the grid, export above it
                fast.append(i)
                sol.append(i)
                fast_top[i] = min(top[i], cast("float", states[i].plan))
            else:
                sol.append(i)
        extra = water_fill(free, [self._usage[i] for i in fast], [max(0.0, fast_top[i] - mins[i]) for i in fast])
        for i, e in zip(fast, extra, strict=True):
            x[i] += e
            reserve(free, self._usage[i], e)
        more = [i for i in fast if fast_top[i] < top[i] and states[i].plan_more]
        if more:  # planned members that may share what is left above their planned currents
            extra = water_fill(free, [self._usage[i] for i in more], [top[i] - x[i] for i in more])
            for i, e in zip(more, extra, strict=True):
                x[i] += e
                reserve(free, self._usage[i], e)
        pool = surplus - sum(self._k[i] * (x[i] + margin) for i in on)
        if sol:
            extra = water_fill([*free, max(0.0, pool)],
                               [self._solar_usage[i] for i in sol], [max(0.0, top[i] - x[i]) for i in sol])
            for i, e in zip(sol, extra, strict=True):
                x[i] += e
                pool -= self._k[i] * e
        return x, pool

    def _allocate(
        self, t: float, caps: list[float], surplus: float, upper: list[float],
        waiting: Sequence[int] = (),
    ) -> None:
        """Targets without ramp caps (recorded), then limits with them, rounded to ``step``.

        Rule: "Lower at once. Raise only after ramp_up_delay of sustained headroom. Small
        decreases must not restart that clock forever." Each EVSE may rise to the smallest
        target it had over the last ``ramp_up_delay`` seconds, so a dip only delays the raise
        by at most ``ramp_up_delay`` and the limit follows the window's minimum.

        The recorded targets are shared out with ``raise_margin`` set aside per charging EVSE;
        the limits themselves on the full room, each capped by ``max(its limit, window
        minimum)``. So a limit rises only with the margin to spare, stays while it fits without
        it, and is lowered in the round it no longer fits. A Fast or override EVSE's raise smaller
        than ``min_raise`` that does not reach the most it may have waits.

        ``waiting`` (off EVSEs that fit the plan, their start timers running) are shared out with
        the charging ones in the targets, and their targets are recorded too: a start then begins
        at the smallest share it had over the last ``ramp_up_delay`` (not at ``min_current`` and a
        raise one ``ramp_up_delay`` later, a telegram more), and no charging EVSE is raised into
        room that a waiting one is about to take.
        """
        cfg = self._config
        mins = self._minc
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
            window_min = hist[0][1] if start >= st.hist_start else min(mins[i], hist[0][1])
            ramp[i] = max(st.limit, window_min)
        final, _ = self._fill(caps, surplus, on, upper, ramp)
        over = self._over
        for i in on:
            st = states[i]
            limit = round_down(final[i], cfg.step, mins[i])
            if limit < st.limit and any(over[c] for c, _w in self._usage[i]):
                # The supply is over budget now: cut to where a raise would have put the limit,
                # raise_margin below the room, so the car's lag does not hold it over the budget.
                limit = round_down(min(final[i], target[i]), cfg.step, mins[i])
            elif (st.limit < limit < st.limit + cfg.min_raise - EPS and limit < upper[i] - EPS
                  and st.limit >= mins[i] - EPS and (st.override is not None or self._modes[i] == "fast")):
                limit = st.limit  # a small raise below its most: not worth a telegram
            if limit != st.limit:
                st.limit_since = t
            st.limit = limit
