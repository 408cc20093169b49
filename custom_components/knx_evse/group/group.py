"""Home Assistant runtime of one balancing-group subentry: meter entity → Balancer → telegrams.

Source: issue 6, "In Home Assistant", and the balancer rows of issue 8 (meter faults, fail-safe
keep-alive, balancing member deleted); the manual's "Dynamic Load Balancing" section and its
"Advanced" → "Enable Fail-safe".

Balance mode (``mode: balance``), one round on every meter state change, every vehicle plug event or
current a member reports, and every ``update_interval`` seconds (shorter when the keep-alive needs it):

1. The meter (``_meter_reading``): one sensor in W, kW or A (converted by its
   ``unit_of_measurement``, re-read every round, so a unit change from W to kW is converted, not
   misread) or three per-phase sensors in A; ``invert`` flips the sign. Its timestamp is the oldest
   ``last_reported`` of those states, so a value that does not change but is still reported is NOT
   stale, and one that is no longer reported is, after ``meter_timeout``. ``unavailable``,
   ``unknown``, non-numeric values, unknown units and a missing entity are unusable; the pure core
   also refuses absurd values (above 200 kW or four times the supply). An unusable meter applies the
   group's fallback (pause, or the fixed fallback current), turns the "meter problem" binary sensor
   on, and after ``meter_timeout`` raises a repair issue (``meter_entity_missing`` when the entity is
   gone, ``meter_unusable`` otherwise), deleted when valid readings return.
2. The members (``_evse_reading``): measured current from the charger's current objects (14/48/97 or
   L1-L3, else its power 13/47/96 ÷ 230 V ÷ phases), vehicle connected from 36/85 (else the pilot or
   OCPP state). A member whose charger is stale (``ChargerCoordinator.is_stale``: silent, and no
   answer to a liveness read) or whose current is unknown is *stale* here too: nothing is
   sent to it, and it is treated as drawing its last limit, the worst case: that limit is added to
   the meter reading as a hard reservation, its measured current counts as 0 A (so what it really
   draws stays in the meter as other load), and the core sees it as unplugged. The others thus
   never get its budget, whatever it draws (at worst the group leaves its actual draw unused).
   When it answers again, the core restarts it under the usual timing rules (a charger the core
   cannot restart at once gets Stop, so its draw is accounted for again).
3. ``Balancer.update`` (the pure core) decides; exactly ``Decision.writes`` are sent, decreases and
   pauses first: the limit to "[EVSE] Current limit" (object 1) for a whole-charger member or
   "[Conn] Current limit" (31/80) for a connector member, then Start on "[Conn] Start - Stop
   charging" (33/82) when it resumes; a pause sends Stop (object 18 when neither 33 nor 82 is linked,
   a 0 A limit when none is). A send that fails is retried on the next round (``force_write``).
4. No repeated identical writes except keep-alives: the core repeats a member's unchanged limit
   (or Stop) only after its keep-alive. A member whose charger has "Enable Fail-safe" gets at most
   half its Fail-safe Timeout (automatic with ``keepalive: 0``; an explicit keep-alive that is longer
   is shortened, with a warning), so its fail-safe never fires while the group runs (the subentry
   flow also refuses such an explicit keep-alive); the others get the explicit keep-alive, or none.
   Rounds run at least twice per shortest keep-alive.
5. While the KNX connection is down the group holds its fallback (update without meter) and sends
   nothing; on reconnect every member is written again.

Bridge mode (``mode: bridge``): no own balancing; the meter value is written to the built-in
master's "[Balancing] Current measured" (130, A) or "Active Power measured" (131, W; chosen by the
master's "Current control" parameter) on change and every ``bridge_period`` seconds. Without a
usable meter it writes the supply limit (the master's protection device in A or contracted power
in W), so the master sees no headroom and reduces its chargers.

Modes, one-shot overrides and the group's on/off switch are set by the entities (restored across
restarts) and the services; each change runs a round at once. A member whose charger subentry was
removed raises ``balancing_member_removed``; the group keeps balancing the other members.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_state_report_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .. import repairs
from ..balancing import (
    MODES,
    Balancer,
    BalancingConfig,
    Decision,
    EvseConfig,
    EvseReading,
    MeterReading,
    Mode,
)
from ..balancing.readings import MeterState
from ..charger.interface import ChargerInterface
from ..compat import vol
from ..const import DOMAIN, MANUFACTURER, SUBENTRY_BALANCING
from ..knx.parameters import VOLTAGE
from ..runtime import KnxEvseConfigEntry, register_subentry_runtime
from .data import (
    CONF_BRIDGE_CHARGER,
    CONF_BRIDGE_PERIOD,
    CONF_CHARGER,
    CONF_CONNECTOR,
    CONF_GROUP_MODE,
    CONF_INVERT,
    CONF_KEEPALIVE,
    CONF_MEMBERS,
    CONF_METER_ENTITIES,
    CONF_PHASES,
    CONF_UPDATE_INTERVAL,
    GROUP_MODE_BRIDGE,
    METER_UNITS,
    WHOLE_CHARGER,
    balancing_config,
    evse_config,
    find_charger,
    finite,
    member_keepalive,
    member_name,
    member_problem,
    validate_group,
)

_LOGGER = logging.getLogger(__name__)

ISSUE_METER_UNUSABLE: Final = "meter_unusable"
"""Repair issue (translation key) of this module: the meter entity exists but gives no usable value."""
STARTUP_GRACE: Final = 15.0
"""s after start during which rounds wait for every member's first telegram (start-up reads)."""
BRIDGE_MIN_CHANGE: Final = 0.01
"""A or W: a bridged meter value that changed less than this is not sent again before the period."""

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

MEMBER_ENTITY_KEYS: Final = ("charge_mode", "assigned_limit", "balancing_reason")
"""Keys of the per-member entities (their unique ids end with them)."""

RECENT_DECISIONS: Final = 20
"""Rounds with telegrams (or a new meter verdict) kept for the diagnostics."""

GroupListener = Callable[[], None]


class InvalidGroupConfigError(ValueError):
    """The data of a balancing-group subentry does not validate."""


@dataclass(slots=True)
class Member:
    """One balanced EVSE: a charger (whole) or one of its connectors, and its runtime state.

    ``index``: position in the group (0 = EVSE1, highest priority); ``key``: ``<charger subentry
    id>_<connector>``, part of the member entities' unique ids; ``limit``/``paused``/``reason``:
    from the last round (A; the display reason); ``written``: the last limit sent (A, 0 for a
    pause), None before any; ``override``: the user's one-shot limit (A) or None; ``stale``: True
    while the charger's values are stale; ``pin``: the limit (A) held for it meanwhile;
    ``started``: True once Start was sent after the last Stop (so a failed Start is sent again).
    """

    index: int
    key: str
    name: str
    charger: ChargerInterface
    connector: int
    evse: EvseConfig
    limit: float = 0.0
    paused: bool = True
    reason: str = ""
    written: float | None = None
    override: float | None = None
    stale: bool = False
    pin: float = 0.0
    started: bool = False
    failures: int = 0

    @property
    def max_current(self) -> float:
        """A per phase: the most this member may be given (its maximum, capped by the charger's)."""
        return float(self.evse.max_current or 0.0)

    def device_info(self) -> DeviceInfo:
        """Return the device of the member's entities: the charger, or its connector sub-device."""
        return self.charger.device_info()


@dataclass(slots=True)
class MeterStatus:
    """What the group knows about its meter: the core's verdict and since when it is unusable."""

    state: MeterState | None = None
    problem_since: float | None = None
    missing: bool = False
    value: float | tuple[float, ...] | None = None
    unit: str | None = None
    issue: str | None = None
    issue_problem: str | None = None


class BalancingGroup:
    """The runtime of one balancing group (see the module docstring).

    Public API (entities, services, tests): ``name``, ``subentry_id``, ``bridge``, ``members``,
    ``missing`` (names of members whose charger is gone), ``enabled``, ``state``, ``available``,
    ``meter``, ``decision``, ``keepalive``, ``interval``, ``device_info``; ``async_start`` /
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
        self.meter_entities: list[str] = list(self.data[CONF_METER_ENTITIES])
        self.sign = -1.0 if self.data[CONF_INVERT] else 1.0
        self.members: list[Member] = []
        self.missing: list[str] = []
        self.bridge_master: ChargerInterface | None = None
        chargers = entry.runtime_data.chargers
        if self.bridge:
            reference = str(self.data[CONF_BRIDGE_CHARGER])
            master = find_charger(entry, reference)
            coordinator = chargers.get(master.subentry_id) if master is not None else None
            self.bridge_master = None if coordinator is None else ChargerInterface(coordinator)
            if self.bridge_master is None:
                self.missing.append(master.title if master is not None else reference)
        else:
            self._resolve_members()
        keepalives = [m.evse.keepalive for m in self.members if m.evse.keepalive is not None]
        self.keepalive: float | None = min(keepalives) if keepalives else None
        """s: the shortest keep-alive of the members, None when no member has one."""
        self.interval = float(self.data[CONF_UPDATE_INTERVAL])
        if self.keepalive is not None:
            self.interval = min(self.interval, self.keepalive / 2.0)
        if self.bridge:
            self.interval = min(self.interval, float(self.data[CONF_BRIDGE_PERIOD]))
        try:
            self.config: BalancingConfig = self._config()
        except ValueError as err:
            raise InvalidGroupConfigError(f"balancing group {self.name!r}: {err}") from err
        self.balancer = Balancer(self.config)
        self.enabled = True
        self.state: str | None = None
        self.available: float | None = None
        self.decision: Decision | None = None
        self.recent_decisions: deque[dict[str, Any]] = deque(maxlen=RECENT_DECISIONS)
        self.meter = MeterStatus()
        self._listeners: list[GroupListener] = []
        self._unsubs: list[CALLBACK_TYPE] = []
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._started_at: float | None = None
        self._is_ready = False
        self._bridge_sent: float | None = None
        self._bridge_sent_at: float = -math.inf

    # -- set-up ---------------------------------------------------------------------------------

    def _resolve_members(self) -> None:
        """Build ``members`` in priority order; members whose charger is gone go to ``missing``.

        A member the charger cannot serve (see ``data.member_problem``) or that another
        group already balances is left out with an error in the log.
        """
        chargers = self.entry.runtime_data.chargers
        claimed = {
            (m.charger.subentry_id, m.connector)
            for group in self.entry.runtime_data.groups.values()
            if isinstance(group, BalancingGroup)
            for m in group.members
        }
        supply = int(self.data[CONF_PHASES])
        configured = float(self.data[CONF_KEEPALIVE])
        for member in self.data[CONF_MEMBERS]:
            subentry = find_charger(self.entry, member[CONF_CHARGER])
            coordinator = chargers.get(subentry.subentry_id) if subentry is not None else None
            label = str(member.get("name") or (subentry.title if subentry else member[CONF_CHARGER]))
            if subentry is None or coordinator is None:
                self.missing.append(label)
                continue
            problem = member_problem(self.entry, member, supply)
            connector = int(member[CONF_CONNECTOR])
            name = member_name(coordinator.name, connector)
            if problem is not None:
                _LOGGER.error("%s: member %s is not balanced: %s", self.name, name, problem)
                continue
            if any(c == coordinator.subentry_id and (n == connector or WHOLE_CHARGER in (n, connector)) for c, n in claimed):
                _LOGGER.error("%s: member %s already belongs to another balancing group; left out", self.name, name)
                continue
            params = coordinator.params
            keepalive = member_keepalive(configured, params.fail_safe_timeout if params.fail_safe else None)
            if configured > 0 and keepalive is not None and keepalive < configured:
                _LOGGER.warning(
                    "%s: keep-alive of %s shortened from %g s to %g s to stay inside its fail-safe timeout (%s s)",
                    self.name, name, configured, keepalive, params.fail_safe_timeout,
                )
            self.members.append(
                Member(
                    index=len(self.members),
                    key=f"{coordinator.subentry_id}_{connector}",
                    name=name,
                    charger=ChargerInterface(coordinator, None if connector == WHOLE_CHARGER else connector),
                    connector=connector,
                    evse=evse_config(member, params, supply, name, keepalive),
                )
            )

    def _config(self) -> BalancingConfig:
        if not self.bridge:
            return balancing_config(self.data, tuple(m.evse for m in self.members))
        # Bridge mode: a member-less config whose meter checks match the master's supply.
        master = self.bridge_master
        current = master is None or master.params.balancing_current_control
        limit = (
            float(master.params.balancing_protection_device if current else master.params.balancing_contracted_power)
            if master is not None
            else 63.0
        )
        return BalancingConfig(
            limit=limit,
            current_control=current,
            phases=int(self.data[CONF_PHASES]),
            voltage=float(VOLTAGE),
            meter_timeout=float(self.data["meter_timeout"]),
        )

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

    def unique_id(self, key: str, member: Member | None = None) -> str:
        """Return the unique id of a group entity (``<group>_<key>``) or member entity (``<group>_<member>_<key>``)."""
        return f"{self.subentry_id}_{key}" if member is None else f"{self.subentry_id}_{member.key}_{key}"

    def expected_unique_ids(self) -> set[str]:
        """Return the unique ids of every entity this group creates (see entities.py)."""
        ids = {self.unique_id(key) for key in ("state", "meter_problem", "enabled")}
        if not self.bridge:
            ids.add(self.unique_id("available_current"))
            for member in self.members:
                ids |= {self.unique_id(key, member) for key in MEMBER_ENTITY_KEYS}
        return ids

    def member_for_unique_id(self, unique_id: str) -> Member | None:
        """Return the member owning the entity with ``unique_id``, None for other entities."""
        for member in self.members:
            if unique_id in {self.unique_id(key, member) for key in MEMBER_ENTITY_KEYS}:
                return member
        return None

    @callback
    def async_cleanup_registry(self) -> None:
        """Remove this group's entities that it no longer creates (members gone, bridge mode)."""
        keep = self.expected_unique_ids()
        prefix = f"{self.subentry_id}_"
        self.hub.async_remove_stale_entities(keep, lambda unique_id: unique_id.startswith(prefix))

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
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._timer, timedelta(seconds=self.interval), name=f"{DOMAIN} balancing {self.name}"
            )
        )
        self._unsubs.append(self.hub.async_add_connection_listener(self._connection_changed))
        for member in self.members:
            self._unsubs.append(member.charger.async_add_listener(self.async_request_round))
        self._update_member_issue()
        self.async_request_round()

    async def async_stop(self) -> None:
        """Unsubscribe, stop the timer and wait for a running round; leaves no task behind."""
        while self._unsubs:
            self._unsubs.pop()()
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
        self._listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def _notify(self) -> None:
        for listener in tuple(self._listeners):
            try:
                listener()
            except Exception:
                _LOGGER.exception("%s: error in listener", self.name)

    # -- triggers --------------------------------------------------------------------------------

    @callback
    def _meter_changed(self, _event: Event[EventStateChangedData]) -> None:
        self.async_request_round()

    @callback
    def _meter_reported(self, _event: Event[EventStateReportedData]) -> None:
        """Run a round on a re-reported unchanged value only when it may end a meter problem."""
        if self.meter.state not in (None, "ok"):
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
            self._bridge_sent = None
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
            self._bridge_sent = None
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
        if self._is_ready:
            return True
        if self._started_at is None:
            return False
        if now - self._started_at >= STARTUP_GRACE:
            self._is_ready = True
            return True
        meter_known = all(
            (state := self.hass.states.get(entity_id)) is not None
            and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
            for entity_id in self.meter_entities
        )
        self._is_ready = meter_known and all(m.charger.currents() is not None for m in self.members)
        return self._is_ready

    async def async_run_round(self) -> None:
        """Read the meter and the members, decide, send; then notify the entities."""
        now_dt = dt_util.utcnow()
        now = now_dt.timestamp()
        if not self.enabled:
            self.state = STATE_DISABLED
            self.available = None
            for member in self.members:
                member.reason = REASON_DISABLED
            self._notify()
            return
        if self.bridge:
            await self._async_bridge_round(now)
            self._notify()
            return
        if not self._ready(now):
            return
        readings = [self._evse_reading(member) for member in self.members]
        meter = self._reserve_stale(self._meter_reading())
        connected = self.hub.connected
        decision = self.balancer.update(now, meter if connected else None, readings)
        if decision.writes or self.decision is None or decision.meter_state != self.decision.meter_state:
            self.recent_decisions.append({"at": now_dt.isoformat(), **dataclasses.asdict(decision)})
        self.decision = decision
        if connected:
            self._update_meter_status(decision.meter_state, now)
        self.available = None if decision.available is None else round(decision.available, 2)
        self.state = STATE_FALLBACK if decision.fallback else STATE_BALANCING
        for member, limit, paused, reason in zip(
            self.members, decision.limits, decision.paused, decision.reason, strict=True
        ):
            member.limit, member.paused = limit, paused
            member.reason = REASON_CONNECTION if not connected else (REASON_STALE if member.stale else reason)
        if connected:
            await self._async_send(decision)
        else:
            self.balancer.force_write()
        self._notify()

    # -- the meter -------------------------------------------------------------------------------

    def _meter_reading(self) -> MeterReading | None:
        """Return the meter entities' states as a ``MeterReading``; None when an entity does not exist.

        Unavailable/unknown → value None; non-numeric, non-finite or an unknown unit → NaN (the
        core calls both unusable). Timestamp: the oldest ``last_reported`` of the states.
        """
        states = [self.hass.states.get(entity_id) for entity_id in self.meter_entities]
        self.meter.missing = any(state is None for state in states)
        if self.meter.missing:
            self.meter.value = None
            return None
        values: list[float | None] = []
        units: list[str] = []
        timestamp = math.inf
        for state in states:
            assert state is not None
            timestamp = min(timestamp, state.last_reported_timestamp)
            unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
            if state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                values.append(None)
                continue
            try:
                raw = float(state.state)
            except ValueError:
                raw = math.nan
            known = METER_UNITS.get(str(unit))
            if known is None:
                values.append(math.nan)
                continue
            units.append(known[0])
            values.append(raw * known[1] * self.sign)
        if any(v is None for v in values):
            self.meter.value = None
            return MeterReading(None, timestamp)
        numbers = [float(v) for v in values if v is not None]
        if len(numbers) == 3:
            if units != ["A", "A", "A"]:
                numbers = [math.nan] * 3
            self.meter.value, self.meter.unit = tuple(numbers), "A"
            return MeterReading(tuple(numbers), timestamp, "A")
        unit_ = units[0] if units else "W"
        self.meter.value, self.meter.unit = numbers[0], unit_
        return MeterReading(numbers[0], timestamp, "A" if unit_ == "A" else "W")

    def _update_meter_status(self, state: MeterState, now: float) -> None:
        """Track the meter's verdict; raise or clear the repair issue (after ``meter_timeout``)."""
        meter = self.meter
        previous = meter.state
        meter.state = state
        if state == "ok":
            meter.problem_since = None
            if previous not in (None, "ok"):
                _LOGGER.info("%s: meter usable again, balancing resumes", self.name)
            self._set_meter_issue(None)
            return
        if meter.problem_since is None:
            meter.problem_since = now
            _LOGGER.warning(
                "%s: meter %s is %s; fallback applied", self.name, ", ".join(self.meter_entities),
                "missing" if meter.missing else state,
            )
        if state == "stale" or now - meter.problem_since >= self.config.meter_timeout:
            self._set_meter_issue("missing" if meter.missing else state)

    def _set_meter_issue(self, problem: str | None) -> None:
        entry_id = self.entry.entry_id
        wanted = None if problem is None else (
            repairs.ISSUE_METER_ENTITY_MISSING if problem == "missing" else ISSUE_METER_UNUSABLE
        )
        if self.meter.issue == wanted and self.meter.issue_problem == problem:
            return
        for key in (repairs.ISSUE_METER_ENTITY_MISSING, ISSUE_METER_UNUSABLE):
            if key != wanted:
                repairs.async_delete_issue(self.hass, key, entry_id=entry_id, subentry_id=self.subentry_id)
        self.meter.issue, self.meter.issue_problem = wanted, problem
        if wanted == repairs.ISSUE_METER_ENTITY_MISSING:
            repairs.async_create_meter_entity_missing_issue(
                self.hass, entry_id, self.subentry_id, self.name, ", ".join(self.meter_entities)
            )
        elif wanted == ISSUE_METER_UNUSABLE:
            async_create_meter_unusable_issue(
                self.hass,
                entry_id,
                self.subentry_id,
                group=self.name,
                entity_id=", ".join(self.meter_entities),
                problem=str(problem),
            )

    # -- the members -----------------------------------------------------------------------------

    def _evse_reading(self, member: Member) -> EvseReading:
        """Return what ``member`` reports; a stale member's last limit is held (see module)."""
        charger = member.charger
        connected = charger.vehicle_connected()
        current = charger.currents()
        stale = charger.is_stale or current is None
        if stale != member.stale:
            member.stale = stale
            if stale:
                member.pin = member.limit
                _LOGGER.warning(
                    "%s: %s %s; its limit of %g A stays reserved and nothing is sent to it",
                    self.name,
                    member.name,
                    "does not answer" if charger.is_stale else "has not reported its current",
                    member.pin,
                )
            else:
                _LOGGER.info("%s: %s answers again", self.name, member.name)
        if not stale and connected is False:
            member.override = None  # the core ends an override when the vehicle leaves
        self.balancer.set_override(member.index, None if stale else member.override)
        if stale:
            return EvseReading(0.0, False)
        return EvseReading(current, True if connected is None else connected)

    def _reserve_stale(self, meter: MeterReading | None) -> MeterReading | None:
        """Add each stale member's held limit to the meter (A on its phases, or W), see the module."""
        stale = [m for m in self.members if m.stale and m.pin > 0]
        if meter is None or meter.value is None or not stale:
            return meter
        value = meter.value
        if isinstance(value, tuple):
            phases = list(value)
            for member in stale:
                for phase in range(3) if member.evse.phases == 3 else (member.evse.phase - 1,):
                    phases[phase] += member.pin
            return MeterReading(tuple(phases), meter.timestamp, meter.unit)
        if meter.unit == "A":
            # One current for the whole supply counts as every phase's: add every held limit.
            return MeterReading(value + sum(m.pin for m in stale), meter.timestamp, "A")
        extra = sum(m.pin * VOLTAGE * m.evse.phases for m in stale)
        return MeterReading(value + extra, meter.timestamp, meter.unit)

    # -- sending ---------------------------------------------------------------------------------

    async def _async_send(self, decision: Decision) -> None:
        """Send ``decision.writes``: pauses first, then decreases, then raises and starts."""

        def order(index: int) -> tuple[int, int]:
            written = self.members[index].written
            if decision.paused[index]:
                return (0, index)
            return (1 if written is not None and decision.limits[index] < written else 2, index)

        for index in sorted(decision.writes, key=order):
            member = self.members[index]
            if member.stale:
                self.balancer.force_write(index)
                continue
            try:
                if decision.paused[index]:
                    await self._async_pause(member)
                else:
                    resume = index in decision.switches
                    starting = resume or not member.started
                    if not (resume and self._limit_in_force(member, decision.limits[index])):
                        await member.charger.async_apply_limit(decision.limits[index])
                    member.written = decision.limits[index]
                    if starting:
                        await member.charger.async_resume()
                        member.started = True
            except HomeAssistantError as err:
                self.balancer.force_write(index)
                member.failures += 1
                log = _LOGGER.warning if member.failures == 1 else _LOGGER.debug
                log("%s: could not write to %s (retried next round): %s", self.name, member.name, err)
            else:
                member.failures = 0

    def _limit_in_force(self, member: Member, amps: float) -> bool:
        """Return True when a resumed ``member`` needs only its Start: the charger has ``amps``.

        That is when the pause was a Stop (33/82; the limit object was left alone), the member has
        no keep-alive (a limit write is what keeps a Fail-safe charger alive), and the charger's
        "Current limit Status" (object 3, or 61/110 for a connector) reports ``amps`` in a telegram
        received after this coordinator's last write of the limit object. Otherwise the limit is
        written before the Start, as always. Saves one telegram per resume at an unchanged limit.
        """
        if not member.charger.has_start_stop or self.balancer.config.evse_keepalive(member.index) is not None:
            return False
        reported = member.charger.confirmed_limit()
        return reported is not None and abs(reported - amps) <= 1e-6

    async def _async_pause(self, member: Member) -> None:
        """Stop on the member's start/stop objects, or a 0 A limit when none is linked."""
        member.started = False
        await member.charger.async_pause()
        member.written = 0.0

    # -- bridge mode -----------------------------------------------------------------------------

    async def _async_bridge_round(self, now: float) -> None:
        """Feed the meter into the built-in master's 130 (A) or 131 (W); the supply limit without one."""
        master = self.bridge_master
        if master is None:
            self.state = STATE_FALLBACK
            return
        reading = self._meter_reading()
        decision = self.balancer.update(now, reading, [])
        self._update_meter_status(decision.meter_state, now)
        current = master.params.balancing_current_control
        phases = int(self.data[CONF_PHASES])
        if decision.meter_state == "ok" and reading is not None and reading.value is not None:
            value = _bridge_value(reading, current, phases)
            self.state = STATE_BRIDGE
        else:
            value = float(self.config.limit)
            self.state = STATE_FALLBACK
        if not self.hub.connected:
            return
        changed = self._bridge_sent is None or abs(value - self._bridge_sent) >= BRIDGE_MIN_CHANGE
        if not changed and now - self._bridge_sent_at < float(self.data[CONF_BRIDGE_PERIOD]):
            return
        try:
            await master.async_feed_meter(value)
        except HomeAssistantError as err:
            _LOGGER.warning("%s: could not feed the meter to %s: %s", self.name, master.name, err)
            return
        self._bridge_sent = value
        self._bridge_sent_at = now

    # -- diagnostics -----------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Return the group's state for the hub's diagnostics (JSON-serialisable)."""
        meter = self.meter
        return {
            "runtime": type(self).__name__,
            "name": self.name,
            "mode": "bridge" if self.bridge else "balance",
            "enabled": self.enabled,
            "state": self.state,
            "available": self.available,
            "keepalive": self.keepalive,
            "interval": self.interval,
            "meter": {
                "entities": self.meter_entities,
                "state": "missing" if meter.missing else meter.state,
                "value": meter.value,
                "unit": meter.unit,
                "issue": meter.issue,
            },
            "members": [
                {
                    "name": m.name,
                    "charger": m.charger.subentry_id,
                    "connector": m.connector,
                    "mode": self.mode_of(m.index),
                    "max_current": m.max_current,
                    "keepalive": m.evse.keepalive,
                    "limit": m.limit,
                    "paused": m.paused,
                    "reason": m.reason,
                    "override": m.override,
                    "stale": m.stale,
                    "held": m.pin if m.stale else None,
                    "written": m.written,
                }
                for m in self.members
            ],
            "missing": self.missing,
            "config": self.data,
            "last_decision": None if self.decision is None else dataclasses.asdict(self.decision),
            "recent_decisions": list(self.recent_decisions),
        }

    # -- repair issue of removed members ---------------------------------------------------------

    def _update_member_issue(self) -> None:
        entry_id = self.entry.entry_id
        if not self.missing:
            repairs.async_delete_issue(
                self.hass, repairs.ISSUE_BALANCING_MEMBER_REMOVED, entry_id=entry_id, subentry_id=self.subentry_id
            )
            return
        _LOGGER.warning("%s: member charger(s) %s no longer exist", self.name, ", ".join(self.missing))
        repairs.async_create_balancing_member_removed_issue(
            self.hass, entry_id, self.subentry_id, self.name, ", ".join(self.missing)
        )


def _bridge_value(reading: MeterReading, current: bool, phases: int) -> float:
    """Return the meter in the master's unit: A for 130 (current control), W for 131."""
    value = reading.value
    if isinstance(value, tuple):
        return max(value) if current else sum(value) * VOLTAGE
    assert value is not None
    if reading.unit == "A":
        return float(value) if current else float(value) * VOLTAGE * phases
    return float(value) / (VOLTAGE * phases) if current else float(value)


@callback
def async_create_meter_unusable_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, *, group: str, entity_id: str, problem: str
) -> str:
    """Raise ``meter_unusable``: the meter entity of ``group`` exists but gives no usable value.

    Created with the same data layout as ``repairs.async_create_issue`` (so the hub's clean-up of
    removed subentries covers it); ``problem`` is the core's meter state (stale, unavailable,
    invalid, absurd).
    """
    identifier = repairs.issue_id(ISSUE_METER_UNUSABLE, entry_id, group_subentry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        identifier,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_METER_UNUSABLE,
        translation_placeholders={"group": group, "entity_id": entity_id, "problem": problem},
        data={"translation_key": ISSUE_METER_UNUSABLE, "entry_id": entry_id, "subentry_id": group_subentry_id},
    )
    return identifier


async def async_setup_balancing_group_runtime(
    hass: HomeAssistant, entry: KnxEvseConfigEntry, subentry: ConfigSubentry
) -> None:
    """Subentry runtime factory: build the group and store it in ``entry.runtime_data.groups``.

    The group starts (``async_start``) after the entity platforms are set up, so restored modes
    and switches are in place before its first round. A group whose data does not validate is
    logged and skipped; the other groups and the chargers keep working.
    """
    try:
        group = BalancingGroup(hass, entry, subentry)
    except InvalidGroupConfigError as err:
        _LOGGER.error("Balancing group %s is not set up: %s", subentry.title, err)
        return
    entry.runtime_data.groups[subentry.subentry_id] = group
    group.async_cleanup_registry()


@callback
def async_start_groups(entry: KnxEvseConfigEntry) -> None:
    """Start every balancing group of a loaded hub entry (after its platforms are set up)."""
    for group in entry.runtime_data.groups.values():
        if isinstance(group, BalancingGroup):
            group.async_start()


def groups_of(entry: KnxEvseConfigEntry) -> list[BalancingGroup]:
    """Return the balancing groups of a loaded hub entry."""
    return [g for g in entry.runtime_data.groups.values() if isinstance(g, BalancingGroup)]


register_subentry_runtime(SUBENTRY_BALANCING, async_setup_balancing_group_runtime)

__all__ = [
    "EXTRA_REASONS",
    "GROUP_STATES",
    "ISSUE_METER_UNUSABLE",
    "BalancingGroup",
    "Member",
    "async_setup_balancing_group_runtime",
    "async_start_groups",
    "groups_of",
]
