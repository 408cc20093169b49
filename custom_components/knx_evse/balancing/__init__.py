"""Pure load-balancing core for KNX EV chargers: no Home Assistant, no xknx, stdlib only.

Home Assistant acts as the HEMS of the manual's "Dynamic Load Balancing" section: it reads a
meter and assigns every charger its current limit. This package is the algorithm only, so the
benchmark, the simulator and anyone replaying meter history can script against it
(design and rules: docs/balancing.md).

Public API:
    - :class:`BalancingConfig`, :class:`EvseConfig`, :class:`CircuitConfig`: frozen, validated
      configuration; circuits make the supply a tree of limits (``circuits.py``), and
      :func:`tree_from_dict` builds one from a plain description (``tree.py``).
    - :class:`MeterReading`, :class:`EvseReading`, :class:`SiteReading`: the inputs of one round
      (the site: the energy price and the home battery, for smart cost and battery priority).
    - :class:`Balancer`: ``Balancer(config).update(now, meter, evses) -> Decision``, plus
      ``set_mode``, ``set_override``, ``set_plan``, ``force_write`` and ``reconfigure``.
    - :func:`plan_charging` with :class:`PlanRequest`, :class:`Span` → :class:`MemberPlan`: charging
      plans (an energy by a departure) for every member together within the supply (``schedule.py``);
      :class:`PlanDriver`, :class:`VehicleCap`, :class:`BaseLoad` carry them into the rounds
      (``plan_round.py``).
    - :class:`Decision`: limits, paused, available, surplus, reason, fallback, meter_state,
      writes, switches, disobedient, price, battery, circuits (:class:`CircuitStatus`).
    - :func:`water_fill`: the stateless max-min fair allocator.
    - :func:`supply_phases`: the supply phases an ``EvseConfig`` loads (phase rotation).
"""

from .allocation import water_fill
from .balancer import Balancer
from .circuits import CircuitConfig
from .config import MODES, BalancingConfig, EvseConfig, FallbackMode, Mode, supply_phases
from .plan_round import BaseLoad, PlanDriver, VehicleCap
from .readings import (
    PAUSED_REASONS,
    RUNNING_REASONS,
    BatteryState,
    CircuitStatus,
    Decision,
    EvseReading,
    MeterReading,
    MeterState,
    PriceState,
    SiteReading,
)
from .schedule import MemberPlan, PlannedSlot, PlanRequest, Span, plan_charging
from .tree import tree_from_dict

__all__ = [
    "MODES",
    "PAUSED_REASONS",
    "RUNNING_REASONS",
    "Balancer",
    "BalancingConfig",
    "BaseLoad",
    "BatteryState",
    "CircuitConfig",
    "CircuitStatus",
    "Decision",
    "EvseConfig",
    "EvseReading",
    "FallbackMode",
    "MemberPlan",
    "MeterReading",
    "MeterState",
    "Mode",
    "PlanDriver",
    "PlanRequest",
    "PlannedSlot",
    "PriceState",
    "SiteReading",
    "Span",
    "VehicleCap",
    "plan_charging",
    "supply_phases",
    "tree_from_dict",
    "water_fill",
]
