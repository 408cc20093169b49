"""ChargerCoordinator API used by entities and the balancing engine."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from custom_components.knx_evse.charger.coordinator import (
    SOURCE_BUS,
    SOURCE_RESET,
    SOURCE_WRITTEN,
    ChargerCoordinator,
)
from custom_components.knx_evse.charger.interface import ChargerInterface
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    ga,
    hub_entry,
)


def f32(value: float) -> tuple[int, ...]:
    import struct

    return tuple(struct.pack(">f", value))


async def _coordinator(knx: KnxTestKit, parameters: dict[str, object], addresses: dict[str, list[str]] | None = None) -> ChargerCoordinator:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters, addresses)]))
    return entry.runtime_data.chargers["CHG1"]


async def test_writes_record_last_written_and_state(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)
    assert ChargerInterface(coordinator, 1).last_written_limit() is None
    await coordinator.async_set_current_limit(1, 10)
    await knx.assert_write(ga(31), f32(10.0))
    written = coordinator.last_written(31)
    assert written is not None and written.value == 10.0 and written.source == SOURCE_WRITTEN
    assert ChargerInterface(coordinator, 1).last_written_limit() == 10.0
    assert ChargerInterface(coordinator, 1).limit_status() is None
    await knx.receive_write(ga(61), f32(10.0))
    status = coordinator.state(61)
    assert status is not None and status.source == SOURCE_BUS and status.utc.tzinfo is not None
    assert ChargerInterface(coordinator, 1).limit_status() == 10.0
    assert coordinator.age(61) is not None and coordinator.age(61) < 5  # type: ignore[operator]
    await coordinator.async_start_stop(None, False)
    await knx.assert_write(ga(18), 0)
    await coordinator.async_start_stop(2, True)
    await knx.assert_write(ga(82), 1)
    await coordinator.async_set_power_limit(None, 1000)
    await knx.assert_write(ga(2), f32(1000.0))
    assert coordinator.telegrams_sent == 4


@pytest.mark.parametrize(
    ("number", "value", "translation_key"),
    [
        (999, True, "unknown_object"),
        (3, 10.0, "object_not_writable"),
        (15, 1.0, "object_not_writable"),
        (2, 100.0, "object_not_linked"),
        (80, 10.0, "object_not_enabled"),
        (33, 2, "invalid_bool"),
        (33, "on", "invalid_bool"),
    ],
)
async def test_generic_write_refusals(
    hass: HomeAssistant, knx: KnxTestKit, number: int, value: object, translation_key: str
) -> None:
    coordinator = await _coordinator(
        knx, {"phases": 1, "connectors": 1}, {"1": ["1/0/1"], "33": ["1/0/33"], "3": ["1/0/3"]}
    )
    with pytest.raises(ServiceValidationError) as err:
        await coordinator.async_write_object(number, value)
    assert err.value.translation_key == translation_key
    await knx.assert_no_telegram()


async def test_power_limit_doubles_for_connectors_on_different_phases(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, {"phases": 1, "connectors": 2, "phase_connection": "different"})
    assert coordinator.max_power(None) == 2 * 32 * 230
    assert coordinator.max_power(1) == 32 * 230


async def test_listeners_get_object_and_availability_changes(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)
    calls: list[int | None] = []
    remove = coordinator.async_add_listener(calls.append, [46, 47])
    await knx.receive_write(ga(46), (0, 0, 1, 0))
    await knx.receive_write(ga(13), f32(1.0))  # not listened
    await knx.receive_write(ga(47), f32(1.0))
    knx.set_connected(False)
    assert calls == [46, 47, None]
    remove()
    knx.set_connected(True)
    await knx.drain_reads()
    await knx.receive_write(ga(46), (0, 0, 2, 0))
    assert calls == [46, 47, None]


async def test_listener_error_does_not_break_dispatch(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)

    def broken(_number: int | None) -> None:
        raise RuntimeError("boom")

    coordinator.async_add_listener(broken, [47])
    await knx.receive_write(ga(47), f32(2.0))
    assert coordinator.value(47) == 2.0
    await knx.receive_write(ga(47), f32(3.0))
    assert coordinator.value(47) == 3.0


async def test_reset_returns_write_only_objects_to_the_parameters(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """Object 5 keeps the ETS parameters: 6, 7, 26 go back to them; 18, 25, 73/122, 54-60 to "off"."""
    params = {**SINGLE_PHASE_FULL, "auto_start": True, "auto_disconnect": False, "max_session_time": 90}
    coordinator = await _coordinator(knx, params)
    writes = {6: 600, 7: True, 18: False, 25: True, 26: False, 54: True, 60: True, 73: True, 106: True, 122: True}
    for number, value in writes.items():
        await coordinator.async_write_object(number, value)
    assert len(await knx.take()) == len(writes)
    await coordinator.async_write_object(5, True)
    await knx.assert_write(ga(5), 1)
    expected = {6: 5400, 7: False, 18: True, 25: False, 26: True, 54: False, 60: False, 73: False, 106: False, 122: False}
    assert {n: coordinator.value(n) for n in expected} == expected
    assert coordinator.state(25).source == SOURCE_RESET  # type: ignore[union-attr]
    assert coordinator.last_written(25).value is True  # type: ignore[union-attr]


async def test_reset_seen_on_the_bus_does_the_same(hass: HomeAssistant, knx: KnxTestKit) -> None:
    coordinator = await _coordinator(knx, SINGLE_PHASE_FULL)
    await coordinator.async_write_object(25, True)
    await knx.assert_write(ga(25), 1)
    await knx.receive_write(ga(5), 0)
    assert coordinator.value(25) is True  # 0 is no reset
    await knx.receive_write(ga(5), 1)
    assert coordinator.value(25) is False
