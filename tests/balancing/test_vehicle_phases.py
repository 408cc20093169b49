"""Phases a vehicle draws (docs/balancing.md): with ``drawn_phases``, a three-phase EVSE whose car draws
on fewer phases is counted on those only, and on all of them again as soon as it draws on another one;
without (the default), on all of them always."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from custom_components.knx_evse.balancing import (
    Balancer,
    BalancingConfig,
    CircuitConfig,
    Decision,
    EvseReading,
    MeterReading,
)

from .helpers import config, evse


class Row:
    """Two three-phase 32 A EVSEs in a 32 A circuit without a meter, EVSE1's L1 on L1, EVSE2's on L2.

    ``phases[i]``: the own phases (0-based) EVSE i's car draws its limit on; ``per_phase``: the
    chargers report a current per phase (else one float); ``drawn_phases`` on unless given.
    """

    def __init__(self, phases: Sequence[Sequence[int]], per_phase: bool = True, **kw: Any) -> None:
        kw = {"drawn_phases": True, **kw}
        cfg = config(evse(32.0, phases=3, phase=1, circuit="row"), evse(32.0, phases=3, phase=2, circuit="row"),
                     limit=100.0, margin=0.0, phases=3, circuits=(CircuitConfig("row", 32.0),), **kw)
        self.b = Balancer(cfg)
        self.phases = [list(p) for p in phases]
        self.per_phase = per_phase
        self.connected = [True, True]
        self.limits = [0.0, 0.0]
        self.t = 0.0
        self.meter = True

    def step(self) -> Decision:
        self.t += 1.0
        supply = [0.0, 0.0, 0.0]
        readings = []
        for i, (lim, own) in enumerate(zip(self.limits, self.phases, strict=True)):
            cur = tuple(lim if k in own and self.connected[i] else 0.0 for k in range(3))
            for k in range(3):
                supply[(i + k) % 3] += cur[k]
            readings.append(EvseReading(cur if self.per_phase else max(cur), self.connected[i]))
        d = self.b.update(self.t, MeterReading(tuple(supply) if self.meter else None, self.t), readings)
        self.limits = list(d.limits)
        return d

    def run(self, rounds: int) -> Decision:
        for _ in range(rounds):
            d = self.step()
        return d


def test_single_phase_cars_on_other_phases_each_get_the_whole_circuit() -> None:
    row = Row([[0], [0]])  # EVSE1's car on supply L1, EVSE2's on L2
    assert row.run(3).limits == (16.0, 16.0)  # at first each counts on all three phases
    assert row.run(15).limits == (32.0, 32.0)  # after SETTLE_TIME each on its own phase only


def test_without_a_current_per_phase_every_phase_counts() -> None:
    row = Row([[0], [0]], per_phase=False)
    assert row.run(30).limits == (16.0, 16.0)


def test_a_draw_on_another_phase_counts_every_phase_in_the_same_round() -> None:
    row = Row([[0], [0]])
    assert row.run(20).limits == (32.0, 32.0)
    row.phases[0] = [0, 1]  # EVSE1's car draws on its L2 too: supply L2, where EVSE2 draws 32 A
    d = row.step()
    assert d.limits[0] + d.limits[1] <= 32.0  # both on supply L2 within the row's 32 A at once
    assert row.run(20).limits[0] + row.limits[1] <= 32.0


def test_a_vehicle_leaving_ends_what_was_seen() -> None:
    row = Row([[0], [0]])
    assert row.run(20).limits == (32.0, 32.0)
    row.connected[0] = False
    row.step()
    row.connected[0] = True
    row.phases[0] = [0, 1, 2]  # another car, three-phase
    d = row.step()
    assert d.limits[0] + d.limits[1] <= 32.0  # counted on every phase from its first round


def test_the_fallback_counts_every_phase() -> None:
    row = Row([[0], [0]], fallback=20.0)
    assert row.run(20).limits == (32.0, 32.0)
    row.meter = False  # no meter: the fixed current within the row's 32 A on every phase
    assert row.step().limits == (20.0, 0.0)


def test_by_default_every_phase_counts() -> None:
    assert BalancingConfig(limit=25.0).drawn_phases is False
    row = Row([[0], [0]], drawn_phases=False)  # single-phase cars on supply L1 and L2
    for _ in range(30):
        d = row.step()
        assert d.limits[0] + d.limits[1] <= 32.0  # each limit reserved on all three phases of the row
    assert d.limits == (16.0, 16.0)
