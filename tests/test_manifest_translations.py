"""Release checker: manifest.json, hacs.json, CHANGELOG.md, quality_scale.yaml, services.yaml, en.json.

Translation keys are collected from the code itself:

- entity names (and enum states) from the generated entity descriptions, plus every literal
  ``translation_key="…"`` / ``_attr_translation_key = "…"`` of an entity;
- exception messages: every ``translation_domain=DOMAIN, translation_key="…"`` call and every
  ``self._error("…")`` of the coordinator;
- config flow and charger subentry flow: step ids, menu options, error keys (literal, from the
  ``ERROR_KEYS`` table, the connection test, group-address and project errors) and abort reasons;
- repair issues (``issues.ISSUE_KEYS``) with their fix flows' steps, menu options, errors and aborts,
  and the placeholders each issue is raised with;
- selectors' ``translation_key``; services and their fields from ``services.yaml`` when it exists;
- device names: every ``DeviceInfo(translation_key="…")``.

``missing_keys(en)`` lists what the code needs and en.json lacks; ``dead_keys(en)`` what en.json has
that nothing uses (entity, exception and issue keys; config-flow keys are only warned about because
some are built at run time). Both are tested on the real file and on copies with one key removed or
added, so the checker itself is known to catch a missing or dead key.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import re
import string
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from awesomeversion import AwesomeVersion
from homeassistant.const import Platform
from homeassistant.const import __version__ as HA_VERSION
from packaging.requirements import Requirement

from custom_components.knx_evse import config_flow, issues, repairs
from custom_components.knx_evse import entity_descriptions as ed
from custom_components.knx_evse.config_flow import ets_forms
from custom_components.knx_evse.const import DOMAIN

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / DOMAIN
EN: dict[str, Any] = json.loads((PACKAGE / "translations" / "en.json").read_text())
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())
MANIFEST: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text())
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$")
PLATFORM_NAMES = {platform.value for platform in Platform}
Path_ = tuple[str, ...]

# -- code scanning helpers -----------------------------------------------------------------------


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _func_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls(node: ast.AST) -> Iterator[ast.Call]:
    return (n for n in ast.walk(node) if isinstance(n, ast.Call))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _dict_keys(node: ast.expr | None) -> set[str] | None:
    """Keys of a literal dict (None when it is not one or has a ``**`` splat)."""
    if not isinstance(node, ast.Dict) or any(k is None for k in node.keys):
        return None
    return {k for k in (_const(key) for key in node.keys) if k is not None}


def _resolve(node: ast.expr, module: Any) -> list[str]:
    """String values of ``node``: a constant, a module-level name, or both branches of ``a if c else b``."""
    if (value := _const(node)) is not None:
        return [value]
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return [getattr(module, node.id)]
    if isinstance(node, ast.IfExp):
        return _resolve(node.body, module) + _resolve(node.orelse, module)
    return []


# -- what the code needs -----------------------------------------------------------------------


def entity_keys() -> dict[str, set[str]]:
    """Platform → translation keys of the entities the code can create ("*" = any platform)."""
    keys: dict[str, set[str]] = {
        "sensor": {d.translation_key for d in (*ed.SENSORS, *ed.LIFETIME_ENERGY) if d.translation_key},
        "binary_sensor": {d.translation_key for d in ed.BINARY_SENSORS if d.translation_key},
        "switch": {d.translation_key for d in ed.SWITCHES if d.translation_key},
        "number": {d.translation_key for d in ed.NUMBERS if d.translation_key},
        "button": {d.translation_key for d in ed.BUTTONS if d.translation_key},
        "text": {d.translation_key for d in ed.TEXTS if d.translation_key},
        "*": set(),
    }
    for path in _modules():
        platform = path.stem if path.stem in PLATFORM_NAMES else "*"
        tree = _tree(path)
        for call in _calls(tree):
            key = _const(_kw(call, "translation_key"))
            name = _func_name(call)
            if key is None or _kw(call, "translation_domain") is not None or name.endswith("SelectorConfig"):
                continue
            if "issue" in name or name == "DeviceInfo":
                continue
            keys.setdefault(platform, set()).add(key)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Assign) or (key := _const(node.value)) is None:
                continue
            if any(getattr(t, "id", getattr(t, "attr", "")) == "_attr_translation_key" for t in node.targets):
                keys.setdefault(platform, set()).add(key)
    return keys


def device_keys() -> set[str]:
    """``translation_key`` of every ``DeviceInfo(…)`` (translated device names)."""
    return {
        key
        for path in _modules()
        for call in _calls(_tree(path))
        if _func_name(call) == "DeviceInfo" and (key := _const(_kw(call, "translation_key")))
    }


def exception_calls() -> list[tuple[str, set[str] | None, str]]:
    """(key, placeholder names passed or None when built at run time, module) of every translated error."""
    found = []
    for path in _modules():
        for call in _calls(_tree(path)):
            if _func_name(call) == "_error" and call.args and (key := _const(call.args[0])):
                found.append((key, {k.arg for k in call.keywords if k.arg} | {"charger"}, path.name))
            elif _kw(call, "translation_domain") is not None and (key := _const(_kw(call, "translation_key"))):
                placeholders = _kw(call, "translation_placeholders")
                found.append((key, set() if placeholders is None else _dict_keys(placeholders), path.name))
    return found


def selector_keys() -> set[str]:
    """``translation_key`` of selectors: SelectSelectorConfig(translation_key=…) and the flow's ``select``."""
    keys = set()
    for path in _modules():
        for call in _calls(_tree(path)):
            name = _func_name(call)
            node = _kw(call, "translation_key") if name.endswith("SelectorConfig") else None
            if name == "select" and call.args:
                node = call.args[0]
            if (key := _const(node)) is not None:
                keys.add(key)
    return keys


def _flow_parts(cls: ast.ClassDef) -> dict[str, set[Path_]]:
    """Step ids, menu options, errors and abort reasons a flow class's code uses literally."""
    parts: dict[str, set[Path_]] = {"step": set(), "error": set(), "abort": set()}
    methods = [n.name.removeprefix("async_step_") for n in cls.body if isinstance(n, ast.AsyncFunctionDef)]
    for call in _calls(cls):
        name = _func_name(call)
        step_node = _kw(call, "step_id") or (call.args[0] if name == "_show" and call.args else None)
        step = _const(step_node)
        if isinstance(step_node, ast.JoinedStr):  # f"connector_{n}": every async_step_connector_…
            pattern = "".join(
                re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in step_node.values
            )
            parts["step"].update((m,) for m in methods if re.fullmatch(pattern, m))
        if step is not None:
            parts["step"].add((step,))
            menu = _kw(call, "menu_options")
            if isinstance(menu, ast.List):
                parts["step"].update((step, "menu_options", o) for o in map(_const, menu.elts) if o)
        if name == "async_abort" and (reason := _const(_kw(call, "reason"))):
            parts["abort"].add((reason,))
        dicts = [_kw(call, "errors")] + (list(call.args) if name.endswith("_form") else [])
        for node in dicts:
            if isinstance(node, ast.Dict):
                parts["error"].update((v,) for v in map(_const, node.values) if v)
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and node.attr in ("async_update_reload_and_abort", "async_update_and_abort"):
            # the reason follows the flow's source: reauth_successful for a reauthentication
            parts["abort"].add(("reconfigure_successful",))
            if "reauth" in methods:
                parts["abort"].add(("reauth_successful",))
        if (
            isinstance(node, ast.Assign)
            and (value := _const(node.value)) is not None
            and any(
                isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "errors"
                for t in node.targets
            )
        ):
            parts["error"].add((value,))
    return parts


def _classes(path: Path) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.walk(_tree(path)) if isinstance(n, ast.ClassDef)}


def _class_node(cls: type) -> ast.ClassDef:
    """The syntax tree of a flow class with the bodies of its base classes in the package (its steps)."""
    body = [
        node
        for klass in cls.__mro__
        if klass.__module__.startswith("custom_components.")
        for node in _classes(Path(inspect.getsourcefile(klass) or ""))[klass.__name__].body
    ]
    return ast.ClassDef(name=cls.__name__, bases=[], keywords=[], body=body, decorator_list=[], type_params=[])


def _dynamic_errors() -> dict[str, set[str]]:
    """Error keys built at run time: the hub's connection test; parameters, addresses, projects."""
    hub: set[str] = set()
    charger: set[str] = set(ets_forms.ERROR_KEYS.values()) | {"value_out_of_range"}
    for node in (n for path in sorted((PACKAGE / "config_flow").glob("*.py")) for n in ast.walk(_tree(path))):
        if isinstance(node, ast.AsyncFunctionDef) and node.name == "async_test_connection":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    hub.update(v for v in (_const(ret.value),) if v)
                    if isinstance(ret.value, ast.IfExp):
                        hub.update(v for v in (_const(ret.value.body), _const(ret.value.orelse)) if v)
    for path in _modules():
        for call in _calls(_tree(path)):
            name = _func_name(call)
            if name == "GroupAddressError" and len(call.args) > 1 and (reason := _const(call.args[1])):
                charger.add(reason)
            if name == "ProjectError" and call.args and (reason := _const(call.args[0])):
                charger.add(reason)
    return {"hub": hub, "charger": charger}


def flow_keys() -> set[Path_]:
    """Every en.json path the hub flow and the subentry flows need."""
    needed: set[Path_] = set()
    dynamic = _dynamic_errors()
    sections: list[tuple[Path_, type, str]] = [(("config",), config_flow.KnxEvseConfigFlow, "hub")]
    for subentry_type, flow in config_flow.SUBENTRY_FLOWS.items():
        sections.append((("config_subentries", subentry_type), flow, subentry_type))
        needed.add(("config_subentries", subentry_type, "entry_type"))
        needed.add(("config_subentries", subentry_type, "initiate_flow", "user"))
    for prefix, flow_class, kind in sections:
        parts = _flow_parts(_class_node(flow_class))
        parts["error"].update((e,) for e in dynamic.get(kind, set()))
        for part, paths in parts.items():
            needed.update((*prefix, part, *p) for p in paths)
    for key in selector_keys():
        needed.add(("selector", key, "options"))
    return needed


def fix_flow_classes() -> dict[str, str]:
    """Issue translation key → class name of its fix flow (``repairs._FIX_FLOWS``)."""
    return {key: type(factory(None, "issue", {})).__name__ for key, factory in repairs._FIX_FLOWS.items()}  # type: ignore[arg-type]


def _module(path: Path) -> Any:
    """The imported module of a source file of the package."""
    return importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))


def issue_calls() -> list[tuple[str, set[str] | None, bool]]:
    """(issue key, placeholder names or None when built at run time, fixable) of every issue raised.

    Both ``issues.async_create_issue(hass, KEY, …)`` (and its wrappers) and a direct
    ``ir.async_create_issue(hass, DOMAIN, issue_id, translation_key=KEY, …)`` count.
    """
    found = []
    for path in _modules():
        module = _module(path)
        for call in _calls(_tree(path)):
            if _func_name(call) != "async_create_issue":
                continue
            key_node = _kw(call, "translation_key") or (call.args[1] if len(call.args) > 1 else None)
            names = _dict_keys(_kw(call, "placeholders") or _kw(call, "translation_placeholders"))
            fixable = isinstance(f := _kw(call, "is_fixable") or _kw(call, "fixable"), ast.Constant) and f.value is True
            for key in _resolve(key_node, module) if key_node is not None else []:
                if key != DOMAIN:
                    found.append((key, names, fixable))
    return found


def raised_issue_keys() -> set[str]:
    """Issue keys of the repairs module and of every other module that raises issues itself."""
    return set(issues.ISSUE_KEYS) | {key for key, _, _ in issue_calls()}


def issue_keys() -> set[Path_]:
    """Every en.json path of the repair issues: title, description or fix flow steps/errors/aborts."""
    needed: set[Path_] = set()
    fixable = fix_flow_classes()
    confirm_only = {key for key, _, is_fixable in issue_calls() if is_fixable and key not in fixable}
    classes = _classes(PACKAGE / "repairs.py")
    for key in raised_issue_keys():
        needed.add(("issues", key, "title"))
        if key in fixable:
            for part, paths in _flow_parts(classes[fixable[key]]).items():
                needed.update(("issues", key, "fix_flow", part, *p) for p in paths)
        elif key in confirm_only:
            needed.add(("issues", key, "fix_flow", "step", "confirm"))
        else:
            needed.add(("issues", key, "description"))
    return needed


def issue_placeholders() -> dict[str, set[str]]:
    """Issue key → placeholder names passed where the code raises it (literal dicts only)."""
    passed: dict[str, set[str]] = {}
    for key, names, _ in issue_calls():
        if names is not None:
            passed.setdefault(key, set()).update(names)
    return passed


def services() -> dict[str, Any]:
    path = PACKAGE / "services.yaml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def _service_fields(service: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    """(path under services.<name>, field) for every field; sections have their own ``fields``."""
    for name, spec in (service.get("fields") or {}).items():
        if isinstance(spec, dict) and "fields" in spec:
            yield ("sections", name), "name"
            for inner in spec["fields"]:
                yield ("fields", inner), "name"
                yield ("fields", inner), "description"
        else:
            yield ("fields", name), "name"
            yield ("fields", name), "description"


def service_keys() -> set[Path_]:
    needed: set[Path_] = set()
    for name, service in services().items():
        needed.update({("services", name, "name"), ("services", name, "description")})
        for path, leaf in _service_fields(service or {}):
            needed.add(("services", name, *path, leaf))
    return needed


def needed_keys() -> set[Path_]:
    """Every en.json path the code needs."""
    needed: set[Path_] = set()
    for platform, keys in entity_keys().items():
        if platform != "*":
            needed.update(("entity", platform, key, "name") for key in keys)
    for description in ed.SENSORS:
        for option in description.options or ():
            needed.add(("entity", "sensor", str(description.translation_key), "state", option))
    needed.update(("exceptions", key, "message") for key, _, _ in exception_calls())
    needed.update(("device", key, "name") for key in device_keys())
    return needed | flow_keys() | issue_keys() | service_keys()


def _has(en: dict[str, Any], path: Path_) -> bool:
    node: Any = en
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict) or (isinstance(node, str) and node.strip() != "")


def missing_keys(en: dict[str, Any]) -> list[str]:
    """Paths the code needs that ``en`` lacks (entity keys of any-platform literals: on some platform)."""
    missing = [".".join(p) for p in sorted(needed_keys()) if not _has(en, p)]
    for key in sorted(entity_keys().get("*", set())):
        if not any(key in keys for keys in en.get("entity", {}).values()):
            missing.append(f"entity.*.{key}")
    return missing


def dead_keys(en: dict[str, Any]) -> list[str]:
    """Entity, exception and issue keys of ``en`` that nothing in the code uses."""
    used = entity_keys()
    dead = [
        f"entity.{platform}.{key}"
        for platform, keys in en.get("entity", {}).items()
        for key in keys
        if key not in used.get(platform, set()) and key not in used["*"]
    ]
    raised = {key for key, _, _ in exception_calls()}
    dead += [f"exceptions.{key}" for key in en.get("exceptions", {}) if key not in raised]
    dead += [f"issues.{key}" for key in en.get("issues", {}) if key not in raised_issue_keys()]
    dead += [f"services.{key}" for key in en.get("services", {}) if key not in services()]
    dead += [f"device.{key}" for key in en.get("device", {}) if key not in device_keys()]
    return dead


# -- translations ------------------------------------------------------------------------------


def test_every_key_the_code_uses_is_translated() -> None:
    assert missing_keys(EN) == []


def test_no_dead_entity_exception_issue_or_service_keys() -> None:
    assert dead_keys(EN) == []


@cache
def _string_constants() -> frozenset[str]:
    """Every string literal in the package's code."""
    return frozenset(
        node.value
        for path in _modules()
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


def test_config_flow_keys_not_found_in_code_are_reported() -> None:
    """Config-flow keys the code never names: a warning (some are built at run time, e.g. f-strings)."""
    needed = flow_keys()
    constants = _string_constants()
    unused = []
    for prefix in (("config",), *(("config_subentries", t) for t in config_flow.SUBENTRY_FLOWS)):
        node: Any = EN
        for part in prefix:
            node = node[part]
        for part in ("error", "abort"):
            unused += [
                ".".join((*prefix, part, k))
                for k in node.get(part, {})
                if (*prefix, part, k) not in needed and k not in constants
            ]
        unused += [
            ".".join((*prefix, "step", k))
            for k in node.get("step", {})
            if (*prefix, "step", k) not in needed and k not in constants
        ]
    if unused:
        warnings.warn(f"config-flow translations not referred to in code: {unused}", stacklevel=1)
    assert len(unused) < 5, unused  # more would mean the scan above broke


@pytest.mark.parametrize(
    "path",
    [
        ("entity", "sensor", "lifetime_energy", "name"),
        ("entity", "sensor", "error_code", "state", "ground_failure"),
        ("entity", "switch", "start_stop", "name"),
        ("exceptions", "not_connected", "message"),
        ("exceptions", "current_out_of_range", "message"),
        ("exceptions", "keyring_invalid", "message"),
        ("config", "step", "manual_tunnel"),
        ("config", "error", "no_tunnel_slot"),
        ("config", "error", "invalid_ip_address"),
        ("config", "abort", "already_configured"),
        ("config_subentries", "charger", "step", "group_addresses"),
        ("config_subentries", "charger", "error", "duplicate_sending_address"),
        ("config_subentries", "charger", "error", "invalid_project"),
        ("config_subentries", "charger", "error", "margin_out_of_range"),
        ("exceptions", "authentication_failed", "message"),
        ("config", "step", "reauth_confirm"),
        ("config", "abort", "reauth_successful"),
        ("config", "error", "invalid_auth"),
        ("issues", "status_address_unanswered", "fix_flow", "step", "init", "menu_options", "unlink"),
        ("issues", "charger_error", "description"),
        ("issues", "meter_entity_missing", "title"),
        ("selector", "sending_mode", "options"),
        ("device", "connector", "name"),
    ],
)
def test_a_removed_key_is_reported(path: Path_) -> None:
    en = copy.deepcopy(EN)
    node = en
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    assert ".".join(path) in missing_keys(en) or any(m.startswith(".".join(path)) for m in missing_keys(en))


@pytest.mark.parametrize(
    ("section", "key"),
    [("entity", "sensor"), ("exceptions", None), ("issues", None), ("device", None)],
)
def test_an_unused_key_is_reported(section: str, key: str | None) -> None:
    en = copy.deepcopy(EN)
    target = en[section][key] if key else en[section]
    target["never_used_anywhere"] = {"name": "x", "message": "x", "title": "x"}
    assert any(dead.endswith(".never_used_anywhere") for dead in dead_keys(en))


def test_exception_placeholders_are_passed() -> None:
    calls = exception_calls()
    assert len({key for key, _, _ in calls}) >= 17
    for key, passed, module in calls:
        if passed is None:
            continue
        assert _fields(EN["exceptions"][key]["message"]) <= passed, (key, module)


def test_issue_placeholders_are_passed() -> None:
    passed = issue_placeholders()
    assert set(passed) >= {"status_address_unanswered", "charger_error", "charger_error_reset"}
    for key, issue in EN["issues"].items():
        texts = [issue["title"], issue.get("description", "")]
        texts += [step.get("title", "") + step.get("description", "") for step in issue.get("fix_flow", {}).get("step", {}).values()]
        used = set().union(*(_fields(text) for text in texts))
        assert used <= passed.get(key, set()), (key, used - passed.get(key, set()))


def test_icons_and_service_icons_exist() -> None:
    for platform, keys in ICONS.get("entity", {}).items():
        assert set(keys) <= set(EN["entity"][platform]), platform
    assert set(ICONS.get("services", {})) == set(services())


# -- services.yaml -----------------------------------------------------------------------------


def _registered_services() -> set[str]:
    """Service names the code registers (hass.services.async_register / async_register_entity_service)."""
    names = set()
    for path in _modules():
        module = _module(path)
        for call in _calls(_tree(path)):
            name = _func_name(call)
            if name == "async_register" and len(call.args) >= 2:
                names.update(_resolve(call.args[1], module))
            elif name == "async_register_entity_service" and call.args:
                names.update(_resolve(call.args[0], module))
    return names


def test_services_yaml_describes_every_registered_service() -> None:
    described = services()
    assert _registered_services() <= set(described)
    for name, service in described.items():
        assert isinstance(service, dict | None), name
        for _, field in _service_fields(service or {}):
            assert field in ("name", "description")


# -- manifest, CHANGELOG, hacs.json, quality scale ---------------------------------------------------


def test_manifest() -> None:
    required = {"domain", "name", "version", "documentation", "issue_tracker", "codeowners", "requirements",
                "config_flow", "integration_type", "iot_class"}
    assert required <= set(MANIFEST), required - set(MANIFEST)
    assert MANIFEST["domain"] == DOMAIN == PACKAGE.name
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] in {"assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push"}
    assert MANIFEST["integration_type"] in {"device", "entity", "hardware", "helper", "hub", "service", "system", "virtual"}
    assert SEMVER.match(MANIFEST["version"]), MANIFEST["version"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    assert MANIFEST["documentation"].startswith("https://") and MANIFEST["issue_tracker"].startswith("https://")
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"] and keys[2:] == sorted(keys[2:]), "hassfest order: domain, name, then sorted"
    from importlib.metadata import version

    for requirement in map(Requirement, MANIFEST["requirements"]):
        assert version(requirement.name) in requirement.specifier, f"installed {requirement.name} outside {requirement}"


def test_changelog_top_entry_is_the_manifest_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert versions, "CHANGELOG.md needs '## [x.y.z] - date' entries"
    top = next(v for v in versions if v.lower() != "unreleased")
    assert top == MANIFEST["version"]
    assert re.search(rf"^## \[{re.escape(top)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.MULTILINE)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(rf'^version = "{re.escape(top)}"$', pyproject, flags=re.MULTILINE)


def test_hacs_json_follows_hacs_rules() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    allowed = {"name", "content_in_root", "zip_release", "filename", "hide_default_branch", "country",
               "homeassistant", "hacs", "persistent_directory", "render_readme"}
    assert set(hacs) <= allowed, set(hacs) - allowed
    assert isinstance(hacs["name"], str) and hacs["name"].strip()
    assert hacs["render_readme"] is True and (ROOT / "README.md").is_file()
    assert hacs["content_in_root"] is False
    assert not hacs.get("zip_release", False)
    minimum = AwesomeVersion(hacs["homeassistant"])
    assert minimum.valid and minimum.strategy.value == "CalVer"
    assert minimum <= AwesomeVersion(HA_VERSION), "the minimum must be a version the tests run on"
    assert minimum >= AwesomeVersion("2025.9.0"), "config subentries with entities need a recent core"
    integrations = [p for p in (ROOT / "custom_components").iterdir() if p.is_dir() and not p.name.startswith("__")]
    assert integrations == [PACKAGE], "HACS: exactly one integration under custom_components/"


QUALITY_RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow-test-coverage",
        "config-flow", "dependency-transparency", "docs-actions", "docs-high-level-description",
        "docs-installation-instructions", "docs-removal-instructions", "entity-event-setup",
        "entity-unique-id", "has-entity-name", "runtime-data", "test-before-configure",
        "test-before-setup", "unique-config-entry",
    ),
    "silver": (
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ),
    "gold": (
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices", "docs-supported-functions",
        "docs-troubleshooting", "docs-use-cases", "dynamic-devices", "entity-category",
        "entity-device-class", "entity-disabled-by-default", "entity-translations",
        "exception-translations", "icon-translations", "reconfiguration-flow", "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}


def quality_scale() -> dict[str, tuple[str, str | None]]:
    rules = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
    result = {}
    for rule, value in rules.items():
        status, comment = (value, None) if isinstance(value, str) else (value["status"], value.get("comment"))
        result[rule] = (status, comment)
    return result


def test_quality_scale_lists_every_rule_with_a_reason_for_exemptions() -> None:
    rules = quality_scale()
    expected = [rule for tier in QUALITY_RULES.values() for rule in tier]
    assert sorted(rules) == sorted(expected)
    for rule, (status, comment) in rules.items():
        assert status in ("done", "exempt", "todo"), rule
        if status != "done":
            assert comment and comment.strip(), f"{rule}: {status} needs a comment"


def test_manifest_quality_scale_is_the_tier_reached() -> None:
    rules = quality_scale()
    reached = "no score"
    for tier, names in QUALITY_RULES.items():
        if any(rules[name][0] == "todo" for name in names):
            break
        reached = tier
    assert MANIFEST.get("quality_scale", "no score") == reached


def test_rules_marked_done_have_their_evidence() -> None:
    """Spot checks that a "done" rule is true in the code (the rest is covered by the test suite)."""
    rules = {rule: status for rule, (status, _) in quality_scale().items()}
    if rules["diagnostics"] == "done":
        assert (PACKAGE / "diagnostics.py").is_file()
    if rules["repair-issues"] == "done":
        assert (PACKAGE / "repairs.py").is_file() and EN.get("issues")
    if rules["icon-translations"] == "done":
        assert ICONS.get("entity")
    if rules["brands"] == "done":
        assert (PACKAGE / "brand" / "icon.png").is_file()
    if rules["parallel-updates"] == "done":
        for platform in PLATFORM_NAMES & {p.stem for p in _modules()}:
            source = (PACKAGE / f"{platform}.py").read_text()
            assert re.search(r"^PARALLEL_UPDATES = \d+$", source, flags=re.MULTILINE), platform
    if rules["reconfiguration-flow"] == "done":
        assert hasattr(config_flow.KnxEvseConfigFlow, "async_step_reconfigure")
    if rules["reauthentication-flow"] == "done":
        assert hasattr(config_flow.KnxEvseConfigFlow, "async_step_reauth")
        assert hasattr(config_flow.KnxEvseConfigFlow, "async_step_reauth_confirm")
        assert "ConfigEntryAuthFailed" in (PACKAGE / "__init__.py").read_text()
    if rules["strict-typing"] == "done":
        assert re.search(r"^strict = true$", (ROOT / "pyproject.toml").read_text(), flags=re.MULTILINE)
    if rules["action-setup"] == "done":
        assert services(), "action-setup done without any action"


def test_brand_images_have_home_assistants_sizes() -> None:
    """Local brand images (Home Assistant ≥ 2026.3): icons 256/512 px square, logos 128-256/256-512 px high."""
    from PIL import Image

    brand = PACKAGE / "brand"
    for prefix in ("", "dark_"):
        for name, (low, high), square in (
            ("icon.png", (256, 256), True),
            ("icon@2x.png", (512, 512), True),
            ("logo.png", (128, 256), False),
            ("logo@2x.png", (256, 512), False),
        ):
            with Image.open(brand / f"{prefix}{name}") as image:
                assert image.format == "PNG" and image.mode == "RGBA", name
                width, height = image.size
                assert low <= min(width, height) <= high, (prefix + name, image.size)
                assert (width == height) is square, (prefix + name, image.size)
                assert image.getpixel((0, 0))[3] == 0, "transparent background"
