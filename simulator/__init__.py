"""Charger simulator, real KNX/IP bus (knxd in a network namespace) and house model for tests and the demo."""
