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


def _all_done(cli) -> None:
    from flowcamp.course import Course
    from flowcamp.workspace import Workspace

    course = Course(COURSE_DIR)
    ws = Workspace(cli.ws, course)
    for ex in course.exercises:
        ws.record_result(ex, "pass", ex.points, ex.points)


def test_every_exercise_done_is_not_an_error(ready):
    """With nothing current, check/watch/hint/solution say so on stdout, name an id to pass, and exit 0;
    check --json answers with the 'done' document docs/cli.md shows."""
    cli = ready
    _all_done(cli)
    last = json.loads(cli("list", "--json").stdout)[-1]["id"]
    out = cli("check", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["version"] == 1 and doc["exercise"] is None and doc["status"] == "done"
    assert f"uv run flowcamp check {last}" in doc["message"]
    for command in ("check", "watch", "hint", "solution"):
        out = cli(command)
        said = " ".join(out.stdout.split())
        assert out.returncode == 0, (command, out.stdout, out.stderr)
        assert "Every exercise is done" in said and f"`uv run flowcamp {command} {last}`" in said, (command, said)
        assert "Error" not in out.stdout + out.stderr, (command, out.stderr)


def test_solution_defaults_to_the_current_exercise(ready):
    cli = ready
    out = cli("solution")
    assert out.returncode == 1 and "solution of add opens once" in " ".join(out.stderr.split()), out.stderr


def test_cli_md_shows_the_all_done_json_as_printed(ready):
    """The 'done' document in docs/cli.md has the fields and status the command prints."""
    import re

    from conftest import ROOT

    cli = ready
    _all_done(cli)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text.split("### `flowcamp check --json` when every exercise is done", 1)[1]
    documented = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    printed = json.loads(cli("check", "--json").stdout)
    assert documented.keys() == printed.keys()
    assert {k: documented[k] for k in ("version", "exercise", "status")} == \
           {k: printed[k] for k in ("version", "exercise", "status")}


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


def _fresh_terminal_env(tmp_path) -> dict:
    """The environment of a new terminal: no virtual environment active, so `flowcamp` is not on PATH."""
    venv = os.environ.get("VIRTUAL_ENV")
    bins = {os.path.dirname(sys.executable)} | ({os.path.join(venv, "bin"), os.path.join(venv, "Scripts")}
                                                 if venv else set())
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in bins)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT", "UV_PROJECT_ENVIRONMENT",
                                                            "FLOWCAMP_COURSE", "FLOWCAMP_WORKSPACE")}
    return {**env, "PATH": path, "CI": "true", "NO_COLOR": "1", "UV_NO_PROGRESS": "1",
            "UV_CACHE_DIR": str(tmp_path / "uv-cache")}


@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv on PATH")
def test_setup_md_quotes_what_uv_run_flowcamp_prints_outside_the_course_folder(tmp_path):
    """docs/setup.md's troubleshooting box quotes the error of `uv run flowcamp` run outside the course folder:
    the quoted lines are what the command prints there."""
    import re

    from conftest import ROOT

    text = (ROOT / "docs" / "setup.md").read_text(encoding="utf-8")
    box = text.split('??? question "`uv run flowcamp` prints `error: Failed to spawn: flowcamp`"', 1)
    assert len(box) == 2, "the troubleshooting box about `uv run flowcamp` outside the course folder is missing"
    quoted = re.search(r"```output\n(.*?)\n\s*```", box[1], re.S)
    assert quoted, "the box quotes no error text (an ```output block)"
    lines = [line.strip() for line in quoted.group(1).splitlines() if line.strip()]
    elsewhere = tmp_path / "Documents"
    elsewhere.mkdir()
    done = subprocess.run([shutil.which("uv"), "run", "flowcamp"], cwd=elsewhere, capture_output=True, text=True,
                          env=_fresh_terminal_env(tmp_path), timeout=120)
    printed = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert done.returncode != 0, printed
    assert lines and lines == printed, f"docs/setup.md quotes {lines}, but `uv run flowcamp` printed {printed}"
