"""Checks for exercise workflow-flow: pipeline.py runs the Civis workflow of workflow.yml as a Prefect flow.

The steps are the course's own steps.py (staged next to the learner's pipeline.py, so an edited copy
changes nothing). Each step writes "Step <name> started" to the run's log, so the Prefect API says which
task run ran which step. Three runs, each shared by the checks that read it:

- "happy": FLOWCAMP_RENDEZVOUS names a folder where summary and sheet_export each wait for the other
  (5 s at most): they only both complete when they run at the same time;
- "build_tables" and "sheet_export": FLOWCAMP_FAIL_STEP makes that step fail, to see the on-error path.
"""

import contextlib
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from flowcamp.checks import LearnerError
from flowcamp.checks.prefect import FLOW_TYPE, FlowRunReport
from flowcamp.checks.processes import requests_env
from flowcamp.tidy import CHECK_TAG

COURSE_DIR = Path(__file__).resolve().parents[1]
GIVEN = ["steps.py", "workflow.yml"]
FILE, FLOW = "pipeline.py", "nightly_pipeline"
STEPS = ("load_events", "build_tables", "summary", "sheet_export", "done")
BRANCHES = ("summary", "sheet_export")
EDGES = (("load_events", "build_tables"), ("build_tables", "summary"), ("build_tables", "sheet_export"),
         ("summary", "done"), ("sheet_export", "done"))
STEP_LINE = re.compile(r"^Step (\w+) (started|finished)")
UI = "Open the run in the Prefect web UI (`uv run flowcamp server` prints its address) to read each task's log."

EXPECTED_SQL = """
SELECT s.event_id,
       count(DISTINCT lower(trim(s.email))) AS signups,
       count(DISTINCT lower(trim(s.email))) FILTER (WHERE lower(trim(s.status)) = 'attended') AS attended
FROM mobilize.signups AS s
WHERE nullif(trim(s.email), '') IS NOT NULL
  AND coalesce(lower(trim(s.status)), '') <> 'cancelled'
  AND s.event_id IN (SELECT event_id FROM mobilize.events)
GROUP BY s.event_id
"""


@dataclass
class Outcome:
    """One run of the learner's flow, as the Prefect API recorded it."""

    report: object
    given: Path                       # the warehouse passed to the flow
    env_warehouse: Path               # the one FLOWCAMP_WAREHOUSE named
    rendezvous: Path | None = None
    started: dict = field(default_factory=dict)    # step -> [task run id, or None for the flow itself]
    finished: dict = field(default_factory=dict)
    task_runs: dict = field(default_factory=dict)  # task run id -> task run

    @property
    def state(self) -> str:
        return getattr(self.report.state, "name", None) or "no state"

    def task_run(self, step):
        ids = self.started.get(step) or [None]
        return self.task_runs.get(ids[0])


_OUTCOMES: dict = {}
SCENARIOS = ("happy", "build_tables", "sheet_export")


def _outcome(scenario, learner, prefect_run, warehouse, tmp_path) -> Outcome:
    """The run for a scenario ("happy", or the step made to fail). The first check that asks runs all three at
    once (each in its own learner process, with its own settings and warehouse files): the steps' pauses and
    Prefect's own waits then overlap, so the check waits about as long as for one run."""
    if scenario not in _OUTCOMES:
        _run_all(learner, warehouse, tmp_path)
    out = _OUTCOMES[scenario]
    if isinstance(out, BaseException):
        raise out
    return out


def _run_all(learner, warehouse, tmp_path) -> None:
    plans = {}
    for scenario in SCENARIOS:
        home = tmp_path / scenario
        home.mkdir()
        # not FLOWCAMP_WAREHOUSE's copy: the flow must use its parameter
        given, env_warehouse = home / "given-to-the-flow.duckdb", home / "warehouse.duckdb"
        shutil.copyfile(warehouse, given)
        shutil.copyfile(warehouse, env_warehouse)
        rendezvous = home / "rendezvous" if scenario == "happy" else None
        env = {"FLOWCAMP_WAREHOUSE": str(env_warehouse)}
        if rendezvous:
            rendezvous.mkdir()
            env["FLOWCAMP_RENDEZVOUS"] = str(rendezvous)
        else:
            env["FLOWCAMP_FAIL_STEP"] = scenario
        plans[scenario] = (home, given, env_warehouse, rendezvous, env)
    answers: dict = {}
    with contextlib.ExitStack() as stack:
        flows = {}
        for scenario, (home, given, env_warehouse, rendezvous, env) in plans.items():
            staged = stack.enter_context(learner.staged(home / "staged", COURSE_DIR, GIVEN))
            try:
                with requests_env(env):  # pipeline.py may read its settings as it is imported
                    mod = staged.load(FILE)
                fn = staged.get(mod, FLOW, "flow")
                assert fn.isinstance_of(FLOW_TYPE), (
                    f"`{FLOW}` in {FILE} is not a Prefect flow. Keep `@flow` on the line just above "
                    f"`def {FLOW}(...)`.")
            except (AssertionError, LearnerError) as e:  # the same file for every scenario: the same answer
                _OUTCOMES.update(dict.fromkeys(SCENARIOS, e))
                return
            flows[scenario] = fn

        def run(scenario):
            try:
                with requests_env(plans[scenario][4]):
                    report = _run_flow(learner, flows[scenario], warehouse=str(plans[scenario][1]))
                answers[scenario] = (report, report.logs())  # read here: the three runs' reads overlap too
            except BaseException as e:  # noqa: BLE001 - given to every check that reads this run
                answers[scenario] = e

        threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in SCENARIOS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for scenario, (home, given, env_warehouse, rendezvous, env) in plans.items():
        answer = answers.get(scenario, AssertionError("The flow run did not end."))
        if isinstance(answer, BaseException):
            _OUTCOMES[scenario] = answer
            continue
        report, logs = answer
        out = Outcome(report, given, env_warehouse, rendezvous, task_runs={str(tr.id): tr for tr in report.task_runs})
        for line in logs:
            m = STEP_LINE.match(line.message or "")
            if m:
                where = str(line.task_run_id) if line.task_run_id else None
                (out.started if m[2] == "started" else out.finished).setdefault(m[1], []).append(where)
        _OUTCOMES[scenario] = out


# ------------------------------------------------------------------------------------------ helpers


def _settled(state) -> bool:
    """Final, or never to start: a task whose upstream failed stays Pending, named NotReady."""
    return state is not None and (state.is_final() or (state.is_pending() and state.name == "NotReady"))


def _run_flow(learner, fn, **params) -> FlowRunReport:
    """prefect_run's work, with one difference: the failure runs leave tasks NotReady (their upstream failed),
    which are not final, and prefect_run would wait 15 s for them."""
    from flowcamp.checks.prefect import api
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ran = learner.run_flow(fn, tag=CHECK_TAG, name=f"check-{FLOW}", **params)
    if not ran.get("flow_run_id"):
        return FlowRunReport(state=None, error=ran.get("error") or "the flow did not start a run")
    deadline = time.monotonic() + 10
    flt = FlowRunFilter(id=FlowRunFilterId(any_=[ran["flow_run_id"]]))
    with api() as client:
        flow_run, previous = client.read_flow_run(ran["flow_run_id"]), None
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=flt)
            current = sorted((str(tr.id), tr.state_name) for tr in runs)
            final = flow_run.state and flow_run.state.is_final() and all(_settled(tr.state) for tr in runs)
            if final and current == previous:
                break
            previous = current if final else None
            time.sleep(0.05)
            flow_run = client.read_flow_run(ran["flow_run_id"])
    return FlowRunReport(state=flow_run.state, flow_run=flow_run, given_task_runs=runs, error=ran.get("error", ""),
                         sent=ran.get("logs_sent") is True)


def _failed_steps(out) -> list[str]:
    return [s for s in (*STEPS, "alert") if s in out.started and s not in out.finished]


def _why_not_completed(out) -> str:
    """The run did not complete: which step failed, and the rendezvous's sentence if that was it."""
    failed = _failed_steps(out)
    text = f"The run ended {out.state}, not Completed."
    if failed:
        text += f" The step {failed[0]} failed."
    if out.report.error:
        text += f" The error was at {out.report.error}"
    if any(s in failed for s in BRANCHES) and out.rendezvous and not _met(out) and ".submit(" not in text:
        text += (" Start summary and sheet_export with `.submit(...)`, "
                 "so that the second one starts while the first one runs.")
    return text + " " + UI


def _met(out) -> bool:
    return all((out.rendezvous / f"{s}.met").exists() for s in BRANCHES)


def _assert_in_own_tasks(out, steps):
    """Each step ran exactly once, inside a task run of its own."""
    for step in steps:
        where = out.started.get(step, [])
        assert where, (
            f"The step {step} never ran in a task of this flow run. "
            + (_why_not_completed(out) if not out.report.completed else
               f"Call it from a task inside `{FLOW}`: `@task`, then `def {step}(warehouse): "
               f"return steps.{step}(warehouse)`, and call that task from the flow. If you start it with "
               "`.submit(...)`, ask for its `.result()` before the flow ends: a future nobody waits for may "
               "never run.")
        )
        assert None not in where, (
            f"steps.{step} ran in the flow itself, not inside a task, so Prefect cannot run it at the same time "
            f"as another step, wait for it, or show it on its own. Wrap it in a task: `@task` on a line above "
            f"`def {step}(warehouse): return steps.{step}(warehouse)`, and call that task from `{FLOW}`."
        )
        assert len(where) == 1, (
            f"The step {step} ran {len(where)} times in one run of the flow; in workflow.yml it runs once. "
            "Call its task once."
        )
    owners = {}
    for step in steps:
        owners.setdefault(out.started[step][0], []).append(step)
    shared = [names for names in owners.values() if len(names) > 1]
    assert not shared, (
        f"The steps {' and '.join(shared[0])} ran inside the same task. Give each step a task of its own, "
        "as each was a job of its own on Civis: then Prefect can run them apart, and show each one's state."
    )


def _ancestors(out, tr) -> set:
    """Every task run this one waited for, as Prefect recorded it (its inputs and wait_for), and theirs."""
    seen, todo = set(), [tr]
    while todo:
        for inputs in (getattr(todo.pop(), "task_inputs", None) or {}).values():
            for item in inputs:
                up = str(getattr(item, "id", "")) if getattr(item, "input_type", "") == "task_run" else ""
                if up and up not in seen:
                    seen.add(up)
                    if up in out.task_runs:
                        todo.append(out.task_runs[up])
    return seen


def _ran_after(out, first, then) -> bool:
    """`then` started after `first` ended: Prefect made it wait (wait_for or a result passed on), or the flow
    called it once `first` had returned."""
    a, b = out.task_run(first), out.task_run(then)
    if str(a.id) in _ancestors(out, b):
        return True
    return bool(a.end_time and b.start_time and b.start_time >= a.end_time)


def _assert_on_error(out, failed, not_after):
    assert out.started.get(failed), (
        f"The check made {failed} fail, but {failed} never ran, so the on-error path could not be seen. "
        "Make the first checks pass first."
    )
    ran = [s for s in not_after if s in out.started]
    assert not ran, (
        f"{failed} failed, yet {' and '.join(ran)} still ran. In workflow.yml a step runs only after the "
        "steps it waits for succeed (on-success). Make it wait for them: call it after them, or pass their "
        "futures as `wait_for=[...]`."
    )
    assert out.started.get("alert"), (
        f"{failed} failed, but the alert step never ran in a task of this run ({out.state}). That is the "
        "workflow's `on-error: [alert]`. Put the body of the flow in `try:`, and under "
        "`except Exception as error:` call your alert task, then `raise`. If you used `.submit()`, call "
        "`.result()` on the last future inside the `try`, so a failed branch reaches the `except`."
    )
    _assert_in_own_tasks(out, ["alert"])
    assert "alert" in out.finished, f"The alert step started but did not finish. {UI}"
    assert out.report.state is not None and out.report.state.is_failed(), (
        f"{failed} failed and alert ran, but the run ended {out.state}. On Civis, `std.fail` after the alert "
        "marked the workflow run as failed, so people and schedules could see it. After calling alert in your "
        "`except` block, write `raise` on its own line: the run then ends Failed."
    )


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(2)
def test_happy_run(learner, prefect_run, warehouse, tmp_path):
    """On a good night, every step runs once in a task of its own, alert does not run, and the run completes"""
    out = _outcome("happy", learner, prefect_run, warehouse, tmp_path)
    _assert_in_own_tasks(out, STEPS)
    assert out.report.completed, _why_not_completed(out)
    assert "alert" not in out.started, (
        "alert ran although no step failed. In workflow.yml alert runs only on error. Call it only in the "
        "`except` block of a `try:` around the steps, not after them."
    )
    unfinished = [s for s in STEPS if out.task_run(s).state is None or not out.task_run(s).state.is_completed()]
    assert not unfinished, f"These steps' task runs did not complete: {', '.join(unfinished)}. {UI}"


@pytest.mark.points(3)
def test_branches_at_the_same_time(learner, prefect_run, warehouse, tmp_path):
    """summary and sheet_export run at the same time, like the two on-success branches of build_tables"""
    out = _outcome("happy", learner, prefect_run, warehouse, tmp_path)
    _assert_in_own_tasks(out, BRANCHES)
    arrived = [s for s in BRANCHES if (out.rendezvous / f"{s}.met").exists()]
    assert len(arrived) == 2, (
        "summary and sheet_export did not run at the same time. In this check each of them waits up to 5 "
        "seconds for the other to start; "
        + (f"{arrived[0]} met the other, but the other gave up waiting. " if arrived else
           "neither saw the other start: they ran one after the other. ")
        + "Calling a task runs it to the end before the next line starts. Start both branches with "
        "`.submit(...)`, which returns at once with a future: `totals = summary.submit(warehouse, "
        "wait_for=[built])` and `sheet = sheet_export.submit(warehouse, wait_for=[built])`."
    )
    for me, other in (BRANCHES, BRANCHES[::-1]):
        seen = (out.rendezvous / f"{me}.met").read_text(encoding="utf-8")
        a, b = out.task_run(me), out.task_run(other)
        overlap = a.start_time and b.end_time and a.start_time < b.end_time
        assert seen == str(b.id) and overlap, (
            f"{me} says it met {other}, but Prefect recorded {other}'s task run "
            f"{'somewhere else' if seen != str(b.id) else 'at another time'}. The two branches must run as "
            "tasks, at the same time: start both with `.submit(...)` and leave the folder the checks use alone."
        )


@pytest.mark.points(3)
def test_order_of_the_workflow(learner, prefect_run, warehouse, tmp_path):
    """Each step starts only after the steps it waits for in workflow.yml have finished (on-success, join: all)"""
    out = _outcome("happy", learner, prefect_run, warehouse, tmp_path)
    _assert_in_own_tasks(out, STEPS)
    for first, then in EDGES:
        why = ("`join: all`: done waits for both branches. Give done both futures: "
               "`done.submit(warehouse, wait_for=[totals, sheet])`, or call it after `.result()` on both."
               if then == "done" else
               f"In workflow.yml {first} has `on-success: [{then}]`. Start {then} after {first} has returned "
               f"(call {first}, not `{first}.submit`, on the line before), or pass {first}'s future as "
               f"`wait_for=[...]`.")
        assert _ran_after(out, first, then), f"{then} started before {first} had finished. {why}"


@pytest.mark.points(2)
def test_on_error_in_the_main_line(learner, prefect_run, warehouse, tmp_path):
    """When build_tables fails, alert runs, the steps after it do not, and the run ends Failed"""
    out = _outcome("build_tables", learner, prefect_run, warehouse, tmp_path)
    _assert_on_error(out, "build_tables", ["summary", "sheet_export", "done"])


@pytest.mark.points(2)
def test_on_error_in_a_branch(learner, prefect_run, warehouse, tmp_path):
    """When the branch sheet_export fails, alert runs, done does not, and the run ends Failed"""
    out = _outcome("sheet_export", learner, prefect_run, warehouse, tmp_path)
    _assert_on_error(out, "sheet_export", ["done"])


def _tables(path) -> set:
    with duckdb.connect(str(path), read_only=True) as con:
        return {f"{s}.{t}" for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables")
                .fetchall()}


@pytest.mark.points(1)
def test_tables_in_the_given_warehouse(learner, prefect_run, warehouse, pristine, tmp_path):
    """The good night's run fills the tables of the warehouse it was given, with the right numbers"""
    out = _outcome("happy", learner, prefect_run, warehouse, tmp_path)
    wanted = ("analytics.nightly_attendance", "analytics.nightly_summary", "exports.attendance_sheet")
    there = _tables(out.given)
    if not all(t in there for t in wanted) and "analytics.nightly_attendance" in _tables(out.env_warehouse):
        raise AssertionError(
            "The steps wrote to the warehouse WAREHOUSE names, not to the one passed to the flow as `warehouse`. "
            "Pass the flow's `warehouse` parameter on to every task; WAREHOUSE is only its default.")
    missing = [t for t in wanted if t not in there]
    assert not missing, f"After the run, {', '.join(missing)} is missing. " + (
        "" if out.report.completed else _why_not_completed(out))
    with duckdb.connect(str(pristine), read_only=True) as con:
        expected = {r[0]: (r[1], r[2]) for r in con.execute(EXPECTED_SQL).fetchall()}
    with duckdb.connect(str(out.given), read_only=True) as con:
        got = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT event_id, signups, attended FROM analytics.nightly_attendance").fetchall()}
        totals = con.execute("SELECT events, signups, attended FROM analytics.nightly_summary").fetchall()
        sheet_rows = con.execute("SELECT count(*) FROM exports.attendance_sheet").fetchone()[0]
    assert expected and got == expected, (
        "analytics.nightly_attendance does not hold one row per event with the right counts. The steps do the "
        "work: call each step of steps.py once, with the flow's `warehouse`, in the order of workflow.yml.")
    want_totals = [(len(expected), sum(v[0] for v in expected.values()), sum(v[1] for v in expected.values()))]
    assert [tuple(int(x) for x in row) for row in totals] == want_totals and sheet_rows == len(expected), (
        "The summary or the sheet's rows do not match the events table: summary and sheet_export must run after "
        "build_tables, on the same warehouse.")
