"""Configuration of the pure load-balancing core.

Everything here is plain, frozen data validated in ``__post_init__``. Units are SI: amperes (A),
watts (W), volts (V) and seconds (s).

Sources: the manual's "Dynamic Load Balancing" section (``limit``, ``current_control``,
``reserve_margin``, the EVSE1 → EVSE6 priority order and the per-EVSE maximum current or power)
and the project's balancing rules in docs/balancing.md (timing, fallback, modes, phases,
``step``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from .circuits import CircuitConfig, check_tree

Mode = Literal["off", "fast", "solar", "min_solar"]
"""Charge mode of one EVSE.

- ``"off"``: never charges.
- ``"fast"``: charges as fast as the breaker budget allows, up to the EVSE maximum.
- ``"solar"``: charges only from the export the house would otherwise feed into the grid.
- ``"min_solar"``: always ``min_current`` (from the grid if need be), more when there is export.
"""

MODES: Final[tuple[Mode, ...]] = ("off", "fast", "solar", "min_solar")

FallbackMode = Literal["pause"] | float
"""What the balancer does without a usable meter: ``"pause"``, or a fixed current in A."""

ABSURD_POWER: Final = 200_000.0
"""W; a house meter beyond this is absurd (rule: "absurd (for example above 200 kW)")."""

IEC_MIN_CURRENT: Final = 6.0
"""The lowest current an EVSE may signal to a vehicle (IEC 61851-1); the manual's minimum, 6 A."""


def power_bound(limit_w: float, max_meter_power: float | None) -> float:
    """Return the W above which a meter reading is absurd: ``max_meter_power``, or the larger of 200 kW and 4 × ``limit_w``."""
    if max_meter_power is not None:
        return float(max_meter_power)
    return max(ABSURD_POWER, 4.0 * limit_w)


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class EvseConfig:
    """One charger (EVSE) taking part in balancing.

    Exactly one of ``max_current`` (A per phase) and ``max_power`` (W in total) must be given;
    the manual's "Maximum current EVSE1_6 / Maximum active power EVSE1_6". A power maximum is
    converted to A per phase with the group's ``voltage`` and this EVSE's ``phases``, see
    :meth:`BalancingConfig.evse_max_current`.

    Attributes:
        max_current: the charger's (or user's) maximum in A per phase, or None.
        max_power: the maximum in W (all phases together), or None.
        phases: the supply phases the EVSE draws from, each up to its limit: 1, 3, or 2 for a
            two-connector single-phase charger whose connectors sit on two phases (manual, "Phase
            connection: different"; the whole charger as one member).
        phase: the supply phase (1, 2 or 3) of the EVSE's first phase: a single-phase EVSE's only
            phase, a three-phase charger's L1 (phase rotation: its L2 and L3 follow cyclically),
            connector 1 of a two-phase one (connector 2 on the next phase). On a single-phase
            supply it must be 1.
        mode: initial charge mode, see :data:`Mode`. Change it at runtime with
            ``Balancer.set_mode``.
        name: free text for logs and diagnostics.
        keepalive: seconds after which this charger's unchanged limit (or pause) is written
            again, or None (default) for the group's ``BalancingConfig.keepalive``. Only a
            charger with "Enable Fail-safe" on needs one (manual, "Advanced": without a telegram
            for FailSafeTimeout seconds it applies its fail-safe current); choose it well below
            that timeout, e.g. half of it, so one lost telegram or a late round does not let the
            fail-safe fire. See :meth:`BalancingConfig.evse_keepalive`.
        circuit: the id of the circuit (``BalancingConfig.circuits``) it hangs in, or None
            (default) for directly under the supply.

    Raises:
        ValueError: when both or neither maximum is given, a maximum is not a positive finite
            number, ``phases`` is not 1, 2 or 3, ``phase`` is not 1–3, ``mode`` is unknown, or
            ``keepalive`` is neither None nor a positive finite number of seconds, or ``circuit``
            is neither None nor a non-empty string.

    """

    max_current: float | None = None
    max_power: float | None = None
    phases: int = 1
    phase: int = 1
    mode: Mode = "fast"
    name: str = ""
    keepalive: float | None = None
    circuit: str | None = None

    def __post_init__(self) -> None:
        label = f"EVSE {self.name!r}" if self.name else "EVSE"
        if self.circuit is not None and (not isinstance(self.circuit, str) or not self.circuit):
            raise ValueError(f"{label}: circuit must be None or a circuit id, got {self.circuit!r}")
        if self.keepalive is not None and not (_finite(self.keepalive) and self.keepalive > 0):
            raise ValueError(f"{label}: keepalive must be None or a positive number of seconds, "
                             f"got {self.keepalive!r}")
        if (self.max_current is None) == (self.max_power is None):
            raise ValueError(f"{label}: give exactly one of max_current (A) and max_power (W)")
        if self.max_current is not None and not (
            _finite(self.max_current) and self.max_current > 0
        ):
            raise ValueError(f"{label}: max_current must be a positive number of A, "
                             f"got {self.max_current!r}")
        if self.max_power is not None and not (_finite(self.max_power) and self.max_power > 0):
            raise ValueError(f"{label}: max_power must be a positive number of W, "
                             f"got {self.max_power!r}")
        if self.phases not in (1, 2, 3) or isinstance(self.phases, bool):
            raise ValueError(f"{label}: phases must be 1, 2 or 3, got {self.phases!r}")
        if self.phase not in (1, 2, 3) or isinstance(self.phase, bool):
            raise ValueError(f"{label}: phase must be 1, 2 or 3, got {self.phase!r}")
        if self.mode not in MODES:
            raise ValueError(f"{label}: mode must be one of {', '.join(MODES)}, "
                             f"got {self.mode!r}")


def supply_phases(evse: EvseConfig) -> tuple[int, ...]:
    """Return the supply phases (0-based) of the EVSE's own phases: ``phases`` of them from ``phase``, cyclically.

    A three-phase charger with ``phase`` 2 loads L2, L3, L1 with its L1, L2, L3 (phase rotation);
    a two-phase one with ``phase`` 3 has connector 1 on L3 and connector 2 on L1.
    """
    return tuple((evse.phase - 1 + k) % 3 for k in range(evse.phases))


@dataclass(frozen=True, slots=True)
class BalancingConfig:
    """A balancing group: one supply, one meter, chargers in priority order.

    Attributes:
        limit: the budget reference. With ``current_control`` it is the overcurrent protection
            device in A per phase (manual: "Overcurrent protection device", e.g. 63 A); without,
            the contracted power in W for the whole supply (manual: "Contracted power").
        current_control: True for a per-phase current limit, False for a total power limit
            (manual: "Current control").
        reserve_margin: percent of ``limit`` held back, 0 ≤ margin < 100 (manual: "Load reserve
            margin"; 63 A with 10 % leaves 56.7 A).
        evses: the chargers, EVSE1 first; earlier means higher priority (manual: "Priority
            ordered from highest to lowest EVSE1 -> EVSE6"). A list is converted to a tuple.
        phases: phases of the supply, 1 or 3.
        balanced_supply: with a single total meter in W on a three-phase supply and
            ``current_control``, spread the other load evenly over the phases. False (default):
            the other load may all sit on one phase, so it is counted on every phase; only an
            installation known to be balanced may set True. Per-phase meters ignore it.
        drawn_phases: count a three-phase EVSE whose vehicle has drawn on fewer phases for
            ``SETTLE_TIME`` (a single-phase car) on those only, at the supply and in every circuit,
            and on all again in the round it draws on another (docs/balancing.md, "Phases a
            vehicle draws"); it needs chargers that report a current per phase. False (default):
            every three-phase EVSE is counted on all its phases, so the limits written never add up
            to more than a budget on any phase. True lets more single-phase cars charge, but the
            limits may then add up to more on a phase no car draws on, and a car that starts
            drawing on another phase can overload a circuit without its own meter until the next
            round: only for a user who accepts that.
        min_current: the lowest non-zero limit in A, at least 6 A (IEC 61851-1).
        voltage: phase-to-neutral voltage in V, used to convert W to A.
        step: resolution in A. Every limit is rounded down to ``min_current + k × step``, so
            with the defaults (6 A, 1 A) to whole amperes, and any change of a limit is at least
            one step (rule: "limits only change when they change by at least step").
        ramp_up_delay: seconds of sustained headroom before a limit is raised or a paused EVSE
            starts (default 10 s). Lowering is always immediate.
        min_on_time: seconds an EVSE keeps charging after a start before it may be paused for
            priority or lack of surplus (default 60 s). A budget overrun ignores it.
        min_off_time: seconds an EVSE stays paused before it may start again (default 60 s).
        solar_stop_delay: how long a charging ``solar`` EVSE may lack export before it is
            paused, in seconds of ``min_current`` drawn from the grid (default 180 s, evcc's
            default PV disable delay). Meanwhile it draws ``min_current`` from the grid budget.
            What counts is the import it causes: ``min_current`` less the export that still
            covers part of it, added up over the deficit, so with no export at all it is paused
            after ``solar_stop_delay`` seconds, and a thin cloud that leaves half of
            ``min_current`` as export is ridden twice as long (a deficit ends when the export
            covers ``min_current`` again). The pause comes at the later of ``start +
            min_on_time`` and that moment. Why energy, not time: at the end of a winter day the
            export sinks slowly below ``min_current``, and a fixed delay paused the car while
            nearly all it drew was still solar (``scripts/bench``: winter capture 89.8 % of
            the ideal with 60 s of time, 99.2 % with 180 s of import, 0.16 kWh from the grid).
        meter_timeout: a meter reading older than this many seconds is stale (default 30 s).
        keepalive: the group's default keep-alive in seconds, or None (default): no keep-alive.
            With a keep-alive, an unchanged limit (or pause) is written again that long after
            the last write, so a charger's fail-safe (manual: "Enable Fail-safe",
            FailSafeTimeout) never fires while the balancer runs; choose it well below the
            shortest fail-safe timeout. Chargers without fail-safe need none: the issue's rule is
            "no repeated identical writes except a keep-alive inside the chargers' fail-safe
            timeout". ``EvseConfig.keepalive`` overrides it per charger, so a group can keep
            alive only its fail-safe members (see :meth:`evse_keepalive`). The default used to be
            60 s for every charger; pass ``keepalive=60.0`` for that behaviour.
        fallback: what happens without a usable meter: ``"pause"`` (default) pauses every EVSE;
            a float (A, ≥ ``min_current``) gives that fixed current to EVSEs in priority order as
            long as their sum fits ``limit × (1 − margin)`` with no other load assumed.
        max_meter_power: readings whose magnitude exceeds this many W, or the equivalent
            current ``max_meter_power / (voltage × phases)`` A per phase, are treated as absurd
            and trigger the fallback. None (default) means the larger of 200 kW  and
            four times the supply's limit in W, so large car parks are not flagged; see
            :attr:`meter_power_bound`.
        raise_margin: A per phase, ≥ 0 (default 0.5 A): the headroom every charging EVSE keeps
            when limits are raised. A limit is raised to X only when X fits with
            ``raise_margin`` more per charging EVSE (on each constraint it uses, and in the
            export for solar shares), and a paused EVSE starts only when ``min_current +
            raise_margin`` fits the breaker budget; a limit is kept while it fits without the
            margin and lowered at once when it does not. So a limit changes only when the room
            moves by more than ``step + raise_margin``: a hysteresis against measurement
            uncertainty. Why: a charger sends its measured current only on a change larger than
            its "Current value change" (ETS, 0.5 A in the demo installation) or every
            "Current transmission period", so after a raise up to that much of the car's
            ramp-up is unreported and counts as other load (meter − Σ reported currents); without
            the margin the balancer then lowers at once and raises again after
            ``ramp_up_delay``, thousands of times a day (``scripts/bench``, "hunts"). Set it to
            at least the largest "Current value change" of the members; 0 restores the plain
            rounding. Safety is unchanged: Σ limits never exceed the budget computed from the
            reported currents, lowering is still immediate, and the margin also covers a report
            that is up to ``raise_margin`` too high (a car that slowed down unreported), so a raise
            never relies on it. The price: in steady state up to ``step + raise_margin`` per EVSE
            of the budget (or export) stays unused, instead of ``step``. The start check on the
            export needs only ``min_current``, since a solar EVSE short of export is paused only
            after ``solar_stop_delay``.
        min_raise: A, ≥ 0 (default 3 A): a charging Fast or override member's limit is raised by
            at least this much, or to the most it may have, or not at all: each re-share of the
            room among many members (a car arriving or leaving, the other load moving) is a telegram
            to each, and a raise of a step or two is rarely worth one. Lowering is never held. The
            price: up to ``min_raise`` less one step per member of the room stays unused until it
            grows. ``scripts/bench --carpark``: 28.5 instead of 33 telegrams an hour for 0.2 % less
            energy. 0 raises by every step.
        circuits: the circuits under the supply (:class:`~.circuits.CircuitConfig`; a list is
            converted to a tuple), each member in one of them by ``EvseConfig.circuit`` or under
            the supply; empty (default): the supply alone. Checked by
            :func:`~.circuits.check_tree` (docs/balancing.md, "Circuits").

    Raises:
        ValueError: with a message naming the offending field, for a non-positive or
            non-finite limit, voltage or step; a negative or non-finite raise_margin or min_raise; a keepalive that is neither None nor a positive
            finite number; a margin outside [0, 100); a
            ``min_current`` below 6 A; negative timings; a supply with other than 1 or 3
            phases; an EVSE that does not fit the supply (a two- or three-phase EVSE on a single-phase
            supply, ``phase`` ≠ 1 on a single-phase supply); an EVSE maximum below
            ``min_current``; a fallback that is neither ``"pause"`` nor a current ≥
            ``min_current``; or circuits that are not a tree the members fit (see ``circuits``).

    """

    limit: float
    current_control: bool = True
    reserve_margin: float = 0.0
    evses: tuple[EvseConfig, ...] = field(default_factory=tuple)
    phases: int = 1
    min_current: float = IEC_MIN_CURRENT
    voltage: float = 230.0
    step: float = 1.0
    ramp_up_delay: float = 10.0
    min_on_time: float = 60.0
    min_off_time: float = 60.0
    solar_stop_delay: float = 180.0
    meter_timeout: float = 30.0
    keepalive: float | None = None
    fallback: FallbackMode = "pause"
    max_meter_power: float | None = None
    raise_margin: float = 0.5
    min_raise: float = 3.0
    balanced_supply: bool = False
    drawn_phases: bool = False
    circuits: tuple[CircuitConfig, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "evses", tuple(self.evses))  # a list is accepted too
        object.__setattr__(self, "circuits", tuple(self.circuits))
        if not (_finite(self.limit) and self.limit > 0):
            unit = "A" if self.current_control else "W"
            raise ValueError(f"limit must be a positive number of {unit}, got {self.limit!r}")
        if not (_finite(self.reserve_margin) and 0 <= self.reserve_margin < 100):
            raise ValueError(
                f"reserve_margin must be a percentage in [0, 100), got {self.reserve_margin!r}"
            )
        if self.phases not in (1, 3) or isinstance(self.phases, bool):
            raise ValueError(f"phases of the supply must be 1 or 3, got {self.phases!r}")
        if not (_finite(self.min_current) and self.min_current >= IEC_MIN_CURRENT):
            raise ValueError(
                f"min_current must be at least {IEC_MIN_CURRENT} A, got {self.min_current!r}"
            )
        for name in ("voltage", "step", "keepalive", "max_meter_power"):
            value = getattr(self, name)
            if name in ("keepalive", "max_meter_power") and value is None:
                continue
            if not (_finite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("raise_margin", "min_raise"):
            if not (_finite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a current >= 0 A, got {getattr(self, name)!r}")
        for name in (
            "ramp_up_delay", "min_on_time", "min_off_time", "solar_stop_delay", "meter_timeout"
        ):
            value = getattr(self, name)
            if not (_finite(value) and value >= 0):
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
        if self.fallback != "pause" and not (
            _finite(self.fallback) and self.fallback >= self.min_current
        ):
            raise ValueError(
                f"fallback must be 'pause' or a current >= min_current ({self.min_current} A), "
                f"got {self.fallback!r}"
            )
        for number, evse in enumerate(self.evses, start=1):
            if not isinstance(evse, EvseConfig):
                raise ValueError(f"EVSE{number}: expected an EvseConfig, got {evse!r}")
            if self.phases == 1 and evse.phases != 1:
                raise ValueError(f"EVSE{number}: an EVSE on {evse.phases} phases needs a three-phase supply")
            if self.phases == 1 and evse.phase != 1:
                raise ValueError(f"EVSE{number}: phase must be 1 on a single-phase supply")
            if self.evse_max_current(number - 1) < self.min_current:
                raise ValueError(
                    f"EVSE{number}: its maximum ({self.evse_max_current(number - 1):.2f} A) is "
                    f"below min_current ({self.min_current} A), so it could never charge"
                )
        if self.circuits or any(e.circuit is not None for e in self.evses):
            check_tree(self.circuits, [e.circuit for e in self.evses], root_limit=self.limit,
                       root_unit="A" if self.current_control else "W", voltage=self.voltage, phases=self.phases)

    @property
    def budget(self) -> float:
        """``limit × (1 − reserve_margin / 100)``, in A per phase or in W (manual: 56.7 A)."""
        return self.limit * (1.0 - self.reserve_margin / 100.0)

    @property
    def meter_power_bound(self) -> float:
        """Magnitude in W above which a meter reading is absurd (see ``max_meter_power``)."""
        supply_w = self.limit * self.voltage * self.phases if self.current_control else self.limit
        return power_bound(supply_w, self.max_meter_power)

    @property
    def fallback_current(self) -> float | None:
        """The fixed fallback current in A, or None when the fallback is ``"pause"``."""
        return None if self.fallback == "pause" else float(self.fallback)

    def evse_keepalive(self, index: int) -> float | None:
        """Return the keep-alive of EVSE ``index`` (0-based) in seconds, or None for none.

        ``EvseConfig.keepalive`` when set, otherwise the group's ``keepalive``.

        Raises:
            IndexError: for an index outside ``evses``.

        """
        own = self.evses[index].keepalive
        return float(own) if own is not None else (
            None if self.keepalive is None else float(self.keepalive))

    def evse_max_current(self, index: int) -> float:
        """Return the maximum of EVSE ``index`` (0-based) in A per phase.

        ``max_current`` as given, or ``max_power / (voltage × phases)`` (rule: "convert to
        A with voltage and the phases"). Not rounded to ``step``.

        Raises:
            IndexError: for an index outside ``evses``.

        """
        evse = self.evses[index]
        if evse.max_current is not None:
            return float(evse.max_current)
        return float(cast("float", evse.max_power)) / (self.voltage * evse.phases)
