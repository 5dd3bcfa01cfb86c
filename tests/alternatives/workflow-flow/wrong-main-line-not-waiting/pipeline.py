"""Wrong: build_tables is submitted without waiting for load_events (its on-success forgotten), so the two
run at the same time; the rest is right."""
import os
from pathlib import Path

from prefect import flow, task

import steps

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@task
def load_events(warehouse):
    return steps.load_events(warehouse)


@task
def build_tables(warehouse):
    return steps.build_tables(warehouse)


@task
def summary(warehouse):
    return steps.summary(warehouse)


@task
def sheet_export(warehouse):
    return steps.sheet_export(warehouse)


@task
def done(warehouse):
    return steps.done(warehouse)


@task
def alert(reason):
    return steps.alert(reason)


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE):
    try:
        loaded = load_events.submit(warehouse)
        built = build_tables.submit(warehouse)
        totals = summary.submit(warehouse, wait_for=[built])
        sheet = sheet_export.submit(warehouse, wait_for=[built])
        loaded.wait()
        return done.submit(warehouse, wait_for=[totals, sheet]).result()
    except Exception as error:
        alert(str(error))
        raise


if __name__ == "__main__":
    nightly_pipeline()
