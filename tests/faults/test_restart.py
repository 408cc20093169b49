"""Home Assistant restarts in the middle of a charging session.

What Home Assistant writes to storage at shutdown (``RestoreStateData.async_get_stored_states``) is
taken from the running integration, the entry is unloaded, the restore cache is set to exactly that
(``mock_restore_cache_with_extra_data``, as a start would load it) and the entry is set up again
with a fresh coordinator. Then:

- the lifetime energy continues exactly: the same session reading adds nothing, a continuing one
  adds only the difference, energy charged while Home Assistant was down is counted once, and a new
  session that started meanwhile counts from zero;
- write-only switches and numbers (block, auto start, maximum session: no status object) come back
  as they were;
- the charger's state comes back from the start-up reads (live readings), without a replug.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import restore_state as rs
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_restore_cache_with_extra_data

from custom_components.knx_evse.charger.coordinator import ChargerCoordinator
from custom_components.knx_evse.charger.interface import ChargerInterface
from tests.knx_harness import SINGLE_PHASE_FULL, KnxTestKit, charger_subentry, entity_id, ga, hub_entry


def wh(value: int) -> tuple[int, ...]:
    """DPT 13.010 payload."""
    return tuple(value.to_bytes(4, "big", signed=True))


def seconds(value: int) -> tuple[int, ...]:
    """DPT 7.005 payload."""
    return tuple(value.to_bytes(2, "big"))


def amps(value: float) -> tuple[int, ...]:
    """DPT 14.019 payload."""
    return tuple(struct.pack(">f", value))


class Charger:
    """Entity ids and readings of the test charger CHG1."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Look the entity ids up in the registry."""
        self.hass = hass
        self.lifetime = [entity_id(hass, "sensor", f"CHG1_conn{n}_lifetime_energy") for n in (1, 2)]
        self.block = entity_id(hass, "switch", "CHG1_evse_block")
        self.auto_start = entity_id(hass, "switch", "CHG1_evse_auto_start")
        self.max_session = entity_id(hass, "number", "CHG1_evse_maximum_charging_session")
        self.limit = entity_id(hass, "number", "CHG1_evse_current_limit")
        self.plugged = entity_id(hass, "binary_sensor", "CHG1_conn1_vehicle_connected")
        self.session = entity_id(hass, "sensor", "CHG1_conn1_session_energy")

    def state(self, entity: str) -> str:
        """State string of ``entity``."""
        state = self.hass.states.get(entity)
        assert state is not None, entity
        return state.state

    def lifetime_wh(self, connector: int = 1) -> float:
        """Lifetime energy of a connector in Wh (the sensor shows kWh)."""
        return round(float(self.state(self.lifetime[connector - 1])) * 1000, 3)


async def restart(hass: HomeAssistant, knx: KnxTestKit, entry: MockConfigEntry) -> list[str]:
    """Stop Home Assistant's side as at shutdown and start it again; return the start-up reads."""
    stored = rs.async_get(hass).async_get_stored_states()  # what a shutdown writes to storage
    assert stored
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    mock_restore_cache_with_extra_data(
        hass, [(s.state, s.extra_data.as_dict() if s.extra_data is not None else {}) for s in stored]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await knx.flush()
    return await knx.drain_reads()


async def session_before_restart(hass: HomeAssistant, knx: KnxTestKit) -> tuple[MockConfigEntry, Charger]:
    """Set the write-only objects, then charge 1200 Wh on connector 1 and 500 Wh on connector 2."""
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    charger = Charger(hass)
    await hass.services.async_call("switch", "turn_on", {"entity_id": charger.block}, blocking=True)
    await knx.assert_write(ga(25), 1)
    await hass.services.async_call("switch", "turn_off", {"entity_id": charger.auto_start}, blocking=True)
    await knx.assert_write(ga(26), 0)
    await hass.services.async_call(
        "number", "set_value", {"entity_id": charger.max_session, "value": 3600}, blocking=True
    )
    await knx.assert_write(ga(6), seconds(3600))
    await knx.receive_write(ga(3), amps(16))
    for number, payload in ((36, 1), (37, 1), (45, seconds(600)), (46, wh(895)), (46, wh(1200)), (95, wh(500))):
        await knx.receive_write(ga(number), payload)
    assert charger.lifetime_wh() == 1200 and charger.lifetime_wh(2) == 500
    return entry, charger


def check_restored(charger: Charger) -> None:
    """Right after the restart, before any telegram: everything as it was, nothing unknown."""
    assert charger.lifetime_wh() == 1200 and charger.lifetime_wh(2) == 500  # no jump
    assert charger.state(charger.block) == STATE_ON
    assert charger.state(charger.auto_start) == STATE_OFF
    assert float(charger.state(charger.max_session)) == 3600
    assert float(charger.state(charger.limit)) == 16  # restored until its status is read
    assert charger.state(charger.plugged) == STATE_UNKNOWN  # a status: only a live reading tells


@pytest.mark.parametrize(
    ("session_time", "session_energy", "expected", "then"),
    [
        (600, 1200, 1200, 1300),  # nothing charged while Home Assistant was down: nothing added
        (900, 1500, 1500, 1600),  # the session went on: the 300 Wh charged meanwhile count once
        # a new session started meanwhile: a reading below the last one waits for the next reading
        # (energy.py: it could be a dropout), which counts the new session from zero
        (30, 200, 1200, 1500),
    ],
    ids=["same", "continued", "new-session"],
)
async def test_lifetime_energy_continues_exactly_across_a_restart(
    hass: HomeAssistant, knx: KnxTestKit, session_time: int, session_energy: int, expected: float, then: float
) -> None:
    """No jump, no double count: the answers to the start-up reads continue the counter."""
    entry, charger = await session_before_restart(hass, knx)
    reads = await restart(hass, knx, entry)
    check_restored(charger)
    assert {ga(36), ga(37), ga(45), ga(46), ga(3)} <= set(reads)  # live readings asked for at once
    for number, payload in ((3, amps(16)), (36, 1), (37, 1), (45, seconds(session_time)), (46, wh(session_energy))):
        await knx.receive_response(ga(number), payload)
    assert charger.lifetime_wh() == expected
    assert charger.state(charger.plugged) == STATE_ON  # from the live reading: no replug needed
    assert float(charger.state(charger.session)) == session_energy
    await knx.receive_write(ga(46), wh(session_energy + 100))  # the session goes on
    assert charger.lifetime_wh() == then
    assert charger.lifetime_wh(2) == 500
    coordinator: ChargerCoordinator = entry.runtime_data.chargers["CHG1"]
    assert ChargerInterface(coordinator, 1).vehicle_connected() is True and ChargerInterface(coordinator, 1).charging() is True


async def test_repeated_restarts_never_count_twice(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """Three restarts in a row, each answered with the same session reading: the total stays."""
    entry, charger = await session_before_restart(hass, knx)
    for _ in range(3):
        await restart(hass, knx, entry)
        check_restored(charger)
        await knx.receive_response(ga(45), seconds(600))
        await knx.receive_response(ga(46), wh(1200))
        await knx.receive_response(ga(95), wh(500))
        assert charger.lifetime_wh() == 1200 and charger.lifetime_wh(2) == 500
    await knx.receive_write(ga(46), wh(1250))
    assert charger.lifetime_wh() == 1250


async def test_write_only_objects_follow_the_bus_after_restore(hass: HomeAssistant, knx: KnxTestKit) -> None:
    """A restored write-only switch shows what another device writes afterwards (not stuck)."""
    entry, charger = await session_before_restart(hass, knx)
    await restart(hass, knx, entry)
    assert charger.state(charger.block) == STATE_ON
    await knx.receive_write(ga(25), 0)  # a wall switch unblocks the charger
    assert charger.state(charger.block) == STATE_OFF
    data: dict[str, Any] = {"entity_id": charger.block}
    await hass.services.async_call("switch", "turn_on", data, blocking=True)
    await knx.assert_write(ga(25), 1)
