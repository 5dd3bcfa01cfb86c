"""Checks for exercise retries-alerts: the task that calls a flaky service is retried after a delay, and a
failure hook posts one alert (the run's name, the failed task, a link to the run in the web UI) to a webhook,
and only when the run fails, without the service's API key.

The check runs its own stand-ins on 127.0.0.1 (flowcamp.checks.standins): a membership service that is busy
(503) for its first calls, and a webhook receiver. It reads what they received, on its own clock: that record,
and what the Prefect API recorded, are the outcome graded. Two flow runs serve every check, one per scenario:
"recovers" (busy twice, then answers) and "down" (busy on every call). Each runs in a learner process loaded
with that scenario's settings, and its own pair of stand-ins.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import threading
import time
from types import SimpleNamespace

import duckdb
import pytest

from flowcamp.checks import LearnerError
from flowcamp.checks.plugin import plant_secret
from flowcamp.checks.standins import FlakyService, WebhookReceiver, bearer_or_key

FILE = "pipeline.py"
FLOW = "sync_members"
TABLE = "analytics.members"
BUSY_CALLS = 2          # the "recovers" service answers 503 this many times, then the members
MIN_GAP = 0.9           # seconds: retry_delay_seconds=1, measured by the stand-in, with a little slack
UI_PATHS = ("/runs/flow-run/", "/flow-runs/flow-run/")  # the web UI's page of a run; the second redirects to it
_SHARED: dict = {}


# --------------------------------------------------------------------------------------- the scenarios


def _members(rng) -> list[dict]:
    statuses = ["active", "lapsed", "active", "pending"]
    ids = rng.sample(range(10_000, 99_999), rng.randint(12, 30))
    return [{"member_id": i, "email": f"m{i}@example.org", "status": rng.choice(statuses)} for i in ids]


@pytest.fixture(scope="module")
def api_key():
    """A made-up key for the service, new for each check run: cut out of every message and output."""
    return plant_secret("mk_" + secrets.token_urlsafe(18))


def _load_flow(lrn):
    mod = lrn.load(FILE)
    fn = getattr(mod, FLOW, None)
    assert fn is not None, (
        f"{FILE} has no function called `{FLOW}`. Keep the flow's name as the starter has it: "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):`, with `@flow(...)` on the line above.")
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is not a Prefect flow any more: put `@flow(...)` back on the line above `def {FLOW}`.")
    assert "warehouse" in (fn.parameters or []), (
        f"`{FLOW}` in {FILE} has no parameter `warehouse`. Keep it as in the starter: "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):`.")
    return fn


def _scenario(name: str, shared_learner, prefect_run, warehouse, api_key):
    """The run of this scenario ("recovers" or "down"). The first check that asks starts both runs at once,
    each against its own stand-ins, so the check waits for the retries' delays once, not twice."""
    if "recovers" not in _SHARED:
        _run_both(shared_learner, prefect_run, warehouse, api_key)
    run = _SHARED[name]
    if isinstance(run, BaseException):
        raise run
    return run


def _run_both(shared_learner, prefect_run, warehouse, api_key):
    rng = random.Random()
    down_copy = warehouse.with_name("down-" + warehouse.name)  # two runs at once: one warehouse file each
    shutil.copyfile(warehouse, down_copy)
    plans = {name: SimpleNamespace(members=(members := _members(rng)), hook=WebhookReceiver().start(),
                                   warehouse=warehouse if name == "recovers" else down_copy,
                                   service=FlakyService(payload={"members": members}, fail_first=fail_first,
                                                        api_key=api_key).start())
             for name, fail_first in (("recovers", BUSY_CALLS), ("down", None))}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MEMBERSHIP_API_KEY", api_key)
            flows = {}
            for name, plan in plans.items():  # each learner process imports pipeline.py with its own settings
                _point_at(mp, plan)
                try:
                    flows[name] = _load_flow(shared_learner)
                except (AssertionError, LearnerError) as e:
                    _SHARED.update(recovers=e, down=e)
                    return
            answers: dict = {}

            def run(name):
                try:
                    answers[name] = prefect_run(flows[name], warehouse=str(plans[name].warehouse))
                except BaseException as e:  # noqa: BLE001 - given to every check that reads this run
                    answers[name] = e

            _point_at(mp, plans["recovers"])
            first = threading.Thread(target=run, args=("recovers",), daemon=True)
            first.start()
            # A call carries the check's settings as they are when it is sent: switch them only once the first
            # run has been sent (its service has heard from it), or has ended.
            deadline = time.monotonic() + 20
            while first.is_alive() and not plans["recovers"].service.calls and time.monotonic() < deadline:
                time.sleep(0.02)
            _point_at(mp, plans["down"])
            run("down")
            first.join()
        for name, plan in plans.items():
            got = answers.get(name, AssertionError("The flow run did not end in time."))
            _SHARED[name] = got if isinstance(got, BaseException) else SimpleNamespace(
                report=got, calls=plan.service.calls, posts=plan.hook.posts(), members=plan.members,
                warehouse=plan.warehouse)
    finally:
        for plan in plans.values():
            plan.service.stop()
            plan.hook.stop()


def _point_at(mp, plan) -> None:
    mp.setenv("MEMBERSHIP_API_URL", plan.service.url)
    mp.setenv("ALERT_WEBHOOK_URL", plan.hook.url)


# ---------------------------------------------------------------------------------------- reading it


def _state(report) -> str:
    return getattr(report.state, "name", None) or "no state"


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _task_label(task_run) -> str:
    base, _, suffix = task_run.name.rpartition("-")
    return base if base and suffix.isalnum() and len(suffix) <= 8 else task_run.name


def _refused(calls) -> bool:
    return any(c for c in calls if c.method == "GET") and not any(bearer_or_key(c) for c in calls)


def _why_not_completed(run) -> str:
    calls, report = run.calls, run.report
    if not calls:
        return ("The flow never called the membership service. `fetch_members` must send a GET request to "
                "the address in MEMBERSHIP_API_URL followed by `/members`, as the starter does.")
    if _refused(calls):
        return ("The service refused every call: none carried the API key. Send it in a header, as the starter "
                "does: `headers={\"Authorization\": f\"Bearer {key}\"}` with `key = os.environ[\"MEMBERSHIP_API_KEY\"]`.")
    if report.completed and len(calls) <= BUSY_CALLS:
        return (f"The service was busy (it answered 503) on call {len(calls)}, yet the flow run completed without "
                "trying again: the error was caught and hidden, so the run went on with no members. Let "
                "`fetch_members` raise (keep `response.raise_for_status()`, with no `try`/`except` around it), "
                "and give it `@task(retries=2, retry_delay_seconds=1)`.")
    fetched = [tr for tr in report.task_runs if _task_label(tr) == "fetch_members"]
    if len(calls) <= BUSY_CALLS and fetched and all(tr.state is not None and tr.state.is_completed() for tr in fetched):
        return (f"The service was busy (it answered 503) on call {len(calls)}, yet `fetch_members` ended Completed, "
                f"and then the flow run ended {_state(report)}: a `try`/`except` caught the error, so Prefect had "
                "nothing to retry, and the next step got no members. Remove the `try`/`except`: let "
                "`response.raise_for_status()` raise, and the retries you gave the task will do the rest.")
    if len(calls) == 1:
        return (f"The service was busy (it answered 503) on the first call, and the flow run ended {_state(report)} "
                "after that one call: `fetch_members` was not tried again. Give it retries: "
                "`@task(retries=2, retry_delay_seconds=1)` on the line above `def fetch_members`.")
    if len(calls) <= BUSY_CALLS:
        return (f"The service was busy for its first {BUSY_CALLS} calls and would have answered the next one, "
                f"but `fetch_members` was only tried {len(calls)} times. Two retries (three tries in all) are "
                "needed: `@task(retries=2, retry_delay_seconds=1)`.")
    return (f"The service answered on call {BUSY_CALLS + 1}, but the flow run still ended {_state(report)}"
            + (f": {report.error}" if report.error else "") + ". Run `uv run flowcamp run try_it.py` to see the "
            "whole error, and look at the run's logs in the Prefect web UI.")


def _recovered(shared_learner, prefect_run, warehouse, api_key):
    run = _scenario("recovers", shared_learner, prefect_run, warehouse, api_key)
    assert run.report.completed, _why_not_completed(run)
    return run


def _down(shared_learner, prefect_run, warehouse, api_key):
    """The "down" run, which must have failed, with its failed task runs."""
    run = _scenario("down", shared_learner, prefect_run, warehouse, api_key)
    report = run.report
    assert run.calls, _why_not_completed(run)
    assert not report.completed, (
        "The membership service answered 503 on every call, yet the flow run completed. The error was caught "
        "and hidden, so the run looks fine while the members were never copied, and no alert can go out. "
        "Let `fetch_members` raise (`response.raise_for_status()`), and do not wrap the call in `try`/`except`.")
    failed = [tr for tr in report.task_runs if tr.state is not None and tr.state.is_failed()]
    assert failed, (
        f"The flow run ended {_state(report)}, but no task run failed: the call to the service must happen inside "
        "the `fetch_members` task, so Prefect records which step failed.")
    return run, failed


def _hook_error(report) -> str:
    """What the run's log says about a failure hook that raised ("" if none did)."""
    for log in report.logs():
        message = log.message or ""
        if "error was encountered while running hook" in message:
            lines = [line.strip() for line in message.splitlines() if line.strip()]
            return (f"The flow run failed and Prefect called your hook, but the hook stopped with an error, so "
                    f"nothing was posted: {lines[-1] if len(lines) > 1 else lines[0]}. The whole error is in the "
                    "run's log, in the Prefect web UI.")
    return ""


def _one_post(run):
    posts = run.posts
    assert posts, (_hook_error(run.report) or (
        "The flow run failed, but nothing was posted to the webhook at ALERT_WEBHOOK_URL. Write the body of "
        "`notify_failure` so that it posts a message there, and give it to the flow: "
        "`@flow(on_failure=[notify_failure])`.")) + (
        " Run `uv run flowcamp run try_it.py`: its second run should print your message.")
    assert len(posts) == 1, (
        f"The webhook received {len(posts)} messages for one failed flow run; the team should get exactly one. "
        "Post from the flow's `on_failure` hook only, not from inside a task (a task with retries runs "
        "several times), and not from both.")
    post = posts[0]
    try:
        body = post.json()
    except ValueError:
        raise AssertionError(
            "The message posted to the webhook is not JSON, which is what chat webhooks expect. Send it with "
            "`httpx.post(webhook, json={\"text\": text}, timeout=10)`.") from None
    return post, "\n".join(_strings(body))


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(2)
def test_recovers_with_retries(shared_learner, prefect_run, warehouse, api_key):
    """A service that is busy twice is tried again, and the flow run completes"""
    run = _recovered(shared_learner, prefect_run, warehouse, api_key)
    assert len(run.calls) >= BUSY_CALLS + 1, _why_not_completed(run)


def _retry_waits(report) -> list[float]:
    """The waits Prefect scheduled before each retry of the run's tasks, as it recorded them: each
    AwaitingRetry state's scheduled start minus the moment it was set (the machine's load does not change it)."""
    from flowcamp.checks.prefect import api

    waits = []
    with api() as client:
        for tr in report.task_runs:
            if (tr.run_count or 0) < 2:
                continue
            for st in client.read_task_run_states(tr.id):
                scheduled = getattr(st.state_details, "scheduled_time", None)
                if st.name == "AwaitingRetry" and scheduled is not None:
                    waits.append((scheduled - st.timestamp).total_seconds())
    return waits


@pytest.mark.points(1)
def test_retries_wait(shared_learner, prefect_run, warehouse, api_key):
    """fetch_members waits about a second before each retry"""
    run = _scenario("recovers", shared_learner, prefect_run, warehouse, api_key)
    gaps = [b.at - a.at for a, b in zip(run.calls, run.calls[1:])]
    assert gaps, _why_not_completed(run)
    waits = _retry_waits(run.report)
    short = sorted({round(g, 2) for g in gaps + waits if g < MIN_GAP})
    assert waits and not short, (
        "`fetch_members` tried the service again "
        + (f"after only {', '.join(f'{g:.2f}' for g in short)} seconds" if short else "without Prefect waiting")
        + ". A busy service needs a moment before the next try: let Prefect wait a second between tries, "
        "with `retry_delay_seconds=1` next to `retries=2` (on a real schedule you would wait minutes).")


@pytest.mark.points(1)
def test_members_loaded(shared_learner, prefect_run, warehouse, api_key):
    """The members the service sent are in analytics.members"""
    run = _recovered(shared_learner, prefect_run, warehouse, api_key)
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        try:
            rows = con.execute(f"SELECT member_id, email, status FROM {TABLE}").fetchall()
        except duckdb.Error:
            rows = None
    assert rows is not None, (
        f"The flow run completed, but there is no table {TABLE} in the warehouse it was given. Keep "
        "`load_members` as the starter has it, and call it with what `fetch_members` returned.")
    want = sorted((m["member_id"], m["email"], m["status"]) for m in run.members)
    assert sorted(rows) == want, (
        f"{TABLE} has {len(rows)} rows, but the service sent {len(want)} members, and they should be exactly "
        "those. Pass the members `fetch_members` returned on to `load_members`, unchanged.")


@pytest.mark.points(1)
def test_no_alert_on_success(shared_learner, prefect_run, warehouse, api_key):
    """A run that completes posts no alert"""
    run = _recovered(shared_learner, prefect_run, warehouse, api_key)
    assert not run.posts, (
        f"The flow run completed, yet {len(run.posts)} message(s) were posted to the webhook. An alert that "
        "comes on good nights too is soon ignored. Give your hook to `on_failure`, not `on_completion`, and "
        "post only from the hook.")


@pytest.mark.points(3)
def test_alert_on_failure(shared_learner, prefect_run, warehouse, api_key):
    """A failed run posts one alert with the flow run's name and the failed task"""
    run, failed = _down(shared_learner, prefect_run, warehouse, api_key)
    _, text = _one_post(run)
    name = run.report.flow_run.name
    assert name in text, (
        f"The alert does not name the flow run. This run was called `{name}` (Prefect gives each run a name, "
        f"like `clever-otter`); the message said: {text[:300]!r}. Put `flow_run.name` in it (the flow's name, "
        "`flow.name`, is the same every night and does not say which run failed).")
    labels = sorted({_task_label(tr) for tr in failed})
    assert any(label in text for label in labels), (
        f"The alert does not say which task failed: here {', '.join(labels)}. Put the names that "
        "`failed_task_names(flow_run.id)` gives in the message.")


@pytest.mark.points(2)
def test_alert_links_to_run(shared_learner, prefect_run, warehouse, api_key):
    """The alert links to the failed run in the Prefect web UI"""
    run, _ = _down(shared_learner, prefect_run, warehouse, api_key)
    _, text = _one_post(run)
    ui = (os.environ.get("PREFECT_UI_URL") or os.environ["PREFECT_API_URL"].removesuffix("/api")).rstrip("/")
    run_id = str(run.report.flow_run.id)
    links = [f"{ui}{path}{run_id}" for path in UI_PATHS]
    if any(link in text for link in links):
        return
    api = os.environ.get("PREFECT_API_URL", "").rstrip("/")
    if (api and f"{api}/" in text) or "/api/flow_runs" in text:
        raise AssertionError(
            "The alert links to the run in Prefect's API (an address with `/api/` in it), which answers with "
            "data, not a page a person can read. Build the link from the web UI's address: "
            f"`f\"{{PREFECT_UI_URL.value()}}/runs/flow-run/{{flow_run.id}}\"`. Here that is {links[0]}.")
    detail = ("it has the run's id, but not on the web UI's address" if run_id in text
              else "it has no link to the run")
    raise AssertionError(
        f"The alert should link to the failed run in the Prefect web UI, and {detail}. Build the link from the "
        "address Prefect is set up with, not one typed into the code: "
        f"`f\"{{PREFECT_UI_URL.value()}}/runs/flow-run/{{flow_run.id}}\"` (`from prefect.settings import "
        f"PREFECT_UI_URL`). Here that is {links[0]}.")


@pytest.mark.points(2)
def test_key_kept_secret(shared_learner, prefect_run, warehouse, api_key):
    """The API key is sent to the service, and to nowhere else"""
    down, _ = _down(shared_learner, prefect_run, warehouse, api_key)
    assert all(bearer_or_key(c) == api_key for c in down.calls), (
        "Some calls to the membership service did not carry the API key from MEMBERSHIP_API_KEY. Send it on "
        "every call, in the header: `headers={\"Authorization\": f\"Bearer {key}\"}`.")
    post, _ = _one_post(down)
    assert api_key not in post.everything(), (
        "The alert contains the membership service's API key. Anyone in the chat channel could read it, and "
        "chat history is kept for years. Leave the key out of the message: if you copy an error's text into it, "
        "make sure the key is in a header (`Authorization: Bearer ...`), not in the service's address.")
    runs = [down] + ([_SHARED["recovers"]] if isinstance(_SHARED.get("recovers"), SimpleNamespace) else [])
    for run in runs:
        logged = [log.message for log in run.report.logs()]
        where = ("its logs" if any(api_key in m for m in logged)
                 else "its parameters" if api_key in json.dumps(run.report.parameters, default=str)
                 else "")
        assert not where, (
            f"The API key is in the flow run's {where.removeprefix('its ')} on the Prefect server, where anyone "
            "who opens the web UI can read it. Do not log or print the key, and send it in the "
            "`Authorization` header, not in the address: Prefect logs every error message, and an HTTP error "
            "repeats the address it called.")
