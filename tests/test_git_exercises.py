"""The git module: walk-through solutions a learner can type, and check messages that give one route.

- Every git solution is a walk-through (flowcamp.kinds.walkthrough): one command per step, as typed in Git
  Bash and in PowerShell, with no sed, no `$(...)` and no pipe. tests/test_curriculum.py proves each passes.
- review-flow, undo-toolkit, branch-merge: for the states a learner really gets into, the failing checks'
  messages say what happened, and doing what they say makes the exercise pass.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("warm_worker")

from flowcamp import curriculum
from flowcamp.course import Course
from flowcamp.kinds import kind_of, walkthrough
from flowcamp.results import Status
from flowcamp.runner import run_check

ROOT = Path(__file__).resolve().parents[1]
ALTERNATIVES = Path(__file__).resolve().parent / "alternatives"
COURSE = Course(ROOT)
GIT_EXERCISES = [ex for ex in COURSE.exercises if kind_of(ex).name == "git"]


# ------------------------------------------------------------------------------------------- walk-throughs
@pytest.mark.parametrize("ex", GIT_EXERCISES, ids=lambda ex: ex.id)
def test_git_solution_is_a_walkthrough_without_sed_subshells_or_pipes(ex):
    text = ex.solution_script.read_text(encoding="utf-8")
    assert walkthrough.is_walkthrough(text), f"{ex.id}: solution.sh is not a walk-through"
    assert walkthrough.problems(text) == []
    _, steps = walkthrough.parse(text)
    commands = [s.command for s in steps if s.command is not None]
    assert commands and all(s.why for s in steps)
    for command in commands:
        words = shlex.split(walkthrough.PLACEHOLDER.sub("X", command))
        assert "sed" not in words and "$(" not in command and "|" not in command, (ex.id, command)
        assert words[0] in ("git", "cd", "uv"), (ex.id, command)


def test_walkthrough_problems_name_shell_features():
    text = ("# walk-through\n\n# one\ngit log --format=%H | head -1\n\n# two\nsed -i s/a/b/ f.sql\n\n"
            "# three\ngit show $(git rev-parse HEAD)\n\n# four\ngit show <later>\n\n"
            "# five: note <later>\ngit log\n#> later: ^commit (\\w+)\n\n"
            "# six\ngit log -p -- q.sql\n")
    found = "\n".join(walkthrough.problems(text))
    assert "step 1" in found and "`|`" in found
    assert "step 2" in found and "`sed`" in found
    assert "step 3" in found and "`$(`" in found
    assert "step 4" in found and "<later> is not found by an earlier step" in found
    assert "step 5" not in found
    assert "step 6" in found and "lone `--`" in found


def _git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True, text=True).stdout


def test_walkthrough_runner_fills_a_placeholder_from_an_earlier_step(tmp_path):
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.name", "T")
    _git(repo, "config", "user.email", "t@example.org")
    (repo / "q.sql").write_text("SELECT 1\nWHERE age > 18\n")
    _git(repo, "add", "q.sql")
    _git(repo, "commit", "-qm", "Start")
    first = _git(repo, "rev-parse", "HEAD").strip()
    text = (
        "# walk-through: test\n\n"
        "# Into the repository.\ncd project\n\n"
        "# The first commit's id is <first>.\ngit log --oneline\n#> first: ^([0-9a-f]{7,}) Start\n\n"
        "# Fix the filter in your editor.\n#@ edit q.sql\n#- WHERE age > 18\n#+ WHERE age >= 18\n\n"
        "# Commit it.\ngit commit -am \"Fix the filter\"\n\n"
        "# Tag the first commit (type its id instead of <first>).\ngit tag start <first>\n\n"
        "# Write a note that names it.\n#@ write note.txt\n#+ first = \"<first>\"\n"
    )
    walkthrough.run(text, tmp_path)
    assert _git(repo, "rev-parse", "start").strip() == first
    assert _git(repo, "show", "HEAD:q.sql") == "SELECT 1\nWHERE age >= 18\n"
    assert (repo / "note.txt").read_text().startswith(f'first = "{first[:7]}')


def test_walkthrough_runner_stops_at_a_failing_step(tmp_path):
    text = "# walk-through\n\n# Look at a repository that is not there.\ngit log\n"
    with pytest.raises(walkthrough.WalkthroughError, match="step 1"):
        walkthrough.run(text, tmp_path)


def test_walkthrough_display_is_numbered_steps_without_the_runner_patterns():
    ex = COURSE.get("review-flow")
    shown = walkthrough.display(ex.solution_script.read_text(encoding="utf-8"))
    kinds = [what for what, _ in shown]
    assert kinds[0] == "intro" and ("step", "Step 1") in shown
    assert ("command", "git clone remote.git work") in shown
    diffs = [body for what, body in shown if what == "diff"]
    assert diffs and "-      AND vh.election_date = '2022-11-08'" in diffs[0]
    assert not any("#>" in body or "#@" in body for _, body in shown)


# ------------------------------------------------------------------------------------------- check messages
def _check(ws, ex_id: str, commands: str, tmp_path: Path):
    ex = COURSE.get(ex_id)
    curriculum.fresh_copy(ws, ex)
    alt = tmp_path / "answer"
    alt.mkdir(exist_ok=True)
    (alt / "commands.sh").write_text(commands)
    curriculum.apply_alternative(ws, ex, alt)
    return ex, run_check(ws, ex, None)


def _messages(result) -> dict[str, str]:
    return {c.name: c.message for c in result.checks if c.status is not Status.PASS}


def _follow(folder: Path, message: str, after: str, before: str | None = None) -> list[str]:
    """Run the backticked commands of a message's route, in order, as a learner would type them."""
    route = message.split(after, 1)[1]
    if before:
        route = route.split(before, 1)[0]
    commands = re.findall(r"`(git [^`]+)`", route)
    for command in commands:
        subprocess.run(shlex.split(command), cwd=folder, check=True, capture_output=True)
    return commands


AMEND_AND_FORCE = """\
git clone remote.git work
cd work
git config user.name "Sam Organizer"
git config user.email "sam@example.org"
git switch -c turnout-2024
sed -i.bak -e "s/2022-11-08/2024-11-05/" -e "s/2022-10-24/2024-10-21/" turnout_by_district.sql && rm -f *.bak
git commit -am "Update turnout to 2024"
git push -u origin turnout-2024
col=$(git show origin/review-notes:REVIEW.md | grep -o '`[a-z_]*`' | sed -n 2p | tr -d '`')
sed -i.bak "s/turnout_pct/${col}/" turnout_by_district.sql && rm -f *.bak
git commit -a --amend --no-edit
git push --force
"""


def test_review_flow_amend_and_force_push_says_what_happened_and_how_to_recover(shared_workspace, tmp_path):
    ex, result = _check(shared_workspace, "review-flow", AMEND_AND_FORCE, tmp_path)
    assert result.status is Status.FAIL
    failing = _messages(result)
    assert list(failing) == ["The branch has your change and a follow-up commit for the review"], failing
    message = failing["The branch has your change and a follow-up commit for the review"]
    assert "--amend" in message and "push --force" in message and "git reflog" in message, message
    assert "commit it, and `git push` again" not in message  # the old advice: there is nothing left to commit
    work = shared_workspace.exercise_dir(ex) / "work"
    first = _git(work, "rev-parse", "HEAD@{1}").strip()  # the reviewed commit, before the amend
    assert f"git reset --soft {first[:7]}" in message, message
    _follow(work, message, "of its own, in work/:", "Or start again")
    assert run_check(shared_workspace, ex, None).status is Status.PASS


UNDO_EXPORT_IN_NEW_COMMIT = """\
cd project
git restore run_turnout.py
git add run_deadline_check.py
git commit -m "Add the runner for the deadline check"
"""
UNDO_EXPORT_COMMITTED_THEN_REMOVED = UNDO_EXPORT_IN_NEW_COMMIT + """\
git rm -q --cached voter_export.csv
git commit -m "Take the export out again"
"""


@pytest.mark.parametrize("commands", [UNDO_EXPORT_IN_NEW_COMMIT, UNDO_EXPORT_COMMITTED_THEN_REMOVED],
                         ids=["export-in-new-commit", "export-committed-then-removed"])
def test_undo_toolkit_gives_one_route_for_a_new_commit_with_the_export(shared_workspace, tmp_path, commands):
    ex, result = _check(shared_workspace, "undo-toolkit", commands, tmp_path)
    failing = _messages(result)
    a = failing["(a) The voter export is out of the commit, but still on disk"]
    c = failing["(c) The last commit is fixed, not followed by a new one"]
    route_a, route_c = a.split("In project/, run", 1)[1], c.split("In project/, run", 1)[1]
    assert route_a == route_c, (a, c)
    assert "flowcamp reset" not in a and "git reset --soft HEAD~" in a, a
    _follow(shared_workspace.exercise_dir(ex) / "project", a, "In project/, run")
    assert run_check(shared_workspace, ex, None).status is Status.PASS


ON_BRANCH = "The new work was made on a branch of its own"


def test_branch_merge_branch_made_after_committing_on_main_fails_plainly(shared_workspace):
    ex = COURSE.get("branch-merge")
    curriculum.fresh_copy(shared_workspace, ex)
    curriculum.apply_alternative(shared_workspace, ex, ALTERNATIVES / "branch-merge" / "wrong-branch-made-after-commit")
    result = run_check(shared_workspace, ex, None)
    assert result.status is Status.FAIL
    message = _messages(result)[ON_BRANCH]
    assert "straight on main" in message and "git reflog main" in message and "made afterwards" in message


def test_branch_merge_branch_deleted_after_a_fast_forward_passes(shared_workspace):
    ex = COURSE.get("branch-merge")
    curriculum.fresh_copy(shared_workspace, ex)
    curriculum.apply_alternative(shared_workspace, ex, ALTERNATIVES / "branch-merge" / "right-ff-then-branch-deleted")
    assert "add-inactive" not in _git(shared_workspace.exercise_dir(ex) / "project", "branch")
    result = run_check(shared_workspace, ex, None)
    assert result.status is Status.PASS, result.to_json()
