"""The README's generated parts match the code, and its two developer commands exist."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _entity_table_module():
    spec = importlib.util.spec_from_file_location("entity_table", ROOT / "scripts" / "entity_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entity_table_in_readme_matches_the_code() -> None:
    module = _entity_table_module()
    readme = (ROOT / "README.md").read_text()
    assert module.table() in readme, "README entity table is stale: run scripts/entity_table.py --write"


def test_entity_table_lists_every_platform_and_object_group() -> None:
    table = _entity_table_module().table()
    for platform in ("sensor", "binary_sensor", "switch", "number", "button", "text"):
        assert f"| {platform} |" in table
    # Command objects with their numbers, connector pairs folded (31/80), lifetime energy derived.
    assert "| 31/80 |" in table and "| 33/82 |" in table and "from 46/from 95" in table


def test_readme_developer_commands_exist_and_are_executable() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = set(re.findall(r"`(?:sudo )?(scripts/[a-z_-]+)`", readme))
    assert {"scripts/develop", "scripts/test"} <= commands
    for command in commands:
        assert os.access(ROOT / command, os.X_OK), command


def test_ci_runs_the_readme_test_command() -> None:
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_readme_names_the_balancing_entities_as_the_device_page_does() -> None:
    """The prose about a balancing group's entities uses their names from translations/en.json."""
    module = _entity_table_module()
    strings = module.strings()
    names = {module._name(strings, platform, description) for platform, _, description in module.GROUP_ENTITIES}
    readme = (ROOT / "README.md").read_text()
    start = readme.index("A balancing group adds entities")
    paragraph = readme[start : readme.index("\n\n", start)]

    # Every group entity by its name, and the charger's own limit it is told apart from; nothing else.
    assert set(re.findall(r"\*\*(.+?)\*\*", paragraph)) == names | {"Current limit"}
    # The names the README once used for them would send a reader looking for entities that do not exist.
    for old in ("Meter stale", "Assigned limit"):
        assert old not in readme


def test_readme_pictures_exist_and_show_both_dashboard_stories() -> None:
    """The README's images are files of the repository: the evening and the midday dashboard."""
    readme = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", readme)

    assert {"docs/dashboard.png", "docs/dashboard-solar.png"} <= set(pictures)
    for picture in pictures:
        assert (ROOT / picture).is_file(), picture
