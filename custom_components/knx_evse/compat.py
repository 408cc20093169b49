"""Names that differ between the Home Assistant versions this integration supports (2026.2 on).

- ``vol``: the schema library Home Assistant's flows and services are typed with: probatio from
  2026.10 on (API-compatible with voluptuous), voluptuous before.
- ``RepairsFlowResult``: what a repair flow's step returns (``FlowResult`` before 2026.10).
- ``BinarySensorDeviceClass`` and ``ButtonDeviceClass``, which 2026.10 moved to ``const``.

mypy checks one side: the test scripts pass ``--always-true HA_2026_10`` or ``--always-false``.
"""

from __future__ import annotations

from homeassistant.const import MAJOR_VERSION, MINOR_VERSION

HA_2026_10 = (MAJOR_VERSION, MINOR_VERSION) >= (2026, 10)
"""True on Home Assistant 2026.10 and newer."""

if HA_2026_10:
    import probatio as vol
    from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
    from homeassistant.components.button.const import ButtonDeviceClass
    from homeassistant.components.repairs import RepairsFlowResult
else:
    import voluptuous as vol
    from homeassistant.components.binary_sensor import BinarySensorDeviceClass
    from homeassistant.components.button import ButtonDeviceClass
    from homeassistant.data_entry_flow import FlowResult as RepairsFlowResult

__all__ = ["HA_2026_10", "BinarySensorDeviceClass", "ButtonDeviceClass", "RepairsFlowResult", "vol"]
