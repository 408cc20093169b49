"""The suite fails on any deprecation report that Home Assistant makes about this integration."""

from __future__ import annotations

import logging

from tests.conftest import DeprecationReports


def test_a_frame_report_about_knx_evse_is_collected(no_deprecation_reports: DeprecationReports) -> None:
    logging.getLogger("homeassistant.helpers.frame").warning(
        "Detected that custom integration '%s' %s at %s, line %s: %s. %s %s",
        "knx_evse",
        "accesses `DeviceEntry.config_entries_subentries`, which is deprecated",
        "custom_components/knx_evse/diagnostics.py",
        210,
        "device.config_entries_subentries",
        "This will stop working in Home Assistant 2027.10.0",
        "please report it to the author",
    )
    assert len(no_deprecation_reports.reports) == 1
    no_deprecation_reports.reports.clear()  # the fixture would fail this test otherwise


def test_reports_about_other_integrations_are_not_ours(no_deprecation_reports: DeprecationReports) -> None:
    logging.getLogger("homeassistant.helpers.frame").warning(
        "Detected that custom integration 'other' calls a deprecated function"
    )
    assert no_deprecation_reports.reports == []
