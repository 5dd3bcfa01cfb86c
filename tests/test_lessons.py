"""Every lesson follows the lesson anatomy (docs/authoring.md), and lessons and exercises name each other.

Everything is read through the course model (flowcamp.course): these tests never parse front matter or
exercise.toml themselves. Each test is parametrized by lesson or by exercise, so a failure names the
file to fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowcamp.course import Course, lesson_anatomy_problems

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
LESSON_FILES = sorted(p for p in COURSE.lessons_dir.glob("*/*.md") if p.name != "index.md")


def lesson_path(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", LESSON_FILES, ids=lesson_path)
def test_lesson_loads(path):
    """The file is a lesson the course model can read (name, front matter, timings, exercise ids)."""
    loaded = {ls.source.resolve() for ls in COURSE.lessons}
    problems = [p for p in COURSE.problems() if p.startswith(lesson_path(path) + ":")]
    assert path.resolve() in loaded, "\n".join(problems) or f"{lesson_path(path)} could not be read as a lesson"


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda ls: ls.id)
def test_lesson_anatomy(lesson):
    problems = lesson_anatomy_problems(lesson.text())
    assert not problems, f"{lesson.path}: " + "; ".join(problems)


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda ls: ls.id)
def test_lesson_names_the_civis_features_it_replaces(lesson):
    assert lesson.civis, (f"{lesson.path}: name the Civis features this lesson replaces in its front matter "
                          "(civis: [{civis: ..., code: ...}]), so the Civis-to-code map lists it")


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=lambda ls: ls.id)
def test_lesson_exercise_ids_are_exercises_that_point_back(lesson):
    by_id = {ex.id: ex for ex in COURSE.exercises}
    for ex_id in lesson.exercise_ids:
        assert ex_id in by_id, f"{lesson.path}: 'exercise_ids' names '{ex_id}', which is no exercise"
        assert by_id[ex_id].lesson_id == lesson.id, (
            f"{lesson.path} lists '{ex_id}', but that exercise's lesson is {by_id[ex_id].lesson}")


@pytest.mark.parametrize("ex", COURSE.exercises, ids=lambda ex: ex.id)
def test_exercise_points_at_a_lesson_that_lists_it(ex):
    lesson = COURSE.lesson_of(ex)
    assert lesson is not None, f"exercise {ex.id}: its lesson {ex.lesson} does not exist (or could not be read)"
    assert ex.id in lesson.exercise_ids, f"exercise {ex.id}: {lesson.path} does not list it in 'exercise_ids'"
    assert ex.id in lesson.body(), f"exercise {ex.id}: {lesson.path} never mentions the id {ex.id!r}"
