"""The solution with the extract task's `return` forgotten: it hands None to the next task."""
import os

import duckdb
from prefect import flow, get_run_logger, task

# On Civis the warehouse was Redshift. Here it is a DuckDB file. The checks
# point FLOWCAMP_WAREHOUSE at their own copy of the warehouse.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


@task(retries=2, retry_delay_seconds=5)
def extract_signups(warehouse: str) -> list[tuple]:
    """Step 1: read every sign-up, with the title of its event."""
    with duckdb.connect(warehouse) as con:
        signups = con.execute(
            """
            SELECT s.event_id, e.title, s.email, s.status
            FROM mobilize.signups AS s
            JOIN mobilize.events AS e ON e.event_id = s.event_id
            """
        ).fetchall()
    get_run_logger().info("Read %d sign-ups", len(signups))


@task
def count_attendance(signups: list[tuple]) -> list[tuple]:
    """Step 2: clean emails, drop cancelled sign-ups, count people per event."""
    events = {}
    for event_id, title, email, status in signups:
        email = (email or "").strip().lower()
        status = (status or "").strip().lower()
        if email == "" or status == "cancelled":
            continue
        if event_id not in events:
            events[event_id] = {"title": title, "signed_up": set(), "attended": set()}
        events[event_id]["signed_up"].add(email)
        if status == "attended":
            events[event_id]["attended"].add(email)

    attendance = []
    for event_id, counts in sorted(events.items()):
        signed_up = len(counts["signed_up"])
        attended = len(counts["attended"])
        attendance.append((event_id, counts["title"], signed_up, attended, attended / signed_up))
    get_run_logger().info("Counted %d events", len(attendance))
    return attendance


@task
def write_attendance(warehouse: str, attendance: list[tuple]) -> int:
    """Step 3: replace analytics.event_attendance with one row per event."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.event_attendance (
                event_id BIGINT,
                title VARCHAR,
                signups INTEGER,
                attended INTEGER,
                attendance_rate DOUBLE
            )
            """
        )
        con.executemany("INSERT INTO analytics.event_attendance VALUES (?, ?, ?, ?, ?)", attendance)
    get_run_logger().info("Wrote %d rows to analytics.event_attendance", len(attendance))
    return len(attendance)


@flow
def build_event_attendance(warehouse: str = WAREHOUSE) -> int:
    """Rebuild analytics.event_attendance from the Mobilize tables."""
    signups = extract_signups(warehouse)
    attendance = count_attendance(signups)
    return write_attendance(warehouse, attendance)


if __name__ == "__main__":
    build_event_attendance()
