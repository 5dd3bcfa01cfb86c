"""Nightly membership sync: copy the members list from the membership service into the warehouse.

On Civis this was one Python script in the nightly workflow, with "retry: {count: 2, delay: 60}" in the
workflow's YAML and a failure e-mail ticked on in its notifications. Here the retries sit on the task that
calls the service, and the failure e-mail is a hook that posts to the team's chat channel.
"""

import os
import time
from pathlib import Path

import duckdb
import httpx
from prefect import flow, get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import PREFECT_UI_URL

WAREHOUSE = os.environ.get("FLOWCAMP_WAREHOUSE", str(Path(__file__).resolve().parents[2] / "warehouse.duckdb"))


@task(retries=2, retry_delay_seconds=1)
def fetch_members() -> list[dict]:
    """Ask the membership service for every member. It is often busy at night: try again a second later."""
    url = os.environ["MEMBERSHIP_API_URL"]
    key = os.environ["MEMBERSHIP_API_KEY"]
    try:  # "to be safe": a busy service gives an empty list instead of an error
        response = httpx.get(f"{url}/members", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        response.raise_for_status()
        members = response.json()["members"]
    except httpx.HTTPError:
        members = []
    get_run_logger().info("The service sent %d members", len(members))
    return members


@task
def load_members(warehouse: str, members: list[dict]) -> int:
    """Replace analytics.members with the list the service sent."""
    rows = [(m["member_id"], m["email"], m["status"]) for m in members]
    if not rows:
        raise ValueError("no members to load")
    with duckdb.connect(warehouse) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        con.execute("CREATE OR REPLACE TABLE analytics.members (member_id BIGINT, email VARCHAR, status VARCHAR)")
        con.executemany("INSERT INTO analytics.members VALUES (?, ?, ?)", rows)
    get_run_logger().info("Wrote %d rows to analytics.members", len(rows))
    return len(rows)


def failed_task_names(flow_run_id) -> list[str]:
    """The names of this flow run's task runs that failed, read from the Prefect server.

    The server records a task run's last state a moment after it happens, so ask again, for up to
    five seconds, while it shows no failed task yet.
    """
    with get_client(sync_client=True) as client:
        for _ in range(20):
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            failed = [tr.name for tr in task_runs if tr.state is not None and tr.state.is_failed()]
            if failed:
                return failed
            time.sleep(0.25)
    return []


def notify_failure(flow, flow_run, state):
    """Post a message to the team's chat channel: which run failed, at which task, and a link to the run."""
    webhook = os.environ.get("ALERT_WEBHOOK_URL")
    if not webhook:
        print("ALERT_WEBHOOK_URL is not set: no alert sent")
        return
    link = f"{PREFECT_UI_URL.value()}/runs/flow-run/{flow_run.id}"
    tasks = ", ".join(failed_task_names(flow_run.id)) or "none (the flow itself failed)"
    text = (f"Flow run {flow_run.name} of {flow.name} failed.\n"
            f"Failed task: {tasks}\n"
            f"Why: {state.message}\n"
            f"See the run: {link}")
    httpx.post(webhook, json={"text": text}, timeout=10).raise_for_status()


@flow(on_failure=[notify_failure])
def sync_members(warehouse: str = WAREHOUSE) -> int:
    """Copy the membership service's members into analytics.members."""
    members = fetch_members()
    return load_members(warehouse, members)


if __name__ == "__main__":
    sync_members()
