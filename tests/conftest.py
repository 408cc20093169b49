"""Shared fixtures. Importing our package first lets Home Assistant find it as a custom integration."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant

import custom_components.knx_evse  # noqa: F401  (must be imported before HA scans custom_components)
from tests.core_knx_harness import CoreKnxTestKit
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


@pytest.fixture
async def core_knx(hass: HomeAssistant, tmp_path: Path) -> AsyncGenerator[CoreKnxTestKit]:
    """Home Assistant's KNX integration loaded on a faked interface; every sent telegram must have been asserted."""
    kit = CoreKnxTestKit(hass, tmp_path / "config")
    with kit.patched():
        await kit.setup_core_knx()
        yield kit
        await kit.assert_no_telegram()
        await kit.unload_core_knx()


@pytest.fixture
def no_unanswered_reads_check() -> Generator[None]:
    """Keep the repairs' second reads of unanswered status objects (tests/test_repairs.py) out of a
    test whose charger answers no start-up read and whose clock passes the answer window."""
    with patch("custom_components.knx_evse.charger.repairs.ChargerRepairs._retry_if_reachable"):
        yield


class DeprecationReports(logging.Handler):
    """Collects Home Assistant's deprecation and frame reports that name this integration."""

    def __init__(self) -> None:
        """Start with no report."""
        super().__init__(logging.DEBUG)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep a record of ``homeassistant.helpers.frame`` (or another reporter) about knx_evse."""
        message = record.getMessage()
        if "knx_evse" in message and ("Detected that" in message or "deprecated" in message):
            self.reports.append(message)


@pytest.fixture(autouse=True)
def no_deprecation_reports() -> Generator[DeprecationReports]:
    """Fail the test when Home Assistant reported a deprecated use by custom_components.knx_evse."""
    handler = DeprecationReports()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    assert handler.reports == [], "Home Assistant reported deprecated use by knx_evse"
