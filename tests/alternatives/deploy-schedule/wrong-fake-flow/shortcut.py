"""A cheat: a flow with the right name that writes an empty table and completes, whatever the data."""
import os

import duckdb
from prefect import flow


@flow(name="build-event-attendance")
def build_event_attendance(warehouse: str = "", min_signups: int = 1, include_virtual: bool = True) -> int:
    with duckdb.connect(warehouse or os.environ["FLOWCAMP_WAREHOUSE"]) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute("CREATE OR REPLACE TABLE analytics.event_attendance (event_id BIGINT)")
    return 0
