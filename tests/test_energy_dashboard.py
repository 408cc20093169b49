"""Energy dashboard: the lifetime-energy sensor passes Home Assistant's statistics and energy validation.

The recorder compiles long-term statistics for it (energy, total_increasing, kWh, with a sum), the
sensor integration's statistics validation reports nothing, and the Energy dashboard accepts it as an
individual device's consumption. The per-session energy sensor, which has no state class on purpose,
is refused by the same validation: the test would notice if the two were mixed up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.statistics import list_statistic_ids, validate_statistics
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import KnxTestKit, charger_subentry, entity_id, ga, hub_entry

pytestmark = pytest.mark.usefixtures("no_unanswered_reads_check")

PARAMETERS = {"phases": 1, "connectors": 1, "conn1_pilot_state": True, "conn1_individual_status": True}
ADDRESSES = {str(n): [ga(n)] for n in (34, 36, 37, 45, 46)}
"""Connector 1's pilot state, plug, charging, session time and session energy."""


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Recorder, enable_custom_integrations: None) -> None:
    """Conftest's fixture of the same name, with the recorder started before ``hass`` as it must be."""


@pytest.fixture(autouse=True)
def no_idle_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time passes in these tests: keep the hub's idle-connection probe (if it has one) quiet.

    The faked charger answers no read, so the coordinator's liveness reads and staleness
    (tests/faults/test_stale.py) are off too: this test is about statistics.
    """
    monkeypatch.setattr(KnxEvseHub, "idle_probe_after", 1e9, raising=False)
    monkeypatch.setattr(ChargerCoordinator, "liveness_after", 1e9)
    monkeypatch.setattr(ChargerCoordinator, "answer_timeout", 1e9)


def wh(value: int) -> tuple[int, ...]:
    return tuple(value.to_bytes(4, "big"))


async def test_lifetime_energy_passes_statistics_and_energy_validation(
    recorder_mock: Recorder, hass: HomeAssistant, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    start = dt_util.parse_datetime("2026-06-01 10:00:00+00:00")
    assert start is not None
    freezer.move_to(start)
    await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", PARAMETERS, ADDRESSES)]))
    lifetime = entity_id(hass, "sensor", "CHG1_conn1_lifetime_energy")
    session = entity_id(hass, "sensor", "CHG1_conn1_session_energy")

    await knx.receive_write(ga(36), 1)
    await knx.receive_write(ga(37), 1)
    for minute, energy in ((1, 200), (2, 700), (3, 1500)):
        freezer.move_to(start + timedelta(minutes=minute))
        await knx.receive_write(ga(46), wh(energy))
    state = hass.states.get(lifetime)
    assert state is not None and float(state.state) == pytest.approx(1.5)
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert state.attributes["state_class"] == "total_increasing"
    assert state.attributes["device_class"] == "energy"

    await async_wait_recording_done(hass)
    freezer.move_to(start + timedelta(minutes=10))
    do_adhoc_statistics(hass, start=start)
    await async_wait_recording_done(hass)

    instance = get_instance(hass)
    ids = await instance.async_add_executor_job(list_statistic_ids, hass)
    by_id = {item["statistic_id"]: item for item in ids}
    assert lifetime in by_id, "no long-term statistics compiled for the lifetime-energy sensor"
    assert by_id[lifetime]["has_sum"] is True
    assert by_id[lifetime]["statistics_unit_of_measurement"] == "kWh"
    assert session not in by_id  # no state class: never in long-term statistics

    issues = await instance.async_add_executor_job(validate_statistics, hass)
    assert issues.get(lifetime, []) == []

    assert await async_setup_component(hass, "energy", {})
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {"device_consumption": [{"stat_consumption": lifetime}, {"stat_consumption": session}]}
    )
    result = (await async_validate(hass)).as_dict()
    lifetime_issues, session_issues = result["device_consumption"]
    assert lifetime_issues == []
    assert {issue["type"] for issue in session_issues} & {
        "statistics_not_defined",
        "entity_unexpected_state_class",
    }
