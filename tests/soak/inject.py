"""The soak's fault injection: when each fault of the schedule begins and ends, and what it does.

What each kind does (faults.KINDS holds what it may explain and for how long):

- ``knxd_restart``: ``KnxdBus.restart``; every tunnel is lost, each client notices on its next send.
- ``charger_mute`` / ``charger_kill``: the charger sends and answers nothing / its tunnel is closed,
  and opened again at the end.
- ``meter_*``: the meter entities are unavailable, unknown, non-numeric, or no longer reported.
- ``washing_machine``: +2.3 kW of house load; ``malformed``: two wrong-length telegrams from a charger.
- ``ha_reload``: the config entry is reloaded. ``ha_restart``: Home Assistant stops (what it writes
  for the restore of the states is kept) while a car charges, and a new instance starts after the
  fault's duration; the chargers run on meanwhile at their last limits.
- ``charger_disobeys``: a charging charger offers its maximum whatever its limit (Start and Stop still
  work). ``meter_sign_flip``: while a car charges the meter's sign flips (import shown as export);
  at the end the user follows the ``meter_reversed`` issue if it was raised (the group's "Invert the
  sign" switched over, which reloads the entry), else the meter's own integration is put right.
- ``bus_blip``: every frame in the bus's network is lost for one simulated second (a queue of length
  0 on the namespace's loopback, ``tc qdisc ... pfifo limit 0``: every packet is dropped silently).
- ``telegram_burst``: a faulty device (``FAULTY_DEVICE``, on a tunnel of its own for the burst: an
  idle tunnel would miss a knxd restart until knxd gave its channel id away and took it back) sends
  500 telegrams to the charger's sending addresses: session energies, currents and plug states no
  charger has, and wrong-length ones. Ten seconds after the last, the charger's values must show none
  of them.

A fault that needs a charging car waits for one (at most ``WAIT_CHARGING`` s), and for the end of
another of its kind; the reload and the restart wait while Home Assistant is starting, stopping or
reloading already.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import subprocess
from collections import Counter
from typing import Any, Protocol

from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.exceptions import CommunicationError, XKNXException
from xknx.telegram import IndividualAddress, Telegram
from xknx.telegram.address import GroupAddress
from xknx.telegram.apci import GroupValueWrite

from knxbus.knxd import KnxdBus
from simulator.charger import KnxHost
from simulator.runner import Simulation

from .faults import WAIT_CHARGING, Fault

WASHING_MACHINE_W = 2300.0
MALFORMED_OBJECTS = (3, 13, 14, 19, 34, 36, 45, 46, 47, 48, 61)
FAULTY_DEVICE = "1.1.250"
BURST = 500
BURST_CHECK_AFTER = 10.0
"""Simulated s after a burst when the charger's values are compared with the burst's."""
RECONNECT = 5.0
"""s between a simulated device's tries to open its tunnel."""
HOME_KINDS = ("ha_reload", "ha_restart", "core_knx_reload")


async def open_tunnel(bus: KnxdBus, devices: tuple[Any, ...] = ()) -> KnxHost:
    """Return a started tunnel of ``bus`` carrying ``devices``; tried again every ``RECONNECT`` s while
    knxd cannot open it (restarting), as a device does."""
    while True:
        host = KnxHost.tunnel(bus.gateway_ip, bus.port, "127.0.0.1")
        for device in devices:
            host.add(device)
        try:
            await host.start()
        except CommunicationError:
            with contextlib.suppress(XKNXException):
                await host.stop()
            await asyncio.sleep(RECONNECT)
            continue
        return host


class Rig(Protocol):
    """What the injector needs of the soak (``test_soak.Soak``)."""

    bus: KnxdBus
    sim: Simulation
    hosts: dict[str, KnxHost | None]
    faulty: set[KnxHost]

    def spawn(self, coro: Any) -> None: ...
    async def connect(self, name: str) -> None: ...
    def publish_meter(self) -> None: ...
    def home_busy(self) -> bool: ...
    def reload(self) -> None: ...
    def reload_core_knx(self) -> None: ...
    def begin_restart(self) -> None: ...
    def end_restart(self) -> None: ...
    def meter_reversed(self) -> bool: ...
    def invert_meter(self) -> None: ...
    def charger_value(self, charger: str, number: int) -> Any: ...
    def burst_taken(self, text: str) -> None: ...


class Injector:
    """Begins and ends the faults of ``schedule`` on ``rig`` (see the module docstring)."""

    def __init__(self, rig: Rig, schedule: list[Fault], seed: int, last_start: float) -> None:
        self.rig = rig
        self.seed = seed
        self.last_start = last_start
        self.schedule = sorted(schedule, key=lambda f: f.scheduled)
        self._next = 0
        self.waiting: list[Fault] = []
        self.active: list[Fault] = []
        self.started: list[Fault] = []
        self.injected: Counter[str] = Counter()
        self.meter_fault: Fault | None = None
        self.meter_sign = 1.0
        self._checks: list[tuple[float, str, dict[int, set[Any]]]] = []

    async def due(self, now: float) -> None:
        """Begin what is due and ready, end what is over, run the burst checks that are due."""
        while self._next < len(self.schedule) and self.schedule[self._next].scheduled <= now:
            self.waiting.append(self.schedule[self._next])
            self._next += 1
        for fault in list(self.waiting):
            target = self._ready(fault, now)
            if target is not False:
                self.waiting.remove(fault)
                if isinstance(target, str):
                    fault.target = target
                fault.at, fault.started = now, True
                self.injected[fault.kind] += 1
                self.started.append(fault)
                self.active.append(fault)
                await self._begin(fault)
        for fault in list(self.active):
            if now >= fault.end:
                self.active.remove(fault)
                fault.done = True
                await self._end(fault)
        while self._checks and self._checks[0][0] <= now:
            _, charger, sent = self._checks.pop(0)
            self._check_burst(charger, sent)

    def _ready(self, fault: Fault, now: float) -> str | bool:
        """False while the fault must wait; else True, or the charger to aim at (a charging one)."""
        if fault.kind in HOME_KINDS and self.rig.home_busy():
            return False
        if fault.spec.while_charging and any(f.kind == fault.kind for f in self.active):
            return False  # one at a time: a second sign flip would undo the first
        if not fault.spec.while_charging:
            return True
        charging = sorted(
            name for name, charger in self.rig.sim.chargers.items() if any(c.current > 1.0 for c in charger.connectors)
        )
        if charging:
            return random.Random(f"{self.seed}:{fault.scheduled}").choice(charging) if fault.spec.on_charger else True
        return now - fault.scheduled >= WAIT_CHARGING or now >= self.last_start

    async def _begin(self, fault: Fault) -> None:
        rig, kind, target = self.rig, fault.kind, str(fault.target)
        if kind == "knxd_restart":
            rig.bus.restart()
        elif kind == "charger_mute":
            rig.sim.chargers[target].mute()
        elif kind == "charger_kill":
            host = rig.hosts.get(target)
            if host is not None:
                rig.hosts[target] = None
                rig.spawn(host.stop())
        elif kind.startswith("meter_") and kind != "meter_sign_flip":
            self.meter_fault = fault
            rig.publish_meter()
        elif kind == "meter_sign_flip":
            self.meter_sign = -self.meter_sign
            rig.publish_meter()
        elif kind == "washing_machine":
            rig.sim.extra_load_w += WASHING_MACHINE_W
        elif kind == "malformed":
            charger = rig.sim.chargers[target]
            linked = [n for n in MALFORMED_OBJECTS if charger.group_addresses.get(n)]
            for number in random.Random(f"{self.seed}:{fault.at}").sample(linked, 2):
                charger.send_malformed(number)
        elif kind == "ha_reload":
            rig.reload()
        elif kind == "ha_restart":
            rig.begin_restart()
        elif kind == "core_knx_reload":
            rig.reload_core_knx()
        elif kind == "charger_disobeys":
            rig.sim.chargers[target].ignores_limit = True
        elif kind == "bus_blip":
            self._blip(True)
        elif kind == "telegram_burst":
            self._burst(fault)

    async def _end(self, fault: Fault) -> None:
        rig, kind, target = self.rig, fault.kind, str(fault.target)
        if kind == "charger_mute":
            rig.sim.chargers[target].mute(False)
        elif kind == "charger_kill":
            if rig.hosts.get(target) is None:
                rig.spawn(rig.connect(target))
        elif kind.startswith("meter_") and kind != "meter_sign_flip":
            if self.meter_fault is fault:
                self.meter_fault = None
                rig.publish_meter()
        elif kind == "meter_sign_flip":
            if rig.meter_reversed():
                rig.invert_meter()  # the user follows the repair issue; the meter stays as it is
            else:
                self.meter_sign = -self.meter_sign  # the meter's own integration is put right
                rig.publish_meter()
        elif kind == "washing_machine":
            rig.sim.extra_load_w -= WASHING_MACHINE_W
        elif kind == "ha_restart":
            rig.end_restart()
        elif kind == "charger_disobeys":
            rig.sim.chargers[target].ignores_limit = False
        elif kind == "bus_blip":
            self._blip(False)

    def _blip(self, on: bool) -> None:
        """Drop every frame on the bus namespace's loopback (a queue of length 0), or stop dropping them."""
        command = ["tc", "qdisc", "add" if on else "del", "dev", "lo", "root"] + (["pfifo", "limit", "0"] if on else [])
        subprocess.run(self.rig.bus.exec_args(command), check=True, capture_output=True)

    def _burst(self, fault: Fault) -> None:
        """Put ``BURST`` telegrams of the faulty device on the bus; check the charger's values later."""
        charger = self.rig.sim.chargers[str(fault.target)]
        source = IndividualAddress(FAULTY_DEVICE)
        sent: dict[int, set[Any]] = {}

        def address(number: int) -> GroupAddress:
            return GroupAddress(charger.group_addresses[number][0])

        telegrams = []
        for index in range(BURST):
            kind = index % 5
            if kind == 0:
                number, value, payload = 46, 9_990_000 + index, DPTArray(tuple((9_990_000 + index).to_bytes(4, "big")))
            elif kind == 1:
                number, value, payload = 48, 31.75, DPTArray(tuple(struct.pack(">f", 31.75)))
            elif kind == 2:
                number, value, payload = 14, 63.5, DPTArray(tuple(struct.pack(">f", 63.5)))
            elif kind == 3:
                number, value, payload = 36, None, DPTBinary(index % 2)
            else:
                number, value, payload = 47, None, DPTArray((0, 0, 0, 0, 0))  # wrong length
            if number not in charger.group_addresses:
                continue
            if value is not None:
                sent.setdefault(number, set()).add(value)
            telegrams.append(
                Telegram(destination_address=address(number), source_address=source, payload=GroupValueWrite(payload))
            )
        self.rig.spawn(self._send(fault, telegrams, sent))

    async def _send(self, fault: Fault, telegrams: list[Telegram], sent: dict[int, set[Any]]) -> None:
        """Open the faulty device's tunnel, send ``telegrams`` and close it; a tunnel that cannot be
        opened (knxd restarting) is tried again every ``RECONNECT`` s, as a device does.

        The fault is in effect from its first telegram to its last: ``fault.at`` and ``duration`` are
        set to those simulated seconds (opening a tunnel takes real time, in which the compressed
        day runs on), and the charger's values are checked ``BURST_CHECK_AFTER`` s after the last.
        """
        host = await open_tunnel(self.rig.bus)
        self.rig.faulty.add(host)  # the lock step waits for its queue too
        fault.at = self.rig.sim.elapsed
        try:
            for telegram in telegrams:
                host.xknx.telegrams.put_nowait(telegram)
            await host.xknx.telegrams.join()
        finally:
            fault.duration = self.rig.sim.elapsed - fault.at
            self._checks.append((self.rig.sim.elapsed + BURST_CHECK_AFTER, str(fault.target), sent))
            self._checks.sort(key=lambda check: check[0])
            await host.stop()
            self.rig.faulty.discard(host)

    def _check_burst(self, charger: str, sent: dict[int, set[Any]]) -> None:
        for number, values in sent.items():
            value = self.rig.charger_value(charger, number)
            if value in values:
                self.rig.burst_taken(f"{charger} object {number} = {value}")
