"""One parametrized test per window day, task tests with .fn, and the failed state of a flow run."""

from datetime import date

import pytest

import pipeline

DAYS = [("2024-09-30 23:59", False), ("2024-10-01 00:00", True), ("2024-10-04 12:00", True),
        ("2024-10-07 23:59", True), ("2024-10-08 00:00", False)]


@pytest.mark.parametrize(("when", "inside"), DAYS)
def test_window(make_warehouse, when, inside):
    warehouse = make_warehouse(people=[(5, "Bucks")], donations=[(1, 5, "12.50", when)])
    rows = pipeline.read_donations.fn(warehouse, date(2024, 10, 7), 7)
    assert len(rows) == (1 if inside else 0)


def test_unknown_person(make_warehouse):
    warehouse = make_warehouse(people=[(5, "Bucks")], donations=[(1, 6, "12.50", date(2024, 10, 2))])
    assert pipeline.read_donations.fn(warehouse, date(2024, 10, 7), 7) == []


def test_duplicates_then_totals():
    rows = [(1, date(2024, 10, 2), "Bucks", 4), (1, date(2024, 10, 2), "Bucks", 4)]
    totals = pipeline.daily_totals.fn(pipeline.drop_duplicates.fn(rows))
    assert totals == [(date(2024, 10, 2), "Bucks", 1, 4)]


def test_flow_run_fails_without_the_table(make_warehouse):
    warehouse = make_warehouse(people=[(5, "Bucks")], leave_out=["actblue.donations"])
    state = pipeline.nightly_donations(warehouse=warehouse, end_date=date(2024, 10, 7), days=7,
                                       return_state=True)
    assert state.is_failed()
