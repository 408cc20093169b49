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
    from .charger.interface import WriteRole
    from .group.group import BalancingGroup
    from .group.members import Member


@dataclass
class KnxEvseRuntime:
    """What a loaded hub entry holds.

    - ``hub``: the KNX connection shared by all chargers.
    - ``chargers``: charger subentry id → ``ChargerCoordinator`` (only chargers whose data validated).
    - ``groups``: balancing-group subentry id → ``BalancingGroup`` (only groups whose data validated).

    ``managing`` answers which group member a charger's limit or start/stop object acts on.
    """

    hub: KnxEvseHub
    chargers: dict[str, ChargerCoordinator] = field(default_factory=dict)
    groups: dict[str, BalancingGroup] = field(default_factory=dict)

    def managing(self, charger: str, number: int) -> tuple[BalancingGroup, Member, WriteRole] | None:
        """Return the enabled group and member that object ``number`` of charger ``charger`` acts on.

        ``charger`` is the charger's subentry id; the role says what the object is to the member
        (``ChargerInterface.write_role``). None when no enabled group balances what it acts on (a
        group that is off sends nothing, and writes go to the charger as usual).
        """
        for group in self.groups.values():
            if not group.enabled:
                continue
            for member in group.members:
                if member.charger.subentry_id == charger and (role := member.charger.write_role(number)) is not None:
                    return group, member, role
        return None


type KnxEvseConfigEntry = ConfigEntry[KnxEvseRuntime]
