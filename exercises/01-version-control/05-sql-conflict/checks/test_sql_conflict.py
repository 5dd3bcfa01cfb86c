"""Checks for `sql-conflict`: by-district merged into main, with both changes kept.

Outcomes only: any way of resolving the conflict passes (editor, VS Code's merge
editor, taking one side and retyping the other's change, merging in either order)
as long as the merged query gives the rows both changes together give.
"""

import duckdb
import pytest

from flowcamp.checks import learner_query, reset_hint

SQL = "active_voters.sql"
MARKERS = ("<<<<<<<", "=======", ">>>>>>>")
RESET = reset_hint()

DEMS = "UPPER(TRIM(p.party)) IN ('D', 'DEM', 'DEMOCRAT', 'DEMOCRATIC')"
BOTH = f"""
SELECT p.state_house_district AS district, COUNT(*) AS voters, COUNT(p.email) AS with_email
FROM voterfile.people AS p
WHERE p.voter_status = 'active' AND {DEMS}
GROUP BY p.state_house_district
"""
ONLY_DISTRICT = BOTH.replace(f" AND {DEMS}", "")


def _project(repo):
    project = repo("project")
    project.require_repo()
    tips = project.facts["branches"]  # branch name -> the commit it started at
    assert all(project.resolve(sha) for sha in tips.values()), f"Commits the exercise made are gone. {RESET}"
    return project, tips


def _merging(project) -> bool:
    return (project.path / ".git" / "MERGE_HEAD").exists()


def _rows(warehouse, sql):
    """(column names, set of rows), or a plain-words failure if the query does not run."""
    try:
        columns, rows = learner_query(warehouse, sql)
        return [c.lower() for c in columns], set(rows)
    except duckdb.Error as e:
        first = str(e).splitlines()[0]
        hint = ""
        if "GROUP BY" in str(e):
            hint = (" A column in the SELECT is not in the GROUP BY: the SELECT and the GROUP BY must "
                    "name the same district column.")
        raise AssertionError(
            f"{SQL} on main does not run in DuckDB: {first}.{hint} Fix the file, then "
            f"`git add {SQL}` and `git commit`."
        ) from None


@pytest.mark.points(1)
def test_no_merge_left_half_done(repo):
    """No merge is left half done"""
    project, _ = _project(repo)
    assert not _merging(project), (
        "A merge is still in progress (git status says \"You have unmerged paths\" or \"All conflicts fixed "
        f"but you are still merging\"). Fix {SQL} so it has no <<<<<<< ======= >>>>>>> lines, then "
        f"`git add {SQL}` and `git commit`. To give up and start the merge again: `git merge --abort`."
    )


@pytest.mark.points(2)
def test_both_branches_merged(repo):
    """main holds both branches, joined by a merge commit"""
    project, tips = _project(repo)
    assert "main" in project.branches(), "There is no branch called main any more. Did you rename it?"
    for name, sha in tips.items():
        if not project.is_ancestor(sha, "main"):
            if _merging(project):
                raise AssertionError(
                    f"You started the merge of {name} but did not finish it. Fix the conflict in {SQL}, "
                    f"then `git add {SQL}` and `git commit`."
                )
            raise AssertionError(
                f"main does not contain the {name} branch's commit yet. On main, run `git merge {name}`."
            )
    merges = [c for c in project.commits("main") if c.is_merge]
    assert merges, "main has no merge commit. Run `git merge by-district` on main."


@pytest.mark.points(2)
def test_no_conflict_markers(repo):
    """No conflict markers are left in any file on main"""
    project, _ = _project(repo)
    for path in project.files_at("main"):
        text = project.show("main", path) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith(MARKERS):
                raise AssertionError(
                    f"Line {number} of {path} on main is a conflict marker: `{line.strip()}`. Git wrote it to "
                    "show you the two versions; it is not SQL. Delete the <<<<<<<, ======= and >>>>>>> lines "
                    f"(keep the lines you want between them), then `git add {path}` and `git commit`."
                )


@pytest.mark.points(3)
def test_query_keeps_both_changes(repo, warehouse):
    """The merged query keeps both changes: Democrats only, per district, with with_email"""
    project, _ = _project(repo)
    assert not _merging(project), (
        "The merge is not finished, so main still has the old query. Finish it first (see the first check)."
    )
    text = project.show("main", SQL)
    assert text is not None, f"{SQL} is missing from main. Put it back and commit."
    assert not any(line.startswith(MARKERS) for line in text.splitlines()), (
        f"{SQL} on main still has conflict markers (see the check above)."
    )
    want_cols, want = _rows(warehouse, BOTH)
    got_cols, got_rows = _rows(warehouse, text)
    assert "county" not in got_cols, (
        f"The query on main still counts per county. The by-district change is lost: group by "
        "p.state_house_district and select it AS district, with the with_email column."
    )
    missing = [c for c in want_cols if c not in got_cols]
    assert not missing, (
        f"The query on main has no column(s) {', '.join(missing)}. The by-district branch selects "
        "district, voters and with_email: keep them."
    )
    idx = [got_cols.index(c) for c in want_cols]
    got = {tuple(row[i] for i in idx) for row in got_rows}
    if got == want:
        return
    _, only_district = _rows(warehouse, ONLY_DISTRICT)
    assert got != only_district, (
        "The query on main counts every active voter, not only Democrats: the dem-only branch's filter "
        f"was lost. Put back `AND {DEMS}` in the WHERE."
    )
    raise AssertionError(
        "The query on main does not give the rows it should. It must keep active voters who are "
        f"Democrats ({DEMS}), one row per state house district, with the columns district, voters "
        "and with_email."
    )


@pytest.mark.points(1)
def test_on_main_and_clean(repo):
    """You are on main and everything is committed"""
    project, _ = _project(repo)
    branch = project.current_branch()
    assert branch == "main", f"You are on {branch or 'no branch (a detached HEAD)'}, not main. Run `git switch main`."
    lines = [line for line in project.status() if "__pycache__" not in line
             and not line.endswith((".DS_Store", "Thumbs.db", ".orig"))]
    assert not lines, (
        "Some changes are not committed: " + ", ".join(line[3:] for line in lines) +
        ". `git add` and `git commit` them, or undo them with `git restore <file>`."
    )
