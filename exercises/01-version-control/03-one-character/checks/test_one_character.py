"""Checks for `one-character`: the bad commit is undone by a new commit, and nothing else is lost.

They look at the outcome only: `git revert` and a hand-made fix that puts the character back both pass.
What they compare: the starting HEAD and the bad commit (the facts prepare.py returns, rebuilt from the
course's own code: `repo("pipeline").facts`), the files at HEAD, and the turnout table that HEAD's SQL
builds in the held-out warehouse.
"""

import duckdb
import pytest

from flowcamp.checks import learner_query, reset_hint

RESET = reset_hint()


def _norm(text):
    return None if text is None else text.replace("\r\n", "\n")


def _pipeline(repo):
    """The pipeline repository and what prepare.py recorded about it."""
    pipe = repo("pipeline")
    pipe.require_repo()
    info = pipe.facts
    assert pipe.resolve(info["start"]) and pipe.resolve(info["bad"]), (
        f"The commits this exercise started with are gone from pipeline/. {RESET}"
    )
    return pipe, info


def _on_branch(pipe):
    """The pipeline repository must be on a branch, not mid-bisect, before the other checks mean anything."""
    stuck = (pipe.path / ".git" / "BISECT_LOG").exists() or pipe.current_branch() is None
    assert not stuck, "Waiting for the first check: go back to your branch first (`git bisect reset`)."


def _kept(pipe, info):
    """The other checks only make sense once the history you started with is kept."""
    _on_branch(pipe)
    head = pipe.head()
    assert head and pipe.is_ancestor(info["start"], head), (
        "Waiting for the check on history: first get back the commits you started with."
    )


def _expected(pipe, info):
    """Every file of the starting HEAD, with the deleted character put back in the SQL file."""
    files = {}
    for name in pipe.files_at(info["start"]):
        files[name] = _norm(pipe.show(info["start"], name))
    files[info["file"]] = files[info["file"]].replace(info["broken"], info["good"], 1)
    return files


def _bad_line(info):
    return f"`{info['good']}` became `{info['broken']}`"


@pytest.mark.points(1)
def test_not_in_the_middle_of_bisect(repo):
    """You finished bisecting and are back on your branch"""
    pipe, _ = _pipeline(repo)
    assert not (pipe.path / ".git" / "BISECT_LOG").exists(), (
        "git is still bisecting in pipeline/ (your files are those of an old commit). When you have the "
        "commit's id, run `git bisect reset` to go back to your branch, then undo the commit there."
    )
    for name in ("REVERT_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD"):
        assert not (pipe.path / ".git" / name).exists(), (
            "A `git revert` in pipeline/ stopped half-way (git is waiting for you). If it asks for a "
            "message, save and close the editor. Otherwise run `git status`: it says what to do next, "
            "or `git revert --abort` to start that step again."
        )
    assert pipe.current_branch() is not None, (
        "pipeline/ is in 'detached HEAD': you are looking at an old commit, not at your branch. "
        "Run `git switch main` (or `git bisect reset` if you were bisecting) and make your fix there."
    )


@pytest.mark.points(2)
def test_history_is_kept(repo):
    """Every commit you started with is still in the history, and the fix is a new commit"""
    pipe, info = _pipeline(repo)
    _on_branch(pipe)
    start, head = info["start"], pipe.head()
    assert head, f"pipeline/ has no commits. {RESET}"
    if not pipe.is_ancestor(start, head):
        lost = len(pipe.git("rev-list", f"{head}..{start}").split())
        if pipe.is_ancestor(head, start):
            raise AssertionError(
                f"Your branch moved back in time: the newest {lost} commit(s) are no longer in its history "
                f"(a `git reset` or a checkout of an old commit?). That throws away your team's later work "
                f"and rewrites history others may already have. {RESET} Then undo only the bad commit, "
                f"with a new commit on top (`git revert <id>`)."
            )
        parents = pipe.commits(head)[0].parents if pipe.commits(head) else ()
        start_parents = pipe.commits(start)[0].parents
        if parents == start_parents:
            raise AssertionError(
                "You changed the last commit (`git commit --amend`?) instead of adding a new one. "
                "Once others have a commit, never change it: add a new commit that undoes the bad one. "
                f"{RESET}"
            )
        raise AssertionError(
            f"History was rewritten: {lost} commit(s) you started with are no longer in your branch's "
            f"history. Never rewrite history others may have. {RESET} Then add a new commit on top."
        )
    assert head != start, (
        "There is no new commit yet: HEAD is still the commit you started with. Find the bad commit "
        "(`git log -p sql/turnout_by_district.sql` or `git bisect`), then undo it with "
        "`git revert <id>`."
    )


@pytest.mark.points(2)
def test_bad_change_is_undone(repo):
    """The deleted character is back in the committed SQL"""
    pipe, info = _pipeline(repo)
    _kept(pipe, info)
    sql = info["file"]
    expected = _expected(pipe, info)[sql]
    committed = _norm(pipe.show("HEAD", sql))
    assert committed is not None, f"{sql} is no longer in your latest commit. Bring it back and commit it."
    if committed == expected:
        return
    on_disk = pipe.path / sql
    disk = _norm(on_disk.read_text(encoding="utf-8", errors="replace")) if on_disk.is_file() else None
    if info["broken"] in committed and disk == expected:
        raise AssertionError(
            f"You fixed {sql} in your folder but did not commit the fix. Run "
            f"`git add {sql}` and `git commit -m \"...\"` inside pipeline/."
        )
    if info["broken"] in committed:
        raise AssertionError(
            f"The committed {sql} still has the bad change. One commit deleted a single character from "
            f"it. Look for it with `git log -p {sql}`, or let `git bisect run uv run python "
            f"check_turnout.py` find it, then undo that commit with `git revert <id>`."
        )
    raise AssertionError(
        f"The committed {sql} is not the query as it was before the bad commit, with the later changes "
        f"kept. Compare with `git diff {info['start'][:7]} HEAD -- {sql}`: the only difference should "
        f"be the one character put back."
    )


@pytest.mark.points(2)
def test_later_work_survives(repo):
    """The later commits' changes are all still there, and nothing else changed"""
    pipe, info = _pipeline(repo)
    _kept(pipe, info)
    expected = _expected(pipe, info)
    missing = [name for name in expected if name not in pipe.files_at("HEAD")]
    assert not missing, (
        f"These files were in the repository but are missing from your latest commit: "
        f"{', '.join(missing)}. Undo only the bad commit; later work must stay."
    )
    for name, text in expected.items():
        if name == info["file"]:
            if info["broken"] in _norm(pipe.show("HEAD", name)):
                continue  # still broken: the check above says so
            start_lines = set(_norm(pipe.show(info["start"], name)).splitlines())
            lost = [line for line in start_lines if line not in _norm(pipe.show("HEAD", name)).splitlines()
                    and info["broken"] not in line]
            assert not lost, (
                f"A later change to {name} was undone: `{lost[0].strip()}` is gone. Did you undo the "
                f"wrong commit? Undo only the commit that deleted one character."
            )
            continue
        assert _norm(pipe.show("HEAD", name)) == text, (
            f"{name} is not as the later commits left it. Did you undo the wrong commit? Undo it "
            f"again (`git revert <id of your undo>`), then undo only the commit that deleted one character."
        )


@pytest.mark.points(2)
def test_turnout_table_is_right(repo, warehouse):
    """The turnout table built from the committed SQL is right again"""
    pipe, info = _pipeline(repo)
    sql = _norm(pipe.show("HEAD", info["file"]))
    assert sql is not None, f"{info['file']} is missing from your latest commit."
    reference = _expected(pipe, info)[info["file"]]
    _, want = learner_query(warehouse, reference)
    try:
        _, got = learner_query(warehouse, sql)
    except duckdb.Error as e:
        raise AssertionError(f"The committed {info['file']} does not run in DuckDB: {e}") from None
    if got == want:
        return
    if len(got) != len(want):
        what = f"it has {len(got)} rows, the right table has {len(want)}"
    else:
        wrong = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
        what = f"row {wrong + 1} is {tuple(got[wrong])}, it should be {tuple(want[wrong])}"
    raise AssertionError(
        f"The table that the committed {info['file']} builds is still wrong: {what}. Run "
        f"`uv run python check_turnout.py` in pipeline/ to see what is off, on your own data."
    )


@pytest.mark.points(1)
def test_working_tree_is_clean(repo):
    """Nothing is left uncommitted"""
    pipe, _ = _pipeline(repo)
    lines = [line for line in pipe.status() if "__pycache__" not in line]
    assert not lines, (
        f"pipeline/ has changes that are not committed: {', '.join(line[3:] for line in lines)}. "
        f"Commit what belongs to the fix, and undo the rest with `git restore <file>` "
        f"(delete new files you made by mistake)."
    )
