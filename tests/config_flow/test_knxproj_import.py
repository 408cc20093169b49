"""Import of chargers from an ETS project through the charger subentry flow."""

from __future__ import annotations

import itertools
from collections.abc import Generator
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.components.file_upload import _DATA as FILE_UPLOAD
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.config_flow.knxproj_import import (
    CONF_CHARGERS,
    CONF_DROP_CLASHES,
    CONF_PASSWORD,
    CONF_PROJECT_FILE,
    CONF_REVIEW,
)
from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.knx.knxproj import SEARCHED_FOR
from custom_components.knx_evse.knx.objects import OBJECTS
from custom_components.knx_evse.knx.parameters import ChargerParameters
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
from tests.fixtures import make_charger_knxproj as gen

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir", "mock_setup")
__all__ = ["check_translations", "config_dir", "mock_setup"]

FIXTURES = Path(__file__).parents[1] / "fixtures"
PLAIN = FIXTURES / "charger_project.knxproj"
PROTECTED = FIXTURES / "charger_project_protected.knxproj"
REAL_PROJECT = Path("/work/shared/data/knxproj/xknx_test_project_no_password.knxproj")
HAVE_REAL_PROJECT = REAL_PROJECT.exists()


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    return hub_entry(hass)


@pytest.fixture
def copies(tmp_path: Path) -> Generator[Path]:
    """Folder where the flow keeps its copy of the uploaded project while it is needed."""
    folder = tmp_path / "copies"
    folder.mkdir()
    counter = itertools.count()

    def mkdtemp(prefix: str = "") -> str:
        path = folder / f"{prefix}{next(counter)}"
        path.mkdir()
        return str(path)

    with patch("custom_components.knx_evse.config_flow.knxproj_import.tempfile.mkdtemp", side_effect=mkdtemp):
        yield folder


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _key(number: int) -> str:
    return OBJECTS[number].key


async def _open_import(hass: HomeAssistant, entry: MockConfigEntry) -> dict:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_CHARGER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": "knxproj"}
    )
    assert result["step_id"] == "knxproj"
    assert result["description_placeholders"]["searched_for"] == SEARCHED_FOR
    return result


async def _upload(hass: HomeAssistant, result: dict, source: Path, password: str | None = None) -> dict:
    data = {CONF_PROJECT_FILE: await upload(hass, source)}
    if password is not None:
        data[CONF_PASSWORD] = password
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def _configure(hass: HomeAssistant, result: dict, data: dict) -> dict:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


async def test_import_two_chargers(hass: HomeAssistant, entry: MockConfigEntry, copies: Path) -> None:
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PLAIN)
    assert result["step_id"] == "knxproj_select"
    assert result["description_placeholders"]["count"] == "3"
    options = result["data_schema"].schema[CONF_CHARGERS].config["options"]
    assert [o["value"] for o in options] == ["1.1.10", "1.1.11", "1.1.12"]
    assert options[0]["label"] == "1.1.10 – Cargador VE Maestro (VE 742)"
    assert _leftovers(copies) == []  # the project copy is deleted right after parsing
    assert hass.data[FILE_UPLOAD].files == {}  # and the upload itself is gone

    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10", "1.1.11"]})

    # Charger 1: matched by product, model VE 742, nothing to leave out.
    assert result["step_id"] == "knxproj_summary"
    placeholders = result["description_placeholders"]
    assert placeholders["address"] == "1.1.10"
    assert placeholders["matched"] == "VE 742 M05"
    assert placeholders["derived"] == "VE 742"
    assert "- 33 [Conn1] Start - Stop charging: 1/1/1, 1/1/10" in placeholders["mapped"]
    assert "2 [EVSE] Active Power limit" in placeholders["not_linked"]
    assert placeholders["ignored"] == "-"
    assert placeholders["clashes"] == "-"
    assert form_values(result)[CONF_MODEL] == "VE 742"
    result = await _configure(hass, result, form_values(result, **{CONF_NAME: "Garage"}))

    assert result["step_id"] == "group_addresses"
    assert suggested(result) == {_key(n): ", ".join(gas) for n, gas in gen.GARAGE_LINKS.items()}
    result = await _configure(hass, result, nest(result, suggested(result)))

    # Charger 2: matched by object names, its object 45 is linked to an address typed DPT 1.001.
    assert result["step_id"] == "knxproj_summary"
    placeholders = result["description_placeholders"]
    assert placeholders["matched"] == "object names"
    assert placeholders["derived"] == "VE 222"
    assert placeholders["clashes"] == "2/1/5 (DPT 1.001) on 45 [Conn1] Current session time (DPT 7.005)"
    failed = await _configure(hass, result, form_values(result))
    assert failed["errors"] == {CONF_DROP_CLASHES: "dpt_clash"}
    assert entry.subentries == {}  # nothing is saved before the whole import is confirmed
    result = await _configure(hass, failed, form_values(failed, **{CONF_DROP_CLASHES: True}))
    assert result["step_id"] == "group_addresses"
    assert _key(45) not in suggested(result)
    result = await _configure(hass, result, nest(result, suggested(result)))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["unique_id"] == "1.1.11"
    chargers = {sub.unique_id: sub for sub in entry.subentries.values()}
    assert set(chargers) == {"1.1.10", "1.1.11"}

    garage = chargers["1.1.10"]
    assert garage.title == "Garage"
    assert garage.subentry_type == SUBENTRY_CHARGER
    assert garage.data[CONF_CHARGER_IA] == "1.1.10"
    assert garage.data[CONF_MODEL] == "VE 742"
    assert garage.data[CONF_GROUP_ADDRESSES] == {str(n): gas for n, gas in gen.GARAGE_LINKS.items()}
    params = ChargerParameters.from_dict(garage.data[CONF_PARAMETERS])
    assert params.load_balancing is True
    assert params.balancing_evse_count == 2
    assert params.reset_object is True
    assert params.conn1_individual_status is True
    assert params.session_objects is False

    yard = chargers["1.1.11"]
    assert yard.title == "Yard wallbox"
    assert yard.data[CONF_MODEL] == "VE 222"
    assert "45" not in yard.data[CONF_GROUP_ADDRESSES]
    assert yard.data[CONF_GROUP_ADDRESSES]["15"] == ["2/0/1"]
    assert ChargerParameters.from_dict(yard.data[CONF_PARAMETERS]).phases == 3


async def test_ambiguous_model_is_confirmed_and_parameters_reviewed(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path
) -> None:
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PLAIN)
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.12"]})
    assert result["step_id"] == "knxproj_summary"
    assert result["description_placeholders"]["derived"] == "-"
    assert result["description_placeholders"]["mapped"] == "-"  # nothing to show before a model is chosen
    assert CONF_MODEL not in form_values(result)  # no default: the user must choose

    # A three-phase model with the linked load-balancing object is refused.
    result = await _configure(hass, result, form_values(result, **{CONF_MODEL: "VE 221"}))
    assert result["errors"] == {CONF_MODEL: "balancing_three_phase"}
    # Another model first shows its summary again.
    result = await _configure(hass, result, form_values(result, **{CONF_MODEL: "VE 741"}))
    assert result["step_id"] == "knxproj_summary"
    assert not result["errors"]
    assert result["description_placeholders"]["ignored"] == "15 [EVSE] Instantaneous L1 Current"
    result = await _configure(hass, result, form_values(result, **{CONF_REVIEW: True}))

    assert result["step_id"] == "charger"  # review: every ETS page, prefilled
    values = form_values(result)
    assert values[CONF_CHARGER_IA] == "1.1.12"
    assert values[CONF_MODEL] == "VE 741"
    result = await _configure(hass, result, values)
    assert result["step_id"] == "general"
    assert form_values(result)["dynamic_load_balancing"]["load_balancing"] is True  # derived from object 132
    while result["step_id"] != "group_addresses":
        result = await _configure(hass, result, form_values(result))
    assert suggested(result) == {_key(33): "3/1/1", _key(132): "3/0/2"}
    result = await _configure(hass, result, nest(result, suggested(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    barn = next(iter(entry.subentries.values()))
    assert barn.data[CONF_MODEL] == "VE 741"
    assert barn.data[CONF_GROUP_ADDRESSES] == {"33": ["3/1/1"], "132": ["3/0/2"]}


async def test_protected_project_and_wrong_password(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path
) -> None:
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PROTECTED)
    assert result["step_id"] == "knxproj_password"
    assert not result["errors"]  # no password given yet: just ask for it
    result = await _configure(hass, result, {CONF_PASSWORD: "wrong"})
    assert result["step_id"] == "knxproj_password"
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}
    assert len(_leftovers(copies)) == 1  # kept until the right password is given: no new upload needed
    result = await _configure(hass, result, {CONF_PASSWORD: gen.PROTECTED_PASSWORD})
    assert result["step_id"] == "knxproj_select"
    assert _leftovers(copies) == []


async def test_password_given_with_the_upload(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path
) -> None:
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PROTECTED, password="wrong")
    assert result["errors"] == {CONF_PASSWORD: "invalid_password"}
    hass.config_entries.subentries.async_abort(result["flow_id"])
    assert _leftovers(copies) == []  # an abandoned import leaves no copy behind


async def test_not_a_project_then_a_project(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.knxproj"
    junk.write_bytes(b"PK\x03\x04 but not really a zip")
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, junk)
    assert result["step_id"] == "knxproj"
    assert result["errors"] == {CONF_PROJECT_FILE: "invalid_project"}
    assert _leftovers(copies) == []

    result = await _configure(hass, result, {CONF_PROJECT_FILE: "0" * 32})  # expired upload
    assert result["errors"] == {CONF_PROJECT_FILE: "invalid_project"}

    result = await _upload(hass, result, PLAIN)
    assert result["step_id"] == "knxproj_select"


async def test_real_project_without_charger(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path
) -> None:
    if not HAVE_REAL_PROJECT:
        pytest.skip("real ETS project not available")
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, REAL_PROJECT)
    assert result["step_id"] == "knxproj"
    assert result["errors"] == {CONF_PROJECT_FILE: "no_charger_found"}
    assert (
        result["description_placeholders"]["searched_for"] == SEARCHED_FOR
    )  # the message says what was searched
    assert _leftovers(copies) == []
    result = await _upload(hass, result, PLAIN)
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10"]})
    result = await _configure(hass, result, form_values(result))
    result = await _configure(hass, result, nest(result, suggested(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_selection_errors(hass: HomeAssistant, entry: MockConfigEntry, copies: Path) -> None:
    # 1.1.10 is already configured in this hub.
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PLAIN)
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10"]})
    result = await _configure(hass, result, form_values(result))
    result = await _configure(hass, result, nest(result, suggested(result)))
    assert result["type"] is FlowResultType.CREATE_ENTRY

    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PLAIN)
    labels = [o["label"] for o in result["data_schema"].schema[CONF_CHARGERS].config["options"]]
    assert labels[0].endswith("✔")
    assert form_values(result)[CONF_CHARGERS] == ["1.1.11"]  # preselects the first charger not yet added
    result = await _configure(hass, result, {CONF_CHARGERS: []})
    assert result["errors"] == {CONF_CHARGERS: "no_charger_selected"}
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10", "1.1.12"]})
    assert result["errors"] == {CONF_CHARGERS: "already_configured"}
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.12"]})
    assert result["step_id"] == "knxproj_summary"


async def test_imported_addresses_are_validated(
    hass: HomeAssistant, entry: MockConfigEntry, copies: Path
) -> None:
    """Addresses typed over an import are checked against the project's DPTs too."""
    result = await _open_import(hass, entry)
    result = await _upload(hass, result, PLAIN)
    result = await _configure(hass, result, {CONF_CHARGERS: ["1.1.10"]})
    result = await _configure(hass, result, form_values(result))
    typed = {**suggested(result), _key(46): "1/0/3"}  # 1/0/3 is a W address (14.056) in the project; 46 is Wh
    failed = await _configure(hass, result, nest(result, typed))
    assert failed["errors"] == {_key(46): "dpt_clash"}
    assert "1/0/3: DPT 14.056 ≠ 13.010" in failed["description_placeholders"]["details"]
    done = await _configure(hass, failed, nest(failed, suggested(result)))
    assert done["type"] is FlowResultType.CREATE_ENTRY
