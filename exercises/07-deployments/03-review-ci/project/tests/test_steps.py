"""Tests for the pipeline's steps, on a tiny warehouse built in memory."""

from datetime import date

import duckdb
import pytest

from pipeline import steps


@pytest.fixture
def con():
    db = duckdb.connect()
    db.execute("CREATE SCHEMA actblue")
    db.execute("CREATE TABLE actblue.donations (donation_id VARCHAR, person_id VARCHAR, "
               "amount DECIMAL(10, 2), donated_at TIMESTAMPTZ, refunded BOOLEAN)")
    db.executemany("INSERT INTO actblue.donations VALUES (?, ?, ?, ?, ?)", [
        ("d1", "p1", 10, "2024-09-30 12:00:00+00", False),  # the day before the window
        ("d2", "p1", 20, "2024-10-01 12:00:00+00", False),  # its first day
        ("d3", "p2", 5, "2024-10-07 12:00:00+00", False),   # its last day
        ("d4", "p2", 7, "2024-10-07 13:00:00+00", True),    # refunded
        ("d5", "p3", 9, "2024-10-08 12:00:00+00", False),   # the day after
    ])
    yield db
    db.close()


def test_window_keeps_both_ends(con):
    rows = steps.recent_donations(con, date(2024, 10, 7), days=7)
    assert [r[0] for r in rows] == ["d2", "d3"]


def test_drop_duplicates_keeps_the_first():
    rows = [("d1", "p1", 10), ("d2", "p2", 5), ("d1", "p1", 10)]
    assert steps.drop_duplicates(rows) == [("d1", "p1", 10), ("d2", "p2", 5)]


def test_total_by_person():
    rows = [("d1", "p1", 10), ("d2", "p1", 5), ("d3", "p2", 1)]
    assert steps.total_by_person(rows) == {"p1": 15.0, "p2": 1.0}
