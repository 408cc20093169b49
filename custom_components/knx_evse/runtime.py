"""Runtime data of a loaded hub config entry: the hub, its chargers and its balancing groups.

``KnxEvseConfigEntry.runtime_data`` is a ``KnxEvseRuntime``, built by ``__init__.async_setup_entry``
in plain order: the hub (the one KNX connection), the chargers, the balancing groups (which use the
chargers), then the entity platforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .charger.coordinator import ChargerCoordinator
from .knx.hub import KnxEvseHub

if TYPE_CHECKING:
    from .group.group import BalancingGroup


@dataclass
class KnxEvseRuntime:
    """What a loaded hub entry holds.

    - ``hub``: the KNX connection shared by all chargers.
    - ``chargers``: charger subentry id → ``ChargerCoordinator`` (only chargers whose data validated).
    - ``groups``: balancing-group subentry id → ``BalancingGroup`` (only groups whose data validated).
    """

    hub: KnxEvseHub
    chargers: dict[str, ChargerCoordinator] = field(default_factory=dict)
    groups: dict[str, BalancingGroup] = field(default_factory=dict)


type KnxEvseConfigEntry = ConfigEntry[KnxEvseRuntime]
