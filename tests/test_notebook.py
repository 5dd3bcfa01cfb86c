"""Notebook exercises graded by nbgrader: broken notebooks, tampered test cells, deleted cells."""

from __future__ import annotations

import json
import shutil

import pytest

from flowcamp.runner import run_check

pytestmark = pytest.mark.slow


@pytest.fixture
def nb_exercise(course, shared_workspace):
    ex = next(e for e in course.exercises if e.kind == "notebook")
    ws = shared_workspace
    shutil.copyfile(ex.solution_dir / ex.files[0], ws.exercise_dir(ex) / ex.files[0])
    yield ws, ex, ws.exercise_dir(ex) / ex.files[0]
    shutil.copyfile(ex.source_dir / ex.files[0], ws.exercise_dir(ex) / ex.files[0])


def _edit(path, fn):
    nb = json.loads(path.read_text())
    fn(nb)
    path.write_text(json.dumps(nb))


def test_broken_notebook_is_an_error_with_a_next_step(nb_exercise):
    ws, ex, path = nb_exercise
    path.write_text('{"cells": [ {"cell_type": "code", "source": "x = ')
    result = run_check(ws, ex)
    assert result.status == "error"
    assert "not a valid notebook" in result.message and "reset" in result.message
    assert path.read_text().startswith('{"cells"')  # the learner's file is left as it was


def test_a_weakened_test_cell_is_restored_by_nbgrader(nb_exercise):
    """A learner who empties the test cells and the answers still fails: nbgrader puts the tests back."""
    ws, ex, path = nb_exercise

    def weaken(nb):
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                cell["source"] = "pass\n"
            if meta.get("grade"):
                cell["source"] = "assert True\n"

    _edit(path, weaken)
    result = run_check(ws, ex)
    assert result.status == "fail", result.to_json()
    assert result.score == 0


def test_a_deleted_test_cell_is_explained(nb_exercise):
    ws, ex, path = nb_exercise

    def drop(nb):
        nb["cells"] = [c for c in nb["cells"] if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]

    _edit(path, drop)
    result = run_check(ws, ex)
    assert result.status == "fail", result.to_json()
    assert result.score == 0
    assert all("deleted" in c.message for c in result.checks), result.to_json()
    text = result.message + " ".join(c.message for c in result.checks)
    assert "Traceback" not in text
