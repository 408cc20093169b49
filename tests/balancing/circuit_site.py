"""A simulated site for the circuit tests: a supply, circuits with their own other load, obedient cars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from custom_components.knx_evse.balancing import (
    Balancer,
    BalancingConfig,
    Decision,
    EvseReading,
    MeterReading,
)

from .helpers import supply_phases


class Site:
    """Feeds a Balancer with the supply's and every metered circuit's per-phase meter.

    ``other[cid]`` is the load (A per phase) that sits directly in circuit ``cid`` (None: under
    the supply), besides the EVSEs; every meter shows the other load and the EVSE draws at and
    below it. An EVSE draws its last limit unless ``draw`` says otherwise.
    """

    def __init__(self, cfg: BalancingConfig, t0: float = 1000.0) -> None:
        self.cfg = cfg
        self.b = Balancer(cfg)
        self.t = t0
        n = len(cfg.evses)
        self.limits = [0.0] * n
        self.connected = [True] * n
        self.other: dict[str | None, tuple[float, ...]] = {}
        self.parent = {c.id: c.parent for c in cfg.circuits}

    def below(self, cid: str | None, at: str | None) -> bool:
        """True when circuit ``at`` is ``cid`` or under it (None: the supply, above all)."""
        while True:
            if at == cid:
                return True
            if at is None:
                return False
            at = self.parent[at]

    def load(self, cid: str | None, draws: Sequence[float]) -> tuple[float, ...]:
        """Per-phase current through circuit ``cid`` (None: the supply)."""
        per = [0.0] * self.cfg.phases
        for at, own in self.other.items():
            if self.below(cid, at):
                for p, v in enumerate(own):
                    per[p] += v
        for e, lim in zip(self.cfg.evses, draws, strict=True):
            if self.below(cid, e.circuit):
                for p in supply_phases(e):
                    per[p] += lim
        return tuple(per)

    def step(self, dt: float = 1.0, draw: Sequence[float] | None = None,
             meters: Mapping[str, MeterReading | None] | None = None,
             connectors: Sequence[int] | None = None) -> Decision:
        """One round; ``meters`` replaces the simulated readings of the circuits it names."""
        self.t += dt
        draws = list(draw) if draw is not None else list(self.limits)
        readings: dict[str, MeterReading | None] = {
            c.id: MeterReading(self.load(c.id, draws), self.t) for c in self.cfg.circuits if c.metered}
        readings.update(meters or {})
        cons = connectors or [1] * len(draws)
        d = self.b.update(self.t, MeterReading(self.load(None, draws), self.t),
                          [EvseReading(x, c, connectors=k) for x, c, k in zip(draws, self.connected, cons, strict=True)],
                          circuits=readings)
        self.limits = list(d.limits)
        return d

    def run(self, rounds: int, **kw: object) -> Decision:
        d = self.step(**kw)  # type: ignore[arg-type]
        for _ in range(rounds - 1):
            d = self.step(**kw)  # type: ignore[arg-type]
        return d
