"""The balancer's fallback without a usable meter, and the Decision with its telegram bookkeeping."""

from __future__ import annotations

from .allocation import EPS, fits, reserve, round_down
from .readings import CircuitStatus, Decision, MeterState
from .state import _NONE, SETTLE_TIME, BalancerBase, fallback_reason


class Output(BalancerBase):
    """The fallback and output part of :class:`~.balancer.Balancer`."""

    # ------------------------------------------------------------------ fallback

    def _fallback(self, t: float, state: MeterState, group: list[int], upper: list[float]) -> None:
        """No usable meter: pause all, or give the fixed fallback current in priority order.

        Rule: "A meter reading older than meter_timeout, unavailable, non-numeric or absurd
        triggers the fallback"; so does a meter whose sign looks reversed. With a fixed current,
        ``fast``, override and planned EVSEs get it (capped by their maximum), ``min_solar`` gets
        ``min_current`` and ``solar`` pauses, as long as the sum fits ``limit × (1 − margin)`` with
        no other load assumed (and so every circuit's); new starts respect ``min_off_time`` and happen one per round.
        """
        cfg = self._config
        reason = fallback_reason(state)
        fixed = cfg.fallback_current
        caps = list(self._fallback_caps)  # every circuit's budget too
        started = False
        for i in range(self._n):
            st = self._state[i]
            if group[i] == _NONE:
                continue
            st.reason = reason
            st.fit_since = None
            mode = "fast" if st.override is not None or self._planned(i) else self._modes[i]
            if fixed is None or mode == "solar":
                if st.on:
                    self._stop(i, t)
                continue
            floor = self._minc[i]
            if fixed < floor:  # a fixed current below a split charger's minimum serves no vehicle
                if st.on:
                    self._stop(i, t)
                continue
            amps = floor if mode == "min_solar" else min(upper[i], round_down(fixed, cfg.step, floor))
            ok = fits(caps, self._usage_all[i], amps)
            if st.on and not ok:
                self._stop(i, t)
            elif not st.on and ok and not started and (
                st.off_since is None or t - st.off_since >= cfg.min_off_time
            ):
                self._start(i, t)
                started = True
            if st.on:
                reserve(caps, self._usage_all[i], amps)
                if st.limit != amps:
                    st.limit_since = t
                st.limit = amps
                st.hist.clear()  # after recovery, raising waits a full ramp_up_delay

    # ------------------------------------------------------------------ output

    def _finish(
        self, t: float, state: MeterState, available: float | None, surplus: float | None,
        circuits: tuple[CircuitStatus, ...] = (),
    ) -> Decision:
        """Build the Decision and the telegram bookkeeping (docs/balancing.md, "Writes").

        A charger is written when its limit or pause state changed, on ``force_write``, and, only
        when it has a keep-alive (``BalancingConfig.evse_keepalive``), once that many seconds
        have passed since its last write.

        The first Stop of an EVSE without a keep-alive is held while no vehicle is plugged in (it
        would not outlast a plug-in: the manual's "Auto charging init after connect" starts a
        session whatever was written), and for up to ``ramp_up_delay + SETTLE_TIME`` from when it
        fits while it is about to start (its start timers run): a Stop and a Start 10 s later
        would be two telegrams for nothing. Meanwhile a draw is other load and gets its Stop at
        once (see :meth:`update`); an EVSE with a vehicle that does not fit or is off gets its
        Stop at once.
        """
        limits: list[float] = []
        paused: list[bool] = []

        reasons: list[str] = []
        writes: list[int] = []
        switches: list[int] = []
        hold = self._config.ramp_up_delay + SETTLE_TIME
        for i, st in enumerate(self._state):
            lim = st.limit if st.on else 0.0
            p = lim == 0.0
            limits.append(lim)
            paused.append(p)
            reasons.append(st.reason)
            keepalive = self._keepalive[i]
            if (st.last_paused is None and p and not st.force and keepalive is None
                    and (st.reason == "not_connected"
                         or (st.fit_since is not None and t - st.fit_since < hold))):
                continue
            switch = st.last_paused is None or p != st.last_paused
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
            disobedient=self._disobedient,
            price=self._price,
            battery=self._battery,
            circuits=circuits,
        )
