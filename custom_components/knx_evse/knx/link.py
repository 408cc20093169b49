"""What a hub and its link to the KNX bus expect of each other.

A hub (``hub.KnxEvseHub``) has exactly one link, which moves telegrams between the bus and the hub:
``xknx_link.XknxLink`` (the hub's own xknx connection) or ``core_link.CoreKnxLink`` (the connection
of Home Assistant's own ``knx`` integration). The hub keeps everything that does not
depend on how the bus is reached: dispatch, read pacing, connection listeners, counters.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from xknx.telegram import Telegram


class LinkUnavailableError(Exception):
    """The link cannot send now (the connection went away between the hub's check and the send)."""


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

    def subscribed_addresses(self) -> Collection[int]:
        """Return the raw group addresses the hub has handlers for."""

    def telegram_received(self, telegram: Telegram) -> None:
        """Dispatch a telegram the link received from the bus."""

    def set_connected(self, connected: bool) -> None:
        """Record that the bus connection came up (True) or went down (False)."""


class Link(Protocol):
    """The hub's one way to the bus.

    ``async_start`` connects (raising when it cannot), ``async_stop`` disconnects (safe twice and after
    a failed start). ``async_send`` puts one GroupValueWrite or GroupValueRead on its way to the bus
    (the hub checked the connection before) and raises ``LinkUnavailableError`` when that is
    impossible now. ``addresses_changed`` is called when the hub's subscribed addresses changed;
    ``diagnostics`` describes the route (no secrets).
    """

    async def async_start(self) -> None:
        """Connect."""

    async def async_stop(self) -> None:
        """Disconnect; leaves no task behind."""

    async def async_send(self, telegram: Telegram) -> None:
        """Send ``telegram``."""

    def addresses_changed(self) -> None:
        """Take note that the hub's subscribed addresses changed."""

    def diagnostics(self) -> dict[str, Any]:
        """Describe the route for the diagnostics."""
