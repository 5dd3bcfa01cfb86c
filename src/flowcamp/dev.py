"""Course integrity: every exercise is well formed, fails as shipped, and passes with its solution.

Used by `flowcamp dev check` and by the project's own tests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from flowcamp.course import Course, Exercise
from flowcamp.results import Result
from flowcamp.runner import run_check
from flowcamp.workspace import Workspace, _rmtree


def static_problems(ex: Exercise) -> list[str]:
    """What is wrong with an exercise's files, without running anything."""
    problems = []
    src, sol = ex.source_dir, ex.solution_dir
    if not (src / "README.md").is_file():
        problems.append("README.md (the instructions) is missing")
    if not ex.lesson_file.is_file():
        problems.append(f"its lesson docs/{ex.lesson} does not exist")
    elif ex.id not in ex.lesson_file.read_text(encoding="utf-8"):
        problems.append(f"its lesson docs/{ex.lesson} never mentions the exercise id '{ex.id}'")
    if len(ex.hints) < 2:
        problems.append("give at least two hints, from a nudge to nearly the answer")
    if ex.kind != "notebook" and not list(ex.checks_dir.glob("test_*.py")):
        problems.append("checks/ has no test_*.py files")
    if ex.kind == "git" and not ex.repos:
        problems.append("a git exercise must list its repository folders in `repos`")
    for f in ex.files:
        if not (src / f).is_file():
            problems.append(f"the starter file {f} listed in `files` is missing")
    if not sol.is_dir():
        problems.append(f"solutions/{ex.path}/ is missing")
        return problems
    sol_files = sorted(p.relative_to(sol).as_posix() for p in sol.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    expected = ["solution.sh"] if ex.kind == "git" else sorted(ex.files)
    if sol_files != expected:
        extra = sorted(set(sol_files) - set(expected))
        missing = sorted(set(expected) - set(sol_files))
        if extra:
            problems.append(f"solutions/{ex.path}/ has files the exercise does not: {', '.join(extra)}")
        if missing:
            problems.append(f"solutions/{ex.path}/ is missing: {', '.join(missing)}")
    return problems


def course_problems(course: Course) -> list[str]:
    """Problems that span exercises: stray solution folders."""
    problems = []
    known = {ex.path for ex in course.exercises}
    for d in sorted((course.root / "solutions").glob("*/*")):
        if d.is_dir() and d.relative_to(course.root / "solutions").as_posix() not in known:
            problems.append(f"solutions/{d.relative_to(course.root / 'solutions').as_posix()} has no exercise")
    return problems


def no_global_git_env(tmp: Path) -> dict[str, str]:
    """A git environment with no global or system configuration, as a new learner's machine has."""
    empty = tmp / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    return {"GIT_CONFIG_GLOBAL": str(empty), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


def apply_solution(ws: Workspace, ex: Exercise, env: dict[str, str] | None = None) -> None:
    """Make the learner's copy of an exercise equal to the reference solution."""
    dest = ws.exercise_dir(ex)
    if ex.kind == "git":
        script = ex.solution_dir / "solution.sh"
        proc = subprocess.run(["bash", str(script)], cwd=dest, capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"solution.sh of {ex.id} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")
        return
    for f in ex.files:
        shutil.copyfile(ex.solution_dir / f, dest / f)


def apply_alternative(ws: Workspace, ex: Exercise, alt_dir: Path, env: dict[str, str] | None = None) -> None:
    """An alternative answer: files that replace the starter's, or (git) a commands.sh run in the exercise."""
    dest = ws.exercise_dir(ex)
    for p in sorted(alt_dir.rglob("*")):
        rel = p.relative_to(alt_dir)
        if p.is_dir() or rel.as_posix() == "commands.sh" or "__pycache__" in rel.parts:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest / rel)
    script = alt_dir / "commands.sh"
    if script.is_file():
        proc = subprocess.run(["bash", str(script)], cwd=dest, capture_output=True, text=True,
                              env={**os.environ, **(env or {})}, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{script} failed:\n{proc.stdout[-1500:]}\n{proc.stderr[-1500:]}")


@dataclass
class Integrity:
    exercise: Exercise
    problems: list[str] = field(default_factory=list)
    starter: Result | None = None
    solution: Result | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_exercise(ws: Workspace, ex: Exercise, server_url: str | None = None,
                   env: dict[str, str] | None = None) -> Integrity:
    """Reset the exercise, check the starter (must not pass), apply the solution, check (must pass)."""
    rep = Integrity(ex, static_problems(ex))
    if rep.problems:
        return rep
    target = ws.exercise_dir(ex)
    if target.exists():
        _rmtree(target)
    ws._copy_starter(ex)
    rep.starter = run_check(ws, ex, server_url)
    if rep.starter.status == "pass":
        rep.problems.append("the starter already passes every check")
    elif rep.starter.status != "fail":
        rep.problems.append(f"the starter gives status '{rep.starter.status}' instead of 'fail': "
                            f"{rep.starter.message} {_first_bad(rep.starter)}")
    try:
        apply_solution(ws, ex, env)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        rep.problems.append(str(e))
        return rep
    rep.solution = run_check(ws, ex, server_url)
    if rep.solution.status != "pass":
        rep.problems.append(f"the solution does not pass ({rep.solution.status}): {rep.solution.message} "
                            f"{_first_bad(rep.solution)}")
    total = sum(c.max_points for c in rep.solution.checks)
    if rep.solution.checks and total != ex.points:
        rep.problems.append(f"exercise.toml says points = {ex.points}, but its checks add up to {total:g}")
    return rep


def _first_bad(result: Result) -> str:
    for c in result.checks:
        if c.status != "pass":
            return f"[{c.name}: {c.status}: {c.message}]"
    return ""


def notebook_release_problem(ex: Exercise) -> str | None:
    """None if the starter notebook is what nbgrader makes from the source notebook today."""
    from flowcamp.notebook import generate_release

    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_release(ex, Path(tmp) / ex.files[0])
        if _cells(fresh) != _cells(ex.source_dir / ex.files[0]):
            return (f"exercises/{ex.path}/{ex.files[0]} is out of date with its source notebook: "
                    f"run `flowcamp dev release {ex.id}`")
    return None


def _cells(path: Path) -> list[tuple[str, str]]:
    import json

    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], re.sub(r"\s+$", "", "".join(c["source"]))) for c in nb["cells"]]
