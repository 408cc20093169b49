"""Home Assistant runtime of one balancing-group subentry: meter entity → Balancer → charger intents.

Source: the manual's "Dynamic Load Balancing" section and its "Advanced" → "Enable Fail-safe".

Balance mode, one round on every meter state change, every vehicle plug event or current a member
reports, and every ``update_interval`` seconds (shorter when the keep-alive needs it): the meter
(``meter.Meter``) and the members (``members.Member``, read through the charger interface) are
read with the price and battery (``site.Site``), the pure core (``Balancer.update``) decides, and
``actuator.async_apply`` sends exactly the decided writes. A change of the price or battery entities
runs a round too. A member whose charger has "Enable Fail-safe" gets a keep-alive of at most half its
Fail-safe Timeout (``data.member_keepalive``); rounds run at least twice per shortest keep-alive.
While the KNX connection is down the group holds its fallback (update without meter) and sends
nothing; on reconnect every member is written again. Bridge mode: ``bridge.Bridge``.

Modes, one-shot overrides and the group's on/off switch are set by the entities (restored across
restarts), the services and a member's own *Current limit* and *Charge* entities (``writes``); each
change runs a round at once. The members' charging plans are ``planner.GroupPlanner``'s: it sets each
round's planned slots. A member whose charger subentry was
removed raises ``balancing_member_removed`` (``member_issues``); the group keeps balancing the other
members. The circuits (``circuits.GroupCircuits``) add their meters to the round; circuits the core
refuses keep the group from balancing (as when it is off) with a repair issue.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from ..balancing import MODES, Balancer, BalancingConfig, Decision, EvseConfig, Mode
from ..charger.interface import ChargerInterface
from ..compat import vol
from ..const import DOMAIN, MANUFACTURER
from ..listeners import Listeners
from ..runtime import KnxEvseConfigEntry
from .actuator import async_apply
from .bridge import Bridge
from .circuits import GroupCircuits
from .data import (
    CONF_BRIDGE_CHARGER,
    CONF_BRIDGE_PERIOD,
    CONF_GROUP_MODE,
    CONF_INVERT,
    CONF_METER_ENTITIES,
    CONF_PHASES,
    CONF_UPDATE_INTERVAL,
    GROUP_MODE_BRIDGE,
    balancing_config,
    finite,
    validate_group,
)
from .grace import Grace
from .member_issues import MemberIssues
from .members import Member, find_charger, reserve_stale, resolve_members
from .meter import Meter
from .planner import GroupPlanner
from .site import Site

_LOGGER = logging.getLogger(__name__)

STARTUP_GRACE: Final = 15.0
"""s after start during which rounds wait for every member's first telegram (start-up reads)."""

STATE_BALANCING: Final = "balancing"
STATE_FALLBACK: Final = "fallback"
STATE_DISABLED: Final = "disabled"
STATE_BRIDGE: Final = "bridge"
GROUP_STATES: Final = (STATE_BALANCING, STATE_FALLBACK, STATE_DISABLED, STATE_BRIDGE)
"""Values of the group's state sensor."""

REASON_STALE: Final = "charger_stale"
REASON_DISABLED: Final = "group_disabled"
REASON_CONNECTION: Final = "connection_lost"
EXTRA_REASONS: Final = (REASON_STALE, REASON_DISABLED, REASON_CONNECTION)
"""Member reasons this layer adds to the core's ``Decision.reason`` words."""

RECENT_DECISIONS: Final = 20
"""Rounds with telegrams (or a new meter verdict) kept for the diagnostics."""

GroupListener = Callable[[], None]


class InvalidGroupConfigError(ValueError):
    """The data of a balancing-group subentry does not validate."""


class BalancingGroup:
    """The runtime of one balancing group (see the module docstring).

    Public API (entities, services, tests): ``name``, ``subentry_id``, ``bridge``, ``members``,
    ``missing`` (names of members whose charger is gone), ``enabled``, ``state``, ``available``,
    ``meter``, ``site``, ``grace``, ``decision``, ``keepalive``, ``interval``, ``device_info``; ``async_start`` /
    ``async_stop``; ``async_add_listener(cb)``; ``async_set_enabled``, ``async_set_mode``,
    ``async_set_override``, ``mode_of``, ``async_request_round``, ``async_run_round``.
    """

    def __init__(self, hass: HomeAssistant, entry: KnxEvseConfigEntry, subentry: ConfigSubentry) -> None:
        """Validate the data and resolve the members against the loaded chargers.

        Raises InvalidGroupConfigError when the data does not validate, or when the pure core
        refuses the resulting configuration.
        """
        self.hass = hass
        self.entry = entry
        self.subentry_id = subentry.subentry_id
        try:
            self.data = validate_group(subentry.data)
        except vol.Invalid as err:
            raise InvalidGroupConfigError(f"balancing group {subentry.title!r}: {err}") from err
        self.name: str = subentry.title or self.data["name"]
        self.bridge = self.data[CONF_GROUP_MODE] == GROUP_MODE_BRIDGE
        self.hub = entry.runtime_data.hub
        self.meter = Meter(
            hass,
            list(self.data[CONF_METER_ENTITIES]),
            invert=self.data[CONF_INVERT],
            group=self.name,
            entry_id=entry.entry_id,
            subentry_id=self.subentry_id,
        )
        self.site = Site(hass, self.data, group=self.name)
        self.members: list[Member] = []
        self.missing: list[str] = []
        master: ChargerInterface | None = None
        if self.bridge:
            master = self._resolve_master()
        else:
            others = [m for group in entry.runtime_data.groups.values() for m in group.members]
            self.members, self.missing = resolve_members(self.name, entry, self.data, others)
        self.circuits = GroupCircuits(
            hass, {} if self.bridge else self.data, self.members, group=self.name, entry_id=entry.entry_id,
            subentry_id=self.subentry_id,
        )
        self.bridging = Bridge(self.name, master, int(self.data[CONF_PHASES]), float(self.data[CONF_BRIDGE_PERIOD]))
        keepalives = [m.evse.keepalive for m in self.members if m.evse.keepalive is not None]
        self.keepalive: float | None = min(keepalives) if keepalives else None
        """s: the shortest keep-alive of the members, None when no member has one."""
        self.interval = float(self.data[CONF_UPDATE_INTERVAL])
        if self.keepalive is not None:
            self.interval = min(self.interval, self.keepalive / 2.0)
        if self.bridge:
            self.interval = min(self.interval, float(self.data[CONF_BRIDGE_PERIOD]))
        try:
            self.config: BalancingConfig = (
                self.bridging.config(float(self.data["meter_timeout"]))
                if self.bridge
                else balancing_config(self.data, self._evses(), self.circuits.configs)
            )
        except ValueError as err:
            raise InvalidGroupConfigError(f"balancing group {self.name!r}: {err}") from err
        self.balancer = Balancer(self.config)
        self.planner = GroupPlanner(self)
        """The members' charging plans (``planner.py``)."""
        self.enabled = True
        self.state: str | None = None
        self.available: float | None = None
        self.decision: Decision | None = None
        self.member_issues = MemberIssues(hass, entry.entry_id, self.subentry_id, self.name)
        self.grace = Grace(min(float(self.data["meter_grace"]), self.config.meter_timeout))
        self.recent_decisions: deque[dict[str, Any]] = deque(maxlen=RECENT_DECISIONS)
        self._listeners: Listeners[()] = Listeners(_LOGGER, self.name)
        self._unsubs: list[CALLBACK_TYPE] = []
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._started_at: float | None = None
        self._is_ready = False

    def _evses(self) -> tuple[EvseConfig, ...]:
        """Return the members' ``EvseConfig``; without circuits when the core refuses the tree (no rounds run)."""
        evses = tuple(m.evse for m in self.members)
        if self.circuits.problem is None:
            return evses
        return tuple(dataclasses.replace(e, circuit=None) for e in evses)

    def _resolve_master(self) -> ChargerInterface | None:
        """Return the bridge's master charger; a missing one goes to ``missing``."""
        reference = str(self.data[CONF_BRIDGE_CHARGER])
        subentry = find_charger(self.entry, reference)
        coordinator = self.entry.runtime_data.chargers.get(subentry.subentry_id) if subentry is not None else None
        if coordinator is None:
            self.missing.append(subentry.title if subentry is not None else reference)
            return None
        return ChargerInterface(coordinator)

    @property
    def bridge_master(self) -> ChargerInterface | None:
        """The built-in master the bridge feeds, None when its charger is gone (or in balance mode)."""
        return self.bridging.master

    @property
    def meter_entities(self) -> list[str]:
        """The meter's entity ids."""
        return self.meter.entity_ids

    @property
    def device_identifier(self) -> tuple[str, str]:
        """Device registry identifier of the group's device."""
        return (DOMAIN, self.subentry_id)

    @property
    def device_info(self) -> DeviceInfo:
        """The group's own device (group-wide entities)."""
        return DeviceInfo(
            identifiers={self.device_identifier},
            name=self.name,
            manufacturer=MANUFACTURER,
            model="Balancing group (bridge)" if self.bridge else "Balancing group",
        )

    # -- lifecycle -------------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Subscribe to the meter, the members and the connection; start the round timer."""
        self._started_at = dt_util.utcnow().timestamp()
        self._unsubs.append(
            async_track_state_change_event(self.hass, self.meter_entities, self._meter_changed)
        )
        self._unsubs.append(
            async_track_state_report_event(self.hass, self.meter_entities, self._meter_reported)
        )
        self._unsubs.append(async_track_state_change_event(self.hass, self.site.entity_ids, self._meter_changed))
        if circuit_meters := self.circuits.entity_ids:
            self._unsubs.append(async_track_state_change_event(self.hass, circuit_meters, self._meter_changed))
            self._unsubs.append(async_track_state_report_event(self.hass, circuit_meters, self._meter_reported))
        self._unsubs.append(
            async_track_time_interval(
                self.hass,
                self._timer,
                timedelta(seconds=self.interval),
                name=f"{DOMAIN} balancing {self.name}",
                cancel_on_shutdown=True,
            )
        )
        self._unsubs.append(self.hub.async_add_connection_listener(self._connection_changed))
        for member in self.members:
            self._unsubs.append(member.charger.async_add_listener(self.async_request_round))
        self.member_issues.update_removed(self.missing)
        self.circuits.update_issue()
        self.planner.async_start()
        self.async_request_round()

    async def async_stop(self) -> None:
        """Unsubscribe, stop the timer and wait for a running round; leaves no task behind."""
        while self._unsubs:
            self._unsubs.pop()()
        await self.planner.async_stop()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                if (current := asyncio.current_task()) is not None and current.cancelling():
                    raise

    @callback
    def async_add_listener(self, listener: GroupListener) -> CALLBACK_TYPE:
        """Call ``listener()`` after every round and every change of mode, override or switch."""
        return self._listeners.add(listener)

    def notify(self) -> None:
        """Call the listeners (the entities): after a round, a change of a control or of the plans."""
        self._listeners.notify()

    _notify = notify

    # -- triggers --------------------------------------------------------------------------------

    @callback
    def _meter_changed(self, _event: Event[EventStateChangedData]) -> None:
        self.async_request_round()

    @callback
    def _meter_reported(self, _event: Event[EventStateReportedData]) -> None:
        """Run a round on a re-reported unchanged value only when it may end a meter problem."""
        if self.meter.state not in (None, "ok") or not self.circuits.meters_ok():
            self.async_request_round()

    @callback
    def _timer(self, _now: datetime) -> None:
        self.async_request_round()

    @callback
    def _connection_changed(self, connected: bool) -> None:
        """Round at once: in fallback while down; after reconnect every member is written again.

        The rounds while down ask the core to write everyone again (``force_write``).
        """
        if connected:
            self.bridging.resend()
        self.async_request_round()

    @callback
    def async_request_round(self) -> None:
        """Run a round now (in the background), or right after the one that is running."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_rounds(), f"{DOMAIN} balancing round {self.name}"
        )

    async def _async_rounds(self) -> None:
        while True:
            self._again = False
            try:
                await self.async_run_round()
            except Exception:
                _LOGGER.exception("%s: balancing round failed", self.name)
            if not self._again:
                return

    # -- controls (entities, services) ------------------------------------------------------------

    @callback
    def async_set_enabled(self, enabled: bool) -> None:
        """Turn the group on or off. Off: nothing is sent; the chargers keep their last limits.

        With fail-safe enabled, a charger applies its fail-safe values after its timeout. On again:
        every member is written on the next round.
        """
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            self.balancer.force_write()
            self.bridging.resend()
        self._notify()
        self.async_request_round()

    def mode_of(self, index: int) -> Mode:
        """Return the charge mode of member ``index``."""
        return self.balancer.config.evses[index].mode

    @callback
    def async_set_mode(self, index: int, mode: str) -> None:
        """Set member ``index``'s charge mode (and end its override); raises ValueError/IndexError."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.balancer.set_mode(index, mode)
        self.members[index].override = None
        self._notify()
        self.async_request_round()

    @callback
    def async_set_override(self, index: int, amps: float | None) -> None:
        """Set (A; 0 pauses) or end (None) member ``index``'s one-shot limit; it respects the budget.

        Raises ValueError for a value the core refuses (negative, 1-5 A) or above the member's
        maximum; the services validate first with translated errors.
        """
        member = self.members[index]
        if amps is not None and not (
            finite(amps) and (amps == 0 or self.config.min_current <= amps <= member.max_current)
        ):
            raise ValueError(
                f"override must be 0 or {self.config.min_current:g}-{member.max_current:g} A for {member.name}, "
                f"got {amps!r}"
            )
        member.override = None if amps is None else float(amps)
        self._notify()
        self.async_request_round()

    # -- one round -------------------------------------------------------------------------------

    def _ready(self, now: float) -> bool:
        """Return True once the members' currents and the meter have values, or after the grace.

        Waiting (at most ``STARTUP_GRACE`` s) means a restart neither pauses charging cars for want
        of a meter that is still starting nor forgets what the chargers do.
        """
        if not self._is_ready and self._started_at is not None:
            self._is_ready = now - self._started_at >= STARTUP_GRACE or (
                self.meter.known() and self.circuits.known()
                and all(m.charger.currents() is not None for m in self.members)
            )
        return self._is_ready

    async def async_run_round(self) -> None:
        """Read the meter and the members, decide, send; then notify the entities."""
        now_dt = dt_util.utcnow()
        now = now_dt.timestamp()
        connected = self.hub.connected
        if not self.enabled or self.circuits.problem is not None:
            self._disabled()
        elif self.bridge:
            usable = await self.bridging.async_round(now, self.meter, self.balancer, connected)
            self.state = STATE_BRIDGE if usable else STATE_FALLBACK
        elif not (self._is_ready or self._ready(now)):
            return
        else:
            readings = [m.read(self.name) for m in self.members]
            for member in self.members:
                self.balancer.set_override(member.index, None if member.stale else member.override)
            meter = reserve_stale(self.members, self.meter.read())
            if self.grace.holding(now, connected, meter):
                return  # a blip: the limits stay in force, nothing is raised or stopped
            site = self.site.read(now, self.config.meter_timeout)
            self.planner.steer(now)
            circuits = self.circuits.read(self.members)
            decision = self.balancer.update(now, meter if connected else None, readings, site, circuits)
            self._record(decision, now_dt, connected)
            self.planner.observe(now, decision)
            if connected:
                await async_apply(self.name, self.balancer, self.members, decision)
            else:
                self.balancer.force_write()
        self._notify()

    def _disabled(self) -> None:
        self.state = STATE_DISABLED
        self.available = None
        self.circuits.clear()
        for member in self.members:
            member.reason = REASON_DISABLED

    def _record(self, decision: Decision, now_dt: datetime, connected: bool) -> None:
        """Keep the decision (diagnostics, entities) and the meter's verdict."""
        if decision.writes or self.decision is None or decision.meter_state != self.decision.meter_state:
            self.recent_decisions.append({"at": now_dt.isoformat(), **dataclasses.asdict(decision)})
        self.decision = decision
        if connected:
            self.meter.update(decision.meter_state, now_dt.timestamp(), self.config.meter_timeout)
        self.circuits.record(decision, now_dt.timestamp(), self.config.meter_timeout, connected)
        self.available = None if decision.available is None else round(decision.available, 2)
        self.state = STATE_FALLBACK if decision.fallback else STATE_BALANCING
        for member, limit, paused, reason in zip(
            self.members, decision.limits, decision.paused, decision.reason, strict=True
        ):
            member.limit, member.paused = limit, paused
            member.reason = REASON_CONNECTION if not connected else (REASON_STALE if member.stale else reason)
        self.member_issues.report_disobedient(self.members, decision.disobedient)

    # -- diagnostics -----------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Return the group's state for the hub's diagnostics (JSON-serialisable)."""
        return {
            "runtime": type(self).__name__,
            "name": self.name,
            "mode": "bridge" if self.bridge else "balance",
            "enabled": self.enabled,
            "state": self.state,
            "available": self.available,
            "keepalive": self.keepalive,
            "interval": self.interval,
            "meter": self.meter.diagnostics(),
            "circuits": self.circuits.diagnostics(),
            "site": self.site.diagnostics(),
            "plans": self.planner.diagnostics(),
            "members": [m.diagnostics(self.mode_of(m.index)) for m in self.members],
            "missing": self.missing,
            "config": self.data,
            "last_decision": None if self.decision is None else dataclasses.asdict(self.decision),
            "recent_decisions": list(self.recent_decisions),
        }

__all__ = ["EXTRA_REASONS", "GROUP_STATES", "BalancingGroup", "InvalidGroupConfigError", "Member"]
