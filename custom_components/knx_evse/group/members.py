"""A balancing group's members: resolved against the loaded chargers, read through the charger interface.

A member is a charger (whole) or one of its connectors (``charger.interface.ChargerInterface``).
What it reports becomes an ``EvseReading``: its currents, whether a vehicle is plugged in and, for a
whole charger that splits its limit between two vehicles, how many share it and the busiest
connector's draw (docs/balancing.md, "Two connectors, one limit"). A
member whose charger is stale (silent, and no answer to a liveness read) or whose current is unknown
is *stale* here too: nothing is sent to it, and it is treated as drawing its last limit, the worst
case: that limit is added to the meter reading as a hard reservation (``reserve_stale``), its
measured current counts as 0 A (so what it really draws stays in the meter as other load), and the
core sees it as unplugged. When it answers again, the core restarts it under the usual timing rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.helpers.device_registry import DeviceInfo

from ..balancing import EvseConfig, EvseReading, MeterReading, Mode, supply_phases
from ..charger.coordinator import ChargerCoordinator
from ..charger.interface import ChargerInterface, limit_object, measurement_objects
from ..compat import vol
from ..condition import LoggedCondition
from ..const import CONF_GROUP_ADDRESSES, CONF_PARAMETERS, SUBENTRY_BALANCING, SUBENTRY_CHARGER
from ..knx.parameters import MIN_CURRENT, VOLTAGE, ChargerParameters, load_parameters
from ..runtime import KnxEvseConfigEntry
from .data import (
    CONF_CHARGER,
    CONF_CIRCUIT,
    CONF_CONNECTOR,
    CONF_KEEPALIVE,
    CONF_MAX_CURRENT,
    CONF_MEMBERS,
    CONF_MODE,
    CONF_PHASE,
    CONF_PHASES,
    MIN_KEEPALIVE,
    WHOLE_CHARGER,
    connector_number,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(slots=True)
class Member:
    """One balanced EVSE: a charger (whole) or one of its connectors, and its runtime state.

    ``index``: position in the group (0 = EVSE1, highest priority); ``key``: ``<charger subentry
    id>_<connector>``, part of the member entities' unique ids; ``limit``/``paused``/``reason``:
    from the last round (A; the display reason); ``written``: the last limit sent (A, 0 for a
    pause), None before any; ``override``: the user's one-shot limit (A) or None; ``stale``: True
    while the charger's values are stale; ``pin``: the limit (A) held for it meanwhile;
    ``started``: True once Start was sent after the last Stop (so a failed Start is sent again);
    ``held`` and ``writes_failing``: its two logged conditions (``condition.LoggedCondition``).
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
    held: LoggedCondition = field(default_factory=lambda: LoggedCondition(_LOGGER))
    writes_failing: LoggedCondition = field(default_factory=lambda: LoggedCondition(_LOGGER))

    @property
    def max_current(self) -> float:
        """A per phase: the most this member may be given (its maximum, capped by the charger's)."""
        return float(self.evse.max_current or 0.0)

    def device_info(self) -> DeviceInfo:
        """Return the device of the member's entities: the charger, or its connector sub-device."""
        return self.charger.device_info()

    def read(self, group: str) -> EvseReading:
        """Return what the member reports for the core; a stale member's last limit is held (module)."""
        charger = self.charger
        connected = charger.vehicle_connected()
        current = charger.currents()
        stale = charger.is_stale or current is None
        if stale != self.stale:
            self.stale = stale
            if stale:
                self.pin = self.limit
                self.held.start(
                    "%s: %s %s; its limit of %g A stays reserved and nothing is sent to it",
                    group,
                    self.name,
                    "does not answer" if charger.is_stale else "has not reported its current",
                    self.pin,
                )
            else:
                self.held.end("%s: %s answers again", group, self.name)
        if not stale and connected is False:
            self.override = None  # the core ends an override when the vehicle leaves
        if stale or current is None:
            return EvseReading(0.0, False)
        return EvseReading(
            current,
            True if connected is None else connected,
            connectors=charger.sharing_connectors(),
            busiest=charger.busiest_current(),
        )

    def diagnostics(self, mode: str) -> dict[str, Any]:
        """Return the member's part of the group's diagnostics."""
        return {
            "name": self.name,
            "charger": self.charger.subentry_id,
            "connector": self.connector,
            "mode": mode,
            "max_current": self.max_current,
            "keepalive": self.evse.keepalive,
            "limit": self.limit,
            "paused": self.paused,
            "reason": self.reason,
            "override": self.override,
            "stale": self.stale,
            "held": self.pin if self.stale else None,
            "written": self.written,
        }


def resolve_members(
    group: str, entry: KnxEvseConfigEntry, data: Mapping[str, Any], claimed: Iterable[Member]
) -> tuple[list[Member], list[str]]:
    """Return the members of group ``group`` in priority order, and the names of those whose charger is gone.

    A member the charger cannot serve (see ``data.member_problem``) or that another group already
    balances (in ``claimed``) is left out with an error in the log.
    """
    chargers: dict[str, ChargerCoordinator] = entry.runtime_data.chargers
    taken = {(m.charger.subentry_id, m.connector) for m in claimed}
    supply = int(data[CONF_PHASES])
    configured = float(data[CONF_KEEPALIVE])
    members: list[Member] = []
    missing: list[str] = []
    for member in data[CONF_MEMBERS]:
        subentry = find_charger(entry, member[CONF_CHARGER])
        coordinator = chargers.get(subentry.subentry_id) if subentry is not None else None
        label = str(member.get("name") or (subentry.title if subentry else member[CONF_CHARGER]))
        if subentry is None or coordinator is None:
            missing.append(label)
            continue
        problem = member_problem(entry, member, supply)
        connector = int(member[CONF_CONNECTOR])
        name = member_name(coordinator.name, connector)
        if problem is not None:
            _LOGGER.error("%s: member %s is not balanced: %s", group, name, problem)
            continue
        if any(c == coordinator.subentry_id and (n == connector or WHOLE_CHARGER in (n, connector)) for c, n in taken):
            _LOGGER.error("%s: member %s already belongs to another balancing group; left out", group, name)
            continue
        params = coordinator.params
        keepalive = member_keepalive(configured, params.fail_safe_timeout if params.fail_safe else None)
        if configured > 0 and keepalive is not None and keepalive < configured:
            _LOGGER.warning(
                "%s: keep-alive of %s shortened from %g s to %g s to stay inside its fail-safe timeout (%s s)",
                group, name, configured, keepalive, params.fail_safe_timeout,
            )
        members.append(
            Member(
                index=len(members),
                key=f"{coordinator.subentry_id}_{connector}",
                name=name,
                charger=ChargerInterface(coordinator, None if connector == WHOLE_CHARGER else connector),
                connector=connector,
                evse=evse_config(member, params, supply, name, keepalive),
            )
        )
    return members, missing


def reserve_stale(members: Iterable[Member], meter: MeterReading | None) -> MeterReading | None:
    """Add each stale member's held limit to the meter (A on its phases, or W), see the module."""
    stale = [m for m in members if m.stale and m.pin > 0]
    if meter is None or meter.value is None or not stale:
        return meter
    value = meter.value
    if isinstance(value, tuple):
        phases = list(value)
        for member in stale:
            for phase in supply_phases(member.evse):
                phases[phase] += member.pin
        return MeterReading(tuple(phases), meter.timestamp, meter.unit)
    if meter.unit == "A":
        # One current for the whole supply counts as every phase's: add every held limit.
        return MeterReading(value + sum(m.pin for m in stale), meter.timestamp, "A")
    extra = sum(m.pin * VOLTAGE * m.evse.phases for m in stale)
    return MeterReading(value + extra, meter.timestamp, meter.unit)


# -- look-ups in the stored data (also used by the subentry flow) -------------------------------------


def charger_subentries(entry: ConfigEntry) -> list[ConfigSubentry]:
    """Return the charger subentries of a hub entry, in the entry's order."""
    return [sub for sub in entry.subentries.values() if sub.subentry_type == SUBENTRY_CHARGER]


def find_charger(entry: ConfigEntry, reference: str) -> ConfigSubentry | None:
    """Return the charger subentry a member refers to: by subentry id, else by individual address.

    The flow stores subentry ids; hand-written data (the demo's installation file) may use the
    charger's individual address, its subentry's unique id.
    """
    subentry = entry.subentries.get(reference)
    if subentry is not None and subentry.subentry_type == SUBENTRY_CHARGER:
        return subentry
    for sub in charger_subentries(entry):
        if sub.unique_id == reference:
            return sub
    return None


def charger_parameters(subentry: ConfigSubentry) -> ChargerParameters | None:
    """Return the validated ETS parameters of a charger subentry, None when they do not validate."""
    try:
        return load_parameters(subentry.data.get(CONF_PARAMETERS) or {})
    except (vol.Invalid, ValueError):
        return None


def linked_objects(subentry: ConfigSubentry) -> set[int]:
    """Object numbers linked to a group address in a charger subentry."""
    return {int(n) for n, gas in (subentry.data.get(CONF_GROUP_ADDRESSES) or {}).items() if gas}


def member_problem(entry: ConfigEntry, member: Mapping[str, Any], supply_phases: int) -> str | None:
    """Why a member cannot be balanced, as a translation key; None when it can.

    ``charger_missing``; ``connector_missing`` (the model has fewer connectors);
    ``three_phase_member_on_single_phase``, ``two_phase_member_on_single_phase``;
    ``member_limit_not_linked`` (its current-limit object has no group address);
    ``member_no_measurement`` (none of its current or power objects is linked);
    ``two_phase_member_no_measurement`` (a whole two-phase charger without a current or power
    object linked for each connector); ``max_above_user_current`` (the member's maximum exceeds the
    charger's Maximum User Current); ``max_below_two_vehicles`` (a whole charger that splits its
    limit, with a maximum below twice the minimum: two plugged vehicles could never charge).
    """
    subentry = find_charger(entry, member[CONF_CHARGER])
    params = None if subentry is None else charger_parameters(subentry)
    if subentry is None or params is None:
        return "charger_missing"
    connector = member[CONF_CONNECTOR]
    if connector > params.connectors:
        return "connector_missing"
    phases = member_phases(params, connector)
    if phases > 1 and supply_phases == 1:
        return "three_phase_member_on_single_phase" if phases == 3 else "two_phase_member_on_single_phase"
    linked = linked_objects(subentry)
    scope = None if connector == WHOLE_CHARGER else connector
    if limit_object(scope) not in linked:
        return "member_limit_not_linked"
    if not linked.intersection(measurement_objects(params, scope)):
        return "member_no_measurement"
    if phases == 2 and not all(linked.intersection(measurement_objects(params, c)) for c in (1, 2)):
        return "two_phase_member_no_measurement"
    if member[CONF_MAX_CURRENT] > params.max_user_current:
        return "max_above_user_current"
    if member[CONF_MAX_CURRENT] < lowest_maximum(params, connector):
        return "max_below_two_vehicles"
    return None


def member_phases(params: ChargerParameters, connector: int) -> int:
    """Return the supply phases a member draws from: the charger's, or 2 for a whole two-phase charger."""
    return 2 if connector == WHOLE_CHARGER and params.two_phase else params.phases


def lowest_maximum(params: ChargerParameters, connector: int) -> float:
    """Return the lowest maximum (A) a member may have: twice the minimum for a whole charger that splits its limit.

    Two plugged vehicles get half each, at least 6 A (docs/balancing.md, "Two connectors, one limit").
    """
    return float(MIN_CURRENT * (2 if connector == WHOLE_CHARGER and params.splits_limit else 1))


def members_elsewhere(entry: ConfigEntry, own_subentry_id: str | None) -> set[tuple[str, int]]:
    """(charger subentry id, connector) of the members of the hub's other balancing groups."""
    taken: set[tuple[str, int]] = set()
    for sub in entry.subentries.values():
        if sub.subentry_type != SUBENTRY_BALANCING or sub.subentry_id == own_subentry_id:
            continue
        for member in sub.data.get(CONF_MEMBERS) or []:
            charger = find_charger(entry, str(member.get(CONF_CHARGER, "")))
            if charger is not None:
                taken.add((charger.subentry_id, connector_number(member.get(CONF_CONNECTOR))))
    return taken


def overlaps(member: tuple[str, int], taken: set[tuple[str, int]]) -> bool:
    """Return True when ``member`` (charger, connector) is, contains or is within one of ``taken``."""
    charger, connector = member
    return any(
        c == charger and (n == connector or WHOLE_CHARGER in (n, connector)) for c, n in taken
    )


def fail_safe_timeouts(entry: ConfigEntry, members: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Charger name → its Fail-safe Timeout (s) for the members whose charger has fail-safe enabled."""
    found: dict[str, int] = {}
    for member in members:
        subentry = find_charger(entry, member[CONF_CHARGER])
        params = None if subentry is None else charger_parameters(subentry)
        if subentry is not None and params is not None and params.fail_safe:
            found[subentry.title] = params.fail_safe_timeout
    return found


def member_keepalive(configured: float, fail_safe_timeout: int | None) -> float | None:
    """Return a member's keep-alive in seconds (unchanged limits written again), None for none.

    ``configured`` > 0 applies to every member; 0 (automatic) means none, except for a charger with
    "Enable Fail-safe" (``fail_safe_timeout`` in s, None without fail-safe; manual, "Advanced": after
    that many seconds without a signal the charger applies its fail-safe values). Such a member
    gets at most half its timeout, so a lost telegram or a late round still lands in time; never
    below ``MIN_KEEPALIVE``. Rule (docs/balancing.md, "Writes"): no repeated identical writes except
    a keep-alive inside the chargers' fail-safe timeout.
    """
    keepalive = configured if configured > 0 else None
    if fail_safe_timeout is not None:
        half = max(MIN_KEEPALIVE, fail_safe_timeout / 2.0)
        keepalive = half if keepalive is None else min(keepalive, half)
    return keepalive


def keepalive_conflict(configured: float, fail_safe: Mapping[str, int]) -> tuple[str, int] | None:
    """(charger, timeout) when an explicit keep-alive is not below a member's Fail-safe Timeout."""
    if configured <= 0:
        return None
    for name, timeout in sorted(fail_safe.items(), key=lambda item: item[1]):
        if configured >= timeout:
            return name, timeout
    return None


def evse_config(
    member: Mapping[str, Any], params: ChargerParameters, supply_phases: int, name: str, keepalive: float | None
) -> EvseConfig:
    """Build the core's ``EvseConfig`` of a member: maximum capped by Maximum User Current, phases, mode.

    ``phase`` on a three-phase supply: the supply phase of the member's first phase (a single-phase
    member's, a three-phase charger's L1, connector 1 of a two-phase one); 1 on a single-phase supply.
    """
    return EvseConfig(
        max_current=float(min(member[CONF_MAX_CURRENT], params.max_user_current)),
        phases=member_phases(params, int(member[CONF_CONNECTOR])),
        phase=int(member[CONF_PHASE]) if supply_phases == 3 else 1,
        mode=cast("Mode", member[CONF_MODE]),
        name=name,
        keepalive=keepalive,
        circuit=member.get(CONF_CIRCUIT),
    )


def member_name(charger: str, connector: int) -> str:
    """Human name of a member: ``Garage`` or ``Garage connector 1``."""
    return charger if connector == WHOLE_CHARGER else f"{charger} connector {connector}"
