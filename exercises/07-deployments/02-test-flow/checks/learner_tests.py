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
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FORK = hasattr(os, "fork") and sys.platform.startswith("linux") and os.environ.get("FLOWCAMP_NO_FORK") != "1"


# What a test session imports that the warm parent has not: pytest's own modules, and what Prefect imports
# when a flow is called (its graph drawing, through graphviz).
WARM = ("pytest", "_pytest.python", "_pytest.runner", "_pytest.fixtures", "_pytest.terminal", "_pytest.assertion",
        "_pytest.junitxml", "_pytest.pastebin", "_pytest.debugging", "_pytest.faulthandler", "_pytest.tmpdir",
        "_pytest.monkeypatch", "_pytest.logging", "_pytest.capture", "pdb", "faulthandler", "anyio",
        "prefect.utilities.visualization")


class Collector:
    """A pytest plugin that counts outcomes and keeps each failure's short report."""

    def __init__(self, reverse=False):
        self.reverse = reverse
        self.counts = {"collected": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0}
        self.failures = []

    def _failed(self, report, kind):
        self.counts[kind] += 1
        self.failures.append([report.nodeid, kind, str(report.longreprtext or "")[-1500:]])

    def pytest_collectreport(self, report):
        if report.failed:
            self._failed(report, "errors")

    def pytest_collection_modifyitems(self, items):
        if self.reverse:  # a broken copy: quick .fn tests, usually written last, get to fail first
            items.reverse()

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


def _test(folder, stop_first, tag):
    """Run pytest in ``folder``; what happened, as plain data (pytest's own output goes to a file there)."""
    started = time.monotonic()
    try:
        out = os.open(os.path.join(folder, "pytest-output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.chdir(folder)
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        # Like CI, the checks have no warehouse: tests build their own data.
        os.environ["FLOWCAMP_WAREHOUSE"] = os.path.join(folder, "no-warehouse", "warehouse.duckdb")
        sys.path[:] = [p for p in sys.path if p not in ("", ".", os.path.dirname(folder), HERE)]
        import pytest
        from prefect import tags
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

        collector = Collector(reverse=stop_first)
        args = ["tests", "-q", "-p", "no:cacheprovider", "--tb=short", "--color=no", "-o", "addopts=",
                "--rootdir", folder, "-c", os.path.join(folder, "pytest.ini")] + (["-x"] if stop_first else [])
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), tags(tag):
            code = pytest.main(args, plugins=[collector])
        result = {"exit": int(code), **collector.counts, "failures": collector.failures}
        result["seconds"] = round(time.monotonic() - started, 2)
        _drain()
    except BaseException as e:  # noqa: BLE001 - whatever happened is the answer
        result = {"exit": None, "crash": f"{type(e).__name__}: {e}"[:500]}
    return json.dumps(result).encode("utf-8")


def _child(folder, stop_first, tag, write_fd):
    """In a forked child: run the tests, send the outcome on ``write_fd``, and end."""
    data = _test(folder, stop_first, tag)
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
    """Fork a child for the job where fork works (Linux: it inherits everything imported); elsewhere start a
    new Python that runs this file, and read its outcome from a file."""
    if not FORK:
        result = os.path.join(job["folder"], "outcome.json")
        proc = subprocess.Popen([sys.executable, __file__, job["folder"], "1" if job["stop_first"] else "", tag,
                                 result], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        return {"proc": proc, "result": result, "key": job["key"], "started": time.monotonic()}
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(job["folder"], job["stop_first"], tag, write_fd)
    os.close(write_fd)
    return {"pid": pid, "fd": read_fd, "data": b"", "key": job["key"], "started": time.monotonic()}


def _finish(run, timed_out):
    if "proc" in run:
        if timed_out:
            run["proc"].kill()
        run["proc"].wait()
        try:
            with open(run["result"], "rb") as f:
                run["data"] = f.read()
        except OSError:
            run["data"] = b""
    else:
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


def _poll(running):
    """The runs that ended (True) or are still going (False), waiting at most a moment."""
    piped = [r["fd"] for r in running if "fd" in r]
    ready = select.select(piped, [], [], 0.2)[0] if piped else (time.sleep(0.2) or [])
    ended = {}
    for run in running:
        if "proc" in run:
            ended[id(run)] = run["proc"].poll() is not None
        elif run["fd"] in ready:
            chunk = os.read(run["fd"], 1 << 16)
            run["data"] += chunk
            ended[id(run)] = not chunk
        else:
            ended[id(run)] = False
    return ended


def run_all(jobs, parallel=3, limit=30.0, tag="flowcamp-check"):
    """jobs: [{"key", "folder", "stop_first"}]. Returns {key: outcome}. Must run with no thread started."""
    import importlib

    for name in WARM:  # once, here, so that no child pays for it
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a child imports it again, or does without
            pass

    import gc

    gc.freeze()  # a child's garbage collections skip all of the above
    waiting, running, results = list(jobs), [], {}
    while waiting or running:
        while waiting and len(running) < parallel:
            running.append(_start(waiting.pop(0), tag))
        ended = _poll(running)
        now = time.monotonic()
        for run in list(running):
            late = not ended[id(run)] and now - run["started"] > limit
            if ended[id(run)] or late:
                results[run["key"]] = _finish(run, late)
                running.remove(run)
    return results


if __name__ == "__main__":  # where there is no fork: one run, its outcome written to a file
    _folder, _stop_first, _tag, _result = sys.argv[1:5]
    _outcome = _test(_folder, bool(_stop_first), _tag)
    with open(_result, "wb") as _f:
        _f.write(_outcome)
    os._exit(0)
