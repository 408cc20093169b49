"""Helpers for the config-flow tests: translation checks, file uploads, keyrings, charger input."""

from __future__ import annotations

import base64
import json
import re
import shutil
import uuid
import xml.sax
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from homeassistant.config_entries import ConfigEntriesFlowManager, ConfigSubentryFlowManager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowManager, FlowResultType, section
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx.secure.keyring import KeyringSAXContentHandler, hash_keyring_password, sha256_hash

from custom_components.knx_evse.compat import vol
from custom_components.knx_evse.config_flow.hub_base import hub_title, hub_unique_id
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_TUNNELING,
    CONF_PORT,
    DOMAIN,
)

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / "knx_evse" / "translations" / "en.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def strings() -> dict[str, Any]:
    """The integration's English translations."""
    return json.loads(TRANSLATIONS.read_text(encoding="utf-8"))


def _check_result(manager: FlowManager, result: Mapping[str, Any]) -> None:
    """Assert every string a flow result shows is translated and its placeholders are provided."""
    if isinstance(manager, ConfigSubentryFlowManager):
        base = strings()["config_subentries"][result["handler"][1]]
    elif isinstance(manager, ConfigEntriesFlowManager):
        base = strings()["config"]
    else:  # pragma: no cover - options flows are not used
        return
    kind = result["type"]
    if kind is FlowResultType.ABORT:
        assert result["reason"] in base["abort"], f"abort reason {result['reason']} not translated"
        return
    if kind not in (FlowResultType.FORM, FlowResultType.MENU):
        return
    step = base["step"][result["step_id"]]
    placeholders = set((result.get("description_placeholders") or {}).keys())
    texts = [step.get("description", ""), step.get("title", "")]
    if kind is FlowResultType.MENU:
        options = result["menu_options"]
        assert set(options) <= set(step["menu_options"]), f"menu {result['step_id']} not translated"
    else:
        for field in result["data_schema"].schema:
            name = str(field)
            if isinstance(result["data_schema"].schema[field], section):
                strings_of_section = step["sections"][name]
                assert strings_of_section["name"]
                for inner in result["data_schema"].schema[field].schema.schema:
                    assert str(inner) in strings_of_section["data"], (
                        f"{result['step_id']}.{name}.{inner} has no label"
                    )
            else:
                assert name in step["data"], f"{result['step_id']}.{name} has no label"
        for error in (result.get("errors") or {}).values():
            assert error in base["error"], f"error {error} not translated"
            texts.append(base["error"][error])
    for text in texts:
        missing = set(_PLACEHOLDER.findall(text)) - placeholders
        assert not missing, f"placeholders {missing} of {result['step_id']} not provided"


@pytest.fixture
def mock_setup() -> Generator[AsyncMock]:
    """No runtime: hub entries are set up and unloaded without connecting to KNX."""
    with (
        patch(
            "custom_components.knx_evse.async_setup_entry", AsyncMock(return_value=True), create=True
        ) as setup,
        patch("custom_components.knx_evse.async_unload_entry", AsyncMock(return_value=True), create=True),
    ):
        yield setup


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """Give hass a private config directory, so stored keyrings land in tmp_path."""
    hass.config.config_dir = str(tmp_path / "config")
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


@pytest.fixture
def check_translations() -> Generator[None]:
    """Check every flow result of the test against translations/en.json."""
    original = FlowManager._async_handle_step

    async def checked(self: FlowManager, flow: Any, step_id: str, user_input: Any) -> Any:
        result = await original(self, flow, step_id, user_input)
        _check_result(self, result)
        return result

    with patch.object(FlowManager, "_async_handle_step", checked):
        yield


async def upload(hass: HomeAssistant, source: Path, name: str | None = None) -> str:
    """Put a copy of ``source`` into file_upload's store and return its file id (as the frontend would)."""
    from homeassistant.components.file_upload import _DATA, FileUploadData

    if _DATA not in hass.data:
        # Not FileUploadData.create: it wipes the machine-wide upload folder other test runs may use.
        hass.data[_DATA] = FileUploadData(temp_dir=Path(hass.config.path("uploads")), files={})
    data: FileUploadData = hass.data[_DATA]
    file_id = uuid.uuid4().hex
    data.file_dir(file_id).mkdir(parents=True)
    target = name or source.name
    shutil.copy(source, data.file_dir(file_id) / target)
    data.files[file_id] = target
    return file_id


def make_knxkeys(
    path: Path,
    password: str,
    *,
    interfaces: tuple[tuple[str, str | None, int | None], ...] = (
        ("1.0.10", "1.0.0", 2),
        ("1.0.11", "1.0.0", 3),
    ),
    backbone_key: bytes | None = None,
) -> Path:
    """Write a keyring that xknx's ``sync_load_keyring`` accepts with ``password``.

    ``interfaces``: (individual address, host, user id) of tunnel interfaces. The signature and the
    encrypted backbone key follow xknx's keyring reader (``xknx.secure.keyring``).
    """
    created = "2025-01-01T00:00:00"
    parts = [
        f'<Keyring Project="EV" CreatedBy="test" Created="{created}" Signature="SIG" xmlns="http://knx.org/xml/keyring/1">'
    ]
    if backbone_key is not None:
        encryptor = Cipher(
            algorithms.AES(hash_keyring_password(password.encode())),
            modes.CBC(sha256_hash(created.encode())[:16]),
        ).encryptor()
        key = base64.b64encode(encryptor.update(backbone_key) + encryptor.finalize()).decode()
        parts.append(f'<Backbone MulticastAddress="224.0.23.12" Latency="1000" Key="{key}" />')
    for address, host, user_id in interfaces:
        attrs = f'Type="Tunneling" IndividualAddress="{address}"'
        attrs += f' Host="{host}"' if host else ""
        attrs += f' UserID="{user_id}"' if user_id else ""
        parts.append(f"<Interface {attrs} />")
    parts.append("</Keyring>")
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + "\n".join(parts)
    path.write_text(text, encoding="utf-8")
    handler = KeyringSAXContentHandler(password)
    xml.sax.parse(str(path), handler)
    signature = base64.b64encode(sha256_hash(bytes(handler.output))[:16]).decode()
    path.write_text(text.replace('Signature="SIG"', f'Signature="{signature}"'), encoding="utf-8")
    return path


def hub_entry(hass: HomeAssistant, **data: Any) -> MockConfigEntry:
    """A UDP tunnelling hub entry added to hass (not set up)."""
    entry_data = {
        CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING,
        CONF_HOST: "192.168.1.10",
        CONF_PORT: 3671,
        **data,
    }
    entry = MockConfigEntry(
        domain=DOMAIN, title=hub_title(entry_data), data=entry_data, unique_id=hub_unique_id(entry_data)
    )
    entry.add_to_hass(hass)
    return entry


def form_values(result: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    """The values a user submitting ``result``'s form unchanged would send, with ``changes`` applied.

    Sections become nested dicts; a change is applied to the section that has the field, else at the
    top level.
    """
    values: dict[str, Any] = {}
    for key, value in result["data_schema"].schema.items():
        if isinstance(value, section):
            values[str(key)] = form_values({"data_schema": value.schema})
        elif key.default is not vol.UNDEFINED:
            values[str(key)] = key.default()
        elif (suggested := (key.description or {}).get("suggested_value")) not in (None, ""):
            values[str(key)] = suggested
    for name, new in changes.items():
        holder = next((v for v in values.values() if isinstance(v, dict) and name in v), values)
        holder[name] = new
    return values


def field_names(result: Mapping[str, Any]) -> list[str]:
    """Every field of a form, section fields included, in order."""
    names: list[str] = []
    for key, value in result["data_schema"].schema.items():
        if isinstance(value, section):
            names += [str(inner) for inner in value.schema.schema]
        else:
            names.append(str(key))
    return names


def suggested(result: Mapping[str, Any]) -> dict[str, Any]:
    """Suggested values of a form's fields, section fields included, as one flat dict (group addresses)."""
    keys = [
        inner
        for key, value in result["data_schema"].schema.items()
        for inner in (value.schema.schema if isinstance(value, section) else [key])
    ]
    return {
        str(key): key.description["suggested_value"]
        for key in keys
        if key.description and key.description.get("suggested_value")
    }


def nest(result: Mapping[str, Any], flat: Mapping[str, Any]) -> dict[str, Any]:
    """``flat`` field values as ``result``'s form submits them: nested into their sections.

    Every section is sent (empty when none of its fields is in ``flat``); other keys stay at the top level.
    """
    values: dict[str, Any] = {}
    rest = dict(flat)
    for key, value in result["data_schema"].schema.items():
        if isinstance(value, section):
            values[str(key)] = {str(f): rest.pop(str(f)) for f in value.schema.schema if str(f) in rest}
    return {**values, **rest}
