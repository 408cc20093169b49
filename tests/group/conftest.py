"""Fixtures of the balancing-group tests."""

from collections.abc import Iterator
from unittest.mock import patch

import pytest


@pytest.fixture(autouse=True)
def no_unanswered_reads_check() -> Iterator[None]:
    """These tests move the clock past the repairs' answer window, and their chargers answer no
    start-up read: keep the repairs' second reads (tests/test_repairs.py) out of their telegrams."""
    with patch("custom_components.knx_evse.charger.repairs.READ_ANSWER_TIMEOUT", 1e9):
        yield
