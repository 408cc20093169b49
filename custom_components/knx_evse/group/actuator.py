"""A balancing group's decisions → charger intents: the order of the writes, Start/Stop and retries.

Exactly ``Decision.writes`` are sent, pauses first, then decreases, then raises and starts: the
member's limit (``ChargerInterface.async_apply_limit``), then Start (``async_resume``) when it
resumes or its last Start failed; a pause is a Stop, or a 0 A limit when no start/stop object is
linked (``async_pause``). A resumed member whose charger confirms the limit already skips the limit
write (``_limit_in_force``). Nothing is sent to a stale member; a send that fails is retried on the
next round (``Balancer.force_write``); failing writes are logged once when they start and once when
they go through again.
"""

from __future__ import annotations

import logging

from homeassistant.exceptions import HomeAssistantError

from ..balancing import Balancer, Decision
from .members import Member

_LOGGER = logging.getLogger(__name__)


async def async_apply(group: str, balancer: Balancer, members: list[Member], decision: Decision) -> None:
    """Send ``decision.writes`` of group ``group`` to its ``members`` (see the module docstring)."""

    def order(index: int) -> tuple[int, int]:
        written = members[index].written
        if decision.paused[index]:
            return (0, index)
        return (1 if written is not None and decision.limits[index] < written else 2, index)

    for index in sorted(decision.writes, key=order):
        member = members[index]
        if member.stale:
            balancer.force_write(index)
            continue
        try:
            if decision.paused[index]:
                member.started = False
                await member.charger.async_pause()
                member.written = 0.0
            else:
                resume = index in decision.switches
                starting = resume or not member.started
                if not (resume and _limit_in_force(balancer, member, decision.limits[index])):
                    await member.charger.async_apply_limit(decision.limits[index])
                member.written = decision.limits[index]
                if starting:
                    await member.charger.async_resume()
                    member.started = True
        except HomeAssistantError as err:
            balancer.force_write(index)
            if not member.writes_failing.start(
                "%s: could not write to %s (retried every round): %s", group, member.name, err
            ):
                _LOGGER.debug("%s: could not write to %s: %s", group, member.name, err)
        else:
            member.writes_failing.end("%s: writes to %s go through again", group, member.name)


def _limit_in_force(balancer: Balancer, member: Member, amps: float) -> bool:
    """Return True when a resumed ``member`` needs only its Start: the charger has ``amps``.

    That is when the pause was a Stop (the limit was left alone), the member has no keep-alive (a
    limit write is what keeps a Fail-safe charger alive), and the charger confirms ``amps`` after
    the last write of the limit (``ChargerInterface.confirmed_limit``). Otherwise the limit is
    written before the Start, as always. Saves one telegram per resume at an unchanged limit.
    """
    if not member.charger.has_start_stop or balancer.config.evse_keepalive(member.index) is not None:
        return False
    reported = member.charger.confirmed_limit()
    return reported is not None and abs(reported - amps) <= 1e-6
