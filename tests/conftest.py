"""Shared fixtures. Importing our package first lets Home Assistant find it as a custom integration."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

import pytest
from homeassistant.core import HomeAssistant

import custom_components.knx_evse  # noqa: F401  (must be imported before HA scans custom_components)
from tests.knx_harness import KnxTestKit

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Enable loading custom integrations in every Home Assistant test."""
    yield


@pytest.fixture
async def knx(hass: HomeAssistant) -> AsyncGenerator[KnxTestKit]:
    """A faked KNX interface; at the end, every sent telegram must have been asserted."""
    kit = KnxTestKit(hass)
    with kit.patched():
        yield kit
        await kit.assert_no_telegram()
