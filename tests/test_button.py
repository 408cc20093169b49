"""Buttons: reset (5), erase RFID tags (9), connector unlock (65/114) write 1."""

from __future__ import annotations

import pytest
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN
from homeassistant.components.button import SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    enable_all_entities,
    entity_id,
    ga,
    hub_entry,
)


@pytest.mark.parametrize(
    ("key", "number"),
    [("evse_reset", 5), ("evse_erase_rfid_tags", 9), ("conn1_unlock", 65), ("conn2_unlock", 114)],
)
async def test_press_writes_one(hass: HomeAssistant, knx: KnxTestKit, key: str, number: int) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    await enable_all_entities(hass, knx, entry)
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id(hass, "button", f"CHG1_{key}")}, blocking=True
    )
    await knx.assert_write(ga(number), 1)
    await knx.assert_no_telegram()


async def test_write_while_disconnected_sends_nothing(hass: HomeAssistant, knx: KnxTestKit) -> None:
    entry = await knx.setup(hub_entry([charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)]))
    button = entity_id(hass, "button", "CHG1_conn1_unlock")
    knx.set_connected(False)
    await knx.flush()
    assert hass.states.get(button).state == "unavailable"  # type: ignore[union-attr]
    with pytest.raises(HomeAssistantError) as err:
        await entry.runtime_data.chargers["CHG1"].async_write_object(65, True)
    assert err.value.translation_key == "not_connected"
    await knx.assert_no_telegram()
