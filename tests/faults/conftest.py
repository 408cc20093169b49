"""Fixtures of the fault tests: the real-bus fixtures of tests/e2e/conftest.py for test_bus_faults_e2e.py."""

from tests.e2e.conftest import bus_netns, knxd_bus, sockets_enabled

__all__ = ["bus_netns", "knxd_bus", "sockets_enabled"]
