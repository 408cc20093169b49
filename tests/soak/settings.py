"""The soak's settings (environment variables set by scripts/soak.py) and the demo installation's names.

``SOAK_HOURS`` (simulated hours; 0 skips the soak), ``SOAK_SEED`` (fault schedule and EV jitter),
``SOAK_STEP`` (simulated seconds per lock step), ``SOAK_FAULT_RATE`` (faults of each kind per
simulated hour, at least one of each), ``SOAK_REPORT`` (write the figures there as JSON),
``SOAK_TRACE`` (below), ``SOAK_CONNECTION`` (below).
"""

from __future__ import annotations

import os

HOURS = float(os.environ.get("SOAK_HOURS", "0") or 0)
SEED = int(os.environ.get("SOAK_SEED", "1"))
STEP = float(os.environ.get("SOAK_STEP", "1"))
FAULT_RATE = float(os.environ.get("SOAK_FAULT_RATE", "0.5"))
REPORT = os.environ.get("SOAK_REPORT")
TRACE = tuple(float(x) for x in (os.environ.get("SOAK_TRACE") or "-1--1").split("-", 1)) if os.environ.get("SOAK_TRACE") else (1.0, 0.0)
"""``SOAK_TRACE=from-to``: simulated seconds during which every step prints a line (debugging)."""
CONNECTION = os.environ.get("SOAK_CONNECTION") or "tunnel"
"""``SOAK_CONNECTION``: the hub's connection, ``tunnel`` (its own tunnel to knxd, the default) or
``core_knx`` (Home Assistant's KNX integration tunnels to knxd and the hub uses its connection)."""
TRACE_ENERGY = bool(os.environ.get("SOAK_TRACE_ENERGY"))
"""``SOAK_TRACE_ENERGY=1``: each connector's true and lifetime energy once a simulated minute."""

METER_ENTITY = "sensor.grid_power"
PHASE_METER_ENTITIES = ("sensor.grid_l1_current", "sensor.grid_l2_current", "sensor.grid_l3_current")
"""The group's meter (the demo installation): the supply's currents per phase, as the flow recommends."""
PRICE_ENTITY = "input_number.energy_price"
"""The House group's price entity (demo.yaml): the demo's slider, here set to its initial value."""
PRICE_STATE = ("0.3", {"unit_of_measurement": "EUR/kWh"})
GROUP_ID = "house"
SUBENTRY_IDS = {"Garage": "garage", "Carport": "carport"}
MODES = {"Carport": "fast", "Garage connector 1": "solar", "Garage connector 2": "min_solar"}
"""Charge mode per member, set through the service after every start: solar for the Leaf at home in
the day, Min+Solar and Fast for the evening cars. The group's stored data says Fast for all, so a
mode that is not restored after a reload or a restart shows."""
STORED_MODE = "fast"
