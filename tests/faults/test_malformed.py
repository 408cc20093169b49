"""Malformed telegrams on EVERY mapped address of a fully enabled two-connector charger.

Wrong payload length or type, NaN and ±inf floats, out-of-range enum values, and the wrong service
(GroupValueRead, which is never answered, and point-to-point services that have no business on a
group address) are ignored: the last good state is kept, each group address is logged once (a
warning, no traceback, nothing at error level), nothing is sent in reply, and a valid telegram
afterwards still updates the state and the entities. Through the faked KNX interface; a sample runs
over the real knxd bus in test_bus_faults_e2e.py.
"""

from __future__ import annotations

import logging
import math
import re
import struct
from collections import Counter
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram.apci import (
    APCI,
    DeviceDescriptorRead,
    GroupValueRead,
    GroupValueResponse,
    GroupValueWrite,
    IndividualAddressRead,
    MemoryRead,
    PropertyValueRead,
)

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.knx.dpt import ControlPilotState, EvseErrorCode, OcppState, encode
from custom_components.knx_evse.knx.objects import OBJECTS, CommObject
from tests.knx_harness import SINGLE_PHASE_FULL, THREE_PHASE_FULL, KnxTestKit, charger_subentry, ga, hub_entry

_GA_IN_LOG = re.compile(r"group address (\d+/\d+/\d+)\b")

GOOD: dict[str, tuple[Any, Any]] = {
    "1": (True, False),
    "7.005": (100, 200),
    "13.010": (1000, 2000),
    "14.019": (10.0, 12.0),
    "14.056": (2000.0, 3000.0),
    "16.001": ("TAG-0001", "TAG-0002"),
    "20.1219": (ControlPilotState.READY_CHARGING, ControlPilotState.FINISHED),
    "20.1220": (OcppState.CHARGING, OcppState.IDLE),
    "20.1221": (EvseErrorCode.NO_ERROR, EvseErrorCode.HIGH_TEMPERATURE),
}
"""Two different valid values per DPT (1-bit DPTs share "1")."""

WRONG_SERVICES: tuple[APCI, ...] = (
    MemoryRead(address=0x0100, count=2),
    IndividualAddressRead(),
    DeviceDescriptorRead(descriptor=0),
    PropertyValueRead(object_index=0, property_id=11, count=1, start_index=1),
)
"""Point-to-point services sent to a group address: malformed."""


def good(obj: CommObject, which: int) -> Any:
    """Valid value ``which`` (0 or 1) of ``obj``."""
    return GOOD["1" if obj.size_bits == 1 else obj.dpt][which]


def float32(value: float) -> tuple[int, ...]:
    """A 4-byte IEEE float payload (DPT 14.x)."""
    return tuple(struct.pack(">f", value))


def bad_payloads(obj: CommObject) -> list[DPTArray | DPTBinary]:
    """Every malformed payload of ``obj``'s DPT: wrong length/type, non-finite floats, reserved enums."""
    if obj.size_bits == 1:
        return [DPTArray((1,)), DPTArray((1, 2)), DPTArray(()), DPTBinary(2), DPTBinary(63)]
    size = obj.size_bytes
    payloads: list[DPTArray | DPTBinary] = [DPTArray((0,) * (size + 1)), DPTBinary(1), DPTArray(())]
    if size > 1:
        payloads.append(DPTArray((0,) * (size - 1)))
    if obj.dpt.startswith("14."):
        payloads += [DPTArray(float32(math.nan)), DPTArray(float32(math.inf)), DPTArray(float32(-math.inf))]
    if obj.dpt in ("20.1219", "20.1220"):
        payloads += [DPTArray((10,)), DPTArray((200,)), DPTArray((255,))]
    if obj.dpt == "20.1221":
        payloads += [DPTArray((0,)), DPTArray((8,)), DPTArray((255,))]
    return payloads


def entity_states(hass: HomeAssistant, coordinator: ChargerCoordinator) -> dict[str, str]:
    """State of every enabled entity of the hub entry."""
    registry = er.async_get(hass)
    states: dict[str, str] = {}
    for entry in er.async_entries_for_config_entry(registry, coordinator.entry.entry_id):
        if entry.disabled_by is None:
            state = hass.states.get(entry.entity_id)
            assert state is not None, entry.entity_id
            states[entry.entity_id] = state.state
    return states


async def send_all(knx: KnxTestKit, coordinator: ChargerCoordinator, which: int) -> None:
    """A valid write of value ``which`` to every mapped address."""
    for number in sorted(coordinator.group_addresses):
        obj = OBJECTS[number]
        await knx.receive(ga(number), GroupValueWrite(encode(obj, good(obj, which))), settle=False)
    await knx.flush()


@pytest.mark.parametrize("parameters", [SINGLE_PHASE_FULL, THREE_PHASE_FULL], ids=["VE742+balancing", "VE222"])
async def test_every_address_survives_every_malformed_telegram(
    hass: HomeAssistant, knx: KnxTestKit, caplog: pytest.LogCaptureFixture, parameters: dict[str, Any]
) -> None:
    """Ignored, logged once per address, last good state kept, no traceback; valid values still count."""
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", parameters)]))
    coordinator: ChargerCoordinator = entry.runtime_data.chargers["CHG1"]
    numbers = sorted(coordinator.group_addresses)
    assert len(numbers) == len(coordinator.enabled_objects)  # every object the parameters enable
    await send_all(knx, coordinator, 0)
    values = {n: coordinator.value(n) for n in numbers}
    assert all(values[n] == good(OBJECTS[n], 0) for n in numbers)
    before = entity_states(hass, coordinator)
    assert "unknown" not in {s for e, s in before.items() if not e.startswith("button.")}
    invalid, decoded, reads = coordinator.telegrams_invalid, coordinator.telegrams_decoded, entry.runtime_data.hub.reads_ignored

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="custom_components.knx_evse")
    sent_bad = 0
    for _round in range(2):  # twice: the second round must not log again at warning level
        for number in numbers:
            for payload in bad_payloads(OBJECTS[number]):
                await knx.receive(ga(number), GroupValueWrite(payload), settle=False)
                await knx.receive(ga(number), GroupValueResponse(payload), settle=False)
                sent_bad += 2
            for service in WRONG_SERVICES:
                await knx.receive(ga(number), service, settle=False)
                sent_bad += 1
            await knx.receive(ga(number), GroupValueRead(), settle=False)
        await knx.flush()

    assert coordinator.telegrams_invalid - invalid == sent_bad
    assert coordinator.telegrams_decoded == decoded
    assert entry.runtime_data.hub.reads_ignored - reads == 2 * len(numbers)
    assert {n: coordinator.value(n) for n in numbers} == values
    assert entity_states(hass, coordinator) == before
    await knx.assert_no_telegram()  # no read answered, nothing sent in reply

    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    warned = Counter(
        m.group(1)
        for r in caplog.records
        if r.levelno == logging.WARNING and (m := _GA_IN_LOG.search(r.getMessage()))
    )
    assert warned == Counter({ga(n): 1 for n in numbers})

    await send_all(knx, coordinator, 1)
    assert all(coordinator.value(n) == good(OBJECTS[n], 1) for n in numbers)
    after = entity_states(hass, coordinator)
    unchanged = sorted(e for e in before if after[e] == before[e] and not e.startswith("button."))
    assert unchanged == [], f"a valid telegram after the bad ones did not update {unchanged}"
