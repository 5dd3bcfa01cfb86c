"""The gradebook (DuckDB), its exports (CSV, Gradescope results.json) and the learners' feedback (Markdown, HTML):
resume after SIGKILL, one writer, overrides, regrades, the exports validated, and nothing instructor-only leaking
into anything a learner reads."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from flowcamp.cli_gradebook import gradebook_app
from flowcamp.course import Course
from flowcamp.grading.export import (HELDOUT_FAILED, HIDDEN_FAILED, export_all, export_csv, export_gradescope,
                                     learner_view)
from flowcamp.grading.feedback import write_feedback
from flowcamp.grading.gradebook import FILE_NAME, Gradebook, GradebookBusy, GradebookError, learner_key

PLANT = "PLANTED-HELDOUT-7f3a"
IDS = [ex.id for ex in Course().exercises[:3]]  # real ids, so exports follow the course's order
A, B, C = IDS


def check(name, status="pass", points=1, message="", output="", hidden=False, heldout=False) -> dict:
    c = {"name": name, "status": status, "message": message, "points": points if status == "pass" else 0,
         "max_points": points, "output": output}
    if hidden:
        c["visibility"] = "hidden"
    if heldout:
        c["heldout"] = True
    return c


def doc(ex, checks, status=None, message="", max_score=None) -> dict:
    status = status or ("pass" if all(c["status"] == "pass" for c in checks) and checks else "fail")
    return {"version": 1, "exercise": ex, "status": status, "score": sum(c["points"] for c in checks),
            "max_score": max_score if max_score is not None else sum(c["max_points"] for c in checks),
            "message": message, "duration": 0.5, "checks": checks}


def submission(h, name="Ada Lovelace", email="ada@example.org", created="2026-12-01T10:00:00+00:00", **kw) -> dict:
    learner = {k: v for k, v in (("name", name), ("email", email)) if v is not None}
    return {"hash": h, "source": f"/in/{h}.zip", "label": f"{h}.zip", "status": "ok", "message": "",
            "learner": learner, "manifest": {"created": created, "progress": {}}, "exercises": IDS,
            "warnings": [], **kw}


def record(gb, run, h, ex, d, seed=7) -> bool:
    return gb.record_result(run, h, ex, f"{h}:{ex}:{seed}", seed, "v1", d, 1.0)


@pytest.fixture
def gb(tmp_path):
    book = Gradebook(tmp_path / FILE_NAME)
    yield book
    book.close()


def cohort(gb) -> int:
    """Two learners: Ada passes A, fails B, has C missing; Bob passes everything."""
    run = gb.start_run(7, "0.1.0", {ex: "v1" for ex in IDS}, {"workers": 2})
    gb.add_submission(run, submission("a" * 64, warnings=["A file of 30 MB was left out: data/big.csv."]))
    gb.add_submission(run, submission("b" * 64, name="Bob", email="Bob@Example.org"))
    record(gb, run, "a" * 64, A, doc(A, [check("runs", points=2), check("prints", points=3)]))
    record(gb, run, "a" * 64, B, doc(B, [check("commits"), check("message", "fail", message="Say why.")]))
    missing = doc(C, [], status="fail", message="Not in the submission: ask them to submit again.", max_score=8)
    record(gb, run, "a" * 64, C, {**missing, "missing": True})  # how the grader marks a missing exercise
    for ex in IDS:
        record(gb, run, "b" * 64, ex, doc(ex, [check("all", points=4)]))
    gb.finish_run(run, {"graded": 6})
    return run


# ---------------------------------------------------------------------------------------------- the database
def test_a_new_gradebook_has_its_tables_and_opens_again(tmp_path):
    with Gradebook(tmp_path / "g" / FILE_NAME) as book:
        run = book.start_run(42, "0.1.0", {A: "abc"}, {"workers": 2})
        book.finish_run(run, {"graded": 0})
        tables = {r[0] for r in book.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"meta", "runs", "learners", "submissions", "results", "checks", "overrides"} <= tables
    with Gradebook(tmp_path / "g" / FILE_NAME, read_only=True) as book:
        (r,) = book.runs()
    assert (r["seed"], r["checks_versions"], r["summary"]) == (42, {A: "abc"}, {"graded": 0})
    assert r["finished_at"] and r["pid"] == os.getpid()


def test_reading_a_gradebook_that_is_not_there_says_what_to_do(tmp_path):
    with pytest.raises(GradebookError, match="flowcamp grade"):
        Gradebook(tmp_path / FILE_NAME, read_only=True)


def test_a_file_that_is_not_a_gradebook_is_refused_plainly(tmp_path):
    (tmp_path / FILE_NAME).write_text("not a database " * 400)
    for read_only in (True, False):
        with pytest.raises(GradebookError, match="not a gradebook flowcamp can read"):
            Gradebook(tmp_path / FILE_NAME, read_only=read_only)


def test_recording_the_same_key_twice_keeps_one_result(gb):
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, submission("a" * 64))
    d = doc(A, [check("one"), check("two", "fail")])
    assert record(gb, run, "a" * 64, A, d) is True
    assert record(gb, run, "a" * 64, A, d) is False
    gb.add_submission(run, submission("a" * 64))  # seen again: still one submission
    assert gb.done_keys() == {f"{'a' * 64}:{A}:7"}
    counts = [gb.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("results", "checks", "submissions")]
    assert counts == [1, 2, 1]


def test_learner_keys_come_from_email_then_name_then_hash():
    assert learner_key({"name": "Ada", "email": " Ada@Example.ORG "}, "f" * 64) == "ada@example.org"
    assert learner_key({"name": "José  Ñúñez"}, "f" * 64) == "jose-nunez"
    assert learner_key({"name": "李雷"}, "0123456789abcdef") == "anon-01234567"
    assert learner_key(None, "0123456789abcdef") == "anon-01234567"


def test_the_newest_submission_counts(gb):
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, submission("n" * 64, created="2026-12-02T09:00:00+01:00"))  # newer, seen first
    gb.add_submission(run, submission("o" * 64, created="2026-12-01T23:00:00+00:00"))
    record(gb, run, "n" * 64, A, doc(A, [check("x", points=5)]))
    record(gb, run, "o" * 64, A, doc(A, [check("x", "fail", points=5)]))
    (lg,) = gb.grades()
    assert lg.submission.hash == "n" * 64 and lg.marks[A].score == 5
    assert lg.submission.submitted_at == "2026-12-02T08:00:00+00:00"
    gb.add_submission(run, submission("m" * 64, created=None))  # no time: counts as older than any with one
    assert gb.grades()[0].submission.hash == "n" * 64


def test_a_regraded_result_replaces_the_old_one_in_exports(gb):
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, submission("a" * 64))
    record(gb, run, "a" * 64, A, doc(A, [check("x", "fail", points=5)]), seed=7)
    record(gb, run, "a" * 64, A, doc(A, [check("x", points=5)]), seed=8)  # a fixed check, graded again
    assert gb.grades()[0].marks[A].score == 5


def test_forget_deletes_results_so_the_next_run_grades_them_again(gb):
    cohort(gb)
    before = gb.done_keys()
    assert gb.forget(exercise_id=B, learner_key="ada@example.org") == 1
    assert gb.forget(exercise_id=A) == 2
    assert before - gb.done_keys() == {f"{'a' * 64}:{B}:7", f"{'a' * 64}:{A}:7", f"{'b' * 64}:{A}:7"}
    orphans = gb.con.execute("SELECT count(*) FROM checks WHERE result_key NOT IN (SELECT key FROM results)")
    assert orphans.fetchone()[0] == 0
    with pytest.raises(GradebookError, match="Say what to forget"):
        gb.forget()
    with pytest.raises(GradebookError, match="no learner 'eve@example.org'"):
        gb.forget(exercise_id=A, learner_key="eve@example.org")


_WRITER = textwrap.dedent("""
    import sys
    from flowcamp.grading.gradebook import Gradebook
    gb = Gradebook(sys.argv[1])
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, {"hash": "h" * 64, "learner": {"email": "ada@example.org"}})
    checks = [{"name": f"check {i}", "status": "pass", "message": "m" * 500, "points": 1, "max_points": 1,
               "output": "o" * 900} for i in range(20)]
    for i in range(100000):
        key = f"key-{i}"
        gb.record_result(run, "h" * 64, f"ex-{i}", key, 7, "v1",
                         {"exercise": f"ex-{i}", "status": "pass", "score": 20, "max_score": 20, "checks": checks},
                         0.1)
        print(key, flush=True)
""")


def test_a_run_killed_while_writing_leaves_a_readable_gradebook(tmp_path):
    path = tmp_path / FILE_NAME
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        seen = [child.stdout.readline().strip() for _ in range(60)]
        child.send_signal(signal.SIGKILL)  # in the middle of the next write, most likely
        rest, _ = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    committed = [k for k in seen + rest.split() if k]
    assert child.returncode == -signal.SIGKILL and len(committed) >= 60
    with Gradebook(path) as book:
        done = book.done_keys()
        assert set(committed) <= done and len(done) <= len(committed) + 1  # at most the one being written
        rows = book.con.execute("SELECT r.key, count(c.position) FROM results r LEFT JOIN checks c "
                                "ON c.result_key = r.key GROUP BY r.key").fetchall()
        assert all(n == 20 for _, n in rows), "a result without all of its checks: a half-written transaction"
        assert book.record_result(1, "h" * 64, "ex-0", "key-0", 7, "v1", {"checks": []}, 0.1) is False  # resume
        assert book.con.execute("SELECT count(*) FROM results").fetchone()[0] == len(done)


_HOLDER = textwrap.dedent("""
    import sys
    from flowcamp.grading.gradebook import Gradebook
    gb = Gradebook(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.read()
    gb.close()
""")


def test_a_writer_keeps_others_out_with_a_clear_message(tmp_path):
    path = tmp_path / FILE_NAME
    Gradebook(path).close()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        for read_only in (True, False):
            with pytest.raises(GradebookBusy) as e:
                Gradebook(path, read_only=read_only)
            assert f"pid {holder.pid}" in str(e.value) and "wait for it" in str(e.value).lower()
        busy = CliRunner().invoke(gradebook_app, ["show", "--out", str(tmp_path)])
        assert busy.exit_code == 2 and "A grading run is writing to this gradebook" in busy.output
        assert "Traceback" not in busy.output
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    with Gradebook(path, read_only=True) as book:  # the run is over: reading works
        assert book.grades() == []
        with pytest.raises(GradebookError, match="reading only"):
            book.start_run(1, "0.1.0", {}, {})


# ---------------------------------------------------------------------------------------------- CSV
def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_csv_has_one_row_per_learner_and_its_numbers_add_up(gb, tmp_path):
    cohort(gb)
    path = export_csv(gb, tmp_path / "grades.csv")
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == ["learner", "name", "email", A, B, C, "total", "max_total", "submitted_at", "overridden"]
    rows = {r["learner"]: r for r in read_csv(path)}
    assert list(rows) == ["ada@example.org", "bob@example.org"]
    ada, bob = rows["ada@example.org"], rows["bob@example.org"]
    assert (ada[A], ada[B], ada[C], ada["total"]) == ("5", "1", "0", "6")
    assert (bob[A], bob[B], bob[C], bob["total"]) == ("4", "4", "4", "12")
    for r in rows.values():
        assert float(r["total"]) == sum(float(r[ex]) for ex in IDS)
        assert r["max_total"] == str(5 + 4 + 8)  # each exercise's largest maximum
    assert ada["submitted_at"] == "2026-12-01T10:00:00+00:00" and ada["email"] == "ada@example.org"


def test_a_learners_name_cannot_become_a_spreadsheet_formula(gb, tmp_path):
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, submission("e" * 64, name='=HYPERLINK("http://x","y")', email=None))
    record(gb, run, "e" * 64, A, doc(A, [check("x")]))
    (row,) = read_csv(export_csv(gb, tmp_path / "grades.csv"))
    assert row["name"].startswith("'=")


# ---------------------------------------------------------------------------------------------- overrides
def test_overrides_keep_their_reason_and_the_latest_wins_in_every_export(gb, tmp_path):
    cohort(gb)
    with pytest.raises(GradebookError, match="needs a reason"):
        gb.override("ada@example.org", B, 2, "  ")
    gb.override("ada@example.org", B, 1.5, "first thought")
    gb.override("ada@example.org", B, 2, "The message check was too strict; fixed for everyone next term.",
                by="Grace")
    assert [h["reason"] for h in gb.override_history("ada@example.org")][-1].startswith("The message check")
    export_all(gb, tmp_path)
    ada = {r["learner"]: r for r in read_csv(tmp_path / "grades.csv")}["ada@example.org"]
    assert (ada[B], ada["total"], ada["overridden"]) == ("2", "7", B)
    gs = json.loads((tmp_path / "gradescope" / "ada-example-org" / "results.json").read_text())
    assert gs["score"] == 7
    (ov,) = [t for t in gs["tests"] if "set by your instructor" in t["name"]]
    assert ov["score"] == 2 and "too strict" in ov["output"]
    assert all("score" not in t for t in gs["tests"] if t["name"].startswith(f"{B}: ") and t is not ov)
    for suffix in (".md", ".html"):
        text = (tmp_path / "feedback" / f"ada-example-org{suffix}").read_text()
        assert "too strict" in text and "first thought" not in text and "Total: 7 of 17" in text
    assert gb.clear_override("ada@example.org", B, reason="regraded") is True
    assert gb.clear_override("ada@example.org", B) is False
    export_csv(gb, tmp_path / "grades.csv")
    ada = {r["learner"]: r for r in read_csv(tmp_path / "grades.csv")}["ada@example.org"]
    assert (ada[B], ada["overridden"]) == ("1", "")


# ---------------------------------------------------------------------------------------------- Gradescope
# Written from https://gradescope-autograders.readthedocs.io/en/latest/specs/ ("Output format", "Controlling
# test case visibility", "Test case status", "Output string formatting"); what flowcamp promises is required.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
FORMAT = {"enum": ["text", "html", "simple_format", "md", "ansi"]}
GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "additionalProperties": False,
    "required": ["score", "output", "tests", "visibility", "stdout_visibility"],
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number", "minimum": 0},
        "output": {"type": "string"}, "output_format": FORMAT, "test_output_format": FORMAT,
        "test_name_format": FORMAT, "visibility": VISIBILITY, "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "leaderboard": {"type": "array", "items": {"type": "object", "required": ["name", "value"]}},
        "tests": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["name", "output", "visibility"],
            "dependentRequired": {"score": ["max_score"], "max_score": ["score"]},
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number", "minimum": 0},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string", "minLength": 1},
                "name_format": FORMAT, "number": {"type": "string"}, "output": {"type": "string"},
                "output_format": FORMAT, "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"}}}},
    },
}


def test_gradescope_results_follow_the_spec_and_match_the_csv(gb, tmp_path):
    cohort(gb)
    paths = export_gradescope(gb, tmp_path / "gs")
    assert sorted(p.parent.name for p in paths) == ["ada-example-org", "bob-example-org"]
    totals = {r["learner"]: float(r["total"]) for r in read_csv(export_csv(gb, tmp_path / "grades.csv"))}
    for p in paths:
        res = json.loads(p.read_text(encoding="utf-8"))
        jsonschema.validate(res, GRADESCOPE_SCHEMA)
        assert res["score"] == sum(t.get("score", 0) for t in res["tests"]) == totals[res["extra_data"]["learner"]]
        assert sum(t.get("max_score", 0) for t in res["tests"]) == 17
    ada = json.loads((tmp_path / "gs" / "ada-example-org" / "results.json").read_text())
    (missing,) = [t for t in ada["tests"] if t["name"] == C]
    assert (missing["score"], missing["max_score"]) == (0, 8) and "Not in your submission" in missing["output"]
    (failed,) = [t for t in ada["tests"] if t["name"] == f"{B}: message"]
    assert failed["status"] == "failed" and failed["output"] == "Say why."
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict enough to fail
        jsonschema.validate({**ada, "tests": [{**failed, "visibility": "students"}]}, GRADESCOPE_SCHEMA)


def test_learner_folders_never_collide(gb, tmp_path):
    run = gb.start_run(7, "0.1.0", {}, {})
    for h, email in (("p" * 64, "a.b@x.org"), ("q" * 64, "a-b@x.org")):
        gb.add_submission(run, submission(h, email=email))
        record(gb, run, h, A, doc(A, [check("x")]))
    paths = export_gradescope(gb, tmp_path / "gs")
    assert len({p.parent for p in paths}) == 2


# ---------------------------------------------------------------------------------------------- the learner view
def leaky_doc(ex: str) -> dict:
    """A held-out check and a hidden check that carry the planted value in every field they have."""
    return doc(ex, [
        check("reads the warehouse"),
        check("totals on held-out data", "fail", points=2, heldout=True,
              message=f"Expected 1234 rows for {PLANT}, got 1200.", output=f"region={PLANT}\nrows=1200"),
        check(f"hidden: {PLANT} is counted", "fail", points=2, hidden=True,
              message=f"assert count({PLANT!r}) == 3", output=f"{PLANT} missing"),
        check("hidden but passing", points=1, hidden=True, message="fine"),
    ], message=f"Some checks did not pass. (tests/hidden/test_x.py::hidden: {PLANT} is counted)")


def test_the_learner_view_keeps_status_and_drops_what_is_instructor_only():
    view = learner_view(leaky_doc(A))
    names = [c["name"] for c in view["checks"]]
    assert names == ["reads the warehouse", "totals on held-out data", "Hidden check 1", "Hidden check 2"]
    assert [c["status"] for c in view["checks"]] == ["pass", "fail", "fail", "pass"]
    assert view["checks"][1]["message"] == HELDOUT_FAILED.format(id=A) and view["checks"][1]["output"] == ""
    assert view["checks"][2]["message"] == HIDDEN_FAILED and view["checks"][2]["output"] == ""
    assert PLANT not in json.dumps(view) and view["score"] == 2


def test_nothing_planted_in_held_out_or_hidden_checks_reaches_a_learner(gb, tmp_path):
    run = gb.start_run(7, "0.1.0", {}, {})
    for h, email in (("a" * 64, "ada@example.org"), ("b" * 64, None)):
        gb.add_submission(run, submission(h, email=email, name="Ada" if email else "Bob"))
        for ex in IDS:
            record(gb, run, h, ex, leaky_doc(ex))
    stored = [r[0] for r in gb.con.execute("SELECT doc FROM results").fetchall()]
    assert all(PLANT in d for d in stored), "the instructor's copy keeps everything"
    written = export_all(gb, tmp_path / "out")
    files = [p for paths in written.values() for p in paths]
    assert len(files) == 1 + 2 + 4
    for p in files:
        assert PLANT not in p.read_text(encoding="utf-8"), f"{p.name} shows the planted value"
    assert "Hidden check 1" in (tmp_path / "out" / "feedback" / "ada-example-org.md").read_text()


# ---------------------------------------------------------------------------------------------- feedback
def test_feedback_says_the_total_each_exercise_the_notes_and_what_to_do_next(gb, tmp_path):
    cohort(gb)
    paths = write_feedback(gb, tmp_path / "fb")
    assert sorted(p.name for p in paths) == ["ada-example-org.html", "ada-example-org.md", "bob-example-org.html",
                                             "bob-example-org.md"]
    md = (tmp_path / "fb" / "ada-example-org.md").read_text()
    assert "Total: 6 of 17 points" in md
    assert "Not passing yet" in md and "Not in your submission" in md and "Say why." in md
    assert "30 MB was left out" in md
    assert f"`uv run flowcamp check {B}`" in md and "uv run flowcamp submit" in md
    html_text = (tmp_path / "fb" / "ada-example-org.html").read_text()
    assert html_text.startswith("<!DOCTYPE html>") and "<script" not in html_text.lower()
    assert "Total: 6 of 17 points" in html_text and "Say why." in html_text
    assert "Every exercise passed" in (tmp_path / "fb" / "bob-example-org.md").read_text()
    assert gb.grades()[0].marks[C].status == "missing" and "ask them" not in md


def test_a_submission_that_could_not_be_graded_says_why(gb, tmp_path):
    run = gb.start_run(7, "0.1.0", {}, {})
    gb.add_submission(run, submission("t" * 64, status="too-large", message="data/big.csv is 2 GB (the limit is "
                                                                             "25 MB)."))
    write_feedback(gb, tmp_path / "fb")
    md = (tmp_path / "fb" / "ada-example-org.md").read_text()
    assert "could not be graded (too-large): data/big.csv is 2 GB" in md and "flowcamp submit" in md
    gs = export_gradescope(gb, tmp_path / "gs")[0]
    res = json.loads(gs.read_text())
    jsonschema.validate(res, GRADESCOPE_SCHEMA)
    assert res["score"] == 0 and "2 GB" in res["output"]


def test_what_a_learner_wrote_is_escaped_in_feedback(gb, tmp_path):
    run = gb.start_run(7, "0.1.0", {}, {})
    name = '<script>alert(1)</script> [x](javascript:alert(1))'
    gb.add_submission(run, submission("e" * 64, name=name, email="e@x.org"))
    record(gb, run, "e" * 64, A, doc(A, [check("x", "fail", message="got <img src=x onerror=alert(1)>",
                                               output="```\n<b>bold</b>")]))
    write_feedback(gb, tmp_path / "fb")
    html_text = (tmp_path / "fb" / "e-x-org.html").read_text()
    assert "<script>" not in html_text and "<img" not in html_text and "<b>" not in html_text
    assert "&lt;script&gt;" in html_text
    md = (tmp_path / "fb" / "e-x-org.md").read_text()
    assert "````" in md  # a fence longer than the output's own
    from markdown_it import MarkdownIt  # (rich's own dependency) a renderer that lets raw HTML through

    rendered = MarkdownIt("commonmark", {"html": True}).render(md)
    assert "<script" not in rendered and "<img" not in rendered and "<b>" not in rendered
    assert "href" not in rendered  # the learner's [x](javascript:...) stays text, not a link
    assert "&lt;script&gt;" in rendered and "uv run flowcamp check" in rendered


# ---------------------------------------------------------------------------------------------- the commands
def test_the_gradebook_commands(tmp_path):
    with Gradebook(tmp_path / FILE_NAME) as book:
        cohort(book)
    run = CliRunner().invoke
    out = ["--out", str(tmp_path)]
    shown = run(gradebook_app, ["show", *out])
    assert shown.exit_code == 0 and "ada@example.org" in shown.output and A in shown.output
    assert run(gradebook_app, ["override", "Ada Lovelace", B, "2", *out]).exit_code != 0  # no reason
    done = run(gradebook_app, ["override", "ADA@example.org", B, "2", "--reason", "strict check", *out])
    assert done.exit_code == 0 and "gradebook export" in done.output
    too_many = run(gradebook_app, ["override", "ada@example.org", B, "999", "--reason", "typo", *out])
    assert too_many.exit_code == 2 and "at most" in too_many.output
    bad = run(gradebook_app, ["override", "eve", B, "2", "--reason", "x", *out])
    assert bad.exit_code == 2 and "no learner 'eve'" in bad.output
    one = json.loads(run(gradebook_app, ["show", "--learner", "ada@example.org", "--json", *out]).output)
    assert one["exercises"][B]["final"] == 2 and one["override_history"][0]["reason"] == "strict check"
    exported = run(gradebook_app, ["export", *out])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "grades.csv").is_file() and (tmp_path / "feedback" / "ada-example-org.html").is_file()
    assert (tmp_path / "gradescope" / "bob-example-org" / "results.json").is_file()
    assert run(gradebook_app, ["clear-override", "ada@example.org", B, *out]).exit_code == 0
    forgot = run(gradebook_app, ["forget", "--exercise", A, "--learner", "bob@example.org", *out])
    assert forgot.exit_code == 0 and "Forgot 1 result" in forgot.output
    assert run(gradebook_app, ["forget", "--exercise", "no-such-exercise", *out]).exit_code == 2
    with Gradebook(tmp_path / FILE_NAME, read_only=True) as book:
        assert f"{'b' * 64}:{A}:7" not in book.done_keys()
    missing = run(gradebook_app, ["show", "--out", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "There is no gradebook" in missing.output


@pytest.mark.slow
def test_a_whole_cohort_is_recorded_and_exported(tmp_path):
    """30 learners x every exercise, six checks each, long messages: every result is kept and exported (how long
    it takes is measured in benchmarks/bench_grading.py, never here)."""
    ids = [ex.id for ex in Course().exercises]
    with Gradebook(tmp_path / FILE_NAME) as book:
        run = book.start_run(7, "0.1.0", {}, {})
        for n in range(30):
            h = f"{n:064d}"
            book.add_submission(run, submission(h, email=f"l{n}@x.org"))
            for ex in ids:
                assert record(book, run, h, ex, doc(ex, [check(f"c{i}", "pass" if (n + i) % 3 else "fail",
                                                               message="m" * 200) for i in range(6)]))
        grades = book.grades()
        export_all(book, tmp_path / "out")
    assert len(grades) == 30 and {len(g.marks) for g in grades} == {len(ids)}
    exported = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert exported, "export_all wrote nothing"


def test_names_that_are_not_valid_unicode_are_stored_not_fatal(gb, tmp_path):
    """A submission.json may carry "\\udc80" (a lone surrogate) in a name, an email or a file name: DuckDB
    refuses such text, and a whole grading run must not stop for it."""
    run = gb.start_run(7, "0.1.0", {ex: "v1" for ex in IDS}, {})
    key = gb.add_submission(run, submission("e" * 64, name="Eve \udc80", email="eve\udc80@example.org",
                                            label="eve-\udc80.zip", warnings=["left out: \udc80.csv"]))
    assert record(gb, run, "e" * 64, A, doc(A, [check("\udc80 name", message="bad \udc80")]))
    [row] = [g for g in gb.grades() if g.key == key]
    assert row.name == "Eve \ufffd" and key == "eve\ufffd@example.org"
    export_all(gb, tmp_path / "out")


def test_work_handed_in_under_a_wrong_name_can_be_removed(tmp_path):
    with Gradebook(tmp_path / FILE_NAME) as book:
        run_id = cohort(book)
        book.add_submission(run_id, submission("c" * 64, name="Seed maintainers", email="seed@example.org",
                                               label="flowcamp-submission-cy.zip"))
        record(book, run_id, "c" * 64, A, doc(A, [check("runs", points=2)]))
        book.override("seed@example.org", A, 1, "test")
    run = CliRunner().invoke
    out = ["--out", str(tmp_path)]
    refused = run(gradebook_app, ["remove", "--submission", "flowcamp-submission-cy.zip", *out])
    assert refused.exit_code != 0 and "--yes" in refused.output  # no terminal to ask on: nothing deleted
    missing = run(gradebook_app, ["remove", "--submission", "nope.zip", "--yes", *out])
    assert missing.exit_code != 0 and "No submission is called" in missing.output
    done = run(gradebook_app, ["remove", "--submission", "flowcamp-submission-cy.zip", "--yes", *out])
    assert done.exit_code == 0 and "Removed 1 submission(s) and 1 result(s)" in done.output, done.output
    with Gradebook(tmp_path / FILE_NAME) as book:
        assert [g.key for g in book.grades()] == ["ada@example.org", "bob@example.org"]
        assert not book.con.execute("SELECT * FROM overrides WHERE learner_key = 'seed@example.org'").fetchall()
        assert book.remove(learner_key="bob@example.org") == (1, 3)
        assert [g.key for g in book.grades()] == ["ada@example.org"]
        assert book.con.execute("SELECT count(*) FROM checks").fetchone()[0] == 4  # only Ada's checks remain
