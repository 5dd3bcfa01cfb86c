"""Notebook exercises, graded the nbgrader way, by nbgrader itself.

The course keeps the *source* notebook (solution regions, locked cells, hidden
tests) in ``solutions/``; learners get its *release* version, made by
``nbgrader generate_assignment``. To check a learner's notebook, flowcamp
keeps a small nbgrader course folder per exercise in the workspace (its
gradebook holds the locked cells, their checksums and the hidden tests),
submits the learner's notebook to it and runs ``nbgrader autograde``: locked
and test cells are restored from the gradebook, hidden tests put back, the
notebook run on the held-out warehouse, and each test cell scored.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

from flowcamp import proc
from flowcamp.course import Exercise
from flowcamp.kinds.base import Kind, notebook_file_problem
from flowcamp.results import CheckResult, Result, Status, cap, overall_status
from flowcamp.workspace import Workspace

STUDENT = "learner"
_NBGRADER_MAIN = "from nbgrader.apps.nbgraderapp import main\nmain()\n"
STARTUP_ALLOWANCE = 30.0  # seconds for nbgrader and the kernel to start, on top of the exercise's limit


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


def _gradebook(ws: Workspace, ex: Exercise) -> Path:
    """The workspace's nbgrader course folder for this exercise, rebuilt when the source notebook changes."""
    src = source_notebook(ex)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
    course = ws.state_dir / "nbgrader" / ex.id
    stamp = course / "source.sha256"
    if stamp.exists() and stamp.read_text() == digest and (course / "gradebook.db").exists():
        return course
    if course.exists():
        shutil.rmtree(course)
    course.mkdir(parents=True)
    _make_course(course, ex, src)
    stamp.write_text(digest)
    return course


def run_notebook_check(ws: Workspace, ex: Exercise) -> Result:
    from flowcamp import warehouse as wh

    course = _gradebook(ws, ex)
    nb_name = ex.files[0]
    for sub in ("submitted", "autograded", "feedback"):
        shutil.rmtree(course / sub / STUDENT, ignore_errors=True)
    sub_dir = course / "submitted" / STUDENT / ex.id
    sub_dir.mkdir(parents=True)
    shutil.copyfile(ws.exercise_dir(ex) / nb_name, sub_dir / nb_name)
    # Other files of the exercise (data the notebook reads) go beside it, as in the learner's folder.
    for rel in ex.starter_files():
        if rel.as_posix() != nb_name and (ws.exercise_dir(ex) / rel).is_file():
            (sub_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ws.exercise_dir(ex) / rel, sub_dir / rel)

    with tempfile.TemporaryDirectory(prefix="flowcamp-nb-") as tmp:
        tmp = Path(tmp)
        wh.ensure(ws.heldout_warehouse, seed=ws.heldout_seed)
        copy = tmp / "warehouse.duckdb"
        shutil.copyfile(ws.heldout_warehouse, copy)
        env = _jupyter_env(tmp, ws.state_dir / "pycache")
        env["FLOWCAMP_WAREHOUSE"] = str(copy)
        done = _nbgrader(["autograde", ex.id, "--force", "--create"], cwd=course, env=env,
                         limit=ex.time_limit + STARTUP_ALLOWANCE)
    timed_out, out = done.timed_out, done.output
    graded = course / "autograded" / STUDENT / ex.id / nb_name
    cell_timeout = "CellTimeoutError" in out or "Timeout waiting for" in out or "timed out" in out.lower()
    if timed_out or (cell_timeout and not graded.exists()):
        return Result(ex.id, Status.TIMEOUT, f"Your notebook took longer than {ex.time_limit:g} seconds to run and was "
                                        "stopped. Look for a loop that never ends, or a cell waiting for input().")
    if not graded.exists():
        return Result(ex.id, Status.ERROR, _explain_failure(out, ex))
    return _score(ex, json.loads(graded.read_text(encoding="utf-8")), cell_timeout)


def _explain_failure(out: str, ex: Exercise) -> str:
    if "has no cell with grade_id" in out or "missing" in out.lower() and "cell" in out.lower():
        return ("A cell that the checks need is missing from your notebook (did you delete a locked or test cell?). "
                f"Run `uv run flowcamp reset {ex.id}` to get the starter back (your version is backed up first), "
                "then copy your answers into it.")
    return ("nbgrader could not grade your notebook. The end of its output:\n" + cap(
        "\n".join(out.strip().splitlines()[-12:]), 1500))


def _cell_name(cell: dict) -> str:
    lines = "".join(cell.get("source", "")).splitlines()
    for line in lines:
        s = line.strip()
        if s.startswith("#") and not s.startswith("###"):
            text = s.lstrip("#").strip()
            if text.lower().startswith("check:"):
                return text[6:].strip()
    return cell["metadata"]["nbgrader"].get("grade_id", "test cell")


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _source_grade_cells(ex: Exercise) -> list[dict]:
    nb = json.loads(source_notebook(ex).read_text(encoding="utf-8"))
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code"
            and c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _score(ex: Exercise, nb: dict, cell_timeout: bool) -> Result:
    checks = []
    answer_error = None  # the error of the learner's latest answer cell, if it raised
    for index, cell in enumerate(nb.get("cells", []), 1):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and not meta.get("grade"):
            errs = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if errs:
                answer_error = (index, errs[0].get("ename", "Error"), errs[0].get("evalue", ""))
            elif meta.get("solution"):
                answer_error = None
            continue
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        points = meta.get("points", 0)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        out_text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream")
        if errors:
            e = errors[0]
            ename, evalue = e.get("ename", "Error"), e.get("evalue", "")
            if ename == "AssertionError" and evalue:
                msg = evalue
            elif ename == "NotImplementedError":
                msg = "This answer is not written yet: replace `raise NotImplementedError()` with your code."
            elif ename == "NameError":
                msg = (f"{evalue}. Run the cells above this one first, and keep the variable names the "
                       "notebook asks for.")
            elif ename in ("CellTimeoutError", "TimeoutError"):
                msg = "This cell took too long and was stopped."
            else:
                msg = f"{ename}: {evalue}"
            status = "timeout" if ename in ("CellTimeoutError",) else "fail"
            if answer_error is not None and answer_error[1] != "NotImplementedError":
                n, aname, avalue = answer_error
                if aname in ("CellTimeoutError", "KeyboardInterrupt"):
                    status = "timeout"
                    msg = (f"Cell {n} (your answer above this check) ran too long and was stopped. "
                           "Look for a loop that never ends.")
                else:
                    msg = (f"Cell {n}, your answer above this check, stopped with an error: {aname}: {avalue}\n"
                           "Fix that cell first (run it in your notebook to see the whole error).")
        elif stderr:
            status, msg = "fail", ("This cell wrote a warning or error to stderr, which nbgrader counts as a failure:\n"
                                   + "".join("".join(o.get("text", "")) for o in stderr))
        else:
            status, msg = "pass", ""
        checks.append(CheckResult(name=_cell_name(cell), status=status, message=msg, max_points=points,
                                  output=out_text))
        answer_error = None
    # Test cells the learner deleted are not put back by nbgrader: each one is a failed check.
    found = {_grade_id(c) for c in nb.get("cells", [])}
    for cell in _source_grade_cells(ex):
        if _grade_id(cell) not in found:
            checks.append(CheckResult(
                name=_cell_name(cell), status="fail", max_points=cell["metadata"]["nbgrader"].get("points", 0),
                message=f"This test cell ({_grade_id(cell)}) is missing from your notebook: it was deleted. "
                        f"Run `uv run flowcamp reset {ex.id}` for a fresh notebook (yours is backed up first) and copy "
                        "your answers into it."))
    if not checks:
        return Result(ex.id, Status.ERROR, "The graded notebook has no test cells (a course bug).")
    status = overall_status(checks)
    if cell_timeout and status != "pass":
        status = "timeout"
    msg = {"pass": "All checks passed.",
           "fail": "Some answers are not right yet: read the messages, change the notebook, save it, check again.",
           "timeout": "A cell took too long and was stopped.",
           "error": "A check could not finish."}[status]
    return Result(ex.id, status, msg, checks=checks)


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
        return []

    def slow_problems(self, ex: Exercise) -> list[str]:
        note = release_problem(ex)
        return [note] if note else []

    def regenerate_starter(self, ex: Exercise) -> Path:
        return generate_release(ex)

    def file_problem(self, ex: Exercise, path: Path) -> str | None:
        return notebook_file_problem(ex, path)

    def grade(self, ws: Workspace, ex: Exercise, server_url: str | None = None) -> Result:
        return run_notebook_check(ws, ex)
