"""knx: see docs/architecture.md."""
