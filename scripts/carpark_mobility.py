"""The car-park day's sessions, drawn from emobpy's German trip statistics and EV specs (seeded).

The data are the PyPI package ``emobpy`` 0.6.2's files (read as files, nothing is imported; the
package is in requirements_data.txt, installed without its dependencies), from its example
``eg2`` ("Germany's mobility statistics, mobilitaet-in-tabellen.de"):

- ``DepartureDestinationTrip_Worker.csv`` / ``_Free.csv``: per half hour of a weekday, the
  probability of a trip to each destination (home, workplace, errands, shopping, leisure, ...), for
  commuters and for non-commuters;
- ``DistanceDurationTrip.csv``: the joint probability of a trip's distance (km) and duration
  (minutes), each bin read as (previous value, this value];
- ``TripsPerDay.csv``: trips per weekday;
- ``rules.yml``: a full-time worker's time at the workplace (``overall_min_time_at`` to
  ``overall_max_time_at``, 7-8 h) and the least time at any destination (``min_state_duration``);
- ``evspecs.json``: battery capacities of its EV models (a make drawn evenly, then a model).

A session (:class:`Session`) by who parks (``scripts/carpark.yaml``, ``parking``):

- ``worker``: leaves home at a time drawn from the workers' trips to the workplace, arrives after
  the trip's drawn duration, stays 7-8 h (rules.yml);
- ``resident``: home overnight: plugged in from 00:00 until leaving for work (workers' trips to the
  workplace), and again from the last trip home (after 14:00) until the window ends;
- ``visitor``: arrives at a time drawn from the non-commuters' trips to errands, shopping and
  leisure, leaves with their next trip home (at least 15 min later, rules.yml); up to three
  visitors a space, 10 minutes apart at least.

Energy need (Wh at the charger): the day's driving, trips per day (at least two: there and back)
each of a drawn distance, at ``CONSUMPTION`` kWh/km (an assumption: emobpy computes consumption
with its own vehicle model, which is not used), divided by the charging efficiency, at most what
fills the battery from 5 % to the car's target (80 %: below the taper, so a car draws its maximum
until its need has arrived). The cars' on-board AC chargers are not in evspecs.json; ``ONBOARD``
gives them by make from the makers' data sheets (phases x A).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

import yaml  # type: ignore[import-untyped]

DATA = "emobpy/data"
CONFIG = "emobpy/data/eg2/config_files"
CONSUMPTION = 0.2
"""kWh per km driven (an assumption: a compact EV in mixed driving)."""
EFFICIENCY = 0.92
"""Fraction of the energy drawn at the charger that reaches the battery (simulator.ev's default)."""
TARGET_SOC = 0.8
MIN_SOC = 0.05
ONBOARD: dict[str, tuple[int, float]] = {
    "Audi": (3, 16.0), "BMW": (3, 16.0), "Chevrolet": (1, 32.0), "FIAT": (1, 29.0), "Hyundai": (1, 32.0),
    "Jaguar": (1, 32.0), "KIA": (1, 32.0), "MINI": (3, 16.0), "Nissan": (1, 29.0), "Renault": (3, 32.0),
    "Tesla": (3, 16.0), "Volkswagen": (2, 16.0),
}
"""Make -> (phases, A per phase) of its on-board AC charger (6.6-22 kW, the makers' data sheets)."""
HALF_HOUR = 1800


@dataclass(frozen=True, slots=True)
class CarModel:
    """An EV model of evspecs.json: its name, battery (kWh) and on-board charger (phases, A)."""

    name: str
    capacity_kwh: float
    phases: int
    max_current: float


@dataclass(frozen=True, slots=True)
class Session:
    """One car at one charger: [``arrive``, ``depart``) s from the window's start, need in Wh."""

    evse: int
    arrive: int
    depart: int
    need_wh: float
    car: CarModel

    @property
    def soc(self) -> float:
        """The SoC on arrival that its need fills to ``TARGET_SOC``."""
        return TARGET_SOC - self.need_wh * EFFICIENCY / (self.car.capacity_kwh * 1000.0)


def _file(path: str) -> Path:
    try:
        dist = distribution("emobpy")
    except PackageNotFoundError:
        raise SystemExit("the car-park bench needs the PyPI package emobpy (requirements_data.txt, "
                         "installed by scripts/setup)") from None
    return Path(str(dist.locate_file(path)))


def source() -> str:
    """The data's source, for the report."""
    return (f"emobpy {version('emobpy')} ({CONFIG}: German weekday trip statistics, "
            "mobilitaet-in-tabellen.de; emobpy/data/evspecs.json)")


class Mobility:
    """emobpy's distributions, read once; :meth:`sessions` draws a day from them."""

    def __init__(self) -> None:
        self.departures = {who: self._departures(f"DepartureDestinationTrip_{who}.csv") for who in ("Worker", "Free")}
        with _file(f"{CONFIG}/DistanceDurationTrip.csv").open(newline="") as f:
            rows = list(csv.reader(f))
        minutes = [0.0] + [float(x) for x in rows[0][1:]]
        km = [0.0] + [float(r[0]) for r in rows[1:]]
        self.trips = [((km[a], km[a + 1]), (minutes[b], minutes[b + 1]), float(p))
                      for a, r in enumerate(rows[1:]) for b, p in enumerate(r[1:]) if float(p) > 0]
        with _file(f"{CONFIG}/TripsPerDay.csv").open(newline="") as f:
            self.per_day = [(int(r["trip"]), float(r["weekday"])) for r in csv.DictReader(f)]
        rules = yaml.safe_load(_file(f"{CONFIG}/rules.yml").read_text())
        self.work_hours = (float(rules["fulltime"]["weekday"]["overall_min_time_at"]["workplace"]),
                           float(rules["fulltime"]["weekday"]["overall_max_time_at"]["workplace"]))
        self.min_stay = float(rules["freetime"]["weekday"]["min_state_duration"]["shopping"]) * 3600
        specs = json.loads(_file(f"{DATA}/evspecs.json").read_text())
        models: dict[str, CarModel] = {}
        for make, named in specs.items():
            for name, years in named.items() if make in ONBOARD else ():
                caps = [y["battery_cap"]["value"] for y in years.values() if y.get("battery_cap", {}).get("value")]
                if caps:
                    phases, amps = ONBOARD[make]
                    models[f"{make} {name}"] = CarModel(f"{make} {name}", float(max(caps)), phases, amps)
        self.models = sorted(models.values(), key=lambda m: m.name)
        self.makes = sorted({m.name.split()[0] for m in self.models})

    def _car(self, rng: random.Random) -> CarModel:
        """A car: a make drawn evenly (evspecs.json lists 60-odd Teslas), then one of its models."""
        make = rng.choice(self.makes)
        return rng.choice([m for m in self.models if m.name.split()[0] == make])

    @staticmethod
    def _departures(name: str) -> dict[str, list[float]]:
        with _file(f"{CONFIG}/{name}").open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["days"] == "weekdays"]
        rows.sort(key=lambda r: float(r["time"]))
        return {k: [float(r[k]) for r in rows] for k in rows[0] if k not in ("days", "time")}

    def _when(self, rng: random.Random, who: str, where: tuple[str, ...], after: float = 0.0) -> int | None:
        """A trip's departure (s of the day) to any of ``where``, at or after ``after``; None if none."""
        weights = [sum(self.departures[who][w][h] for w in where) if (h + 1) * HALF_HOUR > after else 0.0
                   for h in range(48)]
        if not any(weights):
            return None
        h = rng.choices(range(48), weights)[0]
        return int(rng.uniform(max(h * HALF_HOUR, after), (h + 1) * HALF_HOUR))

    def _trip(self, rng: random.Random) -> tuple[float, float]:
        """A trip's distance (km) and duration (s)."""
        (k0, k1), (m0, m1), _ = rng.choices(self.trips, [p for _, _, p in self.trips])[0]
        return rng.uniform(k0, k1), rng.uniform(m0, m1) * 60.0

    def _need(self, rng: random.Random, car: CarModel, first_km: float) -> float:
        """Wh at the charger for a day's driving (module docstring)."""
        n = rng.choices([t for t, _ in self.per_day if t >= 2], [p for t, p in self.per_day if t >= 2])[0]
        km = first_km + sum(self._trip(rng)[0] for _ in range(n - 1))
        most = (TARGET_SOC - MIN_SOC) * car.capacity_kwh * 1000.0 / EFFICIENCY
        return min(km * CONSUMPTION * 1000.0 / EFFICIENCY, most)

    def sessions(self, parking: list[str], seed: int, end: int = 86400) -> list[Session]:
        """Draw every charger's sessions of one weekday (``parking[i]``: who parks at charger i)."""
        rng = random.Random(seed)
        out: list[Session] = []
        for i, who in enumerate(parking):
            if who == "worker":
                leave = self._when(rng, "Worker", ("workplace",))
                km, trip = self._trip(rng)
                arrive = int((leave or 0) + trip)
                stay = rng.uniform(*self.work_hours) * 3600
                car = self._car(rng)
                out.append(Session(i, arrive, min(end, int(arrive + stay)), self._need(rng, car, km), car))
            elif who == "resident":
                car = self._car(rng)
                leave = self._when(rng, "Worker", ("workplace",)) or 0
                out.append(Session(i, 0, leave, self._need(rng, car, self._trip(rng)[0]), car))
                back = self._when(rng, "Worker", ("home",), after=max(leave, 14 * 3600))
                if back is not None:
                    out.append(Session(i, back, end, self._need(rng, car, self._trip(rng)[0]), car))
            elif who == "visitor":
                after = 0.0
                for _ in range(3):
                    come = self._when(rng, "Free", ("errands", "shopping", "leisure"), after)
                    go = None if come is None else self._when(rng, "Free", ("home",), come + self.min_stay)
                    if come is None or go is None:
                        break
                    car = self._car(rng)
                    out.append(Session(i, come, min(end, go), self._need(rng, car, self._trip(rng)[0]), car))
                    after = go + 600.0
            else:
                raise ValueError(f"charger {i + 1}: unknown parking {who!r} (worker, resident, visitor)")
        return [s for s in out if s.depart > s.arrive]

