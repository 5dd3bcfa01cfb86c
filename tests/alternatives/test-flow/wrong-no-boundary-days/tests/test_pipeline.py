"""Good tests, except the window: its days are far inside and far outside, never on the edges."""

from datetime import date

import pytest

import pipeline

END = date(2024, 10, 7)


def test_window(make_warehouse):
    warehouse = make_warehouse(
        people=[(1, "Erie")],
        donations=[(1, 1, 10, "2024-09-20 12:00"), (2, 1, 10, "2024-10-04 12:00"), (3, 1, 10, "2024-10-20 12:00")],
    )
    assert [row[0] for row in pipeline.read_donations.fn(warehouse, END, 7)] == [2]


def test_unknown_person_left_out(make_warehouse):
    warehouse = make_warehouse(people=[(1, "Erie")], donations=[(1, 2, 10, "2024-10-04 12:00")])
    assert pipeline.read_donations.fn(warehouse, END, 7) == []


def test_duplicates():
    rows = [(1, END, "Erie", 10), (1, END, "Erie", 10)]
    assert pipeline.drop_duplicates.fn(rows) == [(1, END, "Erie", 10)]


def test_missing_table(make_warehouse):
    warehouse = make_warehouse(leave_out=["actblue.donations"])
    with pytest.raises(pipeline.MissingTableError):
        pipeline.read_donations.fn(warehouse, END, 7)
