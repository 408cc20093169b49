"""The repository carries what HACS validates and reviewers look for: a LICENSE the README names."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

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


# -- what the Validate workflow's hassfest and HACS actions check, kept locally ----------------

HACS_KEYS = {
    "name", "content_in_root", "zip_release", "filename", "hide_default_branch", "country",
    "homeassistant", "hacs", "persistent_directory", "render_readme",
}
"""The keys HACS accepts in hacs.json (its documentation, "General options")."""
MANIFEST_REQUIRED = {"domain", "name", "codeowners", "documentation", "issue_tracker", "version"}
"""Keys hassfest and HACS require of a custom integration's manifest.json."""


def test_the_validate_workflow_runs_hassfest_and_hacs() -> None:
    workflow = (ROOT / ".github" / "workflows" / "validate.yml").read_text()
    assert "home-assistant/actions/hassfest@" in workflow
    assert "hacs/action@" in workflow and "category: integration" in workflow


def test_hacs_json_and_the_manifest_pass_what_the_validators_check() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= HACS_KEYS and hacs["name"]
    integrations = [p for p in (ROOT / "custom_components").iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert [p.name for p in integrations] == ["knx_evse"]  # HACS: exactly one integration
    manifest = json.loads((integrations[0] / "manifest.json").read_text())
    assert set(manifest) >= MANIFEST_REQUIRED
    assert manifest["domain"] == "knx_evse" and manifest["config_flow"] is True
    # hassfest sorts: domain, name first, the rest alphabetically
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"] and keys[2:] == sorted(keys[2:])
    assert all(c.startswith("@") for c in manifest["codeowners"])
    # the brand images HACS and Home Assistant 2026 show for a custom integration
    assert (integrations[0] / "brand" / "icon.png").is_file()
    assert (ROOT / "README.md").is_file() and (ROOT / "LICENSE").is_file()


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_the_manifest_version_is_the_newest_release_in_the_changelog() -> None:
    """Between releases the manifest keeps the last released version; [Unreleased] collects what is next."""
    manifest = json.loads((ROOT / "custom_components" / "knx_evse" / "manifest.json").read_text())
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
    assert released, "the CHANGELOG has no released version"
    assert manifest["version"] == released[0], f"manifest {manifest['version']}, CHANGELOG {released[0]}"


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_a_release_tag_carries_its_own_version() -> None:
    """A release is a tag ``v<version>`` on the commit whose manifest and CHANGELOG say ``<version>``.

    A clone made without tags (as CI's is) has nothing to check here, and each tag it has is checked.
    """
    tags = _git("tag", "--list", "v*").split()
    for tag in tags:
        tagged = json.loads(_git("show", f"{tag}:custom_components/knx_evse/manifest.json"))
        assert f"v{tagged['version']}" == tag
        assert f"## [{tagged['version']}] - " in _git("show", f"{tag}:CHANGELOG.md")
