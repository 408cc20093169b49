"""Pure load-balancing core for KNX EV chargers: no Home Assistant, no xknx, stdlib only.

Home Assistant acts as the HEMS of the manual's "Dynamic Load Balancing" section: it reads a
meter and assigns every charger its current limit. This package is the algorithm only, so the
benchmark, the simulator and anyone replaying meter history can script against it
(design and rules: docs/balancing.md).

Public API:
    - :class:`BalancingConfig`, :class:`EvseConfig`: frozen, validated configuration.
    - :class:`MeterReading`, :class:`EvseReading`, :class:`SiteReading`: the inputs of one round
      (the site: the energy price and the home battery, for smart cost and battery priority).
    - :class:`Balancer`: ``Balancer(config).update(now, meter, evses) -> Decision``, plus
      ``set_mode``, ``set_override``, ``force_write`` and ``reconfigure``.
    - :class:`Decision`: limits, paused, available, surplus, reason, fallback, meter_state,
      writes, switches, disobedient, price, battery.
    - :func:`water_fill`: the stateless max-min fair allocator.
    - :func:`supply_phases`: the supply phases an ``EvseConfig`` loads (phase rotation).
"""

from .allocation import water_fill
from .balancer import Balancer
from .config import MODES, BalancingConfig, EvseConfig, FallbackMode, Mode, supply_phases
from .readings import (
    PAUSED_REASONS,
    RUNNING_REASONS,
    BatteryState,
    Decision,
    EvseReading,
    MeterReading,
    MeterState,
    PriceState,
    SiteReading,
)

__all__ = [
    "MODES",
    "PAUSED_REASONS",
    "RUNNING_REASONS",
    "Balancer",
    "BalancingConfig",
    "BatteryState",
    "Decision",
    "EvseConfig",
    "EvseReading",
    "FallbackMode",
    "MeterReading",
    "MeterState",
    "Mode",
    "PriceState",
    "SiteReading",
    "supply_phases",
    "water_fill",
]
