"""What a hub and its link to the KNX bus expect of each other.

A hub (``hub.KnxEvseHub``) has exactly one link, which moves telegrams between the bus and the hub:
``xknx_link.XknxLink`` (the hub's own xknx connection). The hub keeps everything that does not
depend on how the bus is reached: dispatch, read pacing, connection listeners, counters.
"""

from __future__ import annotations

from typing import Any, Protocol

from xknx.telegram import Telegram


class LinkOwner(Protocol):
    """The hub, as a link sees it."""

    idle_probe_after: float
    """s without a telegram from the bus before a link that owns its tunnel probes it."""
    telegrams_sent: int
    probes_sent: int

    @property
    def connected(self) -> bool:
        """True while the hub considers the connection up."""

    @property
    def closing(self) -> bool:
        """True once the hub entry is unloading: nothing more is to be sent."""

    def telegram_received(self, telegram: Telegram) -> None:
        """Dispatch a telegram the link received from the bus."""

    def set_connected(self, connected: bool) -> None:
        """Record that the bus connection came up (True) or went down (False)."""


class Link(Protocol):
    """The hub's one way to the bus.

    ``async_start`` connects (raising when it cannot), ``async_stop`` disconnects (safe twice and after
    a failed start). ``async_send`` puts one GroupValueWrite or GroupValueRead on its way to the bus
    (the hub checked the connection before). ``diagnostics`` describes the route (no secrets).
    """

    async def async_start(self) -> None:
        """Connect."""

    async def async_stop(self) -> None:
        """Disconnect; leaves no task behind."""

    async def async_send(self, telegram: Telegram) -> None:
        """Send ``telegram``."""

    def diagnostics(self) -> dict[str, Any]:
        """Describe the route for the diagnostics."""
