"""The course on disk: where it is, and the exercises it holds.

An exercise is a folder ``exercises/NN-module/NN-topic/`` with an ``exercise.toml``.
Its solution lives at the same relative path under ``solutions/``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

KINDS = ("code", "git", "notebook", "prefect")
# Files and folders of an exercise that stay in the course and never reach a workspace.
COURSE_ONLY = ("exercise.toml", "checks", "prepare.py", "__pycache__")
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FOLDER_RE = re.compile(r"^\d\d-[a-z0-9-]+$")


class CourseError(Exception):
    """The course itself is broken (a course author's mistake, not a learner's)."""


def find_course_root() -> Path:
    """The folder that holds ``exercises/``: $FLOWCAMP_COURSE, else the repository this package sits in."""
    env = os.environ.get("FLOWCAMP_COURSE")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += list(here.parents)
    candidates.append(Path.cwd())
    for cand in candidates:
        if (cand / "exercises").is_dir() and (cand / "pyproject.toml").is_file():
            return cand
    raise CourseError(
        "Could not find the flowcamp course (a folder with exercises/ and pyproject.toml). "
        "Run flowcamp from inside the course folder you cloned, or set FLOWCAMP_COURSE to it."
    )


def module_title(folder: str) -> str:
    """'01-version-control' -> 'Version control'."""
    words = folder.split("-", 1)[-1].replace("-", " ")
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    kind: str
    lesson: str
    points: int
    time_limit: float
    files: tuple[str, ...]
    hints: tuple[str, ...]
    repos: tuple[str, ...]
    path: str  # e.g. "02-python-scripts/01-environment-variables" (same under exercises/, solutions/, workspace)
    course_root: Path = field(compare=False, repr=False)

    @property
    def module(self) -> str:
        return self.path.split("/")[0]

    @property
    def module_title(self) -> str:
        return module_title(self.module)

    @property
    def source_dir(self) -> Path:
        return self.course_root / "exercises" / self.path

    @property
    def solution_dir(self) -> Path:
        return self.course_root / "solutions" / self.path

    @property
    def checks_dir(self) -> Path:
        return self.source_dir / "checks"

    @property
    def lesson_file(self) -> Path:
        return self.course_root / "docs" / self.lesson

    @property
    def prepare_script(self) -> Path | None:
        p = self.source_dir / "prepare.py"
        return p if p.is_file() else None

    def starter_files(self) -> list[Path]:
        """Every file copied to a workspace, relative to the exercise folder."""
        out = []
        for p in sorted(self.source_dir.rglob("*")):
            rel = p.relative_to(self.source_dir)
            if rel.parts[0] in COURSE_ONLY or "__pycache__" in rel.parts or not p.is_file():
                continue
            out.append(rel)
        return out

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "module": self.module,
            "title": self.title,
            "kind": self.kind,
            "path": self.path,
            "lesson": self.lesson,
            "points": self.points,
        }


def _load_exercise(toml_path: Path, course_root: Path) -> Exercise:
    rel = toml_path.parent.relative_to(course_root / "exercises").as_posix()
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CourseError(f"{toml_path}: not valid TOML: {e}") from None
    problems = []
    for key, typ in [("id", str), ("title", str), ("kind", str), ("lesson", str), ("points", int)]:
        if not isinstance(data.get(key), typ):
            problems.append(f"'{key}' must be a {typ.__name__}")
    if data.get("kind") not in KINDS:
        problems.append(f"'kind' must be one of {', '.join(KINDS)}")
    if isinstance(data.get("id"), str) and not _ID_RE.match(data["id"]):
        problems.append("'id' must be short kebab-case, like 'env-settings'")
    files = data.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        problems.append("'files' must be a list of file names")
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not hints or not all(isinstance(h, str) and h.strip() for h in hints):
        problems.append("'hints' must be a non-empty list of strings")
    tl = data.get("time_limit", 30)
    if not isinstance(tl, (int, float)) or tl <= 0:
        problems.append("'time_limit' must be a positive number of seconds")
    if problems:
        raise CourseError(f"{toml_path}: " + "; ".join(problems))
    return Exercise(
        id=data["id"],
        title=data["title"],
        kind=data["kind"],
        lesson=data["lesson"],
        points=data["points"],
        time_limit=float(tl),
        files=tuple(files),
        hints=tuple(hints),
        repos=tuple(data.get("repos", [])),
        path=rel,
        course_root=course_root,
    )


class Course:
    def __init__(self, root: Path | None = None):
        self.root = (root or find_course_root()).resolve()

    @cached_property
    def exercises(self) -> list[Exercise]:
        base = self.root / "exercises"
        out = []
        for toml_path in sorted(base.glob("*/*/exercise.toml")):
            if not _FOLDER_RE.match(toml_path.parent.name) or not _FOLDER_RE.match(toml_path.parent.parent.name):
                raise CourseError(f"{toml_path.parent}: folders must be named NN-topic, like 01-first-flow")
            out.append(_load_exercise(toml_path, self.root))
        seen: dict[str, str] = {}
        for ex in out:
            if ex.id in seen:
                raise CourseError(f"Two exercises share the id '{ex.id}': {seen[ex.id]} and {ex.path}")
            seen[ex.id] = ex.path
        return out

    def get(self, key: str) -> Exercise:
        """Find an exercise by id, by path, or by its number like '02/01'."""
        key = key.strip().strip("/")
        for ex in self.exercises:
            if key in (ex.id, ex.path):
                return ex
        matches = [ex for ex in self.exercises if ex.path.endswith(key) or ex.path.startswith(key)]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(ex.id for ex in self.exercises)
        raise KeyError(f"There is no exercise called '{key}'. Exercises: {known}. Run `uv run flowcamp list` to see them all.")
