"""Fix flows of knx_evse's repair issues (the issues themselves: ``issues.py``).

- ``status_address_unanswered``: read the silent status objects again, or unlink them from the charger.
- ``charger_error_reset``: send the charger's reset.

Rejected KNX Secure credentials (a ``.knxkeys`` file that no longer decrypts, a changed tunnel
password) are not a repair issue: set-up raises ``ConfigEntryAuthFailed`` and Home Assistant starts
the hub's reauthentication flow (``config_flow.KnxEvseConfigFlow.async_step_reauth``), which asks
for the new keyring or credentials, tests them and reloads the hub. An issue on top would show the
same problem twice with two different fixes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .charger.coordinator import ChargerCoordinator
from .charger.repairs import OBJECT_RESET, object_label
from .compat import RepairsFlowResult, vol
from .const import CONF_GROUP_ADDRESSES, DOMAIN
from .issues import ISSUE_CHARGER_ERROR_RESET, ISSUE_KEYS, ISSUE_STATUS_UNANSWERED, IssueData

_LOGGER = logging.getLogger(__name__)

FixFlowFactory = Callable[[HomeAssistant, str, IssueData], RepairsFlow]


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
        return "\n".join(f"- {object_label(coordinator, n)}" for n in self._unanswered(coordinator))

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
