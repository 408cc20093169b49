"""Inputs and output of one balancing round: meter, EVSE and site readings, and the Decision.

The rules behind them: docs/balancing.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from .config import _finite

PriceState = Literal["cheap", "expensive", "no_price"]
"""The energy price against the group's smart-cost rule (``SiteReading``).

- ``"cheap"``: at or below ``price_limit``, or below zero with ``negative_price``: Solar and
  Min+Solar EVSEs charge as in Fast.
- ``"expensive"``: a usable price that is neither.
- ``"no_price"``: the price is unknown (None, NaN, inf): not cheap.
"""

BatteryState = Literal["battery_first", "car_first", "buffer"]
"""What the home battery means for solar charging this round (``SiteReading``).

- ``"battery_first"``: below ``priority_soc`` (or the SoC is unknown): the export is the battery's.
- ``"car_first"``: at or above ``priority_soc``: a charging battery's power is export for the cars.
- ``"buffer"``: above ``buffer_soc``: also, a charging solar EVSE is held at its minimum through a
  lack of export (the battery bridges a cloud).
"""

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
class SiteReading:
    """The site around the chargers in one round: the energy price and the home battery.

    Measurements (``price``, ``battery_soc``, ``battery_power``) may be None or NaN when unknown;
    the settings (the rest) are validated. All optional: a default ``SiteReading()`` changes nothing.
    The rules: docs/balancing.md, "Smart cost" and "Home battery".

    Attributes:
        price: the energy price now, in any unit (the one of ``price_limit``); None when unknown.
        price_limit: smart cost: at or below it the price is cheap and Solar and Min+Solar EVSEs
            charge as in Fast, within the breaker budget. None: no limit.
        negative_price: smart cost: a price below zero is cheap, whatever ``price_limit``.
        battery_soc: the home battery's state of charge in %, 0-100; None (or outside 0-100) when
            unknown.
        battery_power: the battery's power in W, positive while discharging into the house,
            negative while charging (the sign as the meter's: into the house is positive); None
            when unknown or not measured.
        priority_soc: % below which the export is the battery's (evcc's ``prioritySoc``); None or
            0: the cars come first.
        buffer_soc: % above which a charging solar EVSE is held at its minimum while the export
            is short, so the battery bridges clouds (evcc's ``bufferSoc``); None: never.

    Raises:
        ValueError: for a ``price_limit`` that is not a finite number, a threshold outside 0-100,
            or a ``buffer_soc`` below ``priority_soc``.

    """

    price: float | None = None
    price_limit: float | None = None
    negative_price: bool = False
    battery_soc: float | None = None
    battery_power: float | None = None
    priority_soc: float | None = None
    buffer_soc: float | None = None

    def __post_init__(self) -> None:
        if self.price_limit is not None and not _finite(self.price_limit):
            raise ValueError(f"price_limit must be None or a finite number, got {self.price_limit!r}")
        for name in ("priority_soc", "buffer_soc"):
            value = getattr(self, name)
            if value is not None and not (_finite(value) and 0 <= value <= 100):
                raise ValueError(f"{name} must be None or a percentage 0-100, got {value!r}")
        if (self.priority_soc is not None and self.buffer_soc is not None
                and self.buffer_soc < self.priority_soc):
            raise ValueError(f"buffer_soc ({self.buffer_soc}) must not be below priority_soc ({self.priority_soc})")

    @property
    def smart_cost(self) -> bool:
        """True when a smart-cost rule is set (a price limit or the negative-price rule)."""
        return self.price_limit is not None or self.negative_price

    @property
    def price_state(self) -> PriceState | None:
        """The price against the smart-cost rule; None without one."""
        if not self.smart_cost:
            return None
        price = self.price
        if price is None or not _finite(price):
            return "no_price"
        if (self.price_limit is not None and price <= self.price_limit) or (self.negative_price and price < 0):
            return "cheap"
        return "expensive"

    @property
    def soc(self) -> float | None:
        """The battery's SoC in %, None when unknown or outside 0-100."""
        soc = self.battery_soc
        return float(soc) if soc is not None and _finite(soc) and 0 <= soc <= 100 else None

    @property
    def battery_state(self) -> BatteryState | None:
        """What the battery means for solar charging (see :data:`BatteryState`); None without thresholds."""
        if self.priority_soc is None and self.buffer_soc is None:
            return None
        soc = self.soc
        if self.priority_soc and (soc is None or soc < self.priority_soc):
            return "battery_first"
        if self.buffer_soc is not None and soc is not None and soc > self.buffer_soc:
            return "buffer"
        return "car_first"


@dataclass(frozen=True, slots=True)
class CircuitStatus:
    """One circuit after a round (``Decision.circuits``; docs/balancing.md, "Circuits").

    Attributes:
        id: the circuit's id.
        meter_state: its meter's :data:`MeterState`, or None for a circuit without a meter.
        fallback: True while its members (and those of the circuits below it) are in the
            fallback: its meter, one above it, or the supply's is not usable.
        available: A per phase left for its members after the margin and its other load (the
            smallest phase; a limit in W averaged over the phases), as ``Decision.available``;
            None in the fallback.

    """

    id: str
    meter_state: MeterState | None
    fallback: bool
    available: float | None


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
            without the EVSEs, with the home battery's share moved as ``SiteReading`` says (the
            export solar EVSEs may use); 0 when importing; None in fallback.
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
        price: the price against the smart-cost rule (:data:`PriceState`), None without one.
        battery: what the home battery meant for solar (:data:`BatteryState`), None without
            battery thresholds.
        circuits: one :class:`CircuitStatus` per circuit, in the order of
            ``BalancingConfig.circuits``; empty without circuits. Members in a circuit's fallback
            have its fallback reason (``fallback_meter_stale`` ...); ``fallback`` above is the
            supply's meter alone.

    Smart cost and the battery add reasons: ``"cheap_price"`` (a Solar or Min+Solar EVSE charging
    as in Fast while the price is cheap), ``"price_unavailable"`` (instead of ``"solar"``,
    ``"min_solar"`` or ``"paused_no_surplus"`` of a Solar or Min+Solar EVSE while the price is
    unknown: it charges by its mode, not by the price) and ``"battery_buffer"`` (a solar EVSE short
    of export, held at its minimum above the buffer SoC).

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
    price: PriceState | None = None
    battery: BatteryState | None = None
    circuits: tuple[CircuitStatus, ...] = ()

    @property
    def circuits_in_fallback(self) -> tuple[str, ...]:
        """The ids of the circuits whose members are in the fallback (their own meter failed, or one above)."""
        return tuple(c.id for c in self.circuits if c.fallback)


RUNNING_REASONS: Final = frozenset({
    "fast", "solar", "min_solar", "override", "planned", "capped", "min_on_hold", "no_surplus_hold",
    "fallback_meter_stale", "fallback_meter_invalid", "fallback_meter_reversed",
    "cheap_price", "price_unavailable", "battery_buffer",
})
"""Reasons an EVSE can have while charging (``Decision.reason``)."""

PAUSED_REASONS: Final = frozenset({
    "off", "not_connected", "paused_priority", "paused_no_surplus", "paused_min_off", "ramp_wait",
    "start_queue", "wait_preempt", "over_budget_cut", "over_limit_stop", "fallback_meter_stale",
    "fallback_meter_invalid", "fallback_meter_reversed", "price_unavailable",
})
"""Reasons an EVSE can have while paused (``Decision.reason``)."""
