"""Config flows: the hub (one KNX connection) and its charger subentries.

Hub flow (``KnxEvseConfigFlow``), modelled on core ``knx``'s config flow with the same connection types
and data keys: automatic (offered when a gateway answers the scan), UDP/TCP tunnelling, secure
tunnelling (``.knxkeys`` upload or manual credentials) and routing / secure routing. The connection is
tested with xknx before the entry is created or changed (``async_test_connection``). One hub per
connection: the unique id is the gateway (``host:port``), the routing group, or "automatic".
Reauthentication (``reauth`` → ``reauth_confirm``), started by Home Assistant when set-up raises
``ConfigEntryAuthFailed``, asks only for the secrets the hub uses (a new keyring and its password,
the secure tunnel's user ID, password and device authentication code, or the backbone key), tests
the connection and reloads the hub.

Charger subentry flow (``ChargerSubentryFlow``), following the manual's ETS pages:
``charger`` (name, individual address, model features, OCPP mode) → ``general`` → ``status_sending`` →
``advanced`` → ``connector_1`` (→ ``connector_2``) (→ ``load_balancing`` → ``load_balancing_limits``)
→ ``group_addresses``. Parameters are validated by ``ChargerParameters.from_dict`` after every step;
its errors become translated errors on the field (or on the section holding it). Instead of typing,
``knxproj`` imports chargers from an ETS project (see ``knxproj.py``): upload → (password) → pick
chargers → per charger a summary to confirm → optionally the parameter steps → group addresses.

The subentry stores ``{name, individual_address, model, parameters, group_addresses}`` (see const.py);
its unique id is the individual address. Reconfigure runs the same steps prefilled; the runtime reloads
the entry and drops entities of objects that are no longer enabled.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigSubentryFlow
from homeassistant.core import callback

from ..const import DOMAIN, SUBENTRY_BALANCING, SUBENTRY_CHARGER
from .balancing import BalancingGroupSubentryFlow
from .charger import ChargerSubentryFlow
from .hub import HubFlow


class KnxEvseConfigFlow(HubFlow, domain=DOMAIN):
    """Hub flow: choose and test the KNX connection (see the module docstring)."""

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
