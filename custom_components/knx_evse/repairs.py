"""Repair issues of knx_evse and their fix flows.

Issues (translation keys under ``issues`` in ``translations/en.json``; the issue id is
``<translation key>_<entry id>[_<subentry id>]``, so each hub, charger or balancing group has its own):

- ``status_address_unanswered`` (fixable): status objects the coordinator read at start-up that had
  still sent nothing ``READ_ANSWER_TIMEOUT`` s after the last read, while others did answer (a
  charger that answers nothing is off or unreachable, not mislinked). Usually the group address is
  not linked to that object in ETS, or the object's Read flag is off. Fix flow: read again, or unlink
  the objects from the charger. Cleared as soon as a value arrives.
- ``charger_error`` / ``charger_error_reset`` (the latter fixable when the charger's reset object 5
  is linked: the fix flow sends a reset): object 19 reports an error code other than "no error", or
  object 20 reports a communication error with the EVSE. Cleared when both are back to normal.
- ``status_address_shared``: two chargers of the hub share a status address (one sends a status
  object on it, the other has a status object linked to it), so each shows the other's values as its
  own. The charger subentry flow refuses this; data stored before that check (or edited by hand) is
  checked at every set-up (``async_check_shared_status_addresses``). The issue is on the charger set
  up later and names both chargers, the addresses and the objects; reconfiguring either charger
  reloads the hub and clears it.
- ``meter_entity_missing`` and ``balancing_member_removed``: raised by the balancing group runtime
  through ``async_create_issue`` / ``async_delete_issue`` (translations defined here). A runtime that
  wants a fix flow for its issue registers a factory with ``register_fix_flow``.

Every issue stores ``translation_key``, ``entry_id`` and ``subentry_id`` in its data; issues of
subentries that no longer exist are deleted when the hub is set up (``async_cleanup_issues``) and all
of a hub's issues when the hub is removed.

Rejected KNX Secure credentials (a ``.knxkeys`` file that no longer decrypts, a changed tunnel
password) are not a repair issue: set-up raises ``ConfigEntryAuthFailed`` and Home Assistant starts
the hub's reauthentication flow (``config_flow.KnxEvseConfigFlow.async_step_reauth``), which asks
for the new keyring or credentials, tests them and reloads the hub. An issue on top would show the
same problem twice with two different fixes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from .charger.coordinator import SOURCE_BUS
from .compat import RepairsFlowResult, vol
from .const import CONF_GROUP_ADDRESSES, DOMAIN
from .knx.dpt import EvseErrorCode
from .knx.group_addresses import status_address_clashes
from .knx.objects import OBJECTS

if TYPE_CHECKING:
    from .charger.coordinator import ChargerCoordinator

_LOGGER = logging.getLogger(__name__)

ISSUE_STATUS_UNANSWERED: Final = "status_address_unanswered"
ISSUE_CHARGER_ERROR: Final = "charger_error"
ISSUE_CHARGER_ERROR_RESET: Final = "charger_error_reset"
ISSUE_STATUS_ADDRESS_SHARED: Final = "status_address_shared"
ISSUE_METER_ENTITY_MISSING: Final = "meter_entity_missing"
ISSUE_BALANCING_MEMBER_REMOVED: Final = "balancing_member_removed"
ISSUE_KEYS: Final = frozenset(
    {
        ISSUE_STATUS_UNANSWERED,
        ISSUE_CHARGER_ERROR,
        ISSUE_CHARGER_ERROR_RESET,
        ISSUE_STATUS_ADDRESS_SHARED,
        ISSUE_METER_ENTITY_MISSING,
        ISSUE_BALANCING_MEMBER_REMOVED,
    }
)
"""Every issue translation key this integration raises (each has an ``issues`` entry in en.json)."""

READ_ANSWER_TIMEOUT: Final = 30.0
"""s after the last start-up read before a status object without any value counts as unanswered."""

OBJECT_ERROR_CODE: Final = 19
OBJECT_COMMUNICATION_ERROR: Final = 20
OBJECT_RESET: Final = 5
_NO_ERROR: Final = frozenset({EvseErrorCode.NO_ERROR, EvseErrorCode.RESERVED})

IssueData = dict[str, str | int | float | None]
FixFlowFactory = Callable[[HomeAssistant, str, IssueData], RepairsFlow]


# -- creating and deleting issues ----------------------------------------------------------------


def issue_id(translation_key: str, entry_id: str, subentry_id: str | None = None) -> str:
    """Issue id of ``translation_key`` for a hub entry, or for one of its subentries."""
    return f"{translation_key}_{entry_id}" + (f"_{subentry_id}" if subentry_id else "")


@callback
def async_create_issue(
    hass: HomeAssistant,
    translation_key: str,
    *,
    entry_id: str,
    subentry_id: str | None = None,
    placeholders: dict[str, str] | None = None,
    fixable: bool = False,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
    issue_key: str | None = None,
    data: IssueData | None = None,
) -> str:
    """Create (or update) a knx_evse repair issue and return its id.

    ``translation_key`` must be one of ``ISSUE_KEYS``; ``issue_key`` (default: the translation key)
    names the issue in its id, so two translations can share one issue (``charger_error`` and
    ``charger_error_reset``); ``data`` is kept with the issue for its fix flow. The issue is not
    persistent: its cause is checked again at every start.
    """
    if translation_key not in ISSUE_KEYS:
        raise ValueError(f"unknown knx_evse issue {translation_key!r}")
    identifier = issue_id(issue_key or translation_key, entry_id, subentry_id)
    ir.async_create_issue(
        hass,
        DOMAIN,
        identifier,
        is_fixable=fixable,
        is_persistent=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        data={
            **(data or {}),
            "translation_key": translation_key,
            "entry_id": entry_id,
            "subentry_id": subentry_id,
        },
    )
    return identifier


@callback
def async_delete_issue(
    hass: HomeAssistant, translation_key: str, *, entry_id: str, subentry_id: str | None = None
) -> None:
    """Delete the issue ``translation_key`` of a hub entry or subentry, if it exists."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(translation_key, entry_id, subentry_id))


@callback
def async_create_meter_entity_missing_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, group: str, entity_id: str
) -> str:
    """Raise ``meter_entity_missing``: the meter entity of balancing group ``group`` is gone."""
    return async_create_issue(
        hass,
        ISSUE_METER_ENTITY_MISSING,
        entry_id=entry_id,
        subentry_id=group_subentry_id,
        placeholders={"group": group, "entity_id": entity_id},
        severity=ir.IssueSeverity.ERROR,
    )


@callback
def async_create_balancing_member_removed_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, group: str, charger: str
) -> str:
    """Raise ``balancing_member_removed``: a member charger of group ``group`` no longer exists."""
    return async_create_issue(
        hass,
        ISSUE_BALANCING_MEMBER_REMOVED,
        entry_id=entry_id,
        subentry_id=group_subentry_id,
        placeholders={"group": group, "charger": charger},
    )


def _issues_of(hass: HomeAssistant, entry_id: str) -> list[ir.IssueEntry]:
    return [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.data is not None and issue.data.get("entry_id") == entry_id
    ]


@callback
def async_cleanup_issues(hass: HomeAssistant, entry: ConfigEntry) -> int:
    """Delete the issues of subentries ``entry`` no longer has; return how many were deleted."""
    stale = [
        issue.issue_id
        for issue in _issues_of(hass, entry.entry_id)
        if issue.data is not None
        and issue.data.get("subentry_id")
        and issue.data["subentry_id"] not in entry.subentries
    ]
    for identifier in stale:
        ir.async_delete_issue(hass, DOMAIN, identifier)
    return len(stale)


@callback
def async_delete_entry_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Delete every issue of a hub entry (called when the entry is removed)."""
    for issue in _issues_of(hass, entry_id):
        ir.async_delete_issue(hass, DOMAIN, issue.issue_id)


# -- watching a charger ------------------------------------------------------------------------


def _object_label(coordinator: ChargerCoordinator, number: int) -> str:
    obj = OBJECTS[number]
    addresses = ", ".join(coordinator.group_addresses.get(number, []))
    return f"{number} {obj.name} ({addresses})"


def _error_text(code: Any, communication: Any) -> str | None:
    """Describe what objects 19/20 report for the issue; None when there is no error."""
    problems = []
    if isinstance(code, EvseErrorCode) and code not in _NO_ERROR:
        problems.append(f"error code {code.value} ({code.name.lower().replace('_', ' ')})")
    if communication is True:
        problems.append("communication error with the EVSE")
    return "; ".join(problems) or None


class ChargerRepairs:
    """Raises and clears the issues of one charger from its coordinator's state.

    - After the coordinator's start-up reads (``ChargerCoordinator.async_add_reads_done_listener``)
      it waits ``READ_ANSWER_TIMEOUT`` s and raises ``status_address_unanswered`` for the objects
      still without a value; a value arriving later removes the object from the issue.
    - On every value of objects 19/20 it raises or clears ``charger_error`` (``charger_error_reset``
      when object 5 is linked).
    """

    def __init__(self, hass: HomeAssistant, coordinator: ChargerCoordinator) -> None:
        """Watch ``coordinator``; nothing is subscribed before ``async_start``."""
        self.hass = hass
        self.coordinator = coordinator
        self.entry_id = coordinator.entry.entry_id
        self.subentry_id = coordinator.subentry_id
        self.pending: set[int] = set()
        self.unanswered: set[int] = set()
        self._timer: CALLBACK_TYPE | None = None
        self._unsubs: list[CALLBACK_TYPE] = []

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Subscribe to the coordinator; return the function that stops watching."""
        coordinator = self.coordinator
        self._unsubs.append(coordinator.async_add_reads_done_listener(self._reads_done))
        self._unsubs.append(coordinator.async_add_listener(self._object_changed, coordinator.group_addresses))
        if coordinator.last_read_plan:  # the reads finished before we subscribed
            self._reads_done(coordinator.last_read_plan)
        self._update_error_issue()
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Unsubscribe and cancel a pending check (the issues stay until their cause is re-checked)."""
        while self._unsubs:
            self._unsubs.pop()()
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer()
            self._timer = None

    @callback
    def _reads_done(self, plan: list[int]) -> None:
        self._cancel_timer()
        self.pending = set(plan)
        self._timer = async_call_later(self.hass, READ_ANSWER_TIMEOUT, self._check_answers)

    @callback
    def _check_answers(self, _now: datetime) -> None:
        """Raise the issue for the silent objects of a plan, unless nothing was ever heard from the charger.

        A charger that sent nothing at all is off, unreachable or not yet programmed: that is not a
        linking problem, and unlinking every object would do harm. Nothing is raised then.
        """
        self._timer = None
        coordinator = self.coordinator
        silent = {n for n in self.pending if coordinator.state(n) is None}
        if not any(
            (state := coordinator.state(n)) is not None and state.source == SOURCE_BUS
            for n in coordinator.group_addresses
        ):
            _LOGGER.debug("%s: nothing heard from the charger; is it on the bus?", coordinator.name)
            silent = set()
        self.unanswered = silent
        self.pending = set()
        self._update_unanswered_issue()

    @callback
    def _object_changed(self, number: int | None) -> None:
        if number is None:
            return
        if number in self.unanswered:
            self.unanswered.discard(number)
            self._update_unanswered_issue()
        if number in (OBJECT_ERROR_CODE, OBJECT_COMMUNICATION_ERROR):
            self._update_error_issue()

    def _update_unanswered_issue(self) -> None:
        if not self.unanswered:
            async_delete_issue(
                self.hass, ISSUE_STATUS_UNANSWERED, entry_id=self.entry_id, subentry_id=self.subentry_id
            )
            return
        _LOGGER.warning(
            "%s: no answer to the start-up read of objects %s", self.coordinator.name, sorted(self.unanswered)
        )
        async_create_issue(
            self.hass,
            ISSUE_STATUS_UNANSWERED,
            entry_id=self.entry_id,
            subentry_id=self.subentry_id,
            placeholders={
                "charger": self.coordinator.name,
                "objects": "\n".join(
                    f"- {_object_label(self.coordinator, n)}" for n in sorted(self.unanswered)
                ),
            },
            fixable=True,
            data={"objects": ",".join(str(n) for n in sorted(self.unanswered))},
        )

    def _update_error_issue(self) -> None:
        """Raise, update or clear the error issue; leave it as it is while objects 19/20 are unknown."""
        coordinator = self.coordinator
        code, communication = (
            coordinator.value(OBJECT_ERROR_CODE),
            coordinator.value(OBJECT_COMMUNICATION_ERROR),
        )
        if code is None and communication is None:
            return
        text = _error_text(code, communication)
        if text is None:
            async_delete_issue(
                self.hass, ISSUE_CHARGER_ERROR, entry_id=self.entry_id, subentry_id=self.subentry_id
            )
            return
        resettable = coordinator.has_object(OBJECT_RESET)
        async_create_issue(
            self.hass,
            ISSUE_CHARGER_ERROR_RESET if resettable else ISSUE_CHARGER_ERROR,
            issue_key=ISSUE_CHARGER_ERROR,
            entry_id=self.entry_id,
            subentry_id=self.subentry_id,
            placeholders={"charger": coordinator.name, "error": text},
            fixable=resettable,
            severity=ir.IssueSeverity.ERROR,
        )


@callback
def async_setup_charger_repairs(
    hass: HomeAssistant, coordinators: Iterable[ChargerCoordinator]
) -> CALLBACK_TYPE:
    """Start a ``ChargerRepairs`` per charger; return the function that stops them all."""
    stops = [ChargerRepairs(hass, coordinator).async_start() for coordinator in coordinators]

    @callback
    def stop() -> None:
        for stop_one in stops:
            stop_one()

    return stop


@callback
def async_check_shared_status_addresses(
    hass: HomeAssistant, entry_id: str, chargers: Mapping[str, ChargerCoordinator]
) -> int:
    """Raise or clear ``status_address_shared`` for each charger of a hub; return how many were raised.

    ``chargers`` maps subentry ids to coordinators in set-up order; each charger is compared with the
    ones before it, so a clash between two chargers is reported once, on the later one, and logged
    as an error as well.
    """
    raised = 0
    earlier: dict[str, Mapping[int, Iterable[str]]] = {}
    for subentry_id, coordinator in chargers.items():
        clashes = status_address_clashes(coordinator.group_addresses, earlier)
        earlier[coordinator.name] = coordinator.group_addresses
        if not clashes:
            async_delete_issue(hass, ISSUE_STATUS_ADDRESS_SHARED, entry_id=entry_id, subentry_id=subentry_id)
            continue
        lines = []
        for number, address, other, theirs in clashes:
            _LOGGER.error(
                "Chargers %s and %s share the status address %s (objects %s and %s): each shows the "
                "other's values. Reconfigure one of them with addresses of its own",
                coordinator.name,
                other,
                address,
                number,
                theirs,
            )
            lines.append(
                f"- {address}: object {number} {OBJECTS[number].name} of {coordinator.name}, "
                f"object {theirs} {OBJECTS[theirs].name} of {other}"
            )
        async_create_issue(
            hass,
            ISSUE_STATUS_ADDRESS_SHARED,
            entry_id=entry_id,
            subentry_id=subentry_id,
            placeholders={
                "charger": coordinator.name,
                "others": ", ".join(sorted({other for _, _, other, _ in clashes})),
                "clashes": "\n".join(lines),
            },
            severity=ir.IssueSeverity.ERROR,
        )
        raised += 1
    return raised


# -- fix flows ---------------------------------------------------------------------------------


def _loaded_entry(hass: HomeAssistant, data: IssueData) -> ConfigEntry | None:
    entry_id = data.get("entry_id")
    entry = hass.config_entries.async_get_entry(str(entry_id)) if entry_id else None
    return entry if entry is not None and entry.domain == DOMAIN else None


def _coordinator(hass: HomeAssistant, data: IssueData) -> ChargerCoordinator | None:
    entry = _loaded_entry(hass, data)
    if entry is None or entry.state is not ConfigEntryState.LOADED:
        return None
    chargers: dict[str, ChargerCoordinator] = entry.runtime_data.chargers
    return chargers.get(str(data.get("subentry_id")))


class UnansweredStatusRepairFlow(RepairsFlow):
    """Read the unanswered status objects again, or unlink them from the charger."""

    def __init__(self, data: IssueData) -> None:
        """Keep the issue data (hub entry and charger subentry)."""
        self._data = data

    def _charger(self) -> ChargerCoordinator | None:
        return _coordinator(self.hass, self._data)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Offer the two fixes (a menu; the input the repairs manager passes here is ignored)."""
        coordinator = self._charger()
        if coordinator is None:
            return self.async_abort(reason="charger_not_loaded")
        return self.async_show_menu(
            step_id="init",
            menu_options=["retry", "unlink"],
            description_placeholders={"charger": coordinator.name, "objects": self._objects(coordinator)},
        )

    def _unanswered(self, coordinator: ChargerCoordinator) -> list[int]:
        """Return the issue's objects that are still linked and still without a value."""
        numbers = [int(n) for n in str(self._data.get("objects") or "").split(",") if n]
        return [n for n in numbers if coordinator.has_object(n) and coordinator.state(n) is None]

    def _objects(self, coordinator: ChargerCoordinator) -> str:
        return "\n".join(f"- {_object_label(coordinator, n)}" for n in self._unanswered(coordinator))

    async def async_step_retry(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Send the reads again; the issue comes back if they stay unanswered."""
        coordinator = self._charger()
        if coordinator is None:
            return self.async_abort(reason="charger_not_loaded")
        if not coordinator.available:
            return self.async_abort(reason="not_connected")
        coordinator.async_request_reads(self._unanswered(coordinator))
        return self.async_create_entry(data={})

    async def async_step_unlink(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Remove the objects' group addresses from the charger; the hub reloads."""
        coordinator = self._charger()
        if coordinator is None:
            return self.async_abort(reason="charger_not_loaded")
        numbers = {str(n) for n in self._unanswered(coordinator)}
        entry = coordinator.entry
        subentry = entry.subentries[coordinator.subentry_id]
        addresses = {
            key: value
            for key, value in subentry.data.get(CONF_GROUP_ADDRESSES, {}).items()
            if key not in numbers
        }
        self.hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_GROUP_ADDRESSES: addresses}
        )
        return self.async_create_entry(data={})


class ChargerResetRepairFlow(RepairsFlow):
    """Send the charger's reset (object 5) after the user checked it."""

    def __init__(self, data: IssueData) -> None:
        """Keep the issue data (hub entry and charger subentry)."""
        self._data = data

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Start with the confirmation (the repairs manager passes the issue id as input here)."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Confirm, then write 1 to the reset object."""
        coordinator = _coordinator(self.hass, self._data)
        if coordinator is None:
            return self.async_abort(reason="charger_not_loaded")
        if user_input is not None:
            try:
                await coordinator.async_write_object(OBJECT_RESET, True)
            except HomeAssistantError as err:
                _LOGGER.warning("%s: reset not sent: %s", coordinator.name, err)
                return self.async_abort(reason="not_connected")
            return self.async_create_entry(data={})
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self.issue_id)
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders=dict(issue.translation_placeholders or {}) if issue else None,
        )


_FIX_FLOWS: dict[str, FixFlowFactory] = {
    ISSUE_STATUS_UNANSWERED: lambda hass, issue, data: UnansweredStatusRepairFlow(data),
    ISSUE_CHARGER_ERROR_RESET: lambda hass, issue, data: ChargerResetRepairFlow(data),
}


def register_fix_flow(translation_key: str, factory: FixFlowFactory) -> None:
    """Register the fix flow of a fixable issue (e.g. the balancing group's)."""
    if translation_key not in ISSUE_KEYS:
        raise ValueError(f"unknown knx_evse issue {translation_key!r}")
    _FIX_FLOWS[translation_key] = factory


async def async_create_fix_flow(hass: HomeAssistant, issue_id: str, data: IssueData | None) -> RepairsFlow:
    """Create the fix flow of a fixable issue (repairs platform); a plain confirmation if none."""
    key = str((data or {}).get("translation_key", ""))
    factory = _FIX_FLOWS.get(key)
    if factory is None:
        return ConfirmRepairFlow()
    return factory(hass, issue_id, data or {})
