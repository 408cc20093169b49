"""Every form field of every flow step in en.json has a help text, written as a sentence.

Walks ``config``, ``options``, ``config_subentries.*`` and the repair issues' ``fix_flow`` steps, their
top-level fields and their sections. The group-address step's fields come from the object table, so
their help texts are checked against it (object number and DPT).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from custom_components.knx_evse.knx.objects import OBJECTS

EN: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "custom_components" / "knx_evse" / "translations" / "en.json").read_text()
)
BARE_UNIT = re.compile(r"^(s|ms|min|A|W|Wh|kW|%)[,;:]")
"""A help text that opens with a unit and a comma (``"s, 0–255, before…"``) is notes, not a sentence."""


def _steps(en: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    flows = [("config", en.get("config", {})), ("options", en.get("options", {}))]
    flows += [(f"config_subentries.{k}", v) for k, v in en.get("config_subentries", {}).items()]
    flows += [
        (f"issues.{k}.fix_flow", v["fix_flow"]) for k, v in en.get("issues", {}).items() if "fix_flow" in v
    ]
    for prefix, flow in flows:
        for step_id, step in flow.get("step", {}).items():
            yield f"{prefix}.step.{step_id}", step
            for name, section in step.get("sections", {}).items():
                yield f"{prefix}.step.{step_id}.sections.{name}", section


def undescribed(en: dict[str, Any]) -> list[str]:
    """Fields with a label under ``data`` but no ``data_description`` (and descriptions of no field)."""
    found = []
    for where, node in _steps(en):
        data, descriptions = node.get("data", {}), node.get("data_description", {})
        found += [f"{where}.data.{key}" for key in data if key not in descriptions]
        found += [
            f"{where}.data_description.{key} (no such field)" for key in descriptions if key not in data
        ]
    return found


def test_every_form_field_has_a_description() -> None:
    assert undescribed(EN) == []


def test_the_walk_covers_every_flow() -> None:
    fields = {where.split(".step.")[0] for where, node in _steps(EN) if node.get("data")}
    assert {"config", "config_subentries.charger", "config_subentries.balancing_group"} <= fields
    assert sum(len(node.get("data", {})) for _, node in _steps(EN)) > 200


def test_a_missing_description_is_reported() -> None:
    en = copy.deepcopy(EN)
    del en["config"]["step"]["routing"]["data_description"]["multicast_group"]
    del en["config_subentries"]["charger"]["step"]["general"]["sections"]["limits"]["data_description"][
        "limit_by_power"
    ]
    assert undescribed(en) == [
        "config.step.routing.data.multicast_group",
        "config_subentries.charger.step.general.sections.limits.data.limit_by_power",
    ]


def test_descriptions_are_sentences() -> None:
    for where, node in _steps(EN):
        for key, text in node.get("data_description", {}).items():
            assert text[0].isupper() or text[0].isdigit(), (where, key, text)
            assert text.endswith("."), (where, key, text)
            assert len(text.split()) >= 4 and not BARE_UNIT.match(text), (where, key, text)


def test_group_address_fields_are_the_object_table_and_describe_their_object() -> None:
    sections = EN["config_subentries"]["charger"]["step"]["group_addresses"]["sections"].values()
    labels = [key for section in sections for key in section["data"]]
    assert sorted(labels) == sorted(obj.key for obj in OBJECTS.values())  # each object once
    descriptions = {key: text for section in sections for key, text in section["data_description"].items()}
    for obj in OBJECTS.values():
        text = descriptions[obj.key]
        assert f"object {obj.number}, DPT {obj.dpt}:" in text, obj.key
        assert ("Command" if obj.writable else "Status") in text, obj.key
        if obj.status is not None:
            assert f"reported by object {obj.status}." in text, obj.key
