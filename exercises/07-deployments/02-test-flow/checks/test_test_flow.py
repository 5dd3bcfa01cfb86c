"""Checks for exercise test-flow: the learner's tests pass on the correct pipeline and on rewrites of it that do
the same work, and each broken copy of it makes at least one test fail (grading by mutation).

The learner's tests run in a learner process (checks/learner_tests.py, course code loaded there), each time in a
staged folder that holds the learner's tests/, the course's own tests/conftest.py and ONE pipeline.py: the
course's, a rewrite (checks/variants/) or a broken copy (checks/mutants/). Folders have neutral names and run in
a random order. Only the correct run's failures are shown: for a broken copy, the learner reads what it does
wrong in words, never its code or the test output.
"""

import random
import secrets
import shutil
from pathlib import Path

import pytest

from flowcamp.checks import Learner
from flowcamp.tidy import CHECK_TAG

CHECKS = Path(__file__).resolve().parent
COURSE_DIR = CHECKS.parent
RUNNER = CHECKS / "learner_tests.py"
CORRECT = "correct"
VARIANTS = sorted(p.name for p in (CHECKS / "variants").iterdir() if (p / "pipeline.py").is_file())
# Each family of broken copies: the mutants in it, and what they do wrong, in words (never their code).
FAMILIES = {
    "join": (["left-join"],
             "It keeps donations by people who are not in voterfile.people: its join keeps every donation, and "
             "gives those the county 'Unknown'.",
             "Add a test whose warehouse has a donation by a person_id that voterfile.people does not have, "
             "and assert that it is left out (`pipeline.read_donations.fn(...)`, or the table the flow writes)."),
    "dedupe": (["no-dedupe"],
               "It counts a donation the import delivered twice as two donations: it drops no duplicates.",
               "Add a test that gives `pipeline.drop_duplicates.fn(rows)` two rows with the same donation_id "
               "and asserts only the first one is kept (or runs the flow on such data and checks the counts)."),
    "window": (["window-one-day-more", "window-shifted"],
               "They read the wrong days: one adds the day before the window (8 days), the other moves the "
               "whole window a day early (from the day before the first day, to the day before `end_date`).",
               "Add a test with donations on the first and the last day of the window and on the days just "
               "outside it, and assert exactly which donations `pipeline.read_donations.fn(warehouse, end_date, "
               "days)` returns. With end_date 7 October and days=7, the window is 1 to 7 October."),
    "error": (["swallowed-error"],
              "It does not stop when actblue.donations is missing: it logs a line and carries on with no rows, "
              "so the flow 'succeeds' and writes an empty table.",
              "Add a test that builds a warehouse without that table (`make_warehouse(..., leave_out="
              "[\"actblue.donations\"])`) and asserts the pipeline raises: `with pytest.raises("
              "pipeline.MissingTableError):` around the call."),
}
MUTANTS = [name for names, _, _ in FAMILIES.values() for name in names]
# Where a family has more than one broken copy: which one got through, in words.
ALONE = {"window-one-day-more": "The one that got through reads one day more: the day before the window too.",
         "window-shifted": "The one that got through reads the day before the window and stops a day early, "
                           "at the day before `end_date`."}
PARALLEL = 3  # test runs at a time (2 cores: while one waits for the Prefect server, another computes)
RUN_LIMIT = 60.0  # seconds for one run of the learner's tests (a few under normal load)
NO_WAREHOUSE = "There is no warehouse at"

_GRADED: dict = {}


# ----------------------------------------------------------------------------------------- helpers


def _source(key: str) -> Path:
    if key == CORRECT:
        return COURSE_DIR / "pipeline.py"
    kind = "variants" if key in VARIANTS else "mutants"
    return CHECKS / kind / key / "pipeline.py"


def _stage(learner, base: Path, key: str) -> Path:
    """A folder with the learner's tests/ (minus conftest.py), the course's conftest.py and one pipeline.py."""
    folder = base / secrets.token_hex(4)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "conftest.py", "*.duckdb*")
    shutil.copytree(learner.dir / "tests", folder / "tests", symlinks=True, ignore=ignore)
    shutil.copyfile(COURSE_DIR / "tests" / "conftest.py", folder / "tests" / "conftest.py")
    shutil.copyfile(_source(key), folder / "pipeline.py")
    (folder / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return folder


def _grade(learner, tmp_path_factory) -> dict:
    """Run the learner's tests once against every pipeline; {key: outcome}. Shared by every check."""
    if "results" in _GRADED:
        return _GRADED["results"]
    assert (learner.dir / "tests").is_dir(), (
        "Your exercise folder has no tests folder. `uv run flowcamp reset test-flow` brings back the starter "
        "(your files are backed up first).")
    base = tmp_path_factory.mktemp("test-runs")
    keys = [CORRECT] + random.sample(VARIANTS + MUTANTS, len(VARIANTS) + len(MUTANTS))
    # Every copy but the correct one: stop at the first failure, and run the tests last to first.
    jobs = [{"key": key, "folder": str(_stage(learner, base, key)), "stop_first": key != CORRECT}
            for key in keys]
    runner_host = Learner(base, learner._zygote or learner._zygote_source, timeout=RUN_LIMIT * len(jobs))
    try:
        runner = runner_host.load(str(RUNNER))
        results = runner.run_all(jobs, PARALLEL, RUN_LIMIT, CHECK_TAG)
    finally:
        runner_host.take_output()  # the learner's tests printed it: never shown
        runner_host.close()
    _GRADED["results"] = {key: (results or {}).get(key, {"exit": None, "crash": "no result"}) for key in keys}
    return _GRADED["results"]


def _passed(outcome: dict) -> bool:
    return (outcome.get("exit") == 0 and outcome.get("passed", 0) > 0
            and not outcome.get("failed") and not outcome.get("errors"))


def _caught(outcome: dict) -> bool:
    """A test failed (or errored): the run reported it. A run that hung or crashed caught nothing."""
    return outcome.get("exit") in (1, 2) and bool(outcome.get("failed") or outcome.get("errors"))


def _trouble(outcome: dict) -> str:
    if outcome.get("timeout"):
        return f"they did not finish within {RUN_LIMIT:g} seconds (is a test waiting for something?)"
    return f"they stopped before pytest could report ({outcome.get('crash', 'no result')})"


def _short(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1] if "::" in nodeid else nodeid


def _correct_problem(outcome: dict) -> str:
    """Why the learner's tests do not pass on the course's own pipeline.py ("" if they do)."""
    if _passed(outcome):
        return ""
    if outcome.get("exit") is None:
        return f"Your tests could not be run on the course's pipeline.py: {_trouble(outcome)}."
    if outcome.get("exit") == 5 or not outcome.get("collected") and not outcome.get("errors"):
        return ("pytest found no tests in tests/. Write your tests in tests/test_pipeline.py as functions whose "
                "names start with `test_`, then run `uv run pytest tests` in this folder to see them run.")
    failures = outcome.get("failures") or []
    if not failures and not outcome.get("passed"):
        return ("None of your tests ran to the end: they were all skipped. A skipped test checks nothing; "
                "remove the skip.")
    shown = "\n\n".join(f"{_short(nodeid)} ({'failed' if kind == 'failed' else 'error'}):\n{text.strip()}"
                        for nodeid, kind, text in failures[:2])
    real = any(NO_WAREHOUSE in f[2] for f in failures)
    hint = (" Your tests read the real warehouse: the checks, like CI, have none. Build the rows each test "
            "needs with make_warehouse." if real else "")
    # On the learner's computer the real warehouse is there, so such a test passes: pytest would not show it.
    see = ("On your computer these tests pass only because warehouse.duckdb is there; CI has no warehouse. "
           if real else "Run `uv run pytest tests` in this folder to see the same. ")
    return (f"Your tests fail on the course's pipeline.py, which is correct: {len(failures)} test(s) failed or "
            f"could not run.{hint} A test that fails on a correct pipeline raises false alarms: fix the test "
            f"(its data, or the answer it expects). {see}What pytest said:\n\n{shown}")


def _assert_good_tests(results: dict) -> None:
    """The mutant checks mean something only if the tests pass on every correct version."""
    assert _passed(results[CORRECT]) and all(_passed(results[v]) for v in VARIANTS), (
        "This check needs your tests to pass on the correct pipeline and on its rewrites first (see the "
        "checks above): a test that fails on everything also 'catches' every broken version.")


def _family_check(learner, tmp_path_factory, family: str) -> None:
    names, what, todo = FAMILIES[family]
    results = _grade(learner, tmp_path_factory)
    _assert_good_tests(results)
    survivors = [n for n in names if not _caught(results[n])]
    stuck = [results[n] for n in survivors if results[n].get("exit") is None]
    assert not stuck, f"Your tests could not be run on a broken copy of pipeline.py: {_trouble(stuck[0])}."
    many = f"{len(survivors)} of {len(names)} broken copies" if len(names) > 1 else "a broken copy"
    which = ALONE.get(survivors[0], "") + " " if len(survivors) == 1 and len(names) > 1 else ""
    assert not survivors, (
        f"All your tests passed on {many} of pipeline.py. {what} {which}A change like that would reach "
        f"production unnoticed. {todo}")


# ------------------------------------------------------------------------------------------ checks


@pytest.mark.points(1)
def test_pass_on_correct_pipeline(learner, tmp_path_factory):
    """Your tests pass on the correct pipeline"""
    problem = _correct_problem(_grade(learner, tmp_path_factory)[CORRECT])
    assert not problem, problem


@pytest.mark.points(1)
def test_pass_on_rewrites(learner, tmp_path_factory):
    """Your tests pass on rewrites of the pipeline that do the same work"""
    results = _grade(learner, tmp_path_factory)
    assert _passed(results[CORRECT]), "Your tests must first pass on the correct pipeline (see the check above)."
    failing = [v for v in VARIANTS if not _passed(results[v])]
    stuck = [results[v] for v in failing if results[v].get("exit") is None]
    assert not stuck, f"Your tests could not be run on a rewrite of pipeline.py: {_trouble(stuck[0])}."
    tests = sorted({_short(f[0]) for v in failing for f in results[v].get("failures") or []})
    assert not failing, (
        f"Your tests pass on the course's pipeline.py, but fail on {len(failing)} of {len(VARIANTS)} rewrites of "
        "it that do exactly the same work with different code"
        + (f" (failing: {', '.join(tests[:4])})" if tests else "") + ". A test should check what the pipeline "
        "does (the rows a task returns, the table the flow writes, the error it raises), not how its code is "
        "written: do not read pipeline.py's text, its hash or its functions' source, and do not expect log "
        "lines word for word. The checks also run your tests there from last to first: each test must build "
        "its own data, not count on what an earlier test left behind.")


@pytest.mark.points(2)
def test_catches_wrong_join(learner, tmp_path_factory):
    """A test fails when the join keeps donations by people not in the voter file"""
    _family_check(learner, tmp_path_factory, "join")


@pytest.mark.points(2)
def test_catches_missing_dedupe(learner, tmp_path_factory):
    """A test fails when duplicate donations are not dropped"""
    _family_check(learner, tmp_path_factory, "dedupe")


@pytest.mark.points(3)
def test_catches_window_off_by_one(learner, tmp_path_factory):
    """A test fails when the date window is off by one day"""
    _family_check(learner, tmp_path_factory, "window")


@pytest.mark.points(2)
def test_catches_swallowed_error(learner, tmp_path_factory):
    """A test fails when a missing table is silently ignored"""
    _family_check(learner, tmp_path_factory, "error")
