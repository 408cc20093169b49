"""The simulated charger's limits: what it may offer a connector (A per phase) and why.

Manual, "Dynamic balancing in models with two connectors" (50/50 split, no transfer; the special
case of two phases), object table (1/2 totals, 31/32 and 80/81 per connector), "Contracted Power",
"Enable Fail-safe", and the clamp variants' own balancing ("Dynamic Load Balancing": 4.4 kW
contract, 2 kW appliance, about 2.4 kW left). Choices: docs/charger.md.
"""

from __future__ import annotations

from custom_components.knx_evse.knx.parameters import VOLTAGE, ChargerParameters

from .state import Connector


class ChargerLimits:
    """Limit arithmetic of ``ChargerModel`` (a base class of it).

    Needs ``params``, ``connectors``, ``current_limit`` (A), ``power_limit`` (W),
    ``fail_safe_active``, ``clamp``, ``clamp_household_w``, ``ignores_limit`` and ``connector_power``.
    """

    params: ChargerParameters
    connectors: list[Connector]
    current_limit: float
    power_limit: float
    fail_safe_active: bool
    clamp: bool
    clamp_household_w: float | None
    ignores_limit: bool
    """A faulty charger (fault injection): it offers its Maximum User Current whatever limits were written."""

    def connector_power(self, conn: Connector) -> float:
        """W drawn on ``conn`` now."""
        return 0.0 if conn.ev is None else conn.ev.power(self.params.phases)

    @property
    def different_phases(self) -> bool:
        """True for a two-connector single-phase model whose connectors are on two phases."""
        p = self.params
        return p.connectors == 2 and p.phases == 1 and p.phase_connection == "different"

    @property
    def max_power(self) -> float:
        """W: the highest total power limit (object 2), Maximum User Current on every phase used.

        With "Phase connection: different" the two connectors use two phases, so twice one
        connector's maximum (docs/charger.md, "Object 2 with different phases").
        """
        return self.params.max_power * (2 if self.different_phases else 1)

    @property
    def effective_current_limit(self) -> float:
        """A: the total current limit in force (fail-safe current while fail-safe is active)."""
        return float(self.params.fail_safe_current) if self.fail_safe_active else self.current_limit

    @property
    def effective_power_limit(self) -> float:
        """W: the total power limit in force (fail-safe current x 230 V x phases while active)."""
        return self.fail_safe_power if self.fail_safe_active else self.power_limit

    @property
    def fail_safe_power(self) -> float:
        """W the fail-safe current means on every phase the charger uses (no separate parameter)."""
        phases = self.params.phases * (2 if self.different_phases else 1)
        return float(self.params.fail_safe_current) * VOLTAGE * phases

    def clamp_reading(self, supply_w: float) -> None:
        """Feed the current clamp: ``supply_w`` W on the supply line, this charger included.

        Manual, "Dynamic Load Balancing": with a 4.4 kW contract and a 2 kW appliance "the charger
        will detect that only approximately 2.4 kW are available and will automatically reduce the
        charging power". Ignored unless the charger has a clamp; PV export makes it negative.
        """
        if not self.clamp:
            return
        self.clamp_household_w = supply_w - sum(self.connector_power(c) for c in self.connectors)

    @property
    def contracted_room(self) -> float:
        """W the charger may draw under Contracted Power: all of it, or with a clamp what the house leaves."""
        contracted = float(self.params.contracted_power)
        if self.clamp and self.clamp_household_w is not None:
            return max(0.0, contracted - self.clamp_household_w)
        return contracted

    def _share(self) -> float:
        """Connector share of the charger's limits: 0.5 with two cars, 1 alone.

        Manual, "Dynamic balancing in models with two connectors". On different phases the
        connectors are not balanced: 1 (current limits are per phase); powers use ``_power_share``.
        """
        if len(self.connectors) < 2 or self.different_phases:
            return 1.0
        connected = sum(1 for c in self.connectors if c.ev is not None)
        return 0.5 if connected >= 2 else 1.0

    def _power_share(self) -> float:
        """Connector share of a total power (object 2, Contracted Power).

        ``_share``; on different phases the total is split equally among the connected cars.
        """
        if not self.different_phases:
            return self._share()
        connected = sum(1 for c in self.connectors if c.ev is not None)
        return 0.5 if connected >= 2 else 1.0

    def offered_current(self, conn: Connector) -> float:
        """Return the A per phase the charger may offer on ``conn`` now (before start/stop, block, errors).

        ``limited_offer``, or for a charger that ignores its limit its Maximum User Current (its
        share of it with two cars) within the Contracted Power.
        """
        if not self.ignores_limit:
            return self.limited_offer(conn)
        p = self.params
        volts = VOLTAGE * (conn.ev.phases_on(p.phases) if conn.ev is not None else p.phases)
        room = self.contracted_room * self._power_share() / volts
        return max(0.0, min(float(p.max_user_current) * self._share(), room))

    def limited_offer(self, conn: Connector) -> float:
        """Return the A per phase the charger offers on ``conn`` when it obeys every limit written to it."""
        p = self.params
        phases = conn.ev.phases_on(p.phases) if conn.ev is not None else p.phases
        volts = VOLTAGE * phases
        power = min(self.effective_power_limit, self.contracted_room) * self._power_share()
        share = self._share()
        total = min(float(p.max_user_current), self.effective_current_limit) * share
        return max(
            0.0,
            min(total, power / volts, conn.current_limit, conn.power_limit / volts, float(p.max_user_current)),
        )
