"""Checks for exercise first-flow: pipeline.py is a Prefect flow of tasks that builds analytics.event_attendance."""

import shutil

import duckdb
import pytest

FILE = "pipeline.py"
FLOW = "build_event_attendance"
SCHEMA, NAME = "analytics", "event_attendance"
TABLE = f"{SCHEMA}.{NAME}"
COLUMNS = ("event_id", "title", "signups", "attended", "attendance_rate")
RATE_TOLERANCE = 0.006  # allows a rate rounded to two decimals

# Our own statement of what the table must hold, computed on the held-out warehouse.
EXPECTED_SQL = """
WITH cleaned AS (
    SELECT s.event_id,
           e.title,
           lower(trim(coalesce(s.email, ''), ' ' || chr(9) || chr(10) || chr(13))) AS email,
           lower(trim(coalesce(s.status, ''))) AS status
    FROM mobilize.signups AS s
    JOIN mobilize.events AS e ON e.event_id = s.event_id
)
SELECT event_id,
       any_value(title) AS title,
       count(DISTINCT email) AS signups,
       count(DISTINCT email) FILTER (WHERE status = 'attended') AS attended
FROM cleaned
WHERE email <> '' AND status <> 'cancelled'
GROUP BY event_id
"""


# ----------------------------------------------------------------------------------------- helpers


def _connect(path):
    return duckdb.connect(str(path))


def _table_exists(path) -> bool:
    with _connect(path) as con:
        return con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [SCHEMA, NAME],
        ).fetchone()[0] > 0


def _columns(path) -> list[str]:
    with _connect(path) as con:
        rows = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [SCHEMA, NAME],
        ).fetchall()
    return [r[0].lower() for r in rows]


def _expected(path) -> dict:
    """event_id -> (title, signups, attended, rate)."""
    with _connect(path) as con:
        rows = con.execute(EXPECTED_SQL).fetchall()
    return {eid: (title, n, a, a / n) for eid, title, n, a in rows}


def _table_rows(path) -> list[tuple]:
    with _connect(path) as con:
        return con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}").fetchall()


def _row_count(path) -> int:
    with _connect(path) as con:
        return con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]


def _load(learner):
    """pipeline.py imported, and its build_event_attendance (whatever it is)."""
    mod = learner.load(FILE)
    fn = getattr(mod, FLOW, None)
    assert fn is not None, (
        f"{FILE} has no function called `{FLOW}` yet. Put the three steps inside "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):` (spelled exactly like that), and put `@flow` on the line above it."
    )
    return mod, fn


def _load_flow(learner):
    _, fn = _load(learner)
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is a plain function, not a Prefect flow. Put `@flow` on the line just above "
        f"`def {FLOW}(...)`, and `from prefect import flow` at the top of the file."
    )
    assert "warehouse" in (fn.parameters or []), (
        f"`{FLOW}` in {FILE} has no parameter called `warehouse`. Write it as "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):` and use `warehouse` (not WAREHOUSE) inside it, "
        "so a run can point the flow at another warehouse, as a Civis script parameter would."
    )
    return fn


# Each flow run costs a second or more, so the checks that only need "the flow ran once" share one run
# (and the copy of the warehouse it wrote to). pytest keeps each check's temporary folder until the end.
_SHARED: dict = {}


def _untouched_copy(warehouse, name: str):
    """A copy of the held-out warehouse, taken BEFORE pipeline.py is imported in this check.

    If pipeline.py runs the flow on import, that run writes to `warehouse` (the file FLOWCAMP_WAREHOUSE
    names). The copy the flow is given must not contain what the import did: otherwise a flow that ignores
    its `warehouse` parameter, or adds rows on every run, looks right. Importing is checked on its own.
    """
    copy = warehouse.with_name(name)
    shutil.copyfile(warehouse, copy)
    return copy


def _shared_report(learner, prefect_run, warehouse):
    """The shared first run's report, whatever its state. Loads and checks the flow every time."""
    if "report" in _SHARED:
        _load_flow(learner)
        return _SHARED["report"]
    # Run on a second copy, not the one FLOWCAMP_WAREHOUSE names: a flow must use its parameter.
    given = _untouched_copy(warehouse, "given-to-the-flow.duckdb")
    flow_obj = _load_flow(learner)
    _SHARED["report"] = prefect_run(flow_obj, warehouse=str(given))
    _SHARED["warehouse"] = given
    _SHARED["env_warehouse"] = warehouse
    return _SHARED["report"]


def _run_once(learner, prefect_run, warehouse):
    """The shared first run, which must have completed: (report, the warehouse it wrote to)."""
    report = _shared_report(learner, prefect_run, warehouse)
    _assert_completed(report)
    return report, _SHARED["warehouse"]


def _run(learner, prefect_run, warehouse):
    """Run the learner's flow once on the given warehouse; fail with the flow's own error if it failed."""
    flow_obj = _load_flow(learner)
    report = prefect_run(flow_obj, warehouse=str(warehouse))
    _assert_completed(report)
    return report


def _assert_completed(report):
    assert report.completed, (
        f"The flow run of `{FLOW}` did not complete: it ended as "
        f"{getattr(report.state, 'name', 'unknown')}. "
        + (f"The error was at {report.error}. " if report.error else "")
        + "Run `uv run python pipeline.py` in this folder to see the whole error, and look at the run's logs in "
        "the Prefect web UI (`uv run flowcamp server` prints its address)."
    )


def _task_label(task_run) -> str:
    base, _, _ = task_run.name.rpartition("-")
    return base or task_run.name


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(1)
def test_import_runs_nothing(learner, warehouse):
    """Importing pipeline.py does not run the pipeline"""
    mod = learner.load(FILE)
    assert not _table_exists(warehouse), (
        f"Just importing {FILE} built {TABLE}: the pipeline runs as soon as the file is read. "
        "Code at the top level of a file runs on import. Keep only imports, WAREHOUSE and your functions "
        "at the top level, and start the run at the bottom of the file, under "
        f"`if __name__ == \"__main__\":` with `{FLOW}()` indented below it."
    )
    assert getattr(mod, FLOW, None) is not None, (
        f"Importing {FILE} ran nothing, good. But it has no function called `{FLOW}` yet: put the three steps "
        f"inside `def {FLOW}(warehouse: str = WAREHOUSE):` (spelled exactly like that), with `@flow` above it."
    )


@pytest.mark.points(1)
def test_is_a_flow(learner, warehouse):
    """build_event_attendance is a Prefect flow with a warehouse parameter"""
    _load_flow(learner)


@pytest.mark.points(2)
def test_flow_run_completes(learner, warehouse, prefect_run):
    """The flow run completes"""
    _run_once(learner, prefect_run, warehouse)


@pytest.mark.points(2)
def test_three_tasks(learner, warehouse, prefect_run):
    """At least three different tasks ran in the flow and completed"""
    report = _shared_report(learner, prefect_run, warehouse)
    runs = report.task_runs  # prefect_run already waited for the server to record them all
    assert runs, (
        f"`{FLOW}` ran, but no tasks ran inside it. Put each step (extract, transform, load) in its own "
        "function with `@task` on the line above it (and `from prefect import task` at the top), and call "
        f"those functions from inside `{FLOW}`."
    )
    unfinished = [tr for tr in runs if tr.state is None or not tr.state.is_completed()]
    assert not unfinished, (
        "These task runs did not complete: "
        + ", ".join(f"{_task_label(tr)} ({tr.state.name if tr.state else 'no state'})" for tr in unfinished)
        + ". "
        + (f"The flow's error was at {report.error}. " if report.error else "")
        + "Open the run in the Prefect web UI to read each task's log."
    )
    distinct = {}
    for tr in runs:
        distinct.setdefault(tr.task_key, _task_label(tr))
    assert len(distinct) >= 3, (
        f"Only {len(distinct)} different task(s) ran: {', '.join(sorted(distinct.values()))}. "
        "Split the work into at least three `@task` functions, one for each step: read the sign-ups, "
        "count them per event, write the table. Calling the same task twice counts once."
    )


@pytest.mark.points(1)
def test_columns(learner, warehouse, prefect_run):
    """The table analytics.event_attendance has the right columns"""
    _, warehouse = _run_once(learner, prefect_run, warehouse)
    if not _table_exists(warehouse) and _table_exists(_SHARED["env_warehouse"]):
        raise AssertionError(
            f"The flow built {TABLE}, but in the wrong warehouse: the one WAREHOUSE names, not the one passed to "
            "the flow as `warehouse`. Inside the flow and the tasks, use the `warehouse` parameter, and pass it "
            "on to the tasks that connect to the database. WAREHOUSE should only appear as the default: "
            "`def build_event_attendance(warehouse: str = WAREHOUSE):`."
        )
    assert _table_exists(warehouse), (
        f"The flow completed, but there is no table {TABLE} in the warehouse it was given. Make sure the "
        "load task connects to the `warehouse` parameter of the flow (not to a path typed into the code), "
        f"and creates the table in the `{SCHEMA}` schema."
    )
    cols = _columns(warehouse)
    missing = [c for c in COLUMNS if c not in cols]
    assert not missing, (
        f"{TABLE} is missing the column(s) {', '.join(missing)}. It has: {', '.join(cols)}. "
        f"It needs {', '.join(COLUMNS)}, as the starter script wrote them."
    )


@pytest.mark.points(3)
def test_rows(learner, warehouse, pristine, prefect_run):
    """The table has one row per event, with the right counts and rate"""
    _, warehouse = _run_once(learner, prefect_run, warehouse)
    expected = _expected(pristine)  # from the warehouse as flowcamp built it, not the copy the flow changed
    assert _table_exists(warehouse) and not [c for c in COLUMNS if c not in _columns(warehouse)], (
        f"{TABLE} is missing, or is missing columns, so its rows cannot be checked yet. "
        "Fix the check about the table's columns first."
    )
    rows = _table_rows(warehouse)
    ids = [r[0] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, (
        f"{TABLE} has more than one row for event(s) {', '.join(map(str, dupes[:5]))}. "
        "It should have exactly one row per event: count per event in the transform step."
    )
    got_ids, want_ids = set(ids), set(expected)
    missing = sorted(want_ids - got_ids)
    extra = sorted(got_ids - want_ids)
    assert not missing, (
        f"{TABLE} has no row for {len(missing)} event(s) that have sign-ups, for example event_id "
        f"{', '.join(map(str, missing[:5]))}. Every event with at least one sign-up that is not cancelled "
        "should have a row."
    )
    assert not extra, (
        f"{TABLE} has rows for {len(extra)} event(s) that should not be there, for example event_id "
        f"{', '.join(map(str, extra[:5]))}. Only events with at least one sign-up that is not cancelled get a row, "
        "as in the starter script."
    )
    for event_id, title, signups, attended, rate in sorted(rows, key=lambda r: r[0]):
        w_title, w_signups, w_attended, w_rate = expected[event_id]
        assert title == w_title, (
            f"For event {event_id}, title is {title!r} but the event's title in mobilize.events is {w_title!r}."
        )
        assert signups == w_signups, (
            f"For event {event_id}, signups is {signups} but it should be {w_signups}. Count each cleaned email "
            "once per event (trim spaces, lower-case), and leave out cancelled sign-ups, as the starter did."
        )
        assert attended == w_attended, (
            f"For event {event_id}, attended is {attended} but it should be {w_attended}: the number of different "
            "cleaned emails whose status is 'attended'."
        )
        assert rate is not None and abs(float(rate) - w_rate) <= RATE_TOLERANCE, (
            f"For event {event_id}, attendance_rate is {rate} but it should be about {w_rate:.3f}: "
            "attended divided by signups, as a number between 0 and 1."
        )


@pytest.mark.points(2)
def test_rerun_does_not_duplicate(learner, warehouse, prefect_run):
    """Running the flow twice gives the same table, not twice the rows"""
    _, warehouse = _run_once(learner, prefect_run, warehouse)
    assert _table_exists(warehouse), f"The flow completed, but there is no table {TABLE} in the warehouse it was given."
    first = _row_count(warehouse)
    assert first > 0, f"The flow completed, but {TABLE} is empty, so a second run cannot be compared with it."
    _run(learner, prefect_run, warehouse)
    second = _row_count(warehouse)
    assert second == first, (
        f"After one run {TABLE} had {first} rows; after a second run it has {second}. Each run adds its rows "
        "again on top of the old ones. A scheduled flow runs every day, so it must start from a clean table: "
        "use `CREATE OR REPLACE TABLE ...`, or delete the old rows before you insert the new ones."
    )
