"""Tests on the learner's own warehouse.duckdb, with numbers read from it: the checks have no warehouse."""

from datetime import date

import pipeline


def test_last_week_of_2024():
    rows = pipeline.read_donations.fn(pipeline.WAREHOUSE, date(2024, 12, 31), 7)
    assert len(rows) == 21
    assert len(pipeline.drop_duplicates.fn(rows)) == 21
