"""Fault-injection tests: bad telegrams, silent chargers, restarts, bursts, clashes, secrets."""
