"""Volunteer follow-up sheet: the people who signed up for an event and did not come.

On Civis this was a SQL script with a Google Sheets export. Every night it
wrote the query's rows over the sheet, and every night the organisers lost
the columns they had added by hand ("Called?", "Notes"). Now the flow
updates the sheet by key: staff columns and their values stay, new sign-ups
are added at the bottom, and rows that left the query are marked, not deleted.
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


IN_QUERY = "in_query"


@task
def upsert_sheet(sheet: str, header: list[str], rows: list[list[str]], key: str = KEY) -> int:
    """Each row as a dict of column name -> value; the sheet's header decides the order of the cells."""
    target = LocalSheet(sheet)
    grid = target.get_all_values()
    columns = grid[0] if grid else []
    records = [dict(zip(columns, row)) for row in grid[1:]]
    for name in header + [IN_QUERY]:
        if name not in columns:
            columns.append(name)

    latest = {}
    for row in rows:
        record = dict(zip(header, row))
        latest[record[key]] = record

    done = set()
    for record in records:
        k = record.get(key, "")
        if k in latest:
            record.update(latest[k])
            record[IN_QUERY] = "yes"
            done.add(k)
        elif k:
            record[IN_QUERY] = "no"
    for k, record in latest.items():
        if k not in done:
            records.append({**record, IN_QUERY: "yes"})

    target.write_all([columns] + [[r.get(name, "") for name in columns] for r in records])
    get_run_logger().info("The sheet has %d rows", len(records))
    return len(records)


@flow
def export_followups(warehouse: str = WAREHOUSE, sheet: str = SHEET) -> None:
    """Nightly: run the follow-up query and bring the organisers' sheet up to date."""
    header, rows = read_followups(warehouse)
    upsert_sheet(sheet, header, rows, KEY)


if __name__ == "__main__":
    export_followups()
