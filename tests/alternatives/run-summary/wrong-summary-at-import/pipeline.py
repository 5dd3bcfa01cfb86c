"""The nightly pipeline: stage the night's Mobilize sign-ups, then build two tables from them.

Each step writes its row count to the run's log with Prefect's logger, and a warning when it wrote no rows.
At the end the flow publishes a run summary, the artifact `nightly-summary`: the run-history e-mail of Civis,
kept with the run in the Prefect web UI.
"""

import os
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

# The warehouse: warehouse.duckdb at the top of your workspace, two folders above this
# file. The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))
SUMMARY_KEY = "nightly-summary"


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def _report(table: str, rows: int, what: str) -> None:
    """One INFO line with the step's row count; a WARNING when it wrote nothing."""
    logger = get_run_logger()
    logger.info("%s: %d %s", table, rows, what)
    if rows == 0:
        logger.warning("%s is empty: no rows tonight. Is the Mobilize sync stuck?", table)


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
    _report("staging.nightly_signups", rows, f"sign-ups made since {since}")
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
    _report("analytics.nightly_attendance", rows, "events")
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
    _report("analytics.nightly_no_shows", rows, "no-shows to call back")
    return rows


def summary_markdown(since: str, counts: dict) -> str:
    """The run summary as a markdown table: one row per table the flow wrote."""
    lines = [
        f"# Nightly pipeline: sign-ups since {since}",
        "",
        "| Table | Rows |",
        "|---|---:|",
    ]
    lines += [f"| {table} | {rows} |" for table, rows in counts.items()]
    empty = [table for table, rows in counts.items() if rows == 0]
    if empty:
        lines += ["", f"**Look at this:** no rows in {', '.join(empty)}."]
    return "\n".join(lines)


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE, since: str = "2024-09-01") -> dict:
    """Stage the sign-ups made since `since`, then build the attendance and no-show tables."""
    # duckdb.connect() creates an empty database when the file is missing: say so instead.
    if not os.path.exists(warehouse):
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    counts = {}
    counts["staging.nightly_signups"] = stage_signups(warehouse, since)
    counts["analytics.nightly_attendance"] = build_attendance(warehouse)
    counts["analytics.nightly_no_shows"] = build_no_shows(warehouse)
    return counts


def _count_ahead(since: str = "2024-09-01") -> dict:
    """Work the figures out straight from the warehouse, without running the flow."""
    with duckdb.connect(WAREHOUSE, read_only=True) as con:
        staged, events, no_shows = con.execute(
            """
            WITH s AS (SELECT event_id, status FROM mobilize.signups
                       WHERE created_at >= CAST(? AS DATE) AND status <> 'cancelled')
            SELECT (SELECT count(*) FROM s), (SELECT count(DISTINCT event_id) FROM s),
                   (SELECT count(*) FROM s WHERE status = 'no_show')
            """,
            [since],
        ).fetchone()
    return {"staging.nightly_signups": staged, "analytics.nightly_attendance": events,
            "analytics.nightly_no_shows": no_shows}


create_markdown_artifact(key=SUMMARY_KEY, markdown=summary_markdown("2024-09-01", _count_ahead()))


if __name__ == "__main__":
    nightly_pipeline()
