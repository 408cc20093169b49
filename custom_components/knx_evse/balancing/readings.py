"""Inputs and output of one balancing round: meter and EVSE readings, and the Decision.

The rules behind them: docs/balancing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

MeterState = Literal["ok", "stale", "unavailable", "invalid", "absurd", "reversed"]
"""Why a meter reading was (not) usable.

- ``"ok"``: used for balancing.
- ``"stale"``: older than ``meter_timeout``.
- ``"unavailable"``: no reading, or its value is None.
- ``"invalid"``: non-numeric, NaN/inf, a wrong number of phases, a unit that does not fit, or a
  timestamp more than ``meter_timeout`` in the future.
- ``"absurd"``: beyond ``BalancingConfig.meter_power_bound`` (200 kW for a house) or the
  matching current per phase.
- ``"reversed"``: the sign looks reversed (``meter_sign.MeterSign``): the meter moved against the
  EVSEs' own current steps, or showed more export than the fuse can carry. Latched.
"""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """The supply meter at the installation's incoming point.

    Attributes:
        value: signed, positive while importing and negative while exporting (manual: "Dynamic
            load balancing with solar generation"). One of:

            - a float total current in A (``unit`` ``"A"``). On a three-phase supply it is taken
              as the current of every phase, which is conservative when it is the most loaded
              phase;
            - a float total power in W (``unit`` ``"W"``), spread evenly over the supply phases
              (rule: "convert to A with voltage and the phases");
            - a tuple of per-phase currents in A, L1 first: 3 values on a three-phase supply, 1
              on a single-phase one;
            - None, NaN or inf when unavailable (→ fallback).
        timestamp: when the value was measured, in seconds on the same clock as ``now`` in
            ``Balancer.update``.
        unit: ``"A"`` or ``"W"`` for a float value; None means ``"A"`` when the group uses
            ``current_control`` and ``"W"`` otherwise. A tuple is always A.

    """

    value: float | tuple[float, ...] | None
    timestamp: float
    unit: Literal["A", "W"] | None = None


@dataclass(frozen=True, slots=True)
class EvseReading:
    """What one EVSE reports (manual: "[EVSE] Instantaneous Single-phase Current", object 14).

    Attributes:
        current: measured current in A: a float (the same on each of the EVSE's phases), or a
            tuple per phase of the EVSE (a three-phase charger's L1, L2, L3; a two-phase one's
            connector 1 and 2), mapped to the supply from ``EvseConfig.phase``. For a single-phase EVSE a
            tuple counts by its largest value. None, NaN or a negative value counts as 0 A;
            values are capped at the EVSE's maximum. Both choices only ever overestimate the
            other loads, never the room left.
        connected: True when a vehicle is plugged in and wants energy.
        connectors: 1, or 2 for a two-connector charger balanced as one EVSE while two vehicles are
            plugged in: it splits its limit 50/50 between them and does not pass on a share one
            leaves unused (manual, "Dynamic balancing in models with two connectors"). The EVSE's
            lowest limit is then ``connectors × min_current``, so each vehicle gets at least
            ``min_current``.
        busiest: with ``connectors`` 2, the A per phase the connector that draws most takes (its
            share is the limit ÷ 2); None counts the draw as evenly split.

    """

    current: float | tuple[float, ...] | None = 0.0
    connected: bool = False
    connectors: int = 1
    busiest: float | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The result of ``Balancer.update``; every tuple has one entry per EVSE, EVSE1 first.

    Attributes:
        limits: assigned limit in A per phase; 0.0 where paused, otherwise within
            [min_current, EVSE maximum] and on the grid ``min_current + k × step``.
        paused: True where the limit is 0.
        available: A per phase left for the EVSEs after the margin and the non-EV load (rule:
            ``limit × (1 − margin) − (meter − Σ EVSE currents)``; with per-phase meters the
            smallest phase). Negative when the other loads alone exceed the budget. None in
            fallback.
        surplus: A per phase (averaged over the supply phases) that the house would export
            without the EVSEs; 0 when importing; None in fallback.
        reason: a short machine-readable word per EVSE. Charging: ``"fast"``, ``"solar"``,
            ``"min_solar"``, ``"override"``, ``"planned"`` (in a slot of its charging plan, as in Fast
            up to the planned current), ``"capped"`` (it draws clearly less than its share, so
            it is capped near its draw and the rest goes to the others), ``"min_on_hold"`` (would be paused but
            ``min_on_time`` has not passed), ``"no_surplus_hold"`` (solar short of export,
            within the import ``solar_stop_delay`` allows), ``"fallback_meter_stale"`` /
            ``"fallback_meter_invalid"`` / ``"fallback_meter_reversed"`` (fixed fallback
            current). Paused: ``"off"``, ``"not_connected"``, ``"paused_priority"`` (the budget
            does not reach it), ``"paused_no_surplus"`` (solar without enough export),
            ``"paused_min_off"``,
            ``"ramp_wait"`` (headroom not yet sustained for ``ramp_up_delay``),
            ``"start_queue"`` (another EVSE starts this round), ``"wait_preempt"`` (waits for a
            lower-priority EVSE's ``min_on_time``), ``"over_budget_cut"`` (cut at once because
            the budget was exceeded), ``"over_limit_stop"`` (paused because it kept drawing over
            its limit after it was written again), ``"fallback_meter_stale"`` /
            ``"fallback_meter_invalid"`` / ``"fallback_meter_reversed"``.
        fallback: True when the meter was not usable and the fallback was applied.
        meter_state: see :data:`MeterState`.
        writes: indices of the EVSEs whose charger needs a telegram this round, ascending: the
            limit or the pause state changed, a keep-alive is due (only for EVSEs that have one,
            see ``BalancingConfig.evse_keepalive``; by default none), or
            ``Balancer.force_write`` asked for it. Otherwise an unchanged limit is never
            written again. An HA layer sends, for each: the limit when not paused, and Start or
            Stop when the index is in ``switches`` (or Stop again, as keep-alive, while paused).
        switches: the subset of ``writes`` whose paused state changed (a Start/Stop telegram).
        disobedient: indices of the EVSEs that were paused for drawing over their limit and still
            draw ``SETTLE_TIME`` after the Stop: their whole draw counts as other load until they
            obey (an HA layer raises a repair issue naming the charger).

    """

    limits: tuple[float, ...]
    paused: tuple[bool, ...]
    available: float | None
    surplus: float | None
    reason: tuple[str, ...]
    fallback: bool
    meter_state: MeterState
    writes: tuple[int, ...]
    switches: tuple[int, ...]
    disobedient: tuple[int, ...] = ()


RUNNING_REASONS: Final = frozenset({
    "fast", "solar", "min_solar", "override", "planned", "capped", "min_on_hold", "no_surplus_hold",
    "fallback_meter_stale", "fallback_meter_invalid", "fallback_meter_reversed",
})
"""Reasons an EVSE can have while charging (``Decision.reason``)."""

PAUSED_REASONS: Final = frozenset({
    "off", "not_connected", "paused_priority", "paused_no_surplus", "paused_min_off", "ramp_wait",
    "start_queue", "wait_preempt", "over_budget_cut", "over_limit_stop", "fallback_meter_stale",
    "fallback_meter_invalid", "fallback_meter_reversed",
})
"""Reasons an EVSE can have while paused (``Decision.reason``)."""
