"""The soak's faults: the kinds (what each may explain, for how long), one injected fault, the schedule.

A kind's attribution window is ``[at - 1 s, end + after]``: a warning logged in it may be explained
by the kind's patterns (``explains``). ``after`` is derived from the integration's own timers, never
tuned to make a run pass; the derivations are in docs/development.md ("How the soak attributes").
Kinds with a ``bound`` may put the supply over its budget (or its breaker) for a moment; each of
their events (such seconds less than ``EVENT_GAP`` apart) is measured and must stay within it.

Adding a kind: a ``FaultKind`` here, its begin and end in ``inject.Injector``, a line in the docs'
table. A kind with a ``connection`` is injected only when the hub uses that connection
(``settings.CONNECTION``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

from custom_components.knx_evse.balancing.state import FOLLOW_TIME, OVER_LIMIT_TOLERANCE, SETTLE_TIME
from custom_components.knx_evse.charger.liveness import (
    DEFAULT_LIVENESS_AFTER,
    STALE_GRACE,
    STALE_WITHIN,
)
from custom_components.knx_evse.group.group import STARTUP_GRACE
from custom_components.knx_evse.knx.hub import DEFAULT_IDLE_PROBE_AFTER

DEMO_CYCLE: Final = 30.0
"""s: the demo chargers' shortest cyclic sending period (current and power, demo.yaml)."""
SILENCE_LIMIT: Final = min(2 * DEMO_CYCLE + STALE_GRACE, DEFAULT_LIVENESS_AFTER)
"""s of silence after which the coordinator reads a demo charger (liveness.py)."""
STALE_BOUND: Final = SILENCE_LIMIT + STALE_WITHIN
"""s from a charger's last telegram until it is stale (and logged) at the latest."""
XKNX_TRIES: Final = 2.0
"""s: xknx sends a tunnelling request twice, 1 s apart, before it drops the tunnel."""
LAST_READ: Final = STALE_WITHIN
"""s after a charger is back within which a read sent just before, unanswered while it was deaf, still
makes it stale (a killed charger's new tunnel takes a moment, so the read once more may be lost too,
and it then sends only on change or its next cycle)."""
HUB_NOTICE: Final = DEFAULT_IDLE_PROBE_AFTER + XKNX_TRIES
"""s within which the hub notices a dead tunnel: its idle probe and xknx's two tries."""
ROUND: Final = 5.0
"""s: the demo group's update interval; a verdict is logged at the next round at the latest."""
SETUP: Final = STARTUP_GRACE + 2 * DEMO_CYCLE
"""s after a (re)start within which every member has reported its current: the start-up grace,
then a cyclic report (twice: one may fall in the grace)."""
CAR_FOLLOW: Final = 5.0
"""s a car takes to follow its pilot (IEC 61851-1)."""
METER_PERIOD: Final = 2.0
"""s between two readings of the demo's meter."""
EVENT_GAP: Final = 30.0
"""s: seconds over the budget less than this apart are one event."""
DISOBEY_BOUND: Final = FOLLOW_TIME + 2 * SETTLE_TIME + CAR_FOLLOW + 2 * METER_PERIOD
"""s over the budget one event of a charger drawing more than its limit + ``OVER_LIMIT_TOLERANCE`` may
last: the core counts the excess as load after ``FOLLOW_TIME``, writes the limit again, Stops it
``SETTLE_TIME`` after that, and the car follows; two meter readings of lag."""
DISOBEY_TOLERANCE: Final = OVER_LIMIT_TOLERANCE
"""A: a draw over the limit by no more than this is, by the core's design, not told from a car's
measuring error; while a charger ignores its limit by so little, budget excess is reported
(``over_budget_bounded_s``), not bounded."""
REVERSED_BOUND: Final = 2 * METER_PERIOD + ROUND + CAR_FOLLOW
"""s over the breaker one event of a reversed meter may last: two readings of export beyond the fuse
flag it (``meter_sign``), the next round applies the fallback, the car follows. Over the budget but
under the breaker a reversed meter looks plausible until the chargers' own steps give it away
(docs/balancing.md, "Reversed meter"): reported, not bounded."""
BOUND_SETTLE: Final = METER_PERIOD + CAR_FOLLOW
"""s after a bounded fault ends during which budget excess is still its own: the next meter reading
shows the end, the round answers at once, the car follows within 5 s."""
WAIT_CHARGING: Final = 6 * 3600.0
"""s a fault that needs a charging car waits for one at most."""

_GROUP = "custom_components.knx_evse.group"
_LIVENESS = "custom_components.knx_evse.charger.liveness"


@dataclass(frozen=True, slots=True)
class FaultKind:
    """One kind of fault (module docstring).

    ``duration``: (low, high) s, drawn uniformly (0: at once); ``on_charger``: aimed at one charger;
    ``while_charging``: waits until a car charges (the target is then a charging one); ``explains``:
    (logger prefix, message regex) of the warnings it may cause; ``after``: s after its end during
    which they may still come; ``blocks``: s after its end (from its start for one without a
    duration) during which Home Assistant cannot command the chargers (budget excess is the fault's);
    ``bound``: s one event of it may last (None: not counted on its own): over the budget while the
    fault is in play (``soak.in_play``), or with ``bound_over="breaker"`` over the breaker;
    ``connection``: injected only when the hub uses this connection (None: on every one).
    """

    name: str
    duration: tuple[float, float] = (0.0, 0.0)
    on_charger: bool = False
    while_charging: bool = False
    explains: tuple[tuple[str, str], ...] = ()
    after: float = 0.0
    blocks: float | None = None
    bound: float | None = None
    bound_over: str = "budget"
    connection: str | None = None


_STALE = ((_LIVENESS, r"sent nothing for"), (_GROUP, r"does not answer; its limit"))
_TUNNEL = ("xknx", r"^Tunnel (heartbeat|disconnect) failed")
"""A tunnel closed by the fault, or one that missed a knxd restart and learns it now: knxd gives the
channel ids it forgot to new clients, so such a tunnel's heartbeat goes on being answered until the
client holding its id closes it."""
_RELOAD = ((_GROUP, r"has not reported its current; its limit"), _TUNNEL)
"""A new runtime of the integration: a member is held until its charger reports a current."""
_CORE_RELOAD = (("custom_components.knx_evse.knx", r"connection|KNX"), *_STALE, ("homeassistant.components.knx", r""),
                ("xknx", r""), (_GROUP, r"could not|not sent|failed"))
"""Home Assistant's KNX integration reloaded under the hub: its tunnel closes and opens again, the hub
loses and regains the connection and registers its addresses again, the chargers are read again."""

KINDS: Final[dict[str, FaultKind]] = {
    kind.name: kind
    for kind in (
        FaultKind(
            "knxd_restart",
            explains=(("xknx", r""), ("custom_components.knx_evse.knx.hub", r"connection|KNX"), *_STALE,
                      (_GROUP, r"could not|not sent|failed")),
            after=HUB_NOTICE + STALE_BOUND,
            blocks=60.0,
        ),
        FaultKind("charger_mute", (60, 240), on_charger=True, explains=_STALE, after=LAST_READ, blocks=30.0),
        FaultKind("charger_kill", (60, 240), on_charger=True, explains=(*_STALE, _TUNNEL), after=LAST_READ,
                  blocks=30.0),
        FaultKind("meter_unavailable", (20, 120), explains=((_GROUP, r"meter .* is unavailable; fallback"),), after=ROUND),
        FaultKind("meter_unknown", (20, 120), explains=((_GROUP, r"meter .* is unavailable; fallback"),), after=ROUND),
        FaultKind("meter_non_numeric", (20, 120), explains=((_GROUP, r"meter .* is invalid; fallback"),), after=ROUND),
        FaultKind("meter_stale", (45, 180), explains=((_GROUP, r"meter .* is stale; fallback"),), after=ROUND),
        FaultKind("washing_machine", (1800, 5400)),
        FaultKind("malformed", on_charger=True,
                  explains=(("custom_components.knx_evse.charger.coordinator", r"ignoring telegram to group address"),),
                  after=ROUND),
        FaultKind("ha_reload", explains=_RELOAD, after=SETUP, blocks=60.0),
        FaultKind("ha_restart", (20, 90), while_charging=True, explains=_RELOAD, after=SETUP, blocks=60.0),
        FaultKind("charger_disobeys", (180, 600), on_charger=True, while_charging=True,
                  explains=((_GROUP, r"does not follow its current limit"),), after=ROUND, bound=DISOBEY_BOUND),
        FaultKind("meter_sign_flip", (300, 1200), while_charging=True,
                  explains=((_GROUP, r"meter .* is reversed; fallback"), *_RELOAD), after=SETUP,
                  bound=REVERSED_BOUND, bound_over="breaker"),
        FaultKind("bus_blip", (1, 1), explains=(("xknx", r""),), after=ROUND, blocks=XKNX_TRIES),
        FaultKind("core_knx_reload", explains=_CORE_RELOAD, after=HUB_NOTICE + STALE_BOUND, blocks=60.0,
                  connection="core_knx"),
        FaultKind("telegram_burst", on_charger=True,
                  explains=(("custom_components.knx_evse.charger.coordinator", r"ignoring telegrams from"), _TUNNEL),
                  after=ROUND),
    )
}
FAULT_KINDS: Final = tuple(KINDS)


def fault_kinds(connection: str) -> tuple[str, ...]:
    """The kinds injected when the hub uses ``connection`` (``settings.CONNECTION``)."""
    return tuple(name for name, kind in KINDS.items() if kind.connection in (None, connection))


@dataclass
class Fault:
    """One injected fault: ``kind`` at simulated second ``at`` for ``duration`` s on ``target``.

    ``scheduled``: when it was due (``at`` moves to when it was injected, for a kind that waits for a
    charging car); ``events``: seconds over the budget of each of its events (kinds with a bound).
    """

    kind: str
    at: float
    duration: float = 0.0
    target: str | None = None
    done: bool = False
    started: bool = False
    scheduled: float = 0.0
    events: list[float] = field(default_factory=list)

    @property
    def end(self) -> float:
        return self.at + self.duration

    @property
    def spec(self) -> FaultKind:
        return KINDS[self.kind]

    def explains_at(self, second: float) -> bool:
        """True when a warning logged at simulated ``second`` may be this fault's."""
        return self.started and self.at - 1 <= second <= self.end + self.spec.after


def fault_schedule(
    rng: random.Random, total: float, rate: float, chargers: list[str], connection: str = "tunnel"
) -> list[Fault]:
    """At least one fault of each kind for ``connection``, ``rate`` per kind and simulated hour, between
    10 min and 25 min before the end."""
    lo, hi = 600.0, max(900.0, total - 1500.0)
    faults: list[Fault] = []
    for kind in (KINDS[name] for name in fault_kinds(connection)):
        for _ in range(max(1, round(rate * total / 3600.0))):
            at = round(rng.uniform(lo, hi))
            duration = rng.uniform(*kind.duration) if kind.duration[1] > 0 else 0.0
            target = rng.choice(chargers) if kind.on_charger else None
            faults.append(Fault(kind.name, at, round(duration), target, scheduled=at))
    faults.sort(key=lambda f: f.at)
    return faults
