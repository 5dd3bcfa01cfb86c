"""Golden cases: a tiny course, and learner answers with the results they must give (like Exercism's runner).

tests/golden/cases/<exercise-id>/<case>/ holds the learner's files (and, for git, a commands.sh run in the
exercise folder), plus expected.json: the run's status and score, and optionally per-check statuses
("checks"), fragments of check messages ("messages"), a fragment of the run's message ("message") and a
bound on the document's size ("max_document"), environment variables set for the run ("env"), text that
must not appear anywhere in the document ("absent", e.g. a secret) or must ("present"), and files the
checks must not create ("absent_files"). Every document must validate against the results schema.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

pytestmark = pytest.mark.usefixtures("warm_worker")

from flowcamp import curriculum
from flowcamp.kinds import kind_of
from flowcamp.results import RESULTS_VERSION, SCHEMA_FILE
from flowcamp.runner import run_check

from conftest import GOLDEN

SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
CASES = sorted((p.parent.name, p.name) for p in (GOLDEN / "cases").glob("*/*") if p.is_dir())


def _param(golden_course, ex_id: str, case: str):
    ex = golden_course.get(ex_id)
    marks = [pytest.mark.slow] if kind_of(ex).slow else []
    return pytest.param((ex_id, case), id=f"{ex_id}/{case}", marks=marks)


def _apply_case(ws, ex, case_dir: Path) -> None:
    curriculum.fresh_copy(ws, ex)
    dest = ws.exercise_dir(ex)
    for f in ex.files:  # the case's own files replace them; a case without them tests a missing file
        (dest / f).unlink()
    for p in case_dir.rglob("*"):
        if p.is_file() and p.name not in ("expected.json", "commands.sh"):
            target = dest / p.relative_to(case_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)
    if (case_dir / "commands.sh").is_file():
        curriculum.apply_alternative(ws, ex, case_dir)


def _files(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".git" not in p.parts}


@pytest.fixture(scope="module")
def golden_ws(golden_course, tmp_path_factory):
    from flowcamp.workspace import Workspace

    ws = Workspace(tmp_path_factory.mktemp("golden") / "ws", golden_course)
    ws.init(seed=4242)
    return ws


def pytest_generate_tests(metafunc):
    if "golden_case" in metafunc.fixturenames:
        from flowcamp.course import Course

        course = Course(GOLDEN / "course")
        metafunc.parametrize("golden_case", [_param(course, e, c) for e, c in CASES])


def test_golden_case(golden_ws, golden_course, golden_case, request, monkeypatch):
    ex_id, case = golden_case
    ws, ex = golden_ws, golden_course.get(ex_id)
    case_dir = GOLDEN / "cases" / ex_id / case
    expected = json.loads((case_dir / "expected.json").read_text())
    for name, value in expected.get("env", {}).items():  # e.g. a secret the learner's code must not leak
        monkeypatch.setenv(name, value)
    _apply_case(ws, ex, case_dir)
    before = _files(ws.exercise_dir(ex))

    server = request.getfixturevalue("prefect_server") if kind_of(ex).needs_server else None
    doc = run_check(ws, ex, server).to_dict()

    jsonschema.validate(doc, SCHEMA)
    assert doc["version"] == RESULTS_VERSION and doc["exercise"] == ex_id
    assert doc["status"] == expected["status"], doc
    assert doc["score"] == expected["score"], doc
    assert doc["max_score"] == ex.points
    got = {c["name"]: c["status"] for c in doc["checks"]}
    for name, status in expected.get("checks", {}).items():
        assert got.get(name) == status, doc
    for name, fragment in expected.get("messages", {}).items():
        msgs = [c["message"] for c in doc["checks"] if c["name"] == name]
        assert msgs and any(fragment in m for m in msgs), doc
    if "message" in expected:
        assert expected["message"] in doc["message"], doc["message"]
    if "max_document" in expected:
        assert len(json.dumps(doc)) <= expected["max_document"]
    # Messages are for learners: never a flowcamp traceback or a path into flowcamp's own code.
    text = doc["message"] + "".join(c["message"] for c in doc["checks"])
    assert "Traceback" not in text and "flowcamp/checks" not in text and "site-packages" not in text, text
    whole = json.dumps(doc)
    for text in expected.get("absent", []):
        assert text not in whole, f"{text!r} reached the results document"
    for text in expected.get("present", []):
        assert text in whole, f"{text!r} is not in the results document"
    for name in expected.get("absent_files", []):  # what learner-controlled git config would have made
        assert not (ws.exercise_dir(ex) / name).exists(), f"the checks ran code that made {name}"
    # Checking never changes or loses the learner's files.
    assert _files(ws.exercise_dir(ex)) == before


def test_every_exercise_of_the_golden_course_has_cases(golden_course):
    have = {e for e, _ in CASES}
    assert {ex.id for ex in golden_course.exercises} - {"slow-flow"} <= have


def test_schema_rejects_a_forged_status():
    doc = {"version": 1, "exercise": "add", "status": "passed", "score": 1, "max_score": 1, "message": "",
           "duration": 0, "checks": []}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA)
