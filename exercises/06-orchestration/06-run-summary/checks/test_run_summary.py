"""Checks for exercise run-summary: the nightly flow logs each step's row count with Prefect's logger, warns
on an empty night, and publishes the run summary `nightly-summary`, all read back from the Prefect API."""

import json
import re
import shutil

import duckdb
import pytest

from flowcamp.checks.plugin import plant_secret

FILE = "pipeline.py"
FLOW = "nightly_pipeline"
KEY = "nightly-summary"
KINDS = ("markdown", "table")
INFO, WARNING = 20, 30
TABLES = ("staging.nightly_signups", "analytics.nightly_attendance", "analytics.nightly_no_shows")
WHAT = {
    "staging.nightly_signups": "stage_signups (the sign-ups it staged)",
    "analytics.nightly_attendance": "build_attendance (one row per event)",
    "analytics.nightly_no_shows": "build_no_shows (the no-shows)",
}
SECRET_ENV = "WAREHOUSE_PASSWORD"

# Our own statement of what each step writes, for a given `since`, computed on the held-out warehouse.
EXPECTED_SQL = """
WITH staged AS (
    SELECT event_id, status FROM mobilize.signups
    WHERE created_at >= CAST($since AS DATE) AND status <> 'cancelled'
)
SELECT (SELECT count(*) FROM staged),
       (SELECT count(DISTINCT s.event_id) FROM staged AS s JOIN mobilize.events AS e USING (event_id)),
       (SELECT count(*) FROM staged WHERE status = 'no_show')
"""
# A normal night: the sign-ups of the last few weeks, from a day that has sign-ups on it (so the boundary
# is in the data). An empty night: two days after the last sign-up.
SINCE_SQL = """
SELECT CAST(quantile_disc(created_at, 0.85) AS DATE)::VARCHAR,
       CAST(max(created_at) + INTERVAL 2 DAY AS DATE)::VARCHAR
FROM mobilize.signups
"""
NUMBER = re.compile(r"(?<![\d.:/-])\d{1,3}(?:,\d{3})+(?![\d,])|(?<![\d.:/,-])\d+(?![\d,:/]|-\d|\.\d)")

_SHARED: dict = {}


# ----------------------------------------------------------------------------------------- helpers


def _nights(pristine) -> dict:
    """The check's two nights: `since` for each, and what each step should write then."""
    if "nights" not in _SHARED:
        with duckdb.connect(str(pristine), read_only=True) as con:
            normal, empty = con.execute(SINCE_SQL).fetchone()
            counts = con.execute(EXPECTED_SQL, {"since": normal}).fetchone()
            quiet = con.execute(EXPECTED_SQL, {"since": empty}).fetchone()
        assert min(counts) > 0 and max(quiet) == 0, (
            "The check's own nights are wrong (a course bug): tell your trainer.")
        _SHARED["nights"] = {"normal": normal, "empty": empty, "counts": dict(zip(TABLES, counts))}
    return _SHARED["nights"]


def _numbers(text: str) -> set[int]:
    """The whole numbers a text states ('1,204' counts; the parts of a date or a time do not)."""
    return {int(n.replace(",", "")) for n in NUMBER.findall(text or "")}


def _load_flow(lrn):
    mod = lrn.load(FILE)
    fn = getattr(mod, FLOW, None)
    assert fn is not None, (
        f"{FILE} has no function called `{FLOW}` any more. Keep the flow's name as the starter had it: "
        f"`def {FLOW}(warehouse: str = WAREHOUSE, since: str = ...)`."
    )
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is not a Prefect flow any more. Keep `@flow` on the line just above `def {FLOW}(...)`."
    )
    missing = [p for p in ("warehouse", "since") if p not in (fn.parameters or [])]
    assert not missing, (
        f"`{FLOW}` in {FILE} has lost its parameter(s) {', '.join(missing)}. Keep "
        f"`def {FLOW}(warehouse: str = WAREHOUSE, since: str = ...)`: the checks run it on their own warehouse "
        "and for their own nights."
    )
    return fn


def _assert_completed(report, night: str):
    assert report.completed, (
        f"The run of `{FLOW}` on {night} did not complete: it ended as {getattr(report.state, 'name', 'unknown')}. "
        + (f"The error was at {report.error.rstrip('.')}. " if report.error else "")
        + "Logging and a summary must never make the run fail: a night with no rows is a warning, not an error. "
        "Run `uv run flowcamp run pipeline.py` to see the whole error."
    )


def _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """The normal night's run, shared by the checks: its report."""
    if "normal" not in _SHARED:
        nights = _nights(pristine)
        flow_obj = _SHARED["flow"] = _load_flow(shared_learner)
        given = warehouse.with_name("normal-night.duckdb")
        shutil.copyfile(warehouse, given)
        _SHARED["secret"] = plant_secret("nightly-" + given.stem.replace("-", "") + "-pw-7Qx")
        monkeypatch.setenv(SECRET_ENV, _SHARED["secret"])  # the warehouse's password, as Civis passed it
        printed = len(learner.output)  # what the flow prints reaches the learner whose prefect_run ran it
        report = prefect_run(flow_obj, warehouse=str(given), since=nights["normal"])
        _SHARED["printed"] = learner.output[printed:]
        _SHARED["normal"] = report
    report = _SHARED["normal"]
    _assert_completed(report, f"the check's night (since {_nights(pristine)['normal']})")
    return report


def _read(report, what: str) -> list:
    """The run's logs() or artifacts(), read from the API once per run (each read waits for the server to settle)."""
    key = (what, str(getattr(report.flow_run, "id", "")))
    if key not in _SHARED:
        _SHARED[key] = report.logs() if what == "logs" else report.artifacts()
    return _SHARED[key]


def _summary_rows(artifact) -> list[str]:
    """The summary as lines of text, one per row of a table (or line of markdown)."""
    data = artifact.data
    if artifact.type == "table":
        try:
            table = json.loads(data) if isinstance(data, str) else data
        except ValueError:
            return [str(data)]
        if isinstance(table, dict):  # {"table": [...], "rows": [...]}: columns, zipped into rows
            columns = [v for v in table.values() if isinstance(v, list)]
            table = [list(row) for row in zip(*columns)] if columns else []
        rows = []
        for row in table if isinstance(table, list) else [table]:
            cells = row.values() if isinstance(row, dict) else row if isinstance(row, list) else [row]
            rows.append(" | ".join(str(c) for c in cells))
        return rows
    return str(data or "").splitlines()


def _mentions(line: str, table: str) -> bool:
    line = line.lower()
    return table in line or re.search(rf"(?<![\w.]){re.escape(table.split('.')[1])}(?!\w)", line) is not None


def _summary(report) -> object:
    arts = [a for a in _read(report, "artifacts") if a.key == KEY]
    assert arts, _no_summary_message(report)
    return arts[-1]


def _no_summary_message(report) -> str:
    others = sorted({a.key for a in _read(report, "artifacts") if a.key})
    if others:
        return (
            f"This run published an artifact with the key {', '.join(others)}, but none with the key `{KEY}`. "
            f"Use exactly `key=\"{KEY}\"`: it is how people (and these checks) find the summary of each run."
        )
    return (
        f"The run of `{FLOW}` published no artifact called `{KEY}`. Call "
        f"`create_markdown_artifact(key=\"{KEY}\", markdown=...)` (or `create_table_artifact`) inside `{FLOW}` "
        "or one of its tasks, while the flow runs: an artifact made at import or under "
        "`if __name__ == \"__main__\":` belongs to no run, so it is not part of the run's record."
    )


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(1)
def test_flow_completes(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """The nightly flow still runs and completes"""
    _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch)


@pytest.mark.points(3)
def test_counts_in_the_log(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """The run's log states each step's row count, at level INFO"""
    report = _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch)
    counts = _nights(pristine)["counts"]
    logs = _read(report, "logs")
    secret = _SHARED["secret"]
    assert not any(secret in (line.message or "") for line in logs), (
        f"A line of the run's log shows the warehouse password (the environment variable {SECRET_ENV}). "
        "Log counts and names, never settings or the whole environment: anyone who can see the run can read it."
    )
    shown = [line for line in logs if (line.level or 0) >= INFO]
    hidden = [line for line in logs if (line.level or 0) < INFO]
    for table, rows in counts.items():
        if any(rows in _numbers(line.message) for line in shown):
            continue
        where = f"The step {WHAT[table]} wrote {rows} rows to {table} in the check's run"
        if any(rows in _numbers(line.message) for line in hidden) or ".debug(" in learner.read(FILE):
            raise AssertionError(
                f"{where}, but no line of the run's log says so. Your file writes with `logger.debug(...)`: "
                "Prefect sends lines from level INFO up to the server, so DEBUG lines never reach the run's log. "
                "Write the counts with `logger.info(...)`."
            )
        if str(rows) in _SHARED.get("printed", ""):
            raise AssertionError(
                f"{where}. Your code printed that number, but print() goes only to the terminal, not to the "
                "Prefect server, so the run's log in the web UI does not have it. In the task, write it with "
                "`logger = get_run_logger()` and `logger.info(...)` (from `from prefect import get_run_logger`)."
            )
        raise AssertionError(
            f"{where}, but no line of the run's log says {rows}. In that task, after the count, write a line "
            "with `get_run_logger().info(...)` that names the table and gives the number of rows this run wrote."
        )


@pytest.mark.points(3)
def test_warning_only_on_an_empty_night(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """A night with no new sign-ups gives a WARNING in the log; a normal night gives none"""
    normal = _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch)
    empty_since = _nights(pristine)["empty"]
    quiet = prefect_run(_SHARED["flow"], warehouse=str(warehouse), since=empty_since)
    _assert_completed(quiet, f"a night with no new sign-ups (since {empty_since})")
    warned = [line for line in _read(quiet, "logs") if (line.level or 0) >= WARNING]
    assert warned, (
        f"The check ran `{FLOW}` with since={empty_since}, a night with no new sign-ups: every step wrote 0 rows, "
        "but the run's log has no warning. In each task, add `if rows == 0:` and `logger.warning(...)` with "
        "a sentence a person can act on, such as which table is empty."
    )
    loud = [line for line in _read(normal, "logs") if (line.level or 0) >= WARNING]
    assert not loud, (
        "On a normal night, when every step wrote rows, the run's log still has a warning: "
        f"\"{loud[0].message[:160] if loud else ''}\". Warn only when something looks wrong (here: a step wrote "
        "0 rows), or people learn to ignore the warnings. Give normal counts with `logger.info(...)`."
    )


@pytest.mark.points(1)
def test_summary_published(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """The run publishes a markdown or table artifact called nightly-summary"""
    report = _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch)
    art = _summary(report)
    assert art.type in KINDS, (
        f"The artifact `{KEY}` is of type {art.type!r}. Make it a markdown artifact (`create_markdown_artifact`) "
        "or a table artifact (`create_table_artifact`), so it shows each table and its rows."
    )


@pytest.mark.points(2)
def test_summary_figures(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch):
    """The summary gives each table with the number of rows this run wrote"""
    report = _normal_run(learner, shared_learner, prefect_run, warehouse, pristine, monkeypatch)
    art = _summary(report)
    rows = _summary_rows(art)
    assert not any(_SHARED["secret"] in row for row in rows), (
        f"The summary `{KEY}` shows the warehouse password ({SECRET_ENV}). Leave settings out of it."
    )
    for table, count in _nights(pristine)["counts"].items():
        lines = [row for row in rows if _mentions(row, table)]
        assert lines, (
            f"The summary `{KEY}` has no row for {table}. Give one row (or line) per table the flow writes: "
            f"{', '.join(TABLES)}, each with its number of rows."
        )
        said = sorted(set().union(*(_numbers(line) for line in lines)))
        assert count in said, (
            f"In the summary `{KEY}`, the row for {table} says {', '.join(map(str, said)) or 'no number'}, but "
            f"this run wrote {count} rows to it (the check ran on its own warehouse, with its own `since`). "
            "Put the count each task returned in the summary, never a number typed in."
        )
