"""review-ci plants one of several bugs at random: each must be in the course's pipeline, and each must make
the project's own tests fail (else a workflow that runs them would pass a broken pull request)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

EXERCISE = ROOT / "exercises" / "07-deployments" / "03-review-ci"


def _bugs() -> tuple:
    """The check's BUGS, read from its source (importing a check module outside a check run is not done)."""
    tree = ast.parse((EXERCISE / "checks" / "test_review_ci.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "BUGS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("review-ci's checks have no BUGS")


BUGS = _bugs()


def test_the_project_tests_pass_as_it_is(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(EXERCISE / "project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("was", "bug", "what"), BUGS, ids=[b[2] for b in BUGS])
def test_each_planted_bug_makes_the_project_tests_fail(was, bug, what, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(EXERCISE / "project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
    steps = project / "pipeline" / "steps.py"
    text = steps.read_text(encoding="utf-8")
    assert text.count(was) == 1, f"the bug {what!r} cannot be planted: {was!r} is not once in steps.py"
    steps.write_text(text.replace(was, bug), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=project,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, f"the project's tests do not catch: {what}\n{done.stdout}"
