"""The soak benchmark: a time-compressed simulated day of the demo house with random faults.

The design, the figures and the assertions are described in scripts/soak.py, the command that runs
this module; the settings in ``settings.py``. It is skipped unless ``SOAK_HOURS`` is set, so the
normal test run does not start it. The pieces: ``bus`` (the lock step), ``home`` (Home Assistant
instances), ``faults`` and ``inject`` (the fault matrix), ``budget`` (seconds over the budget and
whose they are), ``attribution`` (the log), ``resources`` (tasks and memory), ``report``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.knx import knx_module
from homeassistant.components.knx.const import KNX_MODULE_KEY
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx import XKNX
from xknx.io import ConnectionConfig

from custom_components.knx_evse.const import (
    CONF_KNX_CORE,
    DOMAIN,
)
from custom_components.knx_evse.group.data import CONF_INVERT
from custom_components.knx_evse.group.group import BalancingGroup
from knxbus.knxd import KnxdBus
from simulator.charger import KnxHost
from simulator.house import HouseModel
from simulator.installation import Installation, load_installation
from simulator.runner import Simulation

from .attribution import LogWatch, repeated_conditions, unexplained
from .budget import BudgetAccount
from .bus import REAL, BusActivity, LockStep
from .faults import DISOBEY_TOLERANCE, Fault, fault_schedule
from .home import HomeAssistants, StoredStates, core_knx_entry, hub_entry
from .inject import Injector, open_tunnel
from .report import Figures, build_report, check
from .resources import resources, timed_rounds
from .settings import (
    CONNECTION,
    FAULT_RATE,
    GROUP_ID,
    HOURS,
    METER_ENTITY,
    MODES,
    PHASE_METER_ENTITIES,
    PRICE_ENTITY,
    PRICE_STATE,
    REPORT,
    SEED,
    STEP,
    STORED_MODE,
    SUBENTRY_IDS,
    TRACE,
    TRACE_ENERGY,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("bus_netns", "sockets_enabled")]


def _unthreaded(**kwargs: Any) -> ConnectionConfig:
    """Core knx's connection settings with its tunnel in Home Assistant's event loop, not a thread of its
    own: the lock step moves a frozen clock that an event loop in another thread does not follow."""
    return ConnectionConfig(**{**kwargs, "threaded": False})


class Soak:
    """Home Assistant, the simulated installation and knxd, stepped together (see scripts/soak.py)."""

    def __init__(self, bus: KnxdBus, freezer: FrozenDateTimeFactory, house: tuple[Installation, HouseModel]) -> None:
        self.bus = bus
        installation, model = house
        self.installation = installation
        self.sim = Simulation(installation, seed=SEED, house=model)
        (group,) = installation.extra["balancing_groups"]
        self.group_data = {**group, "members": [{**m, "mode": STORED_MODE} for m in group["members"]]}
        self.figures = Figures()
        self.budget = BudgetAccount(
            self.figures, float(group["limit"]) * (1 - float(group["reserve_margin"]) / 100.0), float(group["limit"]), STEP
        )
        self.activity = BusActivity()
        self.lock = LockStep(freezer, self.activity, self.xknx_clients, self.figures)
        self.freezer = freezer
        self.homes = HomeAssistants()
        self.hosts: dict[str, KnxHost | None] = {}
        self.faulty: set[KnxHost] = set()
        self._connecting: set[str] = set()
        self.true_wh: dict[str, float] = {}
        self._prev_wh: dict[str, float] = {}
        self._last_reading: Any = None
        self.injector: Injector | None = None
        self.background: set[asyncio.Task[Any]] = set()
        self.log = LogWatch(lambda: self.sim.elapsed)
        self.runtimes: list[float] = []
        """Simulated s at which a new runtime of the integration was set up (reload, restart)."""
        self._home_task: asyncio.Task[Any] | None = None
        self._stored: StoredStates | None = None
        self._types_hour1: Counter[str] = Counter()
        self._types_end: Counter[str] = Counter()
        self.entry: MockConfigEntry | None = None
        self.core_entry: MockConfigEntry | None = None
        """Home Assistant's KNX integration's entry in the running instance (``CONNECTION`` core_knx)."""
        self._config_dir: Path | None = None
        if CONNECTION == CONF_KNX_CORE:  # core knx reads configuration.yaml when set up
            self._config_dir = Path(tempfile.mkdtemp(prefix="soak-config-"))
            (self._config_dir / "configuration.yaml").write_text("", encoding="utf-8")

    @property
    def hass(self) -> HomeAssistant | None:
        return self.homes.hass

    def loaded(self) -> MockConfigEntry | None:
        """The hub entry while it is loaded."""
        entry = self.entry
        return entry if entry is not None and entry.state is ConfigEntryState.LOADED and self.hass else None

    def group(self) -> BalancingGroup | None:
        entry = self.loaded()
        return None if entry is None else entry.runtime_data.groups.get(GROUP_ID)

    # -- set-up ----------------------------------------------------------------------------------

    def _new_entry(self) -> MockConfigEntry:
        """The hub entry: the demo's chargers and group, or what the last entry's subentries hold now."""
        return hub_entry(self.bus, self.installation.chargers, self.group_data, self.entry)

    async def connect(self, name: str) -> None:
        """Open the charger's tunnel; one that cannot be established (knxd restarting, or still holding
        the channel of the closed one) is tried again every ``RECONNECT`` s, as a device's KNX/IP stack
        keeps trying (a charger whose first try failed stayed off the bus for the rest of the day)."""
        if name in self._connecting:
            return  # a kill that ended while the last one's tunnel was still being opened
        self._connecting.add(name)
        try:
            self.hosts[name] = await open_tunnel(self.bus, (self.sim.chargers[name],))
        finally:
            self._connecting.discard(name)

    async def start(self) -> None:
        self.freezer.move_to(self.sim.now.replace(tzinfo=UTC))
        self.sim.start()
        for name in self.sim.chargers:
            await self.connect(name)
        await self._until(self._start_home(None))
        group = self.group()
        assert group is not None
        for member in group.members:
            group.async_set_mode(member.index, MODES[member.name])

    async def _until(self, awaitable: Awaitable[Any]) -> Any:
        """Step (physics on) until ``awaitable`` is done; return its result."""
        task = asyncio.ensure_future(awaitable)
        while not task.done():
            await self.step()
        return task.result()

    async def _start_home(self, stored: StoredStates | None) -> None:
        """Start Home Assistant, publish the meter, set the hub entry up; check the modes after a restart."""
        await self.homes.start(stored)
        self.publish_meter(starting=True)
        assert self.hass is not None
        self.hass.states.async_set(PRICE_ENTITY, *PRICE_STATE)  # the slider's initial state, as the demo has it
        if CONNECTION == CONF_KNX_CORE:
            await self._start_core_knx()
        self.entry = self._new_entry()
        assert self.hass is not None
        self.entry.add_to_hass(self.hass)
        self.runtimes.append(self.sim.elapsed)
        await self.hass.config_entries.async_setup(self.entry.entry_id)
        await self._until_loaded()
        if stored is not None:
            self._check_modes()

    async def _until_loaded(self) -> None:
        """Wait until the hub entry is loaded: a set-up during a knxd restart is not ready (the tunnel
        cannot connect) and Home Assistant retries it; each try is a new runtime of the integration."""
        assert self.entry is not None
        while self.entry.state is not ConfigEntryState.LOADED:
            await asyncio.sleep(1.0)
            if self.entry.state is ConfigEntryState.SETUP_IN_PROGRESS:
                self.runtimes.append(self.sim.elapsed)

    async def _start_core_knx(self) -> None:
        """Set Home Assistant's KNX integration up (tunnelling to knxd) before the hub, as on a start."""
        hass = self.hass
        assert hass is not None and self._config_dir is not None
        hass.config.config_dir = str(self._config_dir)
        self.core_entry = core_knx_entry(self.bus)
        self.core_entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(self.core_entry.entry_id)

    def reload_core_knx(self) -> None:
        """Reload Home Assistant's KNX integration under the hub (``core_knx_reload``)."""
        assert self.hass is not None and self.core_entry is not None
        self._home(self.hass.config_entries.async_reload(self.core_entry.entry_id))

    def _check_modes(self) -> None:
        group = self.group()
        if group is None:
            self.figures.modes_not_restored.append(f"t={self.sim.elapsed:.0f}s: no group")
            return
        for member in group.members:
            if (mode := group.mode_of(member.index)) != MODES[member.name]:
                self.figures.modes_not_restored.append(f"t={self.sim.elapsed:.0f}s {member.name}: {mode}")

    # -- Home Assistant's life: reload, restart, the meter's sign (for the injector) ---------------

    def home_busy(self) -> bool:
        return (self._home_task is not None and not self._home_task.done()) or self.loaded() is None

    def _home(self, coro: Any) -> None:
        self._home_task = asyncio.ensure_future(coro)
        self.background.add(self._home_task)
        self._home_task.add_done_callback(self.background.discard)

    def reload(self) -> None:
        self._home(self._reload())

    async def _reload(self) -> None:
        assert self.hass is not None and self.entry is not None
        self.runtimes.append(self.sim.elapsed)
        await self.hass.config_entries.async_reload(self.entry.entry_id)
        await self._until_loaded()
        self._check_modes()

    def begin_restart(self) -> None:
        self._stored = self.homes.stored_states()
        self._home(self._stop_home())

    async def _stop_home(self) -> None:
        await self.homes.stop()
        lingering = await self.homes.leave()
        self.figures.lingering_timers += len(lingering)
        self.figures.lingering_examples.update(lingering)

    def end_restart(self) -> None:
        stored, self._stored = self._stored, None
        task = self._home_task

        async def start_after_stop() -> None:
            if task is not None:
                await task
            await self._start_home(stored or [])

        self._home(start_after_stop())

    def meter_reversed(self) -> bool:
        group = self.group()
        return group is not None and group.meter.state == "reversed"

    def invert_meter(self) -> None:
        """Follow the ``meter_reversed`` issue: switch the group's "Invert the sign" (the entry reloads)."""
        entry, hass = self.loaded(), self.hass
        assert entry is not None and hass is not None
        subentry = entry.subentries[GROUP_ID]
        hass.config_entries.async_update_subentry(entry, subentry, data={**subentry.data, CONF_INVERT: not subentry.data[CONF_INVERT]})
        self._home(self._after_update())

    async def _after_update(self) -> None:
        assert self.hass is not None
        self.runtimes.append(self.sim.elapsed)
        await self.hass.async_block_till_done()
        await self._until_loaded()
        self._check_modes()

    def charger_value(self, charger: str, number: int) -> Any:
        entry = self.loaded()
        coordinator = None if entry is None else entry.runtime_data.chargers.get(SUBENTRY_IDS[charger])
        return None if coordinator is None else coordinator.value(number)

    def burst_taken(self, text: str) -> None:
        self.figures.burst_taken.append(f"t={self.sim.elapsed:.0f}s {text}")

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # -- one lock step ---------------------------------------------------------------------------

    def xknx_clients(self) -> list[XKNX]:
        clients = [host.xknx for host in (*self.hosts.values(), *self.faulty) if host is not None]
        if (entry := self.loaded()) is not None and (xknx := entry.runtime_data.hub.xknx) is not None:
            clients.append(xknx)
        if self.hass is not None and (core := self.hass.data.get(KNX_MODULE_KEY)) is not None:
            clients.append(core.xknx)
        return clients

    async def step(self, physics: bool = True) -> None:
        if physics:
            self.sim.step(STEP)
            self._track_uncommanded()
            if (reading := self.sim.reading) is not self._last_reading and reading is not None:
                self._last_reading = reading
                self.publish_meter()
                self.budget.reading(self.sim.elapsed, reading.house_w, reading.pv_w)
        else:
            # Physics stopped for the final sync, but a real meter keeps reporting: the same value
            # again (only last_reported advances), or the 30 s of the final sync make it stale.
            self.publish_meter()
        await self.lock.advance(STEP)
        if physics:
            self._account()
            self.figures.steps += 1
            if TRACE[0] <= self.sim.elapsed <= TRACE[1]:
                self._trace()
            if TRACE_ENERGY and int(self.sim.elapsed) % 60 == 0 and (entry := self.loaded()) is not None:
                self._trace_energy(entry)

    def _trace(self) -> None:
        """One line per step while ``SOAK_TRACE`` (from-to, simulated s) says so: the currents and the group."""
        reading = self.sim.reading
        group = self.group()
        decision = None if group is None else group.decision
        draw = {n: [round(c.current, 1) for c in ch.connectors] for n, ch in self.sim.chargers.items()}
        meter = None if reading is None else [round(a, 1) for a in reading.phase_currents]
        print(
            f"trace t={self.sim.elapsed:.0f} meter={meter} draw={draw} "
            + ("no group" if group is None or decision is None else
               f"state={group.state} meter_state={decision.meter_state} limits={decision.limits} "
               f"reasons={decision.reason} written={[m.written for m in group.members]}"),
            flush=True,
        )

    def _trace_energy(self, entry: MockConfigEntry) -> None:
        """Once a simulated minute (``SOAK_TRACE_ENERGY``): each connector's true energy, its lifetime sensor and session energies."""
        lifetime = self.lifetime_wh()
        for name, charger in self.sim.chargers.items():
            coordinator = entry.runtime_data.chargers[SUBENTRY_IDS[name]]
            for conn in charger.connectors:
                key = f"{name} c{conn.index}"
                number = 46 if conn.index == 1 else 95
                print(
                    f"energy t={self.sim.elapsed:.0f} {key} true={self.true_wh.get(key, 0.0):.1f} "
                    f"lifetime={lifetime.get(key)} session_sim={conn.session_energy:.1f} "
                    f"session_ha={coordinator.value(number)}",
                    flush=True,
                )

    def publish_meter(self, starting: bool = False) -> None:
        """Set the meter entities from the simulator's reading, as the meter's integration would.

        A stale meter is no longer reported, except once when Home Assistant starts (its
        integration restores its last state).
        """
        reading, hass = self.sim.reading, self.hass
        if reading is None or hass is None:
            return
        injector = self.injector
        fault = injector.meter_fault.kind if injector is not None and injector.meter_fault is not None else None
        sign = injector.meter_sign if injector is not None else 1.0
        if fault == "meter_stale":
            if not starting:
                return  # nothing reported: the state's last_reported stops advancing
            fault = None
        state = {"meter_unavailable": STATE_UNAVAILABLE, "meter_unknown": STATE_UNKNOWN, "meter_non_numeric": "E-42"}.get(
            fault or "", f"{sign * reading.power_w:.1f}"
        )
        hass.states.async_set(
            METER_ENTITY, state, {ATTR_UNIT_OF_MEASUREMENT: "W", "device_class": "power", "state_class": "measurement"}
        )
        for entity_id, amps in zip(PHASE_METER_ENTITIES, reading.phase_currents, strict=True):
            hass.states.async_set(
                entity_id,
                state if fault else f"{sign * amps:.2f}",
                {ATTR_UNIT_OF_MEASUREMENT: "A", "device_class": "current", "state_class": "measurement"},
            )

    def _track_uncommanded(self) -> None:
        """Record when a charger the group has paused draws anyway.

        The demo chargers start a session on plug-in (the manual's "Auto charging init after
        connect", object 26) whatever Stop was written before; the car then draws at the
        charger's own limit until the group's Stop (sent again at once, see the balancing core's
        paused-draw rule) takes effect. Like a house-load step, that draw is not the group's to
        prevent, only to answer.
        """
        group = self.group()
        if group is None or group.decision is None:
            return
        for member in group.members:
            if group.decision.limits[member.index] > 0:
                continue
            charger = self.sim.chargers.get(member.charger.name)
            connectors = [] if charger is None else [c for c in charger.connectors if member.connector in (0, c.index)]
            if any(c.current > 1.0 for c in connectors):
                self.budget.uncommanded(self.sim.elapsed)

    def in_play(self, fault: Fault) -> bool:
        """True while a fault with a bound is in play: a charger that ignores its limit by more than the tolerance."""
        if fault.kind != "charger_disobeys":
            return True
        charger = self.sim.chargers[str(fault.target)]
        return any(c.current - charger.limited_offer(c) > DISOBEY_TOLERANCE for c in charger.connectors)

    def _account(self) -> None:
        reading = self.sim.reading
        assert reading is not None
        now = self.sim.elapsed
        if self.budget.first_round is None and (group := self.group()) is not None and group.decision is not None:
            self.budget.first_round = now
        started = self.injector.started if self.injector is not None else []
        self.budget.account(
            now, self.sim.now, reading.house_w, reading.pv_w, self.sim.charger_currents(), started, self.in_play
        )
        for name, charger in self.sim.chargers.items():
            for conn in charger.connectors:
                key = f"{name} c{conn.index}"
                energy = conn.session_energy
                prev = self._prev_wh.get(key, 0.0)
                self.true_wh[key] = self.true_wh.get(key, 0.0) + (energy - prev if energy >= prev else energy)
                self._prev_wh[key] = energy

    # -- the run ---------------------------------------------------------------------------------

    def lifetime_wh(self) -> dict[str, float | None]:
        assert self.hass is not None
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
        entry = self.loaded()
        assert entry is not None
        hub = entry.runtime_data.hub
        for name in self.sim.chargers:
            main = 1 if name == "Garage" else 2
            for number in (46, 95):
                self.spawn(hub.async_read(f"{main}/0/{number}"))
        for _ in range(30):
            await self.step(physics=False)

    async def run(self, hours: float) -> dict[str, Any]:
        total = hours * 3600.0
        faults = fault_schedule(random.Random(SEED), total, FAULT_RATE, list(self.sim.chargers), CONNECTION)
        self.injector = Injector(self, faults, SEED, total - 1500.0)
        logging.getLogger().addHandler(self.log)
        ours = logging.getLogger("custom_components.knx_evse")
        level = ours.level
        if ours.getEffectiveLevel() > logging.INFO:
            ours.setLevel(logging.INFO)  # the start and end lines of the conditions
        queries = logging.getLogger("sqlalchemy.engine")  # core knx's telegram history: every query at info
        queries_level = queries.level
        queries.setLevel(logging.WARNING)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: self.figures.exceptions.append(str(context.get("exception") or context["message"])[:300]))
        try:
            with (
                self.activity.installed(),
                patch.object(BalancingGroup, "async_run_round", timed_rounds(self.figures)),
                patch.object(knx_module, "ConnectionConfig", _unthreaded),
            ):
                await self.start()
                real_start = REAL()
                next_hour = 3600.0
                baseline: dict[str, Any] | None = None
                while self.sim.elapsed < total:
                    await self.step()
                    await self.injector.due(self.sim.elapsed)
                    if self.sim.elapsed >= next_hour:
                        sample, by_type = resources(self.sim.elapsed / 3600, len(self.log.records))
                        self.figures.samples.append(sample)
                        if baseline is None:
                            baseline, self._types_hour1 = sample, by_type
                        self._progress(real_start, sample)
                        next_hour += 3600.0
                real = REAL() - real_start
                for _ in range(600):
                    if not self.background:
                        break
                    await self.step(physics=False)
                else:
                    raise AssertionError(f"background tasks still running 600 s after the end: {self.background}")
                await self.final_sync()
                end, by_type = resources(self.sim.elapsed / 3600, len(self.log.records))
                self._types_end = by_type
                lifetime = self.lifetime_wh()
                assert self.hass is not None and self.entry is not None
                assert await self.hass.config_entries.async_unload(self.entry.entry_id)
                await self._until(self.homes.stop())
                await self.homes.leave()
                for host in self.hosts.values():
                    if host is not None:
                        await host.stop()
        finally:
            loop.set_exception_handler(None)
            ours.setLevel(level)
            queries.setLevel(queries_level)
            logging.getLogger().removeHandler(self.log)
        return self.report(total, real, baseline, end, lifetime)

    def _progress(self, real_start: float, sample: dict[str, Any]) -> None:
        f = self.figures
        injected = sum(self.injector.injected.values()) if self.injector is not None else 0
        print(
            f"soak: {self.sim.now:%H:%M} sim, {REAL() - real_start:.0f} s real, "
            f"{self.sim.elapsed / max(REAL() - real_start, 1e-9):.0f}x, "
            f"over budget {sum(f.over_s):.0f} s (controller {sum(f.over_controller_s):.0f} s), "
            f"faults {injected}, tasks {sample['tasks']}, "
            f"objects {sample['objects']} ({sample['objects_raw']} with the bounded caches, "
            f"{', '.join(sample['caches'].values())} full), rss {sample['rss_mb']} MB",
            flush=True,
        )

    def report(
        self, total: float, real: float, baseline: dict[str, Any] | None, end: dict[str, Any], lifetime: dict[str, float | None]
    ) -> dict[str, Any]:
        assert self.injector is not None
        started = self.injector.started
        unexplained_lines = unexplained(self.log.records, started, end=total)
        return build_report(
            self.figures,
            budget=(self.budget.budget, self.budget.breaker, self.budget.first_round),
            run={"simulated_h": round(total / 3600, 2), "real_s": round(real, 1), "speed": round(total / real, 1),
                 "step_s": STEP, "seed": SEED, "fault_rate": FAULT_RATE, "connection": CONNECTION},
            true_wh=self.true_wh,
            lifetime=lifetime,
            resources=(baseline, end, dict((self._types_end - self._types_hour1).most_common(15))),
            faults=started,
            injected=dict(self.injector.injected),
            log={"home_assistant_starts": self.homes.started,
                 "log_warnings_explained": len(self.log.warnings()) - len(unexplained_lines),
                 "log_unexplained": unexplained_lines,
                 "log_repeated": repeated_conditions(self.log.records, self.runtimes)},
            sim_events=len(self.sim.events),
        )


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
@pytest.mark.usefixtures("hass_storage")
async def test_soak(house: tuple[Installation, HouseModel], bus_netns: KnxdBus, freezer: FrozenDateTimeFactory) -> None:
    """Run the soak for SOAK_HOURS simulated hours; print the figures; fail on any assertion."""
    soak = Soak(bus_netns, freezer, house)
    report = await soak.run(HOURS)
    failed = check(report)
    report["failed"] = failed
    print("\nsoak figures:", json.dumps(report, indent=1), flush=True)
    if REPORT:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: Path(REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        )
    assert not failed, "; ".join(failed)
