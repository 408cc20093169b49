"""Simulation runner: EV schedule, meter outputs, time compression, and the command line."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from simhelpers import Capture

from simulator.charger import ConnectorState
from simulator.house import HouseConfig, HouseModel
from simulator.installation import load_installation, parse_installation
from simulator.runner import ScheduledEv, SimulatedMeter, Simulation

ROOT = Path(__file__).resolve().parents[2]


class FlatHouse(HouseModel):
    """Constant load and PV, so runner tests need no profile generation."""

    def __init__(self, load_w: float = 500.0, pv_w: float = 0.0) -> None:
        super().__init__(HouseConfig())
        self.load_w = load_w
        self.pv_w = pv_w

    def load_minutes(self, day: date) -> np.ndarray:
        return np.full(1440, self.load_w)

    def pv_minutes(self, day: date) -> np.ndarray:
        return np.full(1440, self.pv_w)


def demo(**kwargs: object) -> Simulation:
    return Simulation(load_installation("demo"), house=FlatHouse(), **kwargs)  # type: ignore[arg-type]


def test_cars_due_at_the_start_are_plugged_in() -> None:
    sim = demo()
    sim.start()
    carport = sim.chargers["Carport"]
    assert carport.connector(1).ev is not None and carport.connector(1).ev.name == "Zoe"
    assert carport.connector(2).ev is not None  # ID.3 on a weekday (2025-06-19 is a Thursday)
    assert sim.chargers["Garage"].connector(1).ev is None  # the Leaf comes at 09:00
    sim.step(60)
    assert carport.connector_state(carport.connector(1)) is ConnectorState.CHARGING


def test_a_day_of_arrivals_and_departures() -> None:
    sim = demo(max_substep=10.0)
    sim.step(24 * 3600)
    text = "\n".join(sim.events)
    assert "Zoe left Carport c1" in text
    assert "Leaf plugged into Garage c1" in text
    assert "Leaf left Garage c1" in text
    assert "e-Golf plugged into Garage c2" in text
    garage = sim.chargers["Garage"]
    assert garage.connector(1).rfid_tag == "CARD-0001"  # kept with the session values
    assert garage.connector(1).session_energy > 5000  # the Leaf charged during the day


def test_rfid_car_starts_with_its_tag() -> None:
    sim = demo(start=datetime(2025, 6, 19, 12, 0))
    sim.start()
    conn = sim.chargers["Garage"].connector(1)
    assert conn.ev is not None
    assert conn.session_active
    assert conn.rfid_tag == "CARD-0001"


def test_locked_connector_keeps_the_car_until_unlock_or_timeout() -> None:
    data = {
        "start": "2025-06-19T07:00:00",
        "chargers": [
            {"name": "A", "model": "VE 741", "parameters": {"auto_disconnect": False, "auto_start": True}}
        ],
        "evs": [{"name": "car", "charger": "A", "arrive": "06:00", "depart": "07:10", "jitter_minutes": 0}],
    }
    sim = Simulation(parse_installation(data), house=FlatHouse())
    sim.step(11 * 60)
    charger = sim.chargers["A"]
    assert charger.connector(1).ev is not None  # due to leave at 07:10, but locked
    assert charger.connector(1).finished
    sim.step(30 * 60)
    assert charger.connector(1).ev is None
    assert "unplugged by force" in sim.events[-1]


def test_visits_are_deterministic_and_skip_other_weekdays() -> None:
    plan = load_installation("demo").evs[1]  # ID.3: weekdays only
    sev = ScheduledEv(plan, seed=0)
    assert sev.visit_on(datetime(2025, 6, 21)) is None  # Saturday
    visit = sev.visit_on(datetime(2025, 6, 19))
    assert visit is not None
    assert visit.depart.date() == date(2025, 6, 20)
    assert abs((visit.arrive - datetime(2025, 6, 19, 18, 15)).total_seconds()) <= plan.jitter_minutes * 60
    assert ScheduledEv(plan, seed=0).visit_on(datetime(2025, 6, 19)) == visit
    assert ScheduledEv(plan, seed=1).visit_on(datetime(2025, 6, 19)) != visit


def test_meter_file_holds_the_latest_reading(tmp_path: Path) -> None:
    file = tmp_path / "meter.json"
    sim = demo(meter_file=file, meter_file_min_interval=0.0)
    sim.step(10)
    data = json.loads(file.read_text())
    assert set(data) >= {
        "time",
        "power_w",
        "current_a",
        "l1_a",
        "l2_a",
        "l3_a",
        "house_w",
        "pv_w",
        "chargers_w",
    }
    assert data["time"] == sim.now.isoformat()
    assert data["chargers_w"] > 0  # Zoe and ID.3 charge at 06:45
    assert data["power_w"] == pytest.approx(500.0 + data["chargers_w"], abs=0.2)
    assert list(tmp_path.iterdir()) == [file]  # no temporary file left behind


def test_knx_meter_sends_and_answers_reads() -> None:
    installation = load_installation("demo")
    cap = Capture()
    meter = SimulatedMeter(installation.meter, send=cap)
    sim = Simulation(installation, house=FlatHouse(load_w=2300.0, pv_w=0.0))
    sim.meter = meter
    sim.step(4)
    power = cap.on("0/1/2", 131)
    current = cap.on("0/1/1", 130)
    assert len(power) == 3  # at start, 2 s and 4 s
    assert power[-1] == pytest.approx(sim.reading.power_w, abs=0.01)
    assert current[-1] == pytest.approx(sim.reading.current_a, abs=0.01)


async def test_run_compresses_time_and_stops_on_the_event() -> None:
    sim = demo(speed=600.0, tick=0.02)
    stop = asyncio.Event()
    lines: list[str] = []
    task = asyncio.create_task(sim.run(stop=stop, on_status=lines.append, status_every=0.1))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert 150 < sim.elapsed < 600  # about 0.5 s x 600
    assert lines and lines[0].startswith("2025-06-19 06:45")
    assert "Carport: c1 charging" in lines[-1]


async def test_run_for_a_duration() -> None:
    sim = demo(speed=10.0, tick=0.02)
    await asyncio.wait_for(sim.run(0.2), 5)
    assert 1.0 < sim.elapsed < 4.0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "simulator", *args]


def test_cli_prints_subentries() -> None:
    out = subprocess.run(
        _cli("subentries", "--installation", "demo"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(out.stdout)
    assert [c["name"] for c in data["chargers"]] == ["Garage", "Carport"]
    assert data["meter"]["current_ga"] == "0/1/1"


def test_cli_bad_installation_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("chargers: []\n")
    out = subprocess.run(
        _cli("run", "--installation", str(bad), "--no-bus"),
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "at least one charger" in out.stderr


def test_cli_runs_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    meter = tmp_path / "meter.json"
    proc = subprocess.Popen(
        _cli(
            "run",
            "--installation",
            "demo",
            "--no-bus",
            "--speed",
            "60",
            "--status-every",
            "0.5",
            "--meter-file",
            str(meter),
        ),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("2025-06-19"):
                break
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "simulator: stopped" in stdout
    assert json.loads(meter.read_text())["power_w"] != 0
