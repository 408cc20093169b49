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


def test_readme_opens_with_the_manufacturer_and_the_model_range() -> None:
    intro = (ROOT / "README.md").read_text().split("\n## ", 1)[0]
    for words in ("Dinuy", "VE 741", "VE 742", "VE 221", "VE 222", "single- or three-phase", "6–32 A"):
        assert words in intro, words


def test_developer_section_lives_in_docs_and_the_readme_links_it() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/development.md)" in readme and (ROOT / "docs" / "development.md").is_file()
    development = readme.index("\n## Development\n")
    assert all(
        readme.index(f"\n## {user}\n") < development for user in ("Installation (HACS)", "Setup", "Removal")
    )
    assert "## Layout" not in readme and ".venv-oldest" not in readme
