"""The nbgrader route: the course's notebook exercises as a standard nbgrader course, graded with nbgrader's own
commands beside ``flowcamp grade`` (docs/nbgrader-route.md).

``build_course`` writes ``nbgrader_config.py``, ``source/<exercise id>/<notebook>`` (each exercise's source
notebook, its test cells first matched with the exercise's flowcamp checks: same names, same points, hidden
tests) and ``data/warehouse.duckdb`` (built by flowcamp, with a seed learners never had), and records what it
wrote in ``.flowcamp-nbgrader.json``: running it again updates its own files, never an instructor's edits
unasked, never nbgrader's own (gradebook.db, release/, submitted/, autograded/, feedback/).

``collect`` reads learners' submissions through :mod:`.intake` (which extracts them safely), puts each
learner's answer cells into the nbgrader version of the notebook at ``submitted/<student id>/<assignment>/``
and adds the students to nbgrader's gradebook. Nothing of a submission is run here.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flowcamp.course import Course, Exercise

COURSE_ID = "flowcamp"
STATE = ".flowcamp-nbgrader.json"
CONFIG = "nbgrader_config.py"
WAREHOUSE = "data/warehouse.duckdb"
_STUDENT_ID = re.compile(r"[^a-z0-9._@-]+")


class RouteError(Exception):
    """Something the instructor must fix first; the message says what and how."""


@dataclass
class Built:
    root: Path
    written: list[str] = field(default_factory=list)  # course-relative paths written (new or updated)
    unchanged: list[str] = field(default_factory=list)
    backed_up: list[str] = field(default_factory=list)  # instructor edits kept as copies (with --yes)
    assignments: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Placed:
    student_id: str
    assignment: str
    source: str  # the submission's label
    notes: list[str] = field(default_factory=list)


@dataclass
class Collected:
    placed: list[Placed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # plain-words lines: which source, what was wrong
    students: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ the exercises
def notebook_exercises(course: Course) -> list[Exercise]:
    from flowcamp.kinds import kind_of
    from flowcamp.kinds.notebook import NotebookKind

    return [ex for ex in course.exercises if isinstance(kind_of(ex), NotebookKind)]


def _nbg(cell: dict) -> dict:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg if isinstance(nbg, dict) else {}


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


@dataclass
class CheckSpec:
    name: str  # the check's name: its docstring's first line, the test cell's `# Check:` line
    points: float


def course_checks(ex: Exercise) -> list[CheckSpec]:
    """The exercise's flowcamp checks, read from checks/test_*.py without running them: each test's first
    docstring line (its name, as `flowcamp check` shows it) and its points (1 when it has no points mark)."""
    out = []
    for path in sorted(ex.checks_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            doc = (ast.get_docstring(node) or "").strip()
            name = doc.splitlines()[0].strip() if doc else node.name.removeprefix("test_").replace("_", " ").capitalize()
            marks = [d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call) and isinstance(
                d.func, ast.Attribute) and d.func.attr == "points" and d.args and isinstance(d.args[0], ast.Constant)]
            out.append(CheckSpec(name, marks[0] if marks else 1))
    return out


def notebook_checks(nb: dict) -> list[tuple[str, CheckSpec, bool]]:
    """(grade id, check, has hidden tests) for each autograded test cell, named by its `# Check:` first line."""
    out = []
    for cell in nb.get("cells", []):
        meta = _nbg(cell)
        if not meta.get("grade") or cell.get("cell_type") != "code":
            continue
        first = _text(cell).lstrip().splitlines()[0] if _text(cell).strip() else ""
        name = first.removeprefix("# Check:").strip() if first.startswith("# Check:") else ""
        out.append((str(meta.get("grade_id")), CheckSpec(name, meta.get("points", 0)),
                    "### BEGIN HIDDEN TESTS" in _text(cell)))
    return out


def agreement_problems(ex: Exercise, nb: dict) -> list[str]:
    """Why the notebook's test cells would not grade what the exercise's checks grade (empty: they agree)."""
    checks = {c.name: c for c in course_checks(ex)}
    cells = notebook_checks(nb)
    problems = [f"the check '{name}' has no test cell in the notebook" for name in checks
                if name not in {spec.name for _, spec, _ in cells}]
    for gid, spec, hidden in cells:
        if not spec.name:
            problems.append(f"test cell {gid} does not start with a '# Check: ...' line naming its check")
        elif spec.name not in checks:
            problems.append(f"test cell {gid} ('{spec.name}') has no check of that name in checks/")
        elif float(spec.points) != float(checks[spec.name].points):
            problems.append(f"test cell {gid} ('{spec.name}') is worth {spec.points} point(s); its check is worth "
                            f"{checks[spec.name].points}")
        if spec.name and not hidden:
            problems.append(f"test cell {gid} ('{spec.name}') has no ### BEGIN HIDDEN TESTS part: nbgrader would "
                            "only check the answer's shape")
    total = sum(float(s.points) for _, s, _ in cells)
    if not problems and total != float(ex.points):
        problems.append(f"the test cells add up to {total:g} points; exercise.toml says {ex.points}")
    return problems


def source_notebook(ex: Exercise) -> dict:
    """The nbgrader source notebook of a notebook exercise: its solution notebook, with every cell given an id
    (nbformat 4.5) and checked against the exercise's checks."""
    from flowcamp.kinds.notebook import source_notebook as path_of

    path = path_of(ex)
    nb = json.loads(path.read_text(encoding="utf-8"))
    problems = agreement_problems(ex, nb)
    if problems:
        raise RouteError(f"{ex.id}: the test cells of {path.relative_to(ex.course_root)} and the checks in "
                         f"{ex.checks_dir.relative_to(ex.course_root)} do not grade the same things: "
                         + "; ".join(problems) + ". Make them agree (docs/authoring.md, notebook kind), then run "
                         "this again.")
    nb = copy.deepcopy(nb)
    nb["nbformat"], nb["nbformat_minor"] = 4, max(5, int(nb.get("nbformat_minor", 5)))
    seen: set[str] = set()
    for i, cell in enumerate(nb["cells"]):
        cid = cell.get("id")
        if not isinstance(cid, str) or not cid or cid in seen:
            cid = hashlib.sha256(f"{ex.id}:{i}:{_text(cell)}".encode()).hexdigest()[:8]
            cell["id"] = cid
        seen.add(cid)
    return nb


def notebook_name(ex: Exercise) -> str:
    return Path(ex.files[0]).name


# ------------------------------------------------------------------------------------------ the course folder
def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _config_text(root: Path, time_limit: float) -> str:
    db = "sqlite:///" + (root / "gradebook.db").as_posix()
    return f'''# nbgrader's configuration for this course, written by `flowcamp nbgrader course`.
# Running that command again rewrites this file; it stops and asks for --yes first if you changed it.
import os

c = get_config()
c.CourseDirectory.root = {str(root)!r}
c.CourseDirectory.course_id = {COURSE_ID!r}
c.CourseDirectory.db_url = {db!r}
# A notebook cell that runs longer than this (seconds) is stopped, as `flowcamp grade` stops a notebook.
c.Execute.timeout = {int(time_limit)}
c.Execute.interrupt_on_timeout = True
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
# The notebooks find the warehouse through FLOWCAMP_WAREHOUSE. While nbgrader runs them it is this course's
# own warehouse (built by flowcamp with a seed learners never had), so numbers typed from a learner's screen
# do not pass.
os.environ["FLOWCAMP_WAREHOUSE"] = {str(root / WAREHOUSE)!r}
'''


def _read_state(root: Path) -> dict:
    try:
        data = json.loads((root / STATE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def build_course(course: Course, dest: Path, yes: bool = False, seed: int | None = None) -> Built:
    """Write or update the nbgrader course at ``dest`` (see the module's doc). Raises RouteError, before writing
    anything, when a file to write was changed by someone else and ``yes`` is False."""
    root = Path(dest).resolve()
    exercises = notebook_exercises(course)
    if not exercises:
        raise RouteError("This course has no notebook exercises, so there is nothing for nbgrader to grade.")
    if root.exists() and not root.is_dir():
        raise RouteError(f"{root} is a file. Give a folder (a new one, or the nbgrader course you made before).")
    state = _read_state(root)
    if not state and root.is_dir() and ((root / CONFIG).exists() or (root / "source").exists()) and not yes:
        raise RouteError(f"{root} already holds an nbgrader course that flowcamp did not make. Give another "
                         "folder, or run again with --yes to add flowcamp's assignments to it (the files flowcamp "
                         "would replace are kept as copies first; gradebook.db and submitted/ are never touched).")
    built = Built(root, assignments=[ex.id for ex in exercises])
    planned = {CONFIG: _config_text(root, max(ex.time_limit for ex in exercises)).encode("utf-8")}
    for ex in exercises:
        planned[f"source/{ex.id}/{notebook_name(ex)}"] = (json.dumps(source_notebook(ex), indent=1,
                                                                     ensure_ascii=False) + "\n").encode("utf-8")
    known = state.get("files") if isinstance(state.get("files"), dict) else {}
    conflicts = []
    for rel, data in planned.items():
        now = _sha((root / rel).read_bytes()) if (root / rel).is_file() else "not a file"
        if (root / rel).exists() and now != _sha(data) and now != known.get(rel):
            conflicts.append(rel)
    if conflicts and not yes:
        raise RouteError("These files were changed since flowcamp wrote them (by you, or by another tool): "
                         + ", ".join(conflicts) + f" (in {root}). Nothing was written. Run again with --yes to "
                         "replace them; your versions are kept beside them as copies ending in .before-flowcamp.")
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    for rel, data in planned.items():
        target = root / rel
        if target.is_file() and target.read_bytes() == data:
            built.unchanged.append(rel)
            continue
        if rel in conflicts:
            keep = target.with_name(f"{target.name}.{stamp}.before-flowcamp")
            shutil.move(target, keep) if target.is_dir() else shutil.copy2(target, keep)
            built.backed_up.append(keep.relative_to(root).as_posix())
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        built.written.append(rel)
    for old in sorted(set(known) - set(planned)):
        if (root / old).exists():
            built.notes.append(f"{old} is no longer one of the course's notebook exercises; it was left as it is.")
    seed = int(seed if seed is not None else state.get("seed") or random.SystemRandom().randint(10_000, 999_999))
    _warehouse(root / WAREHOUSE, seed)
    files = {**{k: v for k, v in known.items() if k not in planned}, **{r: _sha(d) for r, d in planned.items()}}
    new_state = {"format": 1, "course_id": COURSE_ID, "seed": seed, "files": files}
    (root / STATE).write_text(json.dumps(new_state, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return built


def _warehouse(path: Path, seed: int) -> Path:
    from flowcamp import warehouse as wh
    from flowcamp.warehouse.builder import LEARNER_SEED

    if seed == LEARNER_SEED:
        raise RouteError(f"The seed {seed} is the one every learner's own warehouse is built with: numbers read "
                         "off a learner's screen would pass. Choose another seed.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return wh.ensure(path, seed=seed)


# ------------------------------------------------------------------------------------------ a learner's notebook
class ShapeError(Exception):
    """A learner's notebook whose cells cannot be matched with the nbgrader version's."""


def student_id(key: str) -> str:
    """nbgrader's student id (a folder name): the gradebook's learner key, kept as it is when it is already
    safe (an email in lower case, a slug), else made safe."""
    sid = _STUDENT_ID.sub("-", key.strip().lower()).strip("-.")[:100]
    return sid or "anon-" + _sha(key.encode("utf-8", "surrogateescape"))[:8]


def _clean_cell(cell: dict, meta: dict | None, source: str) -> dict:
    kind = cell.get("cell_type")
    out = {"cell_type": kind, "id": cell.get("id"), "metadata": {}, "source": source}
    if meta:
        out["metadata"] = copy.deepcopy(meta)
    if kind == "code":
        out["execution_count"] = None
        out["outputs"] = []
    return out


def merge_answers(template: dict, learner: dict) -> tuple[dict, list[str]]:
    """The learner's notebook put in the shape of the nbgrader version (``template``): each cell nbgrader knows
    (by grade id, else by cell id) gets the template's metadata and, unless it is an answer cell, the template's
    text; the learner's own extra cells stay where they are, without nbgrader metadata; a locked or test cell
    the learner deleted is put back. Raises ShapeError when an answer cell is missing, doubled or moved."""
    if not isinstance(learner, dict) or not isinstance(learner.get("cells"), list):
        raise ShapeError("it is not a Jupyter notebook (no list of cells)")
    tcells = template["cells"]
    by_gid = {_nbg(c).get("grade_id"): i for i, c in enumerate(tcells) if _nbg(c).get("grade_id")}
    by_id = {c.get("id"): i for i, c in enumerate(tcells) if _nbg(c).get("grade_id") and c.get("id")}
    anchors: list[int | None] = []
    for cell in learner["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ShapeError("one of its cells is not a code, markdown or raw cell")
        if not isinstance(cell.get("source", ""), (str, list)):
            raise ShapeError("one of its cells has no readable text")
        gid = _nbg(cell).get("grade_id")
        at = by_gid.get(gid) if isinstance(gid, str) else None
        if at is None and isinstance(cell.get("id"), str):
            at = by_id.get(cell["id"])
        if at is not None and cell.get("cell_type") != tcells[at].get("cell_type"):
            raise ShapeError(f"the cell '{_nbg(tcells[at]).get('grade_id')}' was turned from a "
                             f"{tcells[at].get('cell_type')} cell into a {cell.get('cell_type')} cell")
        anchors.append(at)
    seen = [a for a in anchors if a is not None]
    for a in set(seen):
        if seen.count(a) > 1:
            raise ShapeError(f"the cell '{_nbg(tcells[a]).get('grade_id')}' appears {seen.count(a)} times")
    if seen != sorted(seen):
        raise ShapeError("its graded cells are not in the order of the exercise's notebook (cells were moved)")
    gone = [_nbg(c).get("grade_id") for i, c in enumerate(tcells) if _nbg(c).get("solution") and i not in seen]
    if gone:
        raise ShapeError(f"the answer cell '{gone[0]}' is gone (deleted, or its metadata removed)")
    notes, out, nxt = [], [], 0  # nxt: the next template cell not yet placed

    def put_back(upto: int) -> None:
        nonlocal nxt
        for j in range(nxt, upto):
            if _nbg(tcells[j]).get("grade_id") and j not in seen:
                out.append(_clean_cell(tcells[j], tcells[j].get("metadata"), _text(tcells[j])))
                notes.append(f"put back the deleted cell '{_nbg(tcells[j]).get('grade_id')}'")
        nxt = max(nxt, upto)

    for cell, at in zip(learner["cells"], anchors):
        if at is None:
            meta = {k: v for k, v in cell.get("metadata", {}).items() if k != "nbgrader"} \
                if isinstance(cell.get("metadata"), dict) else {}
            out.append(_clean_cell(cell, meta, _text(cell)))
            continue
        put_back(at)
        t = tcells[at]
        out.append(_clean_cell(t, t.get("metadata"), _text(cell) if _nbg(t).get("solution") else _text(t)))
        nxt = at + 1
    put_back(len(tcells))
    ids: set[str] = set()
    for i, cell in enumerate(out):
        if not isinstance(cell.get("id"), str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", cell["id"]) \
                or cell["id"] in ids:
            cell["id"] = hashlib.sha256(f"{i}:{cell['source']}".encode()).hexdigest()[:8]
        ids.add(cell["id"])
    return {"cells": out, "metadata": copy.deepcopy(template.get("metadata", {})), "nbformat": 4,
            "nbformat_minor": max(5, int(template.get("nbformat_minor", 5)))}, notes


# ------------------------------------------------------------------------------------------ collecting
def add_students(root: Path, students: dict[str, tuple[str, str]]) -> None:
    """Add or update students (id -> (name, email)) in the course's nbgrader gradebook."""
    here = str(Path(sys.executable).parent)  # nbgrader calls `alembic` by name: the one beside this Python
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + (root / "gradebook.db").as_posix(), COURSE_ID) as gb:
        for sid, (name, email) in sorted(students.items()):
            first, _, last = (name or "").strip().partition(" ")
            gb.update_or_create_student(sid, first_name=first or None, last_name=last or None, email=email or None)


def collect(course: Course, dest: Path, sources: list[str]) -> Collected:
    """Place each learner's newest notebook of each notebook exercise under ``dest/submitted`` and add the
    learners to nbgrader's gradebook. A bad submission, or a notebook that changed shape, is skipped with a
    message; nothing of a submission is run."""
    from flowcamp.grading.gradebook import learner_key, utc_iso
    from flowcamp.grading.intake import discover, open_source

    root = Path(dest).resolve()
    if not (root / STATE).is_file():
        raise RouteError(f"{root} is not an nbgrader course made by flowcamp. Make it first: "
                         f"`uv run flowcamp nbgrader course {dest}`.")
    exercises = notebook_exercises(course)
    found = discover(sources)
    if not found:
        raise RouteError("No submissions were given. Give the learners' .zip files, workspace folders, git "
                         "repositories, or a folder that holds them.")
    result = Collected()
    chosen: dict[tuple[str, str], tuple[str, dict, str, str, str]] = {}  # (sid, ex) -> (created, nb, ...)
    with tempfile.TemporaryDirectory(prefix="flowcamp-nbgrader-intake-") as tmp:
        for i, source in enumerate(found):
            sub = open_source(source, Path(tmp) / str(i), course)
            if not sub.ok:
                result.skipped.append(f"{sub.label}: {sub.message}")
                continue
            learner = sub.manifest.get("learner") if isinstance(sub.manifest.get("learner"), dict) else {}
            sid = student_id(learner_key(learner, sub.hash))
            name = learner.get("name") if isinstance(learner.get("name"), str) else ""
            email = learner.get("email") if isinstance(learner.get("email"), str) else ""
            created = utc_iso(sub.manifest.get("created")) or ""
            for ex in exercises:
                path = sub.root / "workspace" / ex.path / ex.files[0]
                if ex.id not in sub.exercises or not path.is_file() or path.is_symlink():
                    continue
                try:
                    nb = json.loads(path.read_bytes().decode("utf-8"))
                except (OSError, ValueError):
                    result.skipped.append(f"{sub.label}: {ex.files[0]} of {ex.id} is not a valid notebook (damaged, "
                                          "or not saved from Jupyter). Ask the learner to open it, save it, and "
                                          "submit again.")
                    continue
                key, mine = (sid, ex.id), (created, nb, name, email, sub.label)
                if key in chosen:  # the same learner twice: the newer counts
                    older, newer = sorted([chosen[key], mine], key=lambda c: c[0])
                    result.skipped.append(f"{older[4]}: {newer[4]} is a newer submission of {ex.id} by {sid}; that "
                                          "one is used.")
                    mine = newer
                chosen[key] = mine
    students: dict[str, tuple[str, str]] = {}
    for (sid, ex_id), (created, nb, name, email, label) in sorted(chosen.items()):
        ex = course.get(ex_id)
        try:
            # the template is what learners were given: the starter, nbgrader's release version of the source
            merged, notes = merge_answers(json.loads((ex.source_dir / ex.files[0]).read_text("utf-8")), nb)
        except ShapeError as why:
            result.skipped.append(f"{label}: its {ex.files[0]} ({ex_id}) was skipped: {why}. Grade it by hand, or "
                                  f"ask the learner to copy their answers into a fresh copy (`uv run flowcamp reset "
                                  f"{ex_id}`) and submit again.")
            continue
        folder = root / "submitted" / sid / ex_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / notebook_name(ex)
        target.write_text(json.dumps(merged, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if created:  # nbgrader reads when it was handed in from here (late penalties)
            (folder / "timestamp.txt").write_text(created + "\n", encoding="utf-8")
        students[sid] = (name, email)
        result.placed.append(Placed(sid, ex_id, label, notes))
    if students:
        add_students(root, students)
    result.students = sorted(students)
    return result
