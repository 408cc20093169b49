"""Repair issues of knx_evse: every issue is created and deleted here (fix flows: ``repairs.py``).

Issues (translation keys under ``issues`` in ``translations/en.json``; the issue id is
``<translation key>_<entry id>[_<subentry id>]``, so each hub, charger or balancing group has its own):

- ``status_address_unanswered`` (fixable): status objects the coordinator read at start-up that had
  still sent nothing ``READ_ANSWER_TIMEOUT`` s after the last read, and again after a second read,
  with the connection up and the charger answering throughout, while others did answer (a charger
  that answers nothing is off or unreachable, not mislinked; ``charger.repairs``). Usually the group address is
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
- ``meter_entity_missing``, ``meter_unusable``, ``meter_reversed`` and ``balancing_member_removed``:
  raised by the balancing groups (``group.meter``, ``group.group``); ``plan_unreachable`` by a
  group's plans (``group.planner``) as soon as a member's plan cannot be met, with the energy it
  reaches; deleted once it can (or the plan ends). A runtime that wants a fix flow for its issue
  registers a factory with ``repairs.register_fix_flow``.
- ``circuit_config_invalid``: a group's stored circuits form no tree the pure core accepts (a loop,
  a limit above its parent's, an empty circuit, ...; ``group.circuits``): the group does not balance
  until the data is fixed (reconfigure the group). ``circuit_meter_problem``: a circuit's meter is
  missing, stale, unavailable, invalid, absurd or reversed, so that circuit's members are in the
  fallback; one issue per circuit, deleted when its meter is usable again.

Every issue stores ``translation_key``, ``entry_id`` and ``subentry_id`` in its data; issues of
subentries that no longer exist are deleted when the hub is set up (``async_cleanup_issues``) and all
of a hub's issues when the hub is removed.
"""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

ISSUE_STATUS_UNANSWERED: Final = "status_address_unanswered"
ISSUE_CHARGER_ERROR: Final = "charger_error"
ISSUE_CHARGER_ERROR_RESET: Final = "charger_error_reset"
ISSUE_STATUS_ADDRESS_SHARED: Final = "status_address_shared"
ISSUE_METER_ENTITY_MISSING: Final = "meter_entity_missing"
ISSUE_BALANCING_MEMBER_REMOVED: Final = "balancing_member_removed"
ISSUE_METER_UNUSABLE: Final = "meter_unusable"
ISSUE_METER_REVERSED: Final = "meter_reversed"
ISSUE_CHARGER_IGNORES_LIMIT: Final = "charger_ignores_limit"
ISSUE_PLAN_UNREACHABLE: Final = "plan_unreachable"
ISSUE_CIRCUIT_CONFIG_INVALID: Final = "circuit_config_invalid"
ISSUE_CIRCUIT_METER_PROBLEM: Final = "circuit_meter_problem"
ISSUE_KEYS: Final = frozenset(
    {
        ISSUE_STATUS_UNANSWERED,
        ISSUE_CHARGER_ERROR,
        ISSUE_CHARGER_ERROR_RESET,
        ISSUE_STATUS_ADDRESS_SHARED,
        ISSUE_METER_ENTITY_MISSING,
        ISSUE_BALANCING_MEMBER_REMOVED,
        ISSUE_METER_UNUSABLE,
        ISSUE_METER_REVERSED,
        ISSUE_CHARGER_IGNORES_LIMIT,
        ISSUE_PLAN_UNREACHABLE,
        ISSUE_CIRCUIT_CONFIG_INVALID,
        ISSUE_CIRCUIT_METER_PROBLEM,
    }
)
"""Every issue translation key this integration raises (each has an ``issues`` entry in en.json)."""

IssueData = dict[str, str | int | float | None]


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


@callback
def async_create_charger_ignores_limit_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, *, group: str, member: str, member_key: str
) -> str:
    """Raise ``charger_ignores_limit``: ``member`` of group ``group`` draws on after its Stop."""
    return async_create_issue(
        hass,
        ISSUE_CHARGER_IGNORES_LIMIT,
        entry_id=entry_id,
        subentry_id=f"{group_subentry_id}_{member_key}",
        placeholders={"group": group, "charger": member},
        severity=ir.IssueSeverity.ERROR,
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


@callback
def async_create_meter_unusable_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, *, group: str, entity_id: str, problem: str
) -> str:
    """Raise ``meter_unusable``: the meter entity of ``group`` exists but gives no usable value.

    ``problem`` is the core's meter state (stale, unavailable, invalid, absurd; reversed has its own issue).
    """
    return async_create_issue(
        hass,
        ISSUE_METER_UNUSABLE,
        entry_id=entry_id,
        subentry_id=group_subentry_id,
        placeholders={"group": group, "entity_id": entity_id, "problem": problem},
        severity=ir.IssueSeverity.ERROR,
    )


@callback
def async_create_meter_reversed_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, *, group: str, entity_id: str
) -> str:
    """Raise ``meter_reversed``: the meter of ``group`` looks like it counts import as export.

    The fix is the group's "Invert the sign" option (subentry reconfigure); reconfiguring reloads the
    group, which clears the core's latched verdict and, with it, the issue.
    """
    return async_create_issue(
        hass,
        ISSUE_METER_REVERSED,
        entry_id=entry_id,
        subentry_id=group_subentry_id,
        placeholders={"group": group, "entity_id": entity_id},
        severity=ir.IssueSeverity.ERROR,
    )


@callback
def async_create_plan_unreachable_issue(
    hass: HomeAssistant, entry_id: str, subentry_id: str, *, member: str, target: str, reachable: str, alone: str,
    departure: str,
) -> str:
    """Raise ``plan_unreachable``: ``member``'s plan of ``target`` kWh by ``departure`` reaches ``reachable`` kWh.

    ``alone``: the kWh it would reach with the supply to itself (more than ``reachable`` when the other
    plans take the room, the same when there is not enough time). ``subentry_id``: the group's and the
    member's key.
    """
    return async_create_issue(
        hass,
        ISSUE_PLAN_UNREACHABLE,
        entry_id=entry_id,
        subentry_id=subentry_id,
        placeholders={"member": member, "target": target, "reachable": reachable, "alone": alone,
                      "departure": departure},
    )


@callback
def async_create_circuit_config_invalid_issue(
    hass: HomeAssistant, entry_id: str, group_subentry_id: str, *, group: str, problem: str
) -> str:
    """Raise ``circuit_config_invalid``: the circuits of ``group`` are refused (``problem``: the core's words)."""
    return async_create_issue(
        hass,
        ISSUE_CIRCUIT_CONFIG_INVALID,
        entry_id=entry_id,
        subentry_id=group_subentry_id,
        placeholders={"group": group, "problem": problem},
        severity=ir.IssueSeverity.ERROR,
    )


@callback
def async_create_circuit_meter_problem_issue(
    hass: HomeAssistant, entry_id: str, circuit_key: str, *, group: str, circuit: str, entity_id: str, problem: str
) -> str:
    """Raise ``circuit_meter_problem``: the meter of ``circuit`` in ``group`` is not usable.

    ``circuit_key``: ``<group subentry id>_<circuit id>``; ``problem``: missing, or the core's meter
    state (stale, unavailable, invalid, absurd, reversed).
    """
    return async_create_issue(
        hass,
        ISSUE_CIRCUIT_METER_PROBLEM,
        entry_id=entry_id,
        subentry_id=circuit_key,
        placeholders={"group": group, "circuit": circuit, "entity_id": entity_id, "problem": problem},
        severity=ir.IssueSeverity.ERROR,
    )
