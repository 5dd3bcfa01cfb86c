"""Right: futures chained with wait_for, names given with with_options, placeholders replaced key by key."""

import os
import re
from pathlib import Path

import duckdb
from prefect import flow, task

HERE = Path(__file__).resolve().parent
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))
SQL_FOLDER = str(HERE / "sql")
DEFAULT_VALUES = {"since": "2024-09-01", "skip_type": "training"}


@task
def run_file(warehouse: str, path: str, values: dict) -> None:
    sql = Path(path).read_text(encoding="utf-8")
    for key in values:
        sql = sql.replace("{{" + key + "}}", "$" + key)
    con = duckdb.connect(warehouse)
    try:
        for statement in duckdb.extract_statements(sql):
            used = {k: v for k, v in values.items() if k in statement.named_parameters}
            con.execute(statement, used)
    finally:
        con.close()


@flow
def run_sql_folder(warehouse: str = WAREHOUSE, sql_folder: str = SQL_FOLDER, values: dict | None = None):
    values = values or DEFAULT_VALUES
    previous = None
    for path in sorted(Path(sql_folder).glob("*.sql")):
        named = run_file.with_options(task_run_name=path.name)
        previous = named.submit(warehouse, str(path), values, wait_for=[previous] if previous else [])
    if previous is not None:
        previous.result()


if __name__ == "__main__":
    run_sql_folder()
