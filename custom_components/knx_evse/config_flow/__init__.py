"""Config flows of knx_evse: the hub entry (``KnxEvseConfigFlow``) and its subentry types.

Home Assistant imports this package and finds ``KnxEvseConfigFlow`` (registered for ``DOMAIN``). Its steps
come from ``hub.py`` (connection), ``secure.py`` (KNX Secure), ``reauth.py`` and ``hub_base.py``; a hub's
subentries are chargers (``charger.py`` with ``knxproj_import.py``) and balancing groups (``balancing.py``
with ``balancing_members.py``).
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigSubentryFlow
from homeassistant.core import callback

from ..const import DOMAIN, SUBENTRY_BALANCING, SUBENTRY_CHARGER
from .balancing import BalancingGroupSubentryFlow
from .charger import ChargerSubentryFlow
from .hub import HubFlow


class KnxEvseConfigFlow(HubFlow, domain=DOMAIN):
    """Hub flow: choose and test the KNX connection; one hub per connection (see ``hub.py``)."""

    VERSION = 1

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Subentry types of a hub: see ``SUBENTRY_FLOWS``."""
        return dict(SUBENTRY_FLOWS)


SUBENTRY_FLOWS: dict[str, type[ConfigSubentryFlow]] = {
    SUBENTRY_CHARGER: ChargerSubentryFlow,
    SUBENTRY_BALANCING: BalancingGroupSubentryFlow,  # balancing.py
}
"""Subentry type → flow. The balancing-group flow registers here too (``SUBENTRY_BALANCING``)."""
