"""Nightly membership sync: copy the members list from the membership service into the warehouse.

On Civis this was one Python script in the nightly workflow, with "retry: {count: 2, delay: 60}" in the
workflow's YAML and a failure e-mail ticked on in its notifications. Here the retries sit on the task that
calls the service, and the failure e-mail is a hook that posts to the team's chat channel.
"""

import json
import os
import urllib.request
from pathlib import Path

import duckdb
import httpx
from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run as current_run

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


def alert_team(task, task_run, state):
    """Runs once, when fetch_members has failed for good (not on each retry)."""
    body = {"flow_run": current_run.name, "failed_task": task.name, "link": current_run.ui_url,
            "error": state.message}
    request = urllib.request.Request(os.environ["ALERT_WEBHOOK_URL"], data=json.dumps(body).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@task(retries=3, retry_delay_seconds=1.5, on_failure=[alert_team])
def fetch_members() -> list[dict]:
    """Ask the membership service for every member. It is often busy at night: try again a second later."""
    url = os.environ["MEMBERSHIP_API_URL"]
    key = os.environ["MEMBERSHIP_API_KEY"]
    response = httpx.get(f"{url}/members", headers={"X-API-Key": key}, timeout=10)
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


@flow
def sync_members(warehouse: str = WAREHOUSE) -> int:
    """Copy the membership service's members into analytics.members."""
    members = fetch_members()
    return load_members(warehouse, members)


if __name__ == "__main__":
    sync_members()
