"""Bridge mode of a balancing group: no own balancing, the meter is fed to the charger's built-in master.

The meter value goes to the master's "[Balancing] Current measured" (A) or "Active Power measured"
(W; chosen by the master's "Current control" parameter) when it changed by at least
``BRIDGE_CHANGE_A`` (or its power) and ``BRIDGE_MIN_INTERVAL`` s have passed since the last
value, and every ``bridge_period`` seconds (``Throttle``, ``ChargerInterface.async_feed_meter``): a
meter that updates every second no longer sends 3,600 telegrams an hour to a master that reads every
10 s. Without a usable meter it writes the supply limit (the master's protection device in A or
contracted power in W), so the master sees no headroom and reduces its chargers.
"""

from __future__ import annotations

import logging
import math
from typing import Final

from homeassistant.exceptions import HomeAssistantError

from ..balancing import Balancer, BalancingConfig, MeterReading
from ..charger.interface import ChargerInterface
from ..condition import LoggedCondition
from ..knx.parameters import VOLTAGE
from .meter import Meter

_LOGGER = logging.getLogger(__name__)

BRIDGE_CHANGE_A: Final = 0.5
"""A (or that current's power at 230 V): a smaller change is not sent again before the period."""
BRIDGE_MIN_INTERVAL: Final = 2.0
"""s: the shortest time between two values sent for a change (the period repeats regardless)."""
NO_MASTER_LIMIT: Final = 63.0
"""A: the supply limit of the meter checks while the master charger is missing."""


class Throttle:
    """When bridge mode sends the meter value; plain data, so the benchmark counts the same telegrams.

    Due: the first value (or after :meth:`resend`), every ``period`` s, and a change of at least the
    threshold (``BRIDGE_CHANGE_A`` or its power) once ``BRIDGE_MIN_INTERVAL`` s have passed since the
    last value sent. Times in s on one clock.
    """

    def __init__(self, period: float) -> None:
        """Repeat the value every ``period`` s."""
        self.period = period
        self._sent: float | None = None
        self._sent_at: float = -math.inf

    def due(self, now: float, value: float, threshold: float) -> bool:
        """Return True when ``value`` (A or W) should be sent at ``now``; ``threshold`` in its unit."""
        return (
            self._sent is None
            or now - self._sent_at >= self.period
            or (abs(value - self._sent) >= threshold and now - self._sent_at >= BRIDGE_MIN_INTERVAL)
        )

    def sent(self, now: float, value: float) -> None:
        """Record that ``value`` was sent at ``now``."""
        self._sent = value
        self._sent_at = now

    def resend(self) -> None:
        """Make the next value due whatever it is."""
        self._sent = None


class Bridge:
    """Feeds one group's meter to ``master`` (None when its charger is gone)."""

    def __init__(self, group: str, master: ChargerInterface | None, phases: int, period: float) -> None:
        """Bridge group ``group`` to ``master``: ``phases`` of the supply, ``period`` s between repeats."""
        self.group = group
        self.master = master
        self.phases = phases
        self.period = period
        self.throttle = Throttle(period)
        self._failing = LoggedCondition(_LOGGER)

    def config(self, meter_timeout: float) -> BalancingConfig:
        """Return a member-less core config whose meter checks match the master's supply."""
        master = self.master
        current = master is None or master.params.balancing_current_control
        limit = NO_MASTER_LIMIT
        if master is not None:
            params = master.params
            limit = float(params.balancing_protection_device if current else params.balancing_contracted_power)
        return BalancingConfig(
            limit=limit, current_control=current, phases=self.phases, voltage=float(VOLTAGE), meter_timeout=meter_timeout
        )

    def resend(self) -> None:
        """Send the next value even when it did not change (reconnect, group switched on)."""
        self.throttle.resend()

    async def async_round(self, now: float, meter: Meter, balancer: Balancer, connected: bool) -> bool:
        """Feed the meter (or the supply limit without a usable one); return True when the meter was usable."""
        master = self.master
        if master is None:
            return False
        reading = meter.read()
        decision = balancer.update(now, reading, [])
        meter.update(decision.meter_state, now, balancer.config.meter_timeout)
        current = master.params.balancing_current_control
        usable = decision.meter_state == "ok" and reading is not None and reading.value is not None
        if usable:
            assert reading is not None
            value = _bridge_value(reading, current, self.phases)
        else:
            value = float(balancer.config.limit)
        if not connected:
            return usable
        threshold = BRIDGE_CHANGE_A if current else BRIDGE_CHANGE_A * VOLTAGE
        if not self.throttle.due(now, value, threshold):
            return usable
        try:
            await master.async_feed_meter(value)
        except HomeAssistantError as err:
            self._failing.start("%s: could not feed the meter to %s: %s", self.group, master.name, err)
            return usable
        self._failing.end("%s: the meter reaches %s again", self.group, master.name)
        self.throttle.sent(now, value)
        return usable


def _bridge_value(reading: MeterReading, current: bool, phases: int) -> float:
    """Return the meter in the master's unit: A with current control, else W."""
    value = reading.value
    if isinstance(value, tuple):
        return max(value) if current else sum(value) * VOLTAGE
    assert value is not None
    if reading.unit == "A":
        return float(value) if current else float(value) * VOLTAGE * phases
    return float(value) / (VOLTAGE * phases) if current else float(value)
