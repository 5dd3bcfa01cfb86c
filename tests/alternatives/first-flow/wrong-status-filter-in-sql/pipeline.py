"""A SQL-first answer that filters the raw status: a sign-up with no status is dropped, ' Cancelled ' kept."""

import os

import duckdb
from prefect import flow, get_run_logger, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


@task
def stage_clean_signups(warehouse: str) -> None:
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.signups_clean AS
            SELECT DISTINCT s.event_id, e.title, lower(trim(s.email)) AS email, s.status AS status
            FROM mobilize.signups AS s
            JOIN mobilize.events AS e USING (event_id)
            WHERE s.status <> 'cancelled' AND trim(coalesce(s.email, '')) <> ''
            """
        )


@task
def build_table(warehouse: str) -> None:
    with duckdb.connect(warehouse) as con:
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.event_attendance AS
            SELECT event_id,
                   title,
                   count(DISTINCT email) AS signups,
                   count(DISTINCT email) FILTER (WHERE status = 'attended') AS attended,
                   round(count(DISTINCT email) FILTER (WHERE status = 'attended') / count(DISTINCT email), 2)
                       AS attendance_rate
            FROM analytics.signups_clean
            GROUP BY event_id, title
            ORDER BY event_id
            """
        )


@task
def report(warehouse: str) -> int:
    with duckdb.connect(warehouse) as con:
        n = con.execute("SELECT count(*) FROM analytics.event_attendance").fetchone()[0]
    get_run_logger().info("analytics.event_attendance has %d events", n)
    return n


@flow(name="event-attendance", log_prints=True)
def build_event_attendance(warehouse: str = WAREHOUSE) -> int:
    stage_clean_signups(warehouse)
    build_table(warehouse)
    return report(warehouse)


if __name__ == "__main__":
    build_event_attendance()
