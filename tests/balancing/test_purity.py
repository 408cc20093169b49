"""The core is pure: stdlib only, no Home Assistant, no xknx (docs/balancing.md, "The pure core ... with no
Home Assistant import").
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "custom_components" / "knx_evse" / "balancing"


def test_only_stdlib_or_relative_imports() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "balancer.py", "config.py"}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)


def test_loads_standalone_without_home_assistant() -> None:
    # Load the directory as a top-level package, without custom_components/knx_evse/__init__.py.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('balancing', {str(PACKAGE / '__init__.py')!r},"
        f" submodule_search_locations=[{str(PACKAGE)!r}])\n"
        "mod = importlib.util.module_from_spec(spec); sys.modules['balancing'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "cfg = mod.BalancingConfig(limit=63, reserve_margin=10, evses=(mod.EvseConfig(max_current=32),),"
        " ramp_up_delay=0)\n"
        "d = mod.Balancer(cfg).update(0.0, mod.MeterReading(0.0, 0.0), [mod.EvseReading(0.0, True)])\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('homeassistant', 'xknx', 'custom_components')]\n"
        "print(d.limits, d.available, bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(32.0,) 56.7 []"
