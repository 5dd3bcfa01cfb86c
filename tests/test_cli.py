"""The flowcamp command, as learners and instructors' scripts use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import GOLDEN

COURSE_DIR = GOLDEN / "course"


def _runner(ws):
    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "FLOWCAMP_COURSE": str(COURSE_DIR), "FLOWCAMP_WORKSPACE": str(ws), "CI": "true",
               "COLUMNS": "200", "NO_COLOR": "1"}
        return subprocess.run([sys.executable, "-m", "flowcamp.cli", *args], capture_output=True, text=True,
                              env=env, input=input, timeout=120)

    run.ws = ws
    return run


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One workspace made with `flowcamp init` (warehouse included), copied for each test."""
    ws = tmp_path_factory.mktemp("template") / "ws"
    out = _runner(ws)("init")
    assert out.returncode == 0, out.stderr
    return ws


@pytest.fixture
def cli(tmp_path):
    """Run `flowcamp ...` as a real command against the tiny golden course, with no terminal (as in CI)."""
    return _runner(tmp_path / "ws")


@pytest.fixture
def ready(cli, template):
    """Like cli, with its workspace already made."""
    shutil.copytree(template, cli.ws, symlinks=True)
    return cli


def test_first_run_welcomes_and_creates_the_workspace(cli):
    out = cli()
    assert out.returncode == 0, out.stderr
    assert "Welcome" in out.stdout and "add" in out.stdout
    assert (cli.ws / ".git").is_dir() and (cli.ws / "warehouse.duckdb").is_file()
    again = cli()
    assert "Welcome" not in again.stdout and "Progress: 0/4" in again.stdout


def test_list_json_contract(ready):
    cli = ready
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0] == {"id": "add", "module": "00-demo", "title": "Add two numbers", "kind": "code",
                       "path": "00-demo/01-add", "status": "todo"}
    assert [r["kind"] for r in rows] == ["code", "git", "prefect", "notebook"]
    for r in rows:
        assert (cli.ws / r["path"]).is_dir()


def test_check_json_and_exit_codes(ready):
    cli = ready
    out = cli("check", "add", "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["version"] == 1 and doc["status"] == "fail" and doc["max_score"] == 3
    (cli.ws / "00-demo/01-add/calc.py").write_text("def add(a, b):\n    return a + b\n")
    out = cli("check", "--json")  # the current exercise is the default
    assert out.returncode == 0 and json.loads(out.stdout)["status"] == "pass"
    listed = json.loads(cli("list", "--json").stdout)
    assert listed[0]["status"] == "done"


def test_check_error_exit_code_and_plain_output(ready):
    cli = ready
    (cli.ws / "00-demo/01-add/calc.py").write_text("def add(a, b)\n    return a + b\n")
    out = cli("check", "add")
    assert out.returncode == 2
    assert "line 1" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_workspace_flag_anywhere(cli, tmp_path):
    other = tmp_path / "elsewhere"
    out = cli("init", str(other))
    assert out.returncode == 0, out.stderr
    out = cli("list", "--json", "--workspace", str(other))
    assert out.returncode == 0 and json.loads(out.stdout)[0]["id"] == "add"


def test_unknown_exercise_names_the_real_ones(ready):
    cli = ready
    out = cli("check", "nope")
    assert out.returncode == 2 and "add" in out.stderr


def test_solution_opens_only_after_passing(ready):
    cli = ready
    out = cli("solution", "add")
    assert out.returncode == 1 and "hint" in out.stderr
    (cli.ws / "00-demo/01-add/calc.py").write_text("def add(a, b):\n    return b + a\n")
    assert cli("check", "add").returncode == 0
    out = cli("solution", "add")
    assert out.returncode == 0 and "return a + b" in out.stdout


def test_reset_needs_yes_without_a_terminal(ready):
    cli = ready
    f = cli.ws / "00-demo/01-add/calc.py"
    f.write_text("mine\n")
    out = cli("reset", "add")
    assert out.returncode == 2 and "--yes" in out.stderr
    assert f.read_text() == "mine\n"
    out = cli("reset", "add", "--yes")
    assert out.returncode == 0 and "backups" in out.stdout
    assert "NotImplementedError" in f.read_text()


def test_hints_then_all_hints(ready):
    cli = ready
    assert "Use +." in cli("hint").stdout
    assert "return a + b" in cli("hint", "add").stdout
    assert "all 2 hints" in cli("hint", "add").stdout


def test_no_workspace_gives_a_next_step(cli):
    out = cli("list", "--json")
    assert out.returncode == 2 and "uv run flowcamp" in out.stderr


@pytest.mark.parametrize("poll", [True, False], ids=["polling", "file-events"])
def test_watch_rechecks_on_save_and_stops_when_it_passes(ready, poll):
    cli = ready
    env = {**os.environ, "FLOWCAMP_COURSE": str(COURSE_DIR), "FLOWCAMP_WORKSPACE": str(cli.ws), "CI": "true",
           "COLUMNS": "200", "NO_COLOR": "1"}
    args = [sys.executable, "-m", "flowcamp.cli", "watch", "add", "--once"] + (["--poll"] if poll else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        import time

        deadline = time.monotonic() + 60
        target = cli.ws / "00-demo/01-add/calc.py"
        # Wait for the first (failing) check, then save a right answer.
        first = ""
        while "Watching" not in first and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            first += line
        assert "Watching" in first, first
        time.sleep(1.5)
        target.write_text("def add(a, b):\n    return a + b\n")
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, first + out
    assert "PASS" in out


def test_dev_check_proves_an_exercise_and_leaves_nothing_running():
    """`flowcamp dev check ID` in a throwaway workspace: ok, a JSON report, and no process of it left."""
    import subprocess
    import sys

    from conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "flowcamp.cli", "dev", "check", "check-loop", "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**__import__("os").environ, "FLOWCAMP_WORKER": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["ok"] and report["exercises"][0]["solution"] == "pass"
    import shutil

    if shutil.which("pgrep"):
        left = subprocess.run(["pgrep", "-f", "flowcamp-dev-"], capture_output=True, text=True).stdout.split()
        assert not left, f"dev check left processes running: {left}"
