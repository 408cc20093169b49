"""charger: see docs/architecture.md."""
