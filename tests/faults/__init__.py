"""Fault-injection tests of issue 8: bad telegrams, silent chargers, restarts, bursts, clashes, secrets."""
