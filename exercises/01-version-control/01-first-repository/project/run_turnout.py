"""Run turnout_by_district.sql and print the result.

On Civis this was a Python script with a Redshift credential attached.
Here it reads the local DuckDB warehouse instead: the file named by the
FLOWCAMP_WAREHOUSE environment variable, or else the first
warehouse.duckdb found in this folder or a folder above it.

Run it from a terminal:  python run_turnout.py
"""

import os
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
SQL_FILE = HERE / "turnout_by_district.sql"


def find_warehouse() -> Path:
    """Return the path of the warehouse file to read."""
    if os.environ.get("FLOWCAMP_WAREHOUSE"):
        return Path(os.environ["FLOWCAMP_WAREHOUSE"])
    for folder in [HERE, *HERE.parents]:
        candidate = folder / "warehouse.duckdb"
        if candidate.exists():
            return candidate
    raise SystemExit(
        "No warehouse.duckdb found. Set FLOWCAMP_WAREHOUSE to its path."
    )


def main() -> None:
    query = SQL_FILE.read_text()
    with duckdb.connect(str(find_warehouse()), read_only=True) as con:
        rows = con.sql(query).fetchall()
    print(f"{'district':<10}{'registered':>12}{'voted':>8}{'turnout %':>11}")
    for district, registered, voted, turnout_pct in rows:
        print(f"{str(district):<10}{registered:>12}{voted:>8}{turnout_pct:>11}")


if __name__ == "__main__":
    main()
