"""Tests for pipeline.py. Run them from this folder with:  uv run pytest tests

One test is written for you: it runs the whole flow on a tiny warehouse and reads the table it
wrote. Add your own tests below it. README.md says what they must catch. Each test:

- is a function whose name starts with test_ ;
- builds its own small warehouse with make_warehouse (never the real warehouse.duckdb);
- calls a task's code with .fn, e.g. pipeline.drop_duplicates.fn(rows), or runs the flow;
- uses assert to say what the answer must be, worked out by hand from the rows you chose.
"""

from datetime import date

import duckdb
import pytest  # for `with pytest.raises(...)`, in a test that expects an error

import pipeline


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


# Your tests go here. Ideas, one test each:
# - the first and the last day of the window are included, the days just outside are not
#   (pipeline.read_donations.fn(warehouse, end_date, days));
# - a donation by someone who is not in voterfile.people is left out;
# - a donation the import delivered twice is counted once (pipeline.drop_duplicates.fn(rows));
# - a missing table stops the pipeline with pipeline.MissingTableError (pytest.raises).
