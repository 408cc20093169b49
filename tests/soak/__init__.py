"""The soak benchmark (scripts/soak): a time-compressed day of the demo house with faults injected."""
