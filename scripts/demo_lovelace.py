"""Installs the demo's dashboard (scripts/demo_dashboard.py) in a running Home Assistant, over its websocket API.

Used by ``scripts/develop`` and ``scripts/screenshot``. ``install_dashboard`` waits until the
registry is settled, builds the dashboard from it, saves it as the dashboard ``/ev-charging`` (made
the default panel) and can write it as YAML for the README (``docs/dashboard.yaml``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from demo_dashboard import DOMAIN, HISTORY_HOURS, TITLE, VIEW_PATH, Meter, build_dashboard, write_yaml
from demo_homeassistant import Websocket

URL_PATH = "ev-charging"


async def settled_registry(ws: Websocket, limit: float = 120.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Wait until Home Assistant runs and the integration's entities stop appearing; return both registries.

    Raises TimeoutError when no knx_evse entity appears within ``limit`` seconds.
    """
    deadline = time.monotonic() + limit
    last = -1
    while True:
        config = await ws.call("get_config")
        entities = await ws.call("config/entity_registry/list")
        count = sum(1 for e in entities if e.get("platform") == DOMAIN)
        if config.get("state") == "RUNNING" and count > 0 and count == last:
            devices = await ws.call("config/device_registry/list")
            return entities, devices
        if time.monotonic() > deadline:
            raise TimeoutError(f"no settled knx_evse entities within {limit:.0f} s (last count {count})")
        last = count
        await asyncio.sleep(3)


def resolve_meters(entities: Sequence[Mapping[str, Any]], meters: Sequence[Meter]) -> list[Meter]:
    """Return ``meters`` (given by unique id in ``entity_id``) with their entity ids; unknown ones are left out."""
    by_unique = {e.get("unique_id"): e["entity_id"] for e in entities}
    return [dataclasses.replace(m, entity_id=by_unique[m.entity_id]) for m in meters if m.entity_id in by_unique]


async def install_dashboard(
    session: aiohttp.ClientSession,
    base_url: str,
    token: str,
    *,
    meters: Sequence[Meter] = (),
    history_hours: float = HISTORY_HOURS,
    yaml_path: Path | None = None,
    compact: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Build the dashboard from the live registry, save it as ``/ev-charging``, make it the default panel.

    ``meters``: the house's sensors to show, by unique id; ``history_hours``: what the installed
    dashboard's history graph shows; ``yaml_path``: also write the dashboard there as YAML (with
    the example's ``HISTORY_HOURS``); ``compact``: the chargers' power in one section (many chargers).
    Return the dashboard's URL and the installed config.
    """
    ws = await Websocket.connect(session, base_url, token)
    try:
        entities, devices = await settled_registry(ws)
        shown = resolve_meters(entities, meters)
        config = build_dashboard(entities, devices, meters=shown, history_hours=history_hours, compact=compact)
        dashboards = await ws.call("lovelace/dashboards/list")
        if not any(d.get("url_path") == URL_PATH for d in dashboards):
            await ws.call(
                "lovelace/dashboards/create",
                url_path=URL_PATH,
                title=TITLE,
                icon="mdi:ev-station",
                show_in_sidebar=True,
                require_admin=False,
                mode="storage",
            )
        await ws.call("lovelace/config/save", url_path=URL_PATH, config=config)
        await ws.call("frontend/set_system_data", key="core", value={"default_panel": URL_PATH})
    finally:
        await ws.ws.close()
    if yaml_path is not None:
        write_yaml(yaml_path, build_dashboard(entities, devices, meters=shown, compact=compact))
    return f"{base_url}/{URL_PATH}/{VIEW_PATH}", config
