"""Every test runs the whole flow on a tiny warehouse and reads the table it wrote (no .fn)."""

from datetime import date

import duckdb
import pytest

import pipeline


def run_and_read(warehouse):
    pipeline.nightly_donations(warehouse=warehouse, end_date=date(2024, 10, 7), days=7)
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute("SELECT day, county, donations, amount FROM analytics.daily_donations "
                           "ORDER BY day, county").fetchall()


def test_table_has_the_right_rows(make_warehouse):
    warehouse = make_warehouse(
        people=[(1, "Erie"), (2, "Centre")],
        donations=[
            (10, 1, 5, "2024-09-30 22:00"),   # before the window
            (11, 1, 7, "2024-10-01 01:00"),   # first day
            (12, 2, 3, "2024-10-07 20:00"),   # last day
            (12, 2, 3, "2024-10-07 20:00"),   # the same donation again
            (13, 1, 9, "2024-10-08 08:00"),   # after the window
            (14, 42, 100, "2024-10-03 12:00"),  # person 42 is not in the voter file
        ],
    )
    assert run_and_read(warehouse) == [
        (date(2024, 10, 1), "Erie", 1, 7),
        (date(2024, 10, 7), "Centre", 1, 3),
    ]


def test_missing_donations_table_fails_the_flow(make_warehouse):
    warehouse = make_warehouse(people=[(1, "Erie")], leave_out=["actblue.donations"])
    with pytest.raises(pipeline.MissingTableError):
        pipeline.nightly_donations(warehouse=warehouse, end_date=date(2024, 10, 7), days=7)
