"""The simulated charger on an XKNX client (simulator/charger/host.py), without a bus."""

from __future__ import annotations

from simhelpers import incoming, make_entry
from xknx.telegram.apci import GroupValueWrite

from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.objects import OBJECTS
from simulator.charger import SimulatedCharger

# --- XKNX attachment ----------------------------------------------------------------------------


async def test_attached_to_a_shared_xknx_client() -> None:
    from xknx import XKNX

    xknx = XKNX()
    first = SimulatedCharger(make_entry(main=1, name="one"))
    second = SimulatedCharger(make_entry(main=2, name="two"))
    host = await first.attach(xknx)
    host.add(second)
    first.start()
    second.start()
    await xknx.telegram_queue.process_telegram_incoming(
        incoming("2/0/31", GroupValueWrite(dpt.encode(OBJECTS[31], 12.0)))
    )
    assert second.connector(1).current_limit == 12.0
    assert first.connector(1).current_limit == 32.0
    outgoing = []
    while not xknx.telegrams.empty():
        outgoing.append(xknx.telegrams.get_nowait())
    assert [str(t.destination_address) for t in outgoing] == ["2/0/61"]
    await host.stop()
    assert host.xknx.telegram_queue.telegram_received_cbs == []
