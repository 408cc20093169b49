"""Runtime data of a hub config entry and the per-subentry runtime factories.

``KnxEvseConfigEntry.runtime_data`` is a ``KnxEvseRuntime``: the hub (the one KNX connection), the
charger coordinators by subentry id, and the balancing groups by subentry id.

Subentries are set up in the order of ``SUBENTRY_TYPES`` (chargers before balancing groups, which
use them) by the factory registered for their type in ``SUBENTRY_RUNTIME_FACTORIES``. A factory
receives ``(hass, entry, subentry)``, stores its runtime in ``entry.runtime_data`` and returns
nothing. To add a subentry type (the balancing group), write its factory and register it with
``register_subentry_runtime``; its runtime is stopped at unload through ``async_stop()`` if it has one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant

from .charger.coordinator import ChargerCoordinator, InvalidChargerConfigError
from .const import SUBENTRY_BALANCING, SUBENTRY_CHARGER
from .knx.hub import KnxEvseHub

_LOGGER = logging.getLogger(__name__)


@runtime_checkable
class StoppableRuntime(Protocol):
    """A per-subentry runtime that must be stopped at unload."""

    async def async_stop(self) -> None:
        """Stop timers, tasks and subscriptions."""


@dataclass
class KnxEvseRuntime:
    """What a loaded hub entry holds.

    - ``hub``: the KNX connection shared by all chargers.
    - ``chargers``: charger subentry id → ``ChargerCoordinator`` (only chargers whose data validated).
    - ``groups``: balancing-group subentry id → its runtime (filled by the balancing factory).
    """

    hub: KnxEvseHub
    chargers: dict[str, ChargerCoordinator] = field(default_factory=dict)
    groups: dict[str, Any] = field(default_factory=dict)


type KnxEvseConfigEntry = ConfigEntry[KnxEvseRuntime]

SubentryRuntimeFactory = Callable[[HomeAssistant, KnxEvseConfigEntry, ConfigSubentry], Awaitable[None]]


async def async_setup_charger_runtime(
    hass: HomeAssistant, entry: KnxEvseConfigEntry, subentry: ConfigSubentry
) -> None:
    """Create and start the ``ChargerCoordinator`` of a charger subentry.

    A charger whose stored data does not validate is logged and skipped (no entities); the other
    chargers of the hub keep working. Status addresses shared with another charger are checked once
    all chargers are set up (``repairs.async_check_shared_status_addresses``).
    """
    try:
        coordinator = ChargerCoordinator(hass, entry.runtime_data.hub, entry, subentry)
    except InvalidChargerConfigError as err:
        _LOGGER.error("Charger %s is not set up: %s", subentry.title, err)
        return
    entry.runtime_data.chargers[subentry.subentry_id] = coordinator
    coordinator.async_start()


SUBENTRY_TYPES: tuple[str, ...] = (SUBENTRY_CHARGER, SUBENTRY_BALANCING)
"""Subentry types in set-up order."""

SUBENTRY_RUNTIME_FACTORIES: dict[str, SubentryRuntimeFactory] = {
    SUBENTRY_CHARGER: async_setup_charger_runtime,
}
"""Subentry type → factory; a type without factory is ignored (no runtime)."""


def register_subentry_runtime(subentry_type: str, factory: SubentryRuntimeFactory) -> None:
    """Register the runtime factory of ``subentry_type`` (e.g. the balancing group's)."""
    SUBENTRY_RUNTIME_FACTORIES[subentry_type] = factory


async def async_setup_subentry_runtimes(hass: HomeAssistant, entry: KnxEvseConfigEntry) -> None:
    """Set up the runtime of every subentry of ``entry``, type by type in ``SUBENTRY_TYPES`` order."""
    for subentry_type in SUBENTRY_TYPES:
        factory = SUBENTRY_RUNTIME_FACTORIES.get(subentry_type)
        if factory is None:
            continue
        for subentry in entry.subentries.values():
            if subentry.subentry_type == subentry_type:
                await factory(hass, entry, subentry)


async def async_stop_subentry_runtimes(runtime: KnxEvseRuntime) -> None:
    """Stop the balancing groups, then the chargers."""
    for group in list(runtime.groups.values()):
        if isinstance(group, StoppableRuntime):
            await group.async_stop()
    for coordinator in list(runtime.chargers.values()):
        await coordinator.async_stop()
