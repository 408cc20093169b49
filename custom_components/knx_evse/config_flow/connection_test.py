"""Connection test of hub data, and the stored ``.knxkeys`` files.

``async_test_connection`` connects once with xknx and maps the failure to a translated error key (for
the connection of Home Assistant's KNX integration it checks that integration is loaded); uploaded keyrings are kept under ``<config>/.storage/knx_evse/``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import STORAGE_DIR
from xknx import XKNX
from xknx.exceptions.exception import InvalidSecureConfiguration, XKNXException
from xknx.knxip.error_code import ErrorCode
from xknx.secure.keyring import Keyring, sync_load_keyring

from ..const import (
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_KNXKEY_FILENAME,
    KNXKEYS_STORAGE_DIR,
)
from ..knx.connection import authentication_failed, connection_config
from ..knx.core_link import core_knx_entry
from ..knx.hub import knxkeys_path

_LOGGER = logging.getLogger(__name__)

CONNECT_TIMEOUT: Final = 15.0
"""s the connection test may take (secure routing waits for timer synchronisation)."""


def _no_free_tunnel(err: BaseException) -> bool:
    """Tell whether the gateway refused the tunnel because all slots are taken (E_NO_MORE_CONNECTIONS).

    xknx 4 carries the KNXnet/IP status as ``error_code`` on a cause of the CommunicationError; xknx 3.14
    only names it in the message of the cause.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "error_code", None) is ErrorCode.E_NO_MORE_CONNECTIONS:
            return True
        if ErrorCode.E_NO_MORE_CONNECTIONS.name in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


async def async_test_connection(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Connect once with the hub ``data`` and disconnect; return None or an error translation key.

    Keys: ``no_tunnel_slot`` (the gateway has no free tunnel), ``invalid_secure_configuration``
    (credentials or keyring refused by xknx before connecting), ``invalid_auth`` (the interface
    rejected the secure session: wrong user ID, user password or device authentication code),
    ``cannot_connect`` (anything else, including a timeout of ``CONNECT_TIMEOUT`` s),
    ``core_knx_not_loaded`` (a hub on core knx's connection while core knx is not loaded).
    """
    if data.get(CONF_KNX_CONNECTION_TYPE) == CONF_KNX_CORE:
        return None if core_knx_entry(hass) is not None else "core_knx_not_loaded"
    config = connection_config(data, knxkeys_path(hass, data.get(CONF_KNX_KNXKEY_FILENAME)))
    config.auto_reconnect = False
    xknx = XKNX(connection_config=config)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await xknx.start()
    except InvalidSecureConfiguration as err:
        _LOGGER.debug("KNX secure configuration rejected: %s", err)
        return "invalid_secure_configuration"
    except (XKNXException, OSError, TimeoutError) as err:
        _LOGGER.debug("KNX connection test failed: %r", err)
        if authentication_failed(err):
            return "invalid_auth"
        return "no_tunnel_slot" if _no_free_tunnel(err) else "cannot_connect"
    finally:
        await xknx.stop()
    return None


def load_and_store_keyfile(hass: HomeAssistant, file_id: str, password: str) -> tuple[Keyring, str]:
    """Validate an uploaded .knxkeys and move it to .storage/knx_evse/<random>.knxkeys (executor).

    Returns the keyring and the stored name relative to .storage. Raises InvalidSecureConfiguration for
    a wrong password, ValueError/OSError/SyntaxError/SAXException for a missing or malformed file.
    """
    with process_uploaded_file(hass, file_id) as path:
        keyring = sync_load_keyring(path, password)
        relative = f"{KNXKEYS_STORAGE_DIR}/{uuid.uuid4().hex}.knxkeys"
        destination = Path(hass.config.path(STORAGE_DIR, relative))
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, destination)
    return keyring, relative
