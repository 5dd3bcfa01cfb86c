"""The curriculum proves itself: every exercise is well formed, fails as shipped and passes with its solution;
alternative answers (tests/alternatives/<id>/right-*|wrong-*) pass or fail as their names say.

``flowcamp dev check`` and the project's tests both use this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from flowcamp import server
from flowcamp.course import Course, Exercise
from flowcamp.kinds import kind_of
from flowcamp.kinds.base import run_script
from flowcamp.results import Result, Status
from flowcamp.runner import run_check
from flowcamp.workspace import Workspace

DEV_SEED = 4242
ALTERNATIVE_SCRIPT = "commands.sh"


def problems(course: Course) -> list[str]:
    """Everything wrong with the course that shows without running a check: the one validator."""
    out = course.problems()
    try:
        exercises = course.exercises
    except Exception:  # noqa: BLE001 - already listed by course.problems()
        return out
    for ex in exercises:
        out += [f"{ex.id}: {p}" for p in kind_of(ex).problems(ex)]
    return out


def no_global_git_env(tmp: Path) -> dict[str, str]:
    """A git environment with no global or system configuration, as a new learner's machine has."""
    empty = tmp / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    return {"GIT_CONFIG_GLOBAL": str(empty), "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}


@contextlib.contextmanager
def scoped_env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, and put the old ones back."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fresh_copy(ws: Workspace, ex: Exercise) -> None:
    """The exercise as a new learner gets it, whatever was in its folder before."""
    ws.clear_exercise(ex)
    ws.install_exercise(ex)


def apply_alternative(ws: Workspace, ex: Exercise, alt_dir: Path, env: dict[str, str] | None = None) -> None:
    """An alternative answer: files that replace the starter's, then (if there is one) a commands.sh run in
    the exercise folder."""
    dest = ws.exercise_dir(ex)
    for p in sorted(alt_dir.rglob("*")):
        rel = p.relative_to(alt_dir)
        if p.is_dir() or rel.as_posix() == ALTERNATIVE_SCRIPT or "__pycache__" in rel.parts:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest / rel)
    if (alt_dir / ALTERNATIVE_SCRIPT).is_file():
        run_script(alt_dir / ALTERNATIVE_SCRIPT, dest, env)


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
                   env: dict[str, str] | None = None, slow: bool = False) -> Integrity:
    """Reset the exercise, check the starter (must fail), apply the solution, check (must pass)."""
    kind = kind_of(ex)
    rep = Integrity(ex, [p for p in problems_of(ws.course, ex)] + kind.problems(ex))
    if rep.problems:
        return rep
    fresh_copy(ws, ex)
    rep.starter = run_check(ws, ex, server_url)
    if rep.starter.status is Status.PASS:
        rep.problems.append("the starter already passes every check")
    elif rep.starter.status is not Status.FAIL:
        rep.problems.append(f"the starter gives status '{rep.starter.status}' instead of 'fail': "
                            f"{rep.starter.message} {first_bad(rep.starter)}")
    try:
        kind.apply_solution(ws, ex, env)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        rep.problems.append(str(e))
        return rep
    rep.solution = run_check(ws, ex, server_url)
    if rep.solution.status is not Status.PASS:
        rep.problems.append(f"the solution does not pass ({rep.solution.status}): {rep.solution.message} "
                            f"{first_bad(rep.solution)}")
    total = sum(c.max_points for c in rep.solution.checks)
    if rep.solution.checks and total != ex.points:
        rep.problems.append(f"exercise.toml says points = {ex.points}, but its checks add up to {total:g}")
    if slow and rep.ok:
        rep.problems += kind.slow_problems(ex)
    return rep


def problems_of(course: Course, ex: Exercise) -> list[str]:
    """The course-level problems that name this exercise."""
    prefix = f"{ex.id}: "
    return [p[len(prefix):] for p in course.problems() if p.startswith(prefix)]


def first_bad(result: Result) -> str:
    for c in result.checks:
        if c.status is not Status.PASS:
            return f"[{c.name}: {c.status}: {c.message}]"
    return ""


@dataclass
class DevReport:
    course_problems: list[str]
    exercises: list[Integrity]

    @property
    def ok(self) -> bool:
        return not self.course_problems and all(r.ok for r in self.exercises)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "course": self.course_problems,
                "exercises": [{"exercise": r.exercise.id, "ok": r.ok, "problems": r.problems,
                               "starter": r.starter.status.value if r.starter else None,
                               "solution": r.solution.status.value if r.solution else None}
                              for r in self.exercises]}


def dev_check(course: Course, chosen: list[Exercise] | None = None,
              on_progress: Callable[[str], None] | None = None,
              on_done: Callable[[Integrity], None] | None = None) -> DevReport:
    """`flowcamp dev check`: the whole course (or the chosen exercises) in a throwaway workspace, as a new
    learner with no git configuration has it; a Prefect server of its own if any exercise needs one."""
    say = on_progress or (lambda _msg: None)
    report = DevReport(problems(course) if chosen is None else [], [])
    with tempfile.TemporaryDirectory(prefix="flowcamp-dev-", ignore_cleanup_errors=True) as tmp:
        env = no_global_git_env(Path(tmp))
        with scoped_env(env):
            ws = Workspace(Path(tmp) / "ws", course)
            ws.init(seed=DEV_SEED)
            url = None
            try:
                for ex in chosen if chosen is not None else course.exercises:
                    if kind_of(ex).needs_server and url is None:
                        say("Starting a Prefect server for the checks...")
                        url = server.start(ws)
                    say(f"{ex.id}: starter, then solution...")
                    rep = check_exercise(ws, ex, url, env, slow=True)
                    report.exercises.append(rep)
                    if on_done:
                        on_done(rep)
            finally:
                server.stop_everything(ws)  # the server, if one was started, and the warm check worker
    return report
