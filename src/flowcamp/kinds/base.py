"""The one interface every exercise kind implements. A kind is chosen once, from ``exercise.toml``'s ``kind``.

Adding a kind: a new file in this package with a subclass of :class:`Kind`, registered in ``__init__.py``.
See docs/authoring.md, "Adding a kind".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable, ClassVar

from flowcamp.course import Exercise
from flowcamp.results import Result, Status
from flowcamp.workspace import Workspace

OnWait = Callable[[str], None]  # progress text while something slow (a server start) happens


class Kind:
    """What a kind does: validate its exercises, look at a learner's files before grading, grade, and apply
    a reference solution. Grading goes through a runner that keeps the learner's code out of the process that
    decides the verdict (``flowcamp.harness``), never by importing learner code here."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line for the site: what the learner does in this kind of exercise
    needs_server: ClassVar[bool] = False  # the checks talk to the workspace's Prefect server
    slow: ClassVar[bool] = False  # a check starts Prefect or Jupyter: the project's tests mark these slow
    nothing_to_edit: ClassVar[str] = "none"  # the site's words for an exercise with no files to edit

    # ---------------------------------------------------------------------------------- course side
    def problems(self, ex: Exercise) -> list[str]:
        """Kind-specific problems with an exercise's files (the rest: ``Course.problems``)."""
        if not list(ex.checks_dir.glob("test_*.py")):
            return ["checks/ has no test_*.py files"]
        return []

    def slow_problems(self, ex: Exercise) -> list[str]:
        """Problems that take a while to find (``flowcamp dev check`` only)."""
        return []

    def regenerate_starter(self, ex: Exercise) -> Path:
        raise NotImplementedError(f"{self.name} exercises have no generated starter")

    can_regenerate_starter: ClassVar[bool] = False

    # --------------------------------------------------------------------------------- learner side
    def preflight(self, ws: Workspace, ex: Exercise) -> Result | None:
        """Problems found before running anything: a missing folder or file, a file Python cannot read."""
        d = ws.exercise_dir(ex)
        if not d.is_dir():
            return Result(ex.id, Status.ERROR, f"The folder {ex.path}/ is missing from your workspace. "
                                               f"Run `uv run flowcamp reset {ex.id}` to bring the exercise back.")
        for name in ex.files:
            problem = missing_file(ex, d, name) or self.file_problem(ex, d / name)
            if problem:
                return Result(ex.id, Status.ERROR, problem)
        return None

    def file_problem(self, ex: Exercise, path: Path) -> str | None:
        """What stops a learner's file from being read at all (None if it can be read)."""
        return None

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        raise NotImplementedError

    def next_step(self, ws: Workspace, ex: Exercise, rel: Callable[[Path], str]) -> str:
        """What the learner does before checking again, e.g. 'change settings.py, save,'."""
        files = ", ".join(rel(ws.exercise_dir(ex) / f) for f in ex.files) or rel(ws.exercise_dir(ex))
        return f"change {files}, save,"

    # ------------------------------------------------------------------------------------ solutions
    def apply_solution(self, ws: Workspace, ex: Exercise, env: dict[str, str] | None = None) -> None:
        """Make the learner's copy equal to the reference solution, by the exercise's solution role."""
        dest = ws.exercise_dir(ex)
        if ex.solution == "script":
            run_script(ex.solution_script, dest, env)
            return
        for f in ex.files:
            shutil.copyfile(ex.solution_dir / f, dest / f)


def missing_file(ex: Exercise, folder: Path, name: str) -> str | None:
    if (folder / name).is_file():
        return None
    suffix = Path(name).suffix
    others = sorted(x.name for x in folder.iterdir() if x.is_file() and x.suffix == suffix)
    seen = f" I can see: {', '.join(others)}." if others else ""
    return (f"{ex.path}/{name} is missing.{seen} The checks need the file under exactly that name. "
            f"If you renamed it, rename it back; `uv run flowcamp reset {ex.id}` restores the starter "
            "(your current files are backed up first).")


def learner_preload(ex: Exercise, *kind_modules: str) -> dict[str, str]:
    """The environment that tells the learner processes' warm parent what to import before it forks: what
    learner files in this kind of exercise import, and what the exercise's ``preload`` adds."""
    return {"FLOWCAMP_LEARNER_PRELOAD": ",".join(dict.fromkeys((*kind_modules, *ex.preload)))}


def python_file_problem(path: Path) -> str | None:
    """A learner's .py file that Python cannot read: not UTF-8, a syntax error, null bytes."""
    name = path.name
    source = path.read_bytes()
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as e:
        line = source[: e.start].count(b"\n") + 1
        return (f"{name} is not saved as UTF-8 text (a strange character on line {line}). "
                "In your editor, choose 'Save with encoding' > UTF-8, then check again.")
    try:
        compile(source, str(path), "exec")
    except SyntaxError as e:
        line = (e.text or "").rstrip()
        pointer = f"\n    {line}" if line else ""
        return (f"Python cannot read {name}: {e.msg} on line {e.lineno}.{pointer}\n"
                "Fix that line (look just before it too: a missing bracket or quote often shows up "
                "on the next line), save, and check again.")
    except ValueError as e:  # e.g. null bytes
        return f"Python cannot read {name}: {e}."
    return None


def notebook_file_problem(ex: Exercise, path: Path) -> str | None:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except (ValueError, UnicodeDecodeError) as e:
        return (f"{path.name} is not a valid notebook any more ({e}). This happens when a notebook is "
                "edited as plain text or saved half-way. If you just made the change, undo it in your "
                f"editor. Otherwise `uv run flowcamp reset {ex.id}` gives you a fresh notebook; your "
                "broken one is kept in the workspace's .flowcamp/backups/ folder, so you can copy "
                "your answers back from it.")
    return None


def run_script(script: Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run a course shell script (a solution or an alternative) in an exercise folder."""
    done = subprocess.run(["bash", str(Path(script).resolve())], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
