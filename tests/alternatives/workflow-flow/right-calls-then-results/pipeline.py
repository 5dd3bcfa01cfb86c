"""Right: the main line called in order (no submit), the branches submitted, both results awaited, then done."""
import os
from pathlib import Path

from prefect import flow, task

import steps

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

load_events = task(steps.load_events)
build_tables = task(steps.build_tables)
summary = task(steps.summary)
sheet_export = task(steps.sheet_export)
done = task(steps.done)
alert = task(steps.alert)


@flow
def nightly_pipeline(warehouse: str = WAREHOUSE):
    try:
        load_events(warehouse)
        build_tables(warehouse)
        left = summary.submit(warehouse)
        right = sheet_export.submit(warehouse)
        left.result()
        right.result()
        done(warehouse)
    except Exception as error:
        alert(f"{type(error).__name__}: {error}")
        raise


if __name__ == "__main__":
    nightly_pipeline()
