"""Tests for pipeline.py. Run them from this folder with:  uv run pytest tests

Each test builds its own small warehouse with make_warehouse, so the right answer is known
before the pipeline runs: it is worked out by hand from the rows the test chose.
"""

from datetime import date

import duckdb
import pytest

import pipeline

END = date(2024, 10, 7)  # with days=7 the window is 1 to 7 October, both included


def test_one_donation_is_counted(make_warehouse):
    warehouse = make_warehouse(
        people=[(1, "Erie")],
        donations=[(100, 1, "25.00", "2024-10-05 09:00")],
    )

    written = pipeline.nightly_donations(warehouse=warehouse, end_date=date(2024, 10, 7), days=7)

    assert written == 1
    with duckdb.connect(warehouse) as con:
        rows = con.execute("SELECT day, county, donations, amount FROM analytics.daily_donations").fetchall()
    assert rows == [(date(2024, 10, 5), "Erie", 1, 25)]


def test_window_keeps_both_ends_and_nothing_outside(make_warehouse):
    warehouse = make_warehouse(
        people=[(1, "Erie")],
        donations=[
            (1, 1, 10, "2024-09-30 23:30"),  # the day before the window
            (2, 1, 10, "2024-10-01 00:10"),  # the first day
            (3, 1, 10, "2024-10-07 23:50"),  # the last day
            (4, 1, 10, "2024-10-08 00:05"),  # the day after
        ],
    )

    rows = pipeline.read_donations.fn(warehouse, END, 7)

    assert [row[0] for row in rows] == [2, 3]


def test_people_not_in_the_voter_file_are_left_out(make_warehouse):
    warehouse = make_warehouse(
        people=[(1, "Erie")],
        donations=[(1, 1, 10, date(2024, 10, 3)), (2, 99, 50, date(2024, 10, 3))],
    )

    rows = pipeline.read_donations.fn(warehouse, END, 7)

    assert rows == [(1, date(2024, 10, 3), "Erie", 10)]


def test_a_donation_delivered_twice_counts_once():
    rows = [
        (1, date(2024, 10, 3), "Erie", 10),
        (1, date(2024, 10, 3), "Erie", 10),
        (2, date(2024, 10, 3), "Erie", 5),
    ]

    assert pipeline.drop_duplicates.fn(rows) == [rows[0], rows[2]]


def test_totals_per_day_and_county():
    rows = [
        (1, date(2024, 10, 3), "Erie", 10),
        (2, date(2024, 10, 3), "Erie", 5),
        (3, date(2024, 10, 3), "Centre", 7),
        (4, date(2024, 10, 4), "Erie", 1),
    ]

    assert pipeline.daily_totals.fn(rows) == [
        (date(2024, 10, 3), "Centre", 1, 7),
        (date(2024, 10, 3), "Erie", 2, 15),
        (date(2024, 10, 4), "Erie", 1, 1),
    ]


def test_a_missing_table_stops_the_pipeline(make_warehouse):
    warehouse = make_warehouse(people=[(1, "Erie")], leave_out=["actblue.donations"])

    with pytest.raises(pipeline.MissingTableError):
        pipeline.read_donations.fn(warehouse, END, 7)
