"""The pytest plugin that every check run loads (``-p flowcamp.checks.plugin``).

It gives checks their fixtures and writes one JSON line per check to the file
named by ``FLOWCAMP_RESULTS``, as each check starts and ends, so that a run
stopped for taking too long still says which checks had passed.

Environment set by the runner (:mod:`flowcamp.runner`):
``FLOWCAMP_LEARNER_DIR``, ``FLOWCAMP_RESULTS``, ``FLOWCAMP_HELDOUT_WAREHOUSE``,
``FLOWCAMP_HELDOUT_SEED`` and, for Prefect exercises, ``PREFECT_API_URL``.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from flowcamp.checks import Learner, LearnerError, Repo, describe_exception

_NAME = pytest.StashKey[dict]()


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): how many points a check is worth (default 1)")


def _write(event: dict) -> None:
    path = os.environ.get("FLOWCAMP_RESULTS")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event) + "\n")
        fh.flush()


def _describe(item) -> dict:
    doc = (getattr(item.function, "__doc__", None) or "").strip()
    name = doc.splitlines()[0].strip() if doc else item.name.removeprefix("test_").replace("_", " ").capitalize()
    marker = item.get_closest_marker("points")
    points = marker.args[0] if marker and marker.args else 1
    return {"id": item.nodeid, "name": name, "max_points": points}


def pytest_collection_finish(session):
    for item in session.items:
        info = _describe(item)
        item.stash[_NAME] = info
        _write({"event": "collected", **info})


def pytest_runtest_logstart(nodeid, location):
    _write({"event": "start", "id": nodeid})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    info = item.stash.get(_NAME, None) or _describe(item)
    rec = item.stash.setdefault(_RESULT, {"status": "pass", "message": ""})
    if rep.when in ("setup", "call") and (rep.failed or rep.skipped) and rec["status"] == "pass":
        if rep.skipped:
            rec["status"] = "skipped"
            rec["message"] = str(call.excinfo.value) if call.excinfo else "skipped"
        else:
            exc = call.excinfo.value if call.excinfo else None
            learner_dir = os.environ.get("FLOWCAMP_LEARNER_DIR")
            if isinstance(exc, AssertionError):
                rec["status"] = "fail"
                rec["message"] = str(exc).strip() or "This check failed (it gave no message)."
            elif exc is not None:
                rec["status"] = "error"
                rec["message"] = (
                    "Something unexpected went wrong while checking: "
                    + describe_exception(exc, Path(learner_dir) if learner_dir else None)
                )
            else:
                rec["status"] = "error"
                rec["message"] = rep.longreprtext[-1500:]
    if rep.when in ("setup", "call"):
        out = "".join(s for _, s in rep.sections if "stdout" in _ or "stderr" in _) if rep.sections else ""
        if out:
            rec["output"] = rec.get("output", "") + out
    if rep.when == "teardown":
        _write({"event": "result", **info, **rec})


_RESULT = pytest.StashKey[dict]()


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def learner() -> Learner:
    d = os.environ.get("FLOWCAMP_LEARNER_DIR")
    if not d:
        raise RuntimeError("FLOWCAMP_LEARNER_DIR is not set: checks must be run by flowcamp, not by pytest directly")
    return Learner(Path(d))


_ENSURED: dict[str, int] = {}


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    """A fresh copy of the held-out warehouse, also exported as FLOWCAMP_WAREHOUSE."""
    from flowcamp import warehouse as wh

    master = os.environ.get("FLOWCAMP_HELDOUT_WAREHOUSE")
    seed = int(os.environ.get("FLOWCAMP_HELDOUT_SEED", "7"))
    if not master:
        master = str(tmp_path / "heldout-master.duckdb")
    if _ENSURED.get(master) != seed:  # once per check run: reading the file's metadata costs time
        wh.ensure(master, seed=seed)
        _ENSURED[master] = seed
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(master, copy)
    monkeypatch.setenv("FLOWCAMP_WAREHOUSE", str(copy))
    return copy


@pytest.fixture
def repo(learner):
    """repo("project") reads the git repository in that folder of the learner's exercise."""

    def make(folder: str = ".") -> Repo:
        return Repo(learner.dir / folder)

    return make


@dataclass
class FlowRunReport:
    """What a flow run did, as the Prefect API recorded it."""

    state: object
    flow_run: object | None = None
    task_runs: list = field(default_factory=list)
    error: str = ""

    @property
    def completed(self) -> bool:
        return bool(self.state is not None and self.state.is_completed())

    @property
    def task_names(self) -> list[str]:
        """Task names without Prefect's run suffix: 'extract-7fe' -> 'extract'."""
        names = []
        for tr in self.task_runs:
            base, _, suffix = tr.name.rpartition("-")
            names.append(base if base and suffix.isalnum() and len(suffix) <= 8 else tr.name)
        return names

    @property
    def completed_task_runs(self) -> list:
        return [tr for tr in self.task_runs if tr.state is not None and tr.state.is_completed()]


def _flush_events() -> None:
    """Send the events this process still holds (task run states reach the server as events)."""
    try:
        from prefect.events.worker import EventsWorker

        EventsWorker.drain_all(timeout=5, at_exit=False)
    except Exception:  # noqa: BLE001 - best effort: the settle loop below still waits
        pass


def _settled_task_runs(client, flow_run_id, FlowRunFilter, FlowRunFilterId, timeout: float = 15.0) -> list:
    """The flow run's task runs, once the server has recorded them all in a final state.

    The server records task runs from events, a moment after they happen: read again until every task
    run is final and two reads in a row agree.
    """
    import time

    deadline = time.monotonic() + timeout
    previous = None
    while True:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        current = sorted((str(tr.id), tr.state.type.value if tr.state else None) for tr in runs)
        settled = all(tr.state is not None and tr.state.is_final() for tr in runs)
        if (settled and current == previous) or time.monotonic() > deadline:
            return runs
        previous = current if settled else None
        time.sleep(0.2)


@pytest.fixture
def prefect_run(learner):
    """prefect_run(flow, **params): run a learner's flow on the local server; read back its runs from the API."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if not os.environ.get("PREFECT_API_URL"):
        raise RuntimeError("PREFECT_API_URL is not set: Prefect checks need flowcamp's local server")
    from prefect import Flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    def run(flow_obj, **params) -> FlowRunReport:
        if not isinstance(flow_obj, Flow):
            name = getattr(flow_obj, "__name__", "it")
            raise LearnerError(
                f"`{name}` is not a Prefect flow yet. Put `@flow` on the line just above `def {name}(...)` "
                "(and `from prefect import flow` at the top of the file)."
            )
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            try:
                state = flow_obj(**params, return_state=True)
            except TypeError as e:
                raise LearnerError(f"The flow could not be called with {sorted(params)}: {e}") from None
        report = FlowRunReport(state=state)
        if state is not None and not state.is_completed():
            try:
                exc = state.result(raise_on_failure=False)
                if isinstance(exc, BaseException):
                    report.error = describe_exception(exc, learner.dir)
                else:
                    report.error = state.message or state.name
            except Exception as e:  # noqa: BLE001
                report.error = state.message or str(e)
        flow_run_id = state.state_details.flow_run_id if state is not None else None
        if flow_run_id:
            _flush_events()
            with get_client(sync_client=True) as client:
                report.flow_run = client.read_flow_run(flow_run_id)
                report.task_runs = _settled_task_runs(client, flow_run_id, FlowRunFilter, FlowRunFilterId)
        return report

    return run
