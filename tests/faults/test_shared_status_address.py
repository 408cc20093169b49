"""Two chargers mapped to the same status address: a config error, never a silently mixed state.

Each charger sends its status objects on their first group address. When that address is also
linked to a status object of another charger, the other charger's coordinator takes the value as
its own. The charger subentry flow refuses it (``status_address_shared`` on the field, the clash in
``{details}``); data stored before the check raises the ``status_address_shared`` repair issue (and
an error in the log) at every set-up until one charger is reconfigured.
"""

from __future__ import annotations

import logging
import re
import struct
from types import MappingProxyType
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER, ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.issues import issue_id
from custom_components.knx_evse.knx.group_addresses import status_address_clashes
from custom_components.knx_evse.knx.objects import OBJECTS
from tests.config_flow.helpers import (
    check_translations,
    config_dir,
    form_values,
    hub_entry,
    mock_setup,
    nest,
    strings,
)
from tests.knx_harness import KnxTestKit, charger_subentry, ga
from tests.knx_harness import hub_entry as knx_hub_entry

__all__ = ["check_translations", "config_dir", "mock_setup"]

CARPORT = {3: ["1/0/3"], 13: ["1/0/13"], 33: ["5/0/1"], 18: ["5/0/18"]}


@pytest.mark.parametrize(
    ("mine", "expected"),
    [
        ({3: ["1/0/3"]}, [(3, "1/0/3", "Carport", 3)]),  # the same status address
        ({3: ["2/0/3", "1/3"]}, [(3, "1/0/3", "Carport", 3)]),  # listening there (2-level notation)
        ({61: ["1/0/13"]}, [(61, "1/0/13", "Carport", 13)]),  # another status object on it
        ({1: ["1/0/13"]}, []),  # Carport's power drives this charger's command input: wiring
        ({33: ["5/0/1"], 18: ["5/0/18"]}, []),  # shared command addresses: one write drives both
        ({3: ["2/0/3"]}, []),
    ],
    ids=["same", "listening", "other-object", "status-to-command", "commands", "distinct"],
)
def test_which_links_clash(mine: dict[int, list[str]], expected: list[tuple[int, str, str, int]]) -> None:
    """Only a charger's sending status address reaching another charger's status object clashes."""
    assert status_address_clashes(mine, {"Carport": CARPORT}) == expected


def test_clash_is_found_in_both_directions() -> None:
    """Carport listening on this charger's status address is the same mix-up, seen from the other side."""
    theirs = {"Carport": {3: ["1/0/3", "7/0/3"]}}
    assert status_address_clashes({3: ["7/0/3"]}, theirs) == [(3, "7/0/3", "Carport", 3)]
    # a listening address both share, which neither charger sends on: some third device's value
    assert status_address_clashes({3: ["2/0/3", "7/0/9"]}, {"Carport": {3: ["1/0/3", "7/0/9"]}}) == []


def test_the_balancing_master_wiring_of_the_manual_is_no_clash() -> None:
    """The worked example: the master's object 135 (CR-T-) on the slave's object 1 (C-W--)."""
    master = {135: ["3/0/1"], 150: ["3/0/2"]}
    slaves = {"Slave 1": {1: ["3/0/1"], 3: ["3/1/3"]}, "Slave 2": {1: ["3/0/2"], 3: ["3/2/3"]}}
    assert status_address_clashes(master, slaves) == []


def _carport(entry: MockConfigEntry, hass: HomeAssistant) -> ConfigSubentry:
    subentry = ConfigSubentry(
        data=MappingProxyType(
            {
                CONF_NAME: "Carport",
                CONF_CHARGER_IA: "1.1.20",
                CONF_MODEL: "VE 741",
                CONF_PARAMETERS: {},
                CONF_GROUP_ADDRESSES: {str(n): gas for n, gas in CARPORT.items()},
            }
        ),
        subentry_type=SUBENTRY_CHARGER,
        title="Carport",
        unique_id="1.1.20",
    )
    hass.config_entries.async_add_subentry(entry, subentry)
    return subentry


async def _to_group_addresses(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, Any]:
    while result["type"] is FlowResultType.FORM and result["step_id"] != "group_addresses":
        result = await hass.config_entries.subentries.async_configure(result["flow_id"], form_values(result))
    assert result["step_id"] == "group_addresses", result
    return result


@pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
async def test_subentry_flow_refuses_a_status_address_of_another_charger(hass: HomeAssistant) -> None:
    """The error is on the field; the details name the address, both objects and the other charger."""
    entry = hub_entry(hass)
    _carport(entry, hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": "charger"})
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Garage", CONF_CHARGER_IA: "1.1.10", CONF_MODEL: "VE 741", "phase_connection": "same", "ocpp_mode": False},
    )
    result = await _to_group_addresses(hass, result)
    key3, key13, key33 = OBJECTS[3].key, OBJECTS[13].key, OBJECTS[33].key
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], nest(result, {key3: "2/0/3, 1/3", key13: "2/0/13", key33: "5/0/1"})
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {key3: "status_address_shared"}
    details = result["description_placeholders"]["details"]
    assert "1/0/3" in details and "Carport" in details and OBJECTS[3].name in details
    assert len(entry.subentries) == 1  # nothing saved

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], nest(result, {key3: "2/0/3", key13: "1/0/13", key33: "5/0/1"})
    )
    assert result["errors"] == {key13: "status_address_shared"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], nest(result, {key3: "2/0/3", key13: "2/0/13", key33: "5/0/1"})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(entry.subentries) == 2


@pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
async def test_reconfigure_keeps_its_own_addresses(hass: HomeAssistant) -> None:
    """A charger does not clash with itself when it is reconfigured."""
    entry = hub_entry(hass)
    subentry = _carport(entry, hass)
    result = await entry.start_subentry_reconfigure_flow(hass, subentry.subentry_id)
    result = await _to_group_addresses(hass, result)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], form_values(result))
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reconfigure_successful"


async def test_stored_clash_is_a_repair_issue_at_setup(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture
) -> None:
    """Data stored before the check: a translated repair issue (and an error in the log) naming both
    chargers and the address; reconfiguring the charger with addresses of its own clears it."""
    shared = {"3": [ga(3)], "13": [ga(13, 2)]}
    entry = knx_hub_entry(
        [
            charger_subentry("CHG1", "Garage", {}, {"3": [ga(3)], "13": [ga(13)]}),
            charger_subentry("CHG2", "Carport", {}, shared, main=2),
        ]
    )
    with caplog.at_level(logging.ERROR):
        await knx.setup(entry)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "Garage" in errors[0] and "Carport" in errors[0] and ga(3) in errors[0]

    issues = [issue for (domain, _), issue in ir.async_get(hass).issues.items() if domain == DOMAIN]
    assert [issue.issue_id for issue in issues] == [issue_id("status_address_shared", entry.entry_id, "CHG2")]
    [issue] = issues
    assert issue.severity is ir.IssueSeverity.ERROR and not issue.is_fixable
    placeholders = issue.translation_placeholders or {}
    assert placeholders["charger"] == "Carport" and placeholders["others"] == "Garage"
    assert placeholders["clashes"] == (
        f"- {ga(3)}: object 3 {OBJECTS[3].name} of Carport, object 3 {OBJECTS[3].name} of Garage"
    )
    text = strings()["issues"]["status_address_shared"]
    assert {"charger", "others", "clashes"} >= set(re.findall(r"\{(\w+)\}", text["title"] + text["description"]))

    # what the check prevents: one telegram shows up as both chargers' status
    await knx.receive_write(ga(3), tuple(struct.pack(">f", 13.0)))
    chargers = entry.runtime_data.chargers
    assert chargers["CHG1"].value(3) == chargers["CHG2"].value(3) == 13.0

    # Carport gets its own status address: the hub reloads and the issue is gone
    subentry = entry.subentries["CHG2"]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, CONF_GROUP_ADDRESSES: {**shared, "3": [ga(3, 2)]}}
    )
    await hass.async_block_till_done()
    await knx.flush()
    await knx.drain_reads()
    assert not [issue for (domain, _), issue in ir.async_get(hass).issues.items() if domain == DOMAIN]
