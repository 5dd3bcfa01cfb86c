"""Tidying the workspace's Prefect server after a check: the flow runs earlier checks left are deleted, in a
detached process, so no check waits for it (deleting a run and its task runs and logs takes the server a
moment; two runs took 2 s on a busy machine). A check's own runs stay until the next check, for a learner who
wants to read why a check's run failed. Plain HTTP: nothing here imports Prefect.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
from datetime import datetime
from pathlib import Path

from flowcamp import proc

CHECK_TAG = "flowcamp-check"  # every flow run a check starts carries it (and a name starting "check-")
# A run is deleted only when it ended this long ago: another check of the same workspace (or of a grader's
# server) may still be reading its own runs, and a learner may want to open the last ones in the web UI.
MIN_AGE = 300.0
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


def _time(value) -> float | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def to_forget(runs: list[dict], before: float, now: float, min_age: float = MIN_AGE) -> list[str]:
    """The ids of the check runs to delete: created before ``before``, finished, and ended ``min_age`` ago."""
    out = []
    for run in runs:
        created, ended = _time(run.get("created")), _time(run.get("end_time"))
        state = (run.get("state") or {}).get("type")
        if created is None or ended is None or CHECK_TAG not in (run.get("tags") or []):
            continue
        if created < before and state in FINAL and ended <= now - min_age:
            out.append(str(run["id"]))
    return out


def _call(method: str, url: str, body: dict | None = None, timeout: float = 10.0):
    import urllib.request  # here: importing it costs 20 ms, and a code or git check never talks to the server

    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        data = resp.read()
    return json.loads(data) if data else None


def forget_check_runs(api_url: str, before: float) -> int:
    """Delete the check runs :func:`to_forget` picks (created before ``before``, a Unix time). Returns how many."""
    import http.client  # for the except clauses below (urllib.request, imported by _call, loads it anyway)

    try:
        runs = _call("POST", f"{api_url}/flow_runs/filter",
                     {"flow_runs": {"tags": {"all_": [CHECK_TAG]}}, "limit": 200}) or []
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
        return 0
    deleted = 0
    for run_id in to_forget(runs, before, time.time()):
        try:
            _call("DELETE", f"{api_url}/flow_runs/{run_id}")
            deleted += 1
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException):
            pass
    return deleted


def in_background(api_url: str, before: float, log: Path, cwd: Path) -> None:
    """Start :func:`forget_check_runs` in a detached process and return at once."""
    code = "from flowcamp.tidy import main\nmain(sys.argv[1], float(sys.argv[2]))\n"
    try:
        proc.start_detached(proc.python_code(code) + [api_url, repr(before)], env=proc.child_env(), log=log, cwd=cwd)
    except OSError:
        pass


def main(api_url: str, before: float) -> None:
    print(f"deleted {forget_check_runs(api_url, before)} earlier check run(s)", file=sys.stderr)
