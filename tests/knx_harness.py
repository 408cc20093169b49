"""A faked KNX interface for Home Assistant tests, after core's ``tests/components/knx/conftest.py``.

``KnxTestKit`` replaces xknx's KNX/IP interface (``xknx.xknx.knx_interface_factory``) with a mock
whose ``start`` reports CONNECTED, and patches ``CEMIHandler.send_telegram`` on the class (xknx ≥ 3.14
gives ``CEMIHandler`` ``__slots__``), so every telegram the integration sends lands in a queue that
tests assert one by one, in order. Incoming telegrams are injected into ``xknx.telegrams`` as the
bus would deliver them. The hub's read pacing is switched off so start-up reads queue at once.

Also builds hub config entries with charger subentries directly (no config flow).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from unittest.mock import AsyncMock, Mock, patch

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry
from xknx import XKNX
from xknx.cemi import CEMIHandler
from xknx.core.connection_state import XknxConnectionState
from xknx.dpt.payload import DPTArray, DPTBinary
from xknx.telegram import Telegram, TelegramDirection
from xknx.telegram.address import GroupAddress, IndividualAddress
from xknx.telegram.apci import APCI, GroupValueRead, GroupValueResponse, GroupValueWrite

from custom_components.knx_evse.const import (
    CONF_CHARGER_IA,
    CONF_GROUP_ADDRESSES,
    CONF_KNX_AUTOMATIC,
    CONF_KNX_CONNECTION_TYPE,
    CONF_MODEL,
    CONF_NAME,
    CONF_PARAMETERS,
    DOMAIN,
    SUBENTRY_CHARGER,
)
from custom_components.knx_evse.knx.hub import KnxEvseHub
from custom_components.knx_evse.knx.parameters import ChargerParameters

Payload = int | tuple[int, ...]
"""An int is a 1-bit/6-bit DPTBinary payload, a tuple a DPTArray (as in core's KNX tests)."""

ALL_OPTIONS: dict[str, Any] = {
    "rfid_objects": True,
    "reset_object": True,
    "error_objects": True,
    "session_objects": True,
    "block_object": True,
    "fail_safe": True,
    "fail_safe_objects": True,
    **{f"conn{n}_{name}": True for n in (1, 2) for name in (
        "ocpp_state", "pilot_state", "individual_status", "charging_time_objects", "block_object"
    )},
}
"""ETS parameters enabling every optional object group."""

SINGLE_PHASE_FULL: dict[str, Any] = {
    **ALL_OPTIONS,
    "phases": 1,
    "connectors": 2,
    "max_user_current": 16,
    "load_balancing": True,
    "balancing_evse_count": 6,
}
"""A VE 742 (single-phase, 2 connectors, Maximum User Current 16 A) with every object incl. balancing."""

THREE_PHASE_FULL: dict[str, Any] = {**ALL_OPTIONS, "phases": 3, "connectors": 2}
"""A VE 222 (three-phase, 2 connectors) with every optional object."""


def ga(number: int, main: int = 1) -> str:
    """The test group address of object ``number``: ``<main>/0/<number>``."""
    return f"{main}/0/{number}"


def all_group_addresses(parameters: Mapping[str, Any], main: int = 1) -> dict[str, list[str]]:
    """Link every object the parameters enable to ``<main>/0/<number>``."""
    enabled = ChargerParameters.from_dict(parameters).enabled_objects()
    return {str(number): [ga(number, main)] for number in sorted(enabled)}


def charger_subentry(
    subentry_id: str,
    title: str,
    parameters: Mapping[str, Any],
    group_addresses: Mapping[str, list[str]] | None = None,
    *,
    main: int = 1,
    model: str = "VE 742",
) -> ConfigSubentryDataWithId:
    """Subentry data of a charger; by default every enabled object is linked (``ga``)."""
    return ConfigSubentryDataWithId(
        subentry_id=subentry_id,
        subentry_type=SUBENTRY_CHARGER,
        title=title,
        unique_id=f"1.1.{main}",
        data={
            CONF_NAME: title,
            CONF_CHARGER_IA: f"1.1.{main}",
            CONF_MODEL: model,
            CONF_PARAMETERS: dict(parameters),
            CONF_GROUP_ADDRESSES: dict(
                group_addresses if group_addresses is not None else all_group_addresses(parameters, main)
            ),
        },
    )


def hub_entry(subentries: Iterable[ConfigSubentryDataWithId] = (), **data: Any) -> MockConfigEntry:
    """A hub config entry (automatic connection) with the given charger subentries."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="KNX hub",
        data={CONF_KNX_CONNECTION_TYPE: CONF_KNX_AUTOMATIC, **data},
        subentries_data=list(subentries),
    )


class KnxTestKit:
    """Fake KNX interface: captures outgoing telegrams, injects incoming ones."""

    SOURCE = "1.1.1"

    def __init__(self, hass: HomeAssistant) -> None:
        """Nothing is patched until ``patched()`` is entered."""
        self.hass = hass
        self.xknx: XKNX | None = None
        self.outgoing: asyncio.Queue[Telegram] = asyncio.Queue()
        self.start_error: Exception | None = None

    @contextlib.contextmanager
    def patched(self) -> Iterator[KnxTestKit]:
        """Patch xknx's interface factory and CEMIHandler.send_telegram, and the hub's read pacing."""
        kit = self

        def factory(xknx: XKNX, connection_config: Any = None) -> Mock:
            kit.xknx = xknx
            interface = Mock()
            interface.connection_config = connection_config
            interface.start = AsyncMock(side_effect=kit._start)
            interface.stop = AsyncMock()
            interface.gateway_info = AsyncMock(return_value=None)  # core knx asks once connected
            return interface

        async def send_telegram(_handler: CEMIHandler, telegram: Telegram) -> None:
            await kit.outgoing.put(telegram)

        with (
            patch("xknx.xknx.knx_interface_factory", side_effect=factory),
            patch.object(CEMIHandler, "send_telegram", send_telegram),
            patch.object(KnxEvseHub, "read_interval", 0),
        ):
            yield self

    async def _start(self) -> None:
        if self.start_error is not None:
            raise self.start_error
        self.set_connected(True)

    # -- set-up -----------------------------------------------------------------------------

    async def setup(self, entry: MockConfigEntry, *, drain_reads: bool = True) -> MockConfigEntry:
        """Add and set up ``entry``; by default drop the start-up GroupValueReads."""
        entry.add_to_hass(self.hass)
        await self.hass.config_entries.async_setup(entry.entry_id)
        await self.flush()
        if drain_reads:
            await self.drain_reads()
        return entry

    async def flush(self) -> None:
        """Let xknx process its queues and Home Assistant (incl. background tasks) settle."""
        await self.hass.async_block_till_done(wait_background_tasks=True)
        if self.xknx is not None and self.xknx.started.is_set():
            await self.xknx.telegrams.join()
        await self.hass.async_block_till_done(wait_background_tasks=True)

    def set_connected(self, connected: bool) -> None:
        """Report the connection as up or down, as xknx does after a tunnel loss/reconnect."""
        assert self.xknx is not None
        self.xknx.connection_manager.connection_state_changed(
            XknxConnectionState.CONNECTED if connected else XknxConnectionState.DISCONNECTED
        )

    # -- outgoing ---------------------------------------------------------------------------

    def sent_nowait(self) -> list[Telegram]:
        """Take the telegrams sent so far without letting anything run first."""
        sent = []
        while not self.outgoing.empty():
            sent.append(self.outgoing.get_nowait())
        return sent

    async def take(self) -> list[Telegram]:
        """Every telegram sent since the last call, in order."""
        await self.flush()
        return self.sent_nowait()

    async def drain_reads(self) -> list[str]:
        """Consume queued GroupValueReads; return their group addresses in order (fails on others)."""
        telegrams = await self.take()
        others = [t for t in telegrams if not isinstance(t.payload, GroupValueRead)]
        assert not others, f"unexpected telegrams: {others}"
        return [str(t.destination_address) for t in telegrams]

    async def assert_telegram(self, group_address: str, payload: Payload | None, apci: type[APCI]) -> None:
        """Assert the next sent telegram (order matters)."""
        await self.flush()
        try:
            telegram = self.outgoing.get_nowait()
        except asyncio.QueueEmpty:
            raise AssertionError(f"no telegram sent; expected {apci.__name__} {group_address} {payload}") from None
        assert isinstance(telegram.payload, apci), f"{telegram} is not {apci.__name__}"
        assert str(telegram.destination_address) == group_address, f"{telegram} not to {group_address}"
        if payload is not None:
            assert isinstance(telegram.payload, GroupValueWrite | GroupValueResponse)
            assert telegram.payload.value.value == payload, f"{telegram} payload is not {payload}"

    async def assert_write(self, group_address: str, payload: Payload) -> None:
        """Assert the next sent telegram is a GroupValueWrite of ``payload``."""
        await self.assert_telegram(group_address, payload, GroupValueWrite)

    async def assert_read(self, group_address: str) -> None:
        """Assert the next sent telegram is a GroupValueRead."""
        await self.assert_telegram(group_address, None, GroupValueRead)

    async def assert_no_telegram(self) -> None:
        """Assert nothing (more) was sent."""
        sent = await self.take()
        assert not sent, f"unexpected telegrams: {[str(t) for t in sent]}"

    # -- incoming ---------------------------------------------------------------------------

    async def receive(self, group_address: str, apci: APCI, *, settle: bool = True, source: str | None = None) -> None:
        """Inject a telegram from the bus (from ``source``, by default the charger ``SOURCE``)."""
        assert self.xknx is not None
        self.xknx.telegrams.put_nowait(
            Telegram(
                destination_address=GroupAddress(group_address),
                direction=TelegramDirection.INCOMING,
                payload=apci,
                source_address=IndividualAddress(source or self.SOURCE),
            )
        )
        if settle:
            await self.flush()

    @staticmethod
    def _value(payload: Payload) -> DPTArray | DPTBinary:
        return DPTBinary(payload) if isinstance(payload, int) else DPTArray(payload)

    async def receive_write(self, group_address: str, payload: Payload, *, source: str | None = None) -> None:
        """Inject a GroupValueWrite (from ``source``, by default the charger)."""
        await self.receive(group_address, GroupValueWrite(self._value(payload)), source=source)

    async def receive_response(self, group_address: str, payload: Payload) -> None:
        """Inject a GroupValueResponse."""
        await self.receive(group_address, GroupValueResponse(self._value(payload)))

    async def receive_read(self, group_address: str) -> None:
        """Inject a GroupValueRead (which the integration must never answer)."""
        await self.receive(group_address, GroupValueRead())


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id registered for ``unique_id`` on ``platform``; fails when there is none."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, f"no {platform} entity with unique id {unique_id}"
    return found


async def enable_all_entities(hass: HomeAssistant, kit: KnxTestKit, entry: MockConfigEntry) -> None:
    """Enable the entities that are disabled by default and reload (start-up reads are dropped)."""
    registry = er.async_get(hass)
    for entry_ in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entry_.disabled_by is not None:
            registry.async_update_entity(entry_.entity_id, disabled_by=None)
    await hass.config_entries.async_reload(entry.entry_id)
    await kit.flush()
    await kit.drain_reads()


def registered_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """Return the knx_evse device registered with ``(DOMAIN, identifier)``, or None.

    Looked up through its config entry, which works on every supported Home Assistant version
    (``async_get_device`` is deprecated since 2026.9 and raises inside tests).
    """
    registry = dr.async_get(hass)
    for config_entry in hass.config_entries.async_entries(DOMAIN):
        for found in dr.async_entries_for_config_entry(registry, config_entry.entry_id):
            if (DOMAIN, identifier) in found.identifiers:
                return found
    return None


def device_subentries(device: dr.DeviceEntry, entry_id: str) -> set[str | None]:
    """Return the subentries of ``entry_id`` that ``device`` belongs to, on every supported version.

    Since Home Assistant 2026.8 a device belongs to exactly one subentry (``config_subentry_id``);
    before, to a set (``config_entries_subentries``).
    """
    if hasattr(device, "config_subentry_id"):
        return {device.config_subentry_id} if device.config_entry_id == entry_id else set()
    return set(device.config_entries_subentries.get(entry_id, set()))
