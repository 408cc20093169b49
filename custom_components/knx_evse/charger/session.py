"""A connector's charged energy from its session-energy object, fed robustly: ``LifetimeEnergy`` on the bus.

Source: manual, objects 46/95 "[ConnN] Current session Energy" (Wh) with 45/94 (session time),
36/85 (vehicle connected) and 37/86 (charging), or the pilot (34/83) and OCPP (35/84) states for
the last two. :func:`feed` passes one object's last value to a connector's ``energy.LifetimeEnergy``,
which counts dropouts (895 → 0 → 897 Wh) and new sessions once; the lifetime-energy sensor and a
balancing member's plan progress (:class:`MemberEnergy`) both use it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from homeassistant.core import CALLBACK_TYPE

from ..entity_descriptions import LIFETIME_ENERGY, KnxEvseLifetimeEnergyEntityDescription
from .coordinator import ChargerCoordinator
from .energy import LifetimeEnergy
from .interface import ChargerInterface

_LOGGER = logging.getLogger(__name__)


def energy_objects(connector: int) -> KnxEvseLifetimeEnergyEntityDescription:
    """Return the object numbers of connector 1 or 2's session energy and its session evidence."""
    return LIFETIME_ENERGY[connector - 1]


def listened(d: KnxEvseLifetimeEnergyEntityDescription) -> tuple[int, ...]:
    """Return the objects a connector's energy is fed from (session energy last)."""
    return (d.session_time_number, d.connected_number, d.charging_number, d.pilot_state_number,
            d.ocpp_state_number, d.object_number)


def feed(lifetime: LifetimeEnergy, coordinator: ChargerCoordinator, d: KnxEvseLifetimeEnergyEntityDescription,
         number: int) -> bool:
    """Pass object ``number``'s last value to connector ``d.connector``'s ``lifetime``; True when its total changed."""
    state = coordinator.state(number)
    if state is None:
        return False
    if number == d.object_number:
        return lifetime.session_energy(state.value, state.monotonic)
    if number == d.session_time_number:
        lifetime.session_time(int(state.value), state.monotonic)
        return False
    plug = ChargerInterface(coordinator, d.connector or 1)
    connected = plug.vehicle_connected()
    if connected is not None:
        lifetime.vehicle_connected(connected, state.monotonic)
    charging = plug.charging()
    if charging is not None:
        lifetime.charging(charging, state.monotonic)
    return False


class MemberEnergy:
    """The energy (Wh) a balancing member's connectors have charged, counted since it was created or restored.

    ``total_wh`` never decreases; ``as_dict``/``from_dict`` keep it across restarts (the plan's
    progress counts from a baseline on it).
    """

    def __init__(self, charger: ChargerInterface) -> None:
        """Count the connectors of ``charger`` (one member)."""
        self.charger = charger
        self.connectors = charger.connectors
        self.lifetimes = {c: LifetimeEnergy() for c in self.connectors}

    @property
    def total_wh(self) -> float:
        """Wh counted over the member's connectors."""
        return sum(lt.total_wh for lt in self.lifetimes.values())

    def start(self) -> CALLBACK_TYPE:
        """Feed the values known now, then follow the objects; return the remover."""
        coordinator = self.charger.coordinator
        numbers: list[int] = []
        for connector in self.connectors:
            d = energy_objects(connector)
            numbers += listened(d)
            for number in listened(d):
                feed(self.lifetimes[connector], coordinator, d, number)

        def changed(number: int | None) -> None:
            for connector in self.connectors:
                d = energy_objects(connector)
                if number in listened(d):
                    feed(self.lifetimes[connector], coordinator, d, number)

        return coordinator.async_add_listener(changed, numbers)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable state: each connector's ``LifetimeEnergy.as_dict``."""
        return {str(c): lt.as_dict() for c, lt in self.lifetimes.items()}

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take stored state (``as_dict``); a connector whose data does not load starts from 0."""
        for connector in self.connectors:
            stored = data.get(str(connector)) if isinstance(data, Mapping) else None
            if isinstance(stored, Mapping):
                try:
                    self.lifetimes[connector] = LifetimeEnergy.from_dict(stored)
                except ValueError as err:
                    _LOGGER.warning("%s connector %s: stored plan energy not restored: %s",
                                    self.charger.name, connector, err)
