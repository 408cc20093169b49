"""The group's writes (group/actuator.py): order, Start/Stop, resume at a confirmed limit, retries."""

from __future__ import annotations

import logging
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from custom_components.knx_evse import issues
from custom_components.knx_evse.const import DOMAIN
from custom_components.knx_evse.group.group import BalancingGroup
from tests.group.harness import (
    CARPORT,
    CARPORT_MEMBER,
    CONN1,
    CONN2,
    FAST,
    GROUP_ID,
    advance,
    carport_charger,
    current,
    f4,
    group_subentry,
    no_idle_probe,
    one_member_at,
    plug,
    sent,
    set_meter,
    setup_group,
    state,
)
from tests.knx_harness import KnxTestKit, all_group_addresses, ga, hub_entry

ISSUE = issues.ISSUE_CHARGER_IGNORES_LIMIT


def _ignores_limit_issue(hass: HomeAssistant, group: BalancingGroup) -> ir.IssueEntry | None:
    """The group's charger_ignores_limit issue of its first member, None when not raised."""
    issue_id = issues.issue_id(ISSUE, group.entry.entry_id, f"{group.subentry_id}_{group.members[0].key}")
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def _pause_and_resume(hass: HomeAssistant, knx: KnxTestKit, group: BalancingGroup) -> list[tuple[str, Any]]:
    """Pause member 0 (mode off), let the car stop, resume it (fast); return the resume's telegrams."""
    group.async_set_mode(0, "off")
    assert await sent(knx) == [("1/0/33", False)]
    await current(knx, 1, 1, 0.0)
    set_meter(hass, 1000)  # 4.35 A of other load on the 20 A supply: 15 A again on resuming
    await sent(knx)
    group.async_set_mode(0, "fast")
    return await sent(knx)



async def test_pause_by_object_18_or_by_a_zero_limit(hass: HomeAssistant, knx: KnxTestKit) -> None:
    addresses = {k: v for k, v in all_group_addresses(CARPORT, 2).items() if k != "33"}
    set_meter(hass, 1000)
    group_data = group_subentry([CARPORT_MEMBER], limit=20, **FAST)
    entry = await knx.setup(hub_entry([carport_charger(addresses), group_data]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.members[0].charger.stop_objects == (18,)  # "[EVSE] Pause / Restart any charging"
    await plug(knx, 2, 1, 0.0)
    assert await sent(knx) == [("2/0/1", 15.0), ("2/0/18", True)]
    await hass.config_entries.async_unload(entry.entry_id)
    without = {k: v for k, v in addresses.items() if k != "18"}
    entry = await knx.setup(hub_entry([carport_charger(without), group_data]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert group.members[0].charger.stop_objects == ()
    set_meter(hass, 5000)  # 21.7 A of other load on the 20 A supply: no room for the car
    await plug(knx, 2, 1, 0.0)
    assert await sent(knx) == [("2/0/1", 0.0)]  # paused with a 0 A limit



async def test_resume_at_the_limit_the_charger_reports_sends_only_start(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    await knx.receive_write(ga(61), f4(15.0))  # [Conn1] Current limit Status, after the write
    assert await _pause_and_resume(hass, knx, group) == [("1/0/33", True)]
    assert group.members[0].written == 15.0



@pytest.mark.parametrize("status", [None, 16.0, "stale"])
async def test_resume_writes_the_limit_unless_the_charger_confirms_it(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, status: float | str | None
) -> None:
    # No status, a different one, or one older than the last limit written: limit, then Start.
    group = await one_member_at(hass, knx, 4680, 16.0)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    if isinstance(status, float):
        await knx.receive_write(ga(61), f4(status))
    elif status == "stale":
        await knx.receive_write(ga(61), f4(15.0))
        freezer.tick(0.5)
        set_meter(hass, 6000)  # 10.09 A of other load: lowered to 9 A, not yet confirmed
        assert await sent(knx) == [("1/0/31", 9.0)]
    assert await _pause_and_resume(hass, knx, group) == [("1/0/31", 15.0), ("1/0/33", True)]



async def test_resume_with_a_keep_alive_always_writes_the_limit(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    group = await one_member_at(hass, knx, 4680, 16.0, keepalive=60)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    freezer.tick(0.5)
    await knx.receive_write(ga(61), f4(15.0))
    assert await _pause_and_resume(hass, knx, group) == [("1/0/31", 15.0), ("1/0/33", True)]



async def test_a_paused_member_that_draws_anyway_gets_its_stop_again(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # Connector 2 is paused by its Off mode; its car starts on its own (auto-start on plug-in)
    # and draws 10 A: the Stop goes out again, and connector 1 is limited around that draw.
    with no_idle_probe():
        set_meter(hass, 230)  # 1 A of house load
        await setup_group(hass, knx, [CONN1, {**CONN2, "mode": "off"}], **FAST)
        await plug(knx, 1, 1, 0.0)
        await plug(knx, 1, 2, 0.0)
        assert ("1/0/82", False) in await sent(knx)
        await advance(hass, freezer, 11)
        await sent(knx)
        set_meter(hass, 230 * (1 + 16 + 10))
        await current(knx, 1, 1, 16.0)
        await current(knx, 1, 2, 10.0)
        telegrams = await sent(knx)
        assert ("1/0/82", False) in telegrams  # the Stop, again
        limits = [value for address, value in telegrams if address == "1/0/31"]
        assert limits and limits[-1] <= 14.0  # 25 - 1 - 10 = 14 A left for connector 1
        assert float(state(hass, "sensor.house_available_current")) == 14.0



async def test_a_member_drawing_over_its_limit_is_stopped_and_named_if_it_draws_on(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    # The charger does not apply the lower limit (it lost the telegram, restarted at its Initial
    # current limit, or ignores limits): the car keeps drawing 16 A on a 9 A limit.
    with no_idle_probe():
        group = await one_member_at(hass, knx, 4680, 16.0)
        assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
        set_meter(hass, 6000)  # 10.09 A of other load besides the car's 16 A: 9 A
        assert await sent(knx) == [("1/0/31", 9.0)]
        await advance(hass, freezer, 5)
        assert await sent(knx) == []  # within 10 s of the lowering: the car may still follow
        await advance(hass, freezer, 6)
        # its 7 A over the limit are load now: 26 A on a 20 A supply, so it is stopped at once
        assert await sent(knx) == [("1/0/33", False)]
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "over_budget_cut"
        assert _ignores_limit_issue(hass, group) is None
        await advance(hass, freezer, 11)  # it draws on after its Stop: the Stop again, and named
        assert await sent(knx) == [("1/0/33", False)]
        issue = _ignores_limit_issue(hass, group)
        assert issue is not None and (issue.translation_placeholders or {})["charger"] == "Garage connector 1"
        assert state(hass, "sensor.garage_connector_1_balancing_reason") == "over_limit_stop"
        await current(knx, 1, 1, 0.0)  # it obeys at last
        set_meter(hass, 2320)
        await advance(hass, freezer, 1)
        await sent(knx)
        assert _ignores_limit_issue(hass, group) is None



async def test_failed_write_is_retried_on_the_next_round(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    """Retried every round; logged once when the writes start failing and once when they go through."""
    caplog.set_level(logging.DEBUG, logger="custom_components.knx_evse.group")
    set_meter(hass, 1000)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
    coordinator = group.members[0].charger.coordinator
    with patch.object(
        coordinator, "async_write_object", side_effect=HomeAssistantError("bus busy")
    ):
        await plug(knx, 1, 1, 0.0)
        set_meter(hass, 1002)
        await knx.flush()
        assert await sent(knx) == []
    set_meter(hass, 1001)
    assert await sent(knx) == [("1/0/31", 15.0), ("1/0/33", True)]
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name.startswith("custom_components.knx_evse.group")]
    assert lines == [
        (logging.WARNING, "House: could not write to Garage connector 1 (retried every round): bus busy"),
        (logging.DEBUG, "House: could not write to Garage connector 1: bus busy"),
        (logging.INFO, "House: writes to Garage connector 1 go through again"),
    ]

