"""Checks for exercise prefect-secrets: the flow reads where production is from a Prefect Variable and its
password from a Secret block, when it runs, and the password reaches no parameter, log, artifact, event,
state or output.

The check plants its own values on the server (a random password in the block, the path of its own stand-in
production warehouse in the Variable), so it works on any server, and puts the learner's own values back
at the end. The learner's code only ever gets those values from the Prefect API, in its own process.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from flowcamp.checks.plugin import plant_secret

FILE = "pipeline.py"
FLOW = "publish_attendance"
BLOCK = "warehouse-password"
VARIABLE = "production_warehouse"
USER = "attendance_loader"
OLD_PASSWORD = "Canvass-Spring-2024!"  # the starter's leaked (and since rotated) password
TABLE = "analytics.event_attendance"
COLUMNS = ("event_id", "title", "signups", "attended", "attendance_rate")
RATE_TOLERANCE = 0.006
# Environment variables a flow that reads the environment instead of the block might try: each holds a
# decoy, which the stand-in production warehouse refuses.
DECOY_NAMES = ("WAREHOUSE_PASSWORD", "PRODUCTION_PASSWORD", "PRODUCTION_WAREHOUSE_PASSWORD", "REDSHIFT_PASSWORD",
               "DB_PASSWORD", "DATABASE_PASSWORD", "PASSWORD")
SECRET_WORD = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)

EXPECTED_SQL = """
WITH cleaned AS (
    SELECT s.event_id, e.title,
           lower(trim(coalesce(s.email, ''), ' ' || chr(9) || chr(10) || chr(13))) AS email,
           lower(trim(coalesce(s.status, ''))) AS status
    FROM mobilize.signups AS s
    JOIN mobilize.events AS e ON e.event_id = s.event_id
)
SELECT event_id, any_value(title), count(DISTINCT email),
       count(DISTINCT email) FILTER (WHERE status = 'attended')
FROM cleaned
WHERE email <> '' AND status <> 'cancelled'
GROUP BY event_id
"""

_SHARED: dict = {}


# ---------------------------------------------------------------------- the stand-in production warehouse
# The check's own copy of the stand-in's rules (production.py in the learner's folder is theirs to break).


def _digest(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


def _make_production(path, password: str) -> None:
    salt = secrets.token_hex(16)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA _server")
        con.execute("CREATE TABLE _server.login (username VARCHAR, salt VARCHAR, verifier VARCHAR)")
        con.execute("INSERT INTO _server.login VALUES (?, ?, ?)", [USER, salt, _digest(password, salt)])
        con.execute("CREATE TABLE _server.sessions (nonce VARCHAR, proof VARCHAR, started_at TIMESTAMP)")
        con.execute("CREATE SCHEMA analytics")


def _logged_in_with(path, password: str) -> bool:
    """Did a connection log in to this production file with this password? (Only the password makes a proof.)"""
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            rows = con.execute("SELECT nonce, proof FROM _server.sessions").fetchall()
        except duckdb.Error:
            return False
    return any(isinstance(n, str) and isinstance(p, str) and hmac.compare_digest(_digest(password, n), p)
               for n, p in rows)


def _table_rows(path) -> list[tuple] | None:
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            return con.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}").fetchall()
        except duckdb.Error:
            return None


def _expected(pristine) -> dict:
    with duckdb.connect(str(pristine), read_only=True) as con:
        rows = con.execute(EXPECTED_SQL).fetchall()
    return {eid: (title, n, a, a / n) for eid, title, n, a in rows}


# ------------------------------------------------------------------------ what is on the Prefect server


def _client():
    from flowcamp.checks.prefect import api

    return api()


@pytest.fixture(scope="module")
def server_values():
    """Remember the learner's own block and Variable, set decoys in the environment, and put everything back
    at the end: a check must not break the learner's own runs."""
    from prefect.blocks.system import Secret
    from prefect.variables import Variable

    with _client() as client:
        try:
            old_block = Secret.load(BLOCK).get()
        except Exception:  # noqa: BLE001 - no block yet (a fresh server)
            old_block = None
        old_variable = client.read_variable_by_name(VARIABLE)
    if isinstance(old_block, str):
        plant_secret(old_block)
    decoy = plant_secret(secrets.token_urlsafe(18))
    with pytest.MonkeyPatch.context() as mp:
        for name in DECOY_NAMES:
            mp.setenv(name, decoy)
        yield
    with _client() as client:
        try:
            if old_block is None:
                doc = client.read_block_document_by_name(BLOCK, "secret", include_secrets=False)
                client.delete_block_document(doc.id)
            else:
                Secret(value=old_block).save(BLOCK, overwrite=True)
        except Exception:  # noqa: BLE001 - putting things back never fails a check
            pass
        try:
            if old_variable is None:
                client.delete_variable_by_name(VARIABLE)
            else:
                Variable.set(VARIABLE, old_variable.value, overwrite=True)
        except Exception:  # noqa: BLE001
            pass


def _plant(folder, label: str) -> tuple[str, object]:
    """A new random password in the block, and a new stand-in production warehouse, named by the Variable."""
    from prefect.blocks.system import Secret
    from prefect.client.schemas.actions import BlockDocumentUpdate, VariableCreate, VariableUpdate
    from prefect.exceptions import ObjectNotFound

    password = plant_secret(secrets.token_urlsafe(24))
    location = folder / f"production-{label}.duckdb"
    _make_production(location, password)
    # Secret.save registers the block's type and schema each time (0.15-0.25 s); once the block exists, one
    # request changes its value. The same for the Variable.
    with _client() as client:
        if "block" not in _PLANTED:
            try:
                _PLANTED["block"] = client.read_block_document_by_name(BLOCK, "secret", include_secrets=False).id
            except ObjectNotFound:
                Secret(value=password).save(BLOCK, overwrite=True)  # a server that never had it
                _PLANTED["block"] = client.read_block_document_by_name(BLOCK, "secret", include_secrets=False).id
        client.update_block_document(_PLANTED["block"], BlockDocumentUpdate(data={"value": password}))
        if _PLANTED.get("variable") or client.read_variable_by_name(VARIABLE) is not None:
            client.update_variable(VariableUpdate(name=VARIABLE, value=str(location)))
        else:
            client.create_variable(VariableCreate(name=VARIABLE, value=str(location)))
        _PLANTED["variable"] = True
    return password, location


_PLANTED: dict = {}


# --------------------------------------------------------------------- reading pipeline.py (never run)


def _tree(learner):
    try:
        return ast.parse(learner.read(FILE))
    except (SyntaxError, ValueError):
        return None


def _string_keys(call) -> list[str]:
    return [a.value for a in list(call.args[:1]) if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _env_password_names(tree) -> list[str]:
    """Names of secret-looking environment variables the file reads: os.environ[...], os.getenv(...)."""
    names = []
    for node in ast.walk(tree) if tree is not None else []:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            key = node.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.append(key.value)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr == "getenv" or (node.func.attr == "get" and isinstance(node.func.value, ast.Attribute)
                                               and node.func.value.attr == "environ")):
            names += _string_keys(node)
    return [n for n in dict.fromkeys(names) if SECRET_WORD.search(n) or n.endswith("_KEY")]


def _hard_coded(tree, source: str) -> list[str]:
    """Where the file types a password in: a text value given to a password-like name or argument."""
    found = []
    if OLD_PASSWORD in source:
        found.append("the old production password from the starter")
    allowed = {BLOCK, VARIABLE, ""}
    for node in ast.walk(tree) if tree is not None else []:
        pairs = []
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            pairs = [(t.id if isinstance(t, ast.Name) else getattr(t, "attr", ""), node.value) for t in targets]
        elif isinstance(node, ast.Call):
            pairs = [(k.arg or "", k.value) for k in node.keywords]
            func = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if func == "connect_production" and len(node.args) >= 2:
                pairs.append(("password", node.args[1]))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults)
            pairs = list(zip([a.arg for a in node.args.args], defaults)) + list(
                zip([a.arg for a in node.args.kwonlyargs], node.args.kw_defaults))
        for name, value in pairs:
            if (value is not None and isinstance(value, ast.Constant) and isinstance(value.value, str)
                    and value.value not in allowed and SECRET_WORD.search(name or "")):
                found.append(f"`{name}` on line {value.lineno}")
    return list(dict.fromkeys(found))


def _server_reads_at_import(tree) -> list[int]:
    """Lines that load the block or read the Variable outside any function, or in a default argument: those
    run once, when the file is imported, not at each run."""
    lines = []

    def reads(node) -> bool:
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("load", "get")
                   and isinstance(n.func.value, (ast.Name, ast.Call))
                   and getattr(n.func.value, "id", getattr(getattr(n.func.value, "func", None), "id", "")) in (
                       "Secret", "Variable")
                   for n in ast.walk(node))

    for node in tree.body if tree is not None else []:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any(d is not None and reads(d) for d in node.args.defaults + node.args.kw_defaults):
                lines.append(node.lineno)
        elif not isinstance(node, ast.ClassDef) and not (isinstance(node, ast.If) and "__main__" in ast.dump(node.test)):
            if reads(node):
                lines.append(node.lineno)
    return lines


def _diagnosis(learner, error: str = "") -> str:
    """The likely cause of a failed load or run, in one or two sentences ("" if none is known)."""
    tree = _tree(learner)
    source = learner.read(FILE)
    at_import = _server_reads_at_import(tree)
    if at_import:
        return (f"{FILE} reads the block or the Variable when the file is imported (line "
                f"{', '.join(map(str, at_import))}), not when the flow runs. Then a run uses whatever was on the "
                "server when the file was first imported, and a new password is only seen after a restart. Move "
                "`Secret.load(...)` and `Variable.get(...)` inside the task (or the flow) that needs them.")
    env_names = _env_password_names(tree)
    if env_names:
        return (f"{FILE} reads the password from the environment variable {', '.join(env_names)}, not from the "
                f"Secret block `{BLOCK}` on the Prefect server. Load it from the block, inside the task that "
                f"connects: `Secret.load(\"{BLOCK}\").get()`.")
    if "PermissionError" in error or "password authentication failed" in error:
        hard = _hard_coded(tree, source)
        return ("Production refused the password your flow gave it"
                + (f": it comes from {hard[0]}, typed into the code" if hard else "")
                + f". The right password is only in the Secret block `{BLOCK}` on the Prefect server: load it "
                f"inside the task that connects, with `Secret.load(\"{BLOCK}\").get()`.")
    if "FileNotFoundError" in error or "no production warehouse" in error:
        return ("Your flow looked for production in the wrong place. Where production is lives in the Prefect "
                f"Variable `{VARIABLE}`: read it when the flow runs, with `Variable.get(\"{VARIABLE}\")`, and "
                "pass it to `connect_production` as its first argument.")
    if "Secret" not in source:
        return (f"{FILE} never loads the Secret block `{BLOCK}`. Add `from prefect.blocks.system import Secret` "
                f"and, in the task that connects, `password = Secret.load(\"{BLOCK}\").get()`.")
    return ""


def _with_diagnosis(learner, message: str, error: str = "") -> str:
    lead = _diagnosis(learner, error)
    return f"{lead} {message}" if lead else message


def _load_flow(learner):
    from flowcamp.checks import LearnerError

    try:
        mod = learner.load(FILE)
    except LearnerError as e:
        raise AssertionError(_with_diagnosis(learner, str(e), str(e))) from None
    fn = getattr(mod, FLOW, None)
    assert fn is not None, (
        f"{FILE} has no function called `{FLOW}`. Keep the flow's name as the starter has it: "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):`, with `@flow` on the line above.")
    assert fn.isinstance_of("prefect.flows.Flow"), (
        f"`{FLOW}` in {FILE} is not a Prefect flow any more: put `@flow` back on the line above `def {FLOW}(...)`.")
    params = fn.parameters or []
    assert "warehouse" in params, (
        f"`{FLOW}` in {FILE} has no parameter `warehouse`. Keep it as in the starter: "
        f"`def {FLOW}(warehouse: str = WAREHOUSE):`.")
    secretish = [p for p in params if SECRET_WORD.search(p)]
    assert not secretish, (
        f"`{FLOW}` takes the password as a parameter (`{secretish[0]}`). Prefect stores every flow run's "
        "parameters on the server, in plain text, and shows them in the web UI to anyone who can open it: the "
        "password would be in every run's record. Take the parameter out, and load the password inside the task "
        f"that connects: `Secret.load(\"{BLOCK}\").get()`.")
    return mod, fn


# ---------------------------------------------------------------------------------------------- runs


def _plant_and_run(learner, fn, prefect_run, warehouse, label: str) -> dict:
    password, location = _plant(warehouse.parent, label)
    printed = len(learner.output)
    report = prefect_run(fn, warehouse=str(warehouse))
    return {"report": report, "password": password, "location": location, "output": learner.output[printed:]}


def _runs(learner, prefect_run, warehouse) -> dict:
    """Two runs, shared by the checks: load pipeline.py, THEN plant a password (a read at import sees the old
    one) and run; then change the password and run again in the same process (a copy kept from the first run
    is stale). Each check still loads the file itself."""
    if "first" not in _SHARED:
        _, fn = _load_flow(learner)
        _SHARED["first"] = first = _plant_and_run(learner, fn, prefect_run, warehouse, "first")
        if first["report"].completed:
            _SHARED["rotated"] = _plant_and_run(learner, fn, prefect_run, warehouse, "rotated")
    else:
        _load_flow(learner)
    return _SHARED


def _first(learner, prefect_run, warehouse) -> dict:
    return _runs(learner, prefect_run, warehouse)["first"]


def _assert_completed(learner, run: dict) -> None:
    report = run["report"]
    assert report.completed, _with_diagnosis(
        learner,
        f"The flow run of `{FLOW}` did not complete: it ended as {getattr(report.state, 'name', 'unknown')}"
        + (f", at {report.error.rstrip('. ')}" if report.error else "") + ". Run `uv run flowcamp run "
        "setup_production.py` "
        "once, then `uv run flowcamp run pipeline.py`, in this folder, to see the whole error.",
        report.error or "")


def _assert_published(learner, run: dict, pristine) -> None:
    _assert_completed(learner, run)
    location, password = run["location"], run["password"]
    logged_in = _logged_in_with(location, password)
    rows = _table_rows(location)
    assert logged_in, _with_diagnosis(
        learner,
        "The flow run completed, but it never logged in to the production warehouse that the Variable "
        f"`{VARIABLE}` named, with the password in the Secret block `{BLOCK}`. Connect only through "
        "`connect_production(location, password)`, with the location from the Variable and the password from "
        "the block.")
    assert rows is not None, (
        f"Your flow logged in to production, but there is no table {TABLE} there. Keep the publish step as the "
        "starter had it: `CREATE OR REPLACE TABLE analytics.event_attendance ...` and the INSERT, on the "
        "connection `connect_production` gives back.")
    expected = _expected(pristine)
    assert rows, f"{TABLE} in production is empty: the publish step should insert one row per event."
    got = {r[0]: r for r in rows}
    assert len(got) == len(rows) and set(got) == set(expected), (
        f"{TABLE} in production has {len(rows)} rows for {len(got)} events; it should have one row for each of "
        f"the {len(expected)} events with sign-ups. Keep the extract and count steps as the starter had them.")
    for event_id, (title, signups, attended, rate) in sorted(expected.items()):
        _, g_title, g_signups, g_attended, g_rate = got[event_id]
        assert (g_title, g_signups, g_attended) == (title, signups, attended) and g_rate is not None and abs(
            float(g_rate) - rate) <= RATE_TOLERANCE, (
            f"In production, event {event_id} has signups={g_signups}, attended={g_attended}, rate={g_rate}; it "
            f"should have {signups}, {attended} and about {rate:.3f}. Keep the count step as the starter had it.")


# ---------------------------------------------------------------- where a password could have been recorded


def _wait(read, ready, timeout: float = 12.0):
    """Read until `ready(result)` or the time is up; the last result either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = read()
        if ready(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def _dump(obj) -> str:
    if hasattr(obj, "model_dump_json"):
        return obj.model_dump_json()
    return json.dumps(obj, default=str)


def _all_events(client, event_filter, most: int = 1000) -> list:
    page = client.read_events(filter=event_filter, limit=50)  # the server's largest page
    events = list(page.events)
    while page.next_page and len(events) < most:
        page = client.read_events_page(str(page.next_page))
        events += page.events
    return events


def _runs_under(client, flow_run) -> list:
    """The flow run and every subflow run started inside it (a subflow's parameters are stored too)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    runs, todo = [flow_run], [flow_run.id]
    while todo and len(runs) < 50:
        children = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=todo)), limit=50)
        runs += children
        todo = [c.id for c in children]
    return runs


def _places_with(password: str, run: dict) -> list[str]:
    """Every place on the Prefect server (and in the output) where the password shows, in plain words."""
    from prefect.client.schemas.filters import (ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter,
                                                FlowRunFilterId, LogFilter, LogFilterFlowRunId)
    from prefect.events.filters import EventAnyResourceFilter, EventFilter, EventOccurredFilter

    report = run["report"]
    main = report.flow_run
    places = []
    if password in run["output"]:
        places.append("what the flow printed in the terminal (its log lines or a print)")
    with _client() as client:
        flow_runs = _runs_under(client, main)
        ids = [fr.id for fr in flow_runs]
        task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=200)
        for fr in flow_runs:
            which = "the flow run's" if fr.id == main.id else f"the subflow run {fr.name}'s"
            if password in _dump(fr.parameters or {}):
                places.append(f"{which} parameters")
            if password in _dump(fr.model_copy(update={"parameters": {}})):
                places.append(f"{which} record (its name, tags or state message)")
            for st in client.read_flow_run_states(fr.id):
                if password in _dump(st):
                    places.append(f"{which} state {st.name} (its message)")
                    break
        for tr in task_runs:
            if password in _dump(tr):
                places.append(f"the task run {tr.name} (its name, or its state's message)")
        log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids))
        logs = _wait(lambda: client.read_logs(log_filter=log_filter, limit=200),
                     lambda got: any("Finished in state" in (lg.message or "") and lg.flow_run_id == main.id
                                     for lg in got))
        assert logs, ("The checks could not read your flow run's logs back from the Prefect server, so they cannot "
                      "tell whether the password is in them. Run the check again.")
        for lg in logs:
            if password in (lg.message or "") or password in (lg.name or ""):
                places.append(f"a log line (logger {lg.name})")
        for art in client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(
                any_=ids)), limit=200):
            if password in _dump(art):
                places.append(f"an artifact ({art.key or art.type})")
        resources = [f"prefect.flow-run.{i}" for i in ids] + [f"prefect.task-run.{tr.id}" for tr in task_runs]
        since = (main.created or datetime.now(timezone.utc)) - timedelta(minutes=1)
        event_filter = EventFilter(any_resource=EventAnyResourceFilter(id=resources), occurred=EventOccurredFilter(
            since=since, until=datetime.now(timezone.utc) + timedelta(minutes=1)))
        events = _wait(lambda: _all_events(client, event_filter),
                       lambda got: any(e.resource.id == resources[0] and e.event.startswith("prefect.flow-run.")
                                       and e.event.endswith(("Completed", "Failed", "Crashed")) for e in got))
        for ev in events:
            if password in _dump(ev):
                places.append(f"an event ({ev.event})")
        for var in client.read_variables(limit=200):
            if password in _dump(var.value):
                places.append(f"the Prefect Variable `{var.name}`")
        for doc in client.read_block_documents(include_secrets=False, limit=200):
            if password in _dump(doc.data):
                places.append(f"the block `{doc.name}`, where it is not hidden")
    return list(dict.fromkeys(places))


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(2)
def test_no_password_in_code(learner, server_values):
    """The password is neither a parameter of the flow nor typed into pipeline.py"""
    _load_flow(learner)  # also: no parameter for the password
    hard = _hard_coded(_tree(learner), learner.read(FILE))
    assert not hard, (
        f"{FILE} still has a password typed into it: {', '.join(hard)}. A password in code is in every copy of "
        "the file and in the repository's history for good, even after it has changed. Delete it, and load the "
        f"password from the Secret block when the flow runs: `Secret.load(\"{BLOCK}\").get()`.")


@pytest.mark.points(2)
def test_flow_run_completes(learner, warehouse, prefect_run, server_values):
    """With the block and the Variable set on the server, the flow run completes"""
    _assert_completed(learner, _first(learner, prefect_run, warehouse))


@pytest.mark.points(3)
def test_published(learner, warehouse, pristine, prefect_run, server_values):
    """The table reached the production warehouse the Variable names, through a login with the block's password"""
    _assert_published(learner, _first(learner, prefect_run, warehouse), pristine)


@pytest.mark.points(3)
def test_password_not_recorded(learner, warehouse, pristine, prefect_run, server_values):
    """The password is in none of the run's parameters, logs, artifacts, events, states or output"""
    run = _first(learner, prefect_run, warehouse)
    # Only a run that really used the password can show it kept it to itself.
    _assert_published(learner, run, pristine)
    places = _places_with(run["password"], run)
    assert not places, (
        "The production password showed up in " + "; ".join(places) + ". Whatever a run logs, prints, takes "
        "as a parameter or saves as an artifact is stored on the Prefect server in plain text, and anyone who can "
        "open the web UI can read it. Use the password only to connect: pass it straight to "
        "`connect_production`, and never log it, print it, or put it in a parameter, an artifact or a "
        "message. To show the run worked, log something about it instead, such as the number of rows published.")


@pytest.mark.points(2)
def test_new_password_next_run(learner, warehouse, pristine, prefect_run, server_values):
    """After the password in the block changes, the next run uses the new one (no change to the code)"""
    _assert_completed(learner, _first(learner, prefect_run, warehouse))
    second = _SHARED["rotated"]
    report = second["report"]
    assert report.completed and _logged_in_with(second["location"], second["password"]), (
        "The checks changed the password in the Secret block, and the production warehouse's location in the "
        f"Variable, as a password rotation would, and ran `{FLOW}` again in the same Python process. That run "
        "did not log in to the new warehouse with the new password"
        + (f" (it stopped at {report.error.rstrip('. ')})" if report.error else "") + ". Read the block and the Variable "
        "each time the flow runs, inside the task that connects, and keep no copy of them between runs (no "
        "global variable, no cache).")
    _assert_published(learner, second, pristine)
