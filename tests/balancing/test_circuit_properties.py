"""Random trees, random rounds: nothing is ever assigned above any circuit's budget.

Property (docs/balancing.md, "Circuits"): after every round, for every circuit and the supply, per
phase (or in total for a limit in W), the sum of the limits of the members at and below it is at
most its budget less the other load it really carries; a circuit whose meter failed, at most its
budget (the fallback assumes no other load there, as the supply's does). Members of a circuit in the
fallback with ``"pause"`` are paused. Plain ``random`` with fixed seeds: each seed is one site.
"""

from __future__ import annotations

import random

import pytest

from custom_components.knx_evse.balancing import (
    BalancingConfig,
    CircuitConfig,
    Decision,
    EvseConfig,
    MeterReading,
)

from .circuit_site import Site
from .helpers import supply_phases

TOL = 1e-6
MODES = ("fast", "fast", "fast", "solar", "min_solar", "off")


def random_site(rng: random.Random) -> Site:
    phases = rng.choice((1, 3, 3))
    limit = rng.choice((40.0, 63.0, 100.0))
    current_control = rng.random() < 0.8
    circuits: list[CircuitConfig] = []
    amps: dict[str | None, float] = {None: limit}  # each circuit's limit in A per phase
    for k in range(rng.randint(1, 7)):
        parent = rng.choice([None, *(c.id for c in circuits)])
        top = amps[parent]
        a = round(top * rng.uniform(0.25, 1.0), 1)
        cid = f"c{k}"
        if rng.random() < 0.3:
            circuits.append(CircuitConfig(cid, round(a * 230.0 * phases, 0) - 1.0, unit="W", parent=parent,
                                          metered=rng.random() < 0.5))
        else:
            circuits.append(CircuitConfig(cid, a, parent=parent, metered=rng.random() < 0.5))
        amps[cid] = a
    evses: list[EvseConfig] = []
    places = [c.id for c in circuits]  # every circuit gets a member, then at random
    places += [rng.choice([None, *places]) for _ in range(rng.randint(1, 8))]
    rng.shuffle(places)
    for where in places:
        three = phases == 3 and rng.random() < 0.4
        evses.append(EvseConfig(max_current=rng.choice((16.0, 20.0, 32.0)), phases=3 if three else 1,
                                phase=rng.randint(1, 3) if phases == 3 else 1, mode=rng.choice(MODES),
                                circuit=where))
    timing = rng.choice((0.0, 0.0, 5.0))
    cfg = BalancingConfig(
        limit=limit if current_control else limit * 230.0 * phases, current_control=current_control, phases=phases, reserve_margin=rng.choice((0.0, 10.0)), evses=tuple(evses),
        circuits=tuple(circuits), raise_margin=rng.choice((0.0, 0.5, 1.0)), ramp_up_delay=timing,
        min_on_time=timing * 4, min_off_time=timing * 4, solar_stop_delay=timing * 6,
        fallback=rng.choice(("pause", 10.0)),
    )
    return Site(cfg)


def budgets(s: Site) -> dict[str | None, float]:
    keep = 1.0 - s.cfg.reserve_margin / 100.0
    out: dict[str | None, float] = {None: s.cfg.limit * keep}
    for c in s.cfg.circuits:
        out[c.id] = c.limit * keep
    return out


def check(s: Site, d: Decision, failed: set[str | None]) -> None:
    """Σ limits at and below each circuit within its budget less the other load it carries."""
    cfg = s.cfg
    budget = budgets(s)
    units = {c.id: c.unit for c in cfg.circuits}
    metered = {c.id for c in cfg.circuits if c.metered}
    down = {c.id: [x.id for x in cfg.circuits if x.parent == c.id] for c in cfg.circuits}

    if d.fallback:  # the supply's meter: every budget with no other load assumed
        failed = {c.id for c in cfg.circuits} | {None}

    def known_other(cid: str | None) -> list[float]:
        """The other load a circuit's budget accounts for: its meter's, or its metered descendants'."""
        if cid in failed:
            return [0.0] * cfg.phases
        if cid in metered:
            return list(s.load(cid, [0.0] * len(cfg.evses)))
        per = [0.0] * cfg.phases
        for child in down[cid]:
            per = [a + b for a, b in zip(per, known_other(child), strict=True)]
        return per

    for cid in [None, *(c.id for c in cfg.circuits)]:
        lim = [0.0] * cfg.phases
        members = [i for i, e in enumerate(cfg.evses) if s.below(cid, e.circuit)]
        for i in members:
            for p in supply_phases(cfg.evses[i]):
                lim[p] += d.limits[i]
        if cid is None:
            other = [0.0] * cfg.phases if d.fallback else list(s.load(None, [0.0] * len(cfg.evses)))
        else:
            other = known_other(cid)
        if (cid is None and not cfg.current_control) or (cid is not None and units[cid] == "W"):
            room = budget[cid] / cfg.voltage - sum(other)
            assert sum(lim) <= max(0.0, room) + TOL, (cid, lim, room)
        else:
            for p in range(cfg.phases):
                assert lim[p] <= max(0.0, budget[cid] - other[p]) + TOL, (cid, p, lim, budget[cid], other)
        if cid in failed and cfg.fallback == "pause":
            assert all(d.limits[i] == 0.0 for i in members), cid


@pytest.mark.parametrize("seed", range(40))
def test_no_circuit_is_ever_given_more_than_its_budget(seed: int) -> None:
    rng = random.Random(seed)
    s = random_site(rng)
    cfg = s.cfg
    metered = [c.id for c in cfg.circuits if c.metered]
    other: dict[str | None, list[float]] = {None: [rng.uniform(0, 10) for _ in range(cfg.phases)]}
    for c in cfg.circuits:
        other[c.id] = [rng.uniform(0, 6) for _ in range(cfg.phases)] if c.metered else [0.0] * cfg.phases
    stale: dict[str, int] = {}
    for _ in range(300):
        # Other loads wander (metered circuits only: a circuit without a meter holds EVSEs alone),
        # the supply sees solar export at times, cars come and go, meters drop out for a while.
        for cid, per in other.items():
            if cid is None or cid in metered:
                other[cid] = [max(0.0, v + rng.gauss(0, 2.0)) for v in per]
        solar = rng.choice((0.0, 0.0, 15.0))
        s.other = {cid: tuple(v - (solar if cid is None else 0.0) for v in per) for cid, per in other.items()}
        if rng.random() < 0.05:
            i = rng.randrange(len(cfg.evses))
            s.connected[i] = not s.connected[i]
        if metered and rng.random() < 0.05:
            stale[rng.choice(metered)] = rng.randint(1, 20)
        meters = {cid: MeterReading((0.0,) * cfg.phases, s.t - 100.0) for cid in stale}
        d = s.step(meters=meters)
        failed: set[str | None] = {c.id for c in d.circuits if c.meter_state not in (None, "ok")}
        assert set(stale) <= failed  # (a meter may also look reversed to the sign check: random loads)
        check(s, d, failed)
        stale = {cid: k - 1 for cid, k in stale.items() if k > 1}


def test_the_property_sees_a_circuit_overrun() -> None:
    """The check itself goes red on a round that gives a circuit more than its budget."""
    s = Site(BalancingConfig(limit=63.0, evses=(EvseConfig(max_current=32.0, circuit="c"),),
                             circuits=(CircuitConfig("c", 16.0),)))
    d = s.step()
    bad = Decision(limits=(20.0,), paused=(False,), available=None, surplus=None, reason=("fast",),
                   fallback=False, meter_state="ok", writes=(), switches=())
    check(s, d, set())
    with pytest.raises(AssertionError):
        check(s, bad, set())
