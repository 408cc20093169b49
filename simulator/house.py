"""The house behind the grid meter: real household load, real solar generation, the chargers' draw.

Household load
    A 1-minute stochastic profile from ``richardsonpy`` (the Richardson et al. domestic electricity
    demand model: occupancy → appliance and lighting use, so kettles, washing machines and ovens
    appear as real spikes). Lighting uses the same real irradiance as the PV. richardsonpy's own
    calibration does not reproduce the annual consumption it is given (a 3-person house asked for
    3640 kWh of appliances draws about 7600 kWh/a), so `HouseModel` calibrates it: it samples days
    across the year, corrects richardsonpy's ``annual_consumption`` input by secant iteration (this
    changes how often appliances run, not their power) and finally scales by the remaining small
    ratio, so the expected yearly energy equals ``HouseConfig.annual_kwh``. Seeded: the same
    configuration and date always give the same day.

Solar generation
    Real irradiance from the typical meteorological year shipped with pvlib
    (``pvlib/data/723170TYA.CSV``: TMY3, Greensboro NC, 36.1° N, hourly GHI/DNI/DHI, air temperature,
    wind). The hour-ending values are placed at mid-hour and interpolated to 1 minute, then pvlib's
    ``ModelChain`` (PVWatts DC and inverter models, physical AOI, SAPM cell temperature, PVWatts
    losses of 14 %) turns them into AC power for ``kwp`` kWp at ``tilt``/``azimuth``. Limitation: the
    data are hourly, so passing clouds within an hour do not appear. Dates map to the TMY by month
    and day (29 February uses 28 February); times are the site's local standard time (UTC-5).

Meter
    ``power_w = house - pv + chargers`` (W, negative while exporting). Per phase: the household load is
    spread evenly over the house's phases, a three-phase house has a three-phase inverter (one-phase
    houses: everything on L1), the chargers add the currents they report per house phase.
    ``current_a`` is the highest of the three phase currents (signed; negative only when every phase
    exports): the phase nearest its fuse, which is what a current-based balancer must watch.

Resolution: 1 minute from the sources, held constant within the minute; `HouseModel.sample` and
`HouseModel.day_series` give any resolution down to 1 s.
"""

from __future__ import annotations

import functools
import random
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

VOLTAGE: Final = 230.0
"""V phase-to-neutral."""
MINUTES_PER_DAY: Final = 1440
TMY_FILE: Final = "723170TYA.CSV"
"""The pvlib data file used for irradiance (TMY3)."""
SUMMER_DAY: Final = date(2025, 6, 19)
"""A sunny summer weekday for benchmarks (Thursday; 28 kWh from 6 kWp)."""
WINTER_DAY: Final = date(2025, 1, 8)
"""An overcast winter weekday for benchmarks (Wednesday; 10.5 kWh from 6 kWp)."""
_CALIBRATION_DAYS: Final = tuple(range(4, 366, 15))
"""Days of the year sampled to calibrate the load to the annual consumption (25 days)."""

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class HouseConfig:
    """The house: yearly consumption (kWh), occupants (1-5), PV peak power (kWp), orientation.

    ``tilt`` and ``azimuth`` in degrees (azimuth 180 = south); ``phases`` of the house supply (1 or
    3); ``seed`` fixes the stochastic load. Raises ValueError for values out of range.
    """

    annual_kwh: float = 4000.0
    occupants: int = 3
    kwp: float = 6.0
    tilt: float = 30.0
    azimuth: float = 180.0
    phases: int = 3
    seed: int = 1

    def __post_init__(self) -> None:
        """Check ranges."""
        if not 100 <= self.annual_kwh <= 100_000:
            raise ValueError(f"annual_kwh must be 100-100000, got {self.annual_kwh!r}")
        if self.occupants not in range(1, 6):
            raise ValueError(f"occupants must be 1-5 (richardsonpy's model), got {self.occupants!r}")
        if not 0 <= self.kwp <= 100:
            raise ValueError(f"kwp must be 0-100, got {self.kwp!r}")
        if self.phases not in (1, 3):
            raise ValueError(f"phases must be 1 or 3, got {self.phases!r}")


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One grid-meter reading. W and A; positive = import from the grid, negative = export.

    ``phase_currents`` are L1-L3 (A); ``current_a`` is the highest of them; ``house_w``, ``pv_w``
    and ``chargers_w`` are the parts of ``power_w``.
    """

    time: datetime
    power_w: float
    current_a: float
    phase_currents: tuple[float, float, float]
    house_w: float
    pv_w: float
    chargers_w: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the meter file's content)."""
        return {
            "time": self.time.isoformat(),
            "power_w": round(self.power_w, 1),
            "current_a": round(self.current_a, 2),
            "l1_a": round(self.phase_currents[0], 2),
            "l2_a": round(self.phase_currents[1], 2),
            "l3_a": round(self.phase_currents[2], 2),
            "house_w": round(self.house_w, 1),
            "pv_w": round(self.pv_w, 1),
            "chargers_w": round(self.chargers_w, 1),
        }


def _tmy_day_of_year(day: date) -> int:
    """1-365 index into the (non-leap) TMY year for ``day``."""
    if day.month == 2 and day.day == 29:
        day = day.replace(day=28)
    return date(2025, day.month, day.day).timetuple().tm_yday


@functools.cache
def _tmy() -> tuple[Any, dict[str, Any]]:
    import pvlib  # type: ignore[import-untyped]  # noqa: PLC0415  (heavy import, only when the house is used)
    from pvlib.iotools import read_tmy3  # type: ignore[import-untyped]  # noqa: PLC0415

    path = Path(pvlib.__file__).parent / "data" / TMY_FILE
    data, meta = read_tmy3(str(path), map_variables=True)
    return data, meta


def tmy_minutes(day: date) -> dict[str, FloatArray]:
    """1-minute weather of ``day`` from pvlib's TMY3 file: ghi, dni, dhi (W/m²), temp_air (°C), wind_speed.

    Hour-ending hourly values are placed at mid-hour and linearly interpolated; minute ``m`` is
    centred at ``m + 0.5`` min.
    """
    data, _meta = _tmy()
    doy = _tmy_day_of_year(day)
    rows = data.iloc[(doy - 1) * 24 : doy * 24]
    hours = np.arange(24) + 0.5
    minutes = (np.arange(MINUTES_PER_DAY) + 0.5) / 60.0
    return {
        key: np.interp(minutes, hours, rows[key].to_numpy(dtype=float))
        for key in ("ghi", "dni", "dhi", "temp_air", "wind_speed")
    }


def pv_ac_minutes(day: date, kwp: float, tilt: float = 30.0, azimuth: float = 180.0) -> FloatArray:
    """1-minute AC power (W, >= 0) of a ``kwp`` kWp system on ``day``, from pvlib's ModelChain."""
    if kwp <= 0:
        return np.zeros(MINUTES_PER_DAY)
    import pandas as pd  # type: ignore[import-untyped]  # noqa: PLC0415
    from pvlib.location import Location  # type: ignore[import-untyped]  # noqa: PLC0415
    from pvlib.modelchain import ModelChain  # type: ignore[import-untyped]  # noqa: PLC0415
    from pvlib.pvsystem import PVSystem  # type: ignore[import-untyped]  # noqa: PLC0415
    from pvlib.temperature import TEMPERATURE_MODEL_PARAMETERS  # type: ignore[import-untyped]  # noqa: PLC0415

    _data, meta = _tmy()
    tz = f"Etc/GMT{-int(meta['TZ']):+d}"
    weather = tmy_minutes(day)
    index = pd.date_range(
        start=pd.Timestamp(day.year, day.month, day.day, tz=tz), periods=MINUTES_PER_DAY, freq="1min"
    ) + pd.Timedelta(seconds=30)
    location = Location(meta["latitude"], meta["longitude"], tz=tz, altitude=meta["altitude"])
    system = PVSystem(
        surface_tilt=tilt,
        surface_azimuth=azimuth,
        module_parameters={"pdc0": kwp * 1000.0, "gamma_pdc": -0.004},
        inverter_parameters={"pdc0": kwp * 1000.0},
        temperature_model_parameters=TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"],
    )
    chain = ModelChain(
        system, location, aoi_model="physical", spectral_model="no_loss", losses_model="pvwatts"
    )
    with warnings.catch_warnings():
        # pvlib 0.16 still uses pandas APIs that pandas 3 deprecates (DatetimeIndex.dayofyear ...).
        warnings.simplefilter("ignore", DeprecationWarning)
        chain.run_model(pd.DataFrame(weather, index=index))
    ac = chain.results.ac.to_numpy(dtype=float)
    clipped: FloatArray = np.clip(np.nan_to_num(ac, nan=0.0), 0.0, None)
    return clipped


class _Richardson:
    """richardsonpy's appliance and lighting models for one household (seeded)."""

    def __init__(self, occupants: int, appliance_kwh: float, seed: int) -> None:
        import richardsonpy  # type: ignore[import-untyped]  # noqa: PLC0415
        from richardsonpy.classes import appliance, lighting  # type: ignore[import-untyped]  # noqa: PLC0415
        from richardsonpy.classes.stochastic_el_load_wrapper import ElectricityProfile  # type: ignore[import-untyped]  # noqa: PLC0415

        inputs = Path(richardsonpy.__file__).parent / "inputs"
        self.occupants = occupants
        self.seed = seed
        with _seeded(seed):
            apps = appliance.Appliances(
                str(inputs / "Appliances.csv"),
                annual_consumption=appliance_kwh,
                randomize_appliances=True,
                prev_heat_dev=True,
            )
            lights = lighting.load_lighting_profile(filename=str(inputs / "LightBulbs.csv"), index=0)
        self.wrapper = ElectricityProfile(apps, lights)

    def day(self, day: date, ghi: FloatArray) -> FloatArray:
        """1-minute household load (W) on ``day``; ``ghi`` lights the house (W/m², 1440 values)."""
        from richardsonpy.classes.occupancy import Occupancy  # type: ignore[import-untyped]  # noqa: PLC0415

        with _seeded(self.seed * 100_003 + day.toordinal()):
            occupancy = Occupancy(number_occupants=self.occupants, initial_day=day.weekday() + 1, nb_days=1)
            total, _light, _app = self.wrapper.power_sim(
                irradiation=ghi,
                weekend=day.weekday() >= 5,
                day=_tmy_day_of_year(day),
                occupancy=occupancy.occupancy,
            )
        return np.asarray(total, dtype=float)

    def annual_estimate(self) -> float:
        """kWh/a estimated from the calibration sample days."""
        energies = []
        for doy in _CALIBRATION_DAYS:
            day = date(2025, 1, 1) + timedelta(days=doy - 1)
            energies.append(float(self.day(day, tmy_minutes(day)["ghi"]).sum()) / 60_000.0)
        return float(np.mean(energies)) * 365.0


class _seeded:
    """Context manager: run with ``random`` seeded, restore the global state afterwards."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.state: Any = None

    def __enter__(self) -> None:
        self.state = random.getstate()
        random.seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        random.setstate(self.state)


@functools.cache
def _calibrated(occupants: int, annual_kwh: float, seed: int) -> tuple[_Richardson, float]:
    """Return the richardsonpy model whose expected year is ``annual_kwh``, and the final scale factor."""
    x0 = 0.91 * annual_kwh  # richardsonpy's own split: 9 % lighting
    y0 = _Richardson(occupants, x0, seed).annual_estimate()
    x1 = max(50.0, x0 * annual_kwh / y0)
    model = _Richardson(occupants, x1, seed)
    y1 = model.annual_estimate()
    for _ in range(2):
        if abs(y1 - annual_kwh) < 0.03 * annual_kwh:
            break
        x2 = x1 * annual_kwh / y1 if y1 == y0 else x1 + (annual_kwh - y1) * (x1 - x0) / (y1 - y0)
        x0, y0, x1 = x1, y1, max(50.0, x2)
        model = _Richardson(occupants, x1, seed)
        y1 = model.annual_estimate()
    return model, annual_kwh / y1


class HouseModel:
    """Household load and PV of one house, per day, cached.

    ``load_minutes(day)`` / ``pv_minutes(day)``: 1440 values in W. ``sample(moment)``: (load W, PV W)
    at a local-time ``datetime``. ``meter(moment, charger_currents)``: the grid meter. The first use
    calibrates the load model (about 2-3 s, cached per (occupants, annual_kwh, seed)).
    """

    def __init__(self, config: HouseConfig | None = None) -> None:
        """Build the model for ``config`` (defaults: 4000 kWh/a, 3 occupants, 6 kWp)."""
        self.config = config or HouseConfig()
        self._load: dict[date, FloatArray] = {}
        self._pv: dict[date, FloatArray] = {}

    def load_minutes(self, day: date) -> FloatArray:
        """Household load of ``day`` (W, 1440 one-minute values)."""
        if day not in self._load:
            cfg = self.config
            model, scale = _calibrated(cfg.occupants, float(cfg.annual_kwh), cfg.seed)
            self._load[day] = model.day(day, tmy_minutes(day)["ghi"]) * scale
        return self._load[day]

    def pv_minutes(self, day: date) -> FloatArray:
        """PV AC power of ``day`` (W, 1440 one-minute values)."""
        if day not in self._pv:
            cfg = self.config
            self._pv[day] = pv_ac_minutes(day, cfg.kwp, cfg.tilt, cfg.azimuth)
        return self._pv[day]

    def sample(self, moment: datetime) -> tuple[float, float]:
        """(household load W, PV W) at ``moment`` (local standard time of the site)."""
        day = moment.date()
        minute = moment.hour * 60 + moment.minute
        return float(self.load_minutes(day)[minute]), float(self.pv_minutes(day)[minute])

    def day_series(self, day: date, resolution: float = 1.0) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(seconds since midnight, load W, PV W) for ``day`` every ``resolution`` s (>= 1, divides 60 or a multiple)."""
        if resolution <= 0:
            raise ValueError(f"resolution must be > 0 s, got {resolution!r}")
        seconds = np.arange(0.0, 86400.0, resolution)
        minute = (seconds // 60).astype(int)
        return seconds.astype(np.float64), self.load_minutes(day)[minute], self.pv_minutes(day)[minute]

    def meter(
        self, moment: datetime, charger_currents: tuple[float, float, float] = (0.0, 0.0, 0.0)
    ) -> MeterReading:
        """Return the grid meter at ``moment`` with the chargers drawing ``charger_currents`` (A on L1-L3)."""
        load, pv = self.sample(moment)
        return meter_reading(moment, load, pv, charger_currents, self.config.phases)


def meter_reading(
    moment: datetime,
    house_w: float,
    pv_w: float,
    charger_currents: tuple[float, float, float],
    phases: int = 3,
) -> MeterReading:
    """Combine household load, PV and the chargers' phase currents into a `MeterReading`."""
    per_phase = [0.0, 0.0, 0.0]
    for k in range(phases):
        per_phase[k] += (house_w - pv_w) / phases / VOLTAGE
    currents = tuple(per_phase[k] + charger_currents[k] for k in range(3))
    chargers_w = sum(charger_currents) * VOLTAGE
    return MeterReading(
        time=moment,
        power_w=house_w - pv_w + chargers_w,
        current_a=max(currents),
        phase_currents=(currents[0], currents[1], currents[2]),
        house_w=house_w,
        pv_w=pv_w,
        chargers_w=chargers_w,
    )
