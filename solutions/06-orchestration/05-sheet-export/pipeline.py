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


IN_QUERY = "in_query"  # "yes" while the row is in the query's result, "no" once it has left it


def merge_rows(existing: list[list[str]], header: list[str], rows: list[list[str]], key: str) -> list[list[str]]:
    """The sheet as it should be after this run: a plain function, so a test can call it without a sheet.

    existing is the sheet now (header first, or [] when it is empty); header and rows are the query's.
    """
    if not existing:  # the first export: the query's rows, all in it
        return [header + [IN_QUERY]] + [row + ["yes"] for row in rows]

    columns = list(existing[0])
    if key not in columns:
        raise ValueError(f"The sheet has no column {key!r}, so its rows cannot be matched with the query's.")
    # Columns the sheet does not have yet go on the right: staff columns keep their places.
    columns += [name for name in header + [IN_QUERY] if name not in columns]
    where = {name: i for i, name in enumerate(columns)}

    fresh = {row[header.index(key)]: row for row in rows}
    merged, seen = [columns], set()
    for old in existing[1:]:
        row = old + [""] * (len(columns) - len(old))
        row_key = row[where[key]]
        if row_key == "":  # a row staff typed in by hand, with no key: leave it alone
            merged.append(row)
            continue
        if row_key in fresh and row_key not in seen:
            for name, value in zip(header, fresh[row_key]):
                row[where[name]] = value
            row[where[IN_QUERY]] = "yes"
            seen.add(row_key)
        else:
            row[where[IN_QUERY]] = "no"  # left the query: kept, with everything staff wrote in it
        merged.append(row)

    for row in rows:  # new rows go at the bottom, with staff columns empty
        if row[header.index(key)] not in seen:
            new = [""] * len(columns)
            for name, value in zip(header, row):
                new[where[name]] = value
            new[where[IN_QUERY]] = "yes"
            merged.append(new)
    return merged


@task
def upsert_sheet(sheet: str, header: list[str], rows: list[list[str]], key: str = KEY) -> dict:
    """Bring the sheet up to date: update rows by key, add new ones, mark the ones that left the query."""
    target = LocalSheet(sheet)
    before = target.get_all_values()
    after = merge_rows(before, header, rows, key)
    target.write_all(after)
    in_query = after[0].index(IN_QUERY)
    counts = {
        "rows": len(after) - 1,
        "added": len(after) - max(len(before), 1),
        "left the query": sum(1 for row in after[1:] if row[in_query] == "no"),
    }
    get_run_logger().info("Sheet %s: %s", sheet, ", ".join(f"{n} {what}" for what, n in counts.items()))
    return counts


@flow
def export_followups(warehouse: str = WAREHOUSE, sheet: str = SHEET) -> None:
    """Nightly: run the follow-up query and bring the organisers' sheet up to date."""
    header, rows = read_followups(warehouse)
    upsert_sheet(sheet, header, rows, KEY)


if __name__ == "__main__":
    export_followups()
