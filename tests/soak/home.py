"""Home Assistant for the soak: its instances (one at a time, stopped and started again for a
restart), the hub entry set up in each, and Home Assistant's KNX integration's entry when the hub
uses its connection (``settings.CONNECTION``).

The test plugin's ``hass`` fixture holds one instance for the whole test, so a stopped one would stay
in memory (and in the object count) after a restart. The soak makes its own with the plugin's
``async_test_home_assistant``, set up as the fixture does (frame helper, Home Assistant's own
translations, custom integrations enabled), and drops each after its stop. Storage is the plugin's
mock (``hass_storage``) for all of them; the registries start empty in each new instance (the
plugin's loader), so entity ids are generated again, the same. What a stop writes for the restore of
the states is taken before it (``stored_states``) and given to the next instance
(``mock_restore_cache_with_extra_data``), as a start reads it from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from homeassistant import loader
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.core import DOMAIN as HA_DOMAIN
from homeassistant.core import HassJob, HomeAssistant
from homeassistant.helpers import frame, translation
from homeassistant.helpers import restore_state as rs
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
    get_scheduled_timer_handles,
    get_test_config_dir,
    mock_restore_cache_with_extra_data,
)

from custom_components.knx_evse.const import (
    CONF_HOST,
    CONF_KNX_CONNECTION_TYPE,
    CONF_KNX_CORE,
    CONF_KNX_LOCAL_IP,
    CONF_KNX_TUNNELING,
    CONF_PORT,
    DOMAIN,
    SUBENTRY_BALANCING,
    SUBENTRY_CHARGER,
)
from knxbus.knxd import KnxdBus
from tests.core_knx_harness import CORE_KNX_DATA

from .settings import CONNECTION, GROUP_ID, SUBENTRY_IDS

StoredStates = list[tuple[Any, dict[str, Any]]]


def hub_entry(
    bus: KnxdBus, chargers: list[dict[str, Any]], group: dict[str, Any], previous: MockConfigEntry | None
) -> MockConfigEntry:
    """The soak's hub entry (tunnelling to knxd, or on core knx's connection): the demo's chargers and
    ``group``, or, after a restart, what ``previous`` entry's subentries hold now (the group's sign may
    have been inverted)."""
    if previous is not None:
        subentries = [
            ConfigSubentryDataWithId(
                subentry_id=sub.subentry_id, subentry_type=sub.subentry_type, title=sub.title,
                unique_id=sub.unique_id, data=dict(sub.data),
            )
            for sub in previous.subentries.values()
        ]
    else:
        subentries = [
            ConfigSubentryDataWithId(subentry_id=SUBENTRY_IDS[data["name"]], subentry_type=SUBENTRY_CHARGER,
                                     title=data["name"], unique_id=data["individual_address"], data=data)
            for data in chargers
        ]
        subentries.append(
            ConfigSubentryDataWithId(subentry_id=GROUP_ID, subentry_type=SUBENTRY_BALANCING, title=group["name"],
                                     unique_id=group["name"], data=group)
        )
    return MockConfigEntry(
        domain=DOMAIN,
        title="KNX bus",
        entry_id="soak",
        data={CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE} if CONNECTION == CONF_KNX_CORE else
        {CONF_KNX_CONNECTION_TYPE: CONF_KNX_TUNNELING, CONF_HOST: bus.gateway_ip, CONF_PORT: bus.port,
         CONF_KNX_LOCAL_IP: "127.0.0.1"},
        subentries_data=subentries,
    )


def core_knx_entry(bus: KnxdBus) -> MockConfigEntry:
    """Home Assistant's KNX integration tunnelling to knxd, as a user sets it up (one per instance)."""
    return MockConfigEntry(
        domain="knx", title="KNX", entry_id="soak_core_knx",
        data={**CORE_KNX_DATA, "connection_type": "tunneling", "host": bus.gateway_ip, "port": bus.port,
              "local_ip": "127.0.0.1", "route_back": False},
    )


class HomeAssistants:
    """Starts one Home Assistant at a time; ``hass`` is the running one (None while none is)."""

    def __init__(self) -> None:
        self.hass: HomeAssistant | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.started = 0

    async def start(self, stored: StoredStates | None = None) -> HomeAssistant:
        """Create and start an instance; ``stored``: the restore states a previous one left."""
        assert self.hass is None, "one Home Assistant at a time"
        stack = contextlib.AsyncExitStack()
        hass = await stack.enter_async_context(
            async_test_home_assistant(asyncio.get_running_loop(), True, config_dir=get_test_config_dir())
        )
        frame.async_setup(hass)
        await translation.async_load_integrations(hass, {HA_DOMAIN})
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # as the enable_custom_integrations fixture
        if stored:
            mock_restore_cache_with_extra_data(hass, stored)
        self.hass, self._stack = hass, stack
        self.started += 1
        return hass

    def stored_states(self) -> StoredStates:
        """What a stop of the running instance writes for the restore of the states."""
        assert self.hass is not None
        return [
            (s.state, s.extra_data.as_dict() if s.extra_data is not None else {})
            for s in rs.async_get(self.hass).async_get_stored_states()
        ]

    async def stop(self) -> None:
        """Stop the running instance (``HomeAssistant.async_stop``); the caller keeps time moving."""
        assert self.hass is not None
        await self.hass.async_stop()

    async def leave(self) -> list[str]:
        """Drop the stopped instance, as a process ends: its timers still scheduled are cancelled.

        Returns the jobs of those timers (Home Assistant's own and the integrations'; a figure).
        """
        hass, stack = self.hass, self._stack
        assert hass is not None and stack is not None
        self.hass = self._stack = None
        lingering = []
        for handle in get_scheduled_timer_handles(hass.loop):
            jobs = [arg for arg in handle._args or () if isinstance(arg, HassJob)]
            if not handle.cancelled() and jobs:
                lingering.append(str(jobs[0].name or jobs[0].target)[:120])
                handle.cancel()
        await stack.aclose()
        return lingering
