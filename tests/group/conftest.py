"""Fixtures of the balancing-group tests."""

import pytest


@pytest.fixture(autouse=True)
def _no_unanswered_reads_check(no_unanswered_reads_check: None) -> None:
    """These tests move the clock past the repairs' answer window and their chargers answer no
    start-up read (tests/conftest.py, ``no_unanswered_reads_check``)."""
