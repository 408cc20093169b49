"""Fixtures of the soak: the real-bus fixtures of tests/e2e/conftest.py, and no asyncio debug mode."""

import asyncio

import pytest

from tests.e2e.conftest import bus_netns, knxd_bus, sockets_enabled

__all__ = ["bus_netns", "knxd_bus", "sockets_enabled"]


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Replace the test plugin's fixture of that name: keep asyncio's debug mode off in the soak.

    The soak steps a simulated day through the loop in minutes, so in debug mode asyncio reports
    nearly every step as a slow callback; those warnings are the harness's, not the integration's,
    and the test plugin since 0.13.375 turns debug mode on for the test's own loop.
    """
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Replace tests/conftest.py's fixture of that name, which needs the ``hass`` fixture.

    The soak makes its own Home Assistant instances (home.py: a restart stops one and starts
    another) and enables custom integrations in each.
    """
