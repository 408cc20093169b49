"""The repair issues of a balancing group's members: chargers removed, chargers that ignore their limit.

``balancing_member_removed`` names the members whose charger subentry is gone (the group balances the
others); ``charger_ignores_limit`` is raised per member that draws on after its Stop
(``Decision.disobedient``) and deleted once it obeys. Each start and end is logged once.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant

from .. import issues
from .members import Member

_LOGGER = logging.getLogger(__name__)


class MemberIssues:
    """The member issues of one group (see the module docstring)."""

    def __init__(self, hass: HomeAssistant, entry_id: str, subentry_id: str, group: str) -> None:
        """Raise the issues of group ``group`` (its name), subentry ``subentry_id`` of hub ``entry_id``."""
        self.hass = hass
        self.entry_id = entry_id
        self.subentry_id = subentry_id
        self.group = group
        self._disobedient: set[str] = set()  # member keys with a charger_ignores_limit issue

    def update_removed(self, missing: list[str]) -> None:
        """Raise ``balancing_member_removed`` for the names in ``missing``, delete it when there are none."""
        if not missing:
            issues.async_delete_issue(
                self.hass, issues.ISSUE_BALANCING_MEMBER_REMOVED, entry_id=self.entry_id, subentry_id=self.subentry_id
            )
            return
        _LOGGER.warning("%s: member charger(s) %s no longer exist", self.group, ", ".join(missing))
        issues.async_create_balancing_member_removed_issue(
            self.hass, self.entry_id, self.subentry_id, self.group, ", ".join(missing)
        )

    def report_disobedient(self, members: list[Member], indices: tuple[int, ...]) -> None:
        """Raise a repair issue per member that draws on after its Stop; delete it once it obeys."""
        for index, member in enumerate(members):
            if index in indices:
                if member.key not in self._disobedient:
                    _LOGGER.warning("%s: %s does not follow its current limit", self.group, member.name)
                    self._disobedient.add(member.key)
                issues.async_create_charger_ignores_limit_issue(
                    self.hass, self.entry_id, self.subentry_id, group=self.group, member=member.name,
                    member_key=member.key,
                )
            elif member.key in self._disobedient:
                _LOGGER.info("%s: %s follows its current limit again", self.group, member.name)
                self._disobedient.discard(member.key)
                issues.async_delete_issue(
                    self.hass,
                    issues.ISSUE_CHARGER_IGNORES_LIMIT,
                    entry_id=self.entry_id,
                    subentry_id=f"{self.subentry_id}_{member.key}",
                )
