"""The simulated charger's objects and telegrams (simulator/charger/objects.py), with a fake send (no bus)."""

from __future__ import annotations

import pytest
from simhelpers import Capture, car, incoming, make_entry, read, run, started, write
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram.apci import GroupValueRead, GroupValueWrite

from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.dpt import ControlPilotState, OcppState
from custom_components.knx_evse.knx.objects import OBJECTS
from simulator.charger import SimulatedCharger

# --- reads and addresses ------------------------------------------------------------------------


def test_answers_read_of_readable_objects_only() -> None:
    charger, cap = started(make_entry())
    assert read(charger, cap, 61) == 32.0
    assert read(charger, cap, 35) is OcppState.AVAILABLE
    assert read(charger, cap, 34) is ControlPilotState.STANDBY
    assert read(charger, cap, 38) is True
    assert read(charger, cap, 31) is None  # write-only command object
    assert read(charger, cap, 46) == 0


def test_sends_only_on_the_first_address_and_listens_on_all() -> None:
    entry = make_entry()
    entry["group_addresses"]["61"] = ["1/0/61", "5/5/61"]
    entry["group_addresses"]["31"] = ["1/0/31", "5/5/31"]
    charger, cap = started(entry)
    write(charger, 31, 16.0, address="5/5/31")
    sent = [t for t in cap.telegrams if isinstance(t.payload, GroupValueWrite)]
    assert [str(t.destination_address) for t in sent] == ["1/0/61"]
    assert charger.connector(1).current_limit == 16.0


def test_unknown_address_and_foreign_telegrams_are_ignored() -> None:
    charger, cap = started(make_entry())
    charger.handle_telegram(incoming("9/7/200", GroupValueWrite(DPTBinary(1))))
    charger.handle_telegram(incoming("9/7/200", GroupValueRead()))
    assert cap.telegrams == []


def test_malformed_write_is_rejected_without_effect() -> None:
    charger, cap = started(make_entry())
    charger.handle_telegram(incoming("1/0/31", GroupValueWrite(DPTArray((1, 2)))))
    assert charger.connector(1).current_limit == 32.0
    assert [n for n, _ in charger.rejected] == [31]
    assert cap.writes(61) == []


# --- start-up and status sending --------------------------------------------------------------


def test_send_status_at_init_and_delay_at_start() -> None:
    entry = make_entry(
        "VE 742", delay_at_start=3, conn1_send_status_at_init=True, conn2_send_status_at_init=False
    )
    cap = Capture()
    charger = SimulatedCharger(entry, send=cap)
    charger.start()
    assert cap.telegrams == []
    assert read(charger, cap, 35) is None  # not even reads during "delay at start"
    run(charger, 2)
    assert cap.telegrams == []
    run(charger, 1)
    sent = set(cap.objects())
    assert {34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44} <= sent
    assert not sent & set(range(83, 94))  # connector 2: no status at init
    assert cap.last(38) is True


def test_without_status_at_init_nothing_is_sent() -> None:
    charger, cap = started(make_entry(conn1_send_status_at_init=False))
    run(charger, 30)
    assert cap.telegrams == []


def test_current_upon_change_respects_the_threshold() -> None:
    charger, cap = started(make_entry(current_sending="change", current_change=2.0))
    charger.plug_in(1, car())
    run(charger, 3)
    assert cap.writes(48) == [32.0]
    write(charger, 31, 31.0)  # 1 A: not above the threshold
    run(charger, 3)
    write(charger, 31, 29.5)  # 2.5 A from the last sent value
    run(charger, 3)
    assert cap.writes(48) == [32.0, 29.5]


def test_cyclic_sending_repeats_every_period() -> None:
    charger, cap = started(make_entry(power_sending="cyclic", power_period=10))
    charger.plug_in(1, car())
    run(charger, 35)
    assert len(cap.writes(47)) == 3  # t = 10, 20, 30
    assert cap.writes(47)[-1] == pytest.approx(32 * 230.0)


def test_change_and_cyclic() -> None:
    charger, cap = started(make_entry(time_sending="both", time_change=30, time_period=100))
    charger.plug_in(1, car())
    run(charger, 100)
    times = cap.writes(45)
    assert times[:3] == [31, 62, 93]
    assert 100 in times  # the cyclic send at t = 100


def test_charging_status_cyclic_only() -> None:
    charger, cap = started(make_entry(charging_status_sending="cyclic", charging_status_period=60))
    charger.plug_in(1, car())
    run(charger, 59)
    assert cap.writes(35) == []
    run(charger, 1)
    assert cap.writes(35) == [OcppState.CHARGING]


# --- fault injection --------------------------------------------------------------------------


def test_mute_stops_answering_and_reacting() -> None:
    charger, cap = started(make_entry())
    charger.mute()
    write(charger, 31, 10.0)
    assert read(charger, cap, 61) is None
    charger.plug_in(1, car())
    run(charger, 10)
    assert cap.telegrams == []
    assert charger.connector(1).current_limit == 32.0
    charger.mute(False)
    assert read(charger, cap, 61) == 32.0


def test_send_malformed_has_the_wrong_length() -> None:
    charger, cap = started(make_entry())
    telegram = charger.send_malformed(61)
    assert cap.telegrams[-1] is telegram
    with pytest.raises(dpt.PayloadLengthError):
        dpt.decode(OBJECTS[61], telegram.payload.value)
    with pytest.raises(dpt.PayloadLengthError):
        dpt.decode(OBJECTS[37], charger.send_malformed(37).payload.value)
    with pytest.raises(ValueError, match="no group address"):
        charger.send_malformed(130)


def test_restart_resends_status_and_answers_again() -> None:
    charger, cap = started(make_entry(conn1_send_status_at_init=True, delay_at_start=2))
    run(charger, 3)
    charger.mute()
    cap.clear()
    charger.restart()
    assert not charger.muted
    run(charger, 2)
    assert cap.last(35) is OcppState.AVAILABLE


def test_bad_entry_is_rejected() -> None:
    entry = make_entry()
    entry["group_addresses"]["80"] = ["1/0/80"]  # connector 2 on a one-connector model
    with pytest.raises(ValueError, match="80"):
        SimulatedCharger(entry)


def test_telegrams_carry_the_chargers_individual_address() -> None:
    charger, cap = started(make_entry(main=3))
    write(charger, 31, 16.0, main=3)
    assert [str(t.source_address) for t in cap.telegrams] == ["1.1.3"]
    entry = make_entry()
    entry["individual_address"] = "not an address"
    with pytest.raises(ValueError, match="individual address"):
        SimulatedCharger(entry)
