"""Secrets never leave the config entry: not in logs, diagnostics, repair issues nor exceptions.

Each test goes through the hub config flow (secure tunnelling with manual credentials, with an ETS
keyring, and secure routing with a backbone key), lets the connection fail (for tunnelling the real
xknx connect to a closed port on 127.0.0.1, so xknx's own secure code runs with the secrets), sets
the hub up, fails again, and finally loads it on the faked interface for its diagnostics. Everything
logged at DEBUG (Home Assistant, xknx, knx_evse), every flow result, the entry's failure reason, the
repair issues and the diagnostics are then searched for each secret, including the passwords inside
the keyring file and the file's encrypted text.

Files: the uploaded keyring is moved out of the upload store, its only copy on disk is the one the
entry uses, and that copy is deleted with the entry. The demo's Home Assistant and its TCP
forwarder listen on 127.0.0.1 only.

Reauthentication: a rejected tunnel password and a keyring that no longer decrypts start the
reauthentication flow; the old and the new secrets stay out of everything above as well.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import xml.sax
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
import yaml
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from homeassistant.components.file_upload import _DATA as FILE_UPLOAD
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import STORAGE_DIR
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from xknx.exceptions import CommunicationError, IPSecureError
from xknx.secure.keyring import KeyringSAXContentHandler, hash_keyring_password, sha256_hash

from custom_components.knx_evse.config_flow import hub, hub_base
from custom_components.knx_evse.config_flow.hub import CONF_TUNNELING_TYPE
from custom_components.knx_evse.config_flow.hub_base import CONF_KEYRING_FILE
from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_INDIVIDUAL_ADDRESS,
    CONF_KNX_KNXKEY_FILENAME,
    CONF_KNX_KNXKEY_PASSWORD,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_MCAST_GRP,
    CONF_KNX_MCAST_PORT,
    CONF_KNX_ROUTE_BACK,
    CONF_KNX_ROUTING,
    CONF_KNX_ROUTING_BACKBONE_KEY,
    CONF_KNX_ROUTING_SECURE,
    CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE,
    CONF_KNX_SECURE_DEVICE_AUTHENTICATION,
    CONF_KNX_SECURE_USER_ID,
    CONF_KNX_SECURE_USER_PASSWORD,
    CONF_KNX_TUNNEL_ENDPOINT_IA,
    CONF_KNX_TUNNELING,
    CONF_KNX_TUNNELING_TCP_SECURE,
    CONF_PORT,
    DOMAIN,
)
from tests.config_flow.helpers import config_dir, upload
from tests.knx_harness import KnxTestKit

__all__ = ["config_dir"]

USER_PASSWORD = "Tunnel-Pw-3f9a81"
DEVICE_AUTHENTICATION = "DevAuth-c41e72"
KEYRING_PASSWORD = "Keyring-Pw-8b2d50"
WRONG_KEYRING_PASSWORD = "Keyring-Typo-6a0c13"
BACKBONE_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
KEYRING_INTERFACE_PASSWORD = "Iface-Pw-77e1c0"
KEYRING_DEVICE_AUTHENTICATION = "Iface-Auth-19d3aa"
KEYRING_BACKBONE = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
CREATED = "2025-01-01T00:00:00"


@contextlib.contextmanager
def real_sockets() -> Iterator[None]:
    """Lift pytest-socket's block (Home Assistant's plugin still only lets 127.0.0.1 be connected)."""
    import pytest_socket  # type: ignore[import-untyped]

    saved = socket.socket
    pytest_socket.enable_socket()
    try:
        yield
    finally:
        socket.socket = saved  # type: ignore[misc]


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _encrypt(secret: bytes, password: str) -> str:
    """Encrypt a keyring attribute as ETS does (AES-128-CBC, 8 leading bytes, length padding)."""
    raw = b"\0" * 8 + secret
    pad = 16 - len(raw) % 16
    raw += bytes([pad]) * pad
    encryptor = Cipher(
        algorithms.AES(hash_keyring_password(password.encode())), modes.CBC(sha256_hash(CREATED.encode())[:16])
    ).encryptor()
    return base64.b64encode(encryptor.update(raw) + encryptor.finalize()).decode()


def write_keyring(path: Path) -> tuple[Path, list[str]]:
    """A signed keyring with a tunnel (user 3, password), the gateway's authentication and a backbone key.

    Returns the file and its encrypted attribute values (the file's secret content).
    """
    encrypted = [
        _encrypt(KEYRING_INTERFACE_PASSWORD.encode(), KEYRING_PASSWORD),
        _encrypt(KEYRING_DEVICE_AUTHENTICATION.encode(), KEYRING_PASSWORD),
    ]
    backbone = Cipher(
        algorithms.AES(hash_keyring_password(KEYRING_PASSWORD.encode())), modes.CBC(sha256_hash(CREATED.encode())[:16])
    ).encryptor()
    backbone_text = base64.b64encode(backbone.update(KEYRING_BACKBONE) + backbone.finalize()).decode()
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Keyring Project="EV" CreatedBy="test" Created="{CREATED}" Signature="SIG" '
        'xmlns="http://knx.org/xml/keyring/1">\n'
        f'<Backbone MulticastAddress="224.0.23.12" Latency="1000" Key="{backbone_text}" />\n'
        f'<Interface Type="Tunneling" IndividualAddress="1.0.11" Host="1.0.0" UserID="3" Password="{encrypted[0]}" />\n'
        f'<Devices><Device IndividualAddress="1.0.0" Authentication="{encrypted[1]}" SequenceNumber="0" /></Devices>\n'
        "</Keyring>"
    )
    path.write_text(text, encoding="utf-8")
    handler = KeyringSAXContentHandler(KEYRING_PASSWORD)
    xml.sax.parse(str(path), handler)
    signature = base64.b64encode(sha256_hash(bytes(handler.output))[:16]).decode()
    path.write_text(text.replace('Signature="SIG"', f'Signature="{signature}"'), encoding="utf-8")
    return path, [*encrypted, backbone_text]


def copies_of(source: Path, folder: Path) -> list[Path]:
    """Files under ``folder`` (recursively) with exactly the bytes of ``source``."""
    content = source.read_bytes()
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and p.read_bytes() == content]


@pytest.fixture
def no_gateways() -> Iterator[None]:
    """The gateway scan finds nothing (no multicast in tests): the flow asks for the host."""
    with patch.object(hub, "GatewayScanner") as scanner:
        scanner.return_value.scan = AsyncMock(return_value=[])
        yield


class Evidence:
    """Everything a user, a log reader or a diagnostics download could see."""

    def __init__(self, hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
        """Collect from ``hass`` and ``caplog``; add flow results and diagnostics with ``add``."""
        self.hass = hass
        self.caplog = caplog
        self.parts: list[str] = []

    def add(self, item: Any) -> Any:
        """Keep ``item`` (a flow result, diagnostics, an exception) as text; return it."""
        self.parts.append(json.dumps(item, default=repr) if not isinstance(item, str) else item)
        return item

    def text(self, entry: ConfigEntry | None = None) -> str:
        """Logs (with tracebacks), kept items, the entry's failure reason and every repair issue."""
        issues = [
            {
                "id": issue.issue_id,
                "key": issue.translation_key,
                "placeholders": issue.translation_placeholders,
                "data": issue.data,
            }
            for issue in ir.async_get(self.hass).issues.values()
        ]
        records = "\n".join(
            f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in self.caplog.records
        )
        reason = "" if entry is None else f"{entry.reason} {entry.error_reason_translation_placeholders}"
        return "\n".join([self.caplog.text, records, reason, json.dumps(issues, default=repr), *self.parts])

    def assert_clean(self, secrets: list[str], entry: ConfigEntry | None = None) -> None:
        """No secret anywhere; and DEBUG logs of xknx were captured, so the search means something."""
        text = self.text(entry)
        assert "xknx" in self.caplog.text and "DEBUG" in self.caplog.text
        leaked = [secret for secret in secrets if secret in text]
        assert not leaked, f"secrets leaked: {leaked}"


async def configure(hass: HomeAssistant, evidence: Evidence, flow_id: str, data: dict[str, Any]) -> Any:
    """One flow step, kept as evidence (a created entry's ``data`` is the config entry: not shown)."""
    result = await hass.config_entries.flow.async_configure(flow_id, data)
    evidence.add({k: v for k, v in result.items() if not (k == "data" and result["type"] is FlowResultType.CREATE_ENTRY)})
    return result


async def start_secure_tunnel(hass: HomeAssistant, evidence: Evidence, port: int) -> Any:
    """User → manual secure TCP tunnel to 127.0.0.1:``port`` → the key source menu."""
    result = evidence.add(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
    result = await configure(hass, evidence, result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING})
    assert result["step_id"] == "manual_tunnel"
    result = await configure(
        hass,
        evidence,
        result["flow_id"],
        {CONF_TUNNELING_TYPE: CONF_KNX_TUNNELING_TCP_SECURE, CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_KNX_ROUTE_BACK: False},
    )
    assert result["step_id"] == "secure_key_source_menu_tunnel"
    return result


async def diagnostics_when_loaded(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, entry: ConfigEntry
) -> dict[str, Any]:
    """Load the entry on the faked KNX interface and download its diagnostics."""
    kit = KnxTestKit(hass)
    with kit.patched():
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        assert await hass.config_entries.async_unload(entry.entry_id)
    return diagnostics


@pytest.mark.usefixtures("config_dir", "no_gateways")
async def test_manual_secure_tunnel_credentials_never_leak(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """User password and device authentication: flow, failing connect (real xknx), set-up, diagnostics."""
    caplog.set_level(logging.DEBUG)
    evidence = Evidence(hass, caplog)
    credentials = {
        CONF_KNX_SECURE_USER_ID: 2,
        CONF_KNX_SECURE_USER_PASSWORD: USER_PASSWORD,
        CONF_KNX_SECURE_DEVICE_AUTHENTICATION: DEVICE_AUTHENTICATION,
    }
    with real_sockets():
        result = await start_secure_tunnel(hass, evidence, closed_port())
        result = await configure(hass, evidence, result["flow_id"], {"next_step_id": "secure_tunnel_manual"})
        result = await configure(hass, evidence, result["flow_id"], credentials)
        assert result["errors"] == {"base": "cannot_connect"}  # xknx really tried, with the secrets
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
            result = await configure(hass, evidence, result["flow_id"], credentials)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.SETUP_RETRY  # the set-up's real connect was refused too
    assert entry.data[CONF_KNX_SECURE_USER_PASSWORD] == USER_PASSWORD  # the secrets live in the entry
    assert "Starting secure tunnel" in caplog.text
    evidence.add(await diagnostics_when_loaded(hass, hass_client, entry))
    evidence.assert_clean([USER_PASSWORD, DEVICE_AUTHENTICATION], entry)


@pytest.mark.usefixtures("config_dir")
async def test_reauth_passwords_never_leak(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """A rejected tunnel password: set-up, the reauthentication flow (real xknx connect), diagnostics.

    The interface's rejection is xknx's own exception chain; the flow's first attempt connects for
    real (to a closed port) with the new secrets, the second one is accepted. Neither the old nor
    the new password nor the device authentication code may show up anywhere.
    """
    caplog.set_level(logging.DEBUG)
    evidence = Evidence(hass, caplog)
    new_password, new_code = "Tunnel-Pw-new-5e0b2c", "DevAuth-new-90aa17"
    with real_sockets():
        port = closed_port()
        entry = MockConfigEntry(
            domain=DOMAIN,
            title="Secure Tunneling @ 127.0.0.1",
            data={
                CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING_TCP_SECURE,
                CONF_HOST: "127.0.0.1",
                CONF_PORT: port,
                CONF_KNX_SECURE_USER_ID: 2,
                CONF_KNX_SECURE_USER_PASSWORD: USER_PASSWORD,
                CONF_KNX_SECURE_DEVICE_AUTHENTICATION: DEVICE_AUTHENTICATION,
            },
        )
        entry.add_to_hass(hass)
        kit = KnxTestKit(hass)
        refused = CommunicationError("Tunnel connection could not be established")
        refused.__cause__ = IPSecureError(
            "Secure session authentication failed: SecureSessionStatusCode.STATUS_AUTHENTICATION_FAILED"
        )
        kit.start_error = refused
        with kit.patched():
            assert not await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        [flow] = [f for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN) if f["context"]["source"] == "reauth"]
        evidence.add(flow)
        credentials = {
            CONF_KNX_SECURE_USER_ID: 2,
            CONF_KNX_SECURE_USER_PASSWORD: new_password,
            CONF_KNX_SECURE_DEVICE_AUTHENTICATION: new_code,
        }
        result = await configure(hass, evidence, flow["flow_id"], credentials)
        assert result["errors"] == {"base": "cannot_connect"}  # xknx really tried, with the new secrets
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
            result = await configure(hass, evidence, flow["flow_id"], credentials)
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
    assert entry.data[CONF_KNX_SECURE_USER_PASSWORD] == new_password
    assert "Starting secure tunnel" in caplog.text
    evidence.add(await diagnostics_when_loaded(hass, hass_client, entry))
    evidence.assert_clean([USER_PASSWORD, DEVICE_AUTHENTICATION, new_password, new_code], entry)


@pytest.mark.usefixtures("no_gateways")
async def test_keyring_secrets_never_leak_and_the_file_lives_only_with_the_entry(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    """Keyring password and the keyring's content, through upload, a refused connect, a wrong password."""
    caplog.set_level(logging.DEBUG)
    evidence = Evidence(hass, caplog)
    keyring, encrypted = write_keyring(tmp_path / "site.knxkeys")
    secrets = [KEYRING_PASSWORD, WRONG_KEYRING_PASSWORD, KEYRING_INTERFACE_PASSWORD, KEYRING_DEVICE_AUTHENTICATION,
               KEYRING_BACKBONE.hex(), *encrypted]
    with real_sockets():
        result = await start_secure_tunnel(hass, evidence, closed_port())
        result = await configure(hass, evidence, result["flow_id"], {"next_step_id": "secure_knxkeys"})
        result = await configure(
            hass, evidence, result["flow_id"],
            {CONF_KEYRING_FILE: await upload(hass, keyring), CONF_KNX_KNXKEY_PASSWORD: WRONG_KEYRING_PASSWORD},
        )
        assert result["errors"] == {CONF_KNX_KNXKEY_PASSWORD: "invalid_keyfile_password"}
        result = await configure(
            hass, evidence, result["flow_id"],
            {CONF_KEYRING_FILE: await upload(hass, keyring), CONF_KNX_KNXKEY_PASSWORD: KEYRING_PASSWORD},
        )
        assert result["step_id"] == "knxkeys_tunnel_select"
        result = await configure(hass, evidence, result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.11"})
        assert result["errors"] == {"base": "cannot_connect"}
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
            result = await configure(hass, evidence, result["flow_id"], {CONF_KNX_TUNNEL_ENDPOINT_IA: "1.0.11"})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.SETUP_RETRY

        # the keyring password changes in ETS: the stored file no longer decrypts (reauthentication)
        hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_KNX_KNXKEY_PASSWORD: WRONG_KEYRING_PASSWORD}
        )
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.SETUP_ERROR
        [flow] = [f for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN) if f["context"]["source"] == "reauth"]
        result = await configure(
            hass, evidence, flow["flow_id"],
            {CONF_KEYRING_FILE: await upload(hass, keyring), CONF_KNX_KNXKEY_PASSWORD: WRONG_KEYRING_PASSWORD},
        )
        assert result["errors"] == {CONF_KNX_KNXKEY_PASSWORD: "invalid_keyfile_password"}
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
            result = await configure(
                hass, evidence, flow["flow_id"],
                {CONF_KEYRING_FILE: await upload(hass, keyring), CONF_KNX_KNXKEY_PASSWORD: KEYRING_PASSWORD},
            )
        assert result["reason"] == "reauth_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_KNX_KNXKEY_PASSWORD] == KEYRING_PASSWORD
    evidence.add(await diagnostics_when_loaded(hass, hass_client, entry))
    evidence.assert_clean(secrets, entry)

    # files: the uploads are gone; the only copy is the entry's, under .storage/knx_evse
    assert hass.data[FILE_UPLOAD].files == {}
    stored = Path(hass.config.path(STORAGE_DIR, entry.data[CONF_KNX_KNXKEY_FILENAME]))
    assert copies_of(keyring, config_dir) == [stored]
    assert stored.parent == config_dir / STORAGE_DIR / "knx_evse"
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert copies_of(keyring, config_dir) == [], "the keyring outlived its hub"


@pytest.mark.usefixtures("config_dir", "no_gateways")
async def test_backbone_key_never_leaks(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """Secure routing by hand: a refused connection test, a failing set-up, diagnostics."""
    caplog.set_level(logging.DEBUG)
    evidence = Evidence(hass, caplog)
    kit = KnxTestKit(hass)
    kit.start_error = CommunicationError("Could not join the multicast group")
    with kit.patched():
        result = evidence.add(await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER}))
        result = await configure(hass, evidence, result["flow_id"], {CONF_KNX_CONNECTION_TYPE: CONF_KNX_ROUTING})
        result = await configure(
            hass,
            evidence,
            result["flow_id"],
            {
                CONF_KNX_INDIVIDUAL_ADDRESS: "0.0.240",
                CONF_KNX_ROUTING_SECURE: True,
                CONF_KNX_MCAST_GRP: "224.0.23.12",
                CONF_KNX_MCAST_PORT: 3671,
                CONF_KNX_LOCAL_IP: "127.0.0.1",
            },
        )
        result = await configure(hass, evidence, result["flow_id"], {"next_step_id": "secure_routing_manual"})
        key = {CONF_KNX_ROUTING_BACKBONE_KEY: BACKBONE_KEY, CONF_KNX_ROUTING_SYNC_LATENCY_TOLERANCE: 1000}
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value="cannot_connect")):
            result = await configure(hass, evidence, result["flow_id"], key)
        assert result["errors"] == {"base": "cannot_connect"}
        with patch.object(hub_base, "async_test_connection", AsyncMock(return_value=None)):
            result = await configure(hass, evidence, result["flow_id"], key)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.data[CONF_KNX_CONNECTION_TYPE] == CONF_KNX_ROUTING_SECURE
    # the faked interface got xknx's whole ConnectionConfig: the key reached xknx
    assert kit.xknx is not None
    assert kit.xknx.knxip_interface.connection_config.secure_config.backbone_key == bytes.fromhex(BACKBONE_KEY)
    evidence.add(await diagnostics_when_loaded(hass, hass_client, entry))
    evidence.assert_clean([BACKBONE_KEY, BACKBONE_KEY.upper(), repr(bytes.fromhex(BACKBONE_KEY))[2:-1]], entry)


def test_demo_home_assistant_listens_on_loopback_only(tmp_path: Path) -> None:
    """scripts/demo_homeassistant.write_config: http.server_host is exactly [127.0.0.1]."""
    from scripts.demo_homeassistant import write_config

    write_config(tmp_path, port=8123, hub_data={"host": "127.0.0.1", "port": 3671}, subentries=[], meters=[])
    text = (tmp_path / "configuration.yaml").read_text()

    class Loader(yaml.SafeLoader):
        """Safe loader that keeps Home Assistant's !tags as text."""

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    configuration = yaml.load(text, Loader=Loader)
    host = configuration["http"]["server_host"]
    assert host in ("127.0.0.1", ["127.0.0.1"])
    assert "0.0.0.0" not in text and "::" not in text.replace("::1", "")


async def test_forwarder_refuses_to_listen_beyond_loopback() -> None:
    """knxbus.forward.forward_tcp (the demo's way in to Home Assistant) binds loopback addresses only.

    Refused before anything is opened, so no namespace is needed here; tests/faults/
    test_bus_faults_e2e.py checks the listening socket of a real forwarder.
    """
    from knxbus.forward import forward_tcp

    for host in ("0.0.0.0", "::", "192.168.1.10", "localhost", ""):
        with pytest.raises(ValueError, match="loopback"):
            await forward_tcp(0, "knxevse-none", 8123, host=host)
