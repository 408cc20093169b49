"""The charger's own repair issues: unanswered status reads, charger errors, shared status addresses.

See ``issues.py`` for the issues (``status_address_unanswered``, ``charger_error``,
``charger_error_reset``, ``status_address_shared``); their fix flows are in ``repairs.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later

from ..condition import LoggedCondition
from ..issues import (
    ISSUE_CHARGER_ERROR,
    ISSUE_CHARGER_ERROR_RESET,
    ISSUE_STATUS_ADDRESS_SHARED,
    ISSUE_STATUS_UNANSWERED,
    async_create_issue,
    async_delete_issue,
)
from ..knx.dpt import EvseErrorCode
from ..knx.group_addresses import status_address_clashes
from ..knx.objects import OBJECTS
from .coordinator import SOURCE_BUS, ChargerCoordinator

_LOGGER = logging.getLogger(__name__)

READ_ANSWER_TIMEOUT: Final = 30.0
"""s after the last start-up read before a status object without any value counts as unanswered."""

OBJECT_ERROR_CODE: Final = 19
OBJECT_COMMUNICATION_ERROR: Final = 20
OBJECT_RESET: Final = 5
_NO_ERROR: Final = frozenset({EvseErrorCode.NO_ERROR, EvseErrorCode.RESERVED})


def object_label(coordinator: ChargerCoordinator, number: int) -> str:
    """Return ``<number> <name> (<group addresses>)`` of one of the charger's objects."""
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
      it waits ``READ_ANSWER_TIMEOUT`` s for the objects still without a value. A read is judged
      only if it could have been answered: the connection up and the charger not stale from the
      first read of its batch to the check (``reachable_since``), and the charger heard after the
      last read of the batch was sent (a read again is closed by one that answers); otherwise it is
      read again once the charger is reachable. A read lost on the way (the charger's own line or
      tunnel down for a few seconds, too short to make it stale) looks like an object that is not
      linked, so a silent object is read once more (``retry``) before ``status_address_unanswered``
      is raised for it: only objects silent twice with the bus and the charger up are in the issue.
      A value arriving later removes the object from the issue, silently; the issue is logged once
      when raised and once when every object has answered.
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
        self.retry: set[int] = set()
        """Silent objects to read again when the charger is reachable."""
        self._requested: set[int] = set()
        self._again: set[int] = set()
        """Objects of the pending batch that are read for the second time."""
        self._window_start = 0.0
        self._window_end = 0.0
        self._unanswered_logged = LoggedCondition(_LOGGER)
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
        self._again, self._requested = self.pending & self._requested, set()
        self.retry -= self.pending
        self._window_start = self.coordinator.last_read_plan_started
        self._window_end = self.coordinator.last_read_plan_ended
        self._timer = async_call_later(self.hass, READ_ANSWER_TIMEOUT, self._check_answers)

    @callback
    def _check_answers(self, _now: datetime) -> None:
        """Judge the silent objects of a plan: the issue, a retry, or nothing (see the class).

        A charger that sent nothing at all is off, unreachable or not yet programmed: that is not a
        linking problem, and unlinking every object would do harm. Nothing is raised then.
        """
        self._timer = None
        coordinator = self.coordinator
        silent = {n for n in self.pending if coordinator.state(n) is None}
        self.pending = set()
        if not any(
            (state := coordinator.state(n)) is not None and state.source == SOURCE_BUS
            for n in coordinator.group_addresses
        ):
            _LOGGER.debug("%s: nothing heard from the charger; is it on the bus?", coordinator.name)
            silent = set()
        since = coordinator.reachable_since
        if since is None or since > self._window_start or coordinator.last_heard < self._window_end:
            if silent:
                _LOGGER.debug(
                    "%s: objects %s unanswered while the charger or the connection may have been down; "
                    "read again when both are up",
                    coordinator.name,
                    sorted(silent),
                )
            self.retry |= silent
        else:
            self.retry |= silent - self._again
            if silent & self._again:
                self.unanswered |= silent & self._again
                self._update_unanswered_issue()
        self._retry_if_reachable()

    def _retry_if_reachable(self) -> None:
        """Read the objects in ``retry`` again when the charger is reachable and no other reads are under way."""
        coordinator = self.coordinator
        if self.retry and coordinator.available and coordinator.startup_reads_done and self._timer is None:
            numbers, self.retry = sorted(self.retry), set()
            self._requested = set(numbers)
            coordinator.async_request_reads(numbers)

    @callback
    def _object_changed(self, number: int | None) -> None:
        if number is None:
            self._retry_if_reachable()
            return
        self.retry.discard(number)
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
            self._unanswered_logged.end("%s: every status object read at start-up has answered", self.coordinator.name)
            return
        self._unanswered_logged.start(
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
                    f"- {object_label(self.coordinator, n)}" for n in sorted(self.unanswered)
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
