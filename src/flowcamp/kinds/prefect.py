"""Prefect exercises: the learner writes a flow; checks run it on the workspace's Prefect server and read
what the Prefect API recorded."""

from __future__ import annotations

from pathlib import Path

import time

from flowcamp import server, tidy
from flowcamp.course import Exercise
from flowcamp.harness import run_pytest_checks
from flowcamp.kinds.base import Kind, learner_preload, python_file_problem
from flowcamp.results import Result, Status
from flowcamp.workspace import Workspace


class PrefectKind(Kind):
    name = "prefect"
    description = "prefect: you write a Prefect flow and run it"
    needs_server = True
    slow = True

    def file_problem(self, ex: Exercise, path: Path) -> str | None:
        return python_file_problem(path) if path.suffix == ".py" else None

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        if server_url is None:
            return Result(ex.id, Status.ERROR, "The local Prefect server is not running; "
                                               "`uv run flowcamp server start` starts it.")
        started = time.time()
        result = run_pytest_checks(ws, ex, extra_env={**server.client_env(ws, server_url),
                                                       **learner_preload(ex, "duckdb", "prefect")})
        # Earlier checks' flow runs go, in the background: this check's stay until the next one.
        tidy.in_background(f"{server_url}/api", started, ws.state_dir / "tidy.log", ws.state_dir)
        return result
