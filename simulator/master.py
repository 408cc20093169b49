"""The charger's own built-in load-balancing master (objects 130-212), as the manual describes it.

Source: manual, "Dynamic Load Balancing" (master-slave configuration, "Balancing transmission
period", "Limits", "Load reserve margin", "EVSE to balance", the worked example with a 63 A device
and a 10 % margin → 56.7 A) and the object table (130-212). It is the baseline the integration's
balancer is benchmarked against, so it is modelled as slow as the manual makes it: it computes and
transmits only once per transmission period.

Objects (EVSE n = 1-6 repeats EVSE1's objects at +15·(n-1)):

- inputs: 130 measured current (A, "Current control" on) or 131 measured active power (W, off),
  132 on/off, 133 EVSE n current (A) or 134 EVSE n power (W);
- outputs: 135 EVSE n current limit (A) or 136 power limit (W), 137 pause (0) / restart (1).

Algorithm (once per period; the manual gives the rules, the arithmetic is this module's choice):

1. ``budget`` = protection device (A) or contracted power (W) x (1 - margin/100).
2. household load = measured value - sum of the EVSE readings (negative while PV exports; the meter
   sits at the supply point, so the EVSEs' own draw is part of the measured value).
3. ``available`` = budget - household load, shared by "the EVSE that are in operation" (manual,
   "Dynamic Load Balancing"): those whose reading is at least a sixth of the minimum (1 A or
   230 W), and those the master paused for want of room (their car waits). Idle EVSEs take no share.
4. While ``available`` < minimum (6 A, or 6 A x 230 V in power mode) x number of EVSEs in
   operation, pause the lowest-priority one (EVSE6, then EVSE5 ...; manual: "sequentially
   disconnect chargers starting with EVSE6").
5. The running EVSEs get equal shares capped at their "Maximum current/power EVSEn"; what a capped
   EVSE cannot take is shared among the others (water filling). Paused EVSEs get a limit of 0 and
   "pause" on their 137 object. An idle EVSE gets "restart" and what is left over, at least the
   minimum (so that a car plugging in can start and be counted at the next period), at most its
   maximum; while nothing is available (below the minimum) it is paused with 0 as well.

Where the manual is silent: the master sends nothing until it has received a measured value; there
is no hysteresis (an EVSE can be paused and restarted on consecutive periods, as the manual's rule
reads); switching the master off (132 = 0) sends each EVSE its maximum and "restart" once; with a
transmission period of 0 it recomputes on every step and sends only changed values.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from custom_components.knx_evse.knx.objects import BALANCING_EVSE_STRIDE
from custom_components.knx_evse.knx.parameters import MIN_CURRENT, VOLTAGE, ChargerParameters

OBJ_CURRENT_MEASURED: Final = 130
OBJ_POWER_MEASURED: Final = 131
OBJ_SWITCH: Final = 132
OBJ_EVSE1_CURRENT: Final = 133
OBJ_EVSE1_POWER: Final = 134
OBJ_EVSE1_CURRENT_LIMIT: Final = 135
OBJ_EVSE1_POWER_LIMIT: Final = 136
OBJ_EVSE1_PAUSE_RESTART: Final = 137

TransmitFn = Callable[[int, Any], None]
"""``transmit(object_number, value)``: send a value on the object's sending group address."""


def evse_object(evse1_number: int, n: int) -> int:
    """Object number of EVSE ``n``'s (1-6) copy of EVSE1 object ``evse1_number`` (133-137)."""
    if not 1 <= n <= 6:
        raise ValueError(f"EVSE index must be 1-6, got {n!r}")
    return evse1_number + BALANCING_EVSE_STRIDE * (n - 1)


def balancing_budget(params: ChargerParameters) -> float:
    """Return the limit the master balances on: A with current control, else W.

    Manual, "Load reserve margin": 63 A and 10 % → 56.7 A.
    """
    base = (
        params.balancing_protection_device
        if params.balancing_current_control
        else params.balancing_contracted_power
    )
    return base * (1.0 - params.balancing_margin / 100.0)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Result of one balancing round: per EVSE (index 0 = EVSE1) its limit and whether it may run.

    ``limits`` are A (current control) or W (power control); a paused EVSE has limit 0.
    """

    available: float
    limits: tuple[float, ...]
    running: tuple[bool, ...]


def water_fill(available: float, maxima: Sequence[float]) -> list[float]:
    """Share ``available`` equally among ``len(maxima)`` consumers, each capped at its maximum.

    What a capped consumer cannot take goes to the others. Returns the shares in input order; their
    sum is ``min(available, sum(maxima))``; a negative ``available`` gives zeros.
    """
    shares = [0.0] * len(maxima)
    remaining = max(0.0, available)
    order = sorted(range(len(maxima)), key=lambda i: maxima[i])
    for position, i in enumerate(order):
        share = remaining / (len(order) - position)
        shares[i] = min(maxima[i], share)
        remaining -= shares[i]
    return shares


def allocate(
    available: float,
    maxima: Sequence[float],
    minimum: float,
    in_operation: Sequence[bool] | None = None,
) -> Allocation:
    """Distribute ``available`` over EVSE1..EVSEn (``maxima`` in priority order).

    Only the EVSEs ``in_operation`` (default: all) share; the lowest-priority ones among them are
    paused until every running one gets at least ``minimum``; idle ones are offered the rest (see
    the module docstring, steps 3-5). Units are those of the arguments (A or W).
    """
    count = len(maxima)
    operating = [True] * count if in_operation is None else list(in_operation)
    candidates = [i for i in range(count) if operating[i]]
    while candidates and available < minimum * len(candidates):
        candidates.pop()
    shares = water_fill(available, [maxima[i] for i in candidates])
    limits = [0.0] * count
    running = [False] * count
    for i, share in zip(candidates, shares, strict=True):
        limits[i], running[i] = share, True
    leftover = max(0.0, available - sum(shares))
    for i in range(count):
        if not operating[i] and available >= minimum:
            limits[i], running[i] = min(maxima[i], max(minimum, leftover)), True
    return Allocation(available=available, limits=tuple(limits), running=tuple(running))


class BuiltinMaster:
    """The master running in EVSE1 (the charger whose parameters enable load balancing).

    ``on_write(number, value)`` feeds inputs (130-134 ...), ``step(dt)`` advances the simulated clock
    and transmits through ``transmit`` once per "Balancing transmission period", ``value_of`` answers
    reads of the outputs. ``enabled`` follows object 132 and "Balancing after initializing KNX Bus".
    """

    def __init__(self, params: ChargerParameters, transmit: TransmitFn) -> None:
        """Build the master for ``params`` (balancing must be enabled); raises ValueError otherwise."""
        if not params.balancing_enabled:
            raise ValueError("the parameters do not enable the built-in load balancing master")
        self.params = params
        self._transmit = transmit
        self.count = params.balancing_evse_count
        self.current_control = params.balancing_current_control
        self.maxima = tuple(float(m) for m in params.balancing_evse_max[: self.count])
        if len(self.maxima) < self.count:
            self.maxima += (self.maxima[-1],) * (self.count - len(self.maxima))
        self.minimum = float(MIN_CURRENT) if self.current_control else float(MIN_CURRENT * VOLTAGE)
        self.budget = balancing_budget(params)
        self._last_state = False
        self.enabled = False
        self.measured: float | None = None
        self.evse_values = [0.0] * self.count
        self._waiting = [False] * self.count
        self.last_allocation: Allocation | None = None
        self._sent_limits: list[float | None] = [None] * self.count
        self._sent_running: list[bool | None] = [None] * self.count
        self._since_tx = 0.0
        self.rounds = 0
        self.init()

    # Object numbers -----------------------------------------------------------------------------
    @property
    def measured_object(self) -> int:
        """130 (current control) or 131 (power control)."""
        return OBJ_CURRENT_MEASURED if self.current_control else OBJ_POWER_MEASURED

    def input_object(self, n: int) -> int:
        """EVSE ``n``'s reading input: 133+15(n-1) (A) or 134+15(n-1) (W)."""
        return evse_object(OBJ_EVSE1_CURRENT if self.current_control else OBJ_EVSE1_POWER, n)

    def limit_object(self, n: int) -> int:
        """EVSE ``n``'s limit output: 135+15(n-1) (A) or 136+15(n-1) (W)."""
        return evse_object(OBJ_EVSE1_CURRENT_LIMIT if self.current_control else OBJ_EVSE1_POWER_LIMIT, n)

    def pause_object(self, n: int) -> int:
        """EVSE ``n``'s pause/restart output: 137+15(n-1)."""
        return evse_object(OBJ_EVSE1_PAUSE_RESTART, n)

    # Life cycle ------------------------------------------------------------------------------------
    def init(self) -> None:
        """Bus (re)initialisation: "Balancing after initializing KNX Bus" = off, on or last state."""
        mode = self.params.balancing_after_init
        self.enabled = mode == "on" or (mode == "last" and self._last_state)
        self.measured = None
        self.evse_values = [0.0] * self.count
        self._waiting = [False] * self.count
        self.last_allocation = None
        self._sent_limits = [None] * self.count
        self._sent_running = [None] * self.count
        self._since_tx = 0.0

    # Inputs ------------------------------------------------------------------------------------
    def on_write(self, number: int, value: Any) -> bool:
        """Apply a decoded write to one of the master's inputs; False when ``number`` is not one."""
        if number == OBJ_SWITCH:
            self._switch(bool(value))
            return True
        if number == self.measured_object:
            self.measured = float(value)
            return True
        for n in range(1, self.count + 1):
            if number == self.input_object(n):
                self.evse_values[n - 1] = float(value)
                return True
        return False

    def _switch(self, on: bool) -> None:
        self._last_state = on
        if on == self.enabled:
            return
        self.enabled = on
        self._since_tx = 0.0
        if not on:
            for n in range(1, self.count + 1):
                self._send(n, self.maxima[n - 1], True, force=True)

    # Outputs -----------------------------------------------------------------------------------
    def value_of(self, number: int) -> Any:
        """Value of output ``number`` for a GroupValueRead (last sent, else maximum / restart)."""
        for n in range(1, self.count + 1):
            if number == self.limit_object(n):
                sent = self._sent_limits[n - 1]
                return self.maxima[n - 1] if sent is None else sent
            if number == self.pause_object(n):
                running = self._sent_running[n - 1]
                return True if running is None else running
        raise KeyError(number)

    def _send(self, n: int, limit: float, running: bool, *, force: bool) -> None:
        if force or self._sent_limits[n - 1] is None or abs(limit - (self._sent_limits[n - 1] or 0)) > 1e-6:
            self._sent_limits[n - 1] = limit
            self._transmit(self.limit_object(n), round(limit, 2))
        if force or self._sent_running[n - 1] != running:
            self._sent_running[n - 1] = running
            self._transmit(self.pause_object(n), running)

    # Algorithm ---------------------------------------------------------------------------------
    def compute(self) -> Allocation | None:
        """One balancing round on the latest inputs; None until a measured value has arrived."""
        if self.measured is None:
            return None
        household = self.measured - sum(self.evse_values)
        allocation = allocate(self.budget - household, self.maxima, self.minimum, self.in_operation())
        self._waiting = [
            operating and not running
            for operating, running in zip(self.in_operation(), allocation.running, strict=True)
        ]
        return allocation

    def in_operation(self) -> list[bool]:
        """Per EVSE: drawing (reading at least a sixth of the minimum) or paused here for want of room."""
        return [
            value >= self.minimum / 6 or waiting
            for value, waiting in zip(self.evse_values, self._waiting, strict=True)
        ]

    def step(self, dt: float) -> None:
        """Advance ``dt`` simulated seconds; balance and transmit when a period has elapsed."""
        if not self.enabled:
            return
        period = self.params.balancing_period
        self._since_tx += dt
        if period > 0 and self._since_tx < period:
            return
        if period > 0:
            self._since_tx -= period * (self._since_tx // period)
        allocation = self.compute()
        if allocation is None:
            return
        self.last_allocation = allocation
        self.rounds += 1
        for n in range(1, self.count + 1):
            self._send(n, allocation.limits[n - 1], allocation.running[n - 1], force=period > 0)
