"""Git exercises: the learner works with git in repositories that prepare.py built (or that they make)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from flowcamp.course import Exercise
from flowcamp.harness import run_pytest_checks
from flowcamp.kinds.base import Kind
from flowcamp.results import Result
from flowcamp.workspace import Workspace


class GitKind(Kind):
    name = "git"
    description = "git: you work in a git repository"
    nothing_to_edit = "none: you work with git commands"

    def problems(self, ex: Exercise) -> list[str]:
        out = super().problems(ex)
        if not ex.repos:
            out.append("a git exercise must list its repository folders in files.repos")
        return out

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        return run_pytest_checks(ws, ex)

    def next_step(self, ws: Workspace, ex: Exercise, rel: Callable[[Path], str]) -> str:
        # Bare repositories (name.git) stand in for a remote: nobody works inside them.
        working = [r for r in ex.repos if not r.rstrip("/").endswith(".git")]
        where = ", ".join(rel(ws.exercise_dir(ex) / r) + "/" for r in working) or rel(ws.exercise_dir(ex))
        return f"work with git in {where}"
