"""Helpers for the balancing-group tests: chargers, group subentries, meter states, decoded telegrams.

Chargers: ``GARAGE`` (VE 742, single-phase, 2 connectors, Maximum User Current 16 A, group addresses
``1/0/<object>``) and ``CARPORT`` (VE 741, single-phase, 1 connector, 32 A, ``2/0/<object>``). Both
link every enabled object; vehicle connected comes from 36/85, currents from 48/97 (and 14).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram.apci import GroupValueRead, GroupValueWrite

from custom_components.knx_evse import issues
from custom_components.knx_evse.const import DOMAIN, SUBENTRY_BALANCING
from custom_components.knx_evse.group.group import BalancingGroup
from custom_components.knx_evse.knx.hub import KnxEvseHub
from tests.knx_harness import KnxTestKit, charger_subentry, ga, hub_entry

GARAGE: dict[str, Any] = {
    "connectors": 2,
    "max_user_current": 16,
    "conn1_individual_status": True,
    "conn2_individual_status": True,
}
CARPORT: dict[str, Any] = {"connectors": 1, "max_user_current": 32, "conn1_individual_status": True}
METER = "sensor.grid"
GROUP_ID = "GRP"

CONN1 = {"charger": "CHG1", "connector": 1, "max_current": 16}
CONN2 = {"charger": "CHG1", "connector": 2, "max_current": 16}
CARPORT_MEMBER = {"charger": "CHG2", "connector": 0, "max_current": 32, "name": "Carport"}

FAST: dict[str, Any] = {"ramp_up_delay": 0, "min_on_time": 0, "min_off_time": 0, "meter_grace": 0}
"""Timing that lets every decision show on the bus at once."""


def f4(value: float) -> tuple[int, ...]:
    """DPT 14 payload of ``value``."""
    return tuple(struct.pack(">f", value))


def group_subentry(members: list[dict[str, Any]], **data: Any) -> ConfigSubentryDataWithId:
    """A balancing-group subentry ``House``: 1-phase 25 A, no margin, meter ``sensor.grid``."""
    subentry_id = data.pop("subentry_id", GROUP_ID)
    values: dict[str, Any] = {
        "name": "House",
        "meter_entities": [METER],
        "limit": 25,
        "phases": 1,
        "reserve_margin": 0,
        "members": members,
        **data,
    }
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_BALANCING,
        title=values["name"],
        unique_id=values["name"],
        data=values,
    )


def chargers(carport: bool = False) -> list[ConfigSubentryDataWithId]:
    """Garage (CHG1) and, optionally, Carport (CHG2)."""
    subentries = [charger_subentry("CHG1", "Garage", GARAGE)]
    if carport:
        subentries.append(charger_subentry("CHG2", "Carport", CARPORT, main=2))
    return subentries


def set_meter(hass: HomeAssistant, value: Any, unit: str | None = "W", entity_id: str = METER) -> None:
    """Set (or report again) the meter entity's state."""
    hass.states.async_set(entity_id, str(value), {} if unit is None else {"unit_of_measurement": unit})


@contextmanager
def no_caps() -> Iterator[None]:
    """Never cap a member near its draw: for tests whose cars report no current and count telegrams."""
    with patch("custom_components.knx_evse.balancing.conduct.CAP_GAP", math.inf):
        yield


@contextmanager
def no_idle_probe() -> Iterator[None]:
    """Keep the hub's idle probe out of tests that move the clock (it would send reads)."""
    with patch.object(KnxEvseHub, "idle_probe_after", 1e9):
        yield


async def setup_group(
    hass: HomeAssistant, knx: KnxTestKit, members: list[dict[str, Any]], *, carport: bool = False, **data: Any
) -> tuple[MockConfigEntry, BalancingGroup]:
    """Set up the hub with Garage (and Carport) and the group; start-up reads are dropped."""
    entry = await knx.setup(hub_entry([*chargers(carport), group_subentry(members, **data)]))
    group = entry.runtime_data.groups[GROUP_ID]
    assert isinstance(group, BalancingGroup)
    return entry, group


async def plug(knx: KnxTestKit, main: int, connector: int, amps: float, connected: bool = True) -> None:
    """A charger reports a vehicle (dis)connected on ``connector`` and its current."""
    await knx.receive_write(ga(36 if connector == 1 else 85, main), int(connected))
    await knx.receive_write(ga(48 if connector == 1 else 97, main), f4(amps))


async def current(knx: KnxTestKit, main: int, connector: int, amps: float) -> None:
    """A charger reports the current of ``connector``."""
    await knx.receive_write(ga(48 if connector == 1 else 97, main), f4(amps))


def _value(telegram: Any) -> Any:
    payload = telegram.payload
    if isinstance(payload, GroupValueRead):
        return "read"
    assert isinstance(payload, GroupValueWrite)
    value = payload.value
    if isinstance(value, DPTBinary):
        return bool(value.value)
    assert isinstance(value, DPTArray)
    return round(struct.unpack(">f", bytes(value.value))[0], 3)


async def sent(knx: KnxTestKit) -> list[tuple[str, Any]]:
    """Every telegram sent since the last call as (group address, value): A, True/False or "read"."""
    return [(str(t.destination_address), _value(t)) for t in await knx.take()]


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move the clock and fire the timers that came due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def keep_alive_while(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    knx: KnxTestKit,
    seconds: float,
    *,
    currents: list[tuple[int, int, float]],
    meters: dict[str, tuple[Any, str]],
) -> list[tuple[str, Any]]:
    """Let ``seconds`` pass in 5 s steps while the meters and the given currents keep reporting.

    ``currents``: (main, connector, A) reported every step; ``meters``: entity id → (value, unit)
    reported every step. Chargers not listed stay silent (the coordinator's liveness rule reads them
    after ``DEFAULT_LIVENESS_AFTER`` s and once more ``DEFAULT_ANSWER_TIMEOUT`` s later, and makes them
    stale after ``DEFAULT_LIVENESS_AFTER`` + ``STALE_READS`` × ``DEFAULT_ANSWER_TIMEOUT`` s). Returns what
    was sent.
    """
    telegrams: list[tuple[str, Any]] = []
    for _ in range(int(seconds // 5)):
        await advance(hass, freezer, 5)
        for main, connector, amps in currents:
            await current(knx, main, connector, amps)
        for entity_id, (value, unit) in meters.items():
            set_meter(hass, value, unit, entity_id)
        telegrams += await sent(knx)
    return telegrams


def state(hass: HomeAssistant, entity_id: str) -> str:
    """The state of ``entity_id`` (fails when it does not exist)."""
    found = hass.states.get(entity_id)
    assert found is not None, entity_id
    return found.state


async def one_member_at(hass: HomeAssistant, knx: KnxTestKit, meter: float, amps: float, **data: object) -> BalancingGroup:
    """Conn 1 of Garage alone on a 20 A supply, plugged in and drawing ``amps``."""
    set_meter(hass, meter)
    _, group = await setup_group(hass, knx, [CONN1], limit=20, **{**FAST, **data})
    await plug(knx, 1, 1, amps)
    return group


def group_issue(hass: HomeAssistant, group: BalancingGroup, key: str) -> ir.IssueEntry | None:
    """The repair issue ``key`` of ``group``, None when it is not raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issues.issue_id(key, group.entry.entry_id, GROUP_ID))


def carport_charger(addresses: dict[str, list[str]], **parameters: Any) -> Any:
    """The Carport charger subentry with ``addresses`` and extra ``parameters``."""
    return charger_subentry("CHG2", "Carport", {**CARPORT, **parameters}, addresses, main=2)
