"""A Home Assistant restart, stop and start (not only a reload), while a car charges: the soak's
``ha_restart`` fault on the faked KNX interface (no bus, part of the normal test run).

The first instance stops as Home Assistant stops (``HomeAssistant.async_stop``: the hub closes on the
stop event, the entry is not unloaded); what it writes for the restore of the states goes to a new
instance (tests/soak/home.py), where the same hub entry is set up. The lifetime energy continues,
the charge mode chosen before the stop is back, and the car that was charging gets no Stop.
"""

from __future__ import annotations

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.const import DOMAIN
from tests.group.harness import CONN1, FAST, GROUP_ID, f4, plug, sent, set_meter, setup_group
from tests.knx_harness import KnxTestKit, entity_id, ga

from .home import HomeAssistants

LIFETIME = "CHG1_conn1_lifetime_energy"


def wh(value: int) -> tuple[int, ...]:
    """DPT 13.010 payload."""
    return tuple(value.to_bytes(4, "big", signed=True))


@pytest.mark.usefixtures("hass_storage")
async def test_a_restart_continues_the_energy_and_the_charge_mode() -> None:
    homes = HomeAssistants()
    hass = await homes.start()
    knx = KnxTestKit(hass)
    with knx.patched():
        set_meter(hass, 1000)
        entry, group = await setup_group(hass, knx, [CONN1], limit=20, **FAST)
        group.async_set_mode(0, "min_solar")
        await plug(knx, 1, 1, 0.0)
        assert await sent(knx) == [("1/0/31", 6.0), ("1/0/33", True)]
        await knx.receive_write(ga(37), 1)  # charging
        await knx.receive_write(ga(48), f4(6.0))
        for energy in (895, 1200):
            await knx.receive_write(ga(46), wh(energy))
        lifetime = entity_id(hass, "sensor", LIFETIME)
        assert float(hass.states.get(lifetime).state) == pytest.approx(1.2)  # type: ignore[union-attr]
        stored = homes.stored_states()
        await homes.stop()
        await homes.leave()
        assert await sent(knx) == []  # a stop sends nothing

    hass = await homes.start(stored)
    knx = KnxTestKit(hass)
    with knx.patched():
        set_meter(hass, 1000)
        again = MockConfigEntry(
            domain=DOMAIN,
            entry_id=entry.entry_id,
            title=entry.title,
            data=dict(entry.data),
            subentries_data=[
                {"subentry_id": s.subentry_id, "subentry_type": s.subentry_type, "title": s.title,
                 "unique_id": s.unique_id, "data": dict(s.data)}
                for s in entry.subentries.values()
            ],
        )
        await knx.setup(again)
        group = again.runtime_data.groups[GROUP_ID]
        assert group.mode_of(0) == "min_solar"
        assert float(hass.states.get(lifetime).state) == pytest.approx(1.2)  # type: ignore[union-attr]
        await knx.receive_write(ga(37), 1)
        await plug(knx, 1, 1, 6.0)  # the car charges on, as the start-up reads show
        await knx.receive_write(ga(46), wh(1300))
        assert float(hass.states.get(lifetime).state) == pytest.approx(1.3)  # type: ignore[union-attr]
        assert ("1/0/33", False) not in await sent(knx)
        assert await hass.config_entries.async_unload(again.entry_id)
        await homes.stop()
        await homes.leave()
