"""Circuits in the round (docs/balancing.md, "Circuits"): every member is held by every circuit up to
the supply, priorities and sharing span the tree, a circuit's budget comes from its meter or from its
members and children, and a failed circuit meter puts only that circuit's members in the fallback.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.knx_evse.balancing import CircuitConfig, EvseConfig, EvseReading, MeterReading

from .circuit_site import Site
from .helpers import config, evse


def site(*evses: EvseConfig, circuits: tuple[CircuitConfig, ...], margin: float = 0.0, **kw: Any) -> Site:
    return Site(config(*evses, circuits=circuits, margin=margin, **kw))


def test_members_are_held_by_their_circuit_and_the_rest_by_the_supply() -> None:
    s = site(evse(32.0, circuit="g"), evse(32.0, circuit="g"), evse(32.0), circuits=(CircuitConfig("g", 20.0),))
    d = s.run(4)
    assert d.limits == (10.0, 10.0, 32.0)
    assert d.circuits[0].available == 20.0  # no meter, nothing else in it
    assert d.available == 63.0 - 52.0 + 52.0  # the supply's room for all EVSEs


def test_nested_circuits_each_hold_their_members() -> None:
    s = site(evse(32.0, circuit="row"), evse(32.0, circuit="row"), evse(32.0, circuit="garage"), evse(32.0),
             circuits=(CircuitConfig("garage", 40.0), CircuitConfig("row", 16.0, parent="garage")))
    d = s.run(5)
    assert d.limits[0] + d.limits[1] <= 16.0
    # The row's 16 A is shared; the third and fourth share the supply's 63 − 16 A (23.5 A each,
    # within the garage's 40 − 16 A).
    assert d.limits == (8.0, 8.0, 23.0, 23.0)


def test_priority_holds_across_the_tree() -> None:
    # The circuit carries one of its two members; the lower-priority one waits while EVSE2, under
    # the supply, charges on what the circuit's first member leaves.
    s = site(evse(32.0, circuit="c"), evse(32.0), evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 8.0),),
             limit=20.0)
    d = s.run(5)
    assert d.limits == (8.0, 12.0, 0.0)
    assert d.reason[2] == "paused_priority"
    # The supply cannot carry three: the lowest priority pauses, wherever it hangs.
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c"), evse(32.0), circuits=(CircuitConfig("c", 16.0),),
             limit=16.0)
    d = s.run(5)
    assert d.limits[2] == 0.0 and d.reason[2] == "paused_priority"
    assert d.limits[0] + d.limits[1] <= 16.0 and d.limits[0] > 0 and d.limits[1] > 0


def test_a_new_session_gets_its_fair_share_not_only_what_is_left() -> None:
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c"), evse(32.0), circuits=(CircuitConfig("c", 20.0),))
    s.connected[1] = False
    d = s.run(3)
    assert d.limits[0] == 20.0  # alone, the whole circuit
    s.connected[1] = True
    d = s.run(3)
    assert d.limits[:2] == (10.0, 10.0)  # shared again over the circuit


def test_room_in_a_circuit_goes_to_its_members_and_is_shared_across_the_tree() -> None:
    # A 30 A supply, a 16 A circuit with a meter: its other load falls from 10 A to 0 A.
    s = site(evse(32.0, circuit="c"), evse(32.0), circuits=(CircuitConfig("c", 16.0, metered=True),), limit=30.0)
    s.other["c"] = (10.0,)
    d = s.run(4)
    assert d.limits == (6.0, 14.0)
    s.other["c"] = (0.0,)
    d = s.run(4)
    assert d.limits == (15.0, 15.0)  # max-min fair over the supply, within the circuit's 16 A


def test_a_metered_circuit_is_budgeted_from_its_meter() -> None:
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 25.0, metered=True),))
    s.other["c"] = (10.0,)
    d = s.run(4)
    assert d.limits == (15.0,)
    assert d.circuits[0].meter_state == "ok"
    assert d.circuits[0].available == 15.0
    s.other["c"] = (22.0,)  # a heater in the garage: lowered in the same round
    d = s.step()
    assert d.limits == (0.0,) and d.reason == ("over_budget_cut",)


def test_a_circuit_without_a_meter_counts_what_its_members_draw_beyond_their_share() -> None:
    # EVSE1 is off but its car draws 10 A anyway: that is load in the circuit, so EVSE2 gets 6 A.
    s = site(evse(32.0, circuit="c", mode="off"), evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 16.0),))
    d = s.run(3, draw=[10.0, 0.0])
    d = s.step(draw=[10.0, d.limits[1]])
    assert d.limits == (0.0, 6.0)
    assert d.circuits[0].available == 6.0


def test_a_circuit_without_a_meter_adds_its_metered_childrens_other_load() -> None:
    s = site(evse(32.0, circuit="top"), evse(32.0, circuit="sub"),
             circuits=(CircuitConfig("top", 30.0), CircuitConfig("sub", 20.0, parent="top", metered=True)))
    s.other["sub"] = (12.0,)
    d = s.run(5)
    assert d.limits == (10.0, 8.0)  # top: 30 − 12 = 18 A for both; sub: 20 − 12 = 8 A


def test_per_phase_rules_hold_in_a_circuit() -> None:
    # A three-phase supply and circuit metered per phase: load on L1 only holds the member on L1.
    s = site(evse(32.0, circuit="c", phase=1), evse(32.0, circuit="c", phase=2),
             evse(32.0, circuit="c", phase=3, phases=3), circuits=(CircuitConfig("c", 32.0, metered=True),),
             phases=3, limit=100.0)
    s.other["c"] = (20.0, 0.0, 0.0)
    d = s.run(5)
    assert d.limits[0] + d.limits[2] <= 12.0  # L1: 32 − 20
    assert d.limits[1] + d.limits[2] <= 32.0
    assert d.limits == (6.0, 26.0, 6.0)


def test_a_power_limited_circuit_counts_each_members_phases() -> None:
    # 6,900 W at 230 V = 30 phase-amperes: one three-phase member takes 10 A per phase.
    s = site(evse(32.0, circuit="c", phases=3), circuits=(CircuitConfig("c", 6900.0, unit="W"),),
             phases=3, limit=100.0)
    d = s.run(4)
    assert d.limits == (10.0,)
    assert d.circuits[0].available == 10.0  # 30 phase-amperes over three phases
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c", phase=2), evse(32.0, circuit="c", phase=3),
             circuits=(CircuitConfig("c", 6900.0, unit="W"),), phases=3, limit=100.0)
    assert s.run(5).limits == (10.0, 10.0, 10.0)


def test_a_split_charger_needs_two_minimums_in_its_circuit() -> None:
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 11.0),))
    d = s.run(4, connectors=[2])
    assert d.limits == (0.0,)  # 2 × 6 A do not fit 11 A
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 12.0),))
    assert s.run(4, connectors=[2]).limits == (12.0,)


def test_solar_takes_the_export_only_within_its_circuit() -> None:
    s = site(evse(32.0, circuit="c", mode="solar"), circuits=(CircuitConfig("c", 10.0),))
    s.other[None] = (-30.0,)  # 30 A of export at the supply
    d = s.run(5)
    assert d.limits == (10.0,) and d.reason == ("solar",)
    assert d.surplus == 30.0


def test_raise_margin_holds_in_a_circuit() -> None:
    # A paused member starts only when min_current + raise_margin fits its circuit.
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 16.0, metered=True),), raise_margin=1.0)
    s.other["c"] = (9.5,)
    assert s.run(4).limits == (0.0,)  # 6.5 A of room < 7 A
    s.other["c"] = (9.0,)
    assert s.run(4).limits == (6.0,)  # 7 A: it starts at 6 A (the margin kept)


def test_the_sum_of_limits_never_exceeds_a_circuit_even_when_the_supply_has_room() -> None:
    s = site(*(evse(16.0, circuit="row") for _ in range(4)), circuits=(CircuitConfig("row", 32.0),),
             limit=200.0)
    d = s.run(8)
    assert sum(d.limits) <= 32.0
    assert sorted(d.limits) == [8.0, 8.0, 8.0, 8.0]


# --------------------------------------------------------------------------- fallback


def tree_with_a_metered_garage(**kw: Any) -> Site:
    return site(evse(16.0, circuit="garage"), evse(16.0, circuit="row"), evse(16.0),
                circuits=(CircuitConfig("garage", 40.0, metered=True), CircuitConfig("row", 20.0, parent="garage")),
                **kw)


def test_a_stale_circuit_meter_pauses_only_its_members_and_those_below() -> None:
    s = tree_with_a_metered_garage()
    assert all(x > 0 for x in s.run(4).limits)
    d = s.step(meters={"garage": MeterReading((0.0,), s.t - 40.0)})
    assert d.limits == (0.0, 0.0, 16.0)
    assert d.reason[:2] == ("fallback_meter_stale", "fallback_meter_stale")
    assert d.fallback is False and d.meter_state == "ok"  # the supply's meter is fine
    assert d.circuits_in_fallback == ("garage", "row")
    assert [(c.id, c.meter_state, c.fallback, c.available) for c in d.circuits] == [
        ("garage", "stale", True, None), ("row", None, True, None)]
    d = s.run(3)  # readings again: back to balancing
    assert d.circuits_in_fallback == ()
    assert all(x > 0 for x in d.limits)


@pytest.mark.parametrize(("reading", "state"), [
    (None, "unavailable"),
    (MeterReading(math.nan, 0.0), "invalid"),
    (MeterReading((1.0, 2.0), 0.0), "invalid"),  # two phases on a single-phase supply
    (MeterReading(300_000.0, 0.0, unit="W"), "absurd"),
    (MeterReading(900.0, 0.0), "absurd"),
])
def test_an_unusable_circuit_meter_puts_its_members_in_the_fallback(reading: MeterReading | None, state: str) -> None:
    s = tree_with_a_metered_garage()
    s.run(4)
    if reading is not None:
        reading = MeterReading(reading.value, s.t + 1.0, reading.unit)
    d = s.step(meters={"garage": reading})
    assert d.circuits[0].meter_state == state
    assert d.limits == (0.0, 0.0, 16.0)
    assert d.reason[0] == "fallback_meter_invalid"


def test_a_missing_circuit_reading_is_unavailable() -> None:
    s = tree_with_a_metered_garage()
    s.run(3)
    s.t += 1.0
    d = s.b.update(s.t, MeterReading((sum(s.limits),), s.t), [EvseReading(x, True) for x in s.limits])
    assert d.circuits[0].meter_state == "unavailable" and d.circuits_in_fallback == ("garage", "row")


def test_a_fixed_fallback_current_fits_the_circuit_with_no_other_load_assumed() -> None:
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c", mode="min_solar"), evse(32.0, circuit="c"),
             evse(32.0, circuit="c", mode="solar"), evse(32.0),
             circuits=(CircuitConfig("c", 20.0, metered=True),), fallback=10.0)
    s.other[None] = (-40.0,)  # export, so the solar member charges before the fault
    s.run(6)
    d = s.run(4, meters={"c": MeterReading((0.0,), s.t - 100.0)})
    # EVSE1 at 10 A, the min_solar one at 6 A; EVSE3's 10 A would not fit 20 A; solar pauses.
    assert d.limits[:4] == (10.0, 6.0, 0.0, 0.0)
    assert set(d.reason[:4]) == {"fallback_meter_stale"}
    assert d.limits[4] == 32.0


def test_a_failed_child_counts_its_whole_budget_on_a_parent_without_a_meter() -> None:
    s = site(evse(32.0, circuit="top"), evse(32.0, circuit="sub"),
             circuits=(CircuitConfig("top", 30.0), CircuitConfig("sub", 20.0, parent="top", metered=True)))
    s.run(4)
    d = s.run(3, meters={"sub": MeterReading((0.0,), 0.0)})
    assert d.limits == (10.0, 0.0)  # 30 − the child's 20


def test_a_reversed_circuit_meter_puts_its_members_in_the_fallback() -> None:
    s = site(evse(16.0, circuit="c"), evse(16.0), circuits=(CircuitConfig("c", 16.0, metered=True),))
    s.run(3)
    s.step(meters={"c": MeterReading((-20.0,), s.t + 1.0)})  # more export than its 16 A fuse carries
    d = s.step(meters={"c": MeterReading((-20.0,), s.t + 1.0)})
    assert d.circuits[0].meter_state == "reversed"
    assert d.limits == (0.0, 16.0) and d.reason[0] == "fallback_meter_reversed"
    d = s.step()  # latched, as the supply's
    assert d.circuits[0].meter_state == "reversed"


def test_the_supplys_fallback_keeps_every_circuit_within_its_budget() -> None:
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c"), evse(32.0),
             circuits=(CircuitConfig("c", 16.0, metered=True),), fallback=10.0)
    s.run(3)
    s.t += 1.0
    d = s.b.update(s.t, None, [EvseReading(x, True) for x in s.limits], circuits={"c": None})
    assert d.fallback is True
    assert d.limits == (10.0, 0.0, 10.0)  # two 10 A in the circuit would exceed 16 A
    assert d.circuits_in_fallback == ("c",)


def test_readings_of_unknown_or_unmetered_circuits_are_refused() -> None:
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 16.0),))
    with pytest.raises(ValueError, match="'c', which is not a metered circuit"):
        s.step(meters={"c": MeterReading((0.0,), 0.0)})
    with pytest.raises(ValueError, match="'x', which is not a metered circuit"):
        s.step(meters={"x": MeterReading((0.0,), 0.0)})


def test_nothing_is_raised_on_a_circuit_reading_older_than_the_last_raise() -> None:
    # As at the supply: "meter − Σ EVSE" on a reading from before a raise counts the new draw as room.
    s = site(evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 30.0, metered=True),))
    s.other["c"] = (20.0,)
    assert s.run(3).limits == (10.0,)
    s.other["c"] = (10.0,)
    assert s.step().limits == (20.0,)  # raised now
    frozen = MeterReading((20.0,), s.t - 0.5)  # 10 A of car and 10 A of other load, before the raise
    assert s.step(meters={"c": frozen}).limits == (20.0,)  # not 30 A
    assert s.step().limits == (20.0,)


def test_an_old_reading_below_also_holds_the_raises_of_a_parent_without_a_meter() -> None:
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="p"),
             circuits=(CircuitConfig("p", 40.0), CircuitConfig("c", 30.0, parent="p", metered=True)))
    s.other["c"] = (20.0,)
    assert s.run(3).limits == (10.0, 10.0)
    s.other["c"] = (10.0,)
    assert s.step().limits == (15.0, 15.0)
    frozen = MeterReading((20.0,), s.t - 0.5)
    assert s.step(meters={"c": frozen}).limits == (15.0, 15.0)


def test_a_circuit_meter_in_w_on_three_phases_counts_its_load_on_every_phase() -> None:
    # 4,600 W of other load in a three-phase circuit: it may all sit on one phase (20 A).
    s = site(evse(32.0, circuit="c", phase=2), circuits=(CircuitConfig("c", 32.0, metered=True),),
             phases=3, limit=100.0)
    d = s.run(4)
    assert d.limits == (32.0,)
    for _ in range(4):
        draw = s.limits[0]
        d = s.step(meters={"c": MeterReading(4600.0 + 230.0 * draw, s.t + 1.0, unit="W")})
    assert d.limits == (12.0,)  # 32 − 20 on its phase too
    assert d.circuits[0].available == 12.0


def test_a_single_circuit_current_is_taken_as_every_phase() -> None:
    s = site(evse(32.0, circuit="c", phases=3), circuits=(CircuitConfig("c", 32.0, metered=True),),
             phases=3, limit=100.0)
    for _ in range(4):
        d = s.step(meters={"c": MeterReading(12.0 + s.limits[0], s.t + 1.0, unit="A")})
    assert d.limits == (20.0,)
    assert d.circuits[0].available == 20.0


def test_reconfigure_adds_circuits_at_runtime() -> None:
    s = site(evse(32.0), evse(32.0), circuits=())
    assert s.run(4).limits == (31.0, 31.0)  # 63 A shared
    cfg = config(evse(32.0, circuit="c"), evse(32.0), circuits=(CircuitConfig("c", 10.0),), margin=0.0)
    s.b.reconfigure(cfg)
    s.cfg = cfg
    s.parent = {"c": None}
    d = s.run(4)
    assert d.limits == (10.0, 32.0)
    assert [c.id for c in d.circuits] == ["c"]


def test_no_start_on_a_circuit_reading_older_than_the_last_start() -> None:
    """As at the supply: a second car waits for a circuit reading taken after the first car's start."""
    s = site(evse(32.0, circuit="c"), evse(32.0, circuit="c"), circuits=(CircuitConfig("c", 30.0, metered=True),))
    s.connected = [True, False]
    s.other["c"] = (4.0,)
    frozen = MeterReading((4.0,), s.t)  # the circuit meter's last report, before the first start
    assert s.run(3, meters={"c": frozen}).limits == (26.0, 0.0)  # started on it: nothing had changed since
    s.connected = [True, True]  # a second car plugs in
    limits = [s.step(meters={"c": frozen}).limits[1] for _ in range(15)]
    assert max(limits) == 0.0  # "meter − Σ EVSE" shows 26 A more room than there is: no start on it
    assert s.run(15).limits == (13.0, 13.0)  # fresh readings: shared
