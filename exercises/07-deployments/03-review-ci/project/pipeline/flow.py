"""The nightly flow: each step of steps.py becomes a task.

Run it from this folder with `uv run python -m pipeline.flow` (it reads the
warehouse named in FLOWCAMP_WAREHOUSE).
"""

import os
from datetime import date

import duckdb
from prefect import flow, task

from pipeline import steps


@task
def read_recent(warehouse: str, end_date: date, days: int) -> list[tuple]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return steps.recent_donations(con, end_date, days)


@task
def clean(rows: list[tuple]) -> list[tuple]:
    return steps.drop_duplicates(rows)


@task
def add_up(rows: list[tuple]) -> dict[str, float]:
    return steps.total_by_person(rows)


@flow(name="nightly-donations")
def nightly(warehouse: str = os.environ.get("FLOWCAMP_WAREHOUSE", "warehouse.duckdb"),
            end_date: date = date(2024, 10, 7), days: int = 7) -> dict[str, float]:
    rows = read_recent(warehouse, end_date, days)
    return add_up(clean(rows))


if __name__ == "__main__":
    print(nightly())
