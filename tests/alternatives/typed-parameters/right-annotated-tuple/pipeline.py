"""Event turnout: for each Mobilize event since a date, how many people signed up and how many came.

The three Civis script parameters (SINCE, EVENT_TYPES, VENUE) are now typed
parameters of the flow. Prefect turns the values it is given, such as the text
"2024-09-01", into those types, and refuses a run whose values do not fit
before any task starts.
"""

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from prefect import flow, get_run_logger, task
from pydantic import Field

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


Venue = Literal["in_person", "virtual", "any"]


@flow(name="event-turnout")
def build_event_turnout(
    since: Annotated[date, Field(description="First day to include")] = date(2024, 9, 1),
    event_types: Annotated[list[str], Field(min_length=1)] = ("canvass", "phone_bank", "text_bank"),
    venue: Venue = "any",
    warehouse: str = WAREHOUSE,
) -> int:
    """Rebuild analytics.event_turnout."""
    rows = read_turnout(warehouse, since, event_types, venue)
    return save_turnout(warehouse, rows)


if __name__ == "__main__":
    # Parameters as JSON on the command line, for example:
    #   uv run flowcamp run pipeline.py '{"since": "2024-10-01", "venue": "virtual"}'
    parameters = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    build_event_turnout(**parameters)
