"""Event turnout: for each Mobilize event since a date, how many people signed up and how many came.

On Civis this was a Python script with three parameters, filled in on the
script's page before each run: SINCE (a date), EVENT_TYPES (a list, typed as
text with commas) and VENUE (a drop-down). Civis handed each one to the code
as an environment variable, always as text, so the code below reads them and
checks them by hand. Your job is to make them typed flow parameters instead.
README.md walks you through it.
"""

import os
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import duckdb
from prefect import flow, get_run_logger, task

# warehouse.duckdb at the top of your workspace, two folders above this file.
# The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

# One row per event: its local date, and its sign-ups that were not cancelled.
TURNOUT_SQL = """
SELECT e.event_id,
       any_value(e.title) AS title,
       any_value(e.event_type) AS event_type,
       any_value((e.starts_at AT TIME ZONE e.timezone)::DATE) AS event_date,
       count(s.signup_id) FILTER (WHERE lower(trim(s.status)) <> 'cancelled') AS signups,
       count(s.signup_id) FILTER (WHERE lower(trim(s.status)) = 'attended') AS attended
FROM mobilize.events AS e
LEFT JOIN mobilize.signups AS s ON s.event_id = e.event_id
WHERE (e.starts_at AT TIME ZONE e.timezone)::DATE >= ?
  AND list_contains(?, e.event_type)
  AND e.is_virtual IN (SELECT unnest(?))
GROUP BY e.event_id
ORDER BY event_date, e.event_id
"""

# What each choice of VENUE means for the column is_virtual.
VENUES = {"in_person": [False], "virtual": [True], "any": [False, True]}


@task
def read_turnout(warehouse: str, since: date, event_types: list[str], venue: str) -> list[tuple]:
    """Extract: one row per matching event, with its counts."""
    if not os.path.exists(warehouse):  # duckdb.connect() would make an empty database: say so instead
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    with duckdb.connect(warehouse, read_only=True) as con:
        rows = con.execute(TURNOUT_SQL, [since, list(event_types), VENUES[venue]]).fetchall()
    get_run_logger().info("Read %d events since %s", len(rows), since)
    return rows


@task
def save_turnout(warehouse: str, rows: list[tuple]) -> int:
    """Load: replace analytics.event_turnout."""
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            """
            CREATE OR REPLACE TABLE analytics.event_turnout (
                event_id BIGINT, title VARCHAR, event_type VARCHAR,
                event_date DATE, signups INTEGER, attended INTEGER
            )
            """
        )
        con.executemany("INSERT INTO analytics.event_turnout VALUES (?, ?, ?, ?, ?, ?)", rows)
    get_run_logger().info("Wrote %d rows to analytics.event_turnout", len(rows))
    return len(rows)


@flow
def build_event_turnout(
    since: date = date(2024, 9, 1),
    event_types: list[str] = ["canvass", "phone_bank", "text_bank"],
    venue: Literal["in_person", "virtual", "any"] = "any",
    warehouse: str = WAREHOUSE,
) -> int:
    """Rebuild analytics.event_turnout for the events the parameters choose."""
    # The Civis way: every parameter arrives as text in an environment variable,
    # and the code turns the text into a value and checks it by hand.
    since_text = os.environ.get("SINCE", "2024-09-01")
    try:
        since = datetime.strptime(since_text, "%Y-%m-%d").date()
    except ValueError:
        raise ValueError(f"SINCE must be a date like 2024-09-01, not {since_text!r}") from None

    types_text = os.environ.get("EVENT_TYPES", "canvass,phone_bank,text_bank")
    event_types = [t.strip() for t in types_text.split(",") if t.strip()]

    venue = os.environ.get("VENUE", "any")
    if venue not in VENUES:
        raise ValueError(f"VENUE must be one of in_person, virtual or any, not {venue!r}")

    rows = read_turnout(warehouse, since, event_types, venue)
    return save_turnout(warehouse, rows)


if __name__ == "__main__":
    build_event_turnout()
