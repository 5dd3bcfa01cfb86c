"""The nightly pipeline: the Civis workflow in workflow.yml, to be rebuilt as a Prefect flow.

Right now the flow calls the steps of steps.py as plain functions, one after the other. It runs, but
Prefect sees one big step, the two branches never run at the same time, and nothing happens on error.
README.md says what to change. Edit this file only: steps.py is given.
"""

import os
from pathlib import Path

from prefect import flow

import steps

# On Civis the warehouse was Redshift. Here it is a DuckDB file: warehouse.duckdb at the top of your
# workspace, two folders above this file. The checks point FLOWCAMP_WAREHOUSE at their own copy of it.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE):
    """load_events -> build_tables -> summary and sheet_export -> done; alert on error (see workflow.yml)."""
    steps.load_events(warehouse)
    steps.build_tables(warehouse)
    steps.summary(warehouse)
    steps.sheet_export(warehouse)
    steps.done(warehouse)


if __name__ == "__main__":
    nightly_pipeline()
