"""Home Assistant's own KNX integration ("core knx") loaded beside the hub, on a faked interface.

In the spirit of ``KNXTestKit`` in Home Assistant core's tests/components/knx/conftest.py
(home-assistant/core), which the test plugin does not ship: core knx's xknx gets a mocked KNX/IP
interface through ``xknx.xknx.knx_interface_factory`` that "connects" at once, every telegram it
sends is captured, and incoming telegrams are put into its telegram queue as the bus would deliver
them. Our ``KnxTestKit`` already does exactly that for whichever xknx instance is created, so
``CoreKnxTestKit`` reuses it: with a hub on core knx's connection, the only xknx there is core
knx's, and ``outgoing``/``receive_*``/``set_connected`` act on it.

Core knx reads its YAML (``configuration.yaml``) and keeps a telegram database under the config
directory, so the kit gives Home Assistant a private one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryDataWithId
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.knx_evse.const import CONF_KNX_CONNECTION_TYPE, CONF_KNX_CORE, CORE_KNX_DOMAIN, DOMAIN
from tests.knx_harness import KnxTestKit

CORE_KNX_DATA: dict[str, Any] = {
    "connection_type": "automatic",
    "individual_address": "0.0.240",
    "multicast_group": "224.0.23.12",
    "multicast_port": 3671,
    "rate_limit": 0,
    "state_updater": True,
}
"""Core knx's entry data as its version 1 stored it (as in core's tests); newer core knx migrates it."""


def core_hub_entry(subentries: Iterable[ConfigSubentryDataWithId] = ()) -> MockConfigEntry:
    """A hub config entry on core knx's connection with the given charger subentries."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="KNX hub",
        data={CONF_KNX_CONNECTION_TYPE: CONF_KNX_CORE},
        subentries_data=list(subentries),
        unique_id=CONF_KNX_CORE,
    )


class CoreKnxTestKit(KnxTestKit):
    """``KnxTestKit`` on core knx's xknx; records the knx actions the hub calls."""

    def __init__(self, hass: HomeAssistant, config_dir: Path) -> None:
        """Give Home Assistant ``config_dir`` (with an empty configuration.yaml); nothing is set up yet."""
        super().__init__(hass)
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "configuration.yaml").write_text("")
        hass.config.config_dir = str(config_dir)
        self.core_entry = MockConfigEntry(domain=CORE_KNX_DOMAIN, title="KNX", data=dict(CORE_KNX_DATA))
        self.calls: list[tuple[str, dict[str, Any]]] = []
        """(service, data) of every knx action called, in order."""
        hass.bus.async_listen(EVENT_CALL_SERVICE, self._service_called)

    @callback
    def _service_called(self, event: Event) -> None:
        if event.data["domain"] == CORE_KNX_DOMAIN:
            self.calls.append((event.data["service"], dict(event.data["service_data"])))

    def take_calls(self, service: str | None = None) -> list[dict[str, Any]]:
        """The data of the knx actions called since the last take (only ``service`` if given)."""
        calls, self.calls = self.calls, []
        return [data for name, data in calls if service is None or name == service]

    async def flush(self) -> None:
        """Settle twice: core knx's connection state reaches the hub through its sensor's state
        change, which Home Assistant 2026.2 delivers a loop turn later than the telegrams it causes."""
        await super().flush()
        await super().flush()

    async def setup_core_knx(self, *, setup: bool = True) -> MockConfigEntry:
        """Add core knx's config entry and, with ``setup``, load it (its interface connects at once)."""
        if self.core_entry.entry_id not in {e.entry_id for e in self.hass.config_entries.async_entries()}:
            self.core_entry.add_to_hass(self.hass)
        if setup:
            assert await self.hass.config_entries.async_setup(self.core_entry.entry_id)
            await self.flush()
            assert self.core_entry.state is ConfigEntryState.LOADED
        return self.core_entry

    async def unload_core_knx(self) -> None:
        """Unload core knx (as a user who disables it, or before it reloads)."""
        if self.core_entry.state is ConfigEntryState.LOADED:
            assert await self.hass.config_entries.async_unload(self.core_entry.entry_id)
        await self.flush()
