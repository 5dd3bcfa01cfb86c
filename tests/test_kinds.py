"""The git and Prefect check kinds on the tiny golden course: prepared repositories, reset, hanging flows."""

from __future__ import annotations

import subprocess

import pytest

from flowcamp import curriculum
from flowcamp.kinds import kind_of
from flowcamp.runner import run_check


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_prepared_repository_is_built_per_workspace_seed(golden_course, make_workspace):
    a = make_workspace(golden_course, seed=11, name="a")
    b = make_workspace(golden_course, seed=12, name="b")
    ex = golden_course.get("fix-typo")
    authors = {git(ws.exercise_dir(ex) / "repo", "log", "-1", "--format=%an") for ws in (a, b)}
    assert authors == {"Analyst 11\n", "Analyst 12\n"}
    # The workspace's own git does not see the nested repository.
    assert git(a.root, "status", "--porcelain") == ""


def test_git_exercise_fails_as_prepared_and_passes_with_its_solution(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    rep = curriculum.check_exercise(ws, golden_course.get("fix-typo"))
    assert rep.ok, rep.problems


def test_reset_rebuilds_the_repository_and_keeps_the_learners(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    ex = golden_course.get("fix-typo")
    kind_of(ex).apply_solution(ws, ex)
    assert run_check(ws, ex).status == "pass"
    backup = ws.reset(ex)
    repo = ws.exercise_dir(ex) / "repo"
    assert len(git(repo, "log", "--format=%H").split()) == 2
    assert "> 18" in (repo / "query.sql").read_text()
    assert len(git(backup / "repo", "log", "--format=%H").split()) == 3
    assert run_check(ws, ex).status == "fail"


def test_rewritten_history_fails(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    ex = golden_course.get("fix-typo")
    repo = ws.exercise_dir(ex) / "repo"
    (repo / "query.sql").write_text("select count(*) from people where age >= 18;  -- adults\n")
    git(repo, "commit", "-q", "--amend", "-am", "Tidy")
    result = run_check(ws, ex)
    assert result.status == "fail"
    assert any("rewrite" in c.message for c in result.checks)


@pytest.mark.slow
def test_a_hanging_flow_times_out_and_a_finished_one_passes(golden_course, make_workspace, prefect_server):
    ws = make_workspace(golden_course)
    ex = golden_course.get("slow-flow")
    result = run_check(ws, ex, prefect_server)
    assert result.status == "timeout", result.to_json()
    assert result.checks[0].status == "timeout" and "25 seconds" in result.checks[0].message
    assert (ws.exercise_dir(ex) / "flow.py").read_text() == (ex.source_dir / "flow.py").read_text()
    kind_of(ex).apply_solution(ws, ex)
    result = run_check(ws, ex, prefect_server)
    assert result.status == "pass", result.to_json()
