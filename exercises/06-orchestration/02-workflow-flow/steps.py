"""The steps of the nightly pipeline: the Civis scripts of workflow.yml, as plain Python functions.

This file is given: use its functions from pipeline.py, but do not change it (the checks use their own
copy). Each step takes the warehouse path, does its work and returns a short description of it.

    load_events   stage the Mobilize sign-ups           -> staging.event_signups
    build_tables  one row per event                     -> analytics.nightly_attendance
    summary       the night's totals, one row           -> analytics.nightly_summary
    sheet_export  the rows for the shared sheet         -> exports.attendance_sheet
    done          check that both results are there
    alert         tell the data team the run failed (here: a log line)

Two settings are only for the checks; without them the steps just run:
FLOWCAMP_RENDEZVOUS (a folder: summary and sheet_export each wait there for the other, so they only
finish when they run at the same time) and FLOWCAMP_FAIL_STEP (the name of a step that then fails).
"""

import os
import threading
import time
from pathlib import Path

import duckdb

RENDEZVOUS_SECONDS = 5.0
CHECK_PAUSE_SECONDS = 0.1  # under the checks, a step before others takes a moment, so order shows
_WRITING = threading.Lock()  # one step at a time writes to the warehouse, even when steps run together


def _say(message: str, warning: bool = False) -> None:
    """A log line in the Prefect run when there is one (it shows which task ran the step), else a print."""
    try:
        from prefect import get_run_logger

        logger = get_run_logger()
    except Exception:  # not inside a flow or task run
        print(message)
        return
    (logger.warning if warning else logger.info)(message)


def _task_run_id() -> str:
    try:
        from prefect.context import TaskRunContext

        ctx = TaskRunContext.get()
        return str(ctx.task_run.id) if ctx and ctx.task_run else ""
    except Exception:
        return ""


def _start(name: str) -> None:
    _say(f"Step {name} started")
    if os.environ.get("FLOWCAMP_FAIL_STEP") == name:
        raise RuntimeError(f"{name} failed on purpose (FLOWCAMP_FAIL_STEP), to show what runs on error.")


def _pause_for_checks() -> None:
    if os.environ.get("FLOWCAMP_RENDEZVOUS") or os.environ.get("FLOWCAMP_FAIL_STEP"):
        time.sleep(CHECK_PAUSE_SECONDS)


def _meet(name: str, other: str) -> None:
    """Under the checks: say we are here, and wait for the other branch to be here too."""
    folder = os.environ.get("FLOWCAMP_RENDEZVOUS")
    if not folder:
        return
    here, there = Path(folder) / f"{name}.arrived", Path(folder) / f"{other}.arrived"
    draft = here.with_suffix(".draft")
    draft.write_text(_task_run_id(), encoding="utf-8")
    os.replace(draft, here)  # whole at once: the other branch never reads a half-written file
    deadline = time.monotonic() + RENDEZVOUS_SECONDS
    while not there.exists():
        if time.monotonic() > deadline:
            here.unlink(missing_ok=True)
            raise RuntimeError(
                f"{name} waited {RENDEZVOUS_SECONDS:g} s for {other}, which never started: "
                "the two branches ran one after the other, not at the same time.")
        time.sleep(0.02)
    (Path(folder) / f"{name}.met").write_text(there.read_text(encoding="utf-8"), encoding="utf-8")


def _write(warehouse: str, sql: str) -> int:
    """Run one CREATE OR REPLACE TABLE ... AS statement; return the new table's row count."""
    if not os.path.exists(warehouse):
        raise FileNotFoundError(f"There is no warehouse at {warehouse}.")
    table = sql.split("TABLE", 1)[1].split()[0]
    with _WRITING, duckdb.connect(warehouse) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(sql)
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def load_events(warehouse: str) -> str:
    """Stage the Mobilize sign-ups: cleaned emails and statuses, no cancelled ones, no missing emails."""
    _start("load_events")
    n = _write(warehouse, """
        CREATE OR REPLACE TABLE staging.event_signups AS
        SELECT s.signup_id, s.event_id, e.title,
               lower(trim(s.email)) AS email, lower(trim(s.status)) AS status
        FROM mobilize.signups AS s
        JOIN mobilize.events AS e ON e.event_id = s.event_id
        WHERE coalesce(trim(s.email), '') <> '' AND lower(trim(coalesce(s.status, ''))) <> 'cancelled'
    """)
    _pause_for_checks()
    _say(f"Step load_events finished: staged {n} sign-ups")
    return f"staging.event_signups: {n} rows"


def build_tables(warehouse: str) -> str:
    """One row per event: how many people signed up, how many came. Needs load_events first."""
    _start("build_tables")
    n = _write(warehouse, """
        CREATE OR REPLACE TABLE analytics.nightly_attendance AS
        SELECT event_id, any_value(title) AS title,
               count(DISTINCT email) AS signups,
               count(DISTINCT email) FILTER (WHERE status = 'attended') AS attended
        FROM staging.event_signups
        GROUP BY event_id
    """)
    _pause_for_checks()
    _say(f"Step build_tables finished: {n} events")
    return f"analytics.nightly_attendance: {n} rows"


def summary(warehouse: str) -> str:
    """The night's totals, one row. Needs build_tables first."""
    _start("summary")
    _meet("summary", "sheet_export")
    _write(warehouse, """
        CREATE OR REPLACE TABLE analytics.nightly_summary AS
        SELECT count(*) AS events, sum(signups) AS signups, sum(attended) AS attended
        FROM analytics.nightly_attendance
    """)
    _say("Step summary finished")
    return "analytics.nightly_summary: 1 row"


def sheet_export(warehouse: str) -> str:
    """The rows for the shared sheet the organisers read. Needs build_tables first."""
    _start("sheet_export")
    _meet("sheet_export", "summary")
    n = _write(warehouse, """
        CREATE OR REPLACE TABLE exports.attendance_sheet AS
        SELECT title AS "Event", signups AS "Signed up", attended AS "Came",
               round(attended / signups, 2) AS "Share who came"
        FROM analytics.nightly_attendance
        ORDER BY signups DESC, title
    """)
    _say(f"Step sheet_export finished: {n} rows for the sheet")
    return f"exports.attendance_sheet: {n} rows"


def done(warehouse: str) -> str:
    """Check that both branches left their table. Needs summary and sheet_export first."""
    _start("done")
    with _WRITING, duckdb.connect(warehouse) as con:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
        missing = [t for t in ("analytics.nightly_summary", "exports.attendance_sheet") if t not in tables]
        if missing:
            raise RuntimeError(f"done ran before {' and '.join(missing)} existed: it must wait for both branches.")
        events, = con.execute("SELECT events FROM analytics.nightly_summary").fetchone()
        rows, = con.execute("SELECT count(*) FROM exports.attendance_sheet").fetchone()
    if events != rows:
        raise RuntimeError(f"done found {events} events in the summary but {rows} rows in the sheet.")
    _say(f"Step done finished: the nightly pipeline is complete ({events} events)")
    return "done"


def alert(reason: str = "") -> str:
    """Tell the data team that the nightly run failed. On Civis this e-mailed them; here it writes a warning."""
    _start("alert")
    message = "The nightly pipeline failed" + (f": {reason}" if reason else ".")
    _say(f"Step alert finished: told the data team. {message}", warning=True)
    return message
