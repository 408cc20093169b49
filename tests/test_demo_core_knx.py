"""The demo's ``--with-core-knx``: core knx's entry on the bus beside a hub on its connection."""

from __future__ import annotations

import json
from pathlib import Path

from scripts.demo_homeassistant import write_config
from scripts.develop import _connection, build_parser


def _entries(config_dir: Path) -> list[dict]:
    return list(json.loads((config_dir / ".storage" / "core.config_entries").read_text())["data"]["entries"])


def test_with_core_knx_the_hub_rides_on_core_knx_tunnelling_to_knxd(tmp_path: Path) -> None:
    hub_data, core_knx_data = _connection(build_parser().parse_args(["--with-core-knx"]))
    assert hub_data == {"connection_type": "core_knx"}
    assert core_knx_data is not None
    assert (core_knx_data["connection_type"], core_knx_data["host"], core_knx_data["port"]) == ("tunneling", "127.0.0.1", 3671)
    write_config(tmp_path, port=8123, hub_data=hub_data, subentries=[], meters=[], core_knx_data=core_knx_data)
    knx, hub = _entries(tmp_path)
    assert (knx["domain"], knx["version"], knx["data"]) == ("knx", 1, core_knx_data)
    assert (hub["domain"], hub["unique_id"], hub["data"]) == ("knx_evse", "core_knx", hub_data)


def test_without_it_the_hub_tunnels_by_itself(tmp_path: Path) -> None:
    hub_data, core_knx_data = _connection(build_parser().parse_args([]))
    assert core_knx_data is None
    assert hub_data["connection_type"] == "tunneling"
    write_config(tmp_path, port=8123, hub_data=hub_data, subentries=[], meters=[], core_knx_data=core_knx_data)
    assert [entry["domain"] for entry in _entries(tmp_path)] == ["knx_evse"]
