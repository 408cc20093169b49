"""The chargers' individual addresses heard on the bus, remembered across reloads and restarts.

A charger sends with its individual address as the source. Once its configured address has been
heard, another source on its sending addresses is a faulty or misprogrammed device whose values are
not the charger's (``ChargerCoordinator._from_charger``). Remembering that the address was heard
closes the window after a reload or a Home Assistant restart in which such a device's telegrams
would be taken until the charger spoke again (its session energy, say, into the lifetime energy).

One store for the integration, ``.storage/knx_evse.heard_addresses``:
``{entry_id: {subentry_id: "1.1.2"}}``. A charger whose configured address is not the one stored
(reconfigured) counts as not heard until it speaks.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN

STORE_VERSION = 1
SAVE_DELAY = 1.0
"""s: a confirmation is written this long after it is learnt (and when Home Assistant stops)."""
DATA_HEARD: HassKey[HeardAddresses] = HassKey(f"{DOMAIN}_heard_addresses")


class HeardAddresses:
    """Which charger subentry's individual address was heard on the bus (see the module docstring)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Create it empty; ``async_load`` reads the store."""
        self._store: Store[dict[str, dict[str, str]]] = Store(hass, STORE_VERSION, f"{DOMAIN}.heard_addresses")
        self._heard: dict[str, dict[str, str]] = {}

    async def async_load(self) -> None:
        """Read the store; anything not of the stored shape is dropped, not raised."""
        stored: Any = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        for entry_id, chargers in stored.items():
            if isinstance(chargers, dict):
                self._heard[str(entry_id)] = {str(k): v for k, v in chargers.items() if isinstance(v, str)}

    def was_heard(self, entry_id: str, subentry_id: str, address: str) -> bool:
        """Return True when ``address`` (e.g. "1.1.2") was heard from this charger before."""
        return self._heard.get(entry_id, {}).get(subentry_id) == address

    def heard(self, entry_id: str, subentry_id: str, address: str) -> None:
        """Remember that the charger's ``address`` was heard; saved shortly after a change."""
        chargers = self._heard.setdefault(entry_id, {})
        if chargers.get(subentry_id) != address:
            chargers[subentry_id] = address
            self._save()

    def retain(self, entry_id: str, subentry_ids: set[str]) -> None:
        """Forget the entry's chargers that are gone; with no ``subentry_ids``, the whole entry."""
        chargers = self._heard.get(entry_id, {})
        gone = set(chargers) - subentry_ids
        for subentry_id in gone:
            del chargers[subentry_id]
        if not chargers:
            self._heard.pop(entry_id, None)
        if gone:
            self._save()

    def _save(self) -> None:
        self._store.async_delay_save(lambda: {k: dict(v) for k, v in self._heard.items()}, SAVE_DELAY)


async def async_load_heard_addresses(hass: HomeAssistant) -> HeardAddresses:
    """Return the integration's `HeardAddresses`, read from the store the first time."""
    if (heard := hass.data.get(DATA_HEARD)) is None:
        heard = HeardAddresses(hass)
        await heard.async_load()
        hass.data[DATA_HEARD] = heard
    return heard
