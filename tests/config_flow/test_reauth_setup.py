"""Rejected KNX Secure credentials at set-up start Home Assistant's reauthentication flow.

The hub's set-up raises ``ConfigEntryAuthFailed`` when the stored keyring no longer decrypts (or is
gone) and when the interface rejects the secure session (xknx's ``IPSecureError`` inside the
``CommunicationError`` of the tunnel); every other connection error is retried. The reauthentication
is then completed through the flow manager on the faked KNX interface, which the flow's real
connection test uses too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx.exceptions import CommunicationError, InvalidSecureConfiguration, IPSecureError

from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DOMAIN,
)
from custom_components.knx_evse.knx.hub import knxkeys_path
from tests.config_flow.helpers import config_dir, make_knxkeys, upload
from tests.knx_harness import KnxTestKit, charger_subentry, hub_entry

__all__ = ["config_dir"]

BASIC = {"phases": 1, "connectors": 1}
SECURE_TUNNEL = {
    CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_HOST: "192.168.1.10",
    CONF_PORT: 3671,
}
CREDENTIALS = {
    CONF_KNX_SECURE_USER_ID: 2,
    CONF_KNX_SECURE_USER_PASSWORD: "old-password",
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "old-code",
}


def rejected(
    message: str = "Secure session authentication failed: SecureSessionStatusCode.STATUS_AUTHENTICATION_FAILED",
) -> CommunicationError:
    """What xknx 4 raises when the interface rejects the user password (``_Tunnel.connect``)."""
    err = CommunicationError("Tunnel connection could not be established")
    err.__cause__ = IPSecureError(message)
    return err


def secure_hub(**data: Any) -> MockConfigEntry:
    return hub_entry([charger_subentry("CHG1", "Garage", BASIC, {"13": ["1/0/13"]})], **SECURE_TUNNEL, **data)


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH and flow["context"]["entry_id"] == entry.entry_id
    ]


def our_issues(hass: HomeAssistant) -> list[str]:
    return [issue_id for (domain, issue_id) in ir.async_get(hass).issues if domain == DOMAIN]


def reauth_issue(hass: HomeAssistant, entry: MockConfigEntry) -> ir.IssueEntry | None:
    """The issue Home Assistant itself raises for a reauthentication in progress."""
    return ir.async_get(hass).async_get_issue(
        "homeassistant", f"config_entry_reauth_{DOMAIN}_{entry.entry_id}"
    )


@pytest.mark.parametrize(
    "message",
    [
        "Secure session authentication failed: SecureSessionStatusCode.STATUS_AUTHENTICATION_FAILED",
        "SessionResponse MAC verification failed.",
    ],
    ids=["user-password", "device-authentication"],
)
async def test_wrong_secure_password_at_setup_starts_reauth_and_new_credentials_load(
    hass: HomeAssistant, knx: KnxTestKit, message: str
) -> None:
    knx.start_error = rejected(message)
    entry = secure_hub(**CREDENTIALS)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None and "rejected the KNX Secure credentials" in entry.reason
    flows = reauth_flows(hass, entry)
    assert len(flows) == 1 and flows[0]["step_id"] == "reauth_confirm"
    assert reauth_issue(hass, entry) is not None
    assert our_issues(hass) == []  # no second issue of our own for the same cause

    # the new password: the flow's connection test runs on the (now accepting) faked interface
    knx.start_error = None
    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {**CREDENTIALS, CONF_KNX_SECURE_USER_PASSWORD: "new-password"}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
    await knx.flush()
    await knx.drain_reads()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_KNX_SECURE_USER_PASSWORD] == "new-password"
    assert hass.states.async_entity_ids(Platform.SENSOR)
    assert reauth_issue(hass, entry) is None
    assert reauth_flows(hass, entry) == []


def same_bytes(one: Path, other: Path) -> bool:
    return one.read_bytes() == other.read_bytes()


def damaged_keyring(hass: HomeAssistant) -> Path:
    """Store an unreadable keyring where the hub entry expects it."""
    path = Path(str(knxkeys_path(hass, "knx_evse/site.knxkeys")))
    path.parent.mkdir(parents=True)
    path.write_text("damaged")
    return path


@pytest.mark.parametrize(
    "error",
    [InvalidSecureConfiguration("keyring does not decrypt"), FileNotFoundError(2, "No such file")],
    ids=["does-not-decrypt", "file-gone"],
)
async def test_keyring_that_no_longer_decrypts_starts_reauth_with_an_upload(
    hass: HomeAssistant, knx: KnxTestKit, config_dir: Path, tmp_path: Path, error: Exception
) -> None:
    """Was the ``keyring_invalid`` repair issue; the reauthentication flow replaces it."""
    old = damaged_keyring(hass)
    knx.start_error = error
    entry = secure_hub(
        **{CONF_KNX_KNXKEY_FILENAME: "knx_evse/site.knxkeys", CONF_KNX_KNXKEY_PASSWORD: "old-password"}
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None and "no longer decrypts" in entry.reason
    assert our_issues(hass) == []
    [flow] = reauth_flows(hass, entry)

    knx.start_error = None
    keyring = make_knxkeys(tmp_path / "new.knxkeys", "new-password")
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"],
        {"knxkeys_file": await upload(hass, keyring), CONF_KNX_KNXKEY_PASSWORD: "new-password"},
    )
    assert result["reason"] == "reauth_successful"
    await knx.flush()
    await knx.drain_reads()
    assert entry.state is ConfigEntryState.LOADED
    stored = entry.data[CONF_KNX_KNXKEY_FILENAME]
    assert stored.startswith("knx_evse/") and stored != "knx_evse/site.knxkeys"
    assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == "new-password"
    assert same_bytes(Path(str(knxkeys_path(hass, stored))), keyring)
    assert not old.is_file()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, InvalidSecureConfiguration("No backbone key found in secure configuration")),
        (CREDENTIALS, CommunicationError("Tunnel connection could not be established")),
        (CREDENTIALS, rejected("KNX IP Secure sequence counter overflow.")),
        (
            {CONF_KNX_KNXKEY_FILENAME: "knx_evse/site.knxkeys", CONF_KNX_KNXKEY_PASSWORD: "pw"},
            InvalidSecureConfiguration("No free tunnelling slots found on gateway 1.0.0"),
        ),
        (
            {CONF_KNX_KNXKEY_FILENAME: "knx_evse/site.knxkeys", CONF_KNX_KNXKEY_PASSWORD: "pw"},
            OSError("unreachable"),
        ),
    ],
    ids=["secure-error-without-keyring", "refused", "other-secure-error", "keyring-no-free-slot", "os-error"],
)
async def test_other_connection_errors_retry_without_reauth(
    hass: HomeAssistant, knx: KnxTestKit, data: dict[str, Any], error: Exception
) -> None:
    knx.start_error = error
    entry = secure_hub(**data)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert reauth_flows(hass, entry) == []
    assert our_issues(hass) == []
