"""Liveness and read planning of a charger: start-up reads, staleness, liveness reads.

At start (and after every reconnect) the coordinator sends GroupValueRead to the readable status
objects linked to a group address, essentials first (limits, states, session energy, power,
currents), at most ``MAX_STARTUP_READS``, paced by the hub. Everything else arrives through the
charger's own status sending.

Staleness: a KNX device that stops answering is only visible through its silence. The charger must
be heard (any telegram on the sending address of one of its status objects) at least every
``silence_limit`` seconds: twice the shortest period of the status objects it sends cyclically
(parameters "Status Sending", only groups with a linked object) plus ``STALE_GRACE``, or
``DEFAULT_LIVENESS_AFTER`` when nothing is sent cyclically. After that much silence ONE
GroupValueRead goes to its first readable status object (a liveness read). When a batch of reads
(start-up, reconnect or liveness) gets no telegram at all within ``answer_timeout``, that object is
read once more (a tunnel may lose one telegram: core knx's logs "L_DATA_CON confirmation timed
out"); when that read too gets nothing within ``answer_timeout``, the charger is stale: ``is_stale``
is True and its entities are unavailable. While stale, the read is repeated every ``silence_limit``
seconds. Any telegram from the charger ends it; a reconnect does not (the
charger is still known silent until it sends). A busy charger is never read; an idle one costs one
read (and its answer) every ``silence_limit`` seconds. The silence is logged once when it starts and
once when it ends (``condition.LoggedCondition``).

Reachability: the charger is reachable while the KNX connection is up and it is not stale;
``reachable_since`` says since when, so a read's answer window can be checked (``repairs``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from ..condition import LoggedCondition
from ..const import DOMAIN
from ..knx.group_addresses import GroupAddressMap
from ..knx.hub import KnxEvseHub
from ..knx.objects import CONN2_OFFSET, OBJECTS, CommObject, Scope
from ..knx.parameters import ChargerParameters
from ..listeners import Listeners

_LOGGER = logging.getLogger(__name__)

MAX_STARTUP_READS: Final = 30
"""GroupValueRead telegrams sent per charger at start and after a reconnect."""
STALE_GRACE: Final = 10.0
"""s added to twice the shortest cyclic sending period before a silent charger is read."""
DEFAULT_LIVENESS_AFTER: Final = 120.0
"""s of silence before a liveness read when the charger sends nothing cyclically."""
DEFAULT_ANSWER_TIMEOUT: Final = 10.0
"""s within which a charger must send something after a batch of reads (or a read once more)."""
DEFAULT_STALE_CHECK_INTERVAL: Final = 5.0
"""s between two checks of the charger's silence."""
STALE_READS: Final = 2
"""Reads in a row a charger leaves unanswered before it is stale (the batch's first, then one more)."""
STALE_WITHIN: Final = STALE_READS * (DEFAULT_ANSWER_TIMEOUT + DEFAULT_STALE_CHECK_INTERVAL)
"""s from a batch's first unanswered read until the charger is stale at the latest (with the defaults):
each of the ``STALE_READS`` reads waits ``answer_timeout``, and up to a check interval more."""
# Manual, "Status Sending": the connector-1 objects each sending group covers (connector 2: +49).
_CYCLIC_GROUPS: Final[dict[str, tuple[int, ...]]] = {
    "current": (48, 49, 50, 51),
    "power": (47,),
    "energy": (46,),
    "time": (45,),
    "charging_status": tuple(range(34, 45)),
}

# Essentials first (manual objects, by ``CommObject.base_key`` outside the balancing scopes).
_READ_PRIORITY: Final[dict[str, int]] = {
    "current_limit_status": 0,
    "active_power_limit_status": 0,
    "charging": 1,
    "vehicle_connected": 1,
    "pilot_state": 1,
    "ocpp_state": 1,
    "communication_error": 1,
    "error_code": 1,
    "fail_safe_status": 1,
    "session_energy": 2,
    "active_power": 3,
    "single_phase_current": 4,
    "l1_current": 4,
    "l2_current": 4,
    "l3_current": 4,
    "session_time": 5,
}
_BALANCING_SCOPES: Final = frozenset(
    scope for scope in Scope if scope.value.startswith("Balancing")
)



class ChargerLiveness:
    """Liveness and reads of a ``ChargerCoordinator`` (a base class of it; see the module docstring).

    ``is_stale``, ``reachable_since``, ``silence_limit``, ``last_heard``, ``read_plan``,
    ``startup_reads_done``, ``last_read_plan``, ``last_read_plan_started``, ``last_read_plan_ended``,
    ``async_request_reads``,
    ``async_add_reads_done_listener``.
    """

    answer_timeout: float = DEFAULT_ANSWER_TIMEOUT
    liveness_after: float = DEFAULT_LIVENESS_AFTER
    stale_check_interval: float = DEFAULT_STALE_CHECK_INTERVAL

    hass: HomeAssistant
    hub: KnxEvseHub
    entry: ConfigEntry
    name: str
    params: ChargerParameters
    connectors: tuple[int, ...]
    group_addresses: GroupAddressMap
    reads_sent: int

    def _init_liveness(self) -> None:
        """Set the liveness state up (from ``ChargerCoordinator.__init__``, once the addresses are known)."""
        self.silence_limit: float = self._silence_limit()
        """s of silence after which the charger is checked with a liveness read."""
        self.last_heard: float = time.monotonic()
        """``time.monotonic()`` of the last telegram from the charger (or of the last (re)connect)."""
        self._unanswered_since: float | None = None
        self._unanswered_reads = 0
        self._heard_count = 0
        self._last_read_at = 0.0
        self._stale = False
        self._silence = LoggedCondition(_LOGGER)
        self._reachable_since: float | None = self.last_heard if self.hub.connected else None
        self._liveness_task: asyncio.Task[None] | None = None
        self._reads_done_listeners: Listeners[list[int]] = Listeners(_LOGGER, self.name, "start-up reads listener")
        self.last_read_plan: list[int] = []
        """The objects of the last read plan whose reads were all sent (empty before)."""
        self.last_read_plan_started = 0.0
        """``time.monotonic()`` when the first read of ``last_read_plan`` was sent."""
        self.last_read_plan_ended = 0.0
        """``time.monotonic()`` when the last read of ``last_read_plan`` was sent."""
        self._read_task: asyncio.Task[None] | None = None

    _notify: Callable[[int | None], None]
    """Calls the listeners of an object, or of availability for None (``ChargerCoordinator``)."""
    _answered: Callable[[int], bool]
    """True when object ``number`` has a value from the bus (``ChargerCoordinator``)."""

    @property
    def is_stale(self) -> bool:
        """True while the charger does not answer (see the module docstring, "Staleness").

        Its last values are kept but are not current; listeners are called with ``None`` when this
        changes.
        """
        return self._stale

    @property
    def reachable_since(self) -> float | None:
        """``time.monotonic()`` since which the connection is up and the charger not stale; None while not."""
        return self._reachable_since

    def _update_reachable(self) -> None:
        """Note the start or the end of reachability (after a change of staleness or of the connection)."""
        if not (self.hub.connected and not self._stale):
            self._reachable_since = None
        elif self._reachable_since is None:
            self._reachable_since = time.monotonic()

    def _silence_limit(self) -> float:
        """Twice the shortest linked cyclic sending period plus ``STALE_GRACE``, else ``liveness_after``."""
        periods = [
            float(getattr(self.params, f"{group}_period"))
            for group, numbers in _CYCLIC_GROUPS.items()
            if getattr(self.params, f"{group}_sending") in ("cyclic", "both")
            and any(n + CONN2_OFFSET * (c - 1) in self.group_addresses for n in numbers for c in self.connectors)
        ]
        if not periods:
            return self.liveness_after
        return min(2 * min(periods) + STALE_GRACE, self.liveness_after)

    # -- liveness ---------------------------------------------------------------------------

    def _heard(self, now: float) -> None:
        """Record a telegram from the charger: it is alive (ends staleness)."""
        self.last_heard = now
        self._heard_count += 1
        self._unanswered_since = None
        self._unanswered_reads = 0
        self._silence.end("%s answers again", self.name)
        if self._stale:
            self._stale = False
            self._update_reachable()
            self._notify(None)

    def _reset_liveness(self) -> None:
        """Start counting silence afresh (reconnect): nothing could be heard while disconnected.

        A charger that was stale stays stale until it sends: its silence began before.
        """
        self.last_heard = time.monotonic()
        self._unanswered_since = None
        self._unanswered_reads = 0

    def _read_sent(self, sent_at: float, first: bool, heard_before: int) -> None:
        """Record a read sent at ``sent_at``; the first of a batch waits for an answer.

        ``heard_before`` is ``_heard_count`` before the read was handed to the hub: a telegram heard
        since then (often the answer, during the hub's read pacing) already answers it.
        """
        self._last_read_at = sent_at
        if first and self._unanswered_since is None and self._heard_count == heard_before:
            self._unanswered_since = sent_at

    @callback
    def _async_check_alive(self, _now: datetime | None = None) -> None:
        """Timer: read again or mark the charger stale when a read went unanswered; read it when silent too long."""
        if not self.hub.connected:
            return
        now = time.monotonic()
        if (
            not self._stale
            and self._unanswered_since is not None
            and now - self._unanswered_since >= self.answer_timeout
        ):
            self._unanswered_reads += 1
            if self._unanswered_reads < STALE_READS and (plan := self.read_plan()):
                self._unanswered_since = None  # the next read sent starts the wait again
                if self._liveness_task is None or self._liveness_task.done():
                    self._start_liveness_read(plan[0])
                return
            self._stale = True
            self._update_reachable()
            self._silence.start(
                "%s sent nothing for %.0f s and did not answer %d reads: its entities are unavailable "
                "until it sends again",
                self.name,
                now - self.last_heard,
                self._unanswered_reads,
            )
            self._notify(None)
        if (
            now - max(self.last_heard, self._last_read_at) >= self.silence_limit
            and self.startup_reads_done
            and (self._liveness_task is None or self._liveness_task.done())
            and (plan := self.read_plan())
        ):
            self._start_liveness_read(plan[0])

    def _start_liveness_read(self, number: int) -> None:
        """Send one liveness read of ``number`` in the background."""
        self._liveness_task = self.entry.async_create_background_task(
            self.hass, self._async_liveness_read(number), f"{DOMAIN} liveness read of {self.name}"
        )

    async def _async_liveness_read(self, number: int) -> None:
        await self._async_read_object(number, True)

    async def _async_read_object(self, number: int, first: bool) -> bool:
        """Send one GroupValueRead of ``number`` and note it; False when it could not be sent."""
        heard_before = self._heard_count
        try:
            sent_at = await self.hub.async_read(self.group_addresses[number][0])
        except HomeAssistantError:
            return False
        self.reads_sent += 1
        self._read_sent(sent_at, first, heard_before)
        return True

    # -- start-up reads ---------------------------------------------------------------------

    def read_plan(self) -> list[int]:
        """Object numbers read at start, in order: readable, linked, essentials first, at most 30."""
        candidates = [
            obj
            for number, obj in OBJECTS.items()
            if obj.readable and number in self.group_addresses
        ]

        def priority(obj: CommObject) -> tuple[int, int]:
            if obj.scope in _BALANCING_SCOPES:
                return (99, obj.number)
            return (_READ_PRIORITY.get(obj.base_key, 50), obj.number)

        return [obj.number for obj in sorted(candidates, key=priority)[:MAX_STARTUP_READS]]

    @callback
    def async_add_reads_done_listener(self, listener: Callable[[list[int]], None]) -> CALLBACK_TYPE:
        """Call ``listener(plan)`` each time all reads of a plan were sent; return the remover.

        Used by the repairs (``repairs.ChargerRepairs``) to find status objects that never answer.
        """
        return self._reads_done_listeners.add(listener)

    @callback
    def async_request_reads(self, numbers: Iterable[int]) -> None:
        """Send GroupValueRead to the readable, linked objects among ``numbers`` (in the background).

        The reads are led and closed by a read of an object of the read plan that has answered before,
        if any: objects read again may be ones that never answer (not linked in ETS), which says
        nothing about the charger. The first read decides whether the charger is read once more (and
        stale when that goes unanswered too); the answer to the last one shows it was listening until
        every read of the batch was sent.
        """
        plan = [n for n in numbers if n in self.group_addresses and OBJECTS[n].readable]
        lead = next((n for n in self.read_plan() if n not in plan and self._answered(n)), None)
        self._start_reads(plan if lead is None or not plan else [lead, *plan, lead])

    def _start_reads(self, plan: list[int] | None = None) -> None:
        if self._read_task is not None and not self._read_task.done():
            self._read_task.cancel()
        plan = self.read_plan() if plan is None else plan
        if not plan:
            return
        self._read_task = self.entry.async_create_background_task(
            self.hass, self._async_read(plan), f"{DOMAIN} start-up reads of {self.name}"
        )

    @property
    def startup_reads_done(self) -> bool:
        """Return True when no start-up (or reconnect) GroupValueRead is still waiting to be sent."""
        return self._read_task is None or self._read_task.done()

    async def _async_read(self, plan: list[int]) -> None:
        started = time.monotonic()
        for index, number in enumerate(plan):
            if not self.hub.connected or not await self._async_read_object(number, index == 0):
                return
        self.last_read_plan, self.last_read_plan_started = plan, started
        self.last_read_plan_ended = self._last_read_at
        self._reads_done_listeners.notify(plan)

    async def _cancel_reads(self) -> None:
        task, self._read_task = self._read_task, None
        if task is None or task.done():
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if (current := asyncio.current_task()) is not None and current.cancelling():
                raise

