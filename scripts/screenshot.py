"""Screenshot of the demo's dashboard for the README: ``docs/dashboard.png`` (and ``docs/dashboard.yaml``).

Started by ``scripts/screenshot`` (which installs Chromium and playwright first). Runs the demo of
``scripts/develop`` headless, starting the simulated day at 19:00 when three cars are plugged in
(``--start 2025-06-19T11:00:00``: the Leaf charging from the midday sun, ``docs/dashboard-solar.png``),
waits until the chargers report values and a car charges, logs a headless Chromium (Debian's
``/usr/bin/chromium``, driven by playwright) into Home Assistant with the demo user's tokens, and
saves a PNG of the dashboard ``/ev-charging``. The same run writes the dashboard as YAML.

The demo starts with an empty history, so the picture's history graph shows only the minutes the
demo has run (``--history-hours``: 9 minutes by default, after 8 minutes of ``--settle``; the YAML
keeps a day). Before saving, every
text the browser cut off with an ellipsis (a tile's name or state, a heading, a legend) is listed
and the run fails: a cut-off label is a bug of the dashboard's layout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from demo_dashboard import dashboard_entities, hidden_entities  # noqa: E402
from demo_homeassistant import CLIENT_ID, Websocket  # noqa: E402
from demo_lovelace import URL_PATH  # noqa: E402
from develop import Running, build_parser, run  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTED_DOMAINS = ("sensor.", "binary_sensor.", "select.")
MAX_BYTES = 300_000
"""The README's image is kept below this size (quantised to a palette when larger)."""

TRUNCATED_JS = """
() => {
  const text = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    if (node.localName === "slot") return node.assignedNodes({flatten: true}).map(text).join("");
    const kids = node.shadowRoot ? node.shadowRoot.childNodes : node.childNodes;
    return Array.from(kids).map(text).join("");
  };
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
      if (getComputedStyle(el).textOverflow !== "ellipsis" || el.scrollWidth <= el.clientWidth + 1) continue;
      // Screen-reader labels are 1 px wide on purpose; hidden ones are not seen either.
      if (el.clientWidth <= 1 || !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
      const shown = text(el).replace(/\\s+/g, " ").trim();
      if (shown) found.push(shown);
    }
  };
  walk(document);
  return found;
}
"""
"""Browser-side: the texts of every element that the page cuts off with an ellipsis (through shadow roots)."""


def _log(text: str) -> None:
    print(f"screenshot: {text}", flush=True)


def hass_tokens(tokens: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Return the frontend's ``hassTokens`` (localStorage) for the ``/auth/token`` answer ``tokens``."""
    expires_in = int(tokens.get("expires_in", 1800))
    return {
        "access_token": tokens["access_token"],
        "token_type": tokens.get("token_type", "Bearer"),
        "expires_in": expires_in,
        "hassUrl": base_url,
        "clientId": CLIENT_ID,
        "expires": int(time.time() * 1000) + expires_in * 1000,
        "refresh_token": tokens.get("refresh_token"),
    }


async def _states(base_url: str, token: str) -> dict[str, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/api/states", headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        resp.raise_for_status()
        return {s["entity_id"]: s["state"] for s in await resp.json()}


async def wait_for_values(running: Running, config: dict[str, Any], *, settle: float, limit: float) -> bool:
    """Wait at least ``settle`` s, and until the dashboard's sensors have values and a car charges (at
    most ``limit`` s); a card its visibility conditions hide (a plan's results while it is off) needs none.

    Return False when the run is stopped (Ctrl-C) meanwhile.
    """
    entity_ids = dashboard_entities(config)
    token = str(running.tokens["access_token"])
    start = time.monotonic()
    charging_ids = [e for e in entity_ids if e.startswith("binary_sensor.") and e.endswith("_charging")]
    # Reported values only: a limit or switch the charger never reported stays unknown, and the
    # error code is only shown (conditional card) while there is an error.
    reported = [e for e in entity_ids if e.startswith(REPORTED_DOMAINS) and not e.endswith("_error_code")]
    while not running.stop.is_set():
        running.stack.check()
        states = await _states(running.base_url, token)
        hidden = hidden_entities(config, states)
        empty = [e for e in reported if e not in hidden and states.get(e) in (None, "unknown", "unavailable")]
        charging = [e for e in charging_ids if states.get(e) == "on"]
        waited = time.monotonic() - start
        if waited >= settle and not empty and charging:
            _log(f"ready after {waited:.0f} s: {len(charging)} connector(s) charging")
            return True
        if waited >= limit:
            _log(f"going ahead after {waited:.0f} s: no value yet for {empty}, charging: {charging}")
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.stop.wait(), timeout=3)
    return False


async def take(running: Running, output: Path, *, width: int, height: int) -> list[str]:
    """Open the dashboard in headless Chromium, logged in with the demo tokens; save a full-page PNG.

    Return the texts the page shows cut off (``TRUNCATED_JS``), empty when everything fits.
    """
    from playwright.async_api import async_playwright  # noqa: PLC0415 (installed by scripts/screenshot)

    storage = {
        "hassTokens": json.dumps(hass_tokens(running.tokens, running.base_url)),
        "dockedSidebar": json.dumps("always_hidden"),
        "selectedLanguage": json.dumps("en"),
    }
    init = "".join(f"window.localStorage.setItem({json.dumps(k)}, {json.dumps(v)});" for k, v in storage.items())
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            await context.add_init_script(init)
            page = await context.new_page()
            await page.goto(running.dashboard_url, wait_until="networkidle", timeout=90_000)
            await page.wait_for_selector("hui-tile-card", timeout=60_000)
            if await page.query_selector("ha-authorize") is not None:
                raise RuntimeError("the browser shows the login page: the injected tokens were refused")
            await page.wait_for_timeout(5000)  # tiles, trend graph and icons settle
            await _fit_viewport(page, width)
            png = await page.screenshot(full_page=True)
            cut: list[str] = await page.evaluate(TRUNCATED_JS)
        finally:
            await browser.close()
    save(output, png)
    return cut


async def _fit_viewport(page: Any, width: int) -> None:
    """Make the viewport as tall as the page, and let the charts redraw at that size.

    A full-page screenshot otherwise resizes the viewport while it captures, and the history
    graph, redrawing for the new size, was caught halfway (squeezed to its left edge).
    """
    for _ in range(3):
        height = int(await page.evaluate("() => document.documentElement.scrollHeight"))
        if height == page.viewport_size["height"]:
            return
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_timeout(3000)


def save(output: Path, png: bytes) -> None:
    """Write ``shrink(png)`` to ``output`` (creating its folder)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(shrink(png))


def shrink(png: bytes, limit: int = MAX_BYTES) -> bytes:
    """Return ``png``, re-encoded with a 256-colour palette when it is larger than ``limit`` bytes."""
    if len(png) <= limit:
        return png
    from PIL import Image  # noqa: PLC0415 (Pillow comes with Home Assistant)

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    """Parse the command line, run the demo and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--yaml", type=Path, default=ROOT / "docs" / "dashboard.yaml", help="dashboard as YAML")
    parser.add_argument("--start", default="2025-06-19T19:00:00", help="simulated start (cars plugged in)")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    parser.add_argument("--settle", type=float, default=480.0, help="s to let the demo run before the picture")
    parser.add_argument("--limit", type=float, default=600.0, help="s to wait at most for values and charging")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=900, help="viewport height (the picture is the full page)")
    parser.add_argument("--history-hours", type=float, default=0.15, help="hours the picture's history graph shows")
    args = parser.parse_args()
    develop_args = build_parser().parse_args(
        [
            *("--start", args.start, "--speed", str(args.speed)),
            *("--dashboard-yaml", str(args.yaml), "--history-hours", str(args.history_hours)),
        ]
    )

    async def on_ready(running: Running) -> int:
        config = await _dashboard_config(running)
        if not await wait_for_values(running, config, settle=args.settle, limit=args.limit):
            _log("stopped before the picture")
            return 130
        cut = await take(running, args.output, width=args.width, height=args.height)
        _log(f"saved {args.output} ({args.output.stat().st_size // 1024} KB) and {args.yaml}")
        if cut:
            _log(f"FAILED: {len(cut)} text(s) cut off at {args.width} px: {cut}")
            return 1
        return 0

    return asyncio.run(run(develop_args, on_ready=on_ready))


async def _dashboard_config(running: Running) -> dict[str, Any]:
    """The installed dashboard's configuration (read back through the websocket API)."""
    async with aiohttp.ClientSession() as session:
        ws = await Websocket.connect(session, running.base_url, str(running.tokens["access_token"]))
        try:
            config = await ws.call("lovelace/config", url_path=URL_PATH)
        finally:
            await ws.ws.close()
    return dict(config)


if __name__ == "__main__":
    sys.exit(main())
