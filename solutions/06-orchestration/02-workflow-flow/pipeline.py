"""The nightly pipeline: the Civis workflow in workflow.yml, as a Prefect flow.

Each step of steps.py runs as a task. The two branches start together with .submit(); `done` waits for
both (join: all). If any step fails, `alert` runs and the run ends Failed (on-error, then std.fail).
"""

import os
from pathlib import Path

from prefect import flow, task

import steps

# The warehouse: warehouse.duckdb at the top of your workspace. The checks point FLOWCAMP_WAREHOUSE at their copy.
WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@task
def load_events(warehouse: str) -> str:
    return steps.load_events(warehouse)


@task
def build_tables(warehouse: str) -> str:
    return steps.build_tables(warehouse)


@task
def summary(warehouse: str) -> str:
    return steps.summary(warehouse)


@task
def sheet_export(warehouse: str) -> str:
    return steps.sheet_export(warehouse)


@task
def done(warehouse: str) -> str:
    return steps.done(warehouse)


@task
def alert(reason: str) -> str:
    return steps.alert(reason)


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE) -> str:
    """load_events -> build_tables -> (summary and sheet_export at the same time) -> done; alert on error."""
    try:
        loaded = load_events(warehouse)                      # called: the flow waits for it (on-success)
        built = build_tables(warehouse, wait_for=[loaded])   # wait_for draws the arrow in the web UI
        totals = summary.submit(warehouse, wait_for=[built])       # these two start together:
        sheet = sheet_export.submit(warehouse, wait_for=[built])   # .submit returns a future at once
        return done.submit(warehouse, wait_for=[totals, sheet]).result()   # join: all
    except Exception as error:
        alert(str(error))   # on-error
        raise               # std.fail: the run ends Failed


if __name__ == "__main__":
    nightly_pipeline()
