"""Volunteer follow-up sheet: the people who signed up for an event and did not come.

On Civis this was a SQL script with a Google Sheets export. Every night it
wrote the query's rows over the sheet, and every night the organisers lost
the columns they had added by hand ("Called?", "Notes"). README.md says what
to change: only `upsert_sheet` (and a helper, if you like) needs work.
"""

import os
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task

from sheets import LocalSheet

HERE = Path(__file__).resolve().parent
# The warehouse: warehouse.duckdb at the top of your workspace, unless FLOWCAMP_WAREHOUSE names another one.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))
# The sheet the organisers work in. Here it is a CSV file beside this one; in production, a Google Sheet.
SHEET = str(HERE / "followups.csv")

KEY = "signup_id"  # the column that says which row is which: one row per sign-up

# One row per no-show: a sign-up whose status is 'no_show'. Every value comes out as text, as a sheet holds.
QUERY = """
SELECT CAST(s.signup_id AS VARCHAR) AS signup_id,
       e.title AS event,
       strftime((e.starts_at AT TIME ZONE e.timezone)::DATE, '%Y-%m-%d') AS event_date,
       trim(s.first_name) AS first_name,
       trim(s.last_name) AS last_name,
       lower(trim(s.email)) AS email,
       coalesce(s.phone, '') AS phone
FROM mobilize.signups AS s
JOIN mobilize.events AS e ON e.event_id = s.event_id
WHERE s.status = 'no_show'
ORDER BY s.signup_id
"""


@task
def read_followups(warehouse: str) -> tuple[list[str], list[list[str]]]:
    """Run QUERY: its column names, and its rows as text ("" for NULL)."""
    if not os.path.exists(warehouse):  # duckdb.connect would create an empty database
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    with duckdb.connect(warehouse, read_only=True) as con:
        result = con.execute(QUERY)
        header = [column[0] for column in result.description]
        rows = [["" if value is None else str(value) for value in row] for row in result.fetchall()]
    get_run_logger().info("The query returned %d rows", len(rows))
    return header, rows


@task
def upsert_sheet(sheet: str, header: list[str], rows: list[list[str]], key: str = KEY) -> None:
    """Bring the sheet up to date with the query's rows.

    TODO: this is what the Civis export did: it replaces the whole sheet with
    the query's rows, so every column the organisers added, and everything
    they typed in it, is lost. Make it keep them. README.md lists the rules.
    """
    LocalSheet(sheet).write_all([header] + rows)
    get_run_logger().info("Wrote %d rows to %s", len(rows), sheet)


@flow
def export_followups(warehouse: str = WAREHOUSE, sheet: str = SHEET) -> None:
    """Nightly: run the follow-up query and bring the organisers' sheet up to date."""
    header, rows = read_followups(warehouse)
    upsert_sheet(sheet, header, rows, KEY)


if __name__ == "__main__":
    export_followups()
