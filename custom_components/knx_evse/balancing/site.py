"""Smart cost and the home battery in a round: each EVSE's mode this round, and the export for solar.

The part of :class:`~.balancer.Balancer` that applies a :class:`~.readings.SiteReading`
(docs/balancing.md, "Smart cost" and "Home battery"):

- a cheap price makes Solar and Min+Solar EVSEs charge as in Fast for the round (``_modes``), with
  every rule of Fast: the breaker budget, priorities, timing, the fallback;
- the battery moves the export that solar EVSEs may use (``_site_surplus``): a discharging battery
  is import, a charging one is the cars' export unless the battery comes first; while it comes
  first the cars leave ``BATTERY_RESIDUAL`` to the grid, the proof that the battery is full or
  charges at its most, and a solar EVSE that would take its minimum from the battery pauses.
"""

from __future__ import annotations

from typing import Final

from .config import _finite
from .readings import SiteReading
from .state import BalancerBase

BATTERY_RESIDUAL: Final = 100.0
"""W of export that solar EVSEs leave while the battery comes first (evcc's residual power below
``prioritySoc``). A battery that follows the grid to zero exports nothing while it can take more, so
an export of at least this much shows it full or charging at its most. With less, the cars are
lowered step by step, and a solar EVSE at its minimum takes that minimum from the battery: it is
paused once ``min_on_time`` has passed, without riding ``solar_stop_delay`` on the battery."""

_SOLAR_MODES: Final = ("solar", "min_solar")
_PRICE_REPLACES: Final = frozenset({"solar", "min_solar", "paused_no_surplus"})
"""The reasons of a Solar or Min+Solar EVSE that ``"price_unavailable"`` replaces."""


class SiteRules(BalancerBase):
    """The smart-cost and battery rules of :class:`~.balancer.Balancer`."""

    def _read_site(self, site: SiteReading) -> None:
        """Take the round's site: the price and battery states, and each EVSE's mode this round."""
        self._site = site
        self._price = site.price_state
        self._battery = site.battery_state
        self._hungry = False
        cheap = self._price == "cheap"
        self._modes = ["fast" if cheap and e.mode in _SOLAR_MODES else e.mode for e in self._config.evses]

    def _site_surplus(self, surplus: float) -> float:
        """Return the export solar EVSEs may use (phase-amperes): ``surplus`` with the battery's share.

        The raise room (``_raise_surplus``) moves by the same amount. Sets ``_hungry`` while the battery
        comes first and the grid exports less than ``BATTERY_RESIDUAL``.
        """
        voltage = self._config.voltage
        first = self._battery == "battery_first"
        power = self._site.battery_power
        offset = 0.0
        if power is not None and _finite(power) and not (first and power < 0):
            offset -= float(power) / voltage  # discharging: import; charging (cars first): export
        if first:
            residual = BATTERY_RESIDUAL / voltage
            offset -= residual
            self._hungry = self._grid_export < residual
        self._raise_surplus += offset
        return surplus + offset

    def _price_reasons(self) -> None:
        """While the price is unknown, a Solar or Min+Solar EVSE's own reason says so (it charges by its mode)."""
        if self._price != "no_price":
            return
        for evse, st in zip(self._config.evses, self._state, strict=True):
            if st.override is None and evse.mode in _SOLAR_MODES and st.reason in _PRICE_REPLACES:
                st.reason = "price_unavailable"
