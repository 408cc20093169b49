"""Helpers for the simulator tests: build charger entries, capture and decode what a charger sends."""

from __future__ import annotations

from typing import Any

from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.const import MODEL_DEFAULTS
from custom_components.knx_evse.knx import dpt
from custom_components.knx_evse.knx.objects import OBJECTS
from custom_components.knx_evse.knx.parameters import ChargerParameters
from simulator.charger import SimulatedCharger
from simulator.ev import ElectricVehicle, EvSpec
from simulator.installation import default_group_addresses

ALL_OBJECTS: dict[str, Any] = {
    "delay_at_start": 0,
    "auto_start": True,
    "auto_disconnect": True,
    "limit_by_power": False,
    "initial_limit": 32,
    "max_user_current": 32,
    "contracted_power": 22000,
    "conn1_initial_power_limit": 22000,
    "conn2_initial_power_limit": 22000,
    "reset_object": True,
    "session_objects": True,
    "rfid_objects": True,
    "error_objects": True,
    "block_object": True,
    "conn1_pilot_state": True,
    "conn1_ocpp_state": True,
    "conn1_individual_status": True,
    "conn1_block_object": True,
    "conn1_charging_time_objects": True,
    "conn2_pilot_state": True,
    "conn2_ocpp_state": True,
    "conn2_individual_status": True,
    "conn2_block_object": True,
    "conn2_charging_time_objects": True,
}
"""Parameters enabling (nearly) every object, no start-up delay, auto-start, 32 A."""


def make_entry(
    model: str = "VE 741", main: int = 1, name: str | None = None, **params: Any
) -> dict[str, Any]:
    """A charger subentry dict with ALL_OBJECTS overridden by ``params`` and "main/0/n" addresses."""
    merged = {**ALL_OBJECTS, **MODEL_DEFAULTS[model], **params}
    p = ChargerParameters.from_dict(merged)
    return {
        "name": name or f"Charger {main}",
        "individual_address": f"1.1.{main}",
        "model": model,
        "parameters": p.as_dict(),
        "group_addresses": default_group_addresses(p, main),
    }


class Capture:
    """A fake ``send``: records telegrams and decodes them by object (address main/0/n → object n)."""

    def __init__(self) -> None:
        self.telegrams: list[Telegram] = []

    def __call__(self, telegram: Telegram) -> None:
        self.telegrams.append(telegram)

    def clear(self) -> None:
        self.telegrams.clear()

    def writes(self, number: int) -> list[Any]:
        """Decoded values of every GroupValueWrite sent on object ``number``'s address."""
        return [
            dpt.decode(OBJECTS[number], t.payload.value)
            for t in self.telegrams
            if isinstance(t.payload, GroupValueWrite) and _object_of(t) == number
        ]

    def on(self, address: str, number: int) -> list[Any]:
        """Decoded values (as object ``number``) of every GroupValueWrite sent to ``address``."""
        return [
            dpt.decode(OBJECTS[number], t.payload.value)
            for t in self.telegrams
            if isinstance(t.payload, GroupValueWrite) and str(t.destination_address) == address
        ]

    def responses(self, number: int) -> list[Any]:
        return [
            dpt.decode(OBJECTS[number], t.payload.value)
            for t in self.telegrams
            if isinstance(t.payload, GroupValueResponse) and _object_of(t) == number
        ]

    def objects(self) -> list[int]:
        """Object numbers of every telegram sent, in order."""
        return [_object_of(t) for t in self.telegrams]

    def last(self, number: int) -> Any:
        values = self.writes(number)
        assert values, f"nothing was sent on object {number}"
        return values[-1]


def _object_of(telegram: Telegram) -> int:
    return int(str(telegram.destination_address).split("/")[2])


def incoming(address: str, payload: Any) -> Telegram:
    return Telegram(
        destination_address=GroupAddress(address), direction=TelegramDirection.INCOMING, payload=payload
    )


def write(
    charger: SimulatedCharger, number: int, value: Any, main: int = 1, address: str | None = None
) -> None:
    """Deliver a GroupValueWrite of ``value`` for object ``number`` (encoded by its DPT)."""
    payload = GroupValueWrite(dpt.encode(OBJECTS[number], value))
    charger.handle_telegram(incoming(address or f"{main}/0/{number}", payload))


def read(charger: SimulatedCharger, capture: Capture, number: int, main: int = 1) -> Any:
    """Send a GroupValueRead for ``number`` and return the decoded response (None when none came)."""
    before = len(capture.telegrams)
    charger.handle_telegram(incoming(f"{main}/0/{number}", GroupValueRead()))
    new = capture.telegrams[before:]
    responses = [t for t in new if isinstance(t.payload, GroupValueResponse)]
    if not responses:
        return None
    assert len(responses) == 1
    return dpt.decode(OBJECTS[number], responses[0].payload.value)


def started(entry: dict[str, Any], **kwargs: Any) -> tuple[SimulatedCharger, Capture]:
    """A started charger for ``entry`` and the capture of what it sends."""
    capture = Capture()
    charger = SimulatedCharger(entry, send=capture, **kwargs)
    charger.start()
    return charger, capture


def run(charger: SimulatedCharger, seconds: float, dt: float = 1.0) -> None:
    """Step ``charger`` for ``seconds`` simulated seconds in steps of ``dt``."""
    steps = round(seconds / dt)
    for _ in range(steps):
        charger.step(dt)


def car(
    name: str = "car", phases: int = 1, max_current: float = 32.0, soc: float = 0.3, **kw: float
) -> ElectricVehicle:
    return ElectricVehicle(
        name, EvSpec(phases=phases, max_current=max_current, response_time=0.0, **kw), soc=soc
    )
