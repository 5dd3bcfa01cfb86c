"""`flowcamp check` handed to the warm worker (flowcamp.launch): the same output, exit status and progress as
the usual way, on the learner's own terminal; run the usual way whenever the worker cannot take it."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GOLDEN
from flowcamp import launch
from test_runtime import RIGHT, _alive, _wait_for_worker, worker_only

WRONG = "def add(a, b):\n    return a * b\n"
pytestmark = pytest.mark.xdist_group("launch")  # one warm worker (the `started` fixture) for the module


def test_only_plain_check_lines_are_handed_over():
    assert launch.handed_command(["check"]) == ("check", None)
    assert launch.handed_command(["check", "add", "--json"]) == ("check", None)
    assert launch.handed_command(["-w", "W", "check", "add"]) == ("check", "W")
    assert launch.handed_command(["check", "add", "--workspace=W"]) == ("check", "W")
    for argv in ([], ["watch"], ["list"], ["check", "a", "b"], ["check", "--help"], ["check", "--jsn"],
                 ["-w"], ["check", "-w"], ["--version"]):
        assert launch.handed_command(argv) == (None, None), argv


def _env(ws, trace: Path | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FLOWCAMP_WORKER", "FLOWCAMP_TRACE", "NO_COLOR")}
    env.update({"FLOWCAMP_COURSE": str(GOLDEN / "course"), "FLOWCAMP_WORKSPACE": str(ws.root), "CI": "true",
                "COLUMNS": "120", **extra})
    if trace is not None:
        env["FLOWCAMP_TRACE"] = str(trace)
    return env


def _flowcamp(*args: str, env: dict, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flowcamp", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def _same(text: str) -> str:
    """Output with the timings taken out (they differ from run to run)."""
    text = re.sub(r'"duration": [0-9.]+', '"duration": T', text)
    return re.sub(r"\d+\.\d+ s\b", "T s", text)


def _same_on_a_terminal(text: str) -> str:
    """Terminal output with the spinner's frames taken out (how many depends on how long the check took)."""
    return _same(re.sub(r"\x1b\[\?25l.*?\x1b\[\?25h", "(spinner)", text, flags=re.S))


def _handed(trace: Path) -> bool:
    return trace.exists() and "worker: command forked" in trace.read_text()


@pytest.fixture(scope="module")
def started(golden_course, tmp_path_factory):
    """A workspace of the golden course whose worker runs (the first check starts it), shared by this
    module's tests: a worker imports Prefect's server, seconds of a 2-core machine each time."""
    from flowcamp import services
    from flowcamp.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("launch") / "ws", golden_course)
    ws.init(seed=4242)
    ex = golden_course.get("add")
    calc = ws.exercise_dir(ex) / "calc.py"
    calc.write_text(RIGHT)
    first = _flowcamp("check", "add", env=_env(ws))
    assert first.returncode == 0, first.stdout + first.stderr
    _wait_for_worker(ws, timeout=120)  # slow on a loaded 2-core machine
    yield ws, ex, calc
    services.stop_services(ws)  # not held (with its memory) until the session ends


@pytest.fixture(autouse=True)
def _right_answer(request):
    """Each test starts from the right answer (the one before may have left another)."""
    if "started" in request.fixturenames:
        request.getfixturevalue("started")[2].write_text(RIGHT)


@worker_only
def test_a_handed_over_check_prints_and_exits_as_the_usual_way(started, tmp_path):
    ws, ex, calc = started
    for source, code in ((RIGHT, 0), (WRONG, 1)):
        calc.write_text(source)
        for args in (["check", "add", "--json"], ["check", "add"], ["check"]):
            trace = tmp_path / f"trace-{code}-{len(args)}"
            handed = _flowcamp(*args, env=_env(ws, trace, NO_COLOR="1"))
            usual = _flowcamp(*args, env=_env(ws, NO_COLOR="1", FLOWCAMP_WORKER="0"))
            assert _handed(trace), f"{args} was not handed to the worker"
            assert (handed.returncode, _same(handed.stdout), handed.stderr) == \
                   (usual.returncode, _same(usual.stdout), usual.stderr)
            if "add" in args:
                assert (usual.returncode, usual.stderr) == (code, "")
            if "--json" in args:
                assert json.loads(handed.stdout)["status"] == ("pass" if code == 0 else "fail")


@worker_only
def test_the_exercise_is_found_from_the_folder_the_terminal_is_in(started, tmp_path):
    ws, ex, calc = started
    trace = tmp_path / "trace"
    done = _flowcamp("check", "--json", env=_env(ws, trace, FLOWCAMP_WORKSPACE=""), cwd=calc.parent)
    assert _handed(trace)
    assert json.loads(done.stdout)["exercise"] == "add"


def _on_a_terminal(args: list[str], env: dict) -> tuple[int, str]:
    """Run `python -m flowcamp ARGS` with a terminal as its input and output: its exit status and what it showed."""
    primary, secondary = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "flowcamp", *args], stdin=secondary, stdout=secondary,
                         stderr=secondary, env={**env, "TERM": "xterm-256color"}, close_fds=True)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: every process holding it has ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    return p.wait(timeout=60), shown.decode("utf-8", errors="replace")


@worker_only
def test_on_a_terminal_the_handed_over_check_has_its_colours(started, tmp_path):
    ws, ex, calc = started
    calc.write_text(WRONG)
    trace = tmp_path / "trace"
    handed = _on_a_terminal(["check", "add"], _env(ws, trace))
    usual = _on_a_terminal(["check", "add"], _env(ws, FLOWCAMP_WORKER="0"))
    assert _handed(trace)
    assert "\x1b[" in handed[1], "no colours on a terminal"
    assert (handed[0], _same_on_a_terminal(handed[1])) == (usual[0], _same_on_a_terminal(usual[1]))


@worker_only
def test_ctrl_c_stops_the_handed_over_check_and_what_it_started(started, tmp_path):
    ws, ex, calc = started
    pid_file = tmp_path / "learner.pid"
    calc.write_text(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
                    + RIGHT)
    trace = tmp_path / "trace"
    p = subprocess.Popen([sys.executable, "-m", "flowcamp", "check", "add"], env=_env(ws, trace),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pid_file.exists() and _handed(trace)
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, out + err
    assert "Stopped before the check of add finished" in err
    learner = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(learner) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(learner), "the learner's code is still running after Ctrl+C"
    # The worker is free again: the next check is handed over and passes.
    calc.write_text(RIGHT)
    again = tmp_path / "again"
    assert _flowcamp("check", "add", env=_env(ws, again)).returncode == 0
    assert _handed(again)


@worker_only
def test_a_worker_of_other_code_refuses_and_the_check_runs_the_usual_way(started, tmp_path):
    ws, ex, calc = started
    info = json.loads((ws.state_dir / "worker.json").read_text())
    request = {**launch.request(["check", "add"]), "package": str(tmp_path / "another-flowcamp")}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(info["socket"])
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        answer = json.loads(sock.makefile().readline())
    assert answer == {"refused": True}
    # The worker goes on serving; with the worker turned off, the command does not try it at all.
    trace = tmp_path / "trace"
    off = _flowcamp("check", "add", "--json", env=_env(ws, trace, FLOWCAMP_WORKER="0"))
    assert off.returncode == 0 and not _handed(trace)
    on = tmp_path / "on"
    assert _flowcamp("check", "add", "--json", env=_env(ws, on)).returncode == 0 and _handed(on)


@worker_only
def test_a_second_check_at_once_waits_for_the_first_and_says_so(started, tmp_path):
    ws, ex, calc = started
    began = tmp_path / "began"
    calc.write_text(f"import time\nopen({str(began)!r}, 'w').close()\ntime.sleep(3)\n" + RIGHT)
    first = subprocess.Popen([sys.executable, "-m", "flowcamp", "check", "add", "--json"], env=_env(ws),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not began.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    trace = tmp_path / "trace"
    second = _flowcamp("check", "add", "--json", env=_env(ws, trace))
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0 and json.loads(out)["status"] == "pass", out + err
    assert second.returncode == 0 and json.loads(second.stdout)["status"] == "pass", second.stdout + second.stderr
    assert "another check of this workspace is running" in second.stderr
    assert _handed(trace)
