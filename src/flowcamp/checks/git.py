"""Reading a learner's git repository from a check: commits, parents, trees, file contents, status, and
the facts prepare.py recorded. Every git command is hardened against the repository's own config."""

from __future__ import annotations

import copy
import re
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flowcamp import proc
from flowcamp.checks.learner import LearnerError
from flowcamp.checks.processes import generation, something_changed


def reset_hint() -> str:
    """The sentence that tells a learner how to start this exercise again (its id from FLOWCAMP_EXERCISE):

    '`uv run flowcamp reset <id>` starts the exercise again (your files are backed up first).'
    """
    command = " ".join(["uv run flowcamp reset", os.environ.get("FLOWCAMP_EXERCISE", "")]).strip()
    return f"`{command}` starts the exercise again (your files are backed up first)."


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


_MEMO: dict = {}
_FULL_SHA = re.compile(r"[0-9a-f]{40}(:.*)?")
_READS = {"show", "log", "diff-tree", "ls-tree", "cat-file", "rev-parse", "rev-list", "merge-base",
          "for-each-ref", "symbolic-ref", "ls-files", "check-ignore"}
_LOOKS = {"status", "config"}  # reads too, but of the working tree or config: asked afresh every time
def _memo_key(path: Path, args: tuple[str, ...]):
    """How a read is remembered: one that names only full commit ids (``sha`` or ``sha:path``) for the whole
    check run (its answer cannot change); any other read (branches, HEAD, the index) until learner code
    runs or a command that may write (clone, ...) runs (``processes.something_changed``)."""
    if not args or args[0] not in _READS:
        return None
    positional = [a for a in args[1:] if not a.startswith("-")]
    if positional and all(_FULL_SHA.fullmatch(a) for a in positional) and "--all" not in args:
        return (str(path), args)
    return (str(path), args, generation())


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

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        """git, hardened: none of the repository's or the user's executable config runs (see
        flowcamp.proc.SAFE_GIT_CONFIG); no external diff or textconv. What a commit holds never changes, so a
        read is asked of git once per check run, or until something may have changed the repository
        (``processes.something_changed``)."""
        key = _memo_key(self.path, args)
        if key in _MEMO:
            return _MEMO[key]
        done = subprocess.run(proc.safe_git(self.path, *args), capture_output=True, env=proc.git_env(),
                              stdin=subprocess.DEVNULL)
        if key is not None and (done.returncode == 0 or len(key) == 3):
            _MEMO[key] = done
        elif key is None and args[0] not in _LOOKS:
            something_changed()
        return done

    def config(self, key: str) -> str:
        """A setting as git would see it when the learner commits here: the repository's own config and the
        learner's global config (reading config runs nothing). '' when nothing sets it."""
        done = subprocess.run(proc.safe_git(self.path, "config", "--get", key), capture_output=True,
                              env=proc.git_env(keep_user_config=True), stdin=subprocess.DEVNULL)
        return done.stdout.decode("utf-8", errors="replace").strip()

    def git(self, *args: str, check: bool = True) -> str:
        done = self._run(*args)
        if check and done.returncode != 0:
            raise LearnerError(f"git {' '.join(args)} failed in {self.path.name}/: "
                               f"{done.stderr.decode('utf-8', 'replace').strip()}")
        return done.stdout.decode("utf-8", errors="replace")

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
        args = ["log", "--no-ext-diff", "--no-textconv", f"--format={self._FMT}", "--topo-order"]
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
        out = self.git("diff-tree", "--no-ext-diff", "--no-textconv", "--no-commit-id", "--name-only", "-r", "--root", "-m", "--first-parent", sha)
        return sorted(set(filter(None, out.splitlines())))

    def files_at(self, rev: str = "HEAD") -> list[str]:
        if self.resolve(rev) is None:
            return []
        return sorted(filter(None, self.git("ls-tree", "-r", "--name-only", rev).splitlines()))

    def show(self, rev: str, path: str) -> str | None:
        """A file's content at a revision, or None if it is not there."""
        done = self._run("show", "--no-textconv", f"{rev}:{path}")
        if done.returncode != 0:
            return None
        return done.stdout.decode("utf-8", errors="replace")

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
        return self._run("merge-base", "--is-ancestor", a, b).returncode == 0

    def tracked(self, path: str) -> bool:
        return bool(self.git("ls-files", "--", path).strip())

    def ignored(self, path: str) -> bool:
        return self._run("check-ignore", "-q", "--no-index", path).returncode == 0
