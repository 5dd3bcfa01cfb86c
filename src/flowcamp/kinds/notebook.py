"""Notebook exercises: the learner fills in a Jupyter notebook; the course's checks grade its answers.

The course keeps the *source* notebook (solution regions, locked cells, the check cells with their hidden
parts) in ``solutions/``; learners get its *release* version, made by ``nbgrader generate_assignment``
(``flowcamp dev release``, and ``dev check`` says when it is out of date). That stays nbgrader's job, as
does grading a cohort (the instructors' route).

A learner's ``flowcamp check`` does not use nbgrader's autograde: its test cells run in the learner's own
kernel, where an answer cell can change what they read. The course's checks (``checks/test_*.py``) run
the notebook in a kernel of its own (:mod:`flowcamp.checks.notebook`), take its answers out as plain data,
and compare them, outside the kernel, with values they work out from the pristine held-out warehouse.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Exercise
from flowcamp.harness import run_pytest_checks
from flowcamp.kinds.base import Kind, notebook_file_problem
from flowcamp.results import Result, cap
from flowcamp.workspace import Workspace

_NBGRADER_MAIN = "from nbgrader.apps.nbgraderapp import main\nmain()\n"


class NotebookError(Exception):
    pass


def _config(root: Path, cell_timeout: float) -> str:
    return (
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = {('sqlite:///' + (root / 'gradebook.db').as_posix())!r}\n"
        f"c.Execute.timeout = {int(cell_timeout)}\n"
        "c.Execute.interrupt_on_timeout = True\n"
        "c.ClearSolutions.code_stub = {'python': '# YOUR CODE HERE\\nraise NotImplementedError()'}\n"
    )


def _jupyter_env(tmp: Path, pycache: Path | None = None) -> dict[str, str]:
    dirs = {var: str(tmp / sub) for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                                                  ("IPYTHONDIR", "ipython"), ("JUPYTER_RUNTIME_DIR", "runtime"))}
    return proc.child_env(pycache=pycache or tmp / "pycache", JUPYTER_PLATFORM_DIRS="1",
                          PYDEVD_DISABLE_FILE_VALIDATION="1", **dirs)


def _nbgrader(args: list[str], cwd: Path, env: dict, limit: float) -> proc.Completed:
    return proc.run_limited([*proc.python_code(_NBGRADER_MAIN), *args], cwd=cwd, env=env, limit=limit)


def source_notebook(ex: Exercise) -> Path:
    if len(ex.files) != 1 or not ex.files[0].endswith(".ipynb"):
        raise NotebookError(f"{ex.id}: a notebook exercise must list exactly one .ipynb in `files`")
    return ex.solution_dir / ex.files[0]


def generate_release(ex: Exercise, dest: Path | None = None) -> Path:
    """Run nbgrader generate_assignment on the source notebook; write the release notebook to dest."""
    src = source_notebook(ex)
    with tempfile.TemporaryDirectory(prefix="flowcamp-nbgrader-") as tmp:
        tmp = Path(tmp)
        course = tmp / "course"
        _make_course(course, ex, src)
        rel = course / "release" / ex.id / ex.files[0]
        dest = dest or (ex.source_dir / ex.files[0])
        shutil.copyfile(rel, dest)
        return dest


def _make_course(course: Path, ex: Exercise, src: Path) -> None:
    (course / "source" / ex.id).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, course / "source" / ex.id / ex.files[0])
    (course / "nbgrader_config.py").write_text(_config(course, ex.time_limit), encoding="utf-8")
    env = _jupyter_env(course / ".jupyter")
    done = _nbgrader(["generate_assignment", ex.id, "--force", "--create"], cwd=course, env=env, limit=120)
    if done.timed_out or done.code != 0:
        raise NotebookError(f"nbgrader generate_assignment failed for {ex.id}:\n{cap(done.output, 3000)}")


def release_problem(ex: Exercise) -> str | None:
    """None if the starter notebook is what nbgrader makes from the source notebook today."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate_release(ex, Path(tmp) / ex.files[0])
        if _cells(fresh) != _cells(ex.source_dir / ex.files[0]):
            return (f"exercises/{ex.path}/{ex.files[0]} is out of date with its source notebook: "
                    f"run `uv run flowcamp dev release {ex.id}`")
    return None


def _cells(path: Path) -> list[tuple[str, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(c["cell_type"], re.sub(r"\s+$", "", "".join(c["source"]))) for c in nb["cells"]]


class NotebookKind(Kind):
    name = "notebook"
    description = "notebook: you fill in a Jupyter notebook"
    slow = True
    can_regenerate_starter = True

    def problems(self, ex: Exercise) -> list[str]:
        if len(ex.files) != 1 or not ex.files[0].endswith(".ipynb"):
            return ["a notebook exercise must list exactly one .ipynb in files.edit"]
        if ex.solution != "files":
            return ["a notebook exercise's solution is its source notebook: files.solution = \"files\""]
        return super().problems(ex)  # checks/test_*.py, as for every kind graded by pytest

    def slow_problems(self, ex: Exercise) -> list[str]:
        note = release_problem(ex)
        return [note] if note else []

    def regenerate_starter(self, ex: Exercise) -> Path:
        return generate_release(ex)

    def file_problem(self, ex: Exercise, path: Path) -> str | None:
        return notebook_file_problem(ex, path)

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        # The check process loads flowcamp.checks.notebook as a plugin too: it starts the learner's kernel
        # before pytest collects the checks (the kernel's start is most of a notebook check's time).
        return run_pytest_checks(ws, ex, extra_env={"PYTEST_ADDOPTS": "-p flowcamp.checks.notebook"})
