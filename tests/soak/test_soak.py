"""The soak benchmark: a time-compressed simulated day of the demo house with random faults.

The design, the figures and the assertions are described in scripts/soak.py, the command that runs
this module. It is skipped unless ``SOAK_HOURS`` is set, so the normal test run does not start it.
Settings (environment): ``SOAK_HOURS`` (simulated hours), ``SOAK_SEED`` (fault schedule and EV
jitter), ``SOAK_STEP`` (simulated seconds per lock step), ``SOAK_FAULT_RATE`` (faults of each kind
per simulated hour, at least one of each), ``SOAK_REPORT`` (write the figures there as JSON).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import random
import time as _time
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_scheduled_timer_handles
from xknx import XKNX

from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_TUNNELING,
    CONF_PORT,
    DOMAIN,
    SUBENTRY_BALANCING,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.knx.parameters import VOLTAGE
from knxbus.knxd import KnxdBus
from simulator.charger import KnxHost
from simulator.house import HouseModel
from simulator.installation import Installation, load_installation
from simulator.runner import Simulation

from .attribution import LogWatch, unexplained
from .bus import REAL, BusActivity
from .faults import Fault, fault_schedule
from .report import Figures, check
from .resources import resources

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("bus_netns", "sockets_enabled")]

HOURS = float(os.environ.get("SOAK_HOURS", "0") or 0)
SEED = int(os.environ.get("SOAK_SEED", "1"))
STEP = float(os.environ.get("SOAK_STEP", "1"))
FAULT_RATE = float(os.environ.get("SOAK_FAULT_RATE", "0.5"))
REPORT = os.environ.get("SOAK_REPORT")

METER_ENTITY = "sensor.grid_power"
PHASE_METER_ENTITIES = ("sensor.grid_l1_current", "sensor.grid_l2_current", "sensor.grid_l3_current")
"""The group's meter (the demo installation): the supply's currents per phase, as the flow recommends."""
GROUP_ID = "house"
SUBENTRY_IDS = {"Garage": "garage", "Carport": "carport"}
MODES = {"Carport": "fast", "Garage connector 1": "solar", "Garage connector 2": "min_solar"}
"""Charge mode per member: solar for the Leaf at home in the day, Min+Solar and Fast for the evening cars."""
RISE_WINDOW = 10.0
"""s after a rise of the load that is not the chargers' during which budget excess is the house's own."""
SETTLE_CAP = 0.25
"""Real s a lock step waits at most for the bus to go quiet (a knxd restart leaves a send unacknowledged)."""
WASHING_MACHINE_W = 2300.0
MALFORMED_OBJECTS = (3, 13, 14, 19, 34, 36, 45, 46, 47, 48, 61)


class Soak:
    """Home Assistant, the simulated installation and knxd, stepped together (see scripts/soak.py)."""

    def __init__(
        self, hass: HomeAssistant, bus: KnxdBus, freezer: FrozenDateTimeFactory, house: tuple[Installation, HouseModel]
    ) -> None:
        self.hass = hass
        self.bus = bus
        self.freezer = freezer
        installation, model = house
        self.installation = installation
        self.sim = Simulation(installation, seed=SEED, house=model)
        (group,) = installation.extra["balancing_groups"]
        self.group_data = {
            **group,
            "members": [{**m, "mode": MODES[m["name"]]} for m in group["members"]],
        }
        self.budget = float(group["limit"]) * (1 - float(group["reserve_margin"]) / 100.0)
        self.breaker = float(group["limit"])
        self.activity = BusActivity()
        self.hosts: dict[str, KnxHost | None] = {}
        self.figures = Figures()
        self.true_wh: dict[str, float] = {}
        self._prev_wh: dict[str, float] = {}
        self._last_reading: Any = None
        self._other_a = 0.0
        self._last_rise = -1e9
        self._last_uncommanded = -1e9
        self._first_round: float | None = None
        self.meter_fault: Fault | None = None
        self.faults: list[Fault] = []
        self.injected: Counter[str] = Counter()
        self.background: set[asyncio.Task[Any]] = set()
        self.log = LogWatch(lambda: self.sim.elapsed)
        self._types_hour1: Counter[str] = Counter()
        self._types_end: Counter[str] = Counter()
        self.entry = self._entry()

    # -- set-up ----------------------------------------------------------------------------------

    def _entry(self) -> MockConfigEntry:
        subentries = [
            ConfigSubentryDataWithId(
                subentry_id=SUBENTRY_IDS[data["name"]],
                subentry_type=SUBENTRY_CHARGER,
                title=data["name"],
                unique_id=data["individual_address"],
                data=data,
            )
            for data in self.installation.chargers
        ]
        subentries.append(
            ConfigSubentryDataWithId(
                subentry_id=GROUP_ID,
                subentry_type=SUBENTRY_BALANCING,
                title=self.group_data["name"],
                unique_id=self.group_data["name"],
                data=self.group_data,
            )
        )
        return MockConfigEntry(
            domain=DOMAIN,
            title="KNX bus",
            data={
                CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING,
                CONF_HOST: self.bus.gateway_ip,
                CONF_PORT: self.bus.port,
                CONF_KNX_LOCAL_IP: "127.0.0.1",
            },
            subentries_data=subentries,
        )

    async def connect(self, name: str) -> None:
        charger = self.sim.chargers[name]
        self.hosts[name] = await charger.connect(self.bus.gateway_ip, self.bus.port, "127.0.0.1")

    async def start(self) -> None:
        self.freezer.move_to(self.sim.now.replace(tzinfo=UTC))
        self.sim.start()
        for name in self.sim.chargers:
            await self.connect(name)
        self.publish_meter()
        self.entry.add_to_hass(self.hass)
        setup = asyncio.ensure_future(self.hass.config_entries.async_setup(self.entry.entry_id))
        while not setup.done():
            await self.step()
        assert setup.result()
        assert self.entry.state is ConfigEntryState.LOADED

    def xknx_clients(self) -> list[XKNX]:
        clients = [host.xknx for host in self.hosts.values() if host is not None]
        if self.entry.state is ConfigEntryState.LOADED:
            clients.append(self.entry.runtime_data.hub.xknx)
        return clients

    # -- one lock step ---------------------------------------------------------------------------

    async def settle(self) -> None:
        """Let the loop run until no frame is in flight or queued and nothing arrived for two polls."""
        loop = asyncio.get_running_loop()
        began = REAL()
        last = (self.activity.sent, self.activity.received)
        quiet = 0
        while True:
            for _ in range(3):
                await asyncio.sleep(0)
            await loop.run_in_executor(None, _time.sleep, 0.0002)
            now = (self.activity.sent, self.activity.received)
            busy = self.activity.inflight > 0 or any(x.telegrams.qsize() for x in self.xknx_clients())
            if not busy and now == last:
                quiet += 1
                if quiet >= 2:
                    return
            else:
                quiet = 0
            last = now
            if REAL() - began > SETTLE_CAP:
                self.figures.settle_overruns += 1
                return

    async def advance(self, seconds: float) -> None:
        """Move the frozen clock ``seconds`` ahead, stopping at every timer due on the way.

        Each timer (Home Assistant's intervals and call-laters, xknx's rate limiter and timeouts,
        the hub's read pacing) runs at its own time with the bus settled before and after, as
        in real time; only the idle time between them is skipped.
        """
        loop = asyncio.get_running_loop()
        target = loop.time() + seconds
        for _ in range(1000):
            due = [h.when() for h in get_scheduled_timer_handles(loop) if not h.cancelled()]
            nxt = min(due, default=math.inf)
            if nxt >= target:
                break
            # asyncio runs a timer once the clock is strictly past it; the clock moves in whole
            # microseconds: round up (a timer due "now", e.g. call_later(0), needs one tick too)
            self.freezer.tick(timedelta(microseconds=max(0, math.ceil((nxt - loop.time()) * 1e6)) + 1))
            await self.settle()
            self.figures.timer_stops += 1
        else:
            if os.environ.get("SOAK_DEBUG"):
                stuck = [h for h in get_scheduled_timer_handles(loop) if not h.cancelled() and h.when() <= loop.time()]
                print("debug stuck", loop.time(), [(h.when(), h) for h in stuck][:3], flush=True)
        rest = target - loop.time()
        if rest > 0:
            self.freezer.tick(timedelta(seconds=rest))
        await self.settle()

    async def step(self, physics: bool = True) -> None:
        if physics:
            self.sim.step(STEP)
            self._track_uncommanded()
            if self.sim.reading is not self._last_reading:
                self._last_reading = self.sim.reading
                self.publish_meter()
                self._track_rise()
        else:
            # Physics stopped for the final sync, but a real meter keeps reporting: the same value
            # again (only last_reported advances), or the 30 s of the final sync make it stale.
            self.publish_meter()
        await self.advance(STEP)
        if physics:
            self._account()
            self.figures.steps += 1
            if os.environ.get("SOAK_DEBUG") and int(self.sim.elapsed) % 5 == 0:
                self._debug()

    def _debug(self) -> None:
        if self.entry.state is not ConfigEntryState.LOADED:
            print(f"debug t={self.sim.elapsed:.0f} not loaded", flush=True)
            return
        for sid, c in self.entry.runtime_data.chargers.items():
            print(
                f"debug t={self.sim.elapsed:.0f} {sid} reads={c.reads_sent} done={c.startup_reads_done} "
                f"stale={c.is_stale} 14={c.value(14)} 48={c.value(48)} 97={c.value(97)} 95={c.value(95)} "
                f"sim95={self.sim.chargers['Garage'].value_of(95)} true={self.true_wh}",
                flush=True,
            )

    def publish_meter(self) -> None:
        reading = self.sim.reading
        if reading is None:
            return
        fault = self.meter_fault.kind if self.meter_fault is not None else None
        if fault == "meter_stale":
            return  # nothing reported: the state's last_reported stops advancing
        state = {
            "meter_unavailable": STATE_UNAVAILABLE,
            "meter_unknown": STATE_UNKNOWN,
            "meter_non_numeric": "E-42",
        }.get(fault or "", f"{reading.power_w:.1f}")
        self.hass.states.async_set(
            METER_ENTITY,
            state,
            {ATTR_UNIT_OF_MEASUREMENT: "W", "device_class": "power", "state_class": "measurement"},
        )
        for entity_id, amps in zip(PHASE_METER_ENTITIES, reading.phase_currents, strict=True):
            self.hass.states.async_set(
                entity_id,
                state if fault else f"{amps:.2f}",
                {ATTR_UNIT_OF_MEASUREMENT: "A", "device_class": "current", "state_class": "measurement"},
            )

    def _track_rise(self) -> None:
        reading = self.sim.reading
        assert reading is not None
        other = (reading.house_w - reading.pv_w) / 3 / VOLTAGE
        if other > self._other_a + 0.05:
            self._last_rise = self.sim.elapsed
        self._other_a = other

    def _track_uncommanded(self) -> None:
        """Record when a charger the group has paused draws anyway.

        The demo chargers start a session on plug-in (the manual's "Auto charging init after
        connect", object 26) whatever Stop was written before; the car then draws at the
        charger's own limit until the group's Stop (sent again at once, see the balancing core's
        paused-draw rule) takes effect. Like a house-load step, that draw is not the group's to
        prevent, only to answer.
        """
        if self.entry.state is not ConfigEntryState.LOADED:
            return
        group = self.entry.runtime_data.groups.get(GROUP_ID)
        if group is None or group.decision is None:
            return
        for member in group.members:
            if group.decision.limits[member.index] > 0:
                continue
            charger = self.sim.chargers.get(member.charger.name)
            if charger is None:
                continue
            connectors = [c for c in charger.connectors if member.connector in (0, c.index)]
            if any(c.current > 1.0 for c in connectors):
                self._last_uncommanded = self.sim.elapsed

    def _control_blocked(self, now: float) -> bool:
        """True while a fault keeps Home Assistant from commanding a charger (bus down, charger deaf, reload)."""
        for fault in self.faults:
            if not fault.started:
                break
            if fault.kind in ("knxd_restart", "ha_reload") and fault.at <= now <= fault.at + 60:
                return True
            if fault.kind in ("charger_mute", "charger_kill") and fault.at <= now <= fault.end + 30:
                return True
        return False

    def _account(self) -> None:
        reading = self.sim.reading
        assert reading is not None
        figures = self.figures
        now = self.sim.elapsed
        if self._first_round is None and self.entry.state is ConfigEntryState.LOADED:
            group = self.entry.runtime_data.groups.get(GROUP_ID)
            if group is not None and group.decision is not None:
                self._first_round = now
        other = (reading.house_w - reading.pv_w) / 3 / VOLTAGE
        chargers = self.sim.charger_currents()
        for k in range(3):
            amps = abs(other + chargers[k])
            figures.peak_a[k] = max(figures.peak_a[k], amps)
            if amps > self.breaker:
                figures.over_breaker_s[k] += STEP
            if amps <= self.budget:
                continue
            figures.over_s[k] += STEP
            figures.over_as[k] += (amps - self.budget) * STEP
            if self._first_round is None or now - self._first_round <= RISE_WINDOW:
                figures.over_startup_s[k] += STEP
            elif chargers[k] <= 0 or now - self._last_rise <= RISE_WINDOW:
                figures.over_house_s[k] += STEP
            elif self._control_blocked(now):
                figures.over_fault_s[k] += STEP
            elif now - self._last_uncommanded <= RISE_WINDOW:
                figures.over_uncommanded_s[k] += STEP
            else:
                figures.over_controller_s[k] += STEP
                figures.over_controller_as[k] += (amps - self.budget) * STEP
                if len(figures.controller_events) < 50:
                    figures.controller_events.append(
                        f"{self.sim.now:%H:%M:%S} (t={now:.0f}s) L{k + 1} {amps:.2f} A: other {other:.2f} A, "
                        f"chargers {chargers[k]:.2f} A, last rise t={self._last_rise:.0f}s"
                    )
        for name, charger in self.sim.chargers.items():
            for conn in charger.connectors:
                key = f"{name} c{conn.index}"
                energy = conn.session_energy
                prev = self._prev_wh.get(key, 0.0)
                self.true_wh[key] = self.true_wh.get(key, 0.0) + (energy - prev if energy >= prev else energy)
                self._prev_wh[key] = energy

    # -- faults ----------------------------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def inject_due(self) -> None:
        now = self.sim.elapsed
        for fault in self.faults:
            if fault.at > now:
                break
            if not fault.started:
                fault.started = True
                self.injected[fault.kind] += 1
                await self._begin(fault)
            if not fault.done and now >= fault.end:
                fault.done = True
                await self._end(fault)

    async def _begin(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "knxd_restart":
            self.bus.restart()
        elif kind == "charger_mute":
            self.sim.chargers[str(fault.target)].mute()
        elif kind == "charger_kill":
            host = self.hosts.get(str(fault.target))
            if host is not None:
                self.hosts[str(fault.target)] = None
                self.spawn(host.stop())
        elif kind.startswith("meter_"):
            self.meter_fault = fault
            self.publish_meter()
        elif kind == "washing_machine":
            self.sim.extra_load_w += WASHING_MACHINE_W
        elif kind == "malformed":
            charger = self.sim.chargers[str(fault.target)]
            linked = [n for n in MALFORMED_OBJECTS if charger.group_addresses.get(n)]
            for number in random.Random(f"{SEED}:{fault.at}").sample(linked, 2):
                charger.send_malformed(number)
        elif kind == "ha_reload":
            self.spawn(self.hass.config_entries.async_reload(self.entry.entry_id))

    async def _end(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "charger_mute":
            self.sim.chargers[str(fault.target)].mute(False)
        elif kind == "charger_kill":
            if self.hosts.get(str(fault.target)) is None:
                self.spawn(self.connect(str(fault.target)))
        elif kind.startswith("meter_"):
            if self.meter_fault is fault:
                self.meter_fault = None
                self.publish_meter()
        elif kind == "washing_machine":
            self.sim.extra_load_w -= WASHING_MACHINE_W

    # -- the run ---------------------------------------------------------------------------------

    def unexplained(self) -> list[str]:
        return unexplained(self.log.records, self.faults)

    def lifetime_wh(self) -> dict[str, float | None]:
        registry = er.async_get(self.hass)
        out: dict[str, float | None] = {}
        for name, charger in self.sim.chargers.items():
            for conn in charger.connectors:
                unique = f"{SUBENTRY_IDS[name]}_conn{conn.index}_lifetime_energy"
                entity_id = registry.async_get_entity_id("sensor", DOMAIN, unique)
                state = self.hass.states.get(entity_id) if entity_id else None
                if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
                    out[f"{name} c{conn.index}"] = None
                    continue
                unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
                factor = 1000.0 if unit == UnitOfEnergy.KILO_WATT_HOUR else 1.0
                out[f"{name} c{conn.index}"] = float(state.state) * factor
        return out

    async def final_sync(self) -> None:
        """Physics stopped: Home Assistant reads every session energy once more, so nothing is in transit."""
        hub = self.entry.runtime_data.hub
        for name in self.sim.chargers:
            main = 1 if name == "Garage" else 2
            for number in (46, 95):
                self.spawn(hub.async_read(f"{main}/0/{number}"))
        for _ in range(30):
            await self.step(physics=False)

    async def run(self, hours: float) -> dict[str, Any]:
        total = hours * 3600.0
        rng = random.Random(SEED)
        self.faults = fault_schedule(rng, total, FAULT_RATE, list(self.sim.chargers))
        logging.getLogger().addHandler(self.log)
        try:
            with self.activity.installed():
                await self.start()
                real_start = REAL()
                next_hour = 3600.0
                baseline: dict[str, Any] | None = None
                while self.sim.elapsed < total:
                    await self.step()
                    await self.inject_due()
                    if self.sim.elapsed >= next_hour:
                        sample, by_type = resources(self.sim.elapsed / 3600)
                        self.figures.samples.append(sample)
                        if baseline is None:
                            baseline, self._types_hour1 = sample, by_type
                        f = self.figures
                        print(
                            f"soak: {self.sim.now:%H:%M} sim, {REAL() - real_start:.0f} s real, "
                            f"{self.sim.elapsed / max(REAL() - real_start, 1e-9):.0f}x, "
                            f"over budget {sum(f.over_s):.0f} s (controller {sum(f.over_controller_s):.0f} s), "
                            f"faults {sum(self.injected.values())}, tasks {sample['tasks']}, "
                            f"objects {sample['objects']} ({sample['objects_raw']} with the bounded caches, "
                            f"{', '.join(sample['caches'].values())} full), rss {sample['rss_mb']} MB",
                            flush=True,
                        )
                        next_hour += 3600.0
                real = REAL() - real_start
                while self.background:
                    await self.step(physics=False)
                await self.final_sync()
                end, by_type = resources(self.sim.elapsed / 3600)
                self._types_end = by_type
                lifetime = self.lifetime_wh()
                assert await self.hass.config_entries.async_unload(self.entry.entry_id)
                for host in self.hosts.values():
                    if host is not None:
                        await host.stop()
        finally:
            logging.getLogger().removeHandler(self.log)
        return self.report(total, real, baseline, end, lifetime)

    def report(
        self,
        total: float,
        real: float,
        baseline: dict[str, Any] | None,
        end: dict[str, Any],
        lifetime: dict[str, float | None],
    ) -> dict[str, Any]:
        f = self.figures
        energy = {}
        for key, true in self.true_wh.items():
            got = lifetime.get(key)
            energy[key] = {
                "simulator_wh": round(true, 1),
                "lifetime_wh": got,
                "diff_pct": None if got is None or true == 0 else round((got - true) / true * 100, 4),
            }
        true_total = sum(self.true_wh.values())
        got_total = sum(v or 0.0 for v in lifetime.values())
        unexplained = self.unexplained()
        explained = len(self.log.records) - len(unexplained)
        return {
            "simulated_h": round(total / 3600, 2),
            "real_s": round(real, 1),
            "speed": round(total / real, 1),
            "step_s": STEP,
            "seed": SEED,
            "budget_a": round(self.budget, 2),
            "breaker_a": self.breaker,
            "over_budget_s": f.over_s,
            "over_budget_as": [round(x, 1) for x in f.over_as],
            "over_budget_startup_s": f.over_startup_s,
            "first_round_s": self._first_round,
            "over_budget_house_s": f.over_house_s,
            "over_budget_fault_s": f.over_fault_s,
            "over_budget_uncommanded_s": f.over_uncommanded_s,
            "over_budget_controller_s": f.over_controller_s,
            "over_budget_controller_as": [round(x, 1) for x in f.over_controller_as],
            "over_budget_controller_at": f.controller_events,
            "over_breaker_s": f.over_breaker_s,
            "peak_a": [round(x, 2) for x in f.peak_a],
            "energy": energy,
            "energy_total": {
                "simulator_wh": round(true_total, 1),
                "lifetime_wh": round(got_total, 1),
                "diff_pct": round((got_total - true_total) / true_total * 100, 4) if true_total else None,
            },
            "resources_hour1": baseline,
            "resources_end": end,
            "resources_hourly": f.samples,
            "objects_growth_by_type": dict((self._types_end - self._types_hour1).most_common(15)),
            "faults": dict(self.injected),
            "log_warnings_explained": explained,
            "log_unexplained": unexplained,
            "settle_overruns": f.settle_overruns,
            "timer_stops": f.timer_stops,
            "steps": f.steps,
            "sim_events": len(self.sim.events),
        }



@pytest.fixture(scope="module")
def house() -> tuple[Installation, HouseModel]:
    """The demo installation and its house, with the load and PV of every simulated day computed.

    Before the clock is frozen: pvlib and pandas are imported and the days computed here, in real time.
    """
    installation = load_installation("demo")
    model = HouseModel(installation.house)
    day = installation.start
    while day <= installation.start + timedelta(hours=HOURS + 1):
        model.sample(day)
        day += timedelta(days=1)
    return installation, model


@pytest.mark.skipif(HOURS <= 0, reason="the soak runs through scripts/soak (SOAK_HOURS)")
async def test_soak(
    house: tuple[Installation, HouseModel], hass: HomeAssistant, bus_netns: KnxdBus, freezer: FrozenDateTimeFactory
) -> None:
    """Run the soak for SOAK_HOURS simulated hours; print the figures; fail on any assertion."""
    soak = Soak(hass, bus_netns, freezer, house)
    report = await soak.run(HOURS)
    failed = check(report)
    report["failed"] = failed
    print("\nsoak figures:", json.dumps(report, indent=1), flush=True)
    if REPORT:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: Path(REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        )
    assert not failed, "; ".join(failed)
