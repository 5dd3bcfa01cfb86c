"""Helpers that checks use to look at a learner's work.

Checks are pytest functions (see docs/authoring.md). They get these objects
through the fixtures of :mod:`flowcamp.checks.plugin`. Everything here turns a
learner's mistake into a :class:`LearnerError` whose message is plain words
that name the learner's file and line.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

_counter = itertools.count()


class LearnerError(AssertionError):
    """The learner's code did something that stops the check (it raised, it is missing, ...).

    It is an AssertionError so that it counts as a failed check, not a broken one.
    """


def reset_hint() -> str:
    """The sentence that tells a learner how to start this exercise again (its id from FLOWCAMP_EXERCISE):

    '`uv run flowcamp reset <id>` starts the exercise again (your files are backed up first).'
    """
    command = " ".join(["uv run flowcamp reset", os.environ.get("FLOWCAMP_EXERCISE", "")]).strip()
    return f"`{command}` starts the exercise again (your files are backed up first)."


def describe_exception(exc: BaseException, learner_dir: Path | None = None) -> str:
    """'line 12 of settings.py: KeyError: 'VAN_PASSWORD'' — the deepest frame in the learner's files."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    where = ""
    if isinstance(exc, SyntaxError) and exc.filename:
        name = Path(exc.filename).name
        where = f"line {exc.lineno} of {name}"
        what = f"SyntaxError: {exc.msg}"
        if exc.text:
            what += f"\n    {exc.text.rstrip()}"
    elif learner_dir is not None:
        root = str(Path(learner_dir).resolve())
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and os.path.abspath(frame.filename).startswith(root):
                rel = os.path.relpath(frame.filename, root)
                where = f"line {frame.lineno} of {rel}"
                if frame.line:
                    where += f" (`{frame.line.strip()}`)"
                break
    return f"{where}: {what}" if where else what


class Learner:
    """The learner's copy of the exercise."""

    def __init__(self, directory: Path):
        self.dir = Path(directory).resolve()

    def path(self, name: str) -> Path:
        return self.dir / name

    def exists(self, name: str) -> bool:
        return (self.dir / name).exists()

    def read(self, name: str) -> str:
        p = self.dir / name
        if not p.is_file():
            raise LearnerError(
                f"{name} is missing from your exercise folder. If you deleted or renamed it, {reset_hint()}"
            )
        try:
            return p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise LearnerError(f"{name} is not a text file saved as UTF-8. Save it again from your editor as UTF-8.") from None

    def load(self, name: str) -> ModuleType:
        """Import the learner's file as a fresh module (it runs top to bottom, as `python name` would)."""
        p = self.dir / name
        self.read(name)  # clear message if missing
        mod_name = f"learner_{Path(name).stem}_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(mod_name, p)
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        if str(self.dir) not in sys.path:
            sys.path.insert(0, str(self.dir))
        try:
            spec.loader.exec_module(module)
        except SystemExit as e:
            raise LearnerError(
                f"{name} called exit() (code {e.code}) while it was being imported. "
                "Code that should only run as a script belongs under `if __name__ == \"__main__\":`."
            ) from None
        except BaseException as e:  # noqa: BLE001 - any learner failure becomes a message
            if isinstance(e, KeyboardInterrupt):
                raise
            raise LearnerError(f"{name} failed while it was being imported, at {describe_exception(e, self.dir)}") from None
        return module

    def get(self, module: ModuleType, attr: str, what: str = "function") -> object:
        """The learner's function (or class, or value) called ``attr``, with a clear message if it is missing."""
        if not hasattr(module, attr):
            filename = Path(getattr(module, "__file__", "your file")).name
            raise LearnerError(
                f"{filename} has no {what} called `{attr}`. Check the name: it must be spelled exactly `{attr}`."
            )
        return getattr(module, attr)

    def call(self, fn, *args, **kwargs):
        """Call the learner's function; if it raises, fail with where and what."""
        name = getattr(fn, "__name__", "your function")
        try:
            return fn(*args, **kwargs)
        except LearnerError:
            raise
        except Exception as e:  # noqa: BLE001
            raise LearnerError(f"`{name}` raised an error at {describe_exception(e, self.dir)}") from e

    def run(self, args: list[str], env: dict[str, str] | None = None, timeout: float = 60,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run a command in the learner's folder (``python`` means this Python)."""
        args = [sys.executable if a == "python" else a for a in args]
        full_env = {**os.environ, **(env or {})}
        try:
            return subprocess.run(args, cwd=self.dir, env=full_env, capture_output=True, text=True,
                                  timeout=timeout, input=input)
        except subprocess.TimeoutExpired:
            raise LearnerError(f"`{' '.join(args[1:] if args[0] == sys.executable else args)}` ran for more than "
                               f"{timeout:g} seconds and was stopped. Is there a loop that never ends?") from None


# --------------------------------------------------------------------------------------------- git


@dataclass(frozen=True)
class Commit:
    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    timestamp: int
    message: str

    @property
    def subject(self) -> str:
        return self.message.splitlines()[0] if self.message else ""

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


_FACTS: dict[tuple[str, int, str | None], dict] = {}


def exercise_facts() -> dict:
    """The facts the exercise's prepare.py returns for this workspace's seed: ``{folder: {...}}``.

    Rebuilt from the course's own prepare.py (:func:`flowcamp.prepare.build_facts`, cached in the
    workspace), never read from the learner's files. Needs the environment the check runner sets.
    """
    source, seed = os.environ.get("FLOWCAMP_EXERCISE_SOURCE"), os.environ.get("FLOWCAMP_SEED")
    if not source or not seed:
        raise RuntimeError("FLOWCAMP_EXERCISE_SOURCE and FLOWCAMP_SEED are not set: checks that read an "
                           "exercise's facts must be run by flowcamp (`uv run flowcamp check`), not by pytest directly")
    cache = os.environ.get("FLOWCAMP_CACHE") or None
    key = (source, int(seed), cache)
    if key not in _FACTS:
        from flowcamp.prepare import PrepareError, build_facts

        try:
            _FACTS[key] = build_facts(Path(source), int(seed), Path(cache) if cache else None)
        except PrepareError as e:
            raise RuntimeError(f"The exercise's prepare.py could not rebuild its facts (a course bug): {e}") from None
    return _FACTS[key]


class Repo:
    """Reads a git repository with plumbing commands. Never reads command history."""

    _FMT = "%H%x1f%P%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%ct%x1f%B%x1e"

    def __init__(self, path: Path):
        self.path = Path(path).resolve()

    @property
    def facts(self) -> dict:
        """What prepare.py recorded about this repository as it built it, e.g. ``{"start": sha}``.

        The entry for this folder (relative to the learner's exercise folder) in :func:`exercise_facts`;
        ``{}`` if prepare.py recorded nothing for it. Trusted: the learner cannot change it.
        """
        learner_dir = os.environ.get("FLOWCAMP_LEARNER_DIR")
        folder = self.path.name
        if learner_dir:
            try:
                folder = self.path.relative_to(Path(learner_dir).resolve()).as_posix()
            except ValueError:
                pass
        return copy.deepcopy(exercise_facts().get(folder, {}))

    def git(self, *args: str, check: bool = True) -> str:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
        proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, env=env)
        if check and proc.returncode != 0:
            raise LearnerError(f"git {' '.join(args)} failed in {self.path.name}/: {proc.stderr.strip()}")
        return proc.stdout

    def is_repo(self) -> bool:
        """True only if this folder is the top of its own repository (not inside another one)."""
        if not (self.path / ".git").exists():
            return False
        top = self.git("rev-parse", "--show-toplevel", check=False).strip()
        return bool(top) and Path(top).resolve() == self.path

    def require_repo(self) -> None:
        if not self.path.is_dir():
            raise LearnerError(f"The folder {self.path.name}/ is missing. {reset_hint()}")
        if not self.is_repo():
            raise LearnerError(
                f"{self.path.name}/ is not a git repository of its own yet. "
                f"Open a terminal in {self.path.name}/ and run `git init` there."
            )

    def head(self) -> str | None:
        out = self.git("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).strip()
        return out or None

    def resolve(self, rev: str) -> str | None:
        out = self.git("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False).strip()
        return out or None

    def commits(self, rev: str = "HEAD", all_refs: bool = False) -> list[Commit]:
        """Commits reachable from rev (or every ref), newest first."""
        if not all_refs and self.resolve(rev) is None:
            return []
        args = ["log", f"--format={self._FMT}", "--topo-order"]
        args += ["--all"] if all_refs else [rev]
        out = self.git(*args, check=False)
        commits = []
        for rec in out.split("\x1e"):
            rec = rec.strip("\n")
            if not rec:
                continue
            sha, parents, an, ae, cn, ce, ct, msg = rec.split("\x1f", 7)
            commits.append(Commit(sha, tuple(parents.split()), an, ae, cn, ce, int(ct), msg.strip()))
        return commits

    def changed_files(self, sha: str) -> list[str]:
        """Paths a commit changed compared with its first parent (or everything, for a root commit)."""
        out = self.git("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "-m", "--first-parent", sha)
        return sorted(set(filter(None, out.splitlines())))

    def files_at(self, rev: str = "HEAD") -> list[str]:
        if self.resolve(rev) is None:
            return []
        return sorted(filter(None, self.git("ls-tree", "-r", "--name-only", rev).splitlines()))

    def show(self, rev: str, path: str) -> str | None:
        """A file's content at a revision, or None if it is not there."""
        proc = subprocess.run(["git", "-C", str(self.path), "show", f"{rev}:{path}"], capture_output=True)
        if proc.returncode != 0:
            return None
        return proc.stdout.decode("utf-8", errors="replace")

    def status(self) -> list[str]:
        """`git status --porcelain` lines, untracked files included."""
        return [line for line in self.git("status", "--porcelain", "--untracked-files=all").splitlines() if line]

    def is_clean(self) -> bool:
        return not self.status()

    def branches(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads", check=False)
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def current_branch(self) -> str | None:
        out = self.git("symbolic-ref", "-q", "--short", "HEAD", check=False).strip()
        return out or None

    def is_ancestor(self, a: str, b: str) -> bool:
        return subprocess.run(["git", "-C", str(self.path), "merge-base", "--is-ancestor", a, b],
                              capture_output=True).returncode == 0

    def tracked(self, path: str) -> bool:
        return bool(self.git("ls-files", "--", path).strip())

    def ignored(self, path: str) -> bool:
        return subprocess.run(["git", "-C", str(self.path), "check-ignore", "-q", "--no-index", path],
                              capture_output=True).returncode == 0
