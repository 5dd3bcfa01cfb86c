"""One connection, opened by the flow and handed to every task: README.md forbids it (retries, caching and parallel tasks cannot share a connection), and the checks must say so."""

import os

import duckdb
from prefect import flow, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


@task
def get_signups(con):
    return con.execute(
        """
        SELECT s.event_id, e.title, s.email, s.status
        FROM mobilize.signups AS s
        JOIN mobilize.events AS e ON e.event_id = s.event_id
        """
    ).fetchall()


@task
def summarise(signups):
    events = {}
    for event_id, title, email, status in signups:
        email = (email or "").strip().lower()
        if email == "" or status == "cancelled":
            continue
        title_, everyone, came = events.get(event_id, (title, set(), set()))
        everyone.add(email)
        if status == "attended":
            came.add(email)
        events[event_id] = (title_, everyone, came)
    return [(k, t, len(a), len(c), len(c) / len(a)) for k, (t, a, c) in events.items()]


@task
def write(con, rows):
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute(
        "CREATE OR REPLACE TABLE analytics.event_attendance "
        "(event_id BIGINT, title VARCHAR, signups INTEGER, attended INTEGER, attendance_rate DOUBLE)"
    )
    con.executemany("INSERT INTO analytics.event_attendance VALUES (?, ?, ?, ?, ?)", rows)


@flow
def build_event_attendance(warehouse: str = WAREHOUSE):
    con = duckdb.connect(warehouse)
    try:
        write(con, summarise(get_signups(con)))
    finally:
        con.close()


if __name__ == "__main__":
    build_event_attendance()
