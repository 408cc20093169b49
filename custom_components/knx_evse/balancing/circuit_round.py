"""Circuits in the round: their constraints, their room from a meter or their members, and their fallback.

The part of :class:`~.balancer.Balancer` for ``BalancingConfig.circuits`` (docs/balancing.md,
"Circuits"). Every circuit adds constraints after the supply's (one per supply phase for a limit
in A, one in phase-amperes for a limit in W) that only the members at or below it use, so the
round's priorities, sharing, timing and safety hold over the whole tree at once. A circuit whose
meter fails puts the members at and below it in the fallback; the rest balance on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import metering
from .allocation import Usage, round_down
from .circuits import CircuitConfig
from .config import BalancingConfig, power_bound
from .meter_sign import MeterSign, phase_amperes
from .readings import CircuitStatus, MeterReading, MeterState
from .state import _NONE, BalancerBase, fallback_reason


@dataclass(frozen=True, slots=True)
class Layout:
    """The circuits as constraints; circuits are indexed parents first.

    Attributes:
        circuits: the circuits, every parent before its children.
        parent: each circuit's parent index, -1 under the supply.
        base: each circuit's first constraint (the supply's come first).
        power: True for a limit in W (one constraint, phase-amperes), False for A (one per phase).
        budget: limit × (1 − margin): A per phase, or phase-amperes (W / V) for a limit in W.
        own: the EVSE indices directly in each circuit.
        path: per EVSE, its circuit and every one above it, nearest first (empty under the supply).
        size: the number of circuit constraints.

    """

    circuits: tuple[CircuitConfig, ...]
    parent: tuple[int, ...]
    base: tuple[int, ...]
    power: tuple[bool, ...]
    budget: tuple[float, ...]
    own: tuple[tuple[int, ...], ...]
    path: tuple[tuple[int, ...], ...]
    size: int


def layout(cfg: BalancingConfig, first: int) -> Layout:
    """Return the circuits of ``cfg`` as constraints numbered from ``first`` (a checked tree)."""
    by_id = {c.id: c for c in cfg.circuits}

    def depth(c: CircuitConfig) -> int:
        return 0 if c.parent is None else 1 + depth(by_id[c.parent])

    ordered = tuple(sorted(cfg.circuits, key=depth))  # stable: parents before children
    index = {c.id: j for j, c in enumerate(ordered)}
    keep = 1.0 - cfg.reserve_margin / 100.0
    base: list[int] = []
    nxt = first
    for c in ordered:
        base.append(nxt)
        nxt += 1 if c.unit == "W" else cfg.phases
    own: list[list[int]] = [[] for _ in ordered]
    paths: list[tuple[int, ...]] = []
    parent = tuple(-1 if c.parent is None else index[c.parent] for c in ordered)
    for i, e in enumerate(cfg.evses):
        path: list[int] = []
        j = -1 if e.circuit is None else index[e.circuit]
        if j >= 0:
            own[j].append(i)
        while j >= 0:
            path.append(j)
            j = parent[j]
        paths.append(tuple(path))
    return Layout(
        circuits=ordered, parent=parent, base=tuple(base), power=tuple(c.unit == "W" for c in ordered),
        budget=tuple(c.limit * keep / (cfg.voltage if c.unit == "W" else 1.0) for c in ordered),
        own=tuple(tuple(x) for x in own), path=tuple(paths), size=nxt - first,
    )


def circuit_usage(tree: Layout, i: int, supply: tuple[int, ...], phases: int) -> Usage:
    """Return the circuit constraints EVSE ``i`` loads: its supply phases in A circuits, ``phases`` in W ones."""
    usage: list[tuple[int, float]] = []
    for j in tree.path[i]:
        if tree.power[j]:
            usage.append((tree.base[j], float(phases)))
        else:
            usage.extend((tree.base[j] + p, 1.0) for p in supply)
    return tuple(usage)


class CircuitRules(BalancerBase):
    """The circuit part of :class:`~.balancer.Balancer`."""

    _tree: Layout
    _circuit_specs: list[metering.MeterSpec]
    _circuit_signs: dict[str, MeterSign]  # per metered circuit, latched like the supply's
    _circuit_states: list[MeterState | None]  # per circuit (layout order): its meter's state, None without
    _circuit_failed: list[bool]  # its members are in the fallback (its meter or one above it)
    _circuit_available: list[float | None]
    _fallback_reason: dict[int, str]  # EVSEs in a circuit's fallback this round, and why

    def _circuit_setup(self) -> None:
        cfg = self._config
        tree = self._tree
        self._circuit_specs = [
            metering.MeterSpec(cfg.phases, c.unit, cfg.voltage, cfg.meter_timeout, power_bound(
                c.limit * (1.0 if c.unit == "W" else cfg.voltage * cfg.phases), cfg.max_meter_power))
            for c in tree.circuits]
        self._fallback_caps = [cfg.budget] * cfg.phases if cfg.current_control else [cfg.budget / cfg.voltage]
        for j in range(len(tree.circuits)):
            self._fallback_caps.extend([tree.budget[j]] * (1 if tree.power[j] else cfg.phases))
        self._circuit_reset()

    def _circuit_reset(self) -> None:
        count = len(self._tree.circuits)
        self._circuit_states = [None] * count
        self._circuit_failed = [False] * count
        self._circuit_available = [None] * count
        self._stale_path = [False] * len(self._config.evses)
        self._fallback_reason = {}

    def _circuit_readings(
        self, now: float, readings: Mapping[str, MeterReading | None] | None,
    ) -> list[tuple[MeterState, metering.Unit] | None]:
        """Check every circuit's reading (None for one without a meter; a missing reading is unavailable).

        Raises:
            ValueError: for a reading of an unknown circuit or of one without a meter.

        """
        readings = readings or {}
        metered = {c.id for c in self._tree.circuits if c.metered}
        for key in readings:
            if key not in metered:
                raise ValueError(f"a reading for {key!r}, which is not a metered circuit of the group")
        self._circuit_reset()
        checked: list[tuple[MeterState, metering.Unit] | None] = []
        for j, c in enumerate(self._tree.circuits):
            checked.append(metering.check(readings.get(c.id), now, self._circuit_specs[j]) if c.metered else None)
            self._circuit_states[j] = None if checked[-1] is None else checked[-1][0]
        return checked

    def _circuit_rooms(
        self, now: float, readings: Mapping[str, MeterReading | None],
        checked: list[tuple[MeterState, metering.Unit] | None], measured: list[tuple[float, ...]],
    ) -> list[float]:
        """Return the room per circuit constraint; ``_raise_caps`` and ``_over`` grow by theirs.

        A metered circuit's room is the supply's rule on its own meter and the EVSEs below it; one
        without a meter counts what its members draw beyond their share (a paused EVSE drawing, a
        draw over its limit) and its children's other load, or a failed child's whole budget. A
        circuit whose meter fails has its budget with no other load assumed, as the supply's
        fallback; its members and those below it are in the fallback (:meth:`_circuit_fallback`).
        """
        cfg = self._config
        tree = self._tree
        nph = cfg.phases
        count = len(tree.circuits)
        ev = [[0.0] * nph for _ in range(count)]
        excess = [[0.0] * nph for _ in range(count)]
        other = [[0.0] * nph for _ in range(count)]  # without a meter: its members' draws as load, then its children's
        drawn = [0.0] * count
        ev_of, excess_of, phase_map = self._ev_of, self._excess_of, self._phase_map
        for j in range(count):
            ev_j, excess_j, other_j = ev[j], excess[j], other[j]
            for i in tree.own[j]:
                own, share, extra = measured[i], ev_of[i], excess_of[i]
                for k, p in enumerate(phase_map[i]):
                    ev_j[p] += share[k]
                    if share is not own:  # (the common case: all of its draw is its share)
                        other_j[p] += own[k] - share[k]
                    if extra[k]:
                        excess_j[p] += extra[k]
                drawn[j] += sum(own)
        for j in reversed(range(count)):  # children first: their sums are complete
            q = tree.parent[j]
            if q >= 0:
                for p in range(nph):
                    ev[q][p] += ev[j][p]
                    excess[q][p] += excess[j][p]
                drawn[q] += drawn[j]
        old = [False] * count
        per_phase = [True] * count
        for j in reversed(range(count)):
            c = tree.circuits[j]
            got = checked[j]
            if got is not None:
                reading = readings[c.id] if got[0] == "ok" else None
                if reading is not None and reading.value is not None:
                    value, unit = reading.value, got[1]
                    total, export = phase_amperes(value, unit, nph, cfg.voltage)
                    sign = self._circuit_signs.setdefault(c.id, MeterSign())
                    if sign.update(now, reading.timestamp, total, drawn[j], export=export,
                                   fuse=None if tree.power[j] else c.limit):
                        self._circuit_states[j] = "reversed"
                    else:
                        other[j], _ = metering.other_load(value, unit, ev[j], voltage=cfg.voltage,
                                                          worst=not tree.power[j] and not cfg.balanced_supply)
                        old[j] = reading.timestamp <= self._raised_at
                        per_phase[j] = isinstance(value, tuple)
                if self._circuit_states[j] != "ok":  # on the circuits above: its whole budget
                    whole = tree.budget[j] / nph if tree.power[j] else tree.budget[j]
                    other[j] = [max(0.0, whole - e) for e in ev[j]]
            q = tree.parent[j]
            if q >= 0 and not tree.circuits[q].metered:
                for p in range(nph):
                    other[q][p] += other[j][p]
                old[q] = old[q] or old[j]
        self._stale_path = [any(old[j] for j in path) for path in tree.path]
        caps: list[float] = []
        for j in range(count):
            own_fail = self._circuit_states[j] not in (None, "ok")
            q = tree.parent[j]
            self._circuit_failed[j] = own_fail or (q >= 0 and self._circuit_failed[q])
            width = 1 if tree.power[j] else nph
            if own_fail:
                room, rise, over = [tree.budget[j]] * width, [tree.budget[j]] * width, [False] * width
            else:
                room, rise, over = metering.rooms(tree.budget[j], other[j], ev[j], excess[j],
                                                  power=tree.power[j], per_phase=per_phase[j])
                if old[j]:  # a reading older than the last raise (see Balancer._budget)
                    rise = [min(r, d) for r, d in zip(rise, [sum(ev[j])] if tree.power[j] else ev[j], strict=True)]
                self._circuit_available[j] = round(min(room) if not tree.power[j] else room[0] / nph, 9)
            caps += room
            self._raise_caps += rise
            self._over += over
        return caps

    def _circuit_fallback(self, t: float, group: list[int], upper: list[float]) -> None:
        """Put the members of circuits in the fallback at the fixed current as their only limit, or pause them.

        As the supply's fallback: ``fast``, override and planned members may have the fixed current
        (within their maximum), ``min_solar`` ``min_current``, ``solar`` and ``"pause"`` pause. They
        stay in the round (priority, timing, every circuit's room up to the supply), each at that
        one current or paused, within their circuit's budget with no other load assumed.
        """
        tree = self._tree
        if not any(self._circuit_failed):
            return
        cfg = self._config
        cause = [-1] * len(tree.circuits)  # the nearest circuit at or above whose own meter failed
        for j in range(len(tree.circuits)):
            q = tree.parent[j]
            cause[j] = j if self._circuit_states[j] not in (None, "ok") else (cause[q] if q >= 0 else -1)
        fixed = cfg.fallback_current
        for i, path in enumerate(tree.path):
            if not path or cause[path[0]] < 0 or group[i] == _NONE:
                continue
            st = self._state[i]
            self._fallback_reason[i] = fallback_reason(self._circuit_states[cause[path[0]]])
            mode = "fast" if st.override is not None or self._planned(i) else self._modes[i]
            floor = self._minc[i]
            if fixed is None or mode == "solar" or fixed < floor:
                group[i], upper[i] = _NONE, 0.0
                if st.on:
                    self._stop(i, t)
                st.fit_since = None
                continue
            amps = floor if mode == "min_solar" else min(upper[i], round_down(fixed, cfg.step, floor))
            self._minc[i] = upper[i] = amps

    def _circuit_reasons(self) -> None:
        """Members in a circuit's fallback give it as their reason."""
        for i, reason in self._fallback_reason.items():
            self._state[i].reason = reason

    def _circuit_status(self, root_ok: bool) -> tuple[CircuitStatus, ...]:
        """Each circuit's state, in the order of ``BalancingConfig.circuits``."""
        tree = self._tree
        at = {c.id: j for j, c in enumerate(tree.circuits)}
        out = []
        for c in self._config.circuits:
            j = at[c.id]
            failed = self._circuit_failed[j] or not root_ok
            out.append(CircuitStatus(id=c.id, meter_state=self._circuit_states[j], fallback=failed,
                                     available=None if failed else self._circuit_available[j]))
        return tuple(out)
