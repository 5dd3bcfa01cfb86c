import os

import duckdb
from prefect import flow, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", "../../warehouse.duckdb")


@task
def do_everything(warehouse: str) -> int:
    con = duckdb.connect(warehouse)
    signups = con.execute(
        """
        SELECT s.event_id, e.title, s.email, s.status
        FROM mobilize.signups AS s
        JOIN mobilize.events AS e ON e.event_id = s.event_id
        """
    ).fetchall()
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
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute(
        "CREATE OR REPLACE TABLE analytics.event_attendance "
        "(event_id BIGINT, title VARCHAR, signups INTEGER, attended INTEGER, attendance_rate DOUBLE)"
    )
    con.executemany("INSERT INTO analytics.event_attendance VALUES (?, ?, ?, ?, ?)", attendance)
    con.close()
    return len(attendance)


@flow
def build_event_attendance(warehouse: str = WAREHOUSE):
    return do_everything(warehouse)


if __name__ == "__main__":
    build_event_attendance()
