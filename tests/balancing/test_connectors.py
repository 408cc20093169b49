"""Two-connector chargers balanced as one EVSE, two-phase members and rotated three-phase chargers.

Manual, "Dynamic balancing in models with two connectors": the charger splits its limit 50/50
between two plugged vehicles and does not pass on a share one leaves unused; with "Phase connection:
different" a single-phase model feeds its connectors from two phases.
"""

from __future__ import annotations

from custom_components.knx_evse.balancing import Balancer, BalancingConfig, EvseReading, MeterReading

from .helpers import Driver, config, evse


def _split(cfg: BalancingConfig, house: float, rounds: int, connectors: int = 2,
           per_car: float = 32.0) -> tuple[Balancer, list[float]]:
    """Run a one-EVSE group whose cars each take at most ``per_car`` of their half."""
    b = Balancer(cfg)
    limits = []
    lim = 0.0
    for t in range(rounds):
        share = min(lim / connectors, per_car)
        d = b.update(float(t), MeterReading(house + share * connectors, float(t)),
                     [EvseReading(share * connectors, True, connectors=connectors, busiest=share)])
        lim = d.limits[0]
        limits.append(lim)
    return b, limits


def test_two_plugged_cars_get_at_least_six_amperes_each_in_min_solar() -> None:
    # 3 x 16 A, 10 %: 14.4 A per phase; no export. min_solar gives its minimum from the grid.
    cfg = config(evse(16.0, phases=3, mode="min_solar"), limit=16.0, phases=3)
    _, limits = _split(cfg, house=0.0, rounds=30)
    assert limits[-1] == 12.0  # 6 A for each car, not 6 A for both (3 A each: neither charges)
    assert all(lim == 0.0 or lim >= 12.0 for lim in limits)
    _, limits = _split(cfg, house=0.0, rounds=30, connectors=1)
    assert limits[-1] == 6.0  # one car: the charger gives it the whole limit


def test_a_split_charger_waits_rather_than_starting_below_two_minimums() -> None:
    # 9 A of room: enough for one car's 6 A, not for two.
    cfg = config(evse(16.0), limit=10.0, margin=10.0)
    b, limits = _split(cfg, house=0.0, rounds=20)
    assert limits[-1] == 0.0
    assert b.update(20.0, MeterReading(0.0, 20.0), [EvseReading(0.0, True, connectors=2)]).reason == (
        "paused_priority",)
    _, limits = _split(cfg, house=0.0, rounds=20, connectors=1)
    assert limits[-1] == 9.0


def test_a_split_charger_whose_maximum_cannot_serve_two_cars_pauses() -> None:
    cfg = config(evse(10.0), limit=40.0)
    _, limits = _split(cfg, house=0.0, rounds=10)
    assert limits == [0.0] * 10


def test_a_half_left_unused_is_not_a_reason_to_cap_the_other_half() -> None:
    # One car takes 3 A of its half, the other all of its half: the charger's limit is used as far as
    # the split allows, so it is not capped near the 3 + 16 A drawn.
    b = Balancer(config(evse(32.0), limit=40.0, margin=0.0, timing=True))
    lim = 0.0
    for t in range(120):
        half = lim / 2
        draw = min(half, 3.0) + half
        d = b.update(float(t), MeterReading(draw, float(t)),
                     [EvseReading(draw, True, connectors=2, busiest=half)])
        lim = d.limits[0]
    assert lim == 32.0 and d.reason == ("fast",)


def test_a_two_phase_member_loads_both_of_its_phases() -> None:
    # VE 742 with "Phase connection: different" on L3 and L1 (phase 3, cyclically): house 20 A on L1.
    drv = Driver(config(evse(32.0, phases=2, phase=3), limit=32.0, margin=0.0, phases=3))
    d = drv.run(10, house=(20.0, 0.0, 0.0))
    assert d.limits == (12.0,)  # held by L1, one of its two phases
    drv = Driver(config(evse(32.0, phases=2, phase=2), limit=32.0, margin=0.0, phases=3))
    assert drv.run(10, house=(20.0, 0.0, 0.0)).limits == (32.0,)  # on L2 and L3: free


def test_a_rotated_three_phase_charger_is_measured_on_the_right_supply_phases() -> None:
    # The charger's L1 is the supply's L2. A single-phase car on it draws 16 A on the supply's L2.
    cfg = config(evse(32.0, phases=3, phase=2), limit=32.0, margin=0.0, phases=3)
    b = Balancer(cfg)
    d = b.update(0.0, MeterReading((10.0, 0.0, 0.0), 0.0), [EvseReading(0.0, True)])
    for t in range(1, 5):
        d = b.update(float(t), MeterReading((10.0, 16.0, 0.0), float(t)), [EvseReading((16.0, 0.0, 0.0), True)])
    # the house's 10 A sit on L1, the car's 16 A on L2: 32 - 10 = 22 A is the room
    assert d.available == 22.0
