"""House: real stochastic load (richardsonpy), real PV (pvlib TMY + ModelChain), the grid meter."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest

from simulator.house import (
    SUMMER_DAY,
    WINTER_DAY,
    HouseConfig,
    HouseModel,
    _calibrated,
    meter_reading,
    pv_ac_minutes,
    tmy_minutes,
)


@pytest.fixture(scope="module")
def house() -> HouseModel:
    return HouseModel(HouseConfig(annual_kwh=4000, occupants=3, kwp=6, seed=1))


def test_pv_comes_from_the_tmy_and_scales_with_kwp() -> None:
    weather = tmy_minutes(SUMMER_DAY)
    assert set(weather) == {"ghi", "dni", "dhi", "temp_air", "wind_speed"}
    assert weather["ghi"].shape == (1440,)
    assert weather["ghi"][:180].max() == 0.0  # no sun before 03:00
    pv6 = pv_ac_minutes(SUMMER_DAY, 6.0)
    pv3 = pv_ac_minutes(SUMMER_DAY, 3.0)
    assert pv6.shape == (1440,)
    assert pv6[:240].max() == 0.0 and pv6[-180:].max() == 0.0  # night
    assert 2000 < pv6.max() <= 6000  # never above the inverter's rating
    assert pv6.sum() / 60_000 == pytest.approx(2 * pv3.sum() / 60_000, rel=0.02)
    assert pv_ac_minutes(SUMMER_DAY, 0.0).max() == 0.0


def test_summer_day_yields_more_than_winter_day() -> None:
    summer = pv_ac_minutes(SUMMER_DAY, 6.0).sum() / 60_000
    winter = pv_ac_minutes(WINTER_DAY, 6.0).sum() / 60_000
    assert summer > 2 * winter
    assert 15 < summer < 45  # kWh from 6 kWp on a sunny June day


def test_load_is_calibrated_to_the_yearly_consumption() -> None:
    model, scale = _calibrated(3, 4000.0, 1)
    assert 0.85 < scale < 1.15  # richardsonpy's own calibration was corrected by cycle counts
    assert model.annual_estimate() * scale == pytest.approx(4000.0, rel=1e-6)


def test_load_has_real_spikes_and_is_deterministic(house: HouseModel) -> None:
    load = house.load_minutes(WINTER_DAY)
    assert load.shape == (1440,)
    assert load.min() > 0  # standby and cold appliances
    assert load.max() > 1500  # kettles, ovens, washing machines
    assert np.median(load) < 600
    again = HouseModel(HouseConfig(annual_kwh=4000, occupants=3, kwp=6, seed=1)).load_minutes(WINTER_DAY)
    assert np.array_equal(load, again)
    other = HouseModel(HouseConfig(annual_kwh=4000, occupants=3, kwp=6, seed=2)).load_minutes(WINTER_DAY)
    assert not np.array_equal(load, other)


def test_day_series_at_one_second(house: HouseModel) -> None:
    seconds, load, pv = house.day_series(SUMMER_DAY, 1.0)
    assert seconds.shape == load.shape == pv.shape == (86400,)
    assert len(set(load[60 * 600 : 60 * 601].tolist())) == 1  # held within the minute
    assert pv[12 * 3600] == pytest.approx(house.pv_minutes(SUMMER_DAY)[720])


def test_meter_is_negative_while_exporting(house: HouseModel) -> None:
    noon = datetime.combine(SUMMER_DAY, datetime.min.time()).replace(hour=13)
    load, pv = house.sample(noon)
    assert pv > load
    reading = house.meter(noon)
    assert reading.power_w == pytest.approx(load - pv)
    assert reading.power_w < 0 and reading.current_a < 0
    charging = house.meter(noon, (32.0, 0.0, 0.0))
    assert charging.power_w == pytest.approx(load - pv + 32 * 230)
    assert charging.current_a == pytest.approx(32.0 + (load - pv) / 3 / 230)
    assert charging.phase_currents[1] < 0


def test_single_phase_house_puts_everything_on_l1() -> None:
    reading = meter_reading(datetime(2025, 1, 8, 18), 2300.0, 0.0, (10.0, 0.0, 0.0), phases=1)
    assert reading.phase_currents == pytest.approx((20.0, 0.0, 0.0))
    assert reading.current_a == pytest.approx(20.0)
    assert reading.as_dict()["power_w"] == 4600.0


def test_leap_day_uses_28_february() -> None:
    assert np.array_equal(tmy_minutes(date(2024, 2, 29))["ghi"], tmy_minutes(date(2025, 2, 28))["ghi"])


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError):
        HouseConfig(occupants=6)
    with pytest.raises(ValueError):
        HouseConfig(phases=2)
