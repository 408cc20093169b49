"""Diagnostics of a hub and of its devices: content, balancing groups, and redaction of every secret."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.knx_evse.balancing import Decision
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DOMAIN,
)
from tests.knx_harness import (
    SINGLE_PHASE_FULL,
    KnxTestKit,
    charger_subentry,
    ga,
    hub_entry,
    registered_device,
)

pytestmark = pytest.mark.usefixtures("no_unanswered_reads_check")

SECRETS = {
    CONF_KNX_SECURE_USER_PASSWORD: "UserPw-7c1e",
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "DevAuth-93fa",
    CONF_KNX_KNXKEY_PASSWORD: "KeyringPw-55d0",
    CONF_KNX_ROUTING_BACKBONE_KEY: "cafebabe00112233445566778899aabb",
}
RFID_TAGS = ("TAGSTART-0001", "TAGSTART-0002", "TAGADD-0003")


def secure_hub(*subentries: Any) -> Any:
    return hub_entry(
        subentries,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_HOST: "192.168.1.10",
            CONF_PORT: 3671,
            CONF_KNX_SECURE_USER_ID: 4,
            CONF_KNX_KNXKEY_FILENAME: "knx_evse/site.knxkeys",
            **SECRETS,
        },
    )


def text(tag: str) -> tuple[int, ...]:
    return tuple(tag.encode("latin-1").ljust(14, b"\0"))


@dataclass
class Group:
    """A balancing-group runtime as the balancing engineer may expose it (attributes only)."""

    recent_decisions: list[Decision]
    last_decision: Decision | None = None


class GroupWithDiagnostics:
    """A balancing-group runtime with its own ``diagnostics()``."""

    def diagnostics(self) -> dict[str, Any]:
        return {
            "members": ["CHG1"],
            "decisions": [{"limits": (6.0, 16.0)}],
            "password": "GroupPw-1",
            "since": datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
            "meter": Path("sensor.grid"),
        }


def decision(limit: float, reason: str) -> Decision:
    return Decision(
        limits=(limit,),
        paused=(limit == 0,),
        available=20.0,
        surplus=None,
        reason=(reason,),
        fallback=False,
        meter_state="ok",
        writes=(0,),
        switches=(),
    )


async def test_entry_diagnostics_show_connection_chargers_values_and_redact_secrets(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, knx: KnxTestKit, freezer: FrozenDateTimeFactory
) -> None:
    bad = charger_subentry("BAD", "Broken", {"phases": 1, "connectors": 1}, {"80": ["3/0/80"]}, main=3)
    entry = await knx.setup(secure_hub(charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL), bad))
    await knx.receive_write(ga(13), (0x45, 0x3B, 0x80, 0x00))  # 3000 W
    await knx.receive_write(ga(19), (7,))
    await knx.receive_write(ga(67), text(RFID_TAGS[0]))
    await knx.receive_write(ga(116), text(RFID_TAGS[1]))
    await entry.runtime_data.chargers["CHG1"].async_add_rfid_tag(RFID_TAGS[2])
    await knx.assert_write(ga(8), text(RFID_TAGS[2]))
    entry.runtime_data.groups["GRP1"] = Group([decision(6.0, "fast"), decision(0.0, "paused_priority")])
    freezer.tick(42)
    await knx.receive_write(ga(19), (7,))  # one value fresh, the power 42 s old

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    dumped = json.dumps(diagnostics)
    for secret in (*SECRETS.values(), *RFID_TAGS):
        assert secret not in dumped, secret
    assert diagnostics["entry"]["data"][CONF_KNX_SECURE_USER_PASSWORD] == "**REDACTED**"
    assert diagnostics["entry"]["data"][CONF_KNX_SECURE_USER_ID] == 4  # not a secret

    connection = diagnostics["connection"]
    assert connection["type"] == CONF_KNX_TUNNELING_TCP_SECURE
    assert connection["connected"] is True
    assert connection["telegrams_received"] >= 4

    charger = diagnostics["chargers"]["CHG1"]
    assert charger["name"] == "Garage" and charger["connectors"] == [1, 2]
    assert charger["is_stale"] is False and charger["available"] is True
    assert charger["last_heard_s"] < 1  # the error code just arrived
    assert charger["silence_limit_s"] == entry.runtime_data.chargers["CHG1"].silence_limit
    power = charger["objects"]["13"]
    assert power["group_addresses"] == [ga(13)]
    assert power["value"] == 3000.0 and power["source"] == "bus"
    assert power["age_s"] == pytest.approx(42, abs=1)
    assert charger["objects"]["19"]["age_s"] < 1
    assert charger["objects"]["19"]["value"] == "no_error"
    assert charger["objects"]["67"]["value"] == "**REDACTED**"
    assert charger["objects"]["8"]["value"] == "**REDACTED**" and charger["objects"]["8"]["source"] == "written"
    assert charger["objects"]["3"] == {
        "name": "[EVSE] Current limit Status",
        "dpt": "14.019",
        "group_addresses": [ga(3)],
        "value": None,
    }
    assert charger["counters"]["telegrams_decoded"] >= 4 and charger["counters"]["telegrams_sent"] == 1
    assert charger["read_plan"][:2] == [3, 4]
    assert charger["parameters"]["max_user_current"] == 16

    group = diagnostics["groups"]["GRP1"]
    assert [d["reason"] for d in group["recent_decisions"]] == [["fast"], ["paused_priority"]]
    assert group["recent_decisions"][0]["limits"] == [6.0]
    assert "last_decision" not in group
    assert diagnostics["subentries_not_loaded"]["BAD"]["title"] == "Broken"


async def test_charger_diagnostics_show_a_stale_charger_and_how_long_it_is_silent(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, knx: KnxTestKit
) -> None:
    entry = await knx.setup(secure_hub(charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)))
    coordinator = entry.runtime_data.chargers["CHG1"]
    coordinator.last_heard -= 75  # silent for 75 s (no clock jump: the idle probe stays quiet)
    coordinator._stale = True  # what the liveness check sets after an unanswered read (tests/faults/test_stale.py)

    charger = (await get_diagnostics_for_config_entry(hass, hass_client, entry))["chargers"]["CHG1"]
    assert charger["is_stale"] is True and charger["available"] is False
    assert charger["last_heard_s"] == pytest.approx(75, abs=1)


async def test_group_with_own_diagnostics_is_redacted(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, knx: KnxTestKit
) -> None:
    entry = await knx.setup(hub_entry([]))
    entry.runtime_data.groups["GRP1"] = GroupWithDiagnostics()
    entry.runtime_data.groups["GRP2"] = object()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert "GroupPw-1" not in json.dumps(diagnostics)
    assert diagnostics["groups"]["GRP1"]["decisions"] == [{"limits": [6.0, 16.0]}]
    assert diagnostics["groups"]["GRP1"]["since"] == "2026-06-01T12:00:00+00:00"
    assert diagnostics["groups"]["GRP1"]["meter"] == "sensor.grid"  # anything else as text
    assert diagnostics["groups"]["GRP2"] == {"runtime": "object"}
    assert diagnostics["chargers"] == {}
    entry.runtime_data.groups.clear()  # stand-ins, not groups: nothing to stop at unload


async def test_device_diagnostics_of_connector_charger_and_group(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, knx: KnxTestKit
) -> None:
    entry = await knx.setup(secure_hub(charger_subentry("CHG1", "Garage", SINGLE_PHASE_FULL)))
    await knx.receive_write(ga(67), text(RFID_TAGS[0]))
    devices = dr.async_get(hass)
    connector = registered_device(hass, "CHG1_connector_2")
    charger = registered_device(hass, "CHG1")
    assert connector is not None and charger is not None

    result = await get_diagnostics_for_device(hass, hass_client, entry, connector)
    assert result["connector"] == 2 and result["charger"]["name"] == "Garage"
    assert result["connection"]["connected"] is True
    assert RFID_TAGS[0] not in json.dumps(result)
    result = await get_diagnostics_for_device(hass, hass_client, entry, charger)
    assert result["connector"] is None and "objects" in result["charger"]

    entry.runtime_data.groups["GRP1"] = Group([], last_decision=decision(10.0, "solar"))
    group_device = devices.async_get_or_create(config_entry_id=entry.entry_id, identifiers={(DOMAIN, "GRP1")})
    result = await get_diagnostics_for_device(hass, hass_client, entry, group_device)
    assert result["group"]["last_decision"]["reason"] == ["solar"]
    assert result["group"]["recent_decisions"] == []

    class LatestOnly:
        """A runtime that keeps only its latest decision, as ``decision``."""

        decision = decision(8.0, "solar")

    entry.runtime_data.groups["GRP1"] = LatestOnly()
    result = await get_diagnostics_for_device(hass, hass_client, entry, group_device)
    assert result["group"] == {"runtime": "LatestOnly", "last_decision": {**result["group"]["last_decision"]}}
    assert result["group"]["last_decision"]["limits"] == [8.0]

    other = devices.async_get_or_create(config_entry_id=entry.entry_id, identifiers={(DOMAIN, "elsewhere")})
    result = await get_diagnostics_for_device(hass, hass_client, entry, other)
    assert set(result) == {"connection"}
    entry.runtime_data.groups.clear()  # stand-ins, not groups: nothing to stop at unload
