"""Repair issues: unanswered status reads, charger errors, hooks, fix flows.

A keyring that no longer decrypts is no repair issue any more: the reauthentication flow handles it
(tests/config_flow/test_reauth.py).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import ConfirmRepairFlow
from homeassistant.components.repairs.const import DOMAIN as REPAIRS_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from xknx.dpt import DPTArray
from xknx.telegram.apci import GroupValueResponse

from custom_components.knx_evse import issues, repairs
from custom_components.knx_evse.charger import repairs as charger_repairs
from custom_components.knx_evse.charger.liveness import DEFAULT_ANSWER_TIMEOUT, STALE_READS
from custom_components.knx_evse.const import (
    CONF_GROUP_ADDRESSES,
    DOMAIN,
)
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, ga, hub_entry

BASIC = {"phases": 1, "connectors": 1}
LATER = timedelta(seconds=charger_repairs.READ_ANSWER_TIMEOUT + 1)


@pytest.fixture(autouse=True)
def no_idle_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Minutes pass in these tests: keep the hub's idle-connection probe (if it has one) out of the telegrams."""
    monkeypatch.setattr(KnxEvseHub, "idle_probe_after", 1e9, raising=False)


def issue(hass: HomeAssistant, key: str, entry: MockConfigEntry, subentry_id: str | None = None) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, issues.issue_id(key, entry.entry_id, subentry_id))


async def start_fix_flow(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    manager = hass.data[REPAIRS_DOMAIN]["flow_manager"]
    return await manager.async_init(DOMAIN, data={"issue_id": issue_id})  # type: ignore[no-any-return]


async def configure(hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
    return await hass.data[REPAIRS_DOMAIN]["flow_manager"].async_configure(flow_id, user_input)  # type: ignore[no-any-return]


# -- status objects that never answer --------------------------------------------------------------


async def setup_three_status(hass: HomeAssistant, knx: KnxTestKit) -> MockConfigEntry:
    addresses = {"3": ["1/0/3"], "13": ["1/0/13"], "46": ["1/0/46"], "1": ["1/0/1"]}
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", BASIC, addresses)]), drain_reads=False)
    assert await knx.drain_reads() == ["1/0/3", "1/0/46", "1/0/13"]
    return entry


async def judge_twice(hass: HomeAssistant, knx: KnxTestKit) -> list[str]:
    """Let the answer window pass: the silent objects are read again (returned); then judged again."""
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    again = await knx.drain_reads()
    if again[-1:] == ["1/0/3"]:  # the closing read of one that answers: the charger is listening
        await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    return again


async def test_unanswered_status_reads_raise_an_issue_after_the_timeout(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))  # 16 A
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=charger_repairs.READ_ANSWER_TIMEOUT - 5))
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None  # not yet

    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None  # a read may have been lost
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]  # read again, led by one that answered
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))  # and closed by it
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and found.is_fixable
    assert found.translation_key == "status_address_unanswered"
    placeholders = found.translation_placeholders or {}
    assert placeholders["charger"] == "Garage"
    assert "- 13 [EVSE] Instantaneous Active Power (1/0/13)" in placeholders["objects"]
    assert "46 " in placeholders["objects"] and "\n- 3 " not in placeholders["objects"]
    assert found.data is not None and found.data["objects"] == "13,46"

    # a value arriving later takes the object out of the issue; the last one clears it
    await knx.receive_write("1/0/13", (0x45, 0x3B, 0x80, 0x00))
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and "1/0/13" not in (found.translation_placeholders or {})["objects"]
    await knx.receive_write("1/0/46", (0x00, 0x00, 0x00, 0x10))
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None


async def test_answered_reads_raise_nothing(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await setup_three_status(hass, knx)
    for number in (3, 13, 46):
        await knx.receive_response(ga(number), (0, 0, 0, 0))
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None


async def test_a_charger_that_answers_nothing_raises_no_link_issue(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """Off or unreachable is not a linking problem: unlinking every object would do harm."""
    entry = await setup_three_status(hass, knx)
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None


async def test_unanswered_fix_flow_retry_reads_again(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    assert await judge_twice(hass, knx) == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    issue_id = issues.issue_id(issues.ISSUE_STATUS_UNANSWERED, entry.entry_id, "CHG1")

    result = await start_fix_flow(hass, issue_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["retry", "unlink"]
    assert "1/0/46" in result["description_placeholders"]["objects"]
    result = await configure(hass, result["flow_id"], {"next_step_id": "retry"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]  # led by one that answers
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    # still no answer: the issue comes back once they were read again and are still silent
    assert await judge_twice(hass, knx) == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None


async def test_unanswered_fix_flow_unlink_removes_the_objects(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await knx.receive_response("1/0/13", (0x45, 0x3B, 0x80, 0x00))
    assert await judge_twice(hass, knx) == ["1/0/3", "1/0/46", "1/0/3"]
    issue_id = issues.issue_id(issues.ISSUE_STATUS_UNANSWERED, entry.entry_id, "CHG1")

    result = await start_fix_flow(hass, issue_id)
    result = await configure(hass, result["flow_id"], {"next_step_id": "unlink"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await knx.flush()
    assert await knx.drain_reads() == ["1/0/3", "1/0/13"]  # the reloaded hub reads what is left
    assert set(entry.subentries["CHG1"].data[CONF_GROUP_ADDRESSES]) == {"1", "3", "13"}
    assert entry.state is ConfigEntryState.LOADED
    assert not entry.runtime_data.chargers["CHG1"].has_object(46)


async def test_unanswered_fix_flow_aborts_when_the_hub_is_not_loaded(
    hass: HomeAssistant, knx: KnxTestKit
) -> None:
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    assert await judge_twice(hass, knx) == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    issue_id = issues.issue_id(issues.ISSUE_STATUS_UNANSWERED, entry.entry_id, "CHG1")
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    knx.set_connected(False)
    result = await start_fix_flow(hass, issue_id)
    result = await configure(hass, result["flow_id"], {"next_step_id": "retry"})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_connected"
    knx.set_connected(True)
    await knx.drain_reads()

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    result = await start_fix_flow(hass, issue_id)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "charger_not_loaded"


# -- reads that could not be answered are read again -----------------------------------------------


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, knx: KnxTestKit, seconds: float) -> None:
    """Move the clock (monotonic too) ``seconds`` ahead in 5 s steps, firing the timers at each step."""
    left = seconds
    while left > 0:
        step = min(5.0, left)
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
        await knx.flush()
        left -= step


STALE_AFTER = STALE_READS * DEFAULT_ANSWER_TIMEOUT
"""s after unanswered start-up reads until the charger is stale (the read once more unanswered too)."""


def unanswered_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [
        (r.levelno, r.getMessage().split(": ", 1)[1][:20])
        for r in caplog.records
        if r.name.endswith("charger.repairs")
    ]


async def test_reads_unanswered_while_the_charger_was_silent_are_read_again(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The charger went stale in the answer window: no issue, the reads go out again once it is back;
    only reads unanswered with the charger up raise the issue, logged once however its list shrinks."""
    caplog.set_level(logging.INFO, logger="custom_components.knx_evse.charger.repairs")
    entry = await setup_three_status(hass, knx)
    coordinator = entry.runtime_data.chargers["CHG1"]
    await advance(hass, freezer, knx, STALE_AFTER)  # no answer: stale (its tunnel reconnects, say)
    assert coordinator.is_stale
    assert await knx.drain_reads() == ["1/0/3"]  # the read once more before it was stale
    await knx.receive_write("1/0/3", (0x41, 0x80, 0x00, 0x00))  # back
    assert not coordinator.is_stale
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT - STALE_AFTER + 1)
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]  # read again, the charger being up
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT + 1)  # still no answer
    assert not coordinator.is_stale
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and found.data is not None and found.data["objects"] == "13,46"
    await knx.receive_write("1/0/13", (0x45, 0x3B, 0x80, 0x00))
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and found.data is not None and found.data["objects"] == "46"
    await knx.receive_write("1/0/46", (0x00, 0x00, 0x00, 0x10))
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert unanswered_lines(caplog) == [
        (logging.WARNING, "no answer to the sta"),
        (logging.INFO, "every status object "),
    ]


async def test_reads_answered_after_the_retry_raise_nothing(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    entry = await setup_three_status(hass, knx)
    await advance(hass, freezer, knx, STALE_AFTER)
    assert entry.runtime_data.chargers["CHG1"].is_stale
    assert await knx.drain_reads() == ["1/0/3"]
    await knx.receive_write("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT - STALE_AFTER + 1)
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await knx.receive_response("1/0/13", (0x45, 0x3B, 0x80, 0x00))
    await knx.receive_response("1/0/46", (0x00, 0x00, 0x00, 0x10))
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT + 1)
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == []


async def test_reads_lost_on_the_way_are_read_again_before_any_issue(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    """The charger answered one read but not two others, lost while its own tunnel reconnected (too
    briefly to make it stale): they are read again, answered then, and nothing is raised or logged."""
    caplog.set_level(logging.INFO, logger="custom_components.knx_evse.charger.repairs")
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await knx.receive_response("1/0/13", (0x45, 0x3B, 0x80, 0x00))
    await knx.receive_response("1/0/46", (0x00, 0x00, 0x00, 0x10))
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == []
    assert unanswered_lines(caplog) == []


async def test_reads_again_unanswered_after_the_charger_fell_silent_mid_batch_are_not_judged(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The charger answered the first read of a read-again batch, then fell silent before the rest
    were sent (too recently to be stale): the batch says nothing about the objects, which are read
    again; only a batch the charger was heard after is judged."""
    entry = await setup_three_status(hass, knx)
    coordinator = entry.runtime_data.chargers["CHG1"]
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    send = coordinator.hub.async_read
    batch: list[str] = []

    async def read(address: str) -> float:
        batch.append(str(address))
        if len(batch) == 2:  # the lead's answer is in; then the charger falls silent
            await knx.receive("1/0/3", GroupValueResponse(DPTArray((0x41, 0x80, 0x00, 0x00))), settle=False)
            assert knx.xknx is not None
            await knx.xknx.telegrams.join()
            freezer.tick(timedelta(seconds=2))
        return await send(address)

    monkeypatch.setattr(coordinator.hub, "async_read", read)
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)  # silent once: read again
    await knx.flush()
    assert await knx.drain_reads() == batch == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]
    monkeypatch.undo()
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    assert not coordinator.is_stale
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]  # not judged: read again

    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))  # heard after the last read
    async_fire_time_changed(hass, dt_util.utcnow() + LATER)
    await knx.flush()
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and found.data is not None and found.data["objects"] == "13,46"


async def test_reads_unanswered_while_disconnected_wait_for_the_connection(
    hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    """The connection went down after the reads: nothing is raised; on reconnect everything is read again."""
    entry = await setup_three_status(hass, knx)
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    knx.set_connected(False)
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT + 1)
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    knx.set_connected(True)
    await knx.flush()
    assert await knx.drain_reads() == ["1/0/3", "1/0/46", "1/0/13"]
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT + 1)  # a clean window now
    assert issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1") is None
    assert await knx.drain_reads() == ["1/0/3", "1/0/13", "1/0/46", "1/0/3"]  # silent once: read again
    await knx.receive_response("1/0/3", (0x41, 0x80, 0x00, 0x00))
    await advance(hass, freezer, knx, charger_repairs.READ_ANSWER_TIMEOUT + 1)
    found = issue(hass, issues.ISSUE_STATUS_UNANSWERED, entry, "CHG1")
    assert found is not None and found.data is not None and found.data["objects"] == "13,46"


# -- charger error code --------------------------------------------------------------------------


async def test_error_code_raises_an_issue_with_a_reset_fix(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is None
    await knx.receive_write(ga(19), (3,))  # ground failure
    found = issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1")
    assert found is not None
    assert found.translation_key == "charger_error_reset" and found.is_fixable
    assert found.severity is ir.IssueSeverity.ERROR
    assert (found.translation_placeholders or {})["error"] == "error code 3 (ground failure)"

    await knx.receive_write(ga(20), 1)
    found = issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1")
    assert found is not None
    assert (found.translation_placeholders or {})["error"] == (
        "error code 3 (ground failure); communication error with the EVSE"
    )

    result = await start_fix_flow(hass, found.issue_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "confirm"
    assert result["description_placeholders"]["charger"] == "Garage"
    result = await configure(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await knx.assert_write(ga(5), 1)
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is None

    # the charger still reports the communication error: the issue is back, then clears
    await knx.receive_write(ga(20), 1)
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is not None
    await knx.receive_write(ga(19), (7,))
    await knx.receive_write(ga(20), 0)
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is None


async def test_error_without_reset_object_is_not_fixable(hass: HomeAssistant, knx: KnxTestKit) -> None:
    options = {**BASIC, "error_objects": True}
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", options, {"19": ["1/0/19"]})]))
    await knx.receive_write("1/0/19", (5,))
    found = issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1")
    assert found is not None
    assert found.translation_key == "charger_error" and not found.is_fixable
    assert (found.translation_placeholders or {})["error"] == "error code 5 (internal error)"
    await knx.receive_write("1/0/19", (7,))
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is None


async def test_reset_fix_flow_aborts_when_disconnected(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(19), (1,))
    issue_id = issues.issue_id(issues.ISSUE_CHARGER_ERROR, entry.entry_id, "CHG1")
    result = await start_fix_flow(hass, issue_id)
    knx.set_connected(False)
    result = await configure(hass, result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "not_connected"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None  # an abort keeps the issue
    knx.set_connected(True)
    await knx.drain_reads()


async def test_error_reported_before_setup_is_raised_on_next_value(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """The error issue is not persistent: it is raised again from the charger's state after a reload."""
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await knx.receive_write(ga(19), (4,))
    assert await hass.config_entries.async_reload(entry.entry_id)
    await knx.flush()
    await knx.drain_reads()
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is not None  # not cleared by a reload
    await knx.receive_response(ga(19), (7,))
    assert issue(hass, issues.ISSUE_CHARGER_ERROR, entry, "CHG1") is None


# -- fix flows registered at run time ---------------------------------------------------------------


async def test_registered_fix_flow_is_used_and_default_is_confirm(hass: HomeAssistant) -> None:
    data: issues.IssueData = {"translation_key": issues.ISSUE_METER_ENTITY_MISSING, "entry_id": "E1"}
    assert isinstance(await repairs.async_create_fix_flow(hass, "x", data), ConfirmRepairFlow)

    class PickMeter(ConfirmRepairFlow):
        """A stand-in for the balancing group's flow."""

    repairs.register_fix_flow(issues.ISSUE_METER_ENTITY_MISSING, lambda hass, issue_id, data: PickMeter())
    try:
        assert isinstance(await repairs.async_create_fix_flow(hass, "x", data), PickMeter)
    finally:
        repairs._FIX_FLOWS.pop(issues.ISSUE_METER_ENTITY_MISSING)
    with pytest.raises(ValueError, match="unknown knx_evse issue"):
        repairs.register_fix_flow("nope", lambda hass, issue_id, data: PickMeter())
