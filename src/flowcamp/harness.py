"""Runs an exercise's course checks (pytest files in ``checks/``) against a learner's folder.

The checks run in a child process with the plugin :mod:`flowcamp.checks.plugin`, no conftest files and a
time limit. The plugin writes one JSON line per check as it starts and ends, so a run stopped for taking
too long still says which checks had passed. Kinds that grade with pytest (code, git, prefect) call
:func:`run_pytest_checks`; what a check may do with the learner's code is up to the check helpers.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path

from flowcamp import proc, reaper, server, worker
from flowcamp.checks.plugin import run_options
from flowcamp.redact import redact, secret_values
from flowcamp.course import Exercise
from flowcamp.results import CheckResult, Result, Status, cap, overall_status
from flowcamp.workspace import Workspace

_PYTEST_MAIN = "import pytest; sys.exit(pytest.main(sys.argv[1:]))\n"

TIMEOUT_CHECK = ("Stopped after {limit:g} seconds. Your code may be stuck in a loop that never ends, or waiting "
                 "for something (input(), a network call, a lock on the warehouse).")
RUN_MESSAGES = {
    Status.PASS: "All checks passed.",
    Status.FAIL: "Some checks did not pass yet: read the messages above, change your files, and check again.",
    Status.ERROR: "A check could not finish; the messages above say why.",
    Status.TIMEOUT: "A check took too long.",
}


def check_env(ws: Workspace, ex: Exercise, tmp: Path, token: str, extra: dict[str, str] | None = None) -> dict:
    """The environment of the check process: where the learner's folder and the held-out data are."""
    return proc.child_env(
        pycache=ws.state_dir / "pycache",
        FLOWCAMP_EXERCISE=ex.id,
        FLOWCAMP_EXERCISE_SOURCE=str(ex.source_dir),
        FLOWCAMP_SEED=str(ws.seed),
        FLOWCAMP_CACHE=str(ws.state_dir / "cache"),
        FLOWCAMP_LEARNER_DIR=str(ws.exercise_dir(ex)),
        FLOWCAMP_HELDOUT_WAREHOUSE=str(ws.heldout_warehouse),
        FLOWCAMP_HELDOUT_SEED=str(ws.heldout_seed),
        FLOWCAMP_WAREHOUSE=str(tmp / "no-warehouse-outside-checks.duckdb"),
        # Every process of this run carries it, so one that escaped the run's process tree is still found.
        FLOWCAMP_RUN_TOKEN=token,
        # Only our plugin: third-party pytest plugins that happen to be installed cost start-up time.
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        **(extra or {}),
    )


def pytest_args(checks_dir: Path, tmp: Path) -> list[str]:
    """pytest's own arguments for a check run (the cold way prefixes the Python command)."""
    return [str(checks_dir), "-p", "flowcamp.checks.plugin", *run_options(tmp)]


def hidden_checks(ex: Exercise) -> Path | None:
    """Cohort grading: the instructor's hidden checks for ``ex`` (FLOWCAMP_HIDDEN_PACK/<exercise id>/), if any."""
    pack = os.environ.get("FLOWCAMP_HIDDEN_PACK")
    if not pack:
        return None
    folder = Path(pack) / ex.id
    return folder if folder.is_dir() and any(folder.glob("test_*.py")) else None


def run_pytest_checks(ws: Workspace, ex: Exercise, extra_env: dict[str, str] | None = None) -> Result:
    """Run the course's checks of ``ex`` on the learner's copy; every outcome becomes a Result."""
    if not ex.checks_dir.is_dir():
        return Result(ex.id, Status.ERROR, f"The course has no checks for {ex.id} (a course bug).")
    token = secrets.token_hex(16)
    hidden = hidden_checks(ex)
    with tempfile.TemporaryDirectory(prefix="flowcamp-check-") as tmp:
        tmp = Path(tmp)
        # Every check sees the workspace's Prefect settings, so one warm worker serves every kind.
        env = check_env(ws, ex, tmp, token, {**server.client_env(ws, server.server_url(ws)), **(extra_env or {}),
                                             **({"FLOWCAMP_HIDDEN_CHECKS": str(hidden)} if hidden else {})})
        args, cwd = pytest_args(ex.checks_dir, tmp), ws.exercise_dir(ex)
        if hidden:
            args.insert(1, str(hidden))
        try:
            proc.trace("harness: asking the worker")
            done = worker.run(ws, args, cwd, env, ex.time_limit)
            proc.trace(f"harness: worker {'answered' if done else 'not used'}")
            if done is None:
                done = proc.run_limited([*proc.python_code(_PYTEST_MAIN), *args], cwd=cwd, env=env,
                                        limit=ex.time_limit, channel_env="FLOWCAMP_RESULTS_FD")
                worker.start_in_background(ws, env)
        finally:
            reaper.kill_marked(f"FLOWCAMP_RUN_TOKEN={token}")
    result = collect(ex, _read_events(done.channel), done)
    if hidden and result.checks:  # the instructor's hidden checks add their points to the exercise's
        result.max_score = sum(c.max_points for c in result.checks)
    if hidden and not result.checks:  # its output could show an instructor's hidden check: the log keeps it
        print(f"{ex.id}: the checks could not start:\n{done.output[-4000:]}", flush=True)
        result.message = ("The checks could not start (one of the instructor's checks did not load). The "
                          "grader's log says why.")
    return redact_result(result, secret_values(env))


def redact_result(result: Result, secrets_: set[str]) -> Result:
    """The result with every secret value cut out of its messages and outputs."""
    result.message = redact(result.message, secrets_)
    for c in result.checks:
        c.message, c.output = redact(c.message, secrets_), redact(c.output, secrets_)
    return result


def _read_events(channel: bytes) -> list[dict]:
    events = []
    for line in channel.decode("utf-8", errors="replace").splitlines():
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    return events


def collect(ex: Exercise, events: list[dict], done: proc.Completed) -> Result:
    """Turn the plugin's events into a Result: finished checks, the one that timed out, and the ones not run."""
    collected: dict[str, dict] = {}
    finished: dict[str, dict] = {}
    running: str | None = None
    for ev in events:
        kind = ev.get("event")
        if kind == "collected":
            collected[ev["id"]] = ev
        elif kind == "start":
            running = ev["id"]
        elif kind == "result":
            finished[ev["id"]] = ev
    checks = [_check(ex, cid, info, finished.get(cid), done.timed_out and cid == running)
              for cid, info in collected.items()]
    if done.timed_out:
        return Result(ex.id, Status.TIMEOUT, f"The checks took longer than the {ex.time_limit:g} second limit and "
                                             "were stopped. Look for a loop that never ends or code that waits "
                                             "for input.", checks=checks)
    if not collected:
        return Result(ex.id, Status.ERROR, "The checks could not start. " + _tail(done.output), checks=checks)
    status = overall_status(checks)
    if done.code not in (0, 1) and status is Status.PASS:
        status = Status.ERROR
    return Result(ex.id, status, RUN_MESSAGES[status], checks=checks)


def _check(ex: Exercise, cid: str, info: dict, ev: dict | None, timed_out: bool) -> CheckResult:
    if ev is not None:
        return CheckResult(name=ev["name"], status=ev["status"], message=ev.get("message", ""),
                           max_points=ev["max_points"], output=ev.get("output", ""),
                           visibility=info.get("visibility", "visible"), heldout=bool(info.get("heldout")))
    if timed_out:
        return CheckResult(name=info["name"], status=Status.TIMEOUT, max_points=info["max_points"],
                           message=TIMEOUT_CHECK.format(limit=ex.time_limit),
                           visibility=info.get("visibility", "visible"), heldout=bool(info.get("heldout")))
    return CheckResult(name=info["name"], status=Status.SKIPPED, max_points=info["max_points"],
                       message="Not run: the run stopped before this check.",
                       visibility=info.get("visibility", "visible"), heldout=bool(info.get("heldout")))


def _tail(output: str, lines: int = 15) -> str:
    return cap("\n".join(output.strip().splitlines()[-lines:]), 1500)
