"""A connection made by a helper function and handed from task to task: reading the file does not show it is a
connection, only the run does (Prefect cannot compute a cache key for it)."""

import os

import duckdb
from prefect import flow, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


def open_warehouse(path):
    return duckdb.connect(path)


@task
def read_signups(db):
    return db.execute(
        """
        SELECT s.event_id, e.title, s.email, s.status
        FROM mobilize.signups AS s
        JOIN mobilize.events AS e ON e.event_id = s.event_id
        """
    ).fetchall()


@task
def count(signups):
    events = {}
    for event_id, title, email, status in signups:
        email = (email or "").strip().lower()
        status = (status or "").strip().lower()
        if email == "" or status == "cancelled":
            continue
        row = events.setdefault(event_id, [title, set(), set()])
        row[1].add(email)
        if status == "attended":
            row[2].add(email)
    return [(k, t, len(s), len(a), len(a) / len(s)) for k, (t, s, a) in sorted(events.items())]


@task
def save(db, rows):
    db.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    db.execute(
        "CREATE OR REPLACE TABLE analytics.event_attendance "
        "(event_id BIGINT, title VARCHAR, signups INTEGER, attended INTEGER, attendance_rate DOUBLE)"
    )
    db.executemany("INSERT INTO analytics.event_attendance VALUES (?, ?, ?, ?, ?)", rows)


@flow
def build_event_attendance(warehouse: str = WAREHOUSE):
    db = open_warehouse(warehouse)
    rows = count(read_signups(db))
    save(db, rows)
    db.close()


if __name__ == "__main__":
    build_event_attendance()
