"""Runs the learner's tests against several copies of pipeline.py. Course code, loaded by the checks into a
LEARNER process (never the check's own): the learner's tests are learner code.

``run_all`` imports pytest once, then forks one child per staged folder (each holds one pipeline.py and the
learner's tests), a few at a time, each with a time limit. A child runs pytest in its folder and sends back
what happened as plain data; its output goes to a file in its folder, never to the learner.
"""

import json
import os
import select
import signal
import sys
import time


# What a test session imports that the warm parent has not: pytest's own modules, and what Prefect imports
# when a flow is called (its graph drawing, through graphviz).
WARM = ("pytest", "_pytest.python", "_pytest.runner", "_pytest.fixtures", "_pytest.terminal", "_pytest.assertion",
        "_pytest.junitxml", "_pytest.pastebin", "_pytest.debugging", "_pytest.faulthandler", "_pytest.tmpdir",
        "_pytest.monkeypatch", "_pytest.logging", "_pytest.capture", "pdb", "faulthandler", "anyio",
        "prefect.utilities.visualization")


class Collector:
    """A pytest plugin that counts outcomes and keeps each failure's short report."""

    def __init__(self):
        self.counts = {"collected": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.failures = []

    def _failed(self, report, kind):
        self.counts[kind] += 1
        self.failures.append([report.nodeid, kind, str(report.longreprtext or "")[-1500:]])

    def pytest_collectreport(self, report):
        if report.failed:
            self._failed(report, "errors")

    def pytest_collection_finish(self, session):
        self.counts["collected"] = len(session.items)

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            if report.passed:
                self.counts["passed"] += 1
            elif report.failed:
                self._failed(report, "failed")
            else:
                self.counts["skipped"] += 1
        elif report.failed:
            self._failed(report, "errors")
        elif report.skipped and report.when == "setup":
            self.counts["skipped"] += 1


def _child(folder, stop_first, tag, write_fd):
    """In the forked child: run pytest in ``folder``, send the outcome on ``write_fd``, and end."""
    result = {"exit": None}
    started = time.monotonic()
    try:
        out = os.open(os.path.join(folder, "pytest-output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.chdir(folder)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        # Like CI, the checks have no warehouse: tests build their own data.
        os.environ["FLOWCAMP_WAREHOUSE"] = os.path.join(folder, "no-warehouse", "warehouse.duckdb")
        sys.path[:] = [p for p in sys.path if p not in ("", ".", os.path.dirname(folder))]
        import pytest
        from prefect import tags
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        collector = Collector()
        args = ["tests", "-q", "-p", "no:cacheprovider", "--tb=short", "--color=no", "-o", "addopts=",
                "--rootdir", folder, "-c", os.path.join(folder, "pytest.ini")] + (["-x"] if stop_first else [])
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), tags(tag):
            code = pytest.main(args, plugins=[collector])
        result = {"exit": int(code), **collector.counts, "failures": collector.failures}
        result["seconds"] = round(time.monotonic() - started, 2)
        _drain()
    except BaseException as e:  # noqa: BLE001 - whatever happened is the answer
        result = {"exit": None, "crash": f"{type(e).__name__}: {e}"[:500]}
    data = json.dumps(result).encode("utf-8")
    try:
        while data:
            data = data[os.write(write_fd, data):]
    finally:
        os._exit(0)


def _drain():
    """Send the task run states and log lines Prefect has queued, so the web UI shows finished runs."""
    if "prefect.events.worker" not in sys.modules:
        return
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        EventsWorker.drain_all(timeout=2, at_exit=False)
        APILogWorker.drain_all(timeout=2, at_exit=False)
    except Exception:  # noqa: BLE001
        pass


def _start(job, tag):
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job["folder"], job["stop_first"], tag, write_fd)
    os.close(write_fd)
    return {"pid": pid, "fd": read_fd, "data": b"", "key": job["key"], "started": time.monotonic()}


def _finish(run, timed_out):
    try:
        os.kill(run["pid"], signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(run["pid"], 0)
    os.close(run["fd"])
    if timed_out:
        return {"exit": None, "timeout": True}
    try:
        return json.loads(run["data"].decode("utf-8"))
    except ValueError:
        return {"exit": None, "crash": "the test run ended without a result"}


def run_all(jobs, parallel=3, limit=30.0, tag="flowcamp-check"):
    """jobs: [{"key", "folder", "stop_first"}]. Returns {key: outcome}. Must run with no thread started."""
    import importlib

    for name in WARM:  # once, here, so that no child pays for it
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a child imports it again, or does without
            pass

    waiting, running, results = list(jobs), [], {}
    while waiting or running:
        while waiting and len(running) < parallel:
            running.append(_start(waiting.pop(0), tag))
        ready, _, _ = select.select([r["fd"] for r in running], [], [], 0.2)
        now = time.monotonic()
        for run in list(running):
            done = False
            if run["fd"] in ready:
                chunk = os.read(run["fd"], 1 << 16)
                run["data"] += chunk
                done = not chunk
            late = not done and now - run["started"] > limit
            if done or late:
                results[run["key"]] = _finish(run, late)
                running.remove(run)
    return results
