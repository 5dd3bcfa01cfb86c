"""The nightly pipeline: stage the night's Mobilize sign-ups, then build two tables from them.

It is already a Prefect flow, and it works. But it reports the way a Civis script did: with print(), which
Prefect does not send to the server, so the run in the web UI says nothing about how many rows each step
wrote. And nobody gets the run-history e-mail any more. README.md says what to add.
"""

import os
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact

# The warehouse: warehouse.duckdb at the top of your workspace, two folders above this
# file. The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@task
def stage_signups(warehouse: str, since: str) -> int:
    """Step 1: copy the sign-ups made since `since` (not cancelled) to staging.nightly_signups."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS staging")
        con.execute(
            """
            CREATE OR REPLACE TABLE staging.nightly_signups AS
            SELECT signup_id, event_id, lower(trim(email)) AS email, status, created_at
            FROM mobilize.signups
            WHERE created_at >= CAST(? AS DATE) AND status <> 'cancelled'
            """,
            [since],
        )
        rows = _count(con, "staging.nightly_signups")
    print(f"Staged {rows} sign-ups made since {since}")
    return rows


@task
def build_attendance(warehouse: str) -> int:
    """Step 2: one row per event in analytics.nightly_attendance."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.nightly_attendance AS
            SELECT s.event_id, e.title,
                   count(*) AS signups,
                   count(*) FILTER (WHERE s.status = 'attended') AS attended
            FROM staging.nightly_signups AS s
            JOIN mobilize.events AS e USING (event_id)
            GROUP BY s.event_id, e.title
            """
        )
        rows = _count(con, "analytics.nightly_attendance")
    print(f"Built attendance for {rows} events")
    return rows


@task
def build_no_shows(warehouse: str) -> int:
    """Step 3: the sign-ups marked no_show, for the follow-up calls, in analytics.nightly_no_shows."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.nightly_no_shows AS
            SELECT signup_id, event_id, email, created_at
            FROM staging.nightly_signups
            WHERE status = 'no_show'
            """
        )
        rows = _count(con, "analytics.nightly_no_shows")
    print(f"Found {rows} no-shows")
    return rows


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE, since: str = "2024-09-01") -> dict:
    """Stage the sign-ups made since `since`, then build the attendance and no-show tables."""
    # duckdb.connect() creates an empty database when the file is missing: say so instead.
    if not os.path.exists(warehouse):
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    staged = stage_signups(warehouse, since)
    events = build_attendance(warehouse)
    no_shows = build_no_shows(warehouse)
    logger = get_run_logger()
    table = []
    for name, rows in [("staging.nightly_signups", staged), ("analytics.nightly_attendance", events),
                       ("analytics.nightly_no_shows", no_shows)]:
        logger.info(f"{name} now has {rows} rows")
        if not rows:
            logger.warning(f"{name} came out empty; check the Mobilize sync before anyone uses it")
        table.append({"step": name.split(".")[1], "schema": name.split(".")[0], "row_count": rows, "since": since})
    create_table_artifact(key="nightly-summary", table=table, description="Row counts of tonight's run")
    return {"staged": staged, "events": events, "no_shows": no_shows}


if __name__ == "__main__":
    nightly_pipeline()
