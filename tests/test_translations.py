"""Every translation key the runtime uses exists in translations/en.json (names, states, errors)."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

from custom_components.knx_evse import entity_descriptions as ed

PACKAGE = Path(__file__).parent.parent / "custom_components" / "knx_evse"
EN = json.loads((PACKAGE / "translations" / "en.json").read_text())
ICONS = json.loads((PACKAGE / "icons.json").read_text())
RUNTIME_MODULES = tuple(
    str(path.relative_to(PACKAGE))
    for path in sorted(PACKAGE.rglob("*.py"))
    if "config_flow" not in path.parts
)
"""The runtime's modules: all but the config flows in config_flow/ (test_manifest_translations checks theirs)."""
PLATFORMS = {
    "sensor": (*ed.SENSORS, *ed.LIFETIME_ENERGY),
    "binary_sensor": ed.BINARY_SENSORS,
    "switch": ed.SWITCHES,
    "number": ed.NUMBERS,
    "button": ed.BUTTONS,
    "text": ed.TEXTS,
}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_entity_has_a_translated_name_with_its_placeholders() -> None:
    for platform, descriptions in PLATFORMS.items():
        for description in descriptions:
            names = EN["entity"][platform]
            assert description.translation_key in names, (platform, description.key)
            name = names[description.translation_key]["name"]
            assert _fields(name) == set(description.translation_placeholders or {}), description.key


def test_every_enum_option_has_a_translated_state() -> None:
    for description in ed.SENSORS:
        if description.options:
            states = EN["entity"]["sensor"][description.translation_key]["state"]
            assert set(description.options) == set(states), description.key


def test_icons_refer_to_existing_translation_keys() -> None:
    for platform, keys in ICONS["entity"].items():
        for key in keys:
            assert key in EN["entity"][platform], (platform, key)


def _error_calls() -> list[tuple[str, set[str], str]]:
    """(translation key, placeholder names passed, file) of every translated error raised in code."""
    calls = []
    for path in sorted(PACKAGE / name for name in RUNTIME_MODULES):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "_error" and node.args:
                key = node.args[0]
                assert isinstance(key, ast.Constant)
                calls.append((key.value, {k.arg for k in node.keywords if k.arg} | {"charger"}, path.name))
            keywords = {k.arg: k.value for k in node.keywords}
            if isinstance(keywords.get("translation_key"), ast.Constant) and "translation_domain" in keywords:
                placeholders = keywords.get("translation_placeholders")
                names: set[str] = set()
                if isinstance(placeholders, ast.Dict):
                    names = {k.value for k in placeholders.keys if isinstance(k, ast.Constant)}
                    if any(k is None for k in placeholders.keys):
                        continue  # built dynamically (the coordinator's _error)
                calls.append((keywords["translation_key"].value, names, path.name))  # type: ignore[union-attr]
    return calls


def test_every_raised_translation_key_exists_with_matching_placeholders() -> None:
    calls = _error_calls()
    assert len(calls) >= 15
    for key, passed, source in calls:
        assert key in EN["exceptions"], (key, source)
        message = EN["exceptions"][key]["message"]
        assert _fields(message) <= passed, (key, _fields(message) - passed, source)
