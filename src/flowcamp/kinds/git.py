"""Git exercises: the learner works with git in repositories that prepare.py built (or that they make)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from flowcamp.course import Exercise
from flowcamp.harness import run_pytest_checks
from flowcamp.kinds import walkthrough
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
        text = self._walkthrough(ex)
        if text is not None:
            out += [f"solutions/{ex.path}/solution.sh: {p}" for p in walkthrough.problems(text)]
        return out

    @staticmethod
    def _walkthrough(ex: Exercise) -> str | None:
        """The solution's text when it is a walk-through (see flowcamp.kinds.walkthrough), else None."""
        if ex.solution != "script" or not ex.solution_script.is_file():
            return None
        text = ex.solution_script.read_text(encoding="utf-8")
        return text if walkthrough.is_walkthrough(text) else None

    def apply_solution(self, ws: Workspace, ex: Exercise, env: dict[str, str] | None = None) -> None:
        """A walk-through runs step by step, as a learner types it; an older plain script runs with bash."""
        text = self._walkthrough(ex)
        if text is None:
            super().apply_solution(ws, ex, env)
            return
        try:
            walkthrough.run(text, ws.exercise_dir(ex), {**self._warehouse_env(ws), **(env or {})})
        except walkthrough.WalkthroughError as e:
            raise RuntimeError(f"solutions/{ex.path}/solution.sh: {e}") from None

    @staticmethod
    def _warehouse_env(ws: Workspace) -> dict[str, str]:
        """A script the walk-through runs (the bisect test of one-character) reads the learner's warehouse, as
        the learner's would. A throwaway workspace (dev check, tests) may have only the held-out one: the
        scripts only read it."""
        if not ws.warehouse_path.is_file() and not ws.heldout_warehouse.is_file():
            from flowcamp import warehouse

            warehouse.ensure(ws.warehouse_path)
        found = ws.warehouse_path if ws.warehouse_path.is_file() else ws.heldout_warehouse
        return {"FLOWCAMP_WAREHOUSE": str(found)}

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        return run_pytest_checks(ws, ex)

    def next_step(self, ws: Workspace, ex: Exercise, rel: Callable[[Path], str]) -> str:
        # Bare repositories (name.git) stand in for a remote: nobody works inside them.
        working = [r for r in ex.repos if not r.rstrip("/").endswith(".git")]
        where = ", ".join(rel(ws.exercise_dir(ex) / r) + "/" for r in working) or rel(ws.exercise_dir(ex))
        return f"work with git in {where}"
