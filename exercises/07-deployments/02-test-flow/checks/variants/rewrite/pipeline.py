"""Nightly donations: how many donations each county gave on each of the last few days.

This is the pipeline you write tests for. Do not change it: the checks run your
tests against the course's own copy of this file, and against broken copies of it.

The flow reads ActBlue donations, keeps those by people found in the voter file,
drops donations the import delivered twice, adds them up per day and county, and
writes analytics.daily_donations. Each step is a task you can call on its own
with `.fn` in a test.
"""

import os
from collections import defaultdict
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

QUERY = """
WITH local AS (
    SELECT donation_id, person_id, amount, timezone('America/New_York', donated_at)::DATE AS day
    FROM actblue.donations
)
SELECT local.donation_id, local.day, coalesce(people.county, 'Unknown'), local.amount
FROM local
INNER JOIN voterfile.people AS people USING (person_id)
WHERE local.day BETWEEN $first_day AND $last_day
ORDER BY 2, 1
"""


class MissingTableError(RuntimeError):
    """A table the pipeline reads is not in the warehouse (the import that fills it did not run)."""


def log(message: str) -> None:
    """Log to the Prefect run; say nothing when a test calls a task with .fn (there is no run then)."""
    try:
        logger = get_run_logger()
    except MissingContextError:
        return
    logger.info(message)


def _missing_tables(con) -> list[str]:
    present = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    return [table for table in NEEDED_TABLES if table not in present]


@task
def read_donations(warehouse: str, end_date: date, days: int) -> list[tuple]:
    """Donations made in the `days` days that end with `end_date` (both ends included), by people who
    are in the voter file: one (donation_id, day, county, amount) tuple per row, ordered by day, then
    donation_id. Rows the import delivered twice are still here. Raises MissingTableError if a table
    is missing."""
    if not os.path.isfile(warehouse):
        raise FileNotFoundError(f"There is no warehouse at {warehouse}.")
    first_day = end_date - timedelta(days=days - 1)
    con = duckdb.connect(warehouse, read_only=True)
    try:
        try:
            rows = con.execute(QUERY, {"first_day": first_day, "last_day": end_date}).fetchall()
        except duckdb.CatalogException as error:
            missing = _missing_tables(con)
            if missing:
                raise MissingTableError(f"The table {missing[0]} is missing from the warehouse.") from error
            raise
    finally:
        con.close()
    log(f"{len(rows)} donations between {first_day} and {end_date}")
    return [tuple(row) for row in rows]


@task
def drop_duplicates(rows: list[tuple]) -> list[tuple]:
    """Keep the first row of each donation_id (the first item of each row), in the same order."""
    first_seen = {}
    for row in rows:
        first_seen.setdefault(row[0], row)
    return list(first_seen.values())


@task
def daily_totals(rows: list[tuple]) -> list[tuple]:
    """One (day, county, donations, amount) tuple per day and county, ordered by day, then county."""
    amounts = defaultdict(list)
    for row in rows:
        amounts[row[1], row[2]].append(row[3])
    return [(key[0], key[1], len(values), sum(values)) for key, values in sorted(amounts.items())]


@task
def write_totals(warehouse: str, totals: list[tuple]) -> int:
    """Replace analytics.daily_donations with these rows; returns how many rows it wrote."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute("DROP TABLE IF EXISTS analytics.daily_donations")
        con.execute("CREATE TABLE analytics.daily_donations "
                    "(day DATE, county VARCHAR, donations INTEGER, amount DECIMAL(12, 2))")
        for row in totals:
            con.execute("INSERT INTO analytics.daily_donations (day, county, donations, amount) "
                        "VALUES ($1, $2, $3, $4)", list(row))
    log(f"analytics.daily_donations: {len(totals)} rows")
    return len(totals)


@flow
def nightly_donations(warehouse: str = WAREHOUSE, end_date: date | None = None, days: int = 7) -> int:
    """Rebuild analytics.daily_donations for the `days` days that end with `end_date`
    (yesterday in Pennsylvania when it is not given)."""
    last_day = end_date if end_date is not None else (datetime.now(ZoneInfo(LOCAL_TIME)) - timedelta(days=1)).date()
    totals = daily_totals(drop_duplicates(read_donations(warehouse, last_day, days)))
    return write_totals(warehouse, totals)


if __name__ == "__main__":
    # The sample warehouse's donations end on 31 December 2024: yesterday would find none.
    nightly_donations(end_date=date(2024, 12, 31))
