"""Right: futures all the way, prefect.futures.wait on the branches, states inspected instead of try/except."""
import os
from pathlib import Path

from prefect import flow, task

import steps

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))

from prefect.futures import wait


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


class NightlyRunFailed(Exception):
    pass


@flow(name="nightly")
def nightly_pipeline(warehouse: str = WAREHOUSE):
    first = load_events.submit(warehouse)
    first.wait()
    if first.state.is_failed():
        alert("load_events failed")
        raise NightlyRunFailed("load_events failed")
    second = build_tables.submit(warehouse, wait_for=[first])
    second.wait()
    if not second.state.is_completed():
        alert("build_tables failed")
        raise NightlyRunFailed("build_tables failed")
    branches = [summary.submit(warehouse, wait_for=[second]), sheet_export.submit(warehouse, wait_for=[second])]
    wait(branches)
    broken = [f for f in branches if not f.state.is_completed()]
    if broken:
        alert(f"{len(broken)} branch(es) failed")
        raise NightlyRunFailed("a branch failed")
    last = done.submit(warehouse, wait_for=branches)
    last.wait()
    if not last.state.is_completed():
        alert("done failed")
        raise NightlyRunFailed("done failed")


if __name__ == "__main__":
    nightly_pipeline()
