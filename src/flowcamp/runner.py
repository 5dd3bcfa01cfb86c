"""Runs an exercise's checks against a learner's files and returns a :class:`Result`.

Code, git and Prefect exercises: pytest in a subprocess, with the course's own
checks, the plugin :mod:`flowcamp.checks.plugin`, no conftest files and a time
limit. Notebook exercises: nbgrader's autograder (:mod:`flowcamp.notebook`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flowcamp.course import Exercise
from flowcamp.results import CheckResult, Result, cap, overall_status
from flowcamp.workspace import Workspace

# Blocks a slow optional import that the Jupyter stack drags in (about 1 s on every `import prefect`):
# jsonschema falls back gracefully when it is missing. See docs/benchmarks.
FAST_IMPORTS = "import sys; sys.modules['rfc3987_syntax'] = None\n"
_PYTEST_MAIN = FAST_IMPORTS + "import pytest; sys.exit(pytest.main(sys.argv[1:]))\n"


def preflight(ws: Workspace, ex: Exercise) -> Result | None:
    """Problems found before running anything: a missing folder or file, a syntax error, a broken notebook."""
    d = ws.exercise_dir(ex)
    if not d.is_dir():
        return Result(ex.id, "error", f"The folder {ex.path}/ is missing from your workspace. "
                                      f"Run `uv run flowcamp reset {ex.id}` to bring the exercise back.")
    for name in ex.files:
        p = d / name
        if not p.is_file():
            others = sorted(x.name for x in d.iterdir() if x.is_file() and x.suffix == Path(name).suffix)
            seen = f" I can see: {', '.join(others)}." if others else ""
            return Result(ex.id, "error",
                          f"{ex.path}/{name} is missing.{seen} The checks need the file under exactly that name. "
                          f"If you renamed it, rename it back; `uv run flowcamp reset {ex.id}` restores the starter "
                          "(your current files are backed up first).")
        if p.suffix == ".py":
            try:
                source = p.read_bytes()
                try:
                    source.decode("utf-8")
                except UnicodeDecodeError as e:
                    line = source[: e.start].count(b"\n") + 1
                    return Result(ex.id, "error",
                                  f"{name} is not saved as UTF-8 text (a strange character on line {line}). "
                                  "In your editor, choose 'Save with encoding' > UTF-8, then check again.")
                compile(source, str(p), "exec")
            except SyntaxError as e:
                line = (e.text or "").rstrip()
                pointer = f"\n    {line}" if line else ""
                return Result(ex.id, "error",
                              f"Python cannot read {name}: {e.msg} on line {e.lineno}.{pointer}\n"
                              "Fix that line (look just before it too: a missing bracket or quote often shows up "
                              "on the next line), save, and check again.")
            except ValueError as e:  # e.g. null bytes
                return Result(ex.id, "error", f"Python cannot read {name}: {e}.")
        if p.suffix == ".ipynb":
            try:
                nb = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
                    raise ValueError("it has no list of cells")
            except (ValueError, UnicodeDecodeError) as e:
                return Result(ex.id, "error",
                              f"{name} is not a valid notebook any more ({e}). This happens when a notebook is "
                              "edited as plain text or saved half-way. If you just made the change, undo it in your "
                              f"editor. Otherwise `uv run flowcamp reset {ex.id}` gives you a fresh notebook; your "
                              "broken one is kept in the workspace's .flowcamp/backups/ folder, so you can copy "
                              "your answers back from it.")
    return None


def run_check(ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
    """Check one exercise. Never raises for a learner's mistake: every problem becomes a Result."""
    started = time.monotonic()
    result = preflight(ws, ex)
    if result is None:
        try:
            if ex.kind == "notebook":
                from flowcamp.notebook import run_notebook_check

                result = run_notebook_check(ws, ex)
            else:
                result = _run_pytest(ws, ex, server_url)
        except Exception as e:  # noqa: BLE001 - flowcamp's own failure: say so plainly
            result = Result(ex.id, "error", f"flowcamp could not run the checks: {type(e).__name__}: {e}. "
                                            "This is a flowcamp problem, not yours; please report it.")
    result.duration = time.monotonic() - started
    if result.max_score is None:
        result.max_score = ex.points
    return result


def check_env(ws: Workspace, ex: Exercise, results_file: Path, server_url: str | None) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({
        "FLOWCAMP_LEARNER_DIR": str(ws.exercise_dir(ex)),
        "FLOWCAMP_RESULTS": str(results_file),
        "FLOWCAMP_HELDOUT_WAREHOUSE": str(ws.heldout_warehouse),
        "FLOWCAMP_HELDOUT_SEED": str(ws.heldout_seed),
        "FLOWCAMP_WAREHOUSE": str(results_file.parent / "no-warehouse-outside-checks.duckdb"),
        # Bytecode goes to the workspace's cache, not beside the course's or the learner's files, and is
        # kept between checks even where PYTHONDONTWRITEBYTECODE is set (else Prefect is recompiled each time).
        "PYTHONPYCACHEPREFIX": str(ws.state_dir / "pycache"),
        # Only our plugin: third-party pytest plugins that happen to be installed cost start-up time.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONIOENCODING": "utf-8",
        "GIT_TERMINAL_PROMPT": "0",
    })
    if ex.kind == "prefect":
        from flowcamp.server import client_env

        env.update(client_env(ws, server_url))
    return env


def _run_pytest(ws: Workspace, ex: Exercise, server_url: str | None) -> Result:
    if not ex.checks_dir.is_dir():
        return Result(ex.id, "error", f"The course has no checks for {ex.id} (a course bug).")
    with tempfile.TemporaryDirectory(prefix="flowcamp-check-") as tmp:
        tmp = Path(tmp)
        results_file = tmp / "results.jsonl"
        ini = tmp / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [
            sys.executable, "-c", _PYTEST_MAIN,
            str(ex.checks_dir),
            "-c", str(ini), "--rootdir", str(tmp),
            "-p", "flowcamp.checks.plugin", "--noconftest", "--assert=plain",
            "-p", "no:cacheprovider", "--import-mode=importlib",
            "-q", "--no-header", "--tb=short", "-o", "console_output_style=classic",
            "--basetemp", str(tmp / "pytest-tmp"),
        ]
        env = check_env(ws, ex, results_file, server_url)
        timed_out, proc_out, code = _run_limited(args, cwd=ws.exercise_dir(ex), env=env, limit=ex.time_limit)
        return _collect(ex, results_file, timed_out, proc_out, code)


def _run_limited(args: list[str], cwd: Path, env: dict, limit: float) -> tuple[bool, str, int | None]:
    """Run a command with a time limit; on timeout, stop it and everything it started."""
    kwargs: dict = {}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    else:
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kwargs)
    try:
        out, _ = proc.communicate(timeout=limit)
        return False, out.decode("utf-8", errors="replace"), proc.returncode
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        out, _ = proc.communicate()
        return True, out.decode("utf-8", errors="replace"), None


def _kill_tree(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True)
    except (ProcessLookupError, PermissionError, OSError):
        proc.kill()


def _collect(ex: Exercise, results_file: Path, timed_out: bool, output: str, code: int | None) -> Result:
    collected: dict[str, dict] = {}
    finished: dict[str, dict] = {}
    running: str | None = None
    if results_file.exists():
        for line in results_file.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue
            if ev.get("event") == "collected":
                collected[ev["id"]] = ev
            elif ev.get("event") == "start":
                running = ev["id"]
            elif ev.get("event") == "result":
                finished[ev["id"]] = ev
    checks = []
    for cid, info in collected.items():
        if cid in finished:
            ev = finished[cid]
            checks.append(CheckResult(name=ev["name"], status=ev["status"], message=ev.get("message", ""),
                                      max_points=ev["max_points"], output=ev.get("output", "")))
        elif timed_out and cid == running:
            checks.append(CheckResult(
                name=info["name"], status="timeout", max_points=info["max_points"],
                message=f"Stopped after {ex.time_limit:g} seconds. Your code may be stuck in a loop that never "
                        "ends, or waiting for something (input(), a network call, a lock on the warehouse)."))
        else:
            checks.append(CheckResult(name=info["name"], status="skipped", max_points=info["max_points"],
                                      message="Not run: the run stopped before this check."))
    if timed_out:
        return Result(ex.id, "timeout", f"The checks took longer than the {ex.time_limit:g} second limit and were "
                                        "stopped. Look for a loop that never ends or code that waits for input.",
                      checks=checks)
    if not collected:
        return Result(ex.id, "error", "The checks could not start. " + _tail(output), checks=checks)
    status = overall_status(checks)
    if code not in (0, 1) and status == "pass":
        status = "error"
    messages = {"pass": "All checks passed.",
                "fail": "Some checks did not pass yet: read the messages above, change your files, and check again.",
                "error": "A check could not finish; the messages above say why.",
                "timeout": "A check took too long."}
    return Result(ex.id, status, messages[status], checks=checks)


def _tail(output: str, lines: int = 15) -> str:
    return cap("\n".join(output.strip().splitlines()[-lines:]), 1500)
