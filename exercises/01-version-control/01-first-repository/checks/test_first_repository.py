"""Checks for `first-repository`: project/ is a repository with a sensible history.

They look at outcomes only. Any number of commits, any branch name and any
commit messages pass, as long as both files are safely committed.
"""

from pathlib import Path

import pytest

from flowcamp.checks import reset_hint

TRACKED = ["turnout_by_district.sql", "run_turnout.py"]

# Files the computer makes on its own; an untracked one is not the learner's fault.
SYSTEM_JUNK = {".DS_Store", "Thumbs.db", "desktop.ini"}


def _junk(path: str) -> bool:
    parts = path.strip('"').split("/")
    return parts[-1] in SYSTEM_JUNK or "__pycache__" in parts


def _project(repo, first: bool = False):
    """The learner's project/ repository; fail in plain words unless it is its own repository.

    Only the first check explains the problem in full; the others point back at it,
    so the learner reads one message, not seven copies of it.
    """
    project = repo("project")
    assert project.path.is_dir(), (
        f"The project/ folder is missing. {reset_hint()}"
    )
    if project.is_repo():
        return project
    assert first, "Waiting for the first check: project/ must be a git repository of its own."
    top = project.git("rev-parse", "--show-toplevel", check=False).strip()
    top_path = Path(top).resolve() if top else None
    if top_path == project.path.parent:
        raise AssertionError(
            f"You ran `git init` one folder too high, in {top_path.name}/, so git treats "
            f"project/ as an ordinary folder inside that repository. {reset_hint()} Then open a new "
            f"terminal in project/ and run `git init` there."
        )
    if top_path is not None and not (top_path / ".flowcamp").is_dir():
        raise AssertionError(
            f"project/ is inside the repository at {top}, not a repository of its own. "
            f"cd into project/ and run `git init` there. Check with "
            f"`git rev-parse --show-toplevel`: it must print a path that ends in project."
        )
    raise AssertionError(
        "project/ is not a git repository yet. Open a terminal in the project "
        "folder and run `git init` there. Then `git rev-parse --show-toplevel` "
        "must print a path that ends in project."
    )


def _staged(lines):
    return [line[3:] for line in lines if line[:1] not in (" ", "?")]


def _identity_missing(project) -> str:
    """The first of `user.name`, `user.email` that no git config sets, or "" when both are set.

    Without them `git commit` stops with "Please tell me who you are", and commits nothing.
    """
    for key in ("user.name", "user.email"):
        if not project.config(key):
            return key
    return ""


SET_IDENTITY = (
    "Tell git your name and email once for this computer: `git config --global user.name \"Your Name\"` "
    "and `git config --global user.email \"you@example.org\"`."
)


def _with_commits(repo, first: bool = False):
    """The project repository and its commits (newest first); fail unless there is one."""
    project = _project(repo)
    commits = project.commits()
    assert commits or first, "Waiting for the second check: project/ needs a commit first."
    staged = _staged(project.status())
    missing = "" if commits else _identity_missing(project)
    if missing:
        if staged:
            raise AssertionError(
                f"You staged {', '.join(staged)}, but there is no commit yet. git does not know who you are "
                f"(`git config {missing}` prints nothing), so `git commit` stops with \"Please tell me who you "
                f"are\" and saves nothing. {SET_IDENTITY} Then run `git commit -m \"a short message\"` "
                "inside project/ again."
            )
        raise AssertionError(
            "project/ has no commits yet. Stage a file with `git add <file>`, then save it with "
            "`git commit -m \"a short message\"`. Before you commit, tell git who you are: it does not know yet "
            f"(`git config {missing}` prints nothing). {SET_IDENTITY}"
        )
    assert commits or not staged, (
        f"You staged {', '.join(staged)} but have not committed yet. Run "
        f"`git commit -m \"a short message\"` inside project/ to save them."
    )
    assert commits, (
        "project/ has no commits yet. Stage a file with `git add <file>`, then "
        "save it with `git commit -m \"a short message\"`."
    )
    return project, commits


def _same_text(a: str, b: str) -> bool:
    """Equal, not counting Windows line endings (git may convert them)."""
    return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")


@pytest.mark.points(1)
def test_project_is_its_own_repository(repo):
    """project/ is its own git repository"""
    _project(repo, first=True)


@pytest.mark.points(1)
def test_has_a_commit(repo):
    """The repository has at least one commit"""
    _with_commits(repo, first=True)


@pytest.mark.points(2)
def test_files_committed_as_they_are(repo):
    """Both files are committed, as they are now"""
    project, _ = _with_commits(repo)
    for name in TRACKED:
        committed = project.show("HEAD", name)
        assert committed is not None, (
            f"{name} is not in your latest commit. Run `git add {name}` and "
            f"then `git commit -m \"...\"` inside project/."
        )
        on_disk = project.path / name
        assert on_disk.is_file(), (
            f"{name} is committed but missing from project/. Bring it back with "
            f"`git restore {name}`."
        )
        assert _same_text(committed, on_disk.read_text(encoding="utf-8", errors="replace")), (
            f"{name} has changed since you last committed it. Run `git add "
            f"{name}` and `git commit -m \"...\"` again to save the new version."
        )


@pytest.mark.points(1)
def test_nothing_left_uncommitted(repo):
    """Nothing is left uncommitted"""
    project, _ = _with_commits(repo)
    lines = project.status()
    staged = _staged(lines)
    changed = [line[3:] for line in lines if line[1:2] not in (" ", "?")]
    untracked = [line[3:] for line in lines if line.startswith("??") and not _junk(line[3:])]
    assert not staged, (
        f"These changes are staged but not committed: {', '.join(staged)}. "
        f"Run `git commit -m \"...\"` to save them."
    )
    assert not changed, (
        f"These files changed since your last commit: {', '.join(changed)}. "
        f"`git add` them and commit again (or undo the change)."
    )
    assert not untracked, (
        f"git is not tracking these files: {', '.join(untracked)}. Commit them "
        f"with `git add` and `git commit`, or delete them if you made them by mistake."
    )


@pytest.mark.points(1)
def test_commits_have_an_author(repo):
    """Every commit has an author name and email"""
    _, commits = _with_commits(repo)
    for c in commits:
        assert c.author_name.strip() and c.author_email.strip(), (
            f"Commit {c.sha[:7]} has no author name or email. Set them with "
            f"`git config user.name \"Your Name\"` and `git config user.email "
            f"\"you@example.org\"`, then reset the exercise and commit again."
        )


@pytest.mark.points(1)
def test_history_is_one_line(repo):
    """History is one straight line from a first commit"""
    _, commits = _with_commits(repo)
    for c in commits:
        assert not c.is_merge, (
            f"Commit {c.sha[:7]} joins {len(c.parents)} lines of history (a merge). "
            f"For this exercise keep one straight line: {reset_hint()} Then commit on one branch."
        )
    roots = [c.sha[:7] for c in commits if not c.parents]
    assert len(roots) == 1, (
        f"History has {len(roots)} first commits ({', '.join(roots)}); it should have "
        f"exactly one. Reset the exercise and start again with a single `git init`."
    )


@pytest.mark.points(1)
def test_every_commit_changes_something(repo):
    """Every commit changes at least one file"""
    project, commits = _with_commits(repo)
    for c in commits:
        assert project.changed_files(c.sha), (
            f"Commit {c.sha[:7]} (\"{c.subject}\") changes no files. A commit should "
            f"save a change: `git add` a file before each `git commit`. {reset_hint()} "
            f"Then commit again."
        )
