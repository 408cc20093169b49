"""Fixtures of the knxbus tests: the real-bus fixtures of tests/e2e/conftest.py."""

from tests.e2e.conftest import bus_netns, fresh_knxd_bus, knxd_bus, sockets_enabled, tunnel_client

__all__ = ["bus_netns", "fresh_knxd_bus", "knxd_bus", "sockets_enabled", "tunnel_client"]
