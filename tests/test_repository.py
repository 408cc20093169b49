"""The repository carries what HACS validates and reviewers look for: a LICENSE the README names."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_license_file_is_mit_and_names_the_authors() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 The knx_evse authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_readme_has_a_license_section_linking_the_file() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## License\n", 1)
    assert len(section) == 2, "README has no '## License' section"
    body = section[1].split("\n## ", 1)[0]
    assert "MIT" in body and "(LICENSE)" in body
    assert "[License](#license)" in readme, "the contents list does not link the License section"


def test_pyproject_declares_the_same_license() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
