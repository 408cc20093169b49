"""Fixtures of the soak: the real-bus fixtures of tests/e2e/conftest.py."""

from tests.e2e.conftest import bus_netns, knxd_bus, sockets_enabled

__all__ = ["bus_netns", "knxd_bus", "sockets_enabled"]
