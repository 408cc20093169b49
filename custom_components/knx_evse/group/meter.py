"""A balancing group's meter: Home Assistant states → a ``MeterReading``, its verdict and its repair issues.

One sensor in W, kW, MW, A or mA (converted with Home Assistant's unit converters from its
``unit_of_measurement``, re-read every round, so a unit change from W to kW is converted, not
misread) or three per-phase sensors in A; ``invert`` flips the sign. The reading's timestamp is the
oldest ``last_reported`` of those states, so a value that does not change but is still reported is
NOT stale, and one that is no longer reported is, after ``meter_timeout``. ``unavailable``,
``unknown``, non-numeric values, unknown units and a missing entity are unusable (the pure core also
refuses absurd values). After ``meter_timeout`` of an unusable meter (at once when stale) a repair
issue is raised: ``meter_entity_missing`` when an entity is gone, ``meter_unusable`` otherwise; it
is deleted when valid readings return. A sign the core finds reversed raises ``meter_reversed`` at
once (the verdict is latched, no glitch). The first usable verdict also deletes what a previous
runtime of the group left (a reload after the sign was inverted). An unusable meter is logged once
when it becomes unusable, whatever its problems meanwhile, and once when it is usable again.

A circuit's meter (``CircuitMeter``) is read and judged the same way; its problems raise one issue,
``circuit_meter_problem``, naming the circuit.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.util.unit_conversion import ElectricCurrentConverter, PowerConverter

from .. import issues
from ..balancing import MeterReading
from ..balancing.readings import MeterState
from ..condition import LoggedCondition
from .data import METER_UNITS

_LOGGER = logging.getLogger(__name__)

_UNUSABLE = (STATE_UNAVAILABLE, STATE_UNKNOWN)
_ISSUES = {"missing": issues.ISSUE_METER_ENTITY_MISSING, "reversed": issues.ISSUE_METER_REVERSED}
"""The issue of a problem that has its own; every other problem is ``meter_unusable``."""


def _convert(raw: float, unit: str) -> float:
    """Return ``raw`` in ``unit`` (one of ``METER_UNITS``) as W or A."""
    if METER_UNITS[unit][0] == "A":
        return ElectricCurrentConverter.convert(raw, unit, "A")
    return PowerConverter.convert(raw, unit, UnitOfPower.WATT)


class Meter:
    """The meter of one group: its entities, the core's last verdict and the repair issue raised.

    ``state`` (the core's verdict, None before the first round), ``missing`` (an entity is gone),
    ``value``/``unit`` (the last reading, for the diagnostics), ``issue`` (the issue raised, if any).
    """

    def __init__(
        self, hass: HomeAssistant, entity_ids: list[str], *, invert: bool, group: str, entry_id: str, subentry_id: str
    ) -> None:
        """Read ``entity_ids`` for the group ``group`` (its name) of subentry ``subentry_id``."""
        self.hass = hass
        self.entity_ids = entity_ids
        self.sign = -1.0 if invert else 1.0
        self.group = group
        self.entry_id = entry_id
        self.subentry_id = subentry_id
        self.state: MeterState | None = None
        self.problem_since: float | None = None
        self.missing = False
        self.value: float | tuple[float, ...] | None = None
        self.unit: str | None = None
        self.issue: str | None = None
        self.issue_problem: str | None = None
        self._unusable = LoggedCondition(_LOGGER)

    def known(self) -> bool:
        """Return True when every meter entity exists and has a value (neither unavailable nor unknown)."""
        return all(
            (state := self.hass.states.get(entity_id)) is not None and state.state not in _UNUSABLE
            for entity_id in self.entity_ids
        )

    def read(self) -> MeterReading | None:
        """Return the states as a ``MeterReading``; None when an entity does not exist.

        Unavailable/unknown → value None; non-numeric, non-finite or an unknown unit → NaN (the
        core calls both unusable). Timestamp: the oldest ``last_reported`` of the states.
        """
        states = [self.hass.states.get(entity_id) for entity_id in self.entity_ids]
        self.missing = any(state is None for state in states)
        if self.missing:
            self.value = None
            return None
        values: list[float | None] = []
        units: list[str] = []
        timestamp = math.inf
        for state in states:
            assert state is not None
            timestamp = min(timestamp, state.last_reported_timestamp)
            unit = str(state.attributes.get(ATTR_UNIT_OF_MEASUREMENT))
            if state.state in _UNUSABLE:
                values.append(None)
                continue
            try:
                raw = float(state.state)
            except ValueError:
                raw = math.nan
            if unit not in METER_UNITS:
                values.append(math.nan)
                continue
            units.append(METER_UNITS[unit][0])
            values.append(_convert(raw, unit) * self.sign)
        if any(v is None for v in values):
            self.value = None
            return MeterReading(None, timestamp)
        numbers = [float(v) for v in values if v is not None]
        if len(numbers) == 3:
            if units != ["A", "A", "A"]:
                numbers = [math.nan] * 3
            self.value, self.unit = tuple(numbers), "A"
            return MeterReading(tuple(numbers), timestamp, "A")
        unit_ = units[0] if units else "W"
        self.value, self.unit = numbers[0], unit_
        return MeterReading(numbers[0], timestamp, "A" if unit_ == "A" else "W")

    def update(self, state: MeterState, now: float, timeout: float) -> None:
        """Track the core's verdict; raise or clear the repair issue (after ``timeout`` s)."""
        previous = self.state
        self.state = state
        if previous is None:
            self._set_issue(None)  # what a previous runtime of the group left: checked afresh
        if state == "ok":
            self.problem_since = None
            self._unusable.end("%s: meter usable again, balancing resumes", self.group)
            if self.issue is not None or self.issue_problem is not None:
                self._set_issue(None)
            return
        if self.problem_since is None:
            self.problem_since = now
            self._unusable.start(
                "%s: meter %s is %s; fallback applied", self.group, ", ".join(self.entity_ids),
                "missing" if self.missing else state,
            )
        if state in ("stale", "reversed") or now - self.problem_since >= timeout:
            self._set_issue("missing" if self.missing else state)

    def _set_issue(self, problem: str | None) -> None:
        """Raise the issue of ``problem`` and delete the others (all of them for None)."""
        wanted = None if problem is None else _ISSUES.get(problem, issues.ISSUE_METER_UNUSABLE)
        if wanted is not None and self.issue == wanted and self.issue_problem == problem:
            return
        for key in (*_ISSUES.values(), issues.ISSUE_METER_UNUSABLE):
            if key != wanted:
                issues.async_delete_issue(self.hass, key, entry_id=self.entry_id, subentry_id=self.subentry_id)
        self.issue, self.issue_problem = wanted, problem
        entities = ", ".join(self.entity_ids)
        if wanted == issues.ISSUE_METER_ENTITY_MISSING:
            issues.async_create_meter_entity_missing_issue(
                self.hass, self.entry_id, self.subentry_id, self.group, entities
            )
        elif wanted == issues.ISSUE_METER_REVERSED:
            issues.async_create_meter_reversed_issue(
                self.hass, self.entry_id, self.subentry_id, group=self.group, entity_id=entities
            )
        elif wanted == issues.ISSUE_METER_UNUSABLE:
            issues.async_create_meter_unusable_issue(
                self.hass, self.entry_id, self.subentry_id, group=self.group, entity_id=entities, problem=str(problem)
            )

    def diagnostics(self) -> dict[str, Any]:
        """Return the meter's part of the group's diagnostics."""
        return {
            "entities": self.entity_ids,
            "state": "missing" if self.missing else self.state,
            "value": self.value,
            "unit": self.unit,
            "issue": self.issue,
        }



class CircuitMeter(Meter):
    """The meter of one circuit of a group: a ``Meter`` whose problems raise ``circuit_meter_problem``."""

    def __init__(
        self, hass: HomeAssistant, entity_ids: list[str], *, invert: bool, group: str, circuit: str,
        circuit_key: str, entry_id: str, subentry_id: str,
    ) -> None:
        """Read ``entity_ids`` for circuit ``circuit`` of group ``group``; ``circuit_key`` names its issue."""
        super().__init__(
            hass, entity_ids, invert=invert, group=f"{group}, circuit {circuit}", entry_id=entry_id,
            subentry_id=subentry_id,
        )
        self.group_name = group
        self.circuit = circuit
        self.circuit_key = circuit_key

    def _set_issue(self, problem: str | None) -> None:
        """Raise ``circuit_meter_problem`` for ``problem``, or delete it for None."""
        if problem is not None and self.issue_problem == problem:
            return
        self.issue_problem = problem
        if problem is None:
            self.issue = None
            issues.async_delete_issue(
                self.hass, issues.ISSUE_CIRCUIT_METER_PROBLEM, entry_id=self.entry_id, subentry_id=self.circuit_key
            )
            return
        self.issue = issues.ISSUE_CIRCUIT_METER_PROBLEM
        issues.async_create_circuit_meter_problem_issue(
            self.hass, self.entry_id, self.circuit_key, group=self.group_name, circuit=self.circuit,
            entity_id=", ".join(self.entity_ids), problem=problem,
        )
