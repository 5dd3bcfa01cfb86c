"""The submission format, shared by ``flowcamp submit`` (which writes it) and ``flowcamp grade`` (which reads it).

An archive (zip) or a folder, once unpacked, always has this shape::

    submission.json                      the manifest (below)
    workspace/<module>/<topic>/...       each exercise folder the learner had: its files, and each prepared
                                         repository with its whole .git (history and reflogs)

A learner's workspace pushed to a git remote holds its exercise files as ordinary tracked files, plus what
``flowcamp submit --git`` commits beside them (prepared repositories are git-ignored in a workspace)::

    submission/manifest.json             the same manifest
    submission/repos/<exercise-id>/<repo>.tar.gz    one prepared repository, its .git included

Each ``<repo>.tar.gz`` unpacks into the exercise folder: its members are paths relative to that folder, all
under ``<repo>/`` (``pipeline/.git/HEAD``, ``pipeline/settings.py``), regular files (mode 0o644 or 0o755),
folders, and symbolic links that stay inside the exercise folder. It is written deterministically (sorted
members, time 0, owner 0), so unchanged work gives an unchanged file and no new commit.

Zip archives hold regular files (mode 0o644 or 0o755 in ``external_attr``, made on Unix), symbolic links
(``S_IFLNK``, the target as the entry's data) that stay inside their exercise folder, and entries for empty
folders (names ending in ``/``: git needs ``.git/refs`` even when it is empty). Entries are sorted and dated
1980-01-01, so the same work gives the same archive, byte for byte.

The manifest (format 1)::

    {"format": 1, "kind": "flowcamp-submission", "created": "2026-12-03T10:00:00+00:00",
     "learner": {"name": "Ada Lovelace", "email": "ada@example.org"},
     "course": {"version": "0.1.0", "fingerprint": "<hash of exercise ids and paths>"},
     "workspace_seed": 123456,          # shaped the learner's practice repositories; never the held-out seed
     "exercises": {"<id>": {"path": "<module>/<topic>", "files": {"<relative path>": "<sha256>", ...}}},
     "progress": {<the workspace's progress.json, as it was>},
     "secret_scan": {"findings": 1, "allowed": [{"location": "<path>:<line>", "kind": "..."}]},
     "left_out": ["<path>: why", ...]}

``created`` is when the work last changed (the newest time among the packed files and the progress), not when
``flowcamp submit`` ran: submitting the same work twice gives the same archive (and the same resume key).
``files`` lists every packed file of the exercise folder, .git files included (:func:`file_hash`).
``secret_scan`` says what the scan of the learner's own changes found: every finding was let through by the
learner with ``--allow-secret`` (``allowed``: where and what kind, never a value), or there would be no
submission;
``left_out`` names what submit did not pack (links that point out of the exercise folder, special files).
Both are optional: a manifest without them is valid.

Nothing in the manifest is trusted by the grader beyond what it says about identity and the workspace seed:
file hashes are recomputed, the held-out seed is the grader's own.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import flowcamp
from flowcamp.course import Course, Exercise

FORMAT = 1
KIND = "flowcamp-submission"
MANIFEST = "submission.json"
WORKSPACE_DIR = "workspace"
GIT_SNAPSHOT_DIR = "submission"  # in a pushed workspace repository
GIT_MANIFEST = "manifest.json"
GIT_REPOS_DIR = "repos"

# Never packed, never unpacked for grading: secrets, warehouses, caches, backups, editor and tool state.
EXCLUDED_NAMES = frozenset({".env", "__pycache__", ".ipynb_checkpoints", ".flowcamp", ".venv", "venv",
                            ".pytest_cache", ".mypy_cache", ".ruff_cache", "prefect.toml", ".DS_Store",
                            "node_modules"})
EXCLUDED_SUFFIXES = (".duckdb", ".duckdb.wal", ".tmp", ".pyc", ".pyo")

# Limits shared by submit (refuses) and grade (marks the submission bad): a learner's exercise files are
# small text; a large file is a data export or a mistake.
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_TOTAL_BYTES = 250 * 1024 * 1024
MAX_FILES = 20_000


def course_version() -> str:
    return flowcamp.__version__


def course_fingerprint(course: Course) -> str:
    """What must match between the course a submission was made with and the grader's: exercise ids and paths
    (the course promises to keep both stable, or migrate them)."""
    h = hashlib.sha256()
    for ex in sorted(course.exercises, key=lambda e: e.id):
        h.update(f"{ex.id}={ex.path};".encode())
    return h.hexdigest()[:16]


def excluded(rel: Path) -> bool:
    """Is this path (relative to an exercise folder) left out of a submission? Inside a repository's .git
    folder nothing is left out: checks read its history and reflogs."""
    parts = rel.parts
    if ".git" in parts:
        parts = parts[: parts.index(".git")]
        if not parts:
            return False
        return any(p in EXCLUDED_NAMES for p in parts)
    if any(p in EXCLUDED_NAMES for p in parts):
        return True
    name = rel.name
    return name.endswith(EXCLUDED_SUFFIXES) or name.endswith("~") or ".duckdb." in name


def exercise_files(folder: Path) -> list[Path]:
    """Every file of an exercise folder that a submission carries (relative paths, sorted): the learner's
    files and each prepared repository with its .git. Symbolic links are carried as links (never followed)."""
    out: list[Path] = []
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        here = Path(dirpath)
        rel_dir = here.relative_to(folder)
        keep_dirs = []
        for d in sorted(dirnames):
            rel = rel_dir / d
            if (here / d).is_symlink():
                if not excluded(rel):
                    out.append(rel)
            elif not excluded(rel):
                keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for f in sorted(filenames):
            rel = rel_dir / f
            if not excluded(rel):
                out.append(rel)
    return sorted(out)


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_symlink():
        h.update(b"symlink:" + os.readlink(path).encode("utf-8", "surrogateescape"))
        return h.hexdigest()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hash(root: Path) -> str:
    """One hash of a whole unpacked submission (paths, link targets and contents): the resume key's part that
    changes whenever the learner's work does."""
    h = hashlib.sha256()
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        here = Path(dirpath)
        for f in sorted(filenames) + sorted(d for d in dirnames if (here / d).is_symlink()):
            p = here / f
            rel = p.relative_to(root).as_posix()
            h.update(rel.encode("utf-8", "surrogateescape") + b"\0" + file_hash(p).encode() + b"\n")
    return h.hexdigest()


def exercise_of_path(course: Course, rel: str) -> Exercise | None:
    for ex in course.exercises:
        if rel == ex.path:
            return ex
    return None


# ------------------------------------------------------------------ helpers shared by submit and grade

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every zip entry's time: the same work gives the same archive


def link_stays_inside(rel: Path, target: str) -> bool:
    """Does a symbolic link at ``rel`` (relative to its exercise folder) pointing at ``target`` stay inside that
    folder? Decided on the words alone (nothing on disk is followed): an absolute target, or one that climbs out
    with ``..``, does not."""
    target = target.replace("\\", "/")
    if not target or target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return False
    depth = len(Path(rel).parts) - 1  # folders between the exercise folder and the link
    for part in target.split("/"):
        if part in ("", "."):
            continue
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            return False
    return True


def repo_archive(exercise_id: str, repo: str) -> str:
    """Where ``flowcamp submit --git`` puts one prepared repository in the workspace repository (posix path)."""
    return f"{GIT_SNAPSHOT_DIR}/{GIT_REPOS_DIR}/{exercise_id}/{repo.strip('/')}.tar.gz"


def manifest_problems(manifest: object) -> list[str]:
    """What is wrong with a manifest's shape, in words for an instructor (empty when it is fine). Says nothing
    about whether the course matches: compare ``course.fingerprint`` with :func:`course_fingerprint`."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    out = []
    if manifest.get("kind") != KIND:
        out.append(f"its kind is {manifest.get('kind')!r}, not {KIND!r}")
    fmt = manifest.get("format")
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        out.append("it has no format number")
    elif fmt > FORMAT:
        out.append(f"it is format {fmt}, made by a newer flowcamp (this one reads format {FORMAT}): update flowcamp")
    learner = manifest.get("learner")
    if not isinstance(learner, dict) or not all(isinstance(learner.get(k), str) for k in ("name", "email")):
        out.append("it does not say who the learner is (learner.name, learner.email)")
    course = manifest.get("course")
    if not isinstance(course, dict) or not isinstance(course.get("fingerprint"), str):
        out.append("it does not say which course it was made with (course.fingerprint)")
    seed = manifest.get("workspace_seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        out.append("it has no workspace_seed")
    exercises = manifest.get("exercises")
    if not isinstance(exercises, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("path"), str) for v in exercises.values()):
        out.append("its exercises are not a map of id to {path, files}")
    return out
