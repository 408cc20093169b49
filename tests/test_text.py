"""Text: add an RFID tag (object 8, 14 ISO 8859-1 characters)."""

from __future__ import annotations

import pytest
from homeassistant.components.text import ATTR_MAX, ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.components.text import DOMAIN as TEXT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    enable_all_entities,
    entity_id,
    ga,
    hub_entry,
)


async def _set(hass: HomeAssistant, entity: str, value: str) -> None:
    await hass.services.async_call(
        TEXT_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: entity, ATTR_VALUE: value}, blocking=True
    )


@pytest.fixture
async def rfid(hass: HomeAssistant, knx: KnxTestKit) -> str:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await enable_all_entities(hass, knx, entry)
    return entity_id(hass, "text", "CHG1_evse_add_rfid_tag")


async def test_add_tag_writes_14_latin1_bytes(hass: HomeAssistant, knx: KnxTestKit, rfid: str) -> None:
    assert hass.states.get(rfid).attributes[ATTR_MAX] == 14  # type: ignore[union-attr]
    await _set(hass, rfid, "04A1B2C3")
    await knx.assert_write(ga(8), (0x30, 0x34, 0x41, 0x31, 0x42, 0x32, 0x43, 0x33, 0, 0, 0, 0, 0, 0))
    assert hass.states.get(rfid).state == "04A1B2C3"  # type: ignore[union-attr]
    await _set(hass, rfid, "Müller-1234567")  # 14 characters, ü is ISO 8859-1 0xFC
    await knx.assert_write(ga(8), tuple(b"M\xfcller-1234567"))


async def test_too_long_or_not_latin1_sends_nothing(hass: HomeAssistant, knx: KnxTestKit, rfid: str) -> None:
    # Home Assistant refuses a value over the entity's maximum of 14 characters before it reaches
    # us: a ValueError up to 2026.10, a translated ServiceValidationError ("value_too_long") since.
    with pytest.raises((ValueError, ServiceValidationError)) as too_long:
        await _set(hass, rfid, "ABCDEFGHIJKLMNO")
    assert "too long" in str(too_long.value) or getattr(too_long.value, "translation_key", "") == "value_too_long"
    with pytest.raises(ServiceValidationError) as err:
        await _set(hass, rfid, "tag€")
    assert err.value.translation_key == "rfid_invalid"
    coordinator = hass.config_entries.async_entries("knx_evse")[0].runtime_data.chargers["CHG1"]
    for bad in ("", "ABCDEFGHIJKLMNO", 1234):
        with pytest.raises(ServiceValidationError):
            await coordinator.async_add_rfid_tag(bad)
    await knx.assert_no_telegram()
    assert hass.states.get(rfid).state == "unknown"  # type: ignore[union-attr]
