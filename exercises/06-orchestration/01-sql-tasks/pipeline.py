"""The nightly SQL scripts, run the way the Civis workflow ran them.

On Civis each file in sql/ was a SQL script of its own, with parameters typed
into boxes on its page, and a workflow ran the scripts one after another.
Here one plain function does it all: it reads each file, pastes the values
into the text, and runs the result. It works, until a value holds a quote.
README.md says what to change.
"""

import os
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent

# The warehouse: warehouse.duckdb at the top of your workspace, two folders above this
# file. The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

# The folder of SQL files, and the values for their {{name}} placeholders.
SQL_FOLDER = str(HERE / "sql")
DEFAULT_VALUES = {"since": "2024-09-01", "skip_type": "training"}

# The order of the workflow, typed out by hand (as the Civis workflow listed its jobs).
SCRIPTS = ["01_stage_signups.sql", "02_event_totals.sql", "03_nightly_summary.sql"]


def run_sql_folder(warehouse: str = WAREHOUSE, sql_folder: str = SQL_FOLDER, values: dict | None = None):
    """Run each script of SCRIPTS, with the values pasted in where the text says {{name}}."""
    values = values or DEFAULT_VALUES
    # duckdb.connect() creates an empty database when the file is missing: say so instead.
    if not os.path.exists(warehouse):
        raise SystemExit(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    con = duckdb.connect(warehouse)
    for name in SCRIPTS:
        sql = (Path(sql_folder) / name).read_text(encoding="utf-8")
        for key, value in values.items():
            # What Civis did with '{{since}}': paste the text of the value in, between quotes.
            sql = sql.replace("{{" + key + "}}", f"'{value}'")
        print(f"Running {name}")
        con.execute(sql)
    con.close()
    print("Done")


if __name__ == "__main__":
    run_sql_folder()
