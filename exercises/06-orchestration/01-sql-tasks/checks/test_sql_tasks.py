"""Checks for exercise sql-tasks: run_sql_folder runs every .sql file of a folder as a task run of its own,
named after the file, in name order, one after another, with the {{name}} values bound as parameters.

The checks write their own folder of SQL files (names, count and tables the learner has never seen), with a
file that depends on the one before it, and make sure the folder lists in an order that is not name order.
Each file logs `now()` when it runs, so the checks see which task run did each file's work. A second run
passes a name with a quote in it and a value that would drop a table if it were pasted into the SQL.
"""

from __future__ import annotations

import os
import random
import shutil
from datetime import timedelta

import duckdb
import pytest

FILE = "pipeline.py"
FLOW = "run_sql_folder"
PARAMS = ("warehouse", "sql_folder", "values")
SCHEMA = "nightly_check"
INJECTION = "x'; DROP TABLE mobilize.events; --"
SLACK = timedelta(milliseconds=15)  # clock reads in two processes of the same machine
ROLES = {  # role -> words its file name may use
    "pick": ["pick_signups", "stage_rows", "select_signups", "load_signups"],
    "count": ["count_events", "tally_events", "event_counts", "sum_events"],
    "match": ["match_names", "find_names", "name_search", "lookup_names"],
    "summary": ["summarise", "build_report", "final_table", "publish_report"],
}
LOG = ("CREATE TABLE IF NOT EXISTS {s}.file_log (file VARCHAR, ran_at TIMESTAMPTZ);\n"
       "INSERT INTO {s}.file_log VALUES ('{name}', now());\n")
SQL = {
    "pick": """-- Sign-ups of the events since a date, leaving out one kind of event.
CREATE SCHEMA IF NOT EXISTS {s};
{log}
CREATE OR REPLACE TABLE {s}.picked AS
SELECT s.signup_id, s.event_id, trim(s.last_name) AS last_name, lower(trim(s.status)) AS status
FROM mobilize.signups AS s
JOIN mobilize.events AS e ON e.event_id = s.event_id
WHERE e.starts_at >= CAST({{{{since}}}} AS TIMESTAMPTZ)
  AND e.event_type <> {{{{skip_type}}}};
""",
    "count": """-- Sign-ups and attendance per event, from the picked sign-ups.
{log}
CREATE OR REPLACE TABLE {s}.event_counts AS
SELECT event_id, count(*) AS signups, count(*) FILTER (WHERE status = 'attended') AS attended
FROM {s}.picked
GROUP BY event_id;
""",
    "match": """-- The sign-ups of one last name, per event.
{log}
CREATE TABLE IF NOT EXISTS {s}.name_matches (searched VARCHAR, event_id BIGINT, matches BIGINT);
DELETE FROM {s}.name_matches WHERE searched = {{{{last_name}}}};
INSERT INTO {s}.name_matches
SELECT {{{{last_name}}}}, event_id, count(*)
FROM {s}.picked
WHERE last_name ILIKE {{{{last_name}}}}
GROUP BY event_id;
""",
    "summary": """-- One row per event: its counts and how many of its sign-ups have the last name.
{log}
CREATE OR REPLACE TABLE {s}.summary AS
SELECT c.event_id, c.signups, c.attended, coalesce(m.matches, 0) AS name_matches
FROM {s}.event_counts AS c
LEFT JOIN {s}.name_matches AS m ON m.event_id = c.event_id AND m.searched = {{{{last_name}}}};
""",
}
EXPECTED_SQL = """
WITH picked AS (
    SELECT s.event_id, trim(s.last_name) AS last_name, lower(trim(s.status)) AS status
    FROM mobilize.signups AS s JOIN mobilize.events AS e ON e.event_id = s.event_id
    WHERE e.starts_at >= CAST($since AS TIMESTAMPTZ) AND e.event_type <> $skip_type
), counts AS (
    SELECT event_id, count(*) AS signups, count(*) FILTER (WHERE status = 'attended') AS attended
    FROM picked GROUP BY event_id
), matches AS (
    SELECT event_id, count(*) AS matches FROM picked WHERE last_name ILIKE $last_name GROUP BY event_id
)
SELECT c.event_id, c.signups, c.attended, coalesce(m.matches, 0)
FROM counts AS c LEFT JOIN matches AS m ON m.event_id = c.event_id
ORDER BY c.event_id
"""
NO_TABLE = (f"The flow completed, but the last file's table {SCHEMA}.summary is not in the warehouse the flow was "
            "given. Did every statement of every file run? Let DuckDB's errors fail the task (no `try`/`except` "
            "around `con.execute`), and connect to the flow's `warehouse` parameter, not to WAREHOUSE.")
PASTED = "The SQL text was broken by a value pasted into it."
BIND = ("Turn each {{name}} into $name and pass the values as a dict, `con.execute(statement, params)`: DuckDB "
        "then reads them as values, whatever they hold.")
_SHARED: dict = {}
_EXPECTED: dict = {}


# --------------------------------------------------------------------------- the check's own SQL folder


def _write_folder(root) -> tuple:
    """Four SQL files and a note, in a folder that does not list them in name order: (folder, names sorted)."""
    rng = random.Random()
    for attempt in range(40):
        folder = root / f"nightly-{attempt}"
        folder.mkdir(parents=True)
        numbers = sorted(rng.sample(range(10, 99), 4))
        names = [f"{n}_{rng.choice(ROLES[role])}.sql" for n, role in zip(numbers, ROLES)]
        texts = {name: SQL[role].format(s=SCHEMA, log=LOG.format(s=SCHEMA, name=name))
                 for name, role in zip(names, ROLES)}
        for i, name in enumerate(reversed(names)):  # newest file first; each file older than the one before it
            (folder / name).write_text(texts[name], encoding="utf-8")
            os.utime(folder / name, (1_700_000_000 + 3600 * i, 1_700_000_000 + 3600 * i))
        (folder / "notes.txt").write_text("Not SQL: the flow leaves this file alone.\n", encoding="utf-8")
        listed = [n for n in os.listdir(folder) if n.endswith(".sql")]
        if listed != names:
            return folder, names
        shutil.rmtree(folder)
    return folder, names  # pragma: no cover - forty folders in name order: the order check still applies


def _pick_values(pristine) -> tuple[dict, dict]:
    """Values for the two runs, chosen from the held-out warehouse so that every filter keeps some rows and
    drops some: a plain last name first, then a name with a quote in it and a value that is an injection."""
    with duckdb.connect(str(pristine), read_only=True) as con:
        starts = [r[0] for r in con.execute("SELECT DISTINCT starts_at FROM mobilize.events "
                                            "WHERE starts_at IS NOT NULL ORDER BY 1").fetchall()]
        skip = con.execute("SELECT event_type FROM mobilize.events WHERE event_type IS NOT NULL "
                           "GROUP BY 1 ORDER BY count(*), 1 LIMIT 1").fetchone()[0]
        plain = con.execute("SELECT trim(last_name) FROM mobilize.signups WHERE last_name NOT LIKE '%''%' "
                            "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        quoted = con.execute("SELECT trim(last_name) FROM mobilize.signups WHERE last_name LIKE '%''%' "
                             "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()
        quoted = quoted[0] if quoted else "O'Brien"
        first = {"last_name": plain, "skip_type": skip}  # not in the order the files use them
        second = {"last_name": quoted, "skip_type": INJECTION}
        for since in starts[len(starts) // 3::-1]:  # the latest third-way date that keeps matches for both
            first["since"] = second["since"] = since.isoformat(sep=" ")
            if all(any(r[3] for r in _expected(pristine, v, con)) for v in (first, second)):
                break
    return first, second


def _expected(pristine, values, con=None) -> list[tuple]:
    """(event_id, signups, attended, name matches) per event, from the check's own SQL on pristine (kept);
    on ``con`` when the caller has pristine open already."""
    key = (str(pristine), tuple(sorted(values.items())))
    if key not in _EXPECTED:
        if con is not None:
            _EXPECTED[key] = con.execute(EXPECTED_SQL, values).fetchall()
        else:
            with duckdb.connect(str(pristine), read_only=True) as own:
                _EXPECTED[key] = own.execute(EXPECTED_SQL, values).fetchall()
    return _EXPECTED[key]


# --------------------------------------------------------------------------------------------- the runs


def _load_flow(learner):
    mod = learner.load(FILE)
    fn = getattr(mod, FLOW, None)
    assert fn is not None, (
        f"{FILE} has no function called `{FLOW}`. Keep the starter's `def {FLOW}(warehouse, sql_folder, values)`, "
        "spelled exactly like that, and put `@flow` on the line above it.")
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is a plain function, not a Prefect flow. Put `@flow` on the line just above "
        f"`def {FLOW}(...)`, and `from prefect import flow, task` at the top of the file.")
    missing = [p for p in PARAMS if p not in (fn.parameters or [])]
    assert not missing, (
        f"`{FLOW}` has no parameter called {', '.join(f'`{p}`' for p in missing)}. Keep the starter's three "
        f"parameters, `warehouse`, `sql_folder` and `values`: the checks run your flow on their own warehouse, "
        "their own folder of SQL files and their own values.")
    return fn


def _runs(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path) -> dict:
    """Two runs shared by every check: the plain values, then the values with a quote and an injection."""
    if "first" in _SHARED:
        return _SHARED
    # One after the other in one warm learner process: run at once in two fresh processes, they were slower on
    # two cores (median 4.4-5.6 s against 3.5 s, 7 runs each, 2026-12-03): the second run reuses the first's set-up.
    fn = _load_flow(shared_learner)
    folder, names = _write_folder(tmp_path / "sql")
    first, second = _pick_values(pristine)
    _SHARED.update(folder=folder, names=names, values=(first, second))
    for label, values, copy in (("first", first, warehouse), ("second", second, tmp_path / "second.duckdb")):
        if label == "second":
            shutil.copyfile(pristine, copy)
        report = prefect_run(fn, warehouse=str(copy), sql_folder=str(folder), values=values)
        _SHARED[label] = (report, copy)
    return _SHARED


def _file_runs(report, names) -> tuple[dict, list]:
    """file name -> the task runs named after it; and the task runs named after more than one file."""
    by_file = {n: [] for n in names}
    ambiguous = []
    for tr in report.task_runs:
        hits = [n for n in names if n.removesuffix(".sql") in tr.name]
        if len(hits) == 1:
            by_file[hits[0]].append(tr)
        elif hits:
            ambiguous.append(tr)
    return by_file, ambiguous


def _why_failed(report, names) -> str:
    """The failed task run and its error, in words, with the likely cause."""
    by_file, _ = _file_runs(report, names)
    owner = {tr.id: n for n, trs in by_file.items() for tr in trs}
    failed = [tr for tr in report.task_runs if tr.state is not None and tr.state.is_failed()]
    if not failed:
        return "" if report.completed else f"The flow itself stopped{': ' + report.error if report.error else ''}."
    tr = failed[0]
    error = (tr.state.message or "").strip()
    where = f"The task run for {owner[tr.id]}" if tr.id in owner else f"The task run `{tr.name}`"
    text = f"{where} failed: {error[:400]}"
    if "only supported for the last statement" in error:
        text += (" DuckDB binds values into one statement at a time: split the file with "
                 "`duckdb.extract_statements(sql)` and run each statement with the values it uses.")
    elif "count mismatch" in error or "excess parameters" in error:
        text += (" Give each statement exactly the values it uses: "
                 "`{name: values[name] for name in statement.named_parameters}`.")
    elif "does not exist" in error:
        text += (" A file ran before the file that makes its table: run the files in name order, "
                 "`sorted(Path(sql_folder).glob(\"*.sql\"))`, one after another.")
    elif "Parser Error" in error or "syntax error" in error:
        text += f" {PASTED} {BIND}"
    return text


def _unfinished(report) -> str:
    """Why a run that ended Completed still did not finish every task run ("" if it did)."""
    bad = [tr for tr in report.task_runs if tr.state is None or not tr.state.is_completed()]
    if not report.completed or not bad:
        return ""
    return (f"The flow run ended as Completed, but {len(bad)} task run(s) did not: "
            + ", ".join(f"`{tr.name}` ({tr.state.name if tr.state else 'no state'})" for tr in bad)
            + ". (Crashed means the task run was stopped from outside, here because its flow ended first; "
            "Failed means its own code raised an error.) A flow does not wait for, or fail with, a task it "
            "started with `.submit()` unless it asks for the result. Call the task "
            "directly, `run_sql_file(...)`, so that a failed file stops the flow before the next file runs.")


def _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path, label="first"):
    shared = _runs(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    report, copy = shared[label]
    assert report.completed, (
        f"The flow run of `{FLOW}` on a folder of {len(shared['names'])} SQL files "
        f"({', '.join(shared['names'])}) did not complete: it ended as {getattr(report.state, 'name', 'unknown')}. "
        + _why_failed(report, shared["names"])
        + " Run `uv run flowcamp run pipeline.py` in this folder and read the run's logs in the Prefect web UI.")
    unfinished = _unfinished(report)
    assert not unfinished, unfinished + " " + _why_failed(report, shared["names"])
    return shared, report, copy


def _rows(path, sql, params=None) -> list[tuple] | None:
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return con.execute(sql, params or []).fetchall()
        except duckdb.CatalogException:
            return None


def _fixed_warehouse(shared) -> str:
    """The check's second run was given a warehouse of its own and nothing reached it: the tasks open a path fixed
    before the run (read when pipeline.py was imported), so both runs wrote into the first run's file."""
    second = shared.get("second")
    if not second or _rows(second[1], f"SELECT count(*) FROM {SCHEMA}.file_log") is not None:
        return ""
    return (" The check ran the flow twice, each time with a warehouse file of its own, and the second file was "
            "never touched: your tasks open a path fixed before the run (WAREHOUSE, read when pipeline.py was "
            "imported), not the flow's `warehouse` parameter. Pass `warehouse` on to each task and connect to it.")


# ------------------------------------------------------------------------------------------- checks


@pytest.mark.points(1)
def test_is_a_flow(learner, warehouse):
    """run_sql_folder is a Prefect flow with the parameters warehouse, sql_folder and values"""
    _load_flow(learner)


@pytest.mark.points(2)
def test_flow_run_completes(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """The flow run completes on a folder of SQL files it has never seen"""
    _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)


@pytest.mark.points(2)
def test_one_task_run_per_file(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """Each .sql file has exactly one task run, named after the file"""
    shared, report, _ = _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    names = shared["names"]
    by_file, ambiguous = _file_runs(report, names)
    seen = ", ".join(f"`{tr.name}`" for tr in report.task_runs) or "none"
    assert not ambiguous, (
        f"The task run `{ambiguous[0].name}` is named after more than one file. Run one file per task run, and "
        "name each task run after its own file.")
    unnamed = [n for n, trs in by_file.items() if not trs]
    assert not unnamed, (
        f"The folder held {len(names)} SQL files ({', '.join(names)}), but no task run is named after "
        f"{', '.join(unnamed)}. The task runs were: {seen}. Write a task that runs ONE file, call it once per "
        "file, and name its runs after the file: `@task(task_run_name=\"{path.name}\")` when the task's "
        "parameter `path` is a Path.")
    twice = {n: len(trs) for n, trs in by_file.items() if len(trs) > 1}
    assert not twice, (
        "These files have more than one task run: "
        + ", ".join(f"{n} ({k} runs)" for n, k in twice.items())
        + ". Call the task once for each file. Only files that end in .sql count (the folder also held notes.txt).")


def _in_order(report, names):
    by_file, _ = _file_runs(report, names)
    runs = [(n, by_file[n][0]) for n in names if len(by_file[n]) == 1]
    assert len(runs) == len(names) >= 2, (
        "Each file needs exactly one task run named after it before the order can be checked: fix the check "
        "about task runs per file first.")
    return runs


@pytest.mark.points(2)
def test_files_run_in_name_order(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """The files run in name order, each one after the one before has finished"""
    shared, report, _ = _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    runs = _in_order(report, shared["names"])
    by_start = sorted(runs, key=lambda x: x[1].start_time)
    for (before, a), (after, b) in zip(by_start, by_start[1:]):
        assert b.start_time >= a.end_time - SLACK, (
            f"The task run for {after} started before the one for {before} had finished: they ran at the same "
            "time, and a file may read a table that another is still writing. Call the task and let it "
            "return before the next call (no `.submit()`), or pass `wait_for=[the previous future]`.")
    started = [n for n, _ in by_start]
    assert started == shared["names"], (
        f"The task runs started in this order: {', '.join(started)}. In name order the files are: "
        f"{', '.join(shared['names'])}. A folder lists its files in whatever order the disk keeps them; sort "
        "them: `for path in sorted(Path(sql_folder).glob(\"*.sql\")):`.")


@pytest.mark.points(1)
def test_work_happens_in_its_task_run(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """Each file's SQL runs inside its own task run, once"""
    shared, report, copy = _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    runs = _in_order(report, shared["names"])
    log = _rows(copy, f"SELECT file, ran_at FROM {SCHEMA}.file_log ORDER BY ran_at") or []
    for name, tr in runs:
        times = [t for f, t in log if f == name]
        assert len(times) == 1, (
            f"{name} ran {len(times)} times during the flow run; it should run exactly once, in its own task run."
            + _fixed_warehouse(shared))
        assert tr.start_time - SLACK <= times[0] <= tr.end_time + SLACK, (
            f"The SQL of {name} ran outside the task run named after it (the SQL ran at "
            f"{times[0]:%H:%M:%S.%f}; the task run went from {tr.start_time:%H:%M:%S.%f} to "
            f"{tr.end_time:%H:%M:%S.%f}). Read and run the file inside the task, so that its task run's state "
            "says whether the file worked.")


@pytest.mark.points(2)
def test_tables_hold_the_right_rows(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """The tables the files build hold what the check's own SQL computes"""
    shared, _, copy = _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    values = shared["values"][0]
    want = _expected(pristine, values)
    got = _rows(copy, f"SELECT event_id, signups, attended, name_matches FROM {SCHEMA}.summary ORDER BY 1")
    assert got is not None, NO_TABLE
    assert want and got == want, (
        f"{SCHEMA}.summary has {len(got)} rows; with the values {values} it should have {len(want)}"
        + ("" if len(got) != len(want) else ", with other counts")
        + (_fixed_warehouse(shared) or ". Each {{name}} must get the value of the same name from `values`: turn "
           "`{{since}}` into `$since` and pass a dict, `{\"since\": ...}`, to `con.execute`."))


def _second(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """The run with a quote and an injection; a failed first run fails these checks first, with its own words."""
    shared, _, first = _completed(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    assert _rows(first, f"SELECT count(*) FROM {SCHEMA}.summary") is not None, NO_TABLE
    report, copy = shared["second"]
    return shared, shared["values"][1], report, copy


@pytest.mark.points(2)
def test_value_with_a_quote(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """A value with a quote in it (a name like O'Brien) works"""
    shared, values, report, copy = _second(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    name = values["last_name"]
    why = _why_failed(report, shared["names"]) if not report.completed or _unfinished(report) else ""
    assert report.completed and not _unfinished(report), (
        f"With last_name = {name!r} (a quote inside), the flow run did not complete. " + why
        + ("" if PASTED in why else " A value pasted into SQL text ends at its quote. " + BIND))
    want = sorted((e, m) for e, _, _, m in _expected(pristine, values) if m)
    got = sorted(_rows(copy, f"SELECT event_id, matches FROM {SCHEMA}.name_matches WHERE searched = $n",
                       {"n": name}) or [])
    assert want and got == want, (
        f"With last_name = {name!r}, {SCHEMA}.name_matches has {len(got)} rows for that name; it should have "
        f"{len(want)}. Bind the value as it is, quote and all: `$last_name` with `{{\"last_name\": ...}}`.")


@pytest.mark.points(2)
def test_value_is_never_run_as_sql(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path):
    """A value that holds SQL is only a value: no table dropped, no rows changed"""
    shared, values, report, copy = _second(learner, shared_learner, prefect_run, warehouse, pristine, tmp_path)
    events = _rows(pristine, "SELECT count(*) FROM mobilize.events")[0][0]
    left = _rows(copy, "SELECT count(*) FROM mobilize.events")
    assert left is not None, (
        f"After a run with skip_type = {INJECTION!r}, the table mobilize.events is gone: the value was pasted "
        "into the SQL text, so the words after its quote ran as SQL of their own. On Civis anyone who could set "
        "a parameter could do this. Turn each {{name}} into $name and pass the values to `con.execute` "
        "as a dict: DuckDB never runs a bound value.")
    assert left[0][0] == events, (
        f"After a run with skip_type = {INJECTION!r}, mobilize.events has {left[0][0]} rows instead of {events}.")
    assert report.completed and not _unfinished(report), (
        f"With skip_type = {INJECTION!r} the flow run did not complete. " + _why_failed(report, shared["names"]))
    want = len(_expected(pristine, values))
    got = _rows(copy, f"SELECT count(*) FROM {SCHEMA}.summary")
    assert got and got[0][0] == want, (
        f"With skip_type = {INJECTION!r}, a value no event type has, {SCHEMA}.summary should keep all "
        f"{want} events of the date range; it has {got[0][0] if got else 'no table'}.")
