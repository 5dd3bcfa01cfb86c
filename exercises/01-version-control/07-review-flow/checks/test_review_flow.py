"""Checks for `review-flow`: a branch pushed to the team's remote, with a follow-up commit for the review.

remote.git is a bare repository (no working files): the checks read it with git
plumbing only. They look at outcomes: any branch name, any messages, one push or
several, `git push -u` or not, all pass.
"""

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pytest

from flowcamp.checks import learner_query, reset_hint

SQL = "turnout_by_district.sql"
ELECTION, CUTOFF = "2024-11-05", "2024-10-21"
OLD_ELECTION, OLD_CUTOFF = "2022-11-08", "2022-10-24"
RESET = reset_hint()

EXPECTED_SQL = f"""
SELECT p.state_house_district, COUNT(DISTINCT p.person_id), COUNT(DISTINCT vh.person_id),
       ROUND(100.0 * COUNT(DISTINCT vh.person_id) / NULLIF(COUNT(DISTINCT p.person_id), 0), 1)
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id AND vh.election_date = DATE '{{election}}'
WHERE p.registration_date <= DATE '{{cutoff}}'
GROUP BY 1
"""


def _remote(repo):
    """The team's remote and what prepare.py recorded about it (main, review_notes, column, reviewer)."""
    remote = repo("remote.git")
    meta = remote.facts
    intact = remote.resolve("refs/heads/review-notes") is not None and remote.resolve(meta["review_notes"]) is not None
    assert intact, (
        f"remote.git/ is missing or damaged. {RESET} It builds remote.git again."
    )
    return remote, meta


def _work(repo):
    work = repo("work")
    assert work.path.is_dir(), (
        "There is no work/ folder yet. In a terminal in the exercise folder (the one with remote.git in it), "
        "run `git clone remote.git work`."
    )
    assert work.is_repo(), (
        "work/ is not a git repository of its own. Delete the work folder and make it again with "
        "`git clone remote.git work`, run in the exercise folder."
    )
    return work


def _url_path(url: str, base: Path) -> Path | None:
    """The folder a remote URL names, if it is a local path or a file:// URL."""
    if url.startswith("file://"):
        url = unquote(urlparse(url).path)
        if os.name == "nt" and url[:1] == "/" and url[2:3] == ":":
            url = url[1:]
    elif "://" in url or (":" in url and not Path(url).drive and not url.startswith("/")):
        return None  # ssh or https: not our local remote
    p = Path(url)
    return (p if p.is_absolute() else base / p).resolve()


def _candidates(remote, meta):
    """The remote's branches that hold new work on top of main: name -> tip."""
    out = {}
    for name, sha in remote.branches().items():
        if name == "main" or sha in (meta["main"], meta["review_notes"]):
            continue
        if remote.is_ancestor(meta["main"], sha):
            out[name] = sha
    return out


def _new_commits(remote, meta, sha):
    """Commits on a branch that are not on main (nor the reviewer's notes), newest first."""
    out = remote.git("rev-list", sha, f"^{meta['main']}", f"^{meta['review_notes']}")
    return [line for line in out.splitlines() if line]


def _unpushed_hint(repo, meta) -> str:
    """A hint when the learner has committed in work/ but the remote does not have it."""
    work = repo("work")
    if not work.path.is_dir() or not work.is_repo():
        return ""
    remote = repo("remote.git")
    for name, sha in sorted(work.branches().items()):
        if sha in (meta["main"], meta["review_notes"]):
            continue
        if remote.resolve(sha) is not None:
            continue
        if name == "main":
            return (" You committed on main in work/ but did not push. Changes go on a branch of their own: "
                    "`git switch -c turnout-2024` (your commits come along), then `git push -u origin turnout-2024`.")
        return f" You have commits on the branch {name} in work/ that are not on the remote yet: run `git push -u origin {name}` inside work/."
    return ""


def _ahead_hint(repo, name, tip) -> str:
    """A hint when work/ has commits on top of the pushed branch that are not pushed yet."""
    work = repo("work")
    if not work.path.is_dir() or not work.is_repo():
        return ""
    for local, sha in sorted(work.branches().items()):
        if sha != tip and work.resolve(tip) is not None and work.is_ancestor(tip, sha):
            return (f" Your branch {local} in work/ has commits that are not pushed yet: run `git push` inside work/"
                    f"{'' if local == name else f' (or `git push origin {local}:{name}`)'}.")
    return ""


def _branch(repo):
    """The learner's review branch on the remote: (remote, meta, name, tip); fail in plain words if none."""
    remote, meta = _remote(repo)
    found = _candidates(remote, meta)
    if not found and remote.resolve("refs/heads/main") not in (None, meta["main"]):
        raise AssertionError(
            "Your commits went to main on the remote, not to a branch of their own, so there is nothing to review. "
            f"{RESET} This time make a branch before you commit (`git switch -c turnout-2024`) "
            "and push that branch."
        )
    if not found:
        raise AssertionError(
            "The remote has no branch with your work yet. In work/, make a branch (`git switch -c turnout-2024`), "
            "commit your change on it, and push it: `git push -u origin turnout-2024`." + _unpushed_hint(repo, meta)
        )
    # If several, take the one with the most new commits (the others are probably experiments).
    name = max(sorted(found), key=lambda n: len(_new_commits(remote, meta, found[n])))
    return remote, meta, name, found[name]


def _run(sql: str, warehouse: Path):
    return learner_query(warehouse, sql)


def _learner_result(remote, name, tip, warehouse):
    sql = remote.show(tip, SQL)
    assert sql is not None, (
        f"{SQL} is missing on your branch {name}. Bring it back in work/ with `git restore --source=origin/main {SQL}`, "
        "commit, and push again."
    )
    try:
        return sql, *_run(sql, warehouse)
    except duckdb.Error as e:
        raise AssertionError(
            f"{SQL} on your branch {name} does not run in DuckDB: {str(e).splitlines()[0]}. "
            "Fix it in work/, commit, and push again."
        ) from None


@pytest.mark.points(1)
def test_work_is_a_clone_of_the_remote(repo):
    """work/ is a clone of remote.git"""
    remote, _ = _remote(repo)
    work = _work(repo)
    url = work.git("config", "--get", "remote.origin.url", check=False).strip()
    assert url, (
        "work/ has no remote called origin. Make it by cloning: delete work/ and run `git clone remote.git work` "
        "in the exercise folder (or, inside work/, `git remote add origin ../remote.git`)."
    )
    target = _url_path(url, work.path)
    # A workspace that moved (to another folder, or to the grader's machine) keeps the old absolute path: the
    # same exercise's remote.git, at the end of the same folders, is the same remote.
    moved = target is not None and target.parts[-3:] == Path(remote.path).resolve().parts[-3:]
    assert target == remote.path or moved, (
        f"work/'s origin points at {url}, not at this exercise's remote.git. Inside work/, run "
        "`git remote set-url origin ../remote.git`."
    )


@pytest.mark.points(1)
def test_main_on_the_remote_is_untouched(repo):
    """main on the remote is untouched"""
    remote, meta = _remote(repo)
    now = remote.resolve("refs/heads/main")
    assert now is not None, (
        f"The remote has no main branch any more. {RESET} It rebuilds remote.git and removes work/."
    )
    if now != meta["main"]:
        extra = len(remote.git("rev-list", now, f"^{meta['main']}").split())
        raise AssertionError(
            f"main on the remote has changed ({extra} new commit(s)): you pushed to main. On the team's GitHub that "
            "would put an unreviewed change into production. Changes go on their own branch and reach main only "
            f"after review. {RESET} Then push a branch instead, e.g. `git push -u origin turnout-2024`."
        )


@pytest.mark.points(2)
def test_a_branch_is_pushed(repo):
    """Your branch is on the remote, built on main"""
    _branch(repo)


def _amended_commit(repo, tip):
    """When work/'s reflog says the commit now at the remote branch's tip was made with `git commit --amend`:
    the commit it replaced (the reviewed one). None otherwise."""
    work = repo("work")
    if not work.path.is_dir() or not work.is_repo():
        return None
    for local, sha in sorted(work.branches().items()):
        if sha != tip:
            continue
        out = work.git("log", "-g", "--format=%H%x1f%gs", f"refs/heads/{local}", check=False)
        entries = [line.split("\x1f", 1) for line in out.splitlines() if "\x1f" in line]  # newest first
        for i, (new, why) in enumerate(entries[:-1]):
            if new == tip and why.startswith("commit (amend)"):
                return entries[i + 1][0]
    return None


def _amend_message(remote, name, replaced) -> str:
    pushed = remote.resolve(replaced) is not None
    what = ("and replaced it on the remote with `git push --force`. That rewrote history the reviewer had "
            "already read" if pushed else "instead of adding a new commit on top of it")
    return (
        f"Your branch {name} has one commit beyond main: you changed your first commit with `git commit --amend` "
        f"{what}, so they cannot see just what changed since their review (and anyone who had fetched the "
        "branch now has a copy that no longer matches). Your first commit is not lost: `git reflog` in work/ "
        f"still lists it, as {replaced[:7]}. To make the review fix a commit of its own, in work/: "
        f"`git reset --soft {replaced[:7]}` (the branch goes back to your first commit; the rename stays, "
        "staged), then `git commit -m \"Rename the column, as asked in review\"`, then "
        "`git push --force-with-lease` (this once: the remote has the amended commit, and this replaces it; "
        "--force-with-lease refuses if someone else pushed to your branch meanwhile). "
        f"Or start again: {RESET}"
    )


@pytest.mark.points(1)
def test_review_fix_is_a_follow_up_commit(repo):
    """The branch has your change and a follow-up commit for the review"""
    remote, meta, name, tip = _branch(repo)
    commits = _new_commits(remote, meta, tip)
    if len(commits) >= 2:
        return
    replaced = _amended_commit(repo, tip)
    if replaced is not None and len(commits) == 1:
        raise AssertionError(_amend_message(remote, name, replaced))
    sql = remote.show(tip, SQL) or ""
    if commits and re.search(rf"\b{re.escape(meta['column'])}\b", sql):
        raise AssertionError(
            f"Your branch {name} has one commit beyond main, and it already holds the reviewer's rename. The "
            "reviewer wants the rename as a new commit on top of the one they read, so they can see just what "
            f"changed since. {RESET} Then commit and push the two dates first, read the review, and make the "
            "rename a second commit."
        )
    raise AssertionError(
        f"Your branch {name} has {len(commits)} commit beyond main. The reviewer wants their change as a new "
        "commit on the same branch, so they can see what changed since they read it: make the change in work/, "
        "commit it, and `git push` again." + _ahead_hint(repo, name, tip)
    )


@pytest.mark.points(2)
def test_query_counts_2024(repo, warehouse):
    """The query on your branch counts the 2024 general election"""
    remote, meta, name, tip = _branch(repo)
    sql, _, rows = _learner_result(remote, name, tip, warehouse)
    _, want = _run(EXPECTED_SQL.format(election=ELECTION, cutoff=CUTOFF), warehouse)
    if sorted(rows) == sorted(want):
        return
    for old, new, what in ((OLD_ELECTION, ELECTION, "election date"), (OLD_CUTOFF, CUTOFF, "registration cutoff")):
        assert old not in sql, (
            f"{SQL} on your branch {name} still has the 2022 {what} '{old}'. Change it to '{new}' in work/, "
            "commit, and push again."
        )
    raise AssertionError(
        f"{SQL} on your branch {name} gives different numbers from the 2024 query. Change only the two dates "
        f"(election '{ELECTION}', registration cutoff '{CUTOFF}') and the column name; keep the rest as it was "
        f"on main. Compare with `git diff origin/main {name}` in work/."
    )


@pytest.mark.points(2)
def test_review_request_is_done(repo, warehouse):
    """The reviewer's request is done on your branch"""
    remote, meta, name, tip = _branch(repo)
    _, columns, _ = _learner_result(remote, name, tip, warehouse)
    wanted = ["district", "registered", "voted", meta["column"]]
    assert [c.lower() for c in columns] == wanted, (
        f"On your branch {name} the query's columns are {', '.join(columns)}; the reviewer asked for "
        f"{', '.join(wanted)}. Read the review with `git show origin/review-notes:REVIEW.md` in work/, rename "
        "the column in a new commit, and push again." + _ahead_hint(repo, name, tip)
    )


@pytest.mark.points(1)
def test_nothing_left_unpushed(repo):
    """Everything you committed in work/ is on the remote"""
    remote, meta = _remote(repo)
    work = _work(repo)
    for name, sha in sorted(work.branches().items()):
        on_remote = remote.resolve(sha) is not None and any(
            remote.is_ancestor(sha, tip) for tip in remote.branches().values())
        assert on_remote, (
            f"The branch {name} in work/ has commits the remote does not have. Run `git push` inside work/ "
            f"(the first time for a branch: `git push -u origin {name}`)."
        )
    changed = [line[3:] for line in work.status() if not line.startswith("??")]
    assert not changed, (
        f"These files in work/ changed since your last commit: {', '.join(changed)}. Commit them and push, "
        "or undo the change with `git restore <file>`."
    )
