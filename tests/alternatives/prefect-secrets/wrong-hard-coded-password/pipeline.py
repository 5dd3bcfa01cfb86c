"""Event attendance, published to the production warehouse.

The flow from the Prefect module, with one change: the last step writes the
table to the production warehouse instead of your local one. Where production
is and its password are not in this file: the flow reads them from the
Prefect server when it runs, from the Variable `production_warehouse` and
the Secret block `warehouse-password`.
"""

import os
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task
from prefect.blocks.system import Secret
from prefect.variables import Variable

from production import connect_production

# The local warehouse, where the sign-ups are read from. The checks point
# FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

# The names of what the flow reads from the Prefect server (names, not values).
LOCATION_VARIABLE = "production_warehouse"
PASSWORD_BLOCK = "warehouse-password"


@task
def extract_signups(warehouse: str) -> list[tuple]:
    """Step 1: read every sign-up, with the title of its event."""
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute(
            """
            SELECT s.event_id, e.title, s.email, s.status
            FROM mobilize.signups AS s
            JOIN mobilize.events AS e ON e.event_id = s.event_id
            """
        ).fetchall()


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
    return [(event_id, c["title"], len(c["signed_up"]), len(c["attended"]),
             len(c["attended"]) / len(c["signed_up"])) for event_id, c in sorted(events.items())]


@task
def publish(attendance: list[tuple]) -> int:
    """Step 3: replace analytics.event_attendance in the production warehouse."""
    # Read both when the task runs, never on import: a new password works from the next run on.
    location = Variable.get(LOCATION_VARIABLE)
    password = "Canvass-Spring-2024!"
    with connect_production(location, password) as con:
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
    get_run_logger().info("Published %d rows to production", len(attendance))
    return len(attendance)


@flow
def publish_attendance(warehouse: str = WAREHOUSE) -> int:
    """Count sign-ups and attendance per event, and publish the table to production."""
    signups = extract_signups(warehouse)
    attendance = count_attendance(signups)
    return publish(attendance)


if __name__ == "__main__":
    publish_attendance()
