"""The learner's workspace: their own copy of the exercises, a git repository of its own.

Layout::

    workspace/
        .git/                   the learner's own history
        .gitignore              managed block: flowcamp's files, the warehouse, nested exercise repositories
        .flowcamp/              flowcamp's state (git-ignored)
            workspace.json      seed and version
            progress.json       status and hints shown, per exercise
            backups/            copies kept by `flowcamp reset`
            heldout/            the held-out warehouse that checks use
            prefect/            PREFECT_HOME of the local Prefect server
        warehouse.duckdb        the sample warehouse the learner explores
        NN-module/NN-topic/     one folder per exercise

A course update only ever adds exercise folders that are not there yet.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flowcamp import places, proc
from flowcamp.course import Course, Exercise

STATE_DIR = places.STATE_DIR
WAREHOUSE_FILE = "warehouse.duckdb"
GITIGNORE_BEGIN = "# >>> flowcamp (managed: edit outside this block)"
GITIGNORE_END = "# <<< flowcamp"
WORKSPACE_VERSION = 2
# What a workspace of an older version needs to become the current one (see Workspace.migrate).
# v1 -> v2: workspace.json no longer pins the course's absolute path (a moved or re-cloned course kept
# pointing at the old folder); prepared repositories no longer carry facts for the checks in .git (checks
# rebuild them from the seed), so old ones are left as they are.


class WorkspaceError(Exception):
    """A problem with the learner's workspace, explained in plain words."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *proc.SAFE_GIT_CONFIG, *args], cwd=cwd, capture_output=True, text=True,
                          env=proc.git_env(keep_user_config=True), check=check)


def git_available() -> bool:
    return shutil.which("git") is not None


@dataclass
class InitReport:
    created: bool
    added: list[Exercise]
    migrated_from: int | None = None


class Workspace:
    def __init__(self, root: Path, course: Course):
        self.root = Path(root).resolve()
        self.course = course

    # ----------------------------------------------------------------- locating
    @staticmethod
    def default_root(course: Course) -> Path:
        return course.root / "workspace"

    @classmethod
    def locate(cls, course: Course, explicit: str | Path | None = None) -> "Workspace":
        """--workspace, else $FLOWCAMP_WORKSPACE, else a workspace above the current folder, else ./workspace."""
        return cls(Path(places.workspace_root(explicit, lambda: course.root)), course)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def exists(self) -> bool:
        return (self.state_dir / "workspace.json").is_file()

    @property
    def warehouse_path(self) -> Path:
        return self.root / WAREHOUSE_FILE

    def exercise_dir(self, ex: Exercise) -> Path:
        return self.root / ex.path

    # ----------------------------------------------------------------- metadata
    def meta(self) -> dict:
        try:
            return json.loads((self.state_dir / "workspace.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}

    @property
    def seed(self) -> int:
        """This workspace's own seed: held-out data and generated repositories differ between learners."""
        seed = self.meta().get("seed")
        return int(seed) if isinstance(seed, int) else 7

    @property
    def heldout_seed(self) -> int:
        from flowcamp.warehouse import LEARNER_SEED

        s = self.seed
        return s + 1 if s == LEARNER_SEED else s

    @property
    def heldout_warehouse(self) -> Path:
        return self.state_dir / "heldout" / f"warehouse-{self.heldout_seed}.duckdb"

    # ----------------------------------------------------------------- progress
    @property
    def progress_file(self) -> Path:
        return self.state_dir / "progress.json"

    def progress(self) -> dict:
        try:
            data = json.loads(self.progress_file.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, json.JSONDecodeError):
            return {}

    def _save_progress(self, data: dict) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.progress_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.progress_file)

    def record(self, ex: Exercise, **fields) -> None:
        data = self.progress()
        entry = data.setdefault("exercises", {}).setdefault(ex.id, {})
        entry.update(fields)
        self._save_progress(data)

    def entry(self, ex: Exercise) -> dict:
        return self.progress().get("exercises", {}).get(ex.id, {})

    def record_result(self, ex: Exercise, status: str, score: float, max_score: float) -> None:
        entry = self.entry(ex)
        fields = {"last_status": status, "last_checked": _now(), "last_score": score, "max_score": max_score,
                  "checks": entry.get("checks", 0) + 1}
        if status == "pass":
            fields["passed"] = True
            fields.setdefault("passed_at", entry.get("passed_at") or _now())
        self.record(ex, **fields)

    def status(self, ex: Exercise) -> str:
        """todo / started / done. `done` means it passed once; later edits don't take it away."""
        entry = self.entry(ex)
        if entry.get("passed"):
            return "done"
        if entry.get("checks") or entry.get("hints_shown") or self._modified(ex):
            return "started"
        return "todo"

    def _modified(self, ex: Exercise) -> bool:
        d = self.exercise_dir(ex)
        for f in ex.files:
            src, dst = ex.source_dir / f, d / f
            if not dst.exists() or not src.exists():
                continue
            try:
                if src.read_bytes() != dst.read_bytes():
                    return True
            except OSError:
                continue
        return False

    def current(self) -> Exercise | None:
        """The first exercise not done yet, in course order."""
        for ex in self.course.exercises:
            if self.status(ex) != "done" and self.exercise_dir(ex).exists():
                return ex
        return None

    # ----------------------------------------------------------------- creating
    def init(self, seed: int | None = None) -> InitReport:
        """Create the workspace, or bring in exercises that are new since it was made. Never touches existing work."""
        if self.root.exists() and not self.root.is_dir():
            raise WorkspaceError(f"{self.root} is a file, not a folder. Choose another place for your workspace.")
        if self.root.exists() and not self.exists and any(self.root.iterdir()):
            raise WorkspaceError(
                f"{self.root} already has files in it and is not a flowcamp workspace. "
                "Choose an empty or new folder, e.g. `uv run flowcamp init ./workspace`."
            )
        if not git_available():
            raise WorkspaceError(
                "git is not installed (or not on your PATH). Install it first: see the Setup page of the course."
            )
        created = not self.exists
        self.state_dir.mkdir(parents=True, exist_ok=True)
        migrated_from = None
        if created:
            meta = {"version": WORKSPACE_VERSION, "seed": seed if seed is not None else random.randint(1000, 999_999),
                    "created": _now()}
            self._write_meta(meta)
        else:
            migrated_from = self.migrate()
        added = []
        for ex in self.course.exercises:
            if not self.exercise_dir(ex).exists():
                self.install_exercise(ex)
                added.append(ex)
        self._write_gitignore()
        if not (self.root / "README.md").exists():
            (self.root / "README.md").write_text(_WORKSPACE_README, encoding="utf-8")
        if created or not (self.root / ".git").exists():
            self._git_init()
        return InitReport(created=created, added=added, migrated_from=migrated_from)

    def _write_meta(self, meta: dict) -> None:
        path = self.state_dir / "workspace.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def migrate(self) -> int | None:
        """Bring a workspace made by an older flowcamp up to date. Returns the old version, or None.

        Exercise ids and folders never change, so a migration only touches flowcamp's own state.
        """
        meta = self.meta()
        version = meta.get("version", 1)
        if not isinstance(version, int) or version > WORKSPACE_VERSION:
            raise WorkspaceError(
                f"This workspace was made by a newer flowcamp (workspace version {version}). "
                "Update the course (`git pull` in the course folder, then `uv run flowcamp`).")
        if version == WORKSPACE_VERSION:
            return None
        if version < 2:
            meta.pop("course", None)
        meta["version"] = WORKSPACE_VERSION
        meta["migrated"] = _now()
        self._write_meta(meta)
        return version

    def install_exercise(self, ex: Exercise) -> None:
        """Copy an exercise's starter files into the workspace and build its repositories (prepare.py)."""
        dest = self.exercise_dir(ex)
        dest.mkdir(parents=True, exist_ok=True)
        for rel in ex.starter_files():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ex.source_dir / rel, target)
        if ex.prepare_script:
            run_prepare(ex, dest, self.seed, self.state_dir / "cache")

    def _write_gitignore(self) -> None:
        lines = [GITIGNORE_BEGIN, f"/{STATE_DIR}/", f"/{WAREHOUSE_FILE}", "*.duckdb", "*.duckdb.wal", "*.tmp",
                 "__pycache__/", ".ipynb_checkpoints/", ".env", "prefect.toml"]
        for ex in self.course.exercises:
            for repo in ex.repos:
                lines.append(f"/{ex.path}/{repo.strip('/')}/")
        lines.append(GITIGNORE_END)
        block = "\n".join(lines) + "\n"
        path = self.root / ".gitignore"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        if GITIGNORE_BEGIN in old and GITIGNORE_END in old:
            before, rest = old.split(GITIGNORE_BEGIN, 1)
            after = rest.split(GITIGNORE_END, 1)[1].lstrip("\n")
            new = before + block + after
        else:
            new = block + ("\n" + old if old else "")
        if new != old:
            path.write_text(new, encoding="utf-8")

    def _git_init(self) -> None:
        _git(self.root, "init", "-q")
        _git(self.root, "add", "-A")
        # One commit so the learner's history starts from the starters. The identity is given for this
        # commit only: the learner sets their own in the version control lesson.
        _git(self.root, "-c", "user.name=flowcamp", "-c", "user.email=flowcamp@localhost", "-c",
             "commit.gpgsign=false", "commit", "-q", "-m", "Start of my flowcamp workspace", check=False)

    # ----------------------------------------------------------------- reset
    def backup(self, ex: Exercise) -> Path | None:
        src = self.exercise_dir(ex)
        if not src.exists():
            return None
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = self.state_dir / "backups" / ex.id / stamp
        n = 1
        while dest.exists():
            n += 1
            dest = dest.with_name(f"{stamp}-{n}")
        shutil.copytree(src, dest, symlinks=True)
        return dest

    def reset(self, ex: Exercise) -> Path | None:
        """Restore the starter; the learner's version is copied to a backup first. Returns the backup folder."""
        backup = self.backup(ex)
        self.clear_exercise(ex)
        self.install_exercise(ex)
        self.record(ex, passed=False, hints_shown=self.entry(ex).get("hints_shown", 0), last_status=None)
        return backup

    def clear_exercise(self, ex: Exercise) -> None:
        """Empty an exercise's folder (no backup: see reset). The folder itself stays, so a terminal open
        inside it stays usable."""
        target = self.exercise_dir(ex)
        if not target.exists():
            return
        for child in list(target.iterdir()):
            if child.is_dir() and not child.is_symlink():
                remove_tree(child)
            else:
                child.unlink()

    # ----------------------------------------------------------------- hints
    def next_hint(self, ex: Exercise) -> tuple[int, str] | None:
        shown = self.entry(ex).get("hints_shown", 0)
        if shown >= len(ex.hints):
            return None
        self.record(ex, hints_shown=shown + 1)
        return shown + 1, ex.hints[shown]


def run_prepare(ex: Exercise, dest: Path, seed: int, cache_dir: Path | None = None) -> dict:
    """Run an exercise's prepare.py (from the course) to build its repository in the learner's folder.

    Returns the facts it recorded; with ``cache_dir`` they are also kept there for the checks, which would
    otherwise rebuild them from the same script and seed (the cache is a shortcut, never the source of truth).
    """
    from flowcamp import prepare

    try:
        facts = prepare.run_prepare_script(ex.prepare_script, dest, seed)
    except prepare.PrepareError as e:
        raise WorkspaceError(f"Setting up exercise {ex.id} failed (a course bug, please report it):\n{e}") from None
    if cache_dir is not None:
        prepare.store_facts(cache_dir, ex.source_dir, seed, facts)
    return facts


def remove_tree(path: Path) -> None:
    """Delete a folder, read-only files in .git included, retrying a moment later on Windows locks."""

    def onerror(func, p, _exc):  # read-only files in .git on Windows
        os.chmod(p, 0o700)
        func(p)

    for attempt in range(3):
        try:
            shutil.rmtree(path, onerror=onerror)
            return
        except OSError:
            if attempt == 2:
                raise
            time.sleep(0.2)


_WORKSPACE_README = """\
# My flowcamp workspace

This folder is yours. Each exercise is a folder here, like `00-orientation/01-check-loop/`.
Edit the files it tells you to, save, then check your work from the course folder:

    uv run flowcamp check

Useful commands: `uv run flowcamp` (where am I?), `uv run flowcamp hint`, `uv run flowcamp watch`.

This folder is a git repository of its own. Commit your work as you go (`git add .` then
`git commit -m "what I did"`; the version control module shows how), and it gets a history you can
read and undo. Course updates only add new exercise folders: they never change your files.
`warehouse.duckdb` is the sample warehouse; `uv run flowcamp warehouse` rebuilds it if it is lost.
"""
