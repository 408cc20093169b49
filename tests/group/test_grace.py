"""The grace of a balancing group (group/grace.py): blips hold the round, longer gaps do not."""

from __future__ import annotations

import math

from custom_components.knx_evse.balancing import MeterReading
from custom_components.knx_evse.group.grace import Grace

OK = MeterReading((5.0, 4.0, 3.0), 0.0)


def test_a_gap_holds_for_the_grace_and_no_longer() -> None:
    grace = Grace(10.0)
    assert not grace.holding(0.0, True, OK)
    assert grace.holding(1.0, True, MeterReading(None, 1.0))
    assert grace.holding(10.9, True, None)
    assert not grace.holding(11.0, True, None)  # the fallback begins after the grace


def test_a_valid_reading_ends_the_gap() -> None:
    grace = Grace(10.0)
    assert grace.holding(0.0, False, OK)  # the connection is down
    assert not grace.holding(5.0, True, OK)
    assert grace.holding(14.0, True, MeterReading((5.0, math.nan, 3.0), 14.0))  # a new gap, a new grace
    assert grace.holding(23.9, True, MeterReading(math.inf, 23.9))


def test_no_grace_never_holds() -> None:
    assert not Grace(0.0).holding(0.0, False, None)
