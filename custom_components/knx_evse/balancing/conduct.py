"""How each EVSE takes its limit: obedience to it, and taking less than its share.

The part of :class:`~.balancer.Balancer` that watches what each charging EVSE draws against its
limit (docs/balancing.md, "Obedience" and "Less than its share"): a draw over the limit becomes
other load, a rewrite and a Stop; a draw clearly under it becomes a cap near the draw; a charger
that ignored its limit is planned at the draw it took.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .allocation import EPS
from .readings import EvseReading
from .state import (
    _NONE,
    ADOPT_CURRENT,
    CAP_GAP,
    CAP_HEADROOM,
    FOLLOW_TIME,
    OVER_LIMIT_TOLERANCE,
    SETTLE_TIME,
    BalancerBase,
    _clean,
)


class Conduct(BalancerBase):
    """The obedience and cap rules of :class:`~.balancer.Balancer`."""

    def _minimum(self, i: int, reading: EvseReading) -> float:
        """Return the lowest limit EVSE ``i`` may charge at: ``min_current`` per vehicle sharing it.

        A charger stopped for drawing over its limit after it was written again (or a second time)
        is planned at that draw for the rest of the session (rounded up to the grid, within its maximum): it is only started where the
        budget carries what it takes, instead of being stopped again after every start.
        """
        cfg = self._config
        st = self._state[i]
        floor = cfg.min_current * (2 if reading.connectors == 2 else 1)
        if st.ignored and st.ignored > floor:
            steps = math.ceil((min(st.ignored, self._max_raw[i]) - floor) / cfg.step - EPS)
            floor = min(floor + steps * cfg.step, self._max[i])
        return floor

    def _conduct(
        self,
        t: float,
        evses: Sequence[EvseReading],
        measured: list[tuple[float, ...]],
        group: list[int],
        upper: list[float],
    ) -> None:
        """Check every EVSE's draw against its limit; ``group`` and ``upper`` change in place.

        A disobedient EVSE leaves the plan; a capped one has its ``upper`` lowered to its cap (see
        :meth:`_check_obedience` and :meth:`_check_use`).
        """
        # Who would take more: paused, or charging at (not clearly below) a limit below the most it
        # may have (last round's limits).
        uses = [self._use(i, r, measured[i]) for i, r in enumerate(evses)]
        wanting = [group[i] != _NONE and (not st.on or (st.limit < upper[i] - EPS and uses[i] > st.limit - CAP_GAP))
                   for i, st in enumerate(self._state)]
        count = sum(wanting)
        for i, st in enumerate(self._state):
            self._check_obedience(i, t, measured[i])
            if st.disobeyed:
                group[i], upper[i] = _NONE, 0.0  # paused until it obeys
            elif group[i] != _NONE:
                self._check_use(i, t, uses[i], count - wanting[i] > 0)
                if st.cap is not None:
                    upper[i] = min(upper[i], st.cap)

    def _check_obedience(self, i: int, t: float, measured: tuple[float, ...]) -> None:
        """Escalate for a charging EVSE that draws over its limit (docs/balancing.md, "Obedience").

        ``FOLLOW_TIME`` after its limit was set, a draw over the limit plus ``OVER_LIMIT_TOLERANCE``
        counts as other load at once (see :meth:`_budget`) and the limit is written again (a
        charger that lost it, e.g. restarted at its "Initial current limit"). Still over
        ``SETTLE_TIME`` after that write, the EVSE gets a Stop and is marked ``disobeyed``; a
        paused EVSE that still draws is load and gets its Stop again (see :meth:`_draws_as_load`).
        """
        st = self._state[i]
        draw = max(measured)
        if not st.on:
            if draw < ADOPT_CURRENT:
                st.disobeyed = False  # it obeys the Stop
            elif t - st.limit_since >= SETTLE_TIME and t - st.last_write >= SETTLE_TIME:
                st.force = True  # paused, yet drawing: the Stop again
            return
        if draw <= st.limit + OVER_LIMIT_TOLERANCE:
            st.over_since = None
            return
        if st.over_since is None:
            if t - st.limit_since < FOLLOW_TIME:
                return  # the car may still be slowing down
            st.over_since = t
        st.over_draw = draw
        if t - st.over_since >= SETTLE_TIME and st.last_write >= st.over_since:
            self._stop(i, t)
            st.reason = "over_limit_stop"
        elif t - st.last_write >= SETTLE_TIME:
            st.force = True

    def _use(self, i: int, reading: EvseReading, measured: tuple[float, ...]) -> float:
        """Return the A per phase of its limit the EVSE takes.

        Its highest phase, or for a split charger its busiest connector's draw times the connectors
        (the charger does not pass on a share one vehicle leaves unused).
        """
        use = max(measured)
        if reading.connectors == 2 and reading.busiest is not None:
            use = max(use, 2.0 * _clean(reading.busiest, self._max_raw[i]))
        return use

    def _check_use(self, i: int, t: float, use: float, others: bool) -> None:
        """Cap a charging EVSE near its draw while it takes clearly less than its limit, or lift the cap.

        ``use`` below the limit by ``CAP_GAP`` for ``ramp_up_delay + SETTLE_TIME`` (counted from the
        last limit change) caps it ``CAP_HEADROOM`` above, on the grid: the rest of its share goes to
        the others under the usual raise rules; a draw that sinks further lowers the cap the same way.
        Only while ``others`` (another EVSE paused or below the most it may have) would take the room.
        Drawing within half the headroom of its cap lifts it.
        """
        cfg = self._config
        st = self._state[i]
        if not st.on or st.over_since is not None:
            st.low_since = None
            return
        if st.cap is not None and use >= st.cap - CAP_HEADROOM / 2:
            st.cap = st.low_since = None  # it takes its cap: room back on the next rounds
            return
        if use > st.limit - CAP_GAP:
            st.low_since = None
            return
        if st.low_since is None:
            st.low_since = t
        if not others or t - max(st.low_since, st.limit_since) < cfg.ramp_up_delay + SETTLE_TIME:
            return  # (a cap that no other EVSE would use is only a telegram)
        floor = self._minc[i]
        cap = floor + max(0, math.ceil((use + CAP_HEADROOM - floor) / cfg.step - EPS)) * cfg.step
        if cap < st.limit - EPS:
            st.cap = round(cap, 9)

    def _vehicle_phases(self, i: int, t: float, reading: EvseReading, measured: tuple[float, ...]) -> tuple[int, ...]:
        """Return the own phases (0-based) EVSE ``i`` is counted on: all, or the fewer its vehicle draws from.

        A three-phase EVSE whose vehicle, charging, has drawn on fewer phases (``ADOPT_CURRENT`` or more
        on them, less on the others) for ``SETTLE_TIME`` is counted on those only, so a single-phase car
        leaves its other two phases' room to the others. A draw on another phase counts it on all of
        them again in the same round, as do a reading without a current per phase, a second connector
        and the vehicle leaving (docs/balancing.md, "Phases a vehicle draws"). Only with
        ``BalancingConfig.drawn_phases``; without, always all of them.
        """
        st = self._state[i]
        every = tuple(range(len(measured)))
        drawing = tuple(k for k, v in enumerate(measured) if v >= ADOPT_CURRENT)
        cur = reading.current
        if (not self._config.drawn_phases or len(every) < 3 or not reading.connected or reading.connectors != 1
                or not isinstance(cur, tuple) or len(cur) < len(every)
                or (st.phases is not None and not set(drawing) <= set(st.phases))):
            st.phases = st.phases_seen = None
            return every
        if st.phases is None:
            if not st.on or not drawing or len(drawing) == len(every):
                st.phases_seen = None
            elif st.phases_seen is None or st.phases_seen[1] != drawing:
                st.phases_seen = (t, drawing)
            elif t - st.phases_seen[0] >= SETTLE_TIME:
                st.phases = drawing
        return every if st.phases is None else st.phases

    def _draws_as_load(self, i: int, now: float) -> bool:
        """Return True for an EVSE whose draw is load: paused ``SETTLE_TIME`` ago, or for disobeying.

        A charger may not obey a Stop, or drop it: the manual's "Auto charging init after
        connect" (object 26) starts a new session when a vehicle is plugged in, whatever was
        written before (the soak benchmark saw a car draw 29 A for an hour on a "paused" EVSE).
        Such a draw is then not the balancer's to hand out: it is counted like the house, so the
        other EVSEs are limited around it, and the Stop is sent again (see :meth:`update`).
        """
        st = self._state[i]
        return not st.on and (st.disobeyed or now - st.limit_since >= SETTLE_TIME)
