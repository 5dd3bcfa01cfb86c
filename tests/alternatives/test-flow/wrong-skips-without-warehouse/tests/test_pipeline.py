"""Tests that need the real warehouse, and skip themselves where there is none: where the checks (and CI) run
them, nothing is tested at all."""

from datetime import date
from pathlib import Path

import pytest

import pipeline

pytestmark = pytest.mark.skipif(not Path(pipeline.WAREHOUSE).exists(), reason="no warehouse here")


def test_last_week_has_donations():
    rows = pipeline.read_donations.fn(pipeline.WAREHOUSE, date(2024, 12, 31), 7)
    assert rows
    assert len(pipeline.drop_duplicates.fn(rows)) == len({row[0] for row in rows})
