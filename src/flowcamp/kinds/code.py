"""Code exercises: the learner edits Python (or SQL) files; checks call their functions."""

from __future__ import annotations

from pathlib import Path

from flowcamp.course import Exercise
from flowcamp.harness import run_pytest_checks
from flowcamp.kinds.base import Kind, learner_preload, python_file_problem
from flowcamp.results import Result
from flowcamp.workspace import Workspace


class CodeKind(Kind):
    name = "code"
    description = "code: you edit Python or SQL files"

    def file_problem(self, ex: Exercise, path: Path) -> str | None:
        return python_file_problem(path) if path.suffix == ".py" else None

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        return run_pytest_checks(ws, ex, extra_env=learner_preload(ex, "duckdb"))
