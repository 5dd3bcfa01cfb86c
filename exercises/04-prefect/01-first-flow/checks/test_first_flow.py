"""Checks for exercise first-flow: pipeline.py is a Prefect flow of tasks that builds analytics.event_attendance."""

import ast
import difflib
import re
import secrets
import shutil
from pathlib import Path

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
# Statuses typed the ways a form and a person type them, planted by the check in the copy the flow is given
# (two events of its own): the starter cleans a status with `(status or "").strip().lower()`, so a sign-up
# with no status still counts, " Cancelled " is cancelled and "ATTENDED" attended. A SQL filter such as
# `status <> 'cancelled'` drops the first and keeps the second; the held-out data has only tidy statuses.
PLANTED = (  # (event, status); each row its own email
    (0, None), (0, " Cancelled "), (0, "ATTENDED"), (0, "Attended "), (0, "no_show"),
    (1, "Cancelled"),  # the second event's only sign-up is cancelled: it gets no row
)


# ----------------------------------------------------------------------------------------- helpers


def _snapshot(path) -> dict:
    """What the table holds in the warehouse at ``path``: whether it exists, its columns, its rows. Read in one
    connection (opening a DuckDB file costs about 30 ms) and kept until the file changes."""
    p = Path(path)
    stamp = [str(p)]
    for f in (p, p.with_name(p.name + ".wal")):  # what DuckDB has not yet folded into the file is in its .wal
        try:
            st = f.stat()
            stamp += [st.st_mtime_ns, st.st_size]
        except OSError:
            stamp += [None, None]
    stamp = tuple(stamp)
    if _SNAPSHOTS.get("stamp") != stamp:
        snap = {"exists": False, "columns": [], "rows": []}
        with duckdb.connect(str(p), read_only=True) as con:
            cols = [r[0].lower() for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY ordinal_position", [SCHEMA, NAME]).fetchall()]
            if cols:
                snap["exists"], snap["columns"] = True, cols
                if all(c in cols for c in COLUMNS):
                    snap["rows"] = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}").fetchall()
                else:
                    snap["rows"] = [None] * con.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
        _SNAPSHOTS.clear()
        _SNAPSHOTS.update(stamp=stamp, snap=snap)
    return _SNAPSHOTS["snap"]


_SNAPSHOTS: dict = {}
_EXPECTED: dict = {}


def _table_exists(path) -> bool:
    return _snapshot(path)["exists"]


def _columns(path) -> list[str]:
    return list(_snapshot(path)["columns"])


def _expected(path) -> dict:
    """event_id -> (title, signups, attended, rate), from the held-out warehouse and the sign-ups the check
    planted (read once per check run). Planted rows join in as values: the held-out file is never written."""
    plant = _planted(path)
    key = (str(path), plant["token"])
    if key not in _EXPECTED:
        signups = ("(SELECT event_id, email, status FROM mobilize.signups UNION ALL "
                   f"SELECT * FROM (VALUES {', '.join(['(?, ?, ?)'] * len(plant['signups']))}) "
                   "AS p(event_id, email, status))")
        events = ("(SELECT event_id, title FROM mobilize.events UNION ALL "
                  f"SELECT * FROM (VALUES {', '.join(['(?, ?)'] * len(plant['events']))}) AS p(event_id, title))")
        sql = EXPECTED_SQL.replace("mobilize.signups", signups).replace("mobilize.events", events)
        args = [v for row in plant["signups"] for v in (row[1], row[2], row[3])]
        args += [v for row in plant["events"] for v in row]
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute(sql, args).fetchall()
        _EXPECTED[key] = {eid: (title, n, a, a / n) for eid, title, n, a in rows}
    return _EXPECTED[key]


_PLANT: dict = {}


def _planted(pristine) -> dict:
    """The events and sign-ups this check run plants (new ids after the held-out data's own)."""
    if not _PLANT:
        with duckdb.connect(str(pristine), read_only=True) as con:
            first_event = con.execute("SELECT max(event_id) + 1 FROM mobilize.events").fetchone()[0]
            first_signup = con.execute("SELECT max(signup_id) + 1 FROM mobilize.signups").fetchone()[0]
        token = secrets.token_hex(3)
        events = [(first_event + i, f"Sign-up status spot check {token}-{i + 1}") for i in range(2)]
        signups = [(first_signup + i, first_event + ev, f"status-{token}-{i}@example.org", status)
                   for i, (ev, status) in enumerate(PLANTED)]
        _PLANT.update(token=token, events=events, signups=signups)
    return _PLANT


def _plant(copy, pristine) -> None:
    """Add the planted events and sign-ups to the copy the flow is given (their other columns copied from an
    existing row, so every column keeps a value of its own type)."""
    plant = _planted(pristine)
    with duckdb.connect(str(copy)) as con:
        for event_id, title in plant["events"]:
            con.execute("INSERT INTO mobilize.events BY NAME SELECT * REPLACE (? AS event_id, ? AS title) "
                        "FROM mobilize.events ORDER BY event_id LIMIT 1", [event_id, title])
        for signup_id, event_id, email, status in plant["signups"]:
            con.execute("INSERT INTO mobilize.signups BY NAME SELECT * REPLACE (? AS signup_id, ? AS event_id, "
                        "? AS email, ? AS status) FROM mobilize.signups ORDER BY signup_id LIMIT 1",
                        [signup_id, event_id, email, status])


def _table_rows(path) -> list[tuple]:
    return list(_snapshot(path)["rows"])


def _row_count(path) -> int:
    return len(_snapshot(path)["rows"])


def _source_tree(learner):
    """pipeline.py parsed, never run (None if it cannot be parsed: importing it says why)."""
    try:
        return ast.parse(learner.read(FILE))
    except (SyntaxError, ValueError):
        return None


def _no_flow_message(learner) -> str:
    """There is no build_event_attendance: say so, with the closest function name the file does define (a
    variable's name is never suggested: renaming a list would not help)."""
    tree = _source_tree(learner)
    functions = [n.name for n in (tree.body if tree is not None else [])
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    close = difflib.get_close_matches(FLOW, functions, n=1, cutoff=0.6)
    guess = f" Did you mean `{close[0]}`? Rename it to `{FLOW}`." if close else ""
    return (
        f"{FILE} has no function called `{FLOW}`.{guess} Put the three steps inside "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):` (spelled exactly like that), with `@flow` on the line above it."
    )


def _load(learner):
    """pipeline.py imported, and its build_event_attendance (whatever it is)."""
    mod = learner.load(FILE)
    fn = getattr(mod, FLOW, None)
    assert fn is not None, _no_flow_message(learner)
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


# ------------------------------------------------------------------ what went wrong, read from the file
# pipeline.py is parsed here, never run: these helpers only choose which sentence leads a failure message.


def _functions(tree) -> dict:
    return {n.name: n for n in (tree.body if tree is not None else [])
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _decorated_with(fn_node, name: str) -> bool:
    for dec in fn_node.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        if (isinstance(target, ast.Name) and target.id == name) or (
                isinstance(target, ast.Attribute) and target.attr == name):
            return True
    return False


def _own_nodes(fn_node):
    """Every node of a function's body, without going into functions, lambdas or classes defined inside it."""
    todo = list(fn_node.body)
    while todo:
        node = todo.pop()
        yield node
        todo += [c for c in ast.iter_child_nodes(node)
                 if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))]


def _returns_a_value(fn_node) -> bool:
    return any(isinstance(n, ast.Return) and n.value is not None
               and not (isinstance(n.value, ast.Constant) and n.value.value is None) for n in _own_nodes(fn_node))


def _is_connect(node) -> bool:
    """duckdb.connect(...) or connect(...)"""
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Attribute) and node.func.attr == "connect")
        or (isinstance(node.func, ast.Name) and node.func.id == "connect"))


def _called_task(call, tasks) -> str | None:
    """The task a call runs: `extract(...)` or `extract.submit(...)`."""
    f = call.func
    if isinstance(f, ast.Attribute) and f.attr in ("submit", "map", "fn"):
        f = f.value
    return f.id if isinstance(f, ast.Name) and f.id in tasks else None


def _flow_calls(learner):
    """(tasks by name, the flow's calls of them with the statement each sits in), from pipeline.py's text."""
    functions = _functions(_source_tree(learner))
    tasks = {name: fn for name, fn in functions.items() if _decorated_with(fn, "task")}
    flow_fn = functions.get(FLOW)
    if flow_fn is None:
        return tasks, [], None
    parents = {c: p for p in _own_nodes(flow_fn) for c in ast.iter_child_nodes(p)}
    calls = [n for n in _own_nodes(flow_fn) if isinstance(n, ast.Call) and _called_task(n, tasks)]
    return tasks, [(c, parents.get(c)) for c in calls], flow_fn


def _tasks_without_return(learner) -> list[str]:
    """Tasks whose result the flow uses, but that never `return` a value: the flow gets None from them."""
    tasks, calls, _ = _flow_calls(learner)
    used = [_called_task(c, tasks) for c, parent in calls if not isinstance(parent, ast.Expr)]
    return [name for name in dict.fromkeys(used) if not _returns_a_value(tasks[name])]


def _tasks_given_a_connection(learner) -> list[str]:
    """Tasks the flow hands a DuckDB connection to: a name bound to `duckdb.connect(...)` (or to the result of
    a task that returns one), passed to a task."""
    tasks, calls, flow_fn = _flow_calls(learner)
    if flow_fn is None:
        return []
    makes_connection = {name for name, fn in tasks.items()
                        if any(isinstance(n, ast.Return) and _is_connect(n.value) for n in _own_nodes(fn))}
    connections = set()
    for node in _own_nodes(flow_fn):
        if isinstance(node, ast.Assign) and (_is_connect(node.value) or (
                isinstance(node.value, ast.Call) and _called_task(node.value, tasks) in makes_connection)):
            connections |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            connections |= {i.optional_vars.id for i in node.items
                            if _is_connect(i.context_expr) and isinstance(i.optional_vars, ast.Name)}
    given = []
    for call, _ in calls:
        args = list(call.args) + [k.value for k in call.keywords]
        if any(isinstance(a, ast.Name) and a.id in connections for a in args):
            given.append(_called_task(call, tasks))
    return list(dict.fromkeys(given))


def _tasks_given_a_connection_at_run(output: str) -> list[str]:
    """The same, from what the run printed: Prefect logs that it cannot compute a task's cache key from a
    DuckDB connection ("Task run 'write-7fe' - Error encountered when computing cache key ...")."""
    if "DuckDBPyConnection" not in output:
        return []
    names = re.findall(r"Task run '([^']+)' - Error encountered when computing cache key", output)
    return list(dict.fromkeys(n.rpartition("-")[0] or n for n in names)) or ["one of your tasks"]


CONNECTION_LEAD = "Your flow passes a DuckDB connection to"


def _connection_problem(learner, output: str) -> str:
    at_run = _tasks_given_a_connection_at_run(output)
    given = at_run or _tasks_given_a_connection(learner)
    if not given:
        return ""
    named = " and ".join(", ".join(f"`{g}`" if g != "one of your tasks" else g for g in given).rsplit(", ", 1))
    seen = (" Prefect already could not work out a cache key for it: your run's log says \"Error encountered "
            "when computing cache key\".") if at_run else ""
    return (
        f"{CONNECTION_LEAD} {named}. README.md (step 2) says not to, because a connection only works inside the "
        "task run that opened it. Prefect must be free to run a task again after a failure (retries), to reuse "
        "what an earlier run returned instead of running the task (caching), and to run tasks at the same time "
        "in other threads or processes (parallel tasks). A connection cannot be saved, copied or shared for any "
        f"of these.{seen} A task run again gets the connection in whatever state the failed run left it, and "
        "errors such as \"Table ... already exists\" can follow. Pass the warehouse path instead, and open the "
        "connection inside each task that needs it: `with duckdb.connect(warehouse) as con:`."
    )


def _none_problem(learner, report) -> str:
    """The run failed: was it because a task returned None (no `return`) to the next one?"""
    if report.completed:
        return ""
    suspects = _tasks_without_return(learner)
    if not suspects:
        return ""
    failed = [tr for tr in report.task_runs if tr.state is not None and tr.state.is_failed()]
    by_id = {str(tr.id): _task_label(tr) for tr in report.task_runs}
    for tr in failed:
        upstream = [by_id.get(str(getattr(i, "id", ""))) for inputs in (tr.task_inputs or {}).values()
                    for i in inputs if getattr(i, "input_type", "") == "task_run"]
        culprit = next((u for u in upstream if u in suspects), None)
        if culprit:
            return _none_sentence(culprit, _task_label(tr), report.error)
    if "None" in (report.error or ""):
        return _none_sentence(suspects[0], _task_label(failed[0]) if failed else "", report.error)
    return ""


def _none_sentence(culprit: str, victim: str, error: str) -> str:
    then = f"`{victim}` gets None instead of rows and stops" if victim else "the next step gets None and stops"
    return (f"The task `{culprit}` has no `return`, so what it hands on is None: {then}"
            + (f" ({error})" if error else "") + f". At the end of `{culprit}`, `return` what the next step "
            "needs, for example the rows it read. A function without `return` gives back None.")


def _diagnosis(learner, report, output: str) -> str:
    """One sentence on the likely cause, to lead a failure message with ("" if none is known)."""
    return _connection_problem(learner, output) or _none_problem(learner, report)


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


def _shared_report(learner, prefect_run, warehouse, shared_learner, pristine):
    """The shared first run's report, whatever its state. Loads and checks the flow every time. The flow is
    loaded in a learner process that lives for the whole check run, so the rerun check runs it there again."""
    if "report" in _SHARED:
        _load_flow(learner)
        return _SHARED["report"]
    # Run on a second copy, not the one FLOWCAMP_WAREHOUSE names: a flow must use its parameter.
    given = _untouched_copy(warehouse, "given-to-the-flow.duckdb")
    _plant(given, pristine)
    _SHARED["flow"] = flow_obj = _load_flow(shared_learner)
    printed = len(learner.output)
    _SHARED["report"] = report = prefect_run(flow_obj, warehouse=str(given))
    _SHARED["warehouse"] = given
    _SHARED["env_warehouse"] = warehouse
    _SHARED["diagnosis"] = _diagnosis(learner, report, learner.output[printed:])
    return _SHARED["report"]


def _run_once(learner, prefect_run, warehouse, shared_learner, pristine):
    """The shared first run, which must have completed: (report, the warehouse it wrote to)."""
    report = _shared_report(learner, prefect_run, warehouse, shared_learner, pristine)
    _assert_completed(report, _SHARED["diagnosis"])
    return report, _SHARED["warehouse"]


def _run(learner, prefect_run, warehouse):
    """Run the learner's flow once more on the given warehouse (in the shared run's process when there is one);
    fail with the flow's own error if it failed."""
    flow_obj = _SHARED.get("flow") or _load_flow(learner)
    printed = len(learner.output)
    report = prefect_run(flow_obj, warehouse=str(warehouse))
    if not report.completed:
        _assert_completed(report, _diagnosis(learner, report, learner.output[printed:]))
    return report


def _assert_completed(report, diagnosis: str = ""):
    assert report.completed, (
        (diagnosis + " " if diagnosis else "")
        + f"The flow run of `{FLOW}` did not complete: it ended as "
        f"{getattr(report.state, 'name', 'unknown')}. "
        + (f"The error was at {report.error}. " if report.error and not diagnosis else "")
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
    # No flow, no pipeline: this check cannot pass on a file that has nothing to run. The message is the same
    # as the other checks' (which then show "the same problem as above"), and leads with the missing name.
    assert getattr(mod, FLOW, None) is not None, _no_flow_message(learner)


@pytest.mark.points(1)
def test_is_a_flow(learner, warehouse):
    """build_event_attendance is a Prefect flow with a warehouse parameter"""
    _load_flow(learner)


@pytest.mark.points(2)
def test_flow_run_completes(learner, warehouse, prefect_run, shared_learner, pristine):
    """The flow run completes"""
    _run_once(learner, prefect_run, warehouse, shared_learner, pristine)


@pytest.mark.points(2)
def test_three_tasks(learner, warehouse, prefect_run, shared_learner, pristine):
    """At least three different tasks ran and completed, with no connection passed between them"""
    report = _shared_report(learner, prefect_run, warehouse, shared_learner, pristine)
    runs = report.task_runs  # prefect_run already waited for the server to record them all
    diagnosis = _SHARED["diagnosis"]
    assert not diagnosis.startswith(CONNECTION_LEAD), diagnosis
    assert runs, (
        f"`{FLOW}` ran, but no tasks ran inside it. Put each step (extract, transform, load) in its own "
        "function with `@task` on the line above it (and `from prefect import task` at the top), and call "
        f"those functions from inside `{FLOW}`."
    )
    unfinished = [tr for tr in runs if tr.state is None or not tr.state.is_completed()]
    assert not unfinished, (
        (diagnosis + " " if diagnosis else "")
        + "These task runs did not complete: "
        + ", ".join(f"{_task_label(tr)} ({tr.state.name if tr.state else 'no state'})" for tr in unfinished)
        + ". "
        + (f"The flow's error was at {report.error}. " if report.error and not diagnosis else "")
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
def test_columns(learner, warehouse, prefect_run, shared_learner, pristine):
    """The table analytics.event_attendance has the right columns"""
    _, warehouse = _run_once(learner, prefect_run, warehouse, shared_learner, pristine)
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
def test_rows(learner, warehouse, pristine, prefect_run, shared_learner):
    """The table has one row per event, with the right counts and rate"""
    _, warehouse = _run_once(learner, prefect_run, warehouse, shared_learner, pristine)
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
    planted = {event_id for event_id, _ in _planted(pristine)["events"]}
    messy = [r for r in rows if r[0] in planted and r[0] in expected and tuple(r[2:4]) != expected[r[0]][1:3]]
    assert not (planted & set(extra)) and not messy and not (planted & set(missing)), (
        f"The check added two events whose sign-ups have statuses typed in different ways: \" Cancelled \", "
        f"\"Cancelled\", \"ATTENDED\", \"Attended \", and one sign-up with no status at all. {TABLE} got them "
        "wrong. Clean each status as the starter did, `(status or \"\").strip().lower()` (in SQL, "
        "`lower(trim(coalesce(status, '')))`), before you compare it: a sign-up with no status still counts as "
        "signed up; a cancelled one, however it is typed, does not count.")
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
def test_rerun_does_not_duplicate(learner, warehouse, prefect_run, shared_learner, pristine):
    """Running the flow twice gives the same table, not twice the rows"""
    _, warehouse = _run_once(learner, prefect_run, warehouse, shared_learner, pristine)
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
