"""Manual writes to a charger a balancing group manages: the member's override, or a translated refusal.

Rule (docs/balancing.md, "Manual writes"): what the group manages, a write from a number or switch
entity (a person, an automation) becomes the member's one-shot override, exactly as the service
``knx_evse.set_current_limit``; the group then writes it within the breaker budget. Per object, as
``ChargerInterface.write_role`` names it:

- the member's *Current limit* (``"limit"``): X A is the override X (0 pauses; otherwise
  ``min_current`` up to the member's maximum, else ``override_out_of_range``);
- the member's *Charge* switch (``"stop"``, the one start/stop object the group pauses it with): off
  is the override 0 (pause), on ends that pause (back to the member's charge mode) and keeps an
  override in amperes;
- any other limit, power limit, start/stop or pause object that acts on the member (``"other"``)
  is refused with ``managed_by_balancing_group``, and nothing is sent.

Objects of chargers (or connectors) that no enabled group balances are written as usual.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.exceptions import ServiceValidationError

from ..charger.coordinator import ChargerCoordinator
from ..const import DOMAIN
from ..knx.objects import OBJECTS
from ..runtime import KnxEvseRuntime
from .data import finite
from .group import BalancingGroup
from .members import Member


def check_override(group: BalancingGroup, member: Member, amps: float) -> None:
    """Raise translated ``override_out_of_range`` unless ``amps`` is 0 or ``min_current``-member maximum."""
    low = group.config.min_current
    if not (finite(amps) and (amps == 0 or low <= amps <= member.max_current)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="override_out_of_range",
            translation_placeholders={
                "member": member.name,
                "value": f"{amps:g}",
                "min": f"{low:g}",
                "max": f"{member.max_current:g}",
            },
        )


@callback
def route_manual_write(coordinator: ChargerCoordinator, number: int, value: Any) -> bool:
    """Route an entity's write of ``value`` to object ``number`` of ``coordinator`` (see the module).

    Returns False when no enabled group manages the object (the caller writes it as usual), True
    once the write became the member's override (the group's next round, started at once, writes
    the charger). Raises translated ServiceValidationError ``override_out_of_range`` or
    ``managed_by_balancing_group`` before anything changes.
    """
    runtime: KnxEvseRuntime = coordinator.entry.runtime_data
    found = runtime.managing(coordinator.subentry_id, number)
    if found is None:
        return False
    group, member, role = found
    if role == "limit":
        check_override(group, member, float(value))
        group.async_set_override(member.index, float(value))
    elif role == "stop":
        if not value:
            group.async_set_override(member.index, 0.0)
        elif member.override == 0.0:
            group.async_set_override(member.index, None)  # resumed: back to its charge mode
        # on, with a limit override in force or none: nothing to change (a blueprint sets the limit first)
    else:
        obj = OBJECTS[number]
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="managed_by_balancing_group",
            translation_placeholders={
                "charger": coordinator.name,
                "object": f"{obj.number} {obj.name}",
                "group": group.name,
                "member": member.name,
            },
        )
    return True
