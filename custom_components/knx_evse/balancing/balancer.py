"""The stateful balancer: configuration, user controls and one balancing round.

One call to :meth:`Balancer.update` is one round (the manual's "Dynamic Load Balancing": budget
with reserve margin, EVSE1 → EVSE6 priority, per-EVSE maximum); it never blocks and does no I/O.
The round's steps and the reasons behind its rules are in docs/balancing.md.
"""


from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from . import metering
from .allocation import EPS, Usage, round_down
from .circuit_round import CircuitRules, circuit_usage, layout
from .conduct import Conduct
from .config import MODES, BalancingConfig, Mode, supply_phases
from .meter_sign import MeterSign, phase_amperes
from .output import Output
from .planning import Planning
from .readings import Decision, EvseReading, MeterReading, MeterState, SiteReading
from .site import SiteRules
from .state import (
    _GRID,
    _NONE,
    _SOLAR,
    ADOPT_CURRENT,
    OVER_LIMIT_TOLERANCE,
    SETTLE_TIME,
    _clean,
    _Evse,
)


class Balancer(Conduct, Planning, Output, SiteRules, CircuitRules):
    """Assigns every EVSE of one balancing group its current limit, round by round.

    Create one per group and call :meth:`update` on every meter update and at least every few
    seconds, all with one clock in seconds (the group passes wall time; the meter reading's
    timestamp must use the same clock). State (timers, ramp history, what was written) lives in the
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
        self._over: list[bool] = []
        self._raise_caps: list[float] = []
        self._raise_surplus = 0.0
        self._raised_at = -math.inf  # the last round that raised or started an EVSE
        self._fresh = True  # the meter reading is not older than that round
        self._disobedient: tuple[int, ...] = ()
        self._sign = MeterSign()  # latched for this Balancer, also across reconfigure() (not in the config)
        self._circuit_signs = {}  # the same, per circuit id
        self._grid_export = 0.0
        self._read_site(SiteReading())

    # ------------------------------------------------------------------ configuration

    @property
    def config(self) -> BalancingConfig:
        """The current configuration, including modes changed with :meth:`set_mode`."""
        return self._config

    def _setup(self) -> None:
        cfg = self._config
        self._n = len(cfg.evses)
        root = cfg.phases if cfg.current_control else 1
        self._tree = layout(cfg, root)
        self._m = root + self._tree.size
        self._phase_map = [supply_phases(e) for e in cfg.evses]  # 0-based supply phase of each own phase
        n = self._n
        self._usage, self._solar_usage, self._k, self._drawn = [()] * n, [()] * n, [0.0] * n, [()] * n
        for i, e in enumerate(cfg.evses):
            self._use_phases(i, tuple(range(e.phases)))
        self._usage_all = list(self._usage)
        self._max_raw = [cfg.evse_max_current(i) for i in range(self._n)]
        self._max = [round_down(x, cfg.step, cfg.min_current) for x in self._max_raw]
        self._minc = [cfg.min_current] * self._n
        self._keepalive = [cfg.evse_keepalive(i) for i in range(self._n)]
        self._spec = metering.MeterSpec(cfg.phases, "A" if cfg.current_control else "W", cfg.voltage,
                                        cfg.meter_timeout, cfg.meter_power_bound)
        self._circuit_setup()

    def _use_phases(self, i: int, own: tuple[int, ...]) -> None:
        """Count EVSE ``i`` on its own phases ``own`` (0-based; all of them but for a vehicle that draws on fewer)."""
        cfg = self._config
        supply = tuple(self._phase_map[i][k] for k in own)
        usage: Usage = ((0, float(len(own))),) if not cfg.current_control else tuple((p, 1.0) for p in supply)
        if self._tree.size:
            usage += circuit_usage(self._tree, i, supply, len(own))
        self._usage[i], self._solar_usage[i] = usage, (*usage, (self._m, float(len(own))))
        self._k[i], self._drawn[i] = float(len(own)), own

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
        It backs the service ``knx_evse.set_current_limit``.

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

    def set_plan(self, index: int, amps: float | None, *, more: bool = False) -> None:
        """Put EVSE ``index`` (0-based) in a planned slot at ``amps`` A, or out of it (None).

        In a planned slot an EVSE in Solar or Min+Solar charges as in Fast up to ``amps`` (within
        the breaker budget and every rule of the round, as an override would), the export covering
        it first, and takes more export when there is (as Min+Solar does with ``min_current``);
        reason ``"planned"``. With ``more``, it also shares what the supply has left after every
        member's share (a cheap slot used to the full, as when its vehicle takes less than planned
        and another planned member could take the rest). Off, Fast and an override are not changed by it. The
        planner (``schedule.plan_charging``) says which slots and currents; the caller sets them
        every round (the slot stays until changed, also when the vehicle leaves).

        Raises:
            IndexError: for an unknown index.
            ValueError: for a value that is not None or a finite current >= ``min_current``.

        """
        self._check_index(index)
        if amps is not None:
            if isinstance(amps, bool) or not isinstance(amps, (int, float)) or not (
                math.isfinite(amps) and amps >= self._config.min_current
            ):
                raise ValueError(f"a planned current must be None or at least {self._config.min_current} A, "
                                 f"got {amps!r}")
            amps = float(amps)
        self._state[index].plan = amps
        self._state[index].plan_more = more and amps is not None

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
        self, now: float, meter: MeterReading | None, evses: Sequence[EvseReading],
        site: SiteReading | None = None, circuits: Mapping[str, MeterReading | None] | None = None,
    ) -> Decision:
        """Run one balancing round.

        Args:
            now: the time in seconds, same clock as ``MeterReading.timestamp``. A clock that goes
                backwards is held at its last value for the timers.
            meter: the latest meter reading, or None when there is none.
            evses: one reading per configured EVSE, EVSE1 first.
            site: the price and the home battery this round (smart cost, battery priority), or
                None for neither.
            circuits: the latest reading of each metered circuit by its id (a missing one is
                unavailable: its members are in the fallback), or None without any.

        Returns:
            The :class:`Decision` for this round.

        Raises:
            ValueError: when ``len(evses)`` differs from the configured number of EVSEs, or for
                a reading of a circuit that is not a metered circuit of the group.

        """
        cfg = self._config
        n = self._n
        if len(evses) != n:
            raise ValueError(f"expected {n} EVSE readings, got {len(evses)}")
        t = now if self._last_t is None else max(now, self._last_t)
        first = self._last_t is None
        self._last_t = t

        self._read_site(site or SiteReading())
        measured = [self._measured(i, r) for i, r in enumerate(evses)]
        for i, r in enumerate(evses):
            own = self._vehicle_phases(i, t, r, measured[i])
            if own != self._drawn[i]:
                self._use_phases(i, own)
        self._minc = [self._minimum(i, r) for i, r in enumerate(evses)]
        group, upper = self._demands(evses)
        if first:
            self._adopt(t, group, upper, measured)
        self._conduct(t, evses, measured, group, upper)
        self._disobedient = tuple(
            i for i, st in enumerate(self._state)
            if st.disobeyed and max(measured[i]) >= ADOPT_CURRENT and t - st.limit_since >= SETTLE_TIME
        )
        for i in range(n):
            if group[i] == _NONE:
                # User intent: paused at once, whatever min_on_time.
                st = self._state[i]
                if st.on:
                    self._stop(i, t)
                st.fit_since = None
                if not evses[i].connected:
                    st.reason = "not_connected"
                else:
                    st.reason = "over_limit_stop" if st.disobeyed else "off"

        before = [(st.on, st.limit) for st in self._state]
        checked = self._circuit_readings(now, circuits) if circuits or self._tree.size else []
        state, caps, surplus = self._budget(now, meter, measured)
        if state != "ok":
            self._fallback(t, state, group, upper)
            available: float | None = None
            surplus_out: float | None = None
        else:
            available = (min(caps) if caps else 0.0) if cfg.current_control else caps[0] / cfg.phases
            available = round(available, 9)
            if self._tree.size:
                caps += self._circuit_rooms(now, circuits or {}, checked, measured)
                self._circuit_fallback(t, group, upper)
            surplus = self._site_surplus(surplus)
            self._balance(t, caps, surplus, group, upper)
            if self._fallback_reason:
                self._circuit_reasons()
            surplus_out = round(max(0.0, surplus) / cfg.phases, 9)
        self._price_reasons()
        if any(st.on and (not on or st.limit > limit + EPS) for st, (on, limit) in zip(self._state, before, strict=True)):
            self._raised_at = t
        return self._finish(t, state, available, surplus_out,
                            self._circuit_status(state == "ok") if self._tree.size else ())

    # ------------------------------------------------------------------ inputs

    def _measured(self, i: int, reading: EvseReading) -> tuple[float, ...]:
        """Measured current on each of the EVSE's own phases (one, two or three), cleaned and capped."""
        cap = self._max_raw[i]
        cur = reading.current
        k = len(self._phase_map[i])
        if type(cur) is float and math.isfinite(cur):  # the common case, fast
            v = cap if cur > cap else (cur if cur > 0.0 else 0.0)
            return (v,) * k
        if isinstance(cur, tuple):
            if k == 1:
                return (max((_clean(x, cap) for x in cur), default=0.0),)
            vals = [_clean(x, cap) for x in cur[:k]]
            return (*vals, *([0.0] * (k - len(vals))))
        return (_clean(cur, cap),) * k

    def _demands(self, evses: Sequence[EvseReading]) -> tuple[list[int], list[float]]:
        """Per EVSE: its demand group and the most it may be given (rounded A)."""
        cfg = self._config
        group: list[int] = []
        upper: list[float] = []
        for i, (evse, reading) in enumerate(zip(cfg.evses, evses, strict=True)):
            st = self._state[i]
            if not reading.connected:
                st.override = None  # the session is over: its override and its planned draw end
                st.ignored = None
            ov = st.override
            floor = self._minc[i]
            most = self._max[i] if floor == cfg.min_current else round_down(self._max_raw[i], cfg.step, floor)
            if ov is not None:
                most = min(most, round_down(ov, cfg.step, cfg.min_current))
            if (not reading.connected or (ov is None and evse.mode == "off") or ov == 0.0
                    or min(self._max_raw[i], math.inf if ov is None else ov) < floor - EPS):
                # (the last: a split below min_current per vehicle serves none)
                group.append(_NONE)
                upper.append(0.0)
            else:
                group.append(_SOLAR if ov is None and self._modes[i] == "solar" and st.plan is None else _GRID)
                upper.append(most)
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
                floor = self._minc[i]
                st.limit = min(upper[i], round_down(max(amps, floor), cfg.step, floor))
                st.hist.clear()

    def _budget(
        self, now: float, meter: MeterReading | None, measured: list[tuple[float, ...]]
    ) -> tuple[MeterState, list[float], float]:
        """Check the meter; return its state, the room per constraint, and the export.

        Rule: "Available for EVSEs = limit × (1 − margin) − (meter − Σ measured EVSE
        currents)"; per-phase meters give one constraint per phase, so a three-phase EVSE is
        held by its most loaded phase and a single-phase EVSE only by its own.

        Returns:
            (state, caps, surplus). ``caps`` per constraint in A (phase-amperes in power
            mode); ``surplus`` is the export without the EVSEs, in phase-amperes (W / V),
            negative while importing.

        """
        cfg = self._config
        nph = cfg.phases
        state, unit = metering.check(meter, now, self._spec)
        if state != "ok" or meter is None or meter.value is None:
            return state, [], 0.0
        value, ts = meter.value, meter.timestamp
        ev, excess = self._shares(now, measured)
        loads, net = metering.other_load(value, unit, ev, voltage=cfg.voltage,
                                         worst=cfg.current_control and not cfg.balanced_supply)

        total, export = phase_amperes(value, unit, nph, cfg.voltage)  # docs/balancing.md, "Reversed meter"
        self._grid_export = -total
        fuse = cfg.limit if cfg.current_control else None
        if self._sign.update(now, ts, total, sum(map(sum, measured)), export=export, fuse=fuse):
            return "reversed", [], 0.0

        budget = cfg.budget if cfg.current_control else cfg.budget / cfg.voltage
        caps, self._raise_caps, self._over = metering.rooms(
            budget, loads, ev, excess, power=not cfg.current_control, per_phase=isinstance(value, tuple))
        surplus = -sum(loads) if net is None else net  # the export is the total, wherever it is
        self._raise_surplus = surplus - sum(excess)
        self._fresh = ts > self._raised_at
        if not self._fresh:
            # The reading was not taken after the last raise or start (a meter no longer reported,
            # or late; the round's own reading is from before its raise): it does not hold what
            # that lets the cars draw now, so "meter − Σ EVSE" would
            # count their new draw as room. Nothing more is raised or started on it (starts:
            # ``Planning._pending``).
            drawn = ev if len(self._raise_caps) == nph else [sum(ev)]
            self._raise_caps = [min(c, d) for c, d in zip(self._raise_caps, drawn, strict=True)]
            self._raise_surplus = min(self._raise_surplus, 0.0)
        return "ok", caps, surplus

    def _shares(self, now: float, measured: list[tuple[float, ...]]) -> tuple[list[float], list[float]]:
        """Return per supply phase the EVSEs' current that is theirs to share, and its excess over their limits.

        A paused EVSE that draws anyway stays in the meter as other load (0 here); one over its limit
        (and tolerance) since ``SETTLE_TIME`` has the excess counted as other load at once. The
        excess is a reported current above an EVSE's own limit, ``SETTLE_TIME`` after it was set: a
        car still slowing down after a lowering, or a report that is stale-high (send-on-change).
        Raises do not count on it. With circuits, both are kept per EVSE and own phase too
        (``_ev_of``, ``_excess_of``) for the circuits' sums.
        """
        nph = self._config.phases
        ev = [0.0] * nph
        excess = [0.0] * nph
        keep = self._tree.size > 0
        ev_of: list[tuple[float, ...]] = []
        excess_of: list[tuple[float, ...]] = []
        zeros = {k: (0.0,) * k for k in (1, 2, 3)}
        for i, st in enumerate(self._state):
            own = measured[i]
            none = zeros[len(own)]
            extra = none
            if self._draws_as_load(i, now):
                share = none
            else:
                share = own if st.over_since is None else tuple(min(v, st.limit) for v in own)
                lim = st.limit if st.on else 0.0
                if st.over_since is None and now - st.limit_since >= SETTLE_TIME and max(own) > lim:
                    extra = tuple(max(0.0, v - lim) for v in own)
                    for p, x in zip(self._phase_map[i], extra, strict=True):
                        excess[p] += x
                for p, v in zip(self._phase_map[i], share, strict=True):
                    ev[p] += v
            if keep:
                ev_of.append(share)
                excess_of.append(extra)
        self._ev_of, self._excess_of = ev_of, excess_of
        return ev, excess


__all__ = ["ADOPT_CURRENT", "OVER_LIMIT_TOLERANCE", "SETTLE_TIME", "Balancer"]
