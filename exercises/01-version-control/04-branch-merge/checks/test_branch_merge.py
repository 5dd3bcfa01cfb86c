"""Checks for `branch-merge`: a new column made on a branch and merged into main.

Outcomes only: any branch name, any number of commits, any messages, and either
a fast-forward or a merge commit pass, with the branch kept or deleted after the merge.
Whether the work was done on a branch comes from main's reflog (git's own record of
each time main moved, and why): "commit" means a commit made on main, "merge" means
commits brought in from a branch. A branch made after committing on main does not count.
"""

import duckdb
import pytest

from flowcamp.checks import learner_query, reset_hint

SQL = "turnout_by_district.sql"
COLUMN = "inactive"

REFERENCE = """
SELECT
    p.state_house_district                  AS district,
    COUNT(DISTINCT p.person_id)             AS registered,
    COUNT(DISTINCT vh.person_id)            AS voted,
    ROUND(100.0 * COUNT(DISTINCT vh.person_id)
          / NULLIF(COUNT(DISTINCT p.person_id), 0), 1) AS turnout_pct,
    COUNT(DISTINCT CASE WHEN p.voter_status = 'inactive' THEN p.person_id END) AS inactive
FROM voterfile.people AS p
LEFT JOIN voterfile.vote_history AS vh
       ON vh.person_id = p.person_id
      AND vh.election_date = '2022-11-08'
WHERE p.registration_date <= '2022-10-24'
GROUP BY p.state_house_district
"""

RESET = reset_hint()


def _project(repo):
    project = repo("project")
    project.require_repo()
    start = project.facts["start"]
    assert project.resolve(start), f"The exercise's starting commit is gone from project/. {RESET}"
    return project, start


def _run(warehouse, sql):
    """(column names, set of rows) of a query, or raise a plain-words error."""
    try:
        columns, rows = learner_query(warehouse, sql)
        return [c.lower() for c in columns], set(rows)
    except duckdb.Error as e:
        raise AssertionError(
            f"{SQL} on main does not run in DuckDB: {str(e).splitlines()[0]} "
            f"Fix the query on your branch, commit, and merge again."
        ) from None


def _has_column(project, rev):
    text = project.show(rev, SQL) or ""
    return COLUMN in text.lower()


def _main_moves(project):
    """Each time main moved, oldest first: (where it was before, where it went, why), from main's reflog.
    Empty when the repository keeps no reflog for main."""
    out = project.git("log", "-g", "--format=%H%x1f%gs", "refs/heads/main", check=False)
    entries = [line.split("\x1f", 1) for line in reversed(out.splitlines()) if "\x1f" in line]
    moves, before = [], None
    for sha, why in entries:
        moves.append((before, sha, why))
        before = sha
    return moves


def _is_merge_move(why):
    return why.startswith(("merge ", "commit (merge)"))


def _new_on_main(project, start, sha):
    return project.is_ancestor(sha, "main") and not project.is_ancestor(sha, start)


def _committed_on_main(project, start, moves):
    """Commits now on main that were made while on main, and that no merge brought in afterwards:
    [(sha, why)]. (Committing on main by mistake, then moving the commit to a branch and merging it,
    is a fix, not a shortcut.)"""
    merges = [(before, sha) for before, sha, why in moves if _is_merge_move(why)]
    direct = []
    for _, sha, why in moves:
        if not why.startswith("commit") or _is_merge_move(why) or not _new_on_main(project, start, sha):
            continue
        brought_in = any(project.is_ancestor(sha, merged) and not (before and project.is_ancestor(sha, before))
                         for before, merged in merges)
        if not brought_in:
            direct.append((sha, why))
    return direct


def _new_branches(project, start):
    """Branches other than main that hold at least one commit made after the start."""
    return {name: sha for name, sha in project.branches().items()
            if name != "main" and sha != start and project.is_ancestor(start, sha)}


@pytest.mark.points(1)
def test_main_keeps_its_history(repo):
    """main still holds the starting history"""
    project, start = _project(repo)
    branches = project.branches()
    assert "main" in branches, (
        "There is no branch called main any more. Did you rename it? "
        "`git branch -m <its new name> main` gives it its name back."
    )
    assert project.is_ancestor(start, "main"), (
        "main no longer contains the three commits the exercise started with. "
        f"Work on top of them, never instead of them. {RESET}"
    )


@pytest.mark.points(2)
def test_work_was_done_on_a_branch(repo):
    """The new work was made on a branch of its own"""
    project, start = _project(repo)
    new = _new_branches(project, start)
    moves = _main_moves(project)
    direct = _committed_on_main(project, start, moves)
    if direct and new:
        sha, why = direct[-1]
        raise AssertionError(
            f"Your commit {sha[:7]} (\"{why.split(': ', 1)[-1]}\") was made straight on main. git keeps a record "
            "of every time main moved, and why: `git reflog main` shows it as a commit on main, not as a merge. "
            f"The branch {', '.join(sorted(new))} was made afterwards, so it points at work that was done on main. "
            f"{RESET} Then make the branch first (`git switch -c add-inactive`), commit on it, and merge it."
        )
    merged_in = any(_is_merge_move(why) and _new_on_main(project, start, sha) for _, sha, why in moves)
    merges = [c for c in project.commits("main") if c.is_merge and not project.is_ancestor(c.sha, start)]
    if not direct and (new or merges or merged_in):
        return
    others = [name for name in project.branches() if name != "main"]
    if others and project.resolve("main") != start:
        raise AssertionError(
            f"You made the branch {', '.join(others)}, but your commit went onto main: the branch still points "
            "at the starting commit. (`git branch <name>` makes a branch but does not move you onto it; "
            "`git switch -c <name>` does both.) "
            f"{RESET} Then use `git switch -c <name>` before you change the file."
        )
    if others:
        raise AssertionError(
            f"You made the branch {', '.join(others)}, but it has no commit of its own: it still points at "
            "the starting commit. Your commits went somewhere else (maybe straight onto main). Run "
            "`git log --oneline --graph --all` to see. Then switch to your branch with `git switch <name>`, "
            "make the change there and commit it."
        )
    if direct:
        raise AssertionError(
            f"Your commit {direct[-1][0][:7]} was made straight on main (`git reflog main` shows it as a commit "
            f"on main), not on a branch. {RESET} Then make a branch with `git switch -c add-inactive`, commit "
            "the change there, switch back to main and merge it."
        )
    raise AssertionError(
        "There is no branch besides main, and main has not taken in a branch (no merge), so the change was not "
        "tried out on a branch. Make one with `git switch -c add-inactive`, commit the change there, then switch "
        "back to main and merge it. If you committed straight onto main, "
        f"{RESET}"
    )


@pytest.mark.points(2)
def test_branch_is_merged_into_main(repo):
    """Every new branch is merged into main"""
    project, start = _project(repo)
    new = _new_branches(project, start)
    for name, sha in sorted(new.items()):
        assert project.is_ancestor(sha, "main"), (
            f"Branch {name} has commits that main does not have yet. Switch to main with "
            f"`git switch main`, then run `git merge {name}`."
        )
    assert project.resolve("main") != start, (
        "main has not changed since the start. Commit the new column on a branch, then merge "
        "that branch into main."
    )


@pytest.mark.points(3)
def test_query_on_main_has_the_new_column(repo, warehouse):
    """The query on main gives the new `inactive` column, with the right numbers"""
    project, start = _project(repo)
    text = project.show("main", SQL)
    assert text is not None, f"{SQL} is missing from main. Bring it back with `git restore {SQL}` and commit."
    if not _has_column(project, "main"):
        on_branch = [n for n, sha in _new_branches(project, start).items() if _has_column(project, sha)]
        if on_branch:
            raise AssertionError(
                f"Branch {on_branch[0]} has the `{COLUMN}` column, but main does not yet. "
                f"`git switch main`, then `git merge {on_branch[0]}`."
            )
    want_cols, want_rows = _run(warehouse, REFERENCE)
    got_cols, got_rows = _run(warehouse, text)
    assert COLUMN in got_cols, (
        f"The query in {SQL} on main has no column called `{COLUMN}` (it has: {', '.join(got_cols)}). "
        f"Add it in the SELECT with `AS {COLUMN}`, commit on your branch, and merge."
    )
    missing = [c for c in want_cols if c not in got_cols]
    assert not missing, (
        f"The query on main lost the column(s) {', '.join(missing)}. Keep the columns it had "
        f"and add `{COLUMN}` after them."
    )
    idx = [got_cols.index(c) for c in want_cols]
    got = {tuple(row[i] for i in idx) for row in got_rows}
    assert len(got) == len(want_rows), (
        f"The query on main gives {len(got)} rows, but there should be one per district ({len(want_rows)}). "
        "Keep the GROUP BY and the WHERE as they were: only add the new column."
    )
    if got != want_rows:
        want_by_district = {r[0]: r for r in want_rows}
        wrong = [r for r in got if want_by_district.get(r[0]) != r]
        district = wrong[0][0] if wrong else "?"
        raise AssertionError(
            f"The numbers on main are not right yet (look at district {district}). `{COLUMN}` should count the "
            "registered voters in the district whose voter_status is 'inactive', one per person: "
            "COUNT(DISTINCT CASE WHEN ... THEN p.person_id END). The other columns must not change."
        )


@pytest.mark.points(1)
def test_back_on_main_and_clean(repo):
    """You are back on main and everything is committed"""
    project, _ = _project(repo)
    assert not (project.path / ".git" / "MERGE_HEAD").exists(), (
        "A merge is still in progress. Finish it with `git commit`, or cancel it with `git merge --abort`."
    )
    branch = project.current_branch()
    assert branch == "main", (
        f"You are on {branch or 'no branch (a detached HEAD)'}, not main. Run `git switch main`."
    )
    lines = [line for line in project.status() if not line.endswith((".DS_Store", "Thumbs.db"))
             and "__pycache__" not in line]
    assert not lines, (
        "Some changes are not committed: " + ", ".join(line[3:] for line in lines) +
        ". Commit them on your branch and merge again, or undo them with `git restore <file>`."
    )
