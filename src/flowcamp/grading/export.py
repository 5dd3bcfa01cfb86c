"""What leaves the gradebook: a CSV for any LMS, Gradescope's ``results.json`` per learner, and the learner view
every learner-facing export goes through.

:func:`learner_view` is the one place that decides what a learner may read of a results document: a hidden
check becomes "Hidden check N" with passed or not and a generic message; a check that ran the learner's code on
held-out data keeps its name and status, but its message becomes a generic one and its output goes; and any
text of those that shows up elsewhere in the document is cut out too. The CSV carries only names and numbers.

Gradescope's format: https://gradescope-autograders.readthedocs.io/en/latest/specs/ (results.json).
"""

from __future__ import annotations

import copy
import csv
import functools
import hashlib
import json
import os
from pathlib import Path

from flowcamp.grading.gradebook import Gradebook, LearnerGrades, Mark, slug

HIDDEN_PASSED = "This hidden check passed. Its details are for your instructor."
HIDDEN_FAILED = ("This hidden check did not pass. Its details are for your instructor; the exercise's README and "
                 "its visible checks say what the exercise asks for.")
HELDOUT_PASSED = "This check ran your code on data you have not seen. It passed."
HELDOUT_FAILED = ("This check ran your code on data you have not seen. It did not pass: run "
                  "`uv run flowcamp check {id}` in your own workspace to see the details on your data.")
MISSING_MESSAGE = "This exercise was not in your submission, so it scored 0."
NOT_RUN = "Some of this exercise's points belong to checks that did not run on your work."
CUT = "[hidden]"
MIN_CUT = 8  # shorter pieces of hidden text (a word, a number) are too common to cut out of other messages

GRADESCOPE_VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
CSV_NAME, GRADESCOPE_DIR, FEEDBACK_DIR = "grades.csv", "gradescope", "feedback"  # inside the grading folder
CSV_FIXED = ["learner", "name", "email"]
CSV_TAIL = ["total", "max_total", "submitted_at", "overridden"]


# ---------------------------------------------------------------------------------------------- learner view
def learner_view(doc: dict) -> dict:
    """A copy of a results document that a learner may read (see the module's docstring)."""
    view = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    if isinstance(view.get("message"), str):  # on a laptop the messages come first; in feedback they follow
        view["message"] = view["message"].replace("read the messages above", "read each check's message")
    exercise = str(view.get("exercise") or "ID")
    checks = [c for c in view.get("checks") or [] if isinstance(c, dict)]
    secrets = _instructor_only_text(checks)
    hidden_n = 0
    for c in checks:
        passed = c.get("status") == "pass"
        if c.get("visibility") == "hidden":
            hidden_n += 1
            c["name"] = f"Hidden check {hidden_n}"
            c["message"] = HIDDEN_PASSED if passed else HIDDEN_FAILED
            c["output"] = ""
        elif c.get("heldout"):
            c["name"] = _cut(str(c.get("name") or ""), secrets)
            c["message"] = HELDOUT_PASSED if passed else HELDOUT_FAILED.format(id=exercise)
            c["output"] = ""
        else:
            for k in ("name", "message", "output"):
                c[k] = _cut(str(c.get(k) or ""), secrets)
    view["checks"] = checks
    view["message"] = _cut(str(view.get("message") or ""), secrets)
    return view


def _instructor_only_text(checks: list[dict]) -> list[str]:
    """Every piece of text a learner must not read: hidden checks' names, messages and outputs, and held-out
    checks' messages and outputs (whole, and line by line), longest first."""
    pieces: set[str] = set()
    for c in checks:
        keys = ("name", "message", "output") if c.get("visibility") == "hidden" else \
            ("message", "output") if c.get("heldout") else ()
        for k in keys:
            text = str(c.get(k) or "")
            pieces.update(p.strip() for p in [text, *text.splitlines()])
    return sorted((p for p in pieces if len(p) >= MIN_CUT), key=len, reverse=True)


def _cut(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s in text:
            text = text.replace(s, CUT)
    return text


# ---------------------------------------------------------------------------------------------- shared
def exercise_order(gb: Gradebook, grades: list[LearnerGrades] | None = None, course=None) -> list[str]:
    """The exercises that have a result or an override, in course order (the grader's course); any the
    course no longer has come last, by id."""
    grades = grades if grades is not None else gb.grades(graded_only=True)
    ids = {ex for lg in grades for ex in lg.marks} | set(gb.exercise_max())
    order = [ex.id for ex in course_exercises(course)]
    return [i for i in order if i in ids] + sorted(ids - set(order))


def exercise_titles(course=None) -> dict[str, str]:
    return {ex.id: ex.title for ex in course_exercises(course)}


def course_exercises(course) -> list:
    """The exercises of ``course``, else of the grader's own course (found as every command finds it)."""
    try:
        if course is None:
            from flowcamp.course import find_course_root

            return list(_default_exercises(find_course_root()))
        return list(course.exercises)
    except Exception:  # noqa: BLE001 - a broken or absent course: ids alone still make an export
        return []


@functools.lru_cache(maxsize=4)
def _default_exercises(root: Path) -> tuple:
    from flowcamp.course import Course

    return tuple(Course(root).exercises)


def exercise_maxima(gb: Gradebook, order: list[str], course=None) -> dict[str, float]:
    """Each exercise's maximum score: the largest its results state, else its points in the course."""
    stated = gb.exercise_max()
    points = {ex.id: float(ex.points) for ex in course_exercises(course)}
    return {ex: stated.get(ex) or points.get(ex, 0.0) for ex in order}


def learner_slugs(keys: list[str]) -> dict[str, str]:
    """A folder name per learner key: its slug, made unique (and never empty) with a short hash."""
    base = {k: slug(k) or "learner" for k in keys}
    counts: dict[str, int] = {}
    for s in base.values():
        counts[s] = counts.get(s, 0) + 1
    return {k: s if counts[s] == 1 and s != "learner" else f"{s}-{hashlib.sha256(k.encode()).hexdigest()[:8]}"
            for k, s in base.items()}


def num(x: float):
    """3.0 -> 3, 2.5 -> 2.5 (as the results document writes numbers)."""
    return int(x) if float(x).is_integer() else round(float(x), 2)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    os.replace(tmp, path)


def export_all(gb: Gradebook, out_dir: Path, course=None) -> dict[str, list[Path]]:
    """Every export into the grading folder: grades.csv, gradescope/<learner>/results.json and
    feedback/<learner>.md and .html (returned), then the instructor's report.html."""
    from flowcamp.grading.feedback import write_feedback
    from flowcamp.grading.report import write_report

    out_dir = Path(out_dir)
    written = {"csv": [export_csv(gb, out_dir / CSV_NAME, course)],
               "gradescope": export_gradescope(gb, out_dir / GRADESCOPE_DIR, course),
               "feedback": write_feedback(gb, out_dir / FEEDBACK_DIR, course)}
    write_report(gb, out_dir, course)  # the instructor's cohort report, report.html: not among what learners get
    return written


# ---------------------------------------------------------------------------------------------- CSV
def export_csv(gb: Gradebook, path: Path, course=None) -> Path:
    """One row per learner: learner, name, email, one score column per exercise (course order), total,
    max_total, submitted_at, and which exercises carry an override. An empty cell: not graded (yet)."""
    grades = gb.grades(graded_only=True)
    order = exercise_order(gb, grades, course)
    maxima = exercise_maxima(gb, order, course)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_FIXED + order + CSV_TAIL)
        for lg in grades:
            cells = [num(lg.marks[ex].final) if ex in lg.marks else "" for ex in order]
            overridden = [ex for ex in order if ex in lg.marks and lg.marks[ex].override]
            sub = lg.submission
            w.writerow([_safe_cell(lg.key), _safe_cell(lg.name), _safe_cell(lg.email), *cells, num(lg.total),
                        num(sum(maxima.values())), sub.submitted_at if sub else "", " ".join(overridden)])
    os.replace(tmp, path)
    return path


def _safe_cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (a learner chooses their own name)."""
    text = str(text or "").replace("\r", " ").replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t") else text


# ---------------------------------------------------------------------------------------------- Gradescope
def export_gradescope(gb: Gradebook, out_dir: Path, course=None,
                      hidden_visibility: str = "after_published") -> list[Path]:
    """out_dir/<learner>/results.json for each learner's counted submission, in Gradescope's autograder shape.
    Hidden checks (already anonymous, through :func:`learner_view`) get ``hidden_visibility``: by default
    learners see them once the instructor publishes the grades."""
    if hidden_visibility not in GRADESCOPE_VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {GRADESCOPE_VISIBILITIES}")
    grades = gb.grades(graded_only=True)
    order = exercise_order(gb, grades, course)
    maxima = exercise_maxima(gb, order, course)
    slugs = learner_slugs([lg.key for lg in grades])
    written = []
    for lg in grades:
        doc = gradescope_results(lg, order, maxima, hidden_visibility)
        path = Path(out_dir) / slugs[lg.key] / "results.json"
        write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


def gradescope_results(lg: LearnerGrades, order: list[str], maxima: dict[str, float],
                       hidden_visibility: str = "after_published") -> dict:
    tests: list[dict] = []
    duration = 0.0
    for n, ex in enumerate(order, start=1):
        mark = lg.marks.get(ex)
        if mark is not None and mark.doc:
            duration += float(mark.doc.get("duration") or 0)
        tests += _exercise_tests(n, ex, mark, maxima.get(ex, 0.0), hidden_visibility)
    total = sum(t.get("score", 0) for t in tests)
    sub = lg.submission
    summary = f"Autograded by flowcamp: {num(total)} of {num(sum(maxima.values()))} points."
    if sub and sub.message:
        summary += f"\nYour submission: {sub.message}"
    if sub and sub.warnings:
        summary += "\n" + "\n".join(f"Note: {w}" for w in sub.warnings)
    return {"score": num(total), "execution_time": round(duration), "output": summary, "output_format": "text",
            "test_output_format": "text", "test_name_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"learner": lg.key, "submission": sub.hash if sub else None}}


def _exercise_tests(n: int, ex: str, mark: Mark | None, max_score: float, hidden_visibility: str) -> list[dict]:
    def test(name: str, output: str, score=None, maximum=None, passed=None, visibility="visible", number=""):
        t = {"name": name, "number": number or f"{n}", "output": output.strip(), "visibility": visibility}
        if score is not None:
            t["score"], t["max_score"] = num(score), num(maximum)
        if passed is not None:
            t["status"] = "passed" if passed else "failed"
        return t

    if mark is None or mark.doc is None:
        out = [test(ex, "Not graded yet.", 0, max_score)] if mark is None else []
        if mark is not None and mark.override:
            out.append(_override_test(test, ex, mark, max_score))
        return out
    view = learner_view(mark.doc)
    checks = view.get("checks") or []
    scored = mark.override is None
    tests = []
    for i, c in enumerate(checks, start=1):
        text = "\n\n".join(s for s in (str(c.get("message") or ""), str(c.get("output") or "")) if s)
        tests.append(test(f"{ex}: {c.get('name')}", text, c.get("points", 0) if scored else None,
                          c.get("max_points", 0) if scored else None, c.get("status") == "pass",
                          hidden_visibility if c.get("visibility") == "hidden" else "visible", f"{n}.{i}"))
    if not scored:
        tests.append(_override_test(test, ex, mark, max_score))
        return tests
    rest = max_score - sum(float(c.get("max_points") or 0) for c in checks)
    words = f"{status_words(mark.status)}. {exercise_message(mark.status, view)}".strip()
    if not checks:
        tests.append(test(ex, words, mark.score, max_score))
    elif rest > 0:  # e.g. an error before every check ran: the points they would have given
        tests.append(test(f"{ex}: checks that did not run", f"{NOT_RUN} {words}", 0, rest,
                          number=f"{n}.{len(checks) + 1}"))
    return tests


def _override_test(test, ex: str, mark: Mark, max_score: float) -> dict:
    ov = mark.override
    return test(f"{ex}: score set by your instructor", f"Your instructor set this score: {ov.reason}",
                ov.score, max(max_score, ov.score))


STATUS_WORDS = {"pass": "Passed", "fail": "Not passing yet", "error": "The checks could not finish",
                "timeout": "The checks took too long", "missing": "Not in your submission",
                "untouched": "Not started yet",
                "ungraded": "Not graded"}


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, str(status).capitalize() or "Unknown")


def exercise_message(status: str, view: dict) -> str:
    """What a learner reads about a whole exercise (the grader's note on a missing one is for the instructor)."""
    return MISSING_MESSAGE if status == "missing" else str(view.get("message") or "")
