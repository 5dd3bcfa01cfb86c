"""Event turnout, with an Enum for the venue, a tuple of event types, and one SQL task that does it all."""

import datetime as dt
import os
import sys
import json
from enum import Enum
from pathlib import Path

import duckdb
from prefect import flow, task

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


class Venue(str, Enum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"
    ANY = "any"


@task
def rebuild_turnout(warehouse: str, since: dt.date, event_types: tuple[str, ...], venue: Venue) -> int:
    virtual = {Venue.IN_PERSON: "NOT e.is_virtual", Venue.VIRTUAL: "e.is_virtual", Venue.ANY: "TRUE"}[venue]
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute(
            f"""
            CREATE OR REPLACE TABLE analytics.event_turnout AS
            WITH ev AS (
                SELECT *, (starts_at AT TIME ZONE timezone)::DATE AS event_date
                FROM mobilize.events AS e
                WHERE {virtual}
            )
            SELECT ev.event_id, ev.title, ev.event_type, ev.event_date,
                   count(*) FILTER (WHERE s.signup_id IS NOT NULL AND lower(trim(s.status)) <> 'cancelled')
                       ::INTEGER AS signups,
                   count(*) FILTER (WHERE lower(trim(s.status)) = 'attended')::INTEGER AS attended
            FROM ev LEFT JOIN mobilize.signups AS s USING (event_id)
            WHERE ev.event_date >= $since AND ev.event_type IN (SELECT unnest($types))
            GROUP BY ALL
            """,
            {"since": since, "types": list(event_types)},
        )
        return con.execute("SELECT count(*) FROM analytics.event_turnout").fetchone()[0]


@flow(log_prints=True)
def build_event_turnout(
    since: dt.date = dt.date(2024, 9, 1),
    event_types: tuple[str, ...] = ("canvass", "phone_bank", "text_bank"),
    venue: Venue = Venue.ANY,
    warehouse: str = WAREHOUSE,
) -> int:
    n = rebuild_turnout(warehouse, since, event_types, venue)
    print(f"{n} events")
    return n


if __name__ == "__main__":
    build_event_turnout(**json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}"))
