"""Shared fixtures. Importing our package first lets Home Assistant find it as a custom integration."""

from __future__ import annotations

from collections.abc import Generator

import pytest

import custom_components.knx_evse  # noqa: F401  (must be imported before HA scans custom_components)

pytest_plugins = ["pytest_homeassistant_custom_component"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> Generator[None]:
    """Enable loading custom integrations in every Home Assistant test."""
    yield
