"""Right: os.listdir sorted, the file name as its own task parameter, each file in one transaction, the
values a statement needs found in its text."""

import os
import re
from pathlib import Path

import duckdb
from prefect import flow, task

HERE = Path(__file__).resolve().parent
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))
SQL_FOLDER = str(HERE / "sql")
DEFAULT_VALUES = {"since": "2024-09-01", "skip_type": "training"}

TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


@task(task_run_name="sql: {filename}")
def execute_script(warehouse, folder, filename, values):
    text = TEMPLATE.sub(lambda m: "$" + m.group(1), open(os.path.join(folder, filename), encoding="utf-8").read())
    with duckdb.connect(warehouse) as con:
        con.execute("BEGIN TRANSACTION")
        for statement in duckdb.extract_statements(text):
            names = set(re.findall(r"\$(\w+)", statement.query))
            con.execute(statement, {n: values[n] for n in names})
        con.execute("COMMIT")
    return filename


@flow(name="nightly-sql")
def run_sql_folder(warehouse: str = WAREHOUSE, sql_folder: str = SQL_FOLDER, values: dict | None = None):
    if values is None:
        values = DEFAULT_VALUES
    done = []
    for filename in sorted(os.listdir(sql_folder)):
        if filename.endswith(".sql"):
            done.append(execute_script(warehouse, sql_folder, filename, values))
    return done


if __name__ == "__main__":
    run_sql_folder()
