"""Hub reauthentication: started by a set-up that KNX Secure rejects, then the flow's own steps.

Set-up raises ``ConfigEntryAuthFailed`` when the stored keyring no longer decrypts (or is gone) and when
the interface rejects the secure session (xknx's ``IPSecureError`` inside the ``CommunicationError`` of
the tunnel); every other connection error is retried. Those tests complete the reauthentication
through the flow manager on the faked KNX interface, which the flow's real connection test uses too.

The flow's own tests (new keyring, secure tunnel credentials or backbone key; tested, then reloaded)
start it with ``MockConfigEntry.start_reauth_flow``, without a runtime (``mock_setup``) and with the
connection test faked; its real behaviour is tested in tests/config_flow/test_hub.py.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components.file_upload import _DATA as FILE_UPLOAD
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import STORAGE_DIR
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx.exceptions import CommunicationError, InvalidSecureConfiguration, IPSecureError

from custom_components.knx_evse.config_flow import hub_base
from custom_components.knx_evse.config_flow.connection_test import async_test_connection
from custom_components.knx_evse.config_flow.hub_base import CONF_KEYRING_FILE
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_MCAST_GRP,
    CONF_KNX_MCAST_PORT,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DOMAIN,
)
from custom_components.knx_evse.knx.connection import authentication_failed
from custom_components.knx_evse.knx.hub import knxkeys_path
from tests.config_flow.helpers import (
    check_translations,
    config_dir,
    hub_entry,
    make_knxkeys,
    mock_setup,
    upload,
)
from tests.knx_harness import KnxTestKit, charger_subentry
from tests.knx_harness import hub_entry as harness_hub_entry

pytestmark = pytest.mark.usefixtures("check_translations", "config_dir")
__all__ = ["check_translations", "config_dir", "mock_setup"]
FLOW = pytest.mark.usefixtures("mock_setup")
"""The flow's own tests: hub entries without a runtime."""

BACKBONE = bytes(range(16))


@pytest.fixture
def connection() -> Generator[AsyncMock]:
    """The connection test; returns None (success) unless a test sets an error key."""
    with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)) as test:
        yield test


def _stored(hass: HomeAssistant, name: str, text: str = "old keyring") -> Path:
    path = Path(hass.config.path(STORAGE_DIR, name))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _keyring_hub(hass: HomeAssistant, **data: Any) -> MockConfigEntry:
    _stored(hass, "knx_evse/old.knxkeys")
    return hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_KNX_KNXKEY_FILENAME: "knx_evse/old.knxkeys",
            CONF_KNX_KNXKEY_PASSWORD: "old",
            CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.10",
            **data,
        },
    )


def _same_bytes(one: Path, other: Path) -> bool:
    return one.read_bytes() == other.read_bytes()


def _fields(result: dict[str, Any]) -> list[str]:
    return [str(key) for key in result["data_schema"].schema]


def _defaults(result: dict[str, Any]) -> dict[str, Any]:
    return {str(key): key.default() for key in result["data_schema"].schema if callable(key.default)}


def _keyrings(hass: HomeAssistant) -> list[str]:
    return sorted(p.name for p in Path(hass.config.path(STORAGE_DIR, "knx_evse")).glob("*.knxkeys"))


async def _configure(hass: HomeAssistant, result: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)  # type: ignore[no-any-return]


# -- keyring -------------------------------------------------------------------------------------


@FLOW
async def test_keyring_reauth_errors_then_the_new_keyring_replaces_the_old(
    hass: HomeAssistant, connection: AsyncMock, mock_setup: AsyncMock, tmp_path: Path
) -> None:
    entry = _keyring_hub(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "reauth_confirm"
    assert _fields(result) == [CONF_KEYRING_FILE, CONF_KNX_KNXKEY_PASSWORD]
    assert _defaults(result) == {}  # the old password is not sent back to the browser
    assert result["description_placeholders"]["hub"] == entry.title

    keys = make_knxkeys(tmp_path / "new.knxkeys", "new")
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "typo"}
    )
    assert result["errors"] == {CONF_KNX_KNXKEY_PASSWORD: "invalid_keyfile_password"}

    expired = await upload(hass, keys)
    hass.data[FILE_UPLOAD].files.pop(expired)
    result = await _configure(hass, result, {CONF_KEYRING_FILE: expired, CONF_KNX_KNXKEY_PASSWORD: "new"})
    assert result["errors"] == {CONF_KEYRING_FILE: "invalid_keyfile"}

    connection.return_value = "invalid_secure_configuration"
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["errors"] == {"base": "invalid_secure_configuration"}
    assert len(_keyrings(hass)) == 2  # the old one and the one just tested
    assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == "old"  # nothing saved

    connection.return_value = None
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == "new"
    assert entry.data[CONF_KNX_TUNNEL_ENDPOINT_IA] == "1.0.10"  # still in the new keyring: kept
    assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_TUNNELING_TCP_SECURE
    stored = Path(hass.config.path(STORAGE_DIR, entry.data[CONF_KNX_KNXKEY_FILENAME]))
    assert _same_bytes(stored, keys)
    assert _keyrings(hass) == [stored.name]  # the old keyring and the failed attempt's copy are gone
    tested = connection.await_args.args[1]
    assert tested[CONF_KNX_KNXKEY_FILENAME] == entry.data[CONF_KNX_KNXKEY_FILENAME]
    assert entry.state is ConfigEntryState.LOADED  # reloaded
    assert mock_setup.await_count == 1
    assert entry.unique_id == "tunnel:192.168.1.10:3671" and entry.title == "Secure Tunneling @ 192.168.1.10"


@FLOW
async def test_keyring_without_the_old_interface_falls_back_to_automatic(
    hass: HomeAssistant, connection: AsyncMock, tmp_path: Path
) -> None:
    entry = _keyring_hub(hass, **{CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.99"})
    result = await entry.start_reauth_flow(hass)
    keys = make_knxkeys(tmp_path / "new.knxkeys", "new")
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_KNX_TUNNEL_ENDPOINT_IA] is None  # xknx picks a free tunnel of the keyring


@FLOW
async def test_abandoned_reauth_deletes_the_keyring_it_stored(
    hass: HomeAssistant, connection: AsyncMock, tmp_path: Path
) -> None:
    entry = _keyring_hub(hass)
    result = await entry.start_reauth_flow(hass)
    connection.return_value = "cannot_connect"
    keys = make_knxkeys(tmp_path / "new.knxkeys", "new")
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    assert len(_keyrings(hass)) == 2
    hass.config_entries.flow.async_abort(result["flow_id"])
    assert _keyrings(hass) == ["old.knxkeys"]
    assert entry.data[CONF_KNX_KNXKEY_FILENAME] == "knx_evse/old.knxkeys"


def _secure_routing_hub(hass: HomeAssistant, **data: Any) -> MockConfigEntry:
    return hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING_SECURE,
            CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.250",
            CONF_KNX_MCAST_GRP: "224.0.23.12",
            CONF_KNX_MCAST_PORT: 3671,
            **data,
        },
    )


@FLOW
async def test_secure_routing_keyring_needs_a_backbone_key(
    hass: HomeAssistant, connection: AsyncMock, tmp_path: Path
) -> None:
    _stored(hass, "knx_evse/old.knxkeys")
    entry = _secure_routing_hub(
        hass, **{CONF_KNX_KNXKEY_FILENAME: "knx_evse/old.knxkeys", CONF_KNX_KNXKEY_PASSWORD: "old"}
    )
    result = await entry.start_reauth_flow(hass)
    assert _fields(result) == [CONF_KEYRING_FILE, CONF_KNX_KNXKEY_PASSWORD]
    plain = make_knxkeys(tmp_path / "plain.knxkeys", "new")
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, plain), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["errors"] == {CONF_KEYRING_FILE: "keyfile_no_backbone_key"}
    connection.assert_not_awaited()

    keys = make_knxkeys(tmp_path / "backbone.knxkeys", "new", interfaces=(), backbone_key=BACKBONE)
    result = await _configure(
        hass, result, {CONF_KEYRING_FILE: await upload(hass, keys), CONF_KNX_KNXKEY_PASSWORD: "new"}
    )
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == "new"
    assert entry.unique_id == "routing:224.0.23.12:3671"
    assert _keyrings(hass) == [Path(entry.data[CONF_KNX_KNXKEY_FILENAME]).name]


# -- credentials typed in ---------------------------------------------------------------------------


@FLOW
async def test_secure_tunnel_credentials_reauth(hass: HomeAssistant, connection: AsyncMock) -> None:
    entry = hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_KNX_SECURE_USER_ID: 4,
            CONF_KNX_SECURE_USER_PASSWORD: "old-password",
            CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "old-code",
        },
    )
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert _fields(result) == [
        CONF_KNX_SECURE_USER_ID,
        CONF_KNX_SECURE_USER_PASSWORD,
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    ]
    assert _defaults(result) == {CONF_KNX_SECURE_USER_ID: 4}  # only the user ID is prefilled
    credentials = {
        CONF_KNX_SECURE_USER_ID: 4,
        CONF_KNX_SECURE_USER_PASSWORD: "new-password",
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "new-code",
    }
    connection.return_value = "invalid_auth"
    result = await _configure(hass, result, credentials)
    assert result["errors"] == {"base": "invalid_auth"}
    assert entry.data[CONF_KNX_SECURE_USER_PASSWORD] == "old-password"

    connection.return_value = None
    result = await _configure(hass, result, {**credentials, CONF_KNX_SECURE_USER_ID: 5})
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_KNX_SECURE_USER_ID] == 5
    assert entry.data[CONF_KNX_SECURE_USER_PASSWORD] == "new-password"
    assert entry.data[CONF_KNX_SECURE_DEVICE_AUTHENTICATION] == "new-code"
    assert entry.data[CONF_HOST] == "192.168.1.10" and entry.data[CONF_PORT] == 3671


@FLOW
async def test_secure_routing_backbone_key_reauth(hass: HomeAssistant, connection: AsyncMock) -> None:
    entry = _secure_routing_hub(
        hass, **{CONF_KNX_ROUTING_BACKBONE_KEY: "00" * 16, CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1500}
    )
    result = await entry.start_reauth_flow(hass)
    assert _fields(result) == [CONF_KNX_ROUTING_BACKBONE_KEY, CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE]
    assert _defaults(result) == {CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1500}
    result = await _configure(
        hass,
        result,
        {CONF_KNX_ROUTING_BACKBONE_KEY: "not hex", CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1500},
    )
    assert result["errors"] == {CONF_KNX_ROUTING_BACKBONE_KEY: "invalid_backbone_key"}
    connection.assert_not_awaited()
    result = await _configure(
        hass,
        result,
        {CONF_KNX_ROUTING_BACKBONE_KEY: BACKBONE.hex(), CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 2000},
    )
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_KNX_ROUTING_BACKBONE_KEY] == BACKBONE.hex()
    assert entry.data[CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE] == 2000


@FLOW
@pytest.mark.parametrize(
    "data",
    [
        {},
        {
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING,
            CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240",
            CONF_KNX_MCAST_GRP: "224.0.23.12",
            CONF_KNX_MCAST_PORT: 3671,
        },
    ],
    ids=["udp-tunnel", "routing"],
)
async def test_hub_without_secrets_has_nothing_to_reauthenticate(
    hass: HomeAssistant, connection: AsyncMock, data: dict[str, Any]
) -> None:
    entry = hub_entry(hass, **data)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "reauth_not_supported"


@FLOW
async def test_reauth_of_a_loaded_hub_frees_its_tunnel_for_the_test(
    hass: HomeAssistant, connection: AsyncMock, mock_setup: AsyncMock
) -> None:
    """The hub's own tunnel would take the slot the test needs: unloaded first, reloaded after a failure."""
    entry = hub_entry(
        hass,
        **{
            CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
            CONF_KNX_SECURE_USER_ID: 2,
            CONF_KNX_SECURE_USER_PASSWORD: "old",
            CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "old",
        },
    )
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    result = await entry.start_reauth_flow(hass)
    states: list[ConfigEntryState] = []
    connection.side_effect = lambda *_: states.append(entry.state) or "cannot_connect"
    credentials = {
        CONF_KNX_SECURE_USER_ID: 2,
        CONF_KNX_SECURE_USER_PASSWORD: "x",
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: "y",
    }
    result = await _configure(hass, result, credentials)
    assert result["errors"] == {"base": "cannot_connect"}
    assert states == [ConfigEntryState.NOT_LOADED]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED  # back with the old credentials


# -- telling a rejected handshake from other errors --------------------------------------------------


def _wrapped(cause: Exception) -> CommunicationError:
    """What xknx's tunnel raises when its connect fails (``_Tunnel.connect``)."""
    err = CommunicationError("Tunnel connection could not be established")
    err.__cause__ = cause
    return err


@FLOW
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            _wrapped(
                IPSecureError(
                    "Secure session authentication failed: SecureSessionStatusCode.STATUS_AUTHENTICATION_FAILED"
                )
            ),
            True,
        ),
        (_wrapped(IPSecureError("SessionResponse MAC verification failed.")), True),
        (_wrapped(IPSecureError("KNX IP Secure sequence counter overflow.")), False),
        (_wrapped(ConnectionRefusedError(111, "Connect call failed")), False),
        (CommunicationError("No usable KNX/IP device found."), False),
        (OSError("network unreachable"), False),
    ],
    ids=["user-password", "device-authentication", "other-secure-error", "refused", "no-device", "os-error"],
)
async def test_rejected_credentials_are_told_apart(
    hass: HomeAssistant, error: Exception, expected: bool
) -> None:
    assert authentication_failed(error) is expected
    data = {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE, CONF_HOST: "10.0.0.2", CONF_PORT: 3671}
    with patch("xknx.XKNX.start", AsyncMock(side_effect=error)), patch("xknx.XKNX.stop", AsyncMock()):
        assert await async_test_connection(hass, data) == ("invalid_auth" if expected else "cannot_connect")


# -- set-up starts the reauthentication --------------------------------------------------------

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
    return harness_hub_entry([charger_subentry("CHG1", "Garage", BASIC, {"13": ["1/0/13"]})], **SECURE_TUNNEL, **data)


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
    assert _same_bytes(Path(str(knxkeys_path(hass, stored))), keyring)
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
