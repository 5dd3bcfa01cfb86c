"""Checks for `undo-toolkit`: three everyday mistakes, each undone.

They read the result only: the index, the files on disk, the commits and their trees.
Old commands (`git reset HEAD <file>`, `git checkout -- <file>`, `git reset --soft HEAD~1`
and a new commit) pass as well as `git restore` and `git commit --amend`.
"""

import re

import pytest

from flowcamp.checks import reset_hint

RESET = reset_hint()
EXPORT = "voter_export.csv"
DELETED = "run_turnout.py"
KEEP_SQL = "deadline_check.sql"
MISSING = "run_deadline_check.py"
TYPOS = ["chek", "registratons", "deadlne"]


def _project(repo):
    project = repo("project")
    project.require_repo()
    assert project.head(), f"project/ has no commits any more. {RESET}"
    return project


def _same_text(a, b):
    return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")


def _fix_route(project):
    """The one route back to a fixed last commit from wherever the learner is, in words: fold any commits
    made on top back into the last one, keep the export out, add the script, amend. Every check that finds
    the history in the wrong shape gives this same route."""
    extra = len(project.commits()) - 2
    steps = []
    if extra > 0:
        steps.append(f"`git reset --soft HEAD~{extra}` (this undoes your {extra} newer commit(s) but keeps "
                     "their changes, staged)")
    if project.tracked(EXPORT) and EXPORT in project.files_at(f"HEAD~{max(extra, 0)}"):
        steps.append(f"`git rm --cached {EXPORT}` (out of the commit, still on disk)")
    elif project.tracked(EXPORT):
        steps.append(f"`git restore --staged {EXPORT}` (out of the commit, still on disk)")
    if not project.tracked(MISSING):
        steps.append(f"`git add {MISSING}`")
    steps.append("`git commit --amend -m \"the corrected message\"`")
    return "In project/, run " + ", then ".join(steps) + "."


def _first_commit(project):
    roots = project.git("rev-list", "--max-parents=0", "HEAD").split()
    return roots[-1] if roots else None


@pytest.mark.points(2)
def test_export_unstaged_and_kept(repo):
    """(a) The voter export is out of the commit, but still on disk"""
    project = _project(repo)
    if EXPORT in project.files_at("HEAD"):
        raise AssertionError(f"{EXPORT} went into your last commit. Take it out again. {_fix_route(project)}")
    start = project.facts["start"]
    for c in project.commits():
        if c.sha != start and EXPORT in project.files_at(c.sha):
            raise AssertionError(
                f"{EXPORT} is in commit {c.sha[:7]} (\"{c.subject}\"). Personal data must not be in any commit. "
                f"{_fix_route(project)}"
            )
    for c in project.commits(all_refs=True):
        assert EXPORT not in project.files_at(c.sha), (
            f"{EXPORT} is in commit {c.sha[:7]} (\"{c.subject}\"). Personal data must not be in any commit. "
            f"{RESET}"
        )
    assert not project.tracked(EXPORT), (
        f"{EXPORT} is still staged, so it would go into your next commit. Unstage it with "
        f"`git restore --staged {EXPORT}`. The file stays on disk."
    )
    path = project.path / EXPORT
    assert path.is_file(), (
        f"{EXPORT} is gone from project/. The task was to unstage it and keep it (someone still needs it). "
        f"`git rm` deletes the file too; `git restore --staged` does not. {RESET}"
    )
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    assert len(lines) > 1 and lines[0] == "person_id,first_name,last_name,phone", (
        f"{EXPORT} is still on disk but its rows are gone. Unstaging must not change the file. "
        f"{RESET}"
    )


@pytest.mark.points(2)
def test_deleted_file_restored(repo):
    """(b) run_turnout.py is back, unchanged"""
    project = _project(repo)
    first = _first_commit(project)
    original = project.show(first, DELETED) if first else None
    assert original is not None, f"The first commit has lost {DELETED}. {RESET}"
    if project.show("HEAD", DELETED) is None:
        raise AssertionError(
            f"Your last commit deletes {DELETED}. Put it back with `git restore --source=HEAD~1 --staged "
            f"--worktree {DELETED}`, then `git commit --amend --no-edit`."
        )
    path = project.path / DELETED
    if not path.is_file():
        if not project.tracked(DELETED):
            raise AssertionError(
                f"{DELETED} is deleted and the deletion is staged (as `git rm` does). Undo both: "
                f"`git restore --staged {DELETED}`, then `git restore {DELETED}`."
            )
        raise AssertionError(
            f"{DELETED} is still missing from project/. git still has it: bring it back with "
            f"`git restore {DELETED}`."
        )
    assert _same_text(path.read_text(encoding="utf-8", errors="replace"), original), (
        f"{DELETED} is back, but it is not the same as the committed version. Get the committed version "
        f"with `git restore {DELETED}` (this drops your changes to it)."
    )
    assert _same_text(project.show("HEAD", DELETED), original), (
        f"Your last commit changes {DELETED}. It should not: put the old version back with "
        f"`git restore --source=HEAD~1 --staged --worktree {DELETED}` and `git commit --amend --no-edit`."
    )


@pytest.mark.points(2)
def test_last_commit_fixed_in_place(repo):
    """(c) The last commit is fixed, not followed by a new one"""
    project = _project(repo)
    commits = project.commits()
    merges = [c for c in commits if c.is_merge]
    assert not merges, f"Commit {merges[0].sha[:7]} is a merge. {RESET}"
    if len(commits) > 2:
        raise AssertionError(
            f"History has {len(commits)} commits; it should still have 2. You added a new commit on top "
            f"instead of fixing the last one. Fold it back in. {_fix_route(project)}"
        )
    if len(commits) < 2:
        raise AssertionError(
            f"History has only 1 commit: the one that added {KEEP_SQL} is gone (did `git reset` go a step "
            f"too far?). Stage {KEEP_SQL} and {MISSING} and commit them again."
        )
    head = commits[0]
    untouched = MISSING not in project.files_at("HEAD") and any(
        re.search(rf"\b{t}\b", head.message, re.IGNORECASE) for t in TYPOS
    )
    assert not untouched, f"The last commit is not fixed yet: it still has the typo and still lacks {MISSING}. " \
                          f"{_fix_route(project)}"
    assert KEEP_SQL in project.files_at("HEAD"), (
        f"Your last commit lost {KEEP_SQL}. Put it back: `git add {KEEP_SQL}`, then "
        f"`git commit --amend --no-edit`."
    )


@pytest.mark.points(1)
def test_message_fixed(repo):
    """(c) The last commit's message has no typo"""
    project = _project(repo)
    head = project.commits()[0]
    assert head.message.strip(), "Your last commit has an empty message. Give it one: `git commit --amend -m \"...\"`."
    typos = [t for t in TYPOS if re.search(rf"\b{t}\b", head.message, re.IGNORECASE)]
    assert not typos, (
        f"The last commit's message still says \"{typos[0]}\". Fix it with "
        f"`git commit --amend -m \"your corrected message\"`."
    )


@pytest.mark.points(1)
def test_missing_script_in_last_commit(repo):
    """(c) run_deadline_check.py is in the last commit"""
    project = _project(repo)
    committed = project.show("HEAD", MISSING)
    if committed is None:
        where = "It is staged, but the commit was not amended" if project.tracked(MISSING) else "It is not even staged"
        raise AssertionError(
            f"{MISSING} belongs in the last commit, with {KEEP_SQL}, but it is not there. {where}. "
            f"Run `git add {MISSING}`, then `git commit --amend`."
        )
    path = project.path / MISSING
    assert path.is_file(), f"{MISSING} is committed but missing from project/. Bring it back with `git restore {MISSING}`."
    assert _same_text(path.read_text(encoding="utf-8", errors="replace"), committed), (
        f"{MISSING} changed after you committed it. `git add {MISSING}` and `git commit --amend --no-edit`."
    )
