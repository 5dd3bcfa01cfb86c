"""The check runtime's promises, tried the way a determined learner would: learner code runs apart from the
verdict, nothing it starts outlives the check, a broken warm parent is not the learner's failure, the
no-fork path gives the same results, two checks at once both come out right, memory has a limit."""

from __future__ import annotations

import os
import threading
import time

import pytest

from flowcamp.results import Status
from flowcamp.runner import run_check


@pytest.fixture
def add_ws(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    return ws, golden_course.get("add"), ws.exercise_dir(golden_course.get("add")) / "calc.py"


RIGHT = "def add(a, b):\n    return a + b\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_process_that_left_its_session_does_not_outlive_the_check(add_ws, tmp_path):
    ws, ex, calc = add_ws
    pidfile = tmp_path / "escaped.pid"
    calc.write_text(
        "import subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n" + RIGHT)
    assert run_check(ws, ex).status is Status.PASS
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "a process the learner's code started is still running after the check"


def test_learner_code_that_kills_its_warm_parent_is_not_its_failure(add_ws, tmp_path):
    """The learner's code kills the process it was forked from (once): later loads start a fresh Python."""
    ws, ex, calc = add_ws
    marker = tmp_path / "killed-once"
    calc.write_text("import os, signal\n"
                    f"if not os.path.exists({str(marker)!r}):\n"
                    f"    open({str(marker)!r}, 'w').close()\n"
                    "    os.kill(os.getppid(), signal.SIGKILL)\n" + RIGHT)
    result = run_check(ws, ex)
    assert result.status is Status.PASS, result.to_json()


def test_without_fork_the_results_are_the_same(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    for source, status in ((RIGHT, Status.PASS), ("def add(a, b):\n    return a - b\n", Status.FAIL),
                           ("import sys\nsys.exit(3)\n", Status.FAIL)):
        calc.write_text(source)
        with_fork = run_check(ws, ex)
        monkeypatch.setenv("FLOWCAMP_NO_FORK", "1")
        without = run_check(ws, ex)
        monkeypatch.delenv("FLOWCAMP_NO_FORK")
        assert with_fork.status is without.status is status
        assert [(c.name, c.status, c.message) for c in with_fork.checks] == \
               [(c.name, c.status, c.message) for c in without.checks]


def test_two_checks_of_one_workspace_at_once(add_ws):
    ws, ex, calc = add_ws
    calc.write_text(RIGHT)
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_check(ws, ex))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == [Status.PASS, Status.PASS], [r.to_json() for r in results]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="memory is measured from /proc")
def test_too_much_memory_is_stopped_with_a_plain_message(add_ws, monkeypatch):
    ws, ex, calc = add_ws
    monkeypatch.setenv("FLOWCAMP_MEMORY_MB", "150")
    calc.write_text("import time\nblocks = []\nfor _ in range(60):\n    blocks.append(bytearray(10_000_000))\n"
                    "    time.sleep(0.02)\n" + RIGHT)
    result = run_check(ws, ex)
    assert result.status is Status.FAIL, result.to_json()
    assert "more than 150 MB" in result.checks[0].message
