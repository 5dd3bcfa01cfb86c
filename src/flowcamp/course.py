"""The course on disk, and the only reader of ``exercise.toml`` and of lesson front matter.

Layout::

    lessons/NN-module/NN-topic.md      lesson sources (front matter: title, timings, exercise ids, Civis features)
    exercises/NN-module/NN-topic/      exercise.toml, README.md, starter files, checks/, prepare.py
    solutions/NN-module/NN-topic/      mirrors exercises/

Everything else (the engine, the site, ``flowcamp dev check``, the tests) asks this module: :class:`Course`
holds :class:`Exercise` and :class:`Lesson` objects, and :meth:`Course.problems` lists what is wrong with the
course in words an author can act on. Kind-specific rules live with the kinds (``flowcamp.kinds``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path


from flowcamp import places
from flowcamp.anatomy import lesson_anatomy_problems

FORMAT_VERSION = 1  # of exercise.toml
KINDS = ("code", "git", "notebook", "prefect")
SOLUTION_ROLES = ("files", "script")  # solutions/<path>/ holds the edited files, or solution.sh
SOLUTION_SCRIPT = "solution.sh"
_ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_FOLDER_RE = re.compile(r"^\d\d-[a-z0-9-]+$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.S)

# Words that keep their own spelling in titles made from folder names.
WORDS = {"sql": "SQL", "duckdb": "DuckDB", "prefect": "Prefect", "python": "Python", "civis": "Civis",
         "api": "API", "ci": "CI", "git": "git", "github": "GitHub", "json": "JSON", "csv": "CSV", "env": "env"}


class CourseError(Exception):
    """The course itself is broken (a course author's mistake, not a learner's)."""


def find_course_root() -> Path:
    """The folder that holds ``exercises/``: $FLOWCAMP_COURSE, else the repository this package sits in."""
    root = places.course_root()
    if root is not None:
        return Path(root)
    raise CourseError(
        "Could not find the flowcamp course (a folder with exercises/ and pyproject.toml). "
        "Run flowcamp from inside the course folder you cloned, or set FLOWCAMP_COURSE to it."
    )


def folder_title(name: str) -> str:
    """'01-version-control' -> 'Version control'; '03-sql-to-sheets' -> 'SQL to sheets'."""
    m = re.match(r"^\d+-(.+)$", name)
    words = [w for w in re.split(r"[-_\s]+", m.group(1) if m else name) if w]
    if not words:
        return name
    out = [WORDS.get(w.lower(), w) for w in words]
    if out[0] == words[0] and out[0].islower():
        out[0] = out[0][:1].upper() + out[0][1:]
    return " ".join(out)


def read_front_matter(text: str) -> tuple[dict | None, str]:
    """(front matter as a dict, or None if there is none; the body after it)."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return None, text
    import yaml  # here: a check reads no lesson, and the import costs 20 ms

    try:  # libyaml's loader where there is one: 5x quicker
        data = yaml.load(m.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None, text[m.end():]
    return (data if isinstance(data, dict) else None), text[m.end():]


# ------------------------------------------------------------------------------------------ exercises


class _InModule:
    """An exercise or a lesson, which sits in a module folder (its path's first part)."""

    _key: str  # "NN-module/NN-topic": an exercise's path, a lesson's id

    @property
    def module(self) -> str:
        return self._key.split("/")[0]

    @property
    def module_title(self) -> str:
        return folder_title(self.module)


@dataclass(frozen=True)
class Exercise(_InModule):
    id: str
    title: str
    kind: str
    lesson: str  # course-relative path of its lesson, e.g. "lessons/04-prefect/01-scripts-to-flows.md"
    points: int
    time_limit: float
    files: tuple[str, ...]  # role "edit": the files the learner changes
    hints: tuple[str, ...]
    repos: tuple[str, ...]  # role "repository": folders prepare.py makes into git repositories
    course_only: tuple[str, ...]  # role "course": names in the exercise folder that never reach a workspace
    solution: str  # "files" (solutions/<path>/ holds the edit files) or "script" (solution.sh)
    path: str  # e.g. "02-python-scripts/01-environment-variables" (same under exercises/, solutions/, workspace)
    course_root: Path = field(compare=False, repr=False)
    preload: tuple[str, ...] = ()  # what the learner's files import: the learner processes' warm parent too

    @property
    def _key(self) -> str:
        return self.path

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
        return self.course_root / self.lesson

    @property
    def lesson_id(self) -> str:
        """'lessons/04-prefect/01-scripts-to-flows.md' -> '04-prefect/01-scripts-to-flows'."""
        return self.lesson.removeprefix("lessons/").removesuffix(".md")

    @property
    def prepare_script(self) -> Path | None:
        p = self.source_dir / "prepare.py"
        return p if p.is_file() else None

    @property
    def solution_script(self) -> Path:
        return self.solution_dir / SOLUTION_SCRIPT

    def is_course_only(self, rel: Path) -> bool:
        return rel.parts[0] in self.course_only or "__pycache__" in rel.parts

    def starter_files(self) -> list[Path]:
        """Every file copied to a workspace, relative to the exercise folder."""
        return [p.relative_to(self.source_dir) for p in sorted(self.source_dir.rglob("*"))
                if p.is_file() and not self.is_course_only(p.relative_to(self.source_dir))]

    def solution_files(self) -> list[str]:
        """What solutions/<path>/ must hold, by the exercise's solution role."""
        return [SOLUTION_SCRIPT] if self.solution == "script" else sorted(self.files)

    def to_dict(self) -> dict:
        return {"id": self.id, "module": self.module, "title": self.title, "kind": self.kind, "path": self.path,
                "lesson": self.lesson, "points": self.points}


_REQUIRED = [("id", str), ("title", str), ("kind", str), ("lesson", str), ("points", int)]
_FILE_KEYS = {"edit", "repos", "course", "solution"}


def _string_list(value, key: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"'{key}' must be a list of names")
        return ()
    return tuple(value)


def _load_exercise(toml_path: Path, course_root: Path) -> tuple[Exercise | None, list[str]]:
    """The exercise, or None and the problems that stop it from loading."""
    rel = toml_path.parent.relative_to(course_root / "exercises").as_posix()
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        return None, [f"not valid TOML: {e}"]
    problems: list[str] = []
    if data.get("format") != FORMAT_VERSION:
        problems.append(f"'format' must be {FORMAT_VERSION} (the version of exercise.toml this flowcamp reads), "
                        f"got {data.get('format')!r}")
    for key, typ in _REQUIRED:
        if not isinstance(data.get(key), typ) or isinstance(data.get(key), bool):
            problems.append(f"'{key}' must be a {typ.__name__}")
    if data.get("kind") not in KINDS:
        problems.append(f"'kind' must be one of {', '.join(KINDS)}")
    if isinstance(data.get("id"), str) and not _ID_RE.match(data["id"]):
        problems.append("'id' must be short kebab-case, like 'env-settings'")
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not hints or not all(isinstance(h, str) and h.strip() for h in hints):
        problems.append("'hints' must be a non-empty list of non-empty strings")
    tl = data.get("time_limit", 30)
    if not isinstance(tl, (int, float)) or isinstance(tl, bool) or tl <= 0:
        problems.append("'time_limit' must be a positive number of seconds")
    files = data.get("files")
    if not isinstance(files, dict):
        problems.append("'[files]' must be a table: edit = [...], repos = [...], course = [...], solution = ...")
        files = {}
    unknown = sorted(set(files) - _FILE_KEYS)
    if unknown:
        problems.append(f"'[files]' has unknown keys {unknown}; known: {sorted(_FILE_KEYS)}")
    edit = _string_list(files.get("edit", []), "files.edit", problems)
    repos = _string_list(files.get("repos", []), "files.repos", problems)
    course_only = _string_list(files.get("course", []), "files.course", problems)
    if "exercise.toml" not in course_only:
        problems.append("'files.course' must name exercise.toml (and checks, prepare.py if the exercise has them)")
    solution = files.get("solution")
    if solution not in SOLUTION_ROLES:
        problems.append(f"'files.solution' must be one of {', '.join(SOLUTION_ROLES)}")
    preload = _string_list(data.get("preload", []), "preload", problems)
    if not all(p.isidentifier() for m in preload for p in m.split(".")) or any(m.startswith("flowcamp") for m in preload):
        problems.append(f"'preload' must name modules, like 'pydantic_settings' (never flowcamp's own); not {preload}")
    if problems:
        return None, problems
    return Exercise(id=data["id"], title=data["title"], kind=data["kind"], lesson=data["lesson"],
                    points=data["points"], time_limit=float(tl), files=edit, hints=tuple(hints), repos=repos,
                    course_only=course_only + ("__pycache__",), solution=solution, path=rel,
                    course_root=course_root, preload=preload), []


# -------------------------------------------------------------------------------------------- lessons


@dataclass(frozen=True)
class CivisFeature:
    """One row of the Civis-to-code map: what staff did on Civis, and what replaces it in code."""

    civis: str
    code: str


def _civis_features(value, problems: list[str]) -> tuple[CivisFeature, ...]:
    ok = isinstance(value, list) and all(
        isinstance(v, dict) and set(v) == {"civis", "code"} and all(isinstance(x, str) and x.strip()
                                                                     for x in v.values()) for v in value)
    if not ok:
        problems.append("front matter 'civis' must be a list of {civis: what staff did on Civis, "
                        "code: what replaces it}")
        return ()
    return tuple(CivisFeature(v["civis"].strip(), v["code"].strip()) for v in value)


@dataclass(frozen=True)
class Lesson(_InModule):
    id: str  # "04-prefect/01-scripts-to-flows"
    title: str
    teaching: int  # minutes
    practice: int  # minutes of exercises
    exercise_ids: tuple[str, ...]
    civis: tuple["CivisFeature", ...]  # the Civis features the lesson replaces, and with what
    source: Path = field(compare=False, repr=False)

    @property
    def _key(self) -> str:
        return self.id

    @property
    def path(self) -> str:
        """Course-relative path, as exercise.toml's `lesson` names it."""
        return f"lessons/{self.id}.md"

    def text(self) -> str:
        return self.source.read_text(encoding="utf-8")

    def body(self) -> str:
        return read_front_matter(self.text())[1]


def _load_lesson(path: Path, lessons_dir: Path) -> tuple[Lesson | None, list[str]]:
    lid = path.relative_to(lessons_dir).with_suffix("").as_posix()
    try:
        meta, _ = read_front_matter(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return None, ["not saved as UTF-8"]
    if meta is None:
        return None, ["needs front matter ('key: value' lines between two '---' lines) at the very top"]
    problems = []
    if not isinstance(meta.get("title"), str) or not meta["title"].strip():
        problems.append("front matter needs a 'title'")
    for key in ("teaching", "exercises"):
        v = meta.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            problems.append(f"front matter needs '{key}' as a whole number of minutes, got {v!r}")
    ids = meta.get("exercise_ids", [])
    if not isinstance(ids, list) or not all(isinstance(x, str) and x.strip() for x in ids):
        problems.append("front matter 'exercise_ids' must be a list of exercise ids")
    civis = _civis_features(meta.get("civis", []), problems)
    if problems:
        return None, problems
    return Lesson(id=lid, title=meta["title"].strip(), teaching=meta["teaching"], practice=meta["exercises"],
                  exercise_ids=tuple(ids), civis=civis, source=path), []


# --------------------------------------------------------------------------------------------- course


class Course:
    def __init__(self, root: Path | None = None):
        self.root = (root or find_course_root()).resolve()
        self._problems: list[str] = []

    lessons_dir = property(lambda self: self.root / "lessons")

    @cached_property
    def _exercises_loaded(self) -> tuple[list[Exercise], list[str]]:
        exercises, problems = [], []
        for toml_path in sorted((self.root / "exercises").glob("*/*/exercise.toml")):
            rel = toml_path.parent.relative_to(self.root).as_posix()
            if not _FOLDER_RE.match(toml_path.parent.name) or not _FOLDER_RE.match(toml_path.parent.parent.name):
                problems.append(f"{rel}: folders must be named NN-topic, like 01-first-flow")
                continue
            ex, errs = _load_exercise(toml_path, self.root)
            problems += [f"{rel}/exercise.toml: {e}" for e in errs]
            exercises += [ex] if ex is not None else []
        return exercises, problems

    @cached_property
    def _lessons_loaded(self) -> tuple[list[Lesson], list[str]]:
        """Read apart from the exercises: a check needs no lesson (and so no YAML parser)."""
        lessons, problems = [], []
        for path in sorted(p for p in self.lessons_dir.glob("*/*.md") if p.name != "index.md"):
            rel = path.relative_to(self.root).as_posix()
            if not _FOLDER_RE.match(path.stem) or not _FOLDER_RE.match(path.parent.name):
                problems.append(f"{rel}: lessons must be named lessons/NN-module/NN-topic.md")
                continue
            lesson, errs = _load_lesson(path, self.lessons_dir)
            problems += [f"{rel}: {e}" for e in errs]
            lessons += [lesson] if lesson is not None else []
        return lessons, problems

    @property
    def exercises(self) -> list[Exercise]:
        """Every exercise, in course order. Raises CourseError if one cannot be loaded or ids clash."""
        exercises, problems = self._exercises_loaded
        fatal = [p for p in problems if "exercise.toml" in p or "NN-topic, like" in p] + self._duplicate_ids()
        if fatal:
            raise CourseError("The course has broken exercises:\n  " + "\n  ".join(fatal))
        return exercises

    @property
    def lessons(self) -> list[Lesson]:
        return self._lessons_loaded[0]

    def _duplicate_ids(self) -> list[str]:
        seen: dict[str, str] = {}
        out = []
        for ex in self._exercises_loaded[0]:
            if ex.id in seen:
                out.append(f"two exercises share the id '{ex.id}': {seen[ex.id]} and {ex.path}")
            seen[ex.id] = ex.path
        return out

    def modules(self) -> list[str]:
        """Module folder names, in course order, from exercises and lessons."""
        names = {ex.module for ex in self._exercises_loaded[0]} | {ls.module for ls in self.lessons}
        return sorted(names)

    def lesson(self, lesson_id_or_path: str) -> Lesson | None:
        key = lesson_id_or_path.removeprefix("lessons/").removesuffix(".md")
        return next((ls for ls in self.lessons if ls.id == key), None)

    def lesson_of(self, ex: Exercise) -> Lesson | None:
        return self.lesson(ex.lesson)

    def exercises_of(self, lesson: Lesson) -> list[Exercise]:
        by_id = {ex.id: ex for ex in self._exercises_loaded[0]}
        return [by_id[i] for i in lesson.exercise_ids if i in by_id]

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
        raise KeyError(f"There is no exercise called '{key}'. Exercises: {known}. "
                       "Run `uv run flowcamp list` to see them all.")

    # ------------------------------------------------------------------------------------- validation
    def problems(self) -> list[str]:
        """Everything wrong with the course that can be seen without running a check."""
        (exercises, ex_problems), (lessons, lesson_problems) = self._exercises_loaded, self._lessons_loaded
        problems = ex_problems + lesson_problems + self._duplicate_ids()
        for ex in exercises:
            problems += [f"{ex.id}: {p}" for p in exercise_problems(ex)]
        problems += self._link_problems(exercises, lessons)
        problems += self._stray_solutions(exercises)
        for lesson in lessons:
            problems += [f"lessons/{lesson.id}.md: {p}" for p in lesson_anatomy_problems(lesson.text())]
        return problems

    def _link_problems(self, exercises: list[Exercise], lessons: list[Lesson]) -> list[str]:
        out = []
        by_id = {ls.id: ls for ls in lessons}
        known = {ex.id for ex in exercises}
        for ex in exercises:
            if not re.fullmatch(r"lessons/\d\d-[^/]+/\d\d-[^/]+\.md", ex.lesson):
                out.append(f"{ex.id}: 'lesson' should look like lessons/NN-module/NN-topic.md, got {ex.lesson!r}")
            elif ex.lesson_id not in by_id:
                out.append(f"{ex.id}: its lesson {ex.lesson} does not exist (or could not be read)")
            elif ex.id not in by_id[ex.lesson_id].exercise_ids:
                out.append(f"{ex.id}: its lesson {ex.lesson} does not list it in 'exercise_ids'")
        for ls in lessons:
            for i in ls.exercise_ids:
                if i not in known:
                    out.append(f"lessons/{ls.id}.md: 'exercise_ids' names '{i}', which is no exercise")
        return out

    def _stray_solutions(self, exercises: list[Exercise]) -> list[str]:
        known = {ex.path for ex in exercises}
        base = self.root / "solutions"
        return [f"solutions/{d.relative_to(base).as_posix()} has no exercise"
                for d in sorted(base.glob("*/*")) if d.is_dir() and d.relative_to(base).as_posix() not in known]


def exercise_problems(ex: Exercise) -> list[str]:
    """An exercise's files against its declared roles (kind-specific rules: flowcamp.kinds)."""
    problems = []
    src, sol = ex.source_dir, ex.solution_dir
    if not (src / "README.md").is_file():
        problems.append("README.md (the instructions) is missing")
    if len(ex.hints) < 2:
        problems.append("give at least two hints, from a nudge to nearly the answer")
    for f in ex.files:
        if not (src / f).is_file():
            problems.append(f"the starter file {f} listed in files.edit is missing")
    for name in ex.course_only:
        if name not in ("exercise.toml", "__pycache__") and not (src / name).exists():
            problems.append(f"files.course names {name}, which is not in the exercise folder")
    for name in ("checks", "prepare.py"):
        if (src / name).exists() and name not in ex.course_only:
            problems.append(f"{name} would be copied to learners: list it in files.course")
    if not sol.is_dir():
        return problems + [f"solutions/{ex.path}/ is missing"]
    found = sorted(p.relative_to(sol).as_posix() for p in sol.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    expected = ex.solution_files()
    extra, missing = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
    if extra:
        problems.append(f"solutions/{ex.path}/ has files that its role '{ex.solution}' does not: {', '.join(extra)}")
    if missing:
        problems.append(f"solutions/{ex.path}/ is missing: {', '.join(missing)}")
    return problems
