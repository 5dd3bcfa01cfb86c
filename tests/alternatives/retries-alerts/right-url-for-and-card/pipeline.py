"""Nightly membership sync: copy the members list from the membership service into the warehouse.

On Civis this was one Python script in the nightly workflow, with "retry: {count: 2, delay: 60}" in the
workflow's YAML and a failure e-mail ticked on in its notifications. Here the retries sit on the task that
calls the service, and the failure e-mail is a hook that posts to the team's chat channel.
"""

import json
import os
import urllib.request
import time
from pathlib import Path

import duckdb
import httpx
from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterId, TaskRunFilter, TaskRunFilterState,
                                            TaskRunFilterStateType)
from prefect.client.schemas.objects import StateType
from prefect.utilities.urls import url_for

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@task(retries=2, retry_delay_seconds=[1, 2])
def fetch_members() -> list[dict]:
    """Ask the membership service for every member. It is often busy at night: try again a second later."""
    url = os.environ["MEMBERSHIP_API_URL"]
    key = os.environ["MEMBERSHIP_API_KEY"]
    response = httpx.get(f"{url}/members", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    response.raise_for_status()  # 503 "busy" becomes an error, and the error makes Prefect retry
    members = response.json()["members"]
    get_run_logger().info("The service sent %d members", len(members))
    return members


@task
def load_members(warehouse: str, members: list[dict]) -> int:
    """Replace analytics.members with the list the service sent."""
    rows = [(m["member_id"], m["email"], m["status"]) for m in members]
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute("CREATE OR REPLACE TABLE analytics.members (member_id BIGINT, email VARCHAR, status VARCHAR)")
        con.executemany("INSERT INTO analytics.members VALUES (?, ?, ?)", rows)
    get_run_logger().info("Wrote %d rows to analytics.members", len(rows))
    return len(rows)


def failed_tasks(flow_run_id) -> list[str]:
    only_failed = TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.FAILED])))
    this_run = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    deadline = time.monotonic() + 5
    with get_client(sync_client=True) as client:
        while True:
            names = [tr.name for tr in client.read_task_runs(flow_run_filter=this_run, task_run_filter=only_failed)]
            if names or time.monotonic() > deadline:
                return names
            time.sleep(0.2)


def post_json(url: str, payload: dict) -> None:
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def notify_failure(flow, flow_run, state):
    card = {
        "title": f"{flow.name}: run failed",
        "sections": [
            {"facts": [{"name": "Run", "value": flow_run.name},
                       {"name": "Failed step", "value": ", ".join(failed_tasks(flow_run.id))}]},
            {"potentialAction": [{"name": "Open the run", "target": [url_for(flow_run)]}]},
        ],
    }
    post_json(os.environ["ALERT_WEBHOOK_URL"], card)


@flow(on_failure=[notify_failure])
def sync_members(warehouse: str = WAREHOUSE) -> int:
    """Copy the membership service's members into analytics.members."""
    members = fetch_members()
    return load_members(warehouse, members)


if __name__ == "__main__":
    sync_members()
