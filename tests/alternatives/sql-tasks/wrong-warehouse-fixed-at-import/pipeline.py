"""The nightly SQL scripts as a Prefect flow: one task run per file, in name order.

Each {{name}} in a file becomes a DuckDB parameter, $name, and its value goes to
DuckDB beside the SQL, never pasted into it: a value with a quote in it is just
a value. Importing this file runs nothing; `python pipeline.py` runs the flow.
"""

import os
import re
from pathlib import Path

import duckdb
from prefect import flow, get_run_logger, task

HERE = Path(__file__).resolve().parent

# The warehouse: warehouse.duckdb at the top of your workspace, two folders above this
# file. The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

# The folder of SQL files, and the values for their {{name}} placeholders.
SQL_FOLDER = str(HERE / "sql")
DEFAULT_VALUES = {"since": "2024-09-01", "skip_type": "training"}

# {{name}}, with or without spaces inside the braces.
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def to_duckdb(sql: str) -> str:
    """Civis placeholders to DuckDB parameters: {{since}} becomes $since."""
    return PLACEHOLDER.sub(r"$\1", sql)


@task(task_run_name="{path.name}")
def run_sql_file(warehouse: str, path: Path, values: dict) -> int:
    """Run one SQL file, statement by statement, each with the values it names."""
    sql = to_duckdb(path.read_text(encoding="utf-8"))
    statements = duckdb.extract_statements(sql)
    with duckdb.connect(WAREHOUSE) as con:  # the path read at import, not the argument
        for statement in statements:
            # DuckDB wants exactly the values a statement uses, no more.
            con.execute(statement, {name: values[name] for name in statement.named_parameters})
    get_run_logger().info("Ran %d statements from %s", len(statements), path.name)
    return len(statements)


@flow
def run_sql_folder(warehouse: str = WAREHOUSE, sql_folder: str = SQL_FOLDER, values: dict | None = None):
    """Run every .sql file of the folder in name order, each one after the one before has finished."""
    values = values or DEFAULT_VALUES
    if not os.path.exists(warehouse):  # duckdb.connect() would create an empty database
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    for path in sorted(Path(sql_folder).glob("*.sql")):
        run_sql_file(warehouse, path, values)  # returns when the file is done; a failure stops the flow


if __name__ == "__main__":
    run_sql_folder()
