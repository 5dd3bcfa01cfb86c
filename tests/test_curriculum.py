"""The curriculum's integrity: every exercise fails as shipped and passes with its solution.

Also: any correct answer passes, and plausible wrong answers fail. Alternative answers live in
tests/alternatives/<exercise-id>/{right,wrong}-<name>/ (files that replace the starter's, or a
commands.sh run in the exercise folder for git exercises).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowcamp import dev
from flowcamp.course import Course
from flowcamp.runner import run_check

ROOT = Path(__file__).resolve().parents[1]
ALTERNATIVES = Path(__file__).resolve().parent / "alternatives"
COURSE = Course(ROOT)
EXERCISES = COURSE.exercises
SLOW_KINDS = ("prefect", "notebook")


def _param(ex):
    marks = [pytest.mark.slow] if ex.kind in SLOW_KINDS else []
    return pytest.param(ex, id=ex.id, marks=marks)


def _server(request, ex):
    return request.getfixturevalue("prefect_server") if ex.kind == "prefect" else None


def test_course_has_one_exercise_of_every_kind():
    assert {ex.kind for ex in EXERCISES} >= {"code", "git", "notebook", "prefect"}


def test_no_stray_solutions():
    assert dev.course_problems(COURSE) == []


@pytest.mark.parametrize("ex", [pytest.param(ex, id=ex.id) for ex in EXERCISES])
def test_exercise_is_well_formed(ex):
    assert dev.static_problems(ex) == []


@pytest.mark.parametrize("ex", [_param(ex) for ex in EXERCISES])
def test_starter_fails_and_solution_passes(ex, shared_workspace, request):
    rep = dev.check_exercise(shared_workspace, ex, _server(request, ex))
    assert rep.ok, rep.problems
    assert rep.starter.status == "fail"
    assert rep.solution.status == "pass"
    # Every check of the starter says something a learner can act on.
    for c in rep.starter.checks:
        if c.status != "pass":
            assert c.message.strip(), f"check '{c.name}' fails on the starter without a message"


def _alternatives():
    for ex in EXERCISES:
        base = ALTERNATIVES / ex.id
        if not base.is_dir():
            continue
        for alt in sorted(p for p in base.iterdir() if p.is_dir()):
            marks = [pytest.mark.slow] if ex.kind in SLOW_KINDS else []
            yield pytest.param(ex, alt, id=f"{ex.id}/{alt.name}", marks=marks)


@pytest.mark.parametrize(("ex", "alt"), list(_alternatives()))
def test_alternative_answers(ex, alt, shared_workspace, request):
    ws = shared_workspace
    target = ws.exercise_dir(ex)
    from flowcamp.workspace import _rmtree

    if target.exists():
        _rmtree(target)
    ws._copy_starter(ex)
    dev.apply_alternative(ws, ex, alt)
    result = run_check(ws, ex, _server(request, ex))
    if alt.name.startswith("right"):
        assert result.status == "pass", result.to_json()
    else:
        assert result.status != "pass", f"a wrong answer passed: {alt}"
        failing = [c for c in result.checks if c.status != "pass"]
        assert result.message and (not result.checks or all(c.message for c in failing)), result.to_json()


def test_every_exercise_has_wrong_alternatives():
    """Each exercise is tested against at least two wrong answers and two other right answers."""
    missing = []
    for ex in EXERCISES:
        base = ALTERNATIVES / ex.id
        names = [p.name for p in base.iterdir()] if base.is_dir() else []
        if sum(n.startswith("wrong") for n in names) < 2 or sum(n.startswith("right") for n in names) < 2:
            missing.append(ex.id)
    assert not missing, f"exercises without 2 wrong + 2 right alternatives: {missing}"
