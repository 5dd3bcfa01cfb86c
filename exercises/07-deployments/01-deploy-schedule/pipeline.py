"""Event attendance: the flow this exercise deploys. You do not need to change this file.

It is the flow you built in exercise first-flow, with the two settings the
Civis job had as parameters: the smallest number of sign-ups an event needs
to be listed, and whether virtual events are listed. The warehouse is found
the usual way: FLOWCAMP_WAREHOUSE if it is set, else warehouse.duckdb at the
top of your workspace.
"""

import os
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@task
def extract_signups(warehouse: str, include_virtual: bool) -> list[tuple]:
    """Step 1: read every sign-up, with the title of its event (in-person events only, unless asked)."""
    if not os.path.exists(warehouse):  # duckdb.connect() would make an empty file: say so instead
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    with duckdb.connect(warehouse, read_only=True) as con:
        signups = con.execute(
            """
            SELECT s.event_id, e.title, s.email, s.status
            FROM mobilize.signups AS s
            JOIN mobilize.events AS e ON e.event_id = s.event_id
            WHERE ? OR NOT e.is_virtual
            """,
            [include_virtual],
        ).fetchall()
    get_run_logger().info("Read %d sign-ups", len(signups))
    return signups


@task
def count_attendance(signups: list[tuple], min_signups: int) -> list[tuple]:
    """Step 2: clean emails, drop cancelled sign-ups, count people per event, keep events with enough people."""
    events = {}
    for event_id, title, email, status in signups:
        email = (email or "").strip().lower()
        status = (status or "").strip().lower()
        if email == "" or status == "cancelled":
            continue
        counts = events.setdefault(event_id, {"title": title, "signed_up": set(), "attended": set()})
        counts["signed_up"].add(email)
        if status == "attended":
            counts["attended"].add(email)
    attendance = []
    for event_id, counts in sorted(events.items()):
        signed_up, attended = len(counts["signed_up"]), len(counts["attended"])
        if signed_up >= min_signups:
            attendance.append((event_id, counts["title"], signed_up, attended, attended / signed_up))
    get_run_logger().info("Counted %d events with at least %d sign-ups", len(attendance), min_signups)
    return attendance


@task
def write_attendance(warehouse: str, attendance: list[tuple]) -> int:
    """Step 3: replace analytics.event_attendance with one row per event."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.event_attendance (
                event_id BIGINT, title VARCHAR, signups INTEGER, attended INTEGER, attendance_rate DOUBLE
            )
            """
        )
        con.executemany("INSERT INTO analytics.event_attendance VALUES (?, ?, ?, ?, ?)", attendance)
    get_run_logger().info("Wrote %d rows to analytics.event_attendance", len(attendance))
    return len(attendance)


@flow
def build_event_attendance(warehouse: str = WAREHOUSE, min_signups: int = 1, include_virtual: bool = True) -> int:
    """Rebuild analytics.event_attendance from the Mobilize tables."""
    signups = extract_signups(warehouse, include_virtual)
    attendance = count_attendance(signups, min_signups)
    return write_attendance(warehouse, attendance)


if __name__ == "__main__":
    build_event_attendance()
