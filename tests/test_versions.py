"""The supported Home Assistant versions are stated once and agree everywhere.

The oldest supported version is the one CI tests in ``.venv-oldest`` (requirements_oldest.txt);
hacs.json's minimum and the README must name it. The newest is the main job's (requirements_run.txt).
"""

from __future__ import annotations

import json
import re
from importlib.metadata import requires, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pinned(requirements: str, package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==(\S+)$", (ROOT / requirements).read_text(), re.MULTILINE)
    assert match is not None, (requirements, package)
    return match.group(1)


def test_hacs_minimum_is_the_oldest_version_ci_tests() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["homeassistant"] == _pinned("requirements_oldest.txt", "homeassistant")


def test_readme_names_the_tested_versions() -> None:
    readme = (ROOT / "README.md").read_text()
    for requirements in ("requirements_oldest.txt", "requirements_test.txt", "requirements_run.txt"):
        assert _pinned(requirements, "homeassistant") in readme, requirements
    assert _pinned("requirements_oldest.txt", "xknx") in readme


def test_the_test_pair_is_matched() -> None:
    """The test plugin pins the Home Assistant it was built for; the two lines move together."""
    plugin = _pinned("requirements_test.txt", "pytest-homeassistant-custom-component")
    if version("pytest-homeassistant-custom-component") != plugin:
        return  # another environment (.venv-oldest) runs this file
    pins = [r for r in requires("pytest-homeassistant-custom-component") or [] if r.startswith("homeassistant")]
    assert pins == [f"homeassistant=={_pinned('requirements_test.txt', 'homeassistant')}"]
