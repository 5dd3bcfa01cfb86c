"""Nightly donations: how many donations each county gave on each of the last few days.

This is the pipeline you write tests for. Do not change it: the checks run your
tests against the course's own copy of this file, and against broken copies of it.

The flow reads ActBlue donations, keeps those by people found in the voter file,
drops donations the import delivered twice, adds them up per day and county, and
writes analytics.daily_donations. Each step is a task you can call on its own
with `.fn` in a test.
"""

import os
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from prefect import flow, get_run_logger, task
from prefect.exceptions import MissingContextError

# The checks (and your tests) can point FLOWCAMP_WAREHOUSE at another file.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))
# A donation's day is its day in Pennsylvania, where the campaign is.
LOCAL_TIME = "America/New_York"
NEEDED_TABLES = ["actblue.donations", "voterfile.people"]


class MissingTableError(RuntimeError):
    """A table the pipeline reads is not in the warehouse (the import that fills it did not run)."""


def log(message: str) -> None:
    """Log to the Prefect run; say nothing when a test calls a task with .fn (there is no run then)."""
    try:
        get_run_logger().info(message)
    except MissingContextError:
        pass


@task
def read_donations(warehouse: str, end_date: date, days: int) -> list[tuple]:
    """Donations made in the `days` days that end with `end_date` (both ends included), by people who
    are in the voter file: one (donation_id, day, county, amount) tuple per row, ordered by day, then
    donation_id. Rows the import delivered twice are still here. Raises MissingTableError if a table
    is missing."""
    if not Path(warehouse).exists():
        raise FileNotFoundError(f"There is no warehouse at {warehouse}.")
    with duckdb.connect(warehouse, read_only=True) as con:
        for table in NEEDED_TABLES:
            schema, name = table.split(".")
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                [schema, name],
            ).fetchone()[0]
            if not found:
                raise MissingTableError(f"The table {table} is missing from the warehouse.")
        rows = con.execute(
            f"""
            SELECT d.donation_id,
                   CAST(timezone('{LOCAL_TIME}', d.donated_at) AS DATE) AS day,
                   coalesce(p.county, 'Unknown') AS county,
                   d.amount
            FROM actblue.donations AS d
            JOIN voterfile.people AS p ON p.person_id = d.person_id
            WHERE CAST(timezone('{LOCAL_TIME}', d.donated_at) AS DATE) > ? - ?::INTEGER
              AND CAST(timezone('{LOCAL_TIME}', d.donated_at) AS DATE) <= ?
            ORDER BY day, d.donation_id
            """,
            [end_date, days, end_date],
        ).fetchall()
    log(f"Read {len(rows)} donations from {days} days up to {end_date}")
    return rows


@task
def drop_duplicates(rows: list[tuple]) -> list[tuple]:
    """Keep the first row of each donation_id (the first item of each row), in the same order."""
    seen = set()
    kept = []
    for row in rows:
        if row[0] in seen:
            continue
        seen.add(row[0])
        kept.append(row)
    log(f"Dropped {len(rows) - len(kept)} duplicate rows")
    return kept


@task
def daily_totals(rows: list[tuple]) -> list[tuple]:
    """One (day, county, donations, amount) tuple per day and county, ordered by day, then county."""
    totals = {}
    for _donation_id, day, county, amount in rows:
        count, total = totals.get((day, county), (0, 0))
        totals[(day, county)] = (count + 1, total + amount)
    return [(day, county, count, total) for (day, county), (count, total) in sorted(totals.items())]


@task
def write_totals(warehouse: str, totals: list[tuple]) -> int:
    """Replace analytics.daily_donations with these rows; returns how many rows it wrote."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            "CREATE OR REPLACE TABLE analytics.daily_donations "
            "(day DATE, county VARCHAR, donations INTEGER, amount DECIMAL(12, 2))"
        )
        if totals:  # executemany() refuses an empty list
            con.executemany("INSERT INTO analytics.daily_donations VALUES (?, ?, ?, ?)", totals)
    log(f"Wrote {len(totals)} rows to analytics.daily_donations")
    return len(totals)


@flow
def nightly_donations(warehouse: str = WAREHOUSE, end_date: date | None = None, days: int = 7) -> int:
    """Rebuild analytics.daily_donations for the `days` days that end with `end_date`
    (yesterday in Pennsylvania when it is not given)."""
    if end_date is None:
        end_date = datetime.now(ZoneInfo(LOCAL_TIME)).date() - timedelta(days=1)
    rows = read_donations(warehouse, end_date, days)
    rows = drop_duplicates(rows)
    totals = daily_totals(rows)
    return write_totals(warehouse, totals)


if __name__ == "__main__":
    # The sample warehouse's donations end on 31 December 2024: yesterday would find none.
    nightly_donations(end_date=date(2024, 12, 31))
