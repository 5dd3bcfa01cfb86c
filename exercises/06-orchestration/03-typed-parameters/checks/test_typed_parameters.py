"""Checks for exercise typed-parameters: build_event_turnout takes since (a date), event_types (a list) and venue
(one of three choices) as typed flow parameters, so Prefect turns JSON values into those types, records them,
and refuses a run whose values do not fit before any task starts.

Every verdict comes from the Prefect API (the run's state, its state history, its task runs, its recorded
parameters) and from the warehouse the flow was given, compared with what the check's own SQL finds in the
untouched held-out warehouse for the same values.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
import pytest

FILE = "pipeline.py"
FLOW = "build_event_turnout"
PARAMS = ("since", "event_types", "venue", "warehouse")
TABLE = "analytics.event_turnout"
COLUMNS = ("event_id", "title", "event_type", "event_date", "signups", "attended")
DEFAULTS = {"since": "2024-09-01", "event_types": ["canvass", "phone_bank", "text_bank"], "venue": "any"}
CHOSEN_TYPES = ["canvass", "meeting"]  # differs from the default list in both directions
CHOSEN_VENUE = "in_person"
BAD = {"since": "yesterday", "venue": "outdoors"}  # one run, refused for both
VENUES = {"in_person": (False,), "virtual": (True,), "any": (False, True)}
SIGNATURE = ('def build_event_turnout(since: date = date(2024, 9, 1), '
             'event_types: list[str] = ["canvass", "phone_bank", "text_bank"], '
             'venue: Literal["in_person", "virtual", "any"] = "any", warehouse: str = WAREHOUSE)')

# The check's own statement of the table, for given values (an event's date is its local date).
EXPECTED_SQL = """
SELECT e.event_id, any_value(e.title), any_value(e.event_type),
       any_value((e.starts_at AT TIME ZONE e.timezone)::DATE) AS day,
       count(s.signup_id) FILTER (WHERE lower(trim(s.status)) <> 'cancelled'),
       count(s.signup_id) FILTER (WHERE lower(trim(s.status)) = 'attended')
FROM mobilize.events AS e
LEFT JOIN mobilize.signups AS s ON s.event_id = e.event_id
WHERE list_contains(?, e.event_type) AND list_contains(?, e.is_virtual)
GROUP BY e.event_id
"""

_SHARED: dict = {}


# ----------------------------------------------------------------------------------- expected values


def _events(pristine, event_types, venue) -> dict:
    """event_id -> (title, event_type, local date, signups, attended), for every date."""
    with duckdb.connect(str(pristine), read_only=True) as con:
        rows = con.execute(EXPECTED_SQL, [list(event_types), list(VENUES[venue])]).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _expected(pristine, since: date, event_types, venue) -> dict:
    return {k: v for k, v in _events(pristine, event_types, venue).items() if v[2] >= since}


def _chosen_since(pristine) -> date:
    """A date on which a chosen event takes place, with chosen events before it: `>` instead of `>=` loses the
    events of that very day, and a filter that is ignored keeps the earlier ones."""
    days = sorted({v[2] for v in _events(pristine, CHOSEN_TYPES, CHOSEN_VENUE).values()})
    if len(days) < 4:
        raise RuntimeError(f"the held-out warehouse has too few {CHOSEN_TYPES} events to choose a date from")
    return days[len(days) // 2]


# ------------------------------------------------------------------------------------------- helpers


def _has_table(path) -> bool:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'analytics' "
                           "AND table_name = 'event_turnout'").fetchone()[0] > 0


def _table(path) -> dict | None:
    """event_id -> the rest of its row, or None when there is no such table."""
    if not _has_table(path):
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        cols = [r[0].lower() for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' "
            "AND table_name = 'event_turnout' ORDER BY ordinal_position").fetchall()]
        missing = [c for c in COLUMNS if c not in cols]
        assert not missing, (f"{TABLE} has no column(s) {', '.join(missing)}. Keep the load task as the starter wrote "
                             "it: this exercise changes only how the flow gets its values.")
        rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}").fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _copy(warehouse, name: str):
    """An untouched copy of the check's warehouse, for one run."""
    copy = warehouse.parent / name
    shutil.copyfile(warehouse, copy)
    return copy


def _flow(shared_learner):
    """The learner's flow, loaded once per check run in the shared learner process, with its four parameters."""
    if "flow" not in _SHARED:
        mod = shared_learner.load(FILE)
        fn = getattr(mod, FLOW, None)
        _SHARED["flow"] = fn
    fn = _SHARED["flow"]
    assert fn is not None, (f"{FILE} has no function called `{FLOW}`. Keep the flow's name as the starter has it.")
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is no longer a Prefect flow: keep `@flow` on the line just above `def {FLOW}(...)`.")
    have = list(fn.parameters or [])
    missing = [p for p in PARAMS if p not in have]
    assert not missing, (
        f"`{FLOW}` has no parameter(s) {', '.join(missing)}; it has ({', '.join(have)}). The three Civis "
        "parameters become arguments of the flow, each with a type and a default, and `warehouse` stays last:\n"
        f"    {SIGNATURE}\n"
        "Then delete the lines in the flow that read SINCE, EVENT_TYPES and VENUE from the environment.")
    return fn


def _refusal(report) -> str:
    """Prefect's own list of the values it refused ('since: Input should be a valid date...'), or ''."""
    message = getattr(report.state, "message", "") or ""
    if "Validation of flow parameters failed" not in message:
        return ""
    lines = [ln.strip(" -") for ln in message.splitlines()[1:] if ln.strip()]
    return "; ".join(lines) or message


def _ran(report) -> bool:
    """Did the flow run ever start (enter Running)? Prefect's validation refuses a run before that."""
    from flowcamp.checks.prefect import api

    if report.flow_run is None:
        return False
    with api() as client:
        states = client.read_flow_run_states(report.flow_run.id)
    return any(s.type.value == "RUNNING" for s in states)


def _json_run(shared_learner, prefect_run, warehouse, pristine):
    """The shared run with JSON-style values (a date as text, a list, a choice): (report, values, warehouse)."""
    if "json" not in _SHARED:
        fn = _flow(shared_learner)
        values = {"since": _chosen_since(pristine).isoformat(), "event_types": list(CHOSEN_TYPES),
                  "venue": CHOSEN_VENUE}
        given = _copy(warehouse, "json-run.duckdb")
        _SHARED["json"] = (prefect_run(fn, **values, warehouse=str(given)), values, given)
    return _SHARED["json"]


def _assert_completed(report, values: dict | None):
    """The run completed; if Prefect refused its values, say which and why. `values` None: a run given none."""
    shown = f"the JSON values {json.dumps(values)}" if values else "no values (only the warehouse)"
    refused = _refusal(report)
    assert not refused, (
        f"Prefect refused the run with {shown}: {refused}. "
        + ("A JSON run passes a date as text and a list as a list: give each parameter the type that accepts "
           "such a value: `since: date`, `event_types: list[str]`, `venue: Literal[\"in_person\", \"virtual\", "
           "\"any\"]`." if values else "Check the defaults in the flow's definition: each must fit its type."))
    assert report.completed, (
        f"The run with {shown} did not complete: it ended as {getattr(report.state, 'name', 'unknown')}"
        + (f", at {report.error}" if report.error else "") + ". Run `uv run flowcamp run pipeline.py` in this "
        "folder to see the whole error, and read the run's log in the Prefect web UI.")


def _assert_rows(got: dict | None, want: dict, values: dict, pristine):
    shown = json.dumps(values)
    assert got is not None, (f"The run with {shown} completed, but the warehouse it was given has no table {TABLE}. "
                             "Pass the flow's `warehouse` parameter to both tasks.")
    assert want, "The check found no events for these values, so it cannot judge the table."  # never on real data
    defaults = _expected(pristine, date.fromisoformat(DEFAULTS["since"]), DEFAULTS["event_types"], DEFAULTS["venue"])
    if got == defaults and want != defaults:
        raise AssertionError(
            f"The run with {shown} wrote the table for the default values instead: the flow ignores what it is "
            "given. Use the parameters `since`, `event_types` and `venue` inside the flow, and delete the lines "
            "that read SINCE, EVENT_TYPES and VENUE from the environment.")
    since = date.fromisoformat(values["since"])
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    on_the_day = [e for e in missing if want[e][2] == since]
    assert not on_the_day, (
        f"With since={values['since']!r}, {TABLE} leaves out event(s) {', '.join(map(str, on_the_day[:5]))}, "
        f"which take place on {values['since']} itself. `since` is the first day to include: compare with `>=`, "
        "not `>`.")
    assert not missing, (f"With {shown}, {TABLE} has no row for event(s) {', '.join(map(str, missing[:5]))}, "
                         "which these values choose. Keep the starter's query and pass it all three values.")
    assert not extra, (
        f"With {shown}, {TABLE} has rows for event(s) {', '.join(map(str, extra[:5]))}, which these values leave "
        "out (" + "; ".join(f"{e}: {got[e][1]}, {got[e][2]}" for e in extra[:3]) + "). Each value must reach the "
        "query: events on or after `since`, of the types in `event_types`, at the chosen `venue`.")
    for event_id in sorted(want):
        assert got[event_id][3:] == want[event_id][3:], (
            f"For event {event_id}, (signups, attended) is {got[event_id][3:]} but should be {want[event_id][3:]}. "
            "Keep the starter's query: it counts sign-ups that were not cancelled, and those that attended.")


def _bad_run(shared_learner, prefect_run, warehouse):
    """One shared run with a bad date and a bad choice: (report, the warehouse it was given). Prefect lists every
    value it refuses, so each check reads its own parameter from the same refusal."""
    if "bad" not in _SHARED:
        fn = _flow(shared_learner)
        given = _copy(warehouse, "bad-values.duckdb")
        _SHARED["bad"] = (prefect_run(fn, **BAD, warehouse=str(given)), given)
    return _SHARED["bad"]


def _assert_refused(report, name: str, warehouse):
    """Prefect's validation refused the run because of `name`: the run exists, failed, never started, ran no
    task and wrote nothing."""
    value = BAD[name]
    shown = json.dumps(BAD)
    typed = "`since: date`" if name == "since" else '`venue: Literal["in_person", "virtual", "any"]`'
    assert report.flow_run is not None, f"Calling the flow with {shown} did not make a flow run at all."
    tasks = sorted(set(report.task_names))
    started = _ran(report)
    wrote = _has_table(warehouse)
    assert not (report.completed or tasks or started or wrote), (
        f"A run with {shown} should be refused by Prefect before it starts. Instead "
        + ("it completed" if report.completed else "it started")
        + (f" and ran the task(s) {', '.join(tasks)}" if tasks else "")
        + (f" and wrote {TABLE}" if wrote else "")
        + f". Give `{name}` a type Prefect can check ({typed}): then Prefect refuses a value like {value!r} "
        "itself, and neither your flow nor any task ever runs."
        + (" Checking a value inside the flow and raising an error is too late: the run has already started."
           if started and not tasks else ""))
    refused = _refusal(report)
    assert refused and f"{name}:" in refused, (
        f"Prefect refused the run with {shown}, but not because of `{name}`: "
        + (f"it refused only this: {refused}. " if refused else
           f"its state says {(getattr(report.state, 'message', '') or '')[:200]!r}. ")
        + f"So {name}={value!r} would have been let through. Give `{name}` its type in the flow's definition: "
        f"{typed}.")


# ------------------------------------------------------------------------------------------- checks


@pytest.mark.points(1)
def test_parameters(shared_learner, warehouse):
    """build_event_turnout is a flow with the parameters since, event_types, venue and warehouse"""
    _flow(shared_learner)


@pytest.mark.points(2)
def test_json_run_completes(shared_learner, prefect_run, warehouse, pristine):
    """A run given JSON values (a date as text, a list, a choice) completes, and Prefect records them"""
    report, values, _ = _json_run(shared_learner, prefect_run, warehouse, pristine)
    _assert_completed(report, values)
    recorded = {k: report.parameters.get(k) for k in values}
    assert recorded == values, (
        f"Prefect recorded the parameters {recorded} for the run, not the values it was given, {values}. "
        "Take the three values as arguments of the flow, with those names.")


@pytest.mark.points(3)
def test_json_run_rows(shared_learner, prefect_run, warehouse, pristine):
    """That run's table holds exactly the events the values choose, with their counts"""
    report, values, given = _json_run(shared_learner, prefect_run, warehouse, pristine)
    _assert_completed(report, values)
    want = _expected(pristine, date.fromisoformat(values["since"]), values["event_types"], values["venue"])
    _assert_rows(_table(given), want, values, pristine)


@pytest.mark.points(2)
def test_defaults(shared_learner, prefect_run, warehouse, pristine):
    """A run given no values uses the defaults: since 2024-09-01, the three event types, venue any"""
    fn = _flow(shared_learner)
    report = prefect_run(fn, warehouse=str(warehouse))
    _assert_completed(report, None)
    recorded = {k: report.parameters.get(k) for k in DEFAULTS}
    assert recorded == DEFAULTS, (
        f"A run given no values used {recorded}. The defaults should be {DEFAULTS}: write them in the flow's "
        "definition (`since: date = date(2024, 9, 1)`, ...), so that Prefect records them and the web UI shows "
        "them, not inside the flow.")
    want = _expected(pristine, date(2024, 9, 1), DEFAULTS["event_types"], DEFAULTS["venue"])
    _assert_rows(_table(warehouse), want, DEFAULTS, pristine)


@pytest.mark.points(2)
def test_bad_date_refused(shared_learner, prefect_run, warehouse):
    """Prefect refuses since="yesterday" before any task runs, and the warehouse is untouched"""
    report, given = _bad_run(shared_learner, prefect_run, warehouse)
    _assert_refused(report, "since", given)


@pytest.mark.points(2)
def test_bad_choice_refused(shared_learner, prefect_run, warehouse):
    """Prefect refuses venue="outdoors" before any task runs, and the warehouse is untouched"""
    report, given = _bad_run(shared_learner, prefect_run, warehouse)
    _assert_refused(report, "venue", given)
