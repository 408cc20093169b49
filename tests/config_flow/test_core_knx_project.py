"""Import of chargers from the ETS project that Home Assistant's own KNX integration holds.

Core knx keeps the project uploaded in its panel in the store ``knx/knx_project.json``. The tests put
it there with core knx's own code (``KNXProject.process_project_file``), or write the store directly
for the broken cases, and check that the import runs the same matching and summary as an upload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.components.knx.project import KNXProject as CoreKnxProject
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx import XKNX

from custom_components.knx_evse.config_flow.knxproj_import import (
    CONF_CHARGERS,
    CONF_DROP_CLASHES,
    CONF_PROJECT_FILE,
    CORE_KNX_PROJECT_STORE,
)
from custom_components.knx_evse.const import CONF_MODEL, SUBENTRY_CHARGER
from custom_components.knx_evse.knx.knxproj import SEARCHED_FOR
from tests.config_flow.helpers import (
    check_translations,
    config_dir,
    form_values,
    hub_entry,
    mock_setup,
    nest,
    suggested,
    upload,
)

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]

PLAIN = Path(__file__).parents[1] / "fixtures" / "charger_project.knxproj"
NO_CHARGER = Path("/work/shared/data/knxproj/xknx_test_project_no_password.knxproj")
CORE_MENU = "core_knx_project"


def _core_knx_entry(hass: HomeAssistant) -> MockConfigEntry:
    entry = MockConfigEntry(domain="knx", title="KNX", data={})
    entry.add_to_hass(hass)
    return entry


async def _store_in_core_knx(hass: HomeAssistant, source: Path) -> None:
    """Let core knx's own project code parse ``source`` and store it, as its panel's upload does."""
    project = CoreKnxProject(hass, _core_knx_entry(hass))
    await project.process_project_file(xknx=XKNX(), file_id=await upload(hass, source), password="")


async def _menu(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )


async def _import_all(hass: HomeAssistant, result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Select every charger, confirm each summary (leaving out DPT clashes; VE 741 where the project
    leaves the model open) and the suggested addresses; return the summaries by charger address."""
    configure = hass.config_entries.subentries.async_configure
    assert result["step_id"] == "knxproj_select"
    options = [o["value"] for o in result["data_schema"].schema[CONF_CHARGERS].config["options"]]
    result = await configure(result["flow_id"], {CONF_CHARGERS: options})
    seen: dict[str, dict[str, Any]] = {}
    while result["type"] is FlowResultType.FORM:
        if result["step_id"] == "knxproj_summary":
            seen[result["description_placeholders"]["address"]] = dict(result["description_placeholders"])
            values = form_values(result, **{CONF_DROP_CLASHES: True})
            values.setdefault(CONF_MODEL, "VE 741")
            result = await configure(result["flow_id"], values)
        else:
            assert result["step_id"] == "group_addresses"
            result = await configure(result["flow_id"], nest(result, suggested(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    return seen


def _chargers(entry: MockConfigEntry) -> dict[str, dict[str, Any]]:
    return {str(sub.unique_id): {"title": sub.title, **sub.data} for sub in entry.subentries.values()}


async def test_menu_offers_the_core_knx_project_only_beside_core_knx(hass: HomeAssistant) -> None:
    entry = hub_entry(hass)
    assert CORE_MENU not in (await _menu(hass, entry))["menu_options"]
    _core_knx_entry(hass)
    assert CORE_MENU in (await _menu(hass, entry))["menu_options"]


async def test_same_chargers_and_summary_as_an_upload(hass: HomeAssistant) -> None:
    await _store_in_core_knx(hass, PLAIN)

    uploaded = hub_entry(hass)
    result = await _menu(hass, uploaded)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": "knxproj"})
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_PROJECT_FILE: await upload(hass, PLAIN)}
    )
    summaries_uploaded = await _import_all(hass, result)

    from_core = hub_entry(hass, host="192.168.1.11")
    result = await _menu(hass, from_core)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": CORE_MENU})
    summaries_core = await _import_all(hass, result)

    assert set(summaries_core) == {"1.1.10", "1.1.11", "1.1.12"}
    assert summaries_core == summaries_uploaded
    assert _chargers(from_core) == _chargers(uploaded)
    garage = _chargers(from_core)["1.1.10"]
    assert garage["group_addresses"]["33"] == ["1/1/1", "1/1/10"]


async def test_no_project_in_core_knx(hass: HomeAssistant) -> None:
    entry = hub_entry(hass)
    _core_knx_entry(hass)
    result = await _menu(hass, entry)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": CORE_MENU})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_core_knx_project"


async def test_unreadable_core_knx_project(hass: HomeAssistant, hass_storage: dict[str, Any]) -> None:
    key, version = CORE_KNX_PROJECT_STORE
    hass_storage[key] = {"version": version, "minor_version": 1, "key": key, "data": {"devices": {"1.1.1": {}}}}
    entry = hub_entry(hass)
    _core_knx_entry(hass)
    result = await _menu(hass, entry)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": CORE_MENU})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_core_knx_project"


@pytest.mark.skipif(not NO_CHARGER.exists(), reason="the shared ETS projects are not on this machine")
async def test_core_knx_project_without_a_charger(hass: HomeAssistant) -> None:
    await _store_in_core_knx(hass, NO_CHARGER)
    entry = hub_entry(hass)
    result = await _menu(hass, entry)
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {"next_step_id": CORE_MENU})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_charger_found_core_knx"
    assert result["description_placeholders"] == {"searched_for": SEARCHED_FOR}
