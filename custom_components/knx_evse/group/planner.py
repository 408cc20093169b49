"""The charging plans of a balancing group's members at runtime: settings, progress, planning, the rounds.

Per member (``MemberPlan``): its settings (``plan_settings.PlanSettings``, from the entities and the
``knx_evse.set_plan`` action), the energy it has charged (``charger.session.MemberEnergy``, robust to
the session counter's dropouts) counted from the start of its session (or of the plan's last
departure), the vehicle's cap and the driver (``balancing.plan_round``). The group:

- plans every ``REPLAN_INTERVAL`` s and at once on a change of a plan or a vehicle, with the price and
  solar forecasts (``forecast_source``, fetched every ``FORECAST_INTERVAL`` s while a plan is on): ``balancing.plan_charging``
  for the members whose plan is on, whose vehicle is plugged in and whose mode a plan steers
  (Solar, Min+Solar), with the house's base load (``balancing.BaseLoad``);
- before each round (``steer``) sets each member's planned slot in the core (``Balancer.set_plan``);
- after it (``observe``) learns the base load, the vehicles' caps, a vehicle that takes nothing, and
  ends a plan whose departure has passed (a one-off plan switches off; a repeating one counts again);
- says when a plan cannot be met: the ``plan_unreachable`` repair issue names the energy it reaches.

Settings, progress and the vehicles' energy counters are kept in the group's store across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .. import issues
from ..balancing import (
    BaseLoad,
    Decision,
    MemberPlan,
    PlanDriver,
    PlanRequest,
    Span,
    VehicleCap,
    plan_charging,
)
from ..charger.session import MemberEnergy
from ..const import DOMAIN
from . import forecast_source
from .plan_settings import PlanSettings

if TYPE_CHECKING:
    from .group import BalancingGroup
    from .members import Member

_LOGGER = logging.getLogger(__name__)

REPLAN_INTERVAL: Final = 300.0
"""s between plans (and at once on a change)."""
FORECAST_INTERVAL: Final = 1800.0
"""s between fetches of the price and solar forecasts."""
FULL_AFTER: Final = 600.0
"""s a plugged-in vehicle may take nothing while offered a current before the plan says it is full."""
STORE_VERSION: Final = 1
PLAN_STATES: Final = ("off", "no_vehicle", "not_steering", "waiting", "charging", "reached", "unreachable",
                      "vehicle_full")
"""Values of a member's plan-state sensor."""
STEERED_MODES: Final = ("solar", "min_solar")


@dataclass(slots=True)
class PlanRuntime:
    """One member's plan at runtime (see the module docstring); ``plan`` is the planner's last result."""

    member: Member
    settings: PlanSettings
    energy: MemberEnergy
    vehicle: VehicleCap
    driver: PlanDriver
    baseline: float = 0.0
    connected: bool | None = None
    departure: datetime | None = None
    plan: MemberPlan | None = None
    state: str = "off"
    idle_since: float | None = None

    @property
    def charged_wh(self) -> float:
        """Wh charged in the plan's session so far."""
        return max(0.0, self.energy.total_wh - self.baseline)

    @property
    def need_wh(self) -> float:
        """Wh still to charge for the target."""
        return max(0.0, self.settings.energy_kwh * 1000.0 - self.charged_wh)


class GroupPlanner:
    """The plans of one balancing group (module docstring)."""

    def __init__(self, group: BalancingGroup) -> None:
        """Empty plans for ``group``'s members; ``async_load`` restores the stored ones."""
        self.group = group
        self.hass = group.hass
        minimum = group.config.min_current
        self.members = {
            m.index: PlanRuntime(m, PlanSettings(), MemberEnergy(m.charger), VehicleCap(), PlanDriver(minimum))
            for m in group.members
        }
        self.base = BaseLoad()
        self.prices: tuple[Span, ...] = ()
        self.solar: tuple[Span, ...] = ()
        self.problems: dict[str, str | None] = {"prices": None, "solar": None}
        self._store: Store[dict[str, Any]] = Store(self.hass, STORE_VERSION, f"{DOMAIN}.plans.{group.subentry_id}")
        self._unsubs: list[CALLBACK_TYPE] = []
        self._forecast_at = -math.inf
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._issues: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def async_load(self) -> None:
        """Restore the stored settings, progress and energy counters (before the entities are added)."""
        stored = await self._store.async_load() or {}
        for rt in self.members.values():
            data = (stored.get("members") or {}).get(rt.member.key)
            if not isinstance(data, dict):
                continue
            settings = PlanSettings.from_dict(data.get("settings") or {})
            if settings is not None:
                rt.settings = settings
            rt.energy.restore(data.get("energy") or {})
            if isinstance(baseline := data.get("baseline"), int | float):
                rt.baseline = float(baseline)

    @callback
    def async_start(self) -> None:
        """Count the members' energy, and plan every ``REPLAN_INTERVAL`` s."""
        for rt in self.members.values():
            self._unsubs.append(rt.energy.start())
        self._unsubs.append(async_track_time_interval(
            self.hass, self._tick, timedelta(seconds=REPLAN_INTERVAL), name=f"{DOMAIN} plans {self.group.name}"))
        self._request()

    async def async_stop(self) -> None:
        """Stop counting and planning (waiting for a plan under way); keep what there is."""
        while self._unsubs:
            self._unsubs.pop()()
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._store.async_save(self._data())  # a reload reads it at once

    def _data(self) -> dict[str, Any]:
        return {"members": {rt.member.key: {"settings": rt.settings.as_dict(), "energy": rt.energy.as_dict(),
                                            "baseline": rt.baseline} for rt in self.members.values()}}

    def _save(self) -> None:
        self._store.async_delay_save(self._data, 10.0)

    # -- settings (entities, action) -----------------------------------------------------------------

    def settings_of(self, index: int) -> PlanSettings:
        """Return member ``index``'s plan settings."""
        return self.members[index].settings

    @callback
    def async_set(self, index: int, settings: PlanSettings) -> None:
        """Replace member ``index``'s settings (validated by the caller), plan again and notify."""
        rt = self.members[index]
        old = rt.settings
        if settings.enabled and not settings.days and settings.day is None and (
                not old.enabled or old.departure != settings.departure or old.days):
            settings = settings.with_(since=dt_util.utcnow().timestamp())  # a one-off plan leaves next time
        if settings.enabled and not old.enabled and not any(r.settings.enabled for r in self.members.values()):
            self._forecast_at = -math.inf  # the first plan on: the forecasts at once
        rt.settings = settings
        rt.departure = None
        self._save()
        self._request()

    # -- planning ----------------------------------------------------------------------------------

    @callback
    def _tick(self, _now: datetime) -> None:
        self._request()

    @callback
    def _request(self) -> None:
        """Plan again in the background, or right after the plan under way (the group's notify follows)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = self.group.entry.async_create_background_task(
            self.hass, self._async_plans(), f"{DOMAIN} plans {self.group.name}")

    async def _async_plans(self) -> None:
        while True:
            self._again = False
            try:
                await self.async_replan()
            except Exception:
                _LOGGER.exception("%s: planning failed", self.group.name)
            if not self._again:
                return

    async def async_replan(self) -> None:
        """Fetch the forecasts when due, plan the active members, update the states and issues."""
        now_dt = dt_util.utcnow()
        now = now_dt.timestamp()
        if any(rt.settings.enabled for rt in self.members.values()) and now - self._forecast_at >= FORECAST_INTERVAL:
            self._forecast_at = now
            self.prices, self.problems["prices"] = await forecast_source.async_prices(
                self.hass, self.group.site.price_entity, now_dt)
            self.solar, self.problems["solar"] = await forecast_source.async_solar(self.hass)
        requests = []
        for rt in self.members.values():
            rt.departure = rt.settings.next_departure(now_dt) if rt.settings.enabled else None
            if self._active(rt) and rt.departure is not None and rt.need_wh > 0:
                requests.append(PlanRequest(rt.member.index, rt.need_wh, rt.departure.timestamp(), rt.vehicle.value))
        results: tuple[MemberPlan, ...] = ()
        if requests:  # the inputs are taken here, on the event loop; the planner runs in the executor
            config, solar, other = self._inputs()
            job = functools.partial(plan_charging, config, requests, now, prices=self.prices, solar=solar,
                                    other_load=other)
            try:
                results = await self.hass.async_add_executor_job(job)
            except ValueError as err:
                _LOGGER.warning("%s: the plans could not be made: %s", self.group.name, err)
        by_index = {p.index: p for p in results}
        for rt in self.members.values():
            rt.plan = by_index.get(rt.member.index)
            rt.state = self._state(rt, now)
        self._update_issues()
        self._save()
        self.group.notify()

    def _inputs(self) -> tuple[Any, list[Span], float]:
        """Return the group's configuration, the expected export and the other load for the planner.

        The base load is in A per phase on the busiest phase; the solar forecast is production, so
        the export expected is what the base load leaves of it (counted on every phase).
        """
        config = self.group.balancer.config
        amps = self.base.value()
        watts = amps * config.voltage * config.phases
        solar = [Span(s.start, s.end, max(0.0, s.value - watts)) for s in self.solar]
        return config, solar, amps if config.current_control else watts

    def _active(self, rt: PlanRuntime) -> bool:
        """Return True when member ``rt``'s plan is on, its vehicle plugged in and its mode steered by a plan."""
        return (rt.settings.enabled and rt.settings.energy_kwh > 0 and rt.connected is True
                and self.group.mode_of(rt.member.index) in STEERED_MODES and rt.member.override is None)

    def _state(self, rt: PlanRuntime, now: float) -> str:
        if not rt.settings.enabled or rt.settings.energy_kwh <= 0 or rt.departure is None:
            return "off"
        if rt.connected is not True:
            return "no_vehicle"
        if not self._active(rt):
            return "not_steering"
        if rt.need_wh <= 1.0:
            return "reached"
        if rt.idle_since is not None and now - rt.idle_since >= FULL_AFTER:
            return "vehicle_full"
        if rt.plan is not None and not rt.plan.met:
            return "unreachable"
        slot = None if rt.plan is None else rt.plan.slot_at(now)
        return "charging" if slot is not None else "waiting"

    def _update_issues(self) -> None:
        entry_id = self.group.entry.entry_id
        for rt in self.members.values():
            subentry = f"{self.group.subentry_id}_{rt.member.key}"
            if rt.state == "unreachable" and rt.plan is not None and rt.departure is not None:
                issues.async_create_plan_unreachable_issue(
                    self.hass, entry_id, subentry, member=rt.member.name,
                    target=f"{rt.settings.energy_kwh:g}",
                    reachable=f"{(rt.charged_wh + rt.plan.planned) / 1000:.1f}",
                    alone=f"{(rt.charged_wh + rt.plan.alone) / 1000:.1f}",
                    departure=dt_util.as_local(rt.departure).strftime("%a %H:%M"),
                )
                self._issues.add(subentry)
            elif subentry in self._issues:
                self._issues.discard(subentry)
                issues.async_delete_issue(self.hass, issues.ISSUE_PLAN_UNREACHABLE, entry_id=entry_id,
                                          subentry_id=subentry)

    # -- the rounds --------------------------------------------------------------------------------

    def steer(self, now: float) -> None:
        """Before a round: put each member in its planned slot (or out of it) in the core."""
        balancer = self.group.balancer
        for rt in self.members.values():
            rt.state = self._state(rt, now)
            plan = rt.plan if self._active(rt) and rt.need_wh > 0 else None
            amps, more = rt.driver.steer(plan, now, rt.energy.total_wh)
            balancer.set_plan(rt.member.index, amps, more=more)

    def observe(self, now: float, decision: Decision) -> None:
        """After a round: the base load, the vehicles, sessions and departures (plans again on a change)."""
        config = self.group.config
        if decision.available is not None and config.current_control:
            self.base.add(now, config.budget - decision.available)
        elif decision.available is not None:
            self.base.add(now, config.budget / (config.voltage * config.phases) - decision.available)
        changed = False
        for rt, limit, reason in zip(self.members.values(), decision.limits, decision.reason, strict=True):
            charger = rt.member.charger
            connected = charger.vehicle_connected() is not False  # unknown counts as plugged, as in the rounds
            if connected != rt.connected:
                if connected and rt.connected is False:
                    rt.baseline = rt.energy.total_wh  # a new session counts from here
                rt.vehicle.reset()
                rt.idle_since = None
                rt.connected = connected
                changed = True
            draw = charger.measured_current() or 0.0
            rt.vehicle.see(now, limit, draw, reason == "capped")
            offered = limit >= config.min_current and rt.state in ("charging", "vehicle_full")
            rt.idle_since = (rt.idle_since or now) if offered and draw < 1.0 else None
            if rt.departure is not None and now >= rt.departure.timestamp():
                rt.departure = None
                if rt.settings.days:
                    rt.baseline = rt.energy.total_wh  # the next departure counts afresh
                else:
                    rt.settings = rt.settings.with_(enabled=False, since=None)  # a one-off plan is over
                changed = True
            elif rt.state in ("charging", "waiting", "unreachable") and rt.need_wh <= 1.0:
                changed = True
        if changed:
            self._request()

    def slots(self, index: int, limit: int = 12) -> list[dict[str, Any]]:
        """Return member ``index``'s next planned slots for an attribute (ISO times, A, kWh, price)."""
        plan = self.members[index].plan
        now = dt_util.utcnow().timestamp()
        return [
            {"start": dt_util.utc_from_timestamp(s.start).isoformat(),
             "end": dt_util.utc_from_timestamp(s.end).isoformat(),
             "current": round(s.current, 1), "solar": round(s.solar, 1), "energy": round(s.energy / 1000, 3),
             "price": s.price}
            for s in (plan.slots if plan is not None else ()) if s.end > now
        ][:limit]

    def diagnostics(self) -> dict[str, Any]:
        """Return the plans' part of the group's diagnostics."""
        return {
            "prices": len(self.prices), "solar": len(self.solar), "problems": self.problems,
            "base_load": self.base.value(),
            "members": {rt.member.name: {"settings": rt.settings.as_dict(), "state": rt.state,
                                         "charged_wh": rt.charged_wh, "need_wh": rt.need_wh,
                                         "vehicle": rt.vehicle.value,
                                         "planned_wh": None if rt.plan is None else rt.plan.planned,
                                         "reason": None if rt.plan is None else rt.plan.reason}
                        for rt in self.members.values()},
        }
