"""Event attendance: how many people signed up for each event, and how many came.

This is the script the way it ran on Civis: one file, read from top to
bottom, with no functions. It works. Your job is to turn it into a Prefect
flow without changing what it writes. README.md walks you through it.
"""

import os
from pathlib import Path

import duckdb

# On Civis the warehouse was Redshift. Here it is a DuckDB file: warehouse.duckdb
# at the top of your workspace, two folders above this file (wherever you run
# it from). The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

# duckdb.connect() creates an empty database when the file is missing: say so instead.
if not os.path.exists(WAREHOUSE):
    raise SystemExit(f"There is no warehouse at {WAREHOUSE}. Run `uv run flowcamp` once to build it.")
print(f"Connecting to {WAREHOUSE}")
con = duckdb.connect(WAREHOUSE)

# ---------------------------------------------------------------------------
# Step 1: extract. Read every sign-up, with the title of its event.
# ---------------------------------------------------------------------------
signups = con.execute(
    """
    SELECT s.event_id, e.title, s.email, s.status
    FROM mobilize.signups AS s
    JOIN mobilize.events AS e ON e.event_id = s.event_id
    """
).fetchall()
print(f"Read {len(signups)} sign-ups")

# ---------------------------------------------------------------------------
# Step 2: transform. Clean the emails, drop cancelled sign-ups, and count
# people per event. A person who signed up twice counts once.
# ---------------------------------------------------------------------------
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
print(f"Counted {len(attendance)} events")

# ---------------------------------------------------------------------------
# Step 3: load. Write one row per event to analytics.event_attendance.
# CREATE OR REPLACE starts from an empty table on every run.
# ---------------------------------------------------------------------------
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
con.close()
print(f"Wrote {len(attendance)} rows to analytics.event_attendance")
